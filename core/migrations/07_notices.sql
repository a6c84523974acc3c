-- The signed-in person's notices (xuncha_core::notify), pulled from the server after
-- sync_state.notice_cursor: each as its JSON, read here (read = 1) or on the server, and
-- read_pending while the server has not been told of a read made on this device.
CREATE TABLE notices (
    id           TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL,
    doc          TEXT NOT NULL,
    read         INTEGER NOT NULL DEFAULT 0,
    read_pending INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX notices_by_seq ON notices(seq);
