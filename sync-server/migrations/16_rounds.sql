-- Inspection rounds (issue 17; the rules are core's round.rs, the bookkeeping
-- sync-server/src/store/round_records.rs): each round's document, its tasks (one per site, or
-- per case for 回头看) with the result once submitted, and who is on each task's team.
CREATE TABLE rounds (
    id         TEXT PRIMARY KEY,
    doc        TEXT NOT NULL,
    planned_ms INTEGER NOT NULL,
    closed_ms  INTEGER
) STRICT;

CREATE TABLE round_tasks (
    id       TEXT PRIMARY KEY,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    pos      INTEGER NOT NULL,
    doc      TEXT NOT NULL,
    done     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX round_tasks_by_round ON round_tasks(round_id, pos);

CREATE TABLE round_team (
    user_id TEXT NOT NULL,
    task_id TEXT NOT NULL REFERENCES round_tasks(id),
    PRIMARY KEY (user_id, task_id)
) STRICT;
