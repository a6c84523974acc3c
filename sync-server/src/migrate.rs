//! `xuncha-server migrate --from DIR --to postgres://… [--photos s3://…]`: a county's SQLite
//! server moves to PostgreSQL (and its photos to a bucket) when the city outgrows it.
//!
//! Every record is copied as it is — feed sequences included, so every phone's pull cursor means
//! the same on the new server and phones sync on without noticing. The copy is resumable: rows
//! go in batches with `ON CONFLICT DO NOTHING`, photos that are already in the target with their
//! size are skipped, so running it again after a cut finishes the job. Every photo's bytes are
//! checked against their SHA-256 on the way. At the end the row counts of every table and the
//! photos are compared, and any difference is an error. A target that holds other records (a
//! feed sequence whose operation differs) is refused before anything is written.
//!
//! Uploads in progress are not copied: a phone whose upload was cut starts that photo again.

use std::path::Path;

use postgres::types::ToSql;
use rusqlite::types::ValueRef;

use crate::blobs::Blobs;
use crate::store::postgres::{PostgresStore, pg};

/// How a column is read from SQLite and written to PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// TEXT NOT NULL.
    Text,
    /// TEXT, may be NULL.
    OptText,
    /// BIGINT.
    Int,
    /// BIGINT, may be NULL.
    OptInt,
    /// INTEGER (4 bytes in PostgreSQL).
    Int4,
    /// 0/1 in SQLite, BOOLEAN in PostgreSQL.
    Bool,
    /// DOUBLE PRECISION.
    Real,
}

use Kind::{Bool, Int, Int4, OptInt, OptText, Real, Text};

