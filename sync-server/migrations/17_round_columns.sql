-- What the office's queue and the bulletin ask of rounds, as columns (issue 17): whether a round
-- is sealed (a 暗访 not yet published, whose raised cases are held back from units) and when its
-- results came out (core's Round::sealed and Round::reported_ms; the store writes both on every
-- save). Each question is then one indexed query instead of reading the newest rounds'
-- documents. The rounds kept before this migration get the same values from their documents.
ALTER TABLE rounds ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rounds ADD COLUMN reported_ms INTEGER;
UPDATE rounds SET sealed = 1
 WHERE json_extract(doc, '$.kind') = 'covert' AND json_extract(doc, '$.published_ms') IS NULL;
UPDATE rounds
   SET reported_ms = max(closed_ms, COALESCE(json_extract(doc, '$.published_ms'), closed_ms))
 WHERE sealed = 0 AND closed_ms IS NOT NULL;
CREATE INDEX rounds_sealed ON rounds(sealed) WHERE sealed = 1;
CREATE INDEX rounds_by_reported ON rounds(reported_ms) WHERE reported_ms IS NOT NULL;
