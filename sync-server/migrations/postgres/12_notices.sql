-- Notices (issue 16, sync-server/src/store/notice_records.rs): each person's copy of what they
-- are told (their list, pulled by phones, read on any device); the outbox of deliveries to the
-- city's channels, one row per event and channel, written with the copies before any delivery;
-- and how far the notifier has read the change feed. Copies are numbered (MAX + 1) under an
-- advisory lock, so their seq is their commit order.
CREATE TABLE notices (
    seq        BIGINT PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    read_ms    BIGINT
);
CREATE INDEX notices_by_user ON notices(user_id, seq);

CREATE TABLE outbox (
    event_id   TEXT NOT NULL,
    channel    TEXT NOT NULL,
    message    TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_ms    BIGINT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT '',
    created_ms BIGINT NOT NULL,
    done_ms    BIGINT,
    PRIMARY KEY (event_id, channel)
);
CREATE INDEX outbox_due ON outbox(state, next_ms);

CREATE TABLE notifier (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor BIGINT NOT NULL
);
