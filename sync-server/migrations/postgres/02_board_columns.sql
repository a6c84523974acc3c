-- The console's boards and exports filter and page in SQL: the fields they filter and sort by
-- sit in columns beside the document (written with it on every append).
ALTER TABLE cases ADD COLUMN deadline_ms BIGINT;
ALTER TABLE cases ADD COLUMN grid_id TEXT;
ALTER TABLE cases ADD COLUMN campaign_id TEXT;
ALTER TABLE cases ADD COLUMN reported_ms BIGINT NOT NULL DEFAULT 0;
UPDATE cases SET
    deadline_ms = (doc::jsonb ->> 'deadline_ms')::bigint,
    grid_id = doc::jsonb ->> 'grid_id',
    campaign_id = doc::jsonb ->> 'campaign_id',
    reported_ms = COALESCE((doc::jsonb ->> 'reported_at_ms')::bigint, 0);
-- A board is a status set in deadline order (most overdue first), city-wide or for one unit.
DROP INDEX cases_by_status;
DROP INDEX cases_by_unit;
CREATE INDEX cases_by_status_deadline ON cases(status, deadline_ms);
CREATE INDEX cases_by_unit_deadline ON cases(unit_id, status, deadline_ms);
