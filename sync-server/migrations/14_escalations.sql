-- 督办 (issue 16): how many times each case was escalated to the level above, beside its
-- document, so the boards list the escalated cases in SQL.
ALTER TABLE cases ADD COLUMN escalations INTEGER NOT NULL DEFAULT 0;
