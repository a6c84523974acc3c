-- Xuncha server, schema 2. Events carry their own feed sequence, so a pull sends the stored JSON
-- as it is; and reports (most events) have no unit yet, so they stay out of the unit indexes.
UPDATE events SET event = json_set(event, '$.server_seq', seq);

DROP INDEX events_by_unit_after;
DROP INDEX events_by_unit_before;
CREATE INDEX events_by_unit_after ON events(unit_after, seq) WHERE unit_after IS NOT NULL;
CREATE INDEX events_by_unit_before ON events(unit_before, seq) WHERE unit_before IS NOT NULL;
