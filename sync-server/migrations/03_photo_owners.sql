-- Xuncha server, schema 3. Photos by hash belong to whoever holds their bytes.
--
-- A case's photo opens to those who see the case only once it is *granted*: its bytes came from
-- the device whose operation named it, or that operation's author could already see a case
-- showing it. Knowing a hash is no longer enough. Rows from before stay granted, as they were.
ALTER TABLE case_photos ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
ALTER TABLE case_photos ADD COLUMN granted INTEGER NOT NULL DEFAULT 1;
ALTER TABLE case_photos ADD COLUMN named_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX case_photos_waiting ON case_photos(named_ms) WHERE granted = 0;
CREATE INDEX case_photos_by_device ON case_photos(device_id, sha256) WHERE granted = 0;

-- Devices that sent a photo's bytes (proof they hold it).
CREATE TABLE photo_uploaders (
    sha256    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
) STRICT, WITHOUT ROWID;

-- Uploads in progress belong to their device: another device announcing the same hash starts
-- its own, never resets this one. Uploads from before have no owner and simply expire (an
-- upload expires when no byte has come for a while: touched_ms).
CREATE TABLE uploads_by_device (
    sha256     TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    touched_ms INTEGER NOT NULL,
    PRIMARY KEY (sha256, device_id)
) STRICT;
INSERT INTO uploads_by_device (sha256, device_id, size, received, created_ms, touched_ms)
    SELECT sha256, '', size, received, created_ms, created_ms FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_by_device RENAME TO uploads;
CREATE INDEX uploads_by_touch ON uploads(touched_ms);
CREATE INDEX uploads_by_device_id ON uploads(device_id);