/// A table: its name, its columns and the key its rows are read in order of.
type Table = (&'static str, &'static [(&'static str, Kind)], &'static str);

/// The tables, in an order that never names a row before it exists.
const TABLES: &[Table] = &[
    (
        "users",
        &[
            ("id", Text),
            ("name", Text),
            ("role", Text),
            ("unit_id", OptText),
            ("password_hash", Text),
            ("disabled", Bool),
            ("area_id", OptText),
        ],
        "id",
    ),
    (
        "devices",
        &[
            ("id", Text),
            ("user_id", Text),
            ("name", Text),
            ("registered_ms", Int),
            ("last_login_ms", Int),
            ("revoked", Bool),
        ],
        "id",
    ),
    (
        "tokens",
        &[
            ("hash", Text),
            ("user_id", Text),
            ("device_id", Text),
            ("created_ms", Int),
            ("expires_ms", Int),
            ("revoked", Bool),
        ],
        "hash",
    ),
    (
        "reference",
        &[("id", Int4), ("version", Int), ("json", Text)],
        "id",
    ),
    ("case_numbers", &[("year", Int), ("last", Int)], "year"),
    (
        "bulletin_issues",
        &[
            ("office", Text),
            ("period_from", Text),
            ("period_to", Text),
            ("year", Int),
            ("number", Int),
            ("issued_ms", Int),
        ],
        "office, period_from, period_to",
    ),
    (
        "open311_keys",
        &[
            ("hash", Text),
            ("name", Text),
            ("created_ms", Int),
            ("revoked", Bool),
        ],
        "hash",
    ),
    (
        "citizen_reports",
        &[
            ("case_id", Text),
            ("client", Text),
            ("contact", Text),
            ("media_url", OptText),
            ("received_ms", Int),
        ],
        "case_id",
    ),
    (
        "notices",
        &[
            ("seq", Int),
            ("id", Text),
            ("user_id", Text),
            ("event_id", Text),
            ("kind", Text),
            ("case_id", Text),
            ("title", Text),
            ("body", Text),
            ("created_ms", Int),
            ("read_ms", OptInt),
        ],
        "seq",
    ),
    (
        "outbox",
        &[
            ("event_id", Text),
            ("channel", Text),
            ("message", Text),
            ("attempts", Int),
            ("next_ms", Int),
            ("state", Text),
            ("last_error", Text),
            ("created_ms", Int),
            ("done_ms", OptInt),
        ],
        "event_id, channel",
    ),
    ("notifier", &[("id", Int4), ("cursor", Int)], "id"),
    (
        "rounds",
        &[
            ("id", Text),
            ("doc", Text),
            ("planned_ms", Int),
            ("closed_ms", OptInt),
            ("sealed", Bool),
            ("reported_ms", OptInt),
        ],
        "id",
    ),
    (
        "round_tasks",
        &[
            ("id", Text),
            ("round_id", Text),
            ("pos", Int4),
            ("doc", Text),
            ("done", Bool),
        ],
        "id",
    ),
    (
        "round_team",
        &[("user_id", Text), ("task_id", Text)],
        "user_id, task_id",
    ),
    (
        "events",
        &[
            ("seq", Int),
            ("op_id", Text),
            ("case_id", Text),
            ("unit_before", OptText),
            ("unit_after", OptText),
            ("reporter_id", Text),
            ("device_id", Text),
            ("server_time_ms", Int),
            ("event", Text),
            ("action", Text),
            ("to_status", Text),
            ("area_before", OptText),
            ("area_after", OptText),
        ],
        "seq",
    ),
    (
        "cases",
        &[
            ("id", Text),
            ("case_no", OptText),
            ("status", Text),
            ("unit_id", OptText),
            ("reporter_id", Text),
            ("category", Text),
            ("lat", Real),
            ("lon", Real),
            ("received_ms", Int),
            ("last_seq", Int),
            ("doc", Text),
            ("deadline_ms", OptInt),
            ("grid_id", OptText),
            ("campaign_id", OptText),
            ("reported_ms", Int),
            ("extension_count", Int4),
            ("site_id", OptText),
            ("area_id", OptText),
            ("escalations", Int4),
            ("reporter_area", OptText),
        ],
        "id",
    ),
    (
        "op_results",
        &[("op_id", Text), ("device_id", Text), ("result", Text)],
        "op_id",
    ),
    (
        "case_photos",
        &[
            ("sha256", Text),
            ("case_id", Text),
            ("op_id", Text),
            ("kind", Text),
            ("device_id", Text),
            ("granted", Bool),
            ("named_ms", Int),
        ],
        "sha256, case_id, op_id",
    ),
    (
        "photos",
        &[
            ("sha256", Text),
            ("mime", Text),
            ("size", Int),
            ("stored_ms", Int),
        ],
        "sha256",
    ),
    (
        "photo_uploaders",
        &[("sha256", Text), ("device_id", Text)],
        "sha256, device_id",
    ),
];

/// Rows per target transaction.
const BATCH: usize = 1_000;

/// One value on its way.
enum Value {
    Text(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Int4(i32),
    Bool(bool),
    Real(f64),
}

impl Value {
    fn sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Text(v) => v,
            Value::Int(v) => v,
            Value::OptInt(v) => v,
            Value::Int4(v) => v,
            Value::Bool(v) => v,
            Value::Real(v) => v,
        }
    }
}

fn read(v: ValueRef<'_>, kind: Kind, column: &str) -> Result<Value, String> {
    let bad = || format!("column {column}: unexpected value {v:?}");
    Ok(match (kind, v) {
        (Text | OptText, ValueRef::Text(t)) => {
            Value::Text(Some(String::from_utf8_lossy(t).into_owned()))
        }
        (OptText, ValueRef::Null) => Value::Text(None),
        (Int, ValueRef::Integer(i)) => Value::Int(i),
        (OptInt, ValueRef::Integer(i)) => Value::OptInt(Some(i)),
        (OptInt, ValueRef::Null) => Value::OptInt(None),
        (Int4, ValueRef::Integer(i)) => Value::Int4(i32::try_from(i).map_err(|_| bad())?),
        (Bool, ValueRef::Integer(i)) => Value::Bool(i != 0),
        (Real, ValueRef::Real(r)) => Value::Real(r),
        (Real, ValueRef::Integer(i)) => Value::Real(i as f64),
        _ => return Err(bad()),
    })
}

/// What a migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migrated {
    /// Rows in the target per table after the copy, as `(table, rows)`.
    pub tables: Vec<(String, u64)>,
    /// Photos copied in this run.
    pub photos_copied: u64,
    /// Photos that were in the target already.
    pub photos_present: u64,
}

