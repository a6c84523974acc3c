-- Text search, as on the phone (core/src/search.rs): the distinct pairs of neighbouring letters
-- of each case's description and address, written with the case; a GIN index answers
-- "holds all of these pairs". Rows from before this migration are filled in by the server on
-- start (PostgresStore::open), which computes the pairs.
ALTER TABLE cases ADD COLUMN search_terms TEXT[];
CREATE INDEX cases_search ON cases USING GIN (search_terms);
