//! Text search over case descriptions and addresses, on the phone and on the server: Chinese
//! has no spaces, so words cannot be indexed; every pair of neighbouring letters or digits is
//! (a bigram index, as CJK search engines do). 「井盖」 is one term; 「公交站台」 is the phrase
//! 公交 交站 站台, which only text holding 「公交站台」 matches. A one-character search has no
//! pair and falls back to a scan.
//!
//! SQLite keeps the terms in an FTS5 table that the store writes as it saves a case
//! ([`index_case`], on the phone and in the server's writer, once per group of pushes);
//! PostgreSQL keeps them in an array column with a GIN index ([`term_list`]). Either way a match
//! is confirmed by a substring test, so a phrase that happens to span two separate words never
//! counts. [`SQL_FUNCTION`] computes the terms in SQL for the migrations that fill the index.

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::model::Case;

/// The SQL function that turns text into its terms: `xuncha_terms(text)`.
pub const SQL_FUNCTION: &str = "xuncha_terms";

/// Runs of letters and digits, lowercased.
fn runs(text: &str) -> Vec<Vec<char>> {
    let mut out = Vec::new();
    let mut run = Vec::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            run.extend(c.to_lowercase());
        } else if !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

fn bigrams(run: &[char]) -> impl Iterator<Item = String> + '_ {
    run.windows(2).map(|w| w.iter().collect())
}

/// The terms of `text` in order, separated by spaces (what the FTS5 table indexes with its
/// `ascii` tokenizer: every non-ASCII character and ASCII letter or digit is part of a term).
pub fn terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for run in runs(text) {
        for b in bigrams(&run) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&b);
        }
    }
    out
}

/// The distinct terms of `text` (for an array column).
pub fn term_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = runs(text).iter().flat_map(|r| bigrams(r)).collect();
    out.sort();
    out.dedup();
    out
}

/// The FTS5 query for a search: each run of the search as a phrase of its terms, all required.
/// `None` when the index cannot answer it (nothing to search, or a run of one character).
pub fn match_query(search: &str) -> Option<String> {
    let runs = runs(search);
    if runs.is_empty() || runs.iter().any(|r| r.len() < 2) {
        return None;
    }
    let phrases: Vec<String> = runs
        .iter()
        .map(|r| format!("\"{}\"", bigrams(r).collect::<Vec<_>>().join(" ")))
        .collect();
    Some(phrases.join(" "))
}

/// The substring test that confirms a match: `%text%` for `LIKE … ESCAPE '\'`, with `\`, `%`
/// and `_` in the text taken literally.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The text a case is found by: its description and its address.
pub fn case_text(case: &Case) -> String {
    format!("{} {}", case.description, case.location.address)
}

/// A fingerprint of the text an index entry was made from, so an unchanged text is not
/// indexed again.
fn digest(text: &str) -> i64 {
    let h = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    i64::from_le_bytes(first)
}

/// Make the SQLite index entry of case `case_id` say `text` (the tables `case_search` and
/// `case_search_keys`): a new case gets a key and a row, a case whose text changed has its row
/// replaced, an unchanged one costs one lookup. Call it outside savepoints where it can: FTS5
/// writes out the terms it holds at every savepoint and statement journal.
pub fn index_case(conn: &Connection, case_id: &str, text: &str) -> rusqlite::Result<()> {
    let fingerprint = digest(text);
    let found: Option<(i64, Option<i64>)> = conn
        .prepare_cached("SELECT key, digest FROM case_search_keys WHERE case_id = ?1")?
        .query_row([case_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let key = match found {
        Some((_, Some(d))) if d == fingerprint => return Ok(()),
        Some((key, _)) => {
            conn.prepare_cached("UPDATE case_search_keys SET digest = ?2 WHERE key = ?1")?
                .execute(params![key, fingerprint])?;
            conn.prepare_cached("DELETE FROM case_search WHERE rowid = ?1")?
                .execute([key])?;
            key
        }
        None => {
            // Not `RETURNING key`: a statement with RETURNING keeps a statement journal, and
            // opening one makes FTS5 write out the terms it holds (one flush per case).
            conn.prepare_cached("INSERT INTO case_search_keys (case_id, digest) VALUES (?1, ?2)")?
                .execute(params![case_id, fingerprint])?;
            conn.last_insert_rowid()
        }
    };
    conn.prepare_cached("INSERT INTO case_search (rowid, terms) VALUES (?1, ?2)")?
        .execute(params![key, terms(text)])?;
    Ok(())
}

/// Remove the SQLite index entry of case `case_id`, if it has one.
pub fn unindex_case(conn: &Connection, case_id: &str) -> rusqlite::Result<()> {
    let key: Option<i64> = conn
        .prepare_cached("DELETE FROM case_search_keys WHERE case_id = ?1 RETURNING key")?
        .query_row([case_id], |r| r.get(0))
        .optional()?;
    if let Some(key) = key {
        conn.prepare_cached("DELETE FROM case_search WHERE rowid = ?1")?
            .execute([key])?;
    }
    Ok(())
}

/// Register [`SQL_FUNCTION`] on a connection (before migrations: the search table is filled
/// by them).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        SQL_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(terms(text.as_deref().unwrap_or("")))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_is_indexed_by_pairs_and_searched_as_phrases() {
        assert_eq!(terms("井盖破损，公交站台"), "井盖 盖破 破损 公交 交站 站台");
        assert_eq!(terms("Road 12号"), "ro oa ad 12 2号");
        assert_eq!(match_query("井盖"), Some("\"井盖\"".into()));
        assert_eq!(
            match_query(" 公交站台 井盖"),
            Some("\"公交 交站 站台\" \"井盖\"".into())
        );
        assert_eq!(match_query("井"), None, "one character: scan");
        assert_eq!(match_query("  "), None);
        assert_eq!(match_query("\"\")"), None, "no quotes reach FTS5");
        assert_eq!(term_list("井盖井盖"), vec!["井盖", "盖井"]);
    }

    #[test]
    fn the_index_finds_substrings_and_only_them() {
        let conn = Connection::open_in_memory().expect("db");
        register(&conn).expect("register");
        conn.execute_batch(
            "CREATE VIRTUAL TABLE t USING fts5(terms, content='', contentless_delete=1,
                                               tokenize='ascii');",
        )
        .expect("fts5");
        for (id, text) in [
            (1, "人民路公交站台旁井盖缺失"),
            (2, "公交车站牌破损"),
            (3, "井 盖"),
        ] {
            conn.execute(
                "INSERT INTO t (rowid, terms) VALUES (?1, xuncha_terms(?2))",
                rusqlite::params![id, text],
            )
            .expect("insert");
        }
        let hits = |q: &str| -> Vec<i64> {
            let m = match_query(q).expect("indexable");
            let mut st = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
                .expect("prepare");
            st.query_map([m], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        assert_eq!(hits("井盖"), vec![1]);
        assert_eq!(hits("公交站台"), vec![1]);
        assert_eq!(hits("公交"), vec![1, 2]);
        assert_eq!(hits("站台井"), Vec::<i64>::new());
    }
}
