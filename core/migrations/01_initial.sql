-- Xuncha device store, schema 1. Reference data is a server snapshot (read-only on the device);
-- cases are derived from events; the outbox holds every operation not yet confirmed.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE category_classes (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    name_en TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE categories (
    code           TEXT PRIMARY KEY,
    class_code     TEXT NOT NULL REFERENCES category_classes(code),
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL DEFAULT '',
    deadline       TEXT NOT NULL,
    first_response TEXT,
    urgent         INTEGER NOT NULL DEFAULT 0,
    deduction      REAL NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE units (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE sites (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT '',
    lat           REAL NOT NULL,
    lon           REAL NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    owner_unit_id TEXT
) STRICT;
CREATE INDEX sites_by_position ON sites(lat, lon);

CREATE TABLE grids (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    owner_unit_id TEXT,
    min_lat       REAL NOT NULL,
    max_lat       REAL NOT NULL,
    min_lon       REAL NOT NULL,
    max_lon       REAL NOT NULL,
    polygon       TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    role    TEXT NOT NULL,
    unit_id TEXT
) STRICT;

CREATE TABLE campaigns (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    starts_on TEXT,
    ends_on   TEXT
) STRICT;

-- The local view of each case (server state + pending ops). `doc` is the whole case as JSON;
-- the other columns exist to filter and sort lists with indexes.
CREATE TABLE cases (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    category    TEXT NOT NULL,
    unit_id     TEXT,
    site_id     TEXT,
    reporter_id TEXT NOT NULL,
    deadline_ms INTEGER,
    due_sort    INTEGER NOT NULL,  -- deadline, or i64::MAX when there is none (sorts last)
    changed_seq INTEGER NOT NULL,  -- local_seq of the last event applied: "last change" order
    description TEXT NOT NULL,
    doc         TEXT NOT NULL
) STRICT;
CREATE INDEX cases_by_status_due ON cases(status, due_sort);
CREATE INDEX cases_by_unit_status_due ON cases(unit_id, status, due_sort) WHERE unit_id IS NOT NULL;
CREATE INDEX cases_by_changed ON cases(changed_seq);
CREATE INDEX cases_by_reporter ON cases(reporter_id);
CREATE INDEX cases_by_site ON cases(site_id) WHERE site_id IS NOT NULL;

-- The timeline, and the outbox: every operation made on this device is an event with
-- pending = 1, in creation order (local_seq), until the server answers. Confirmed events order
-- by server_seq; pending ones follow by local_seq. The outbox is read by a scan in local_seq
-- order: an index on pending rows would cost every write more than the scan costs a sync.
CREATE TABLE events (
    local_seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id          TEXT NOT NULL UNIQUE,
    case_id        TEXT NOT NULL,
    server_seq     INTEGER,
    action         TEXT NOT NULL,
    from_status    TEXT,
    to_status      TEXT NOT NULL,
    server_time_ms INTEGER,
    case_no        TEXT,
    pending        INTEGER NOT NULL,
    op             TEXT NOT NULL
) STRICT;
CREATE INDEX events_by_case ON events(case_id, local_seq);

-- Photo bytes live in files named by their SHA-256; this table says which ones we hold.
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    added_at_ms INTEGER NOT NULL,
    uploaded    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE case_photos (
    case_id        TEXT NOT NULL,
    op_id          TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    captured_at_ms INTEGER,
    lat            REAL,
    lon            REAL,
    PRIMARY KEY (case_id, op_id, sha256)
) STRICT;
CREATE INDEX case_photos_by_sha ON case_photos(sha256);
