-- The search index is written by the writer once per group of pushes, after the pushes' own
-- savepoints (xuncha_core::search::index_case), no longer by triggers: a trigger parsed the
-- case's JSON on every save, made every insert keep a statement journal, and FTS5 wrote its
-- pending terms out at every push's savepoint. `digest` fingerprints the text an entry was made
-- from, so an action that leaves the text alone does not touch the index (NULL for entries made
-- before: they are rewritten on their next change).
DROP TRIGGER case_search_insert;
DROP TRIGGER case_search_update;
DROP TRIGGER case_search_delete;
ALTER TABLE case_search_keys ADD COLUMN digest INTEGER;
