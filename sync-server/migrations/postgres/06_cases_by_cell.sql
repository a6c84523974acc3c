-- Cases near a point (probable duplicates at every new report, the queue's neighbours) are found
-- by a grid cell of about 100 m (xuncha_core::geo::cell_of) and the time they came in: a handful
-- of cells instead of a band of latitude across the whole city. Adding the stored column
-- rewrites the table once (see docs/deploy.md, "Upgrading").
ALTER TABLE cases ADD COLUMN cell BIGINT GENERATED ALWAYS AS (
    trunc((lat + 90::float8) * 1000::float8)::bigint * 1000000
    + trunc((lon + 180::float8) * 1000::float8)::bigint
) STORED;
CREATE INDEX cases_by_category_cell ON cases(category, cell, received_ms)
    INCLUDE (status, lat, lon, id);
DROP INDEX cases_by_category_lat;
