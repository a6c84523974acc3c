-- The console's "open cases nearby" (queue badges, the duplicate picker, the map): a bounding box
-- on latitude, then longitude and status, without visiting the table until the box is found.
CREATE INDEX cases_by_lat_lon ON cases(lat, lon, status);
