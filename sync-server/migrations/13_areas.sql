-- Areas (市 → 区/县 → 街道/乡镇, issue 16): the area a supervisor or an admin is scoped to, the
-- area of each case's place (also in its document), and in the change feed the area before and
-- after each change, which area-scoped pulls filter on as unit_before/unit_after are for units.
ALTER TABLE users ADD COLUMN area_id TEXT;
ALTER TABLE cases ADD COLUMN area_id TEXT;
ALTER TABLE events ADD COLUMN area_before TEXT;
ALTER TABLE events ADD COLUMN area_after TEXT;
CREATE INDEX cases_by_area ON cases(area_id, status);
