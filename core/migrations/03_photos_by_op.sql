-- Xuncha device store, schema 3: find an operation's photos by the operation (an accepted
-- operation announces its photos again; a refused one drops its rows).
CREATE INDEX case_photos_by_op ON case_photos(op_id);
