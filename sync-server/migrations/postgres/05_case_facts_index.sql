-- What the ranking and the daily charts read of each case's events (its action, the status it
-- left, when) is carried by the index a case's timeline is read by, so those pages can answer
-- from the index alone. It replaces events_by_case (the same key).
CREATE INDEX events_by_case_facts ON events(case_id, seq) INCLUDE (action, to_status, server_time_ms);
DROP INDEX events_by_case;
