-- Text search (core/src/search.rs): the pairs of neighbouring letters of each case's description
-- and address in an FTS5 table, kept by triggers that call xuncha_terms() (registered on every
-- connection before this runs). FTS rows are keyed by case_search_keys.key, an integer of our
-- own, so nothing depends on the cases table's implicit rowid (which VACUUM may renumber).
CREATE TABLE case_search_keys (
    key     INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL UNIQUE
) STRICT;
CREATE VIRTUAL TABLE case_search USING fts5(
    terms, content = '', contentless_delete = 1, tokenize = 'ascii'
);

INSERT INTO case_search_keys (case_id) SELECT id FROM cases;
INSERT INTO case_search (rowid, terms)
SELECT k.key, xuncha_terms(c.description || ' ' || COALESCE(json_extract(c.doc, '$.location.address'), ''))
FROM cases c JOIN case_search_keys k ON k.case_id = c.id;

CREATE TRIGGER case_search_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_search_keys (case_id) VALUES (NEW.id);
    INSERT INTO case_search (rowid, terms) VALUES (
        (SELECT key FROM case_search_keys WHERE case_id = NEW.id),
        xuncha_terms(NEW.description || ' ' || COALESCE(json_extract(NEW.doc, '$.location.address'), ''))
    );
END;

CREATE TRIGGER case_search_update AFTER UPDATE OF description, doc ON cases
WHEN NEW.description IS NOT OLD.description
  OR json_extract(NEW.doc, '$.location.address') IS NOT json_extract(OLD.doc, '$.location.address')
BEGIN
    DELETE FROM case_search WHERE rowid = (SELECT key FROM case_search_keys WHERE case_id = NEW.id);
    INSERT INTO case_search (rowid, terms) VALUES (
        (SELECT key FROM case_search_keys WHERE case_id = NEW.id),
        xuncha_terms(NEW.description || ' ' || COALESCE(json_extract(NEW.doc, '$.location.address'), ''))
    );
END;

CREATE TRIGGER case_search_delete AFTER DELETE ON cases BEGIN
    DELETE FROM case_search WHERE rowid = (SELECT key FROM case_search_keys WHERE case_id = OLD.id);
    DELETE FROM case_search_keys WHERE case_id = OLD.id;
END;