/// Copy the SQLite server in `from` (its database and, unless `from_photos` says otherwise, its
/// `photos/` folder) to the PostgreSQL database at `to` and the photo store `to_photos`,
/// printing progress through `progress`.
pub fn migrate(
    from: &Path,
    to: &str,
    to_photos: &Blobs,
    progress: &mut dyn FnMut(&str),
) -> Result<Migrated, String> {
    let db = from.join(crate::store::sqlite::DB_FILE);
    if !db.exists() {
        return Err(format!("{}: no Xuncha database here", db.display()));
    }
    // The source brought up to date first (it may be an older server's).
    drop(crate::store::sqlite::SqliteStore::open(from).map_err(|e| e.to_string())?);
    let source =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    // The target's schema is made by opening it as a store.
    drop(PostgresStore::open(to).map_err(|e| e.to_string())?);
    let mut target =
        postgres::Client::connect(to, postgres::NoTls).map_err(|e| format!("--to: {e}"))?;
    refuse_other_records(&source, &mut target)?;
    let mut out = Migrated::default();
    for (table, columns, key) in TABLES {
        let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let total: i64 = source
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let insert = format!(
            "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
            names.join(", "),
            placeholders.join(", ")
        );
        let mut st = source
            .prepare(&format!(
                "SELECT {} FROM {table} ORDER BY {key}",
                names.join(", ")
            ))
            .map_err(|e| e.to_string())?;
        let mut rows = st.query([]).map_err(|e| e.to_string())?;
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
        let mut done = 0u64;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, (name, kind)) in columns.iter().enumerate() {
                let v = r.get_ref(i).map_err(|e| e.to_string())?;
                values.push(read(v, *kind, &format!("{table}.{name}"))?);
            }
            batch.push(values);
            if batch.len() == BATCH {
                done += flush(&mut target, &insert, &mut batch, table)?;
                progress(&format!("{table}: {done}/{total}"));
            }
        }
        if !batch.is_empty() {
            done += flush(&mut target, &insert, &mut batch, table)?;
            progress(&format!("{table}: {done}/{total}"));
        }
        let copied: i64 = target
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .and_then(|r| r.try_get(0))
            .map_err(|e| pg(e).to_string())?;
        if copied != total {
            return Err(format!(
                "{table}: {total} rows in the SQLite server but {copied} in PostgreSQL"
            ));
        }
        out.tables.push((table.to_string(), copied as u64));
    }
    copy_photos(&source, &from.join("photos"), to_photos, &mut out, progress)?;
    Ok(out)
}

/// Insert a batch in one transaction; how many rows were sent.
fn flush(
    target: &mut postgres::Client,
    insert: &str,
    batch: &mut Vec<Vec<Value>>,
    table: &str,
) -> Result<u64, String> {
    let mut tx = target.transaction().map_err(|e| pg(e).to_string())?;
    let statement = tx.prepare(insert).map_err(|e| pg(e).to_string())?;
    for values in batch.iter() {
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::sql).collect();
        tx.execute(&statement, &params)
            .map_err(|e| format!("{table}: {}", pg(e)))?;
    }
    tx.commit().map_err(|e| pg(e).to_string())?;
    let n = batch.len() as u64;
    batch.clear();
    Ok(n)
}

/// A target whose feed holds an operation the source does not have at that sequence is another
/// server's: nothing is written to it.
fn refuse_other_records(
    source: &rusqlite::Connection,
    target: &mut postgres::Client,
) -> Result<(), String> {
    let rows = target
        .query("SELECT seq, op_id FROM events ORDER BY seq LIMIT 1000", &[])
        .map_err(|e| pg(e).to_string())?;
    for r in rows {
        let seq: i64 = r.try_get(0).map_err(|e| pg(e).to_string())?;
        let op: String = r.try_get(1).map_err(|e| pg(e).to_string())?;
        let mine: Option<String> = source
            .query_row("SELECT op_id FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .ok();
        if mine.as_deref() != Some(op.as_str()) {
            return Err(format!(
                "--to holds other records (feed sequence {seq} is another operation): \
                 migrate into an empty database"
            ));
        }
    }
    Ok(())
}

fn copy_photos(
    source: &rusqlite::Connection,
    folder: &Path,
    to: &Blobs,
    out: &mut Migrated,
    progress: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let from = Blobs::local(folder).map_err(|e| e.to_string())?;
    let mut st = source
        .prepare("SELECT sha256, size FROM photos ORDER BY sha256")
        .map_err(|e| e.to_string())?;
    let photos: Vec<(String, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| e.to_string())?
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| e.to_string())?;
    let total = photos.len();
    for (i, (sha, size)) in photos.iter().enumerate() {
        crate::blobs::block_on(async {
            if to.photo_size(sha).await.map_err(|e| e.to_string())? == Some(*size as u64) {
                out.photos_present += 1;
                return Ok::<_, String>(());
            }
            let bytes = from
                .read_photo(sha)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("photo {sha} is recorded but its file is missing"))?;
            if xuncha_core::store::sha256_hex(&bytes) != *sha {
                return Err(format!("photo {sha}: its file does not match its hash"));
            }
            to.put_photo(sha, bytes).await.map_err(|e| e.to_string())?;
            out.photos_copied += 1;
            Ok(())
        })?;
        if (i + 1) % 100 == 0 || i + 1 == total {
            progress(&format!("photos: {}/{total}", i + 1));
        }
    }
    Ok(())
}
