-- Schema 2: what the device needs to sync.

-- The server's last word on each case (the base the pending operations are replayed on), and
-- the change-feed sequence of the last event it reflects.
CREATE TABLE base_cases (
    id   TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL,
    doc  TEXT NOT NULL
) STRICT;

-- Operations the server refused, with its reason: never silently dropped.
CREATE TABLE rejections (
    op_id          TEXT PRIMARY KEY,
    case_id        TEXT NOT NULL,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    op             TEXT NOT NULL,
    rejected_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX rejections_by_time ON rejections(rejected_at_ms);

-- Server annotations of an event (probable duplicates of a report), as JSON.
ALTER TABLE events ADD COLUMN dups TEXT;

CREATE INDEX events_by_server_seq ON events(server_seq) WHERE server_seq IS NOT NULL;
