-- Open311 GeoReport v2 (sync-server/src/open311/): the API keys an admin issued to the clients
-- that may post citizen reports (市民随手拍; only a SHA-256 of each key is kept), and for each
-- citizen report the client it came through and the reporter's contact, which supervisors see
-- and nobody else (it is never in the case document that phones pull).
CREATE TABLE open311_keys (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE citizen_reports (
    case_id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    contact TEXT NOT NULL,
    media_url TEXT,
    received_ms BIGINT NOT NULL
);
