-- Xuncha server on PostgreSQL, schema 1: the same records as the SQLite schema 3
-- (../01_server.sql … ../03_photo_owners.sql), in PostgreSQL's types. Cases are derived from the
-- events of the change feed; every operation a device pushed has exactly one stored result.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit_id       TEXT,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    registered_ms BIGINT NOT NULL,
    last_login_ms BIGINT NOT NULL,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE
);

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tokens_by_user ON tokens(user_id);
CREATE INDEX tokens_by_device ON tokens(device_id);

CREATE TABLE reference (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    json    TEXT NOT NULL
);

CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    case_no     TEXT,
    status      TEXT NOT NULL,
    unit_id     TEXT,
    reporter_id TEXT NOT NULL,
    category    TEXT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    received_ms BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX cases_by_unit ON cases(unit_id, status);
CREATE INDEX cases_by_status ON cases(status);
CREATE INDEX cases_by_received ON cases(received_ms);
-- Probable-duplicate search: same category, nearby (a latitude band), then recent.
CREATE INDEX cases_by_category_lat ON cases(category, lat, lon, received_ms, status, id);

-- The change feed: one row per accepted operation. Appends are serialized by a
-- transaction-scoped advisory lock (see store/postgres.rs), so sequences become visible in
-- order and a reader's cursor never passes a change that commits later.
CREATE TABLE events (
    seq            BIGINT PRIMARY KEY,
    op_id          TEXT NOT NULL UNIQUE,
    case_id        TEXT NOT NULL,
    unit_before    TEXT,
    unit_after     TEXT,
    reporter_id    TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    server_time_ms BIGINT NOT NULL,
    event          TEXT NOT NULL
);
CREATE INDEX events_by_case ON events(case_id, seq);
CREATE INDEX events_by_unit_after ON events(unit_after, seq) WHERE unit_after IS NOT NULL;
CREATE INDEX events_by_unit_before ON events(unit_before, seq) WHERE unit_before IS NOT NULL;
CREATE INDEX events_by_reporter ON events(reporter_id, seq);

-- First answer to every refused operation (an accepted one's answer is its row in events).
CREATE TABLE op_results (
    op_id     TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    result    TEXT NOT NULL
);

CREATE TABLE case_numbers (
    year BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);

-- Which case shows which photo; granted once its bytes came from the naming device (or its
-- author already saw a case showing it).
CREATE TABLE case_photos (
    sha256    TEXT NOT NULL,
    case_id   TEXT NOT NULL,
    op_id     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    device_id TEXT NOT NULL DEFAULT '',
    granted   BOOLEAN NOT NULL DEFAULT TRUE,
    named_ms  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (sha256, case_id, op_id)
);
CREATE INDEX case_photos_by_case ON case_photos(case_id);
CREATE INDEX case_photos_by_op ON case_photos(op_id);
CREATE INDEX case_photos_waiting ON case_photos(named_ms) WHERE NOT granted;
CREATE INDEX case_photos_by_device ON case_photos(device_id, sha256) WHERE NOT granted;

CREATE TABLE photos (
    sha256    TEXT PRIMARY KEY,
    mime      TEXT NOT NULL,
    size      BIGINT NOT NULL,
    stored_ms BIGINT NOT NULL
);

-- Devices that sent a photo's bytes (proof they hold it).
CREATE TABLE photo_uploaders (
    sha256    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (sha256, device_id)
);

-- Uploads in progress, one per photo and device.
CREATE TABLE uploads (
    sha256     TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    touched_ms BIGINT NOT NULL,
    PRIMARY KEY (sha256, device_id)
);
CREATE INDEX uploads_by_touch ON uploads(touched_ms);
CREATE INDEX uploads_by_device_id ON uploads(device_id);
