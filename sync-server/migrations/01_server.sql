-- Xuncha server, schema 1 (SQLite). Cases are derived from the events of the change feed; every
-- operation a device pushed has exactly one stored result, so a replay answers the same.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit_id       TEXT,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    registered_ms INTEGER NOT NULL,
    last_login_ms INTEGER NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    hash          TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL,
    revoked       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX tokens_by_user ON tokens(user_id);
CREATE INDEX tokens_by_device ON tokens(device_id);

CREATE TABLE reference (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    json    TEXT NOT NULL
) STRICT;

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    case_no     TEXT,
    status      TEXT NOT NULL,
    unit_id     TEXT,
    reporter_id TEXT NOT NULL,
    category    TEXT NOT NULL,
    lat         REAL NOT NULL,
    lon         REAL NOT NULL,
    received_ms INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX cases_by_unit ON cases(unit_id, status);
CREATE INDEX cases_by_status ON cases(status);
-- Probable-duplicate search: same category, nearby (a latitude band), then recent; covering, so
-- the search never visits the table.
CREATE INDEX cases_by_category_lat ON cases(category, lat, lon, received_ms, status, id);

-- The change feed: one row per accepted operation, in commit order. unit_before/unit_after and
-- reporter_id are the scope keys pulls filter on.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    case_id        TEXT NOT NULL,
    unit_before    TEXT,
    unit_after     TEXT,
    reporter_id    TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    server_time_ms INTEGER NOT NULL,
    event          TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_case ON events(case_id, seq);
CREATE INDEX events_by_unit_after ON events(unit_after, seq);
CREATE INDEX events_by_unit_before ON events(unit_before, seq);
CREATE INDEX events_by_reporter ON events(reporter_id, seq);

-- First answer to every refused operation (an accepted one's answer is its row in events).
CREATE TABLE op_results (
    op_id     TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    result    TEXT NOT NULL
) STRICT;

CREATE TABLE case_numbers (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
) STRICT;

-- Which case uses which photo (for access control on download) and the photos we hold.
CREATE TABLE case_photos (
    sha256  TEXT NOT NULL,
    case_id TEXT NOT NULL,
    op_id   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    PRIMARY KEY (sha256, case_id, op_id)
) STRICT;
CREATE INDEX case_photos_by_case ON case_photos(case_id);

CREATE TABLE photos (
    sha256    TEXT PRIMARY KEY,
    mime      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL
) STRICT;

-- Resumable uploads in progress (tus-like): bytes so far live in a partial file.
CREATE TABLE uploads (
    sha256     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;
