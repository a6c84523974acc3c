-- Cases near a point (probable duplicates at every new report, the queue's neighbours) are found
-- by a grid cell of about 100 m (xuncha_core::geo::cell_of) and the time they came in: a handful
-- of cells instead of a band of latitude across the whole city, which at a million cases meant
-- thousands of index entries read for every report. The key is no wider than the one it replaces.
ALTER TABLE cases ADD COLUMN cell INTEGER GENERATED ALWAYS AS (
    CAST((lat + 90.0) * 1000.0 AS INTEGER) * 1000000 + CAST((lon + 180.0) * 1000.0 AS INTEGER)
) VIRTUAL;
-- Covering (status, position and id ride along), so the search never visits the table.
CREATE INDEX cases_by_category_cell ON cases(category, cell, received_ms, status, lat, lon, id);
DROP INDEX cases_by_category_lat;
