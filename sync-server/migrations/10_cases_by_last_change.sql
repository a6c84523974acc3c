-- A phone catching up (a fresh supervisor's phone) pulls whole cases in the order of their last
-- change (sync-server/src/pull.rs, whole_cases_page): each case once, not once per page of the
-- feed it has an event in (four times on average over a campaign year).
CREATE INDEX cases_by_last_change ON cases(last_seq);
