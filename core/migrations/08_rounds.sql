-- The signed-in person's round tasks (issue 17; core's round.rs), as the server's /v1/tasks
-- gave them with the last sync (replaced whole each time): the rounds, the tasks in planning
-- order, and the cases a 回头看 task re-checks (the case as it was, which the person may not
-- otherwise see). A submission made here waits in the events table's outbox, under the task's
-- id, until the server answers.
CREATE TABLE rounds (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) STRICT;

CREATE TABLE tasks (
    id       TEXT PRIMARY KEY,
    round_id TEXT NOT NULL,
    pos      INTEGER NOT NULL,
    doc      TEXT NOT NULL
) STRICT;

CREATE TABLE task_cases (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) STRICT;
