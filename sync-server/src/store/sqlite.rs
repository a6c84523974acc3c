//! The embedded SQLite backend: one file `xuncha-server.db` (WAL, synchronous=FULL: an accepted
//! push survives a power cut), one writer connection, a small pool of readers. Pull reads run in
//! one read transaction, so a page and its cursor come from the same snapshot, and sequences are
//! assigned inside the single writer's transactions, so a cursor never skips a change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use serde_json::value::RawValue;
use uuid::Uuid;
use xuncha_core::model::{Case, Event};
use xuncha_core::reference::{ReferenceData, ReferenceIndex, User};
use xuncha_core::sync::protocol::OpResult;
use xuncha_core::workflow::{Role, Status};

use super::case_list::{CaseFilter, SqlArg};
use super::period::{self, Assemble, PeriodFacts, PeriodSql, for_sqlite};
use super::{
    BulletinIssue, CitizenReport, DeviceRecord, Principal, PullPage, ServerStore, StoreResult,
    StoreStats, TokenRecord, UserRecord, taken_client,
};
use crate::apply::{PushTx, accepted_answer, case_no, push_batch};
use crate::group_commit::{PushJob, each_failed};
use crate::pull::{FeedRow, FeedScope, PullTx, StoredCase, pull_page};
use xuncha_core::kpi::{CaseFacts, DayFacts, Finder, Step};
use xuncha_core::round::{Round, Task};
use xuncha_core::scope::Reach;

/// The schema's migrations, in order (`user_version` counts those applied).
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/01_server.sql"),
    include_str!("../../migrations/02_feed.sql"),
    include_str!("../../migrations/03_photo_owners.sql"),
    include_str!("../../migrations/04_board_columns.sql"),
    include_str!("../../migrations/05_case_search.sql"),
    include_str!("../../migrations/06_period_columns.sql"),
    include_str!("../../migrations/07_search_by_writer.sql"),
    include_str!("../../migrations/08_case_facts_index.sql"),
    include_str!("../../migrations/09_cases_by_cell.sql"),
    include_str!("../../migrations/10_cases_by_last_change.sql"),
    include_str!("../../migrations/11_bulletin_issues.sql"),
    include_str!("../../migrations/12_open311.sql"),
    include_str!("../../migrations/13_areas.sql"),
    include_str!("../../migrations/14_escalations.sql"),
    include_str!("../../migrations/15_notices.sql"),
    include_str!("../../migrations/16_rounds.sql"),
    include_str!("../../migrations/17_round_columns.sql"),
    include_str!("../../migrations/18_bulletin_offices.sql"),
    include_str!("../../migrations/19_notices_by_event.sql"),
    include_str!("../../migrations/20_reporter_area.sql"),
];

/// Open cases of a category in one row of grid cells, received since a time, inside a box:
/// through cases_by_category_cell (category, cell, received_ms, …), which covers the query.
static OPEN_CASES_NEAR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT id, lat, lon FROM cases
         WHERE category = ?1 AND cell BETWEEN ?2 AND ?3
           AND received_ms >= ?4 AND lat BETWEEN ?5 AND ?6 AND lon BETWEEN ?7 AND ?8
           AND status IN ({})
         LIMIT ?9",
        Status::sql_list(Status::OPEN)
    )
});

/// File name of the database inside the data folder.
pub const DB_FILE: &str = "xuncha-server.db";

/// The SQLite-backed store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    reference: RwLock<(i64, Arc<ReferenceIndex>)>,
    /// Wakes the checkpointer after a commit (it also wakes every second on its own).
    checkpoints: std::sync::mpsc::SyncSender<()>,
}

/// The writer leaves copying the WAL back into the database to a thread of its own, so a commit
/// pays for its own frames only. This bounds the WAL should the checkpointer fall behind: past
/// it, the writer checkpoints too.
const WRITER_CHECKPOINT_PAGES: i64 = 50_000;

/// Copy committed WAL frames into the database (PASSIVE: never waits for readers or the writer)
/// after each nudge, or every second, until the store is dropped.
fn checkpointer(path: PathBuf, nudges: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    let Ok(conn) = Connection::open(&path) else {
        return;
    };
    if configure(&conn).is_err() {
        return;
    }
    loop {
        match nudges.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                while nudges.try_recv().is_ok() {}
                // A failed checkpoint is retried on the next nudge; the WAL keeps every frame.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    xuncha_core::store::plan_once(conn)?;
    Ok(())
}

impl SqliteStore {
    /// Open (or create) the database in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > MIGRATIONS.len() as i64 {
            return Err(xuncha_core::Error::SchemaTooNew {
                found,
                supported: MIGRATIONS.len() as i64,
            });
        }
        // The search table's backfill (migration 05) calls it.
        xuncha_core::search::register(&conn)?;
        Migrations::new(MIGRATIONS.iter().map(|s| M::up(s)).collect()).to_latest(&mut conn)?;
        configure(&conn)?;
        conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
        // Once checkpointed and restarted, the WAL file shrinks back to this.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let (version, data) = read_reference(&conn)?;
        let (checkpoints, nudges) = std::sync::mpsc::sync_channel(1);
        let at = path.clone();
        std::thread::Builder::new()
            .name("xuncha-checkpoint".into())
            .spawn(move || checkpointer(at, nudges))?;
        Ok(SqliteStore {
            checkpoints,
            path,
            writer: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            reference: RwLock::new((version, Arc::new(ReferenceIndex::new(&data)))),
        })
    }

    pub(super) fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                configure(&c)?;
                c
            }
        };
        let out = f(&mut conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }

    fn index(&self) -> Arc<ReferenceIndex> {
        self.reference
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// Run `PRAGMA integrity_check`.
    pub fn integrity_check(&self) -> StoreResult<String> {
        Ok(self
            .writer()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

fn read_reference(conn: &Connection) -> StoreResult<(i64, ReferenceData)> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, json FROM reference WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (version, mut data) = match row {
        Some((v, j)) => (v, serde_json::from_str::<ReferenceData>(&j)?),
        None => (0, ReferenceData::default()),
    };
    data.users = conn
        .prepare(
            "SELECT id, name, role, unit_id, area_id FROM users WHERE disabled = 0 ORDER BY id",
        )?
        .query_map([], directory_user)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((version, data))
}

/// A directory entry from columns `id, name, role, unit_id, area_id` (0..=4). A role this code does not
/// know is an error, never a silent default.
fn directory_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role '{role}'").into(),
        )
    })?;
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        role,
        unit_id: r.get(3)?,
        area_id: r.get(4)?,
    })
}

/// A user with `password_hash, disabled` in columns 5 and 6.
fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String, bool)> {
    Ok((directory_user(r)?, r.get(5)?, r.get(6)?))
}

struct SqlitePush<'a> {
    tx: &'a Connection,
    /// The sequence the next event gets (the only writer assigns them, inside its transaction).
    next_seq: Option<i64>,
    /// The cases this push saved, with the text they are found by: indexed once the group's
    /// pushes are done (outside their savepoints, where FTS5 would write out its terms each time).
    saved: Vec<(String, String)>,
}

impl PushTx for SqlitePush<'_> {
    fn op_results(&mut self, op_ids: &[Uuid]) -> StoreResult<HashMap<Uuid, OpResult>> {
        let ids = serde_json::to_string(op_ids)?;
        let mut out = HashMap::new();
        // An accepted operation is its event: the answer is rebuilt from the feed row.
        let mut st = self.tx.prepare_cached(
            "SELECT op_id, seq, case_id, server_time_ms FROM events
             WHERE op_id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = st.query_map([&ids], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (op_id, seq, case_id, server_time_ms) = row?;
            let answer = accepted_answer(&op_id, seq, &case_id, server_time_ms)?;
            out.insert(answer.op_id, answer);
        }
        let mut st = self.tx.prepare_cached(
            "SELECT result FROM op_results WHERE op_id IN (SELECT value FROM json_each(?1))",
        )?;
        let rows = st.query_map([&ids], |r| r.get::<_, String>(0))?;
        for row in rows {
            let result: OpResult = serde_json::from_str(&row?)?;
            out.insert(result.op_id, result);
        }
        Ok(out)
    }

    fn case(&mut self, id: Uuid) -> StoreResult<Option<Case>> {
        load_case(self.tx, id)
    }

    fn recent_open_cases(
        &mut self,
        category: &str,
        since_ms: i64,
        lo: xuncha_core::geo::LatLon,
        hi: xuncha_core::geo::LatLon,
        limit: usize,
    ) -> StoreResult<Vec<(Uuid, xuncha_core::geo::LatLon)>> {
        let mut st = self.tx.prepare_cached(&OPEN_CASES_NEAR)?;
        let mut out = Vec::new();
        for (first, last) in xuncha_core::geo::cell_ranges(lo, hi) {
            let rows = st.query_map(
                params![
                    category,
                    first,
                    last,
                    since_ms,
                    lo.lat,
                    hi.lat,
                    lo.lon,
                    hi.lon,
                    limit.saturating_sub(out.len()) as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        xuncha_core::geo::LatLon {
                            lat: r.get(1)?,
                            lon: r.get(2)?,
                        },
                    ))
                },
            )?;
            for row in rows {
                let (id, at) = row?;
                if let Ok(id) = id.parse() {
                    out.push((id, at));
                }
            }
        }
        Ok(out)
    }

    fn next_case_no(&mut self, year: i32) -> StoreResult<String> {
        let n: i64 = self.tx.query_row(
            "INSERT INTO case_numbers (year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [year],
            |r| r.get(0),
        )?;
        Ok(case_no(year, n))
    }

    fn append(
        &mut self,
        case: &Case,
        event: &mut Event,
        before: Option<&Case>,
        reach: &Reach,
    ) -> StoreResult<i64> {
        let is_new = before.is_none();
        let unit_before = before.and_then(|c| c.unit_id.as_deref());
        let area_before = before.and_then(|c| c.area_id.as_deref());
        let op_id = event.op.id.to_string();
        let case_id = case.id.to_string();
        let seq = match self.next_seq {
            Some(s) => s,
            None => self.tx.query_row(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                            COALESCE((SELECT MAX(seq) FROM events), 0)) + 1",
                [],
                |r| r.get(0),
            )?,
        };
        self.next_seq = Some(seq + 1);
        // Stored with its sequence, so a pull sends the JSON as it is.
        event.server_seq = Some(seq);
        self.tx
            .prepare_cached(
                "INSERT INTO events (seq, op_id, case_id, unit_before, unit_after, reporter_id,
                                     device_id, server_time_ms, event, action, to_status,
                                     area_before, area_after)
                 VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                op_id,
                case_id,
                unit_before,
                case.unit_id,
                case.reporter_id,
                event.op.device_id,
                event.server_time_ms,
                serde_json::to_string(&*event)?,
                seq,
                event.op.body.action().as_str(),
                event.to_status.as_str(),
                area_before,
                case.area_id
            ])?;
        let sql = if is_new {
            // The reporter's area as their account says when the case is reported (who found
            // it, for the score), kept however the account changes later.
            "INSERT INTO cases (case_no, status, unit_id, reporter_id, category, last_seq, doc, id,
                                lat, lon, received_ms, deadline_ms, grid_id, campaign_id,
                                reported_ms, extension_count, site_id, area_id, escalations,
                                reporter_area)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18, ?19, (SELECT area_id FROM users WHERE id = ?4))"
        } else {
            "UPDATE cases SET case_no = ?1, status = ?2, unit_id = ?3, reporter_id = ?4, category = ?5,
                    last_seq = ?6, doc = ?7, lat = ?9, lon = ?10, received_ms = ?11,
                    deadline_ms = ?12, grid_id = ?13, campaign_id = ?14, reported_ms = ?15,
                    extension_count = ?16, site_id = ?17, area_id = ?18, escalations = ?19
             WHERE id = ?8"
        };
        self.tx.prepare_cached(sql)?.execute(params![
            case.case_no,
            case.status.as_str(),
            case.unit_id,
            case.reporter_id,
            case.category,
            seq,
            serde_json::to_string(case)?,
            case_id,
            case.location.lat,
            case.location.lon,
            case.server_received_at_ms
                .unwrap_or(event.server_time_ms.unwrap_or(0)),
            case.deadline_ms,
            case.grid_id,
            case.campaign_id,
            case.reported_at_ms,
            case.extension_count,
            case.site_id,
            case.area_id,
            case.escalations
        ])?;
        self.saved
            .push((case_id.clone(), xuncha_core::search::case_text(case)));
        for p in event.op.body.photos() {
            super::sqlite_photos::name_photo(
                self.tx,
                &p.sha256,
                &case_id,
                &op_id,
                p.kind.as_str(),
                &event.op.device_id,
                reach,
                event.server_time_ms.unwrap_or(0),
            )?;
        }
        Ok(seq)
    }

    fn task(&mut self, id: Uuid) -> StoreResult<Option<(Round, Task)>> {
        super::sqlite_rounds::load_task(self.tx, id)
    }

    fn round(&mut self, id: Uuid) -> StoreResult<Option<Round>> {
        super::sqlite_rounds::load_round(self.tx, id)
    }

    fn finish_task(&mut self, task: &Task, device_id: &str) -> StoreResult<()> {
        super::sqlite_rounds::save_task(self.tx, task)?;
        if let Some(result) = &task.result {
            for p in &result.photos {
                super::sqlite_photos::name_photo(
                    self.tx,
                    &p.sha256,
                    &task.id.to_string(),
                    &result.op_id.to_string(),
                    p.kind.as_str(),
                    device_id,
                    &Reach::Nothing,
                    result.received_ms,
                )?;
            }
        }
        Ok(())
    }

    fn save_result(&mut self, device_id: &str, result: &OpResult) -> StoreResult<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO op_results (op_id, device_id, result) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                result.op_id.to_string(),
                device_id,
                serde_json::to_string(result)?
            ])?;
        Ok(())
    }
}

/// The case documents `sql` selects, with `args` bound.
fn sqlite_docs(conn: &Connection, sql: &str, args: &[SqlArg]) -> StoreResult<Vec<Case>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(
        rusqlite::params_from_iter(args.iter().map(sqlite_arg)),
        |r| r.get::<_, String>(0),
    )?;
    let mut out = Vec::new();
    for doc in rows {
        out.push(serde_json::from_str(&doc?)?);
    }
    Ok(out)
}

fn sqlite_arg(a: &SqlArg) -> rusqlite::types::Value {
    match a {
        SqlArg::Text(t) => rusqlite::types::Value::Text(t.clone()),
        SqlArg::Int(i) => rusqlite::types::Value::Integer(*i),
    }
}

fn load_case(conn: &Connection, id: Uuid) -> StoreResult<Option<Case>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM cases WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(match doc {
        Some(d) => Some(serde_json::from_str(&d)?),
        None => None,
    })
}

/// A case as stored: its document, the last sequence it reflects, and its scope keys.
fn stored_case(conn: &Connection, id: &str) -> StoreResult<Option<StoredCase>> {
    let row = conn
        .prepare_cached(
            "SELECT doc, last_seq, unit_id, reporter_id, area_id FROM cases WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })
        .optional()?;
    Ok(match row {
        Some((doc, seq, unit_id, reporter_id, area_id)) => Some(StoredCase {
            doc: RawValue::from_string(doc)?,
            seq,
            unit_id,
            reporter_id,
            area_id,
        }),
        None => None,
    })
}

/// Stored event documents of a case in `after..=upto`, by sequence.
fn events_of(
    conn: &Connection,
    case_id: &str,
    after: i64,
    upto: i64,
) -> StoreResult<Vec<Box<RawValue>>> {
    let mut st = conn.prepare_cached(
        "SELECT event FROM events WHERE case_id = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq",
    )?;
    let rows = st.query_map(params![case_id, after, upto], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(RawValue::from_string(r?)?);
    }
    Ok(out)
}

/// [`PullTx`] inside one SQLite read transaction.
struct SqlitePull<'a> {
    tx: &'a Transaction<'a>,
}

impl PullTx for SqlitePull<'_> {
    fn feed_after(
        &mut self,
        scope: FeedScope<'_>,
        cursor: i64,
        fetch: usize,
    ) -> StoreResult<Vec<FeedRow>> {
        let map = |r: &rusqlite::Row<'_>| {
            Ok(FeedRow {
                seq: r.get(0)?,
                case_id: r.get(1)?,
                unit_before: r.get(2)?,
                area_before: r.get(3)?,
                event: r.get(4)?,
            })
        };
        let fetch = fetch as i64;
        const COLUMNS: &str = "SELECT seq, case_id, unit_before, area_before, event FROM events";
        Ok(match scope {
            FeedScope::All => self
                .tx
                .prepare_cached(&format!("{COLUMNS} WHERE seq > ?1 ORDER BY seq LIMIT ?2"))?
                .query_map(params![cursor, fetch], map)?
                .collect::<rusqlite::Result<_>>()?,
            FeedScope::Within { areas, units } => self
                .tx
                .prepare_cached(&format!(
                    "{COLUMNS} WHERE seq > ?1
                       AND (area_after IN (SELECT value FROM json_each(?3))
                            OR area_before IN (SELECT value FROM json_each(?3))
                            OR unit_after IN (SELECT value FROM json_each(?4))
                            OR unit_before IN (SELECT value FROM json_each(?4)))
                     ORDER BY seq LIMIT ?2"
                ))?
                .query_map(
                    params![
                        cursor,
                        fetch,
                        serde_json::to_string(areas)?,
                        serde_json::to_string(units)?
                    ],
                    map,
                )?
                .collect::<rusqlite::Result<_>>()?,
            FeedScope::Unit(unit) => self
                .tx
                .prepare_cached(&format!(
                    "{COLUMNS} WHERE seq > ?1 AND (unit_after = ?3 OR unit_before = ?3)
                     ORDER BY seq LIMIT ?2"
                ))?
                .query_map(params![cursor, fetch, unit], map)?
                .collect::<rusqlite::Result<_>>()?,
            FeedScope::Reporter(user) => self
                .tx
                .prepare_cached(&format!(
                    "{COLUMNS} WHERE seq > ?1 AND reporter_id = ?3 ORDER BY seq LIMIT ?2"
                ))?
                .query_map(params![cursor, fetch, user], map)?
                .collect::<rusqlite::Result<_>>()?,
            FeedScope::Nothing => Vec::new(),
        })
    }

    fn feed_end(&mut self) -> StoreResult<i64> {
        Ok(self
            .tx
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    fn stored_case(&mut self, case_id: &str) -> StoreResult<Option<StoredCase>> {
        stored_case(self.tx, case_id)
    }

    fn cases_after(
        &mut self,
        after: i64,
        upto: i64,
        fetch: usize,
    ) -> StoreResult<Vec<(String, StoredCase)>> {
        let mut st = self.tx.prepare_cached(
            "SELECT id, doc, last_seq, unit_id, reporter_id, area_id FROM cases
             WHERE last_seq > ?1 AND last_seq <= ?2 ORDER BY last_seq LIMIT ?3",
        )?;
        let rows = st.query_map(params![after, upto, fetch as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc, seq, unit_id, reporter_id, area_id) = row?;
            out.push((
                id,
                StoredCase {
                    doc: RawValue::from_string(doc)?,
                    seq,
                    unit_id,
                    reporter_id,
                    area_id,
                },
            ));
        }
        Ok(out)
    }

    fn events_of(
        &mut self,
        case_id: &str,
        after: i64,
        upto: i64,
    ) -> StoreResult<Vec<Box<RawValue>>> {
        events_of(self.tx, case_id, after, upto)
    }
}

impl ServerStore for SqliteStore {
    fn bulletin_issue(
        &self,
        office: &str,
        from: &str,
        to: &str,
        year: i32,
        now_ms: i64,
    ) -> StoreResult<BulletinIssue> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO bulletin_issues (office, period_from, period_to, year, number, issued_ms)
             SELECT ?5, ?1, ?2, ?3, COALESCE(MAX(number), 0) + 1, ?4 FROM bulletin_issues
             WHERE office = ?5 AND year = ?3
             ON CONFLICT (office, period_from, period_to) DO NOTHING",
            rusqlite::params![from, to, year, now_ms, office],
        )?;
        Ok(conn.query_row(
            "SELECT year, number, issued_ms FROM bulletin_issues
             WHERE office = ?3 AND period_from = ?1 AND period_to = ?2",
            [from, to, office],
            |r| {
                Ok(BulletinIssue {
                    year: r.get(0)?,
                    number: r.get(1)?,
                    issued_ms: r.get(2)?,
                })
            },
        )?)
    }

    fn create_open311_key(&self, name: &str, hash: &str, now_ms: i64) -> StoreResult<()> {
        let n = self.writer().execute(
            "INSERT INTO open311_keys (hash, name, created_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,
                created_ms = excluded.created_ms, revoked = 0
             WHERE open311_keys.revoked = 1",
            rusqlite::params![hash, name, now_ms],
        )?;
        if n == 0 {
            return Err(taken_client(name));
        }
        Ok(())
    }

    fn open311_client(&self, hash: &str) -> StoreResult<Option<String>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT name FROM open311_keys WHERE hash = ?1 AND revoked = 0",
                    [hash],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    fn revoke_open311_key(&self, name: &str) -> StoreResult<bool> {
        Ok(self.writer().execute(
            "UPDATE open311_keys SET revoked = 1 WHERE name = ?1",
            [name],
        )? > 0)
    }

    fn open311_clients(&self) -> StoreResult<Vec<(String, i64, bool)>> {
        let conn = self.writer();
        let mut st =
            conn.prepare("SELECT name, created_ms, revoked FROM open311_keys ORDER BY name")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn save_citizen_report(&self, report: &CitizenReport) -> StoreResult<()> {
        self.writer().execute(
            "INSERT INTO citizen_reports (case_id, client, contact, media_url, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (case_id) DO UPDATE SET client = excluded.client,
                contact = excluded.contact, media_url = excluded.media_url",
            rusqlite::params![
                report.case_id.to_string(),
                report.client,
                serde_json::to_string(&report.contact)?,
                report.media_url,
                report.received_ms
            ],
        )?;
        Ok(())
    }

    fn delete_citizen_report(&self, case_id: Uuid) -> StoreResult<()> {
        self.writer().execute(
            "DELETE FROM citizen_reports WHERE case_id = ?1",
            [case_id.to_string()],
        )?;
        Ok(())
    }

    fn newest_cases(&self, filter: &CaseFilter, limit: usize) -> StoreResult<Vec<Case>> {
        let (sql, args) = filter.newest_sql(|n| format!("?{n}"), limit);
        self.with_reader(|conn| sqlite_docs(conn, &sql, &args))
    }

    fn citizen_report(&self, case_id: Uuid) -> StoreResult<Option<CitizenReport>> {
        let row: Option<(String, String, Option<String>, i64)> = self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT client, contact, media_url, received_ms FROM citizen_reports
                     WHERE case_id = ?1",
                    [case_id.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?)
        })?;
        row.map(|(client, contact, media_url, received_ms)| {
            Ok(CitizenReport {
                case_id,
                client,
                contact: serde_json::from_str(&contact)?,
                media_url,
                received_ms,
            })
        })
        .transpose()
    }

    fn database_bytes(&self) -> StoreResult<u64> {
        Ok(["", "-wal", "-shm"]
            .iter()
            .map(|s| {
                let mut p = self.path.clone().into_os_string();
                p.push(s);
                std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
            })
            .sum())
    }

    fn user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        let conn = self.writer();
        let row = conn
            .query_row(
                "SELECT id, name, role, unit_id, area_id, password_hash, disabled FROM users WHERE id = ?1",
                [id],
                user_from_row,
            )
            .optional()?;
        Ok(row.map(|(user, password_hash, disabled)| UserRecord {
            user,
            password_hash,
            disabled,
        }))
    }

    fn create_user(&self, user: &User, password_hash: &str) -> StoreResult<()> {
        let conn = self.writer();
        let n = conn.execute(
            "INSERT OR IGNORE INTO users (id, name, role, unit_id, password_hash, area_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.id,
                user.name,
                user.role.as_str(),
                user.unit_id,
                password_hash,
                user.area_id
            ],
        )?;
        if n == 0 {
            return Err(xuncha_core::Error::InvalidField {
                field: "user_id",
                reason: format!("user '{}' exists already", user.id),
            });
        }
        Ok(())
    }

    fn set_password(&self, user_id: &str, password_hash: &str) -> StoreResult<bool> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let n = tx.execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user_id, password_hash],
        )?;
        tx.execute(
            "UPDATE tokens SET revoked = 1 WHERE user_id = ?1",
            [user_id],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    fn set_disabled(&self, user_id: &str, disabled: bool) -> StoreResult<bool> {
        let conn = self.writer();
        Ok(conn.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![user_id, disabled],
        )? > 0)
    }

    fn register_device(
        &self,
        device_id: &str,
        user_id: &str,
        name: &str,
        now_ms: i64,
    ) -> StoreResult<DeviceRecord> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO devices (id, user_id, name, registered_ms, last_login_ms) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name,
                last_login_ms = excluded.last_login_ms
             WHERE devices.user_id = excluded.user_id",
            params![device_id, user_id, name, now_ms],
        )?;
        Ok(conn.query_row(
            "SELECT id, user_id, name, revoked FROM devices WHERE id = ?1",
            [device_id],
            |r| {
                Ok(DeviceRecord {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    name: r.get(2)?,
                    revoked: r.get(3)?,
                })
            },
        )?)
    }

    fn revoke_device(&self, device_id: &str) -> StoreResult<bool> {
        let conn = self.writer();
        let n = conn.execute("UPDATE devices SET revoked = 1 WHERE id = ?1", [device_id])?;
        conn.execute(
            "UPDATE tokens SET revoked = 1 WHERE device_id = ?1",
            [device_id],
        )?;
        Ok(n > 0)
    }

    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        device_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.writer().execute(
            "INSERT INTO tokens (hash, user_id, device_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash, user_id, device_id, now_ms, expires_at_ms],
        )?;
        Ok(())
    }

    fn token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.with_reader(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT u.id, u.name, u.role, u.unit_id, u.area_id, u.password_hash, u.disabled,
                            t.device_id, t.expires_ms, t.revoked, COALESCE(d.revoked, 0)
                     FROM tokens t JOIN users u ON u.id = t.user_id
                     LEFT JOIN devices d ON d.id = t.device_id
                     WHERE t.hash = ?1",
                )?
                .query_row([token_hash], |r| {
                    let (user, _, disabled) = user_from_row(r)?;
                    Ok(TokenRecord {
                        user,
                        user_disabled: disabled,
                        device_id: r.get(7)?,
                        expires_at_ms: r.get(8)?,
                        revoked: r.get(9)?,
                        device_revoked: r.get(10)?,
                    })
                })
                .optional()?;
            Ok(row)
        })
    }

    fn revoke_token(&self, token_hash: &str) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE tokens SET revoked = 1 WHERE hash = ?1",
            [token_hash],
        )?;
        Ok(())
    }

    fn reference(&self) -> StoreResult<(i64, ReferenceData)> {
        self.with_reader(|conn| read_reference(conn))
    }

    fn set_reference(&self, data: &ReferenceData) -> StoreResult<i64> {
        data.validate()?;
        let index = ReferenceIndex::new(data);
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row(
            "INSERT INTO reference (id, version, json) VALUES (1, 1, ?1)
             ON CONFLICT(id) DO UPDATE SET version = version + 1, json = excluded.json
             RETURNING version",
            [serde_json::to_string(data)?],
            |r| r.get(0),
        )?;
        // Cases follow the new areas (super::area_changes).
        let places = tx
            .prepare("SELECT id, site_id, lat, lon, area_id FROM cases")?
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, area) in super::area_changes(&index, places) {
            let doc: String =
                tx.query_row("SELECT doc FROM cases WHERE id = ?1", [&id], |r| r.get(0))?;
            tx.execute(
                "UPDATE cases SET area_id = ?2, doc = ?3 WHERE id = ?1",
                params![id, area, super::with_area(&doc, area.as_deref())?],
            )?;
        }
        tx.commit()?;
        *self.reference.write().unwrap_or_else(|p| p.into_inner()) = (version, Arc::new(index));
        Ok(version)
    }

    fn push_group(&self, jobs: &[PushJob<'_>]) -> Vec<StoreResult<Vec<OpResult>>> {
        let index = self.index();
        let mut conn = self.writer();
        let group = (|| -> StoreResult<Vec<StoreResult<Vec<OpResult>>>> {
            let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut answers = Vec::with_capacity(jobs.len());
            let mut next_seq = None;
            let mut saved = Vec::new();
            for job in jobs {
                let savepoint = tx.savepoint()?;
                let mut push = SqlitePush {
                    tx: &savepoint,
                    next_seq,
                    saved: Vec::new(),
                };
                let answer = job.span.in_scope(|| {
                    push_batch(&mut push, &index, job.who, job.ops, job.now_ms, job.rules)
                });
                next_seq = push.next_seq;
                if answer.is_ok() {
                    saved.append(&mut push.saved);
                    savepoint.commit()?;
                } else {
                    // Dropped: rolled back, and the sequences it took are free again.
                    drop(savepoint);
                    next_seq = None;
                }
                answers.push(answer);
            }
            for (case_id, text) in &saved {
                xuncha_core::search::index_case(&tx, case_id, text)?;
            }
            tx.commit()?;
            Ok(answers)
        })();
        drop(conn);
        // Full means a nudge is already waiting.
        let _ = self.checkpoints.try_send(());
        group.unwrap_or_else(|e| each_failed(e, jobs.len()))
    }

    fn pull(
        &self,
        who: &Principal,
        cursor: i64,
        limit: usize,
        whole: bool,
        now_ms: i64,
    ) -> StoreResult<PullPage> {
        let reference_version = self.reference.read().unwrap_or_else(|p| p.into_inner()).0;
        let reach = who.reach(&self.index());
        self.with_reader(|conn| {
            // One read transaction: the page and its cursor come from one snapshot (and, with
            // one writer, every sequence below the newest is committed: the feed's end is its
            // newest sequence).
            let tx = conn.transaction()?;
            pull_page(
                &mut SqlitePull { tx: &tx },
                &reach,
                cursor,
                limit,
                whole,
                reference_version,
                now_ms,
            )
        })
    }

    fn case(&self, id: Uuid) -> StoreResult<Option<Case>> {
        self.with_reader(|conn| load_case(conn, id))
    }

    fn count_cases(&self, filter: &CaseFilter) -> StoreResult<u64> {
        let (sql, args) = filter.count_sql(|n| format!("?{n}"));
        self.with_reader(|conn| {
            let n: i64 = conn.prepare_cached(&sql)?.query_row(
                rusqlite::params_from_iter(args.iter().map(sqlite_arg)),
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
    }

    fn list_cases(&self, filter: &CaseFilter, offset: u64, limit: usize) -> StoreResult<Vec<Case>> {
        let (sql, args) = filter.page_sql(|n| format!("?{n}"), offset, limit);
        self.with_reader(|conn| sqlite_docs(conn, &sql, &args))
    }

    fn cases(
        &self,
        statuses: &[Status],
        unit: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Case>> {
        // Only the clauses that filter: a plan that can use the status and unit indexes (an
        // `?1 IS NULL OR …` form scanned every case).
        let filter = CaseFilter {
            statuses: statuses.to_vec(),
            unit: unit.map(str::to_string),
            ..CaseFilter::default()
        };
        self.newest_cases(&filter, limit)
    }

    fn cases_near(
        &self,
        at: &[xuncha_core::geo::LatLon],
        radius_m: f64,
        statuses: &[Status],
        limit: usize,
    ) -> StoreResult<Vec<Case>> {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let names = serde_json::to_string(&names)?;
        let boxes = serde_json::to_string(&super::near_boxes(at, radius_m))?;
        let categories = serde_json::to_string(&self.index().category_codes())?;
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                // Row of cells by row of cells through the probable-duplicate index (category,
                // cell, …), per category: no index of its own, so pushes pay nothing.
                "SELECT c.id, c.doc FROM json_each(?1) b, json_each(?4) k CROSS JOIN cases c
                 WHERE c.category = k.value
                   AND c.cell BETWEEN b.value ->> 0 AND b.value ->> 1
                   AND c.lat BETWEEN b.value ->> 2 AND b.value ->> 3
                   AND c.lon BETWEEN b.value ->> 4 AND b.value ->> 5
                   AND (?2 = '[]' OR c.status IN (SELECT value FROM json_each(?2)))
                 LIMIT ?3",
            )?;
            let rows = st.query_map(
                params![
                    boxes,
                    names,
                    limit.saturating_mul(at.len()) as i64,
                    categories
                ],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )?;
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for row in rows {
                let (id, doc) = row?;
                if seen.insert(id) {
                    out.push(serde_json::from_str(&doc)?);
                }
            }
            Ok(out)
        })
    }

    fn first_photos(&self, cases: &[Uuid]) -> StoreResult<HashMap<Uuid, String>> {
        let ids = serde_json::to_string(cases)?;
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT e.case_id, e.event FROM events e WHERE e.seq IN (
                     SELECT MIN(f.seq) FROM case_photos p JOIN events f ON f.op_id = p.op_id
                     WHERE p.case_id IN (SELECT value FROM json_each(?1))
                     GROUP BY p.case_id)",
            )?;
            let rows = st.query_map([ids], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = HashMap::new();
            for row in rows {
                let (id, event) = row?;
                let event: Event = serde_json::from_str(&event)?;
                if let (Ok(id), Some(photo)) = (id.parse(), super::first_photo_of(&event)) {
                    out.insert(id, photo);
                }
            }
            Ok(out)
        })
    }

    fn search_cases(&self, text: &str, scope: &CaseFilter, limit: usize) -> StoreResult<Vec<Case>> {
        let like = xuncha_core::search::like_pattern(text);
        // The index narrows to the candidates (xuncha_core::search); the substring test
        // confirms. A search it cannot answer (one character) scans. The person's scope is in
        // the statement, so the limit counts only what they may see.
        let terms = xuncha_core::search::match_query(text);
        let mut args = vec![
            SqlArg::Text(text.to_string()),
            SqlArg::Text(like),
            SqlArg::Int(limit as i64),
        ];
        args.extend(terms.clone().map(SqlArg::Text));
        let (within, scope_args) = scope.and_clause(args.len(), |n| format!("?{n}"));
        args.extend(scope_args);
        let sql = if terms.is_some() {
            // Exact matches, then the index's matches newest first (its keys are given as
            // cases arrive), walked in key order and stopped at the limit: a common word
            // among a million cases costs what a rare one does.
            format!(
                "SELECT doc FROM cases WHERE (case_no = ?1 OR id = ?1){within}
                 UNION ALL
                 SELECT doc FROM (
                     SELECT c.doc FROM case_search s
                     JOIN case_search_keys k ON k.key = s.rowid
                     JOIN cases c ON c.id = k.case_id
                     WHERE case_search MATCH ?4
                       AND NOT (c.case_no IS ?1 OR c.id = ?1)
                       AND (json_extract(c.doc, '$.description') LIKE ?2 ESCAPE '\\'
                            OR json_extract(c.doc, '$.location.address') LIKE ?2 ESCAPE '\\'){within}
                     ORDER BY s.rowid DESC LIMIT ?3)
                 LIMIT ?3"
            )
        } else {
            format!(
                "SELECT doc FROM cases
                 WHERE (case_no = ?1 OR id = ?1
                    OR json_extract(doc, '$.description') LIKE ?2 ESCAPE '\\'
                    OR json_extract(doc, '$.location.address') LIKE ?2 ESCAPE '\\'){within}
                 ORDER BY (case_no = ?1 OR id = ?1) DESC, received_ms DESC LIMIT ?3"
            )
        };
        self.with_reader(|conn| sqlite_docs(conn, &sql, &args))
    }

    fn period_facts(
        &self,
        from_ms: i64,
        to_ms: i64,
        days_from_ms: i64,
        days_to_ms: i64,
    ) -> StoreResult<PeriodFacts> {
        let sql = PeriodSql::new();
        let index = self.index();
        self.with_reader(|conn| {
            // One snapshot for every statement.
            let tx = conn.transaction()?;
            let texts = |q: &str, p: &[i64]| -> StoreResult<Vec<String>> {
                let mut st = tx.prepare_cached(&for_sqlite(q))?;
                let rows = st.query_map(rusqlite::params_from_iter(p), |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            };
            let units = texts(&sql.units, &[])?;
            let sites = texts(&sql.sites, &[from_ms, to_ms])?;
            let mut facts = Assemble::new();
            {
                let mut st = tx.prepare_cached(&for_sqlite(&sql.ranked))?;
                let mut rows = st.query(params![from_ms, to_ms])?;
                while let Some(r) = rows.next()? {
                    let action: Option<String> = r.get(5)?;
                    let step = match action {
                        Some(a) => Some(Step {
                            action: period::action(&a)?,
                            at_ms: r.get(6)?,
                        }),
                        None => None,
                    };
                    let case = || -> StoreResult<CaseFacts> {
                        Ok(CaseFacts {
                            unit_id: r.get(1)?,
                            area_id: r.get(7)?,
                            status: period::status(&r.get::<_, String>(2)?)?,
                            deadline_ms: r.get(3)?,
                            extension_count: r.get(4)?,
                            found_by: Finder::of(
                                &r.get::<_, String>(8)?,
                                r.get::<_, Option<String>>(9)?.as_deref(),
                                &index.areas,
                            ),
                            steps: Vec::new(),
                        })
                    };
                    facts.ranked_row(r.get(0)?, case, step)?;
                }
                let mut st = tx.prepare_cached(&for_sqlite(&sql.days))?;
                let mut rows = st.query(params![days_from_ms, days_to_ms])?;
                while let Some(r) = rows.next()? {
                    let action: Option<String> = r.get(4)?;
                    let event = match action {
                        Some(a) => Some((
                            r.get(3)?,
                            period::action(&a)?,
                            period::status(&r.get::<_, String>(5)?)?,
                        )),
                        None => None,
                    };
                    let case = || -> StoreResult<DayFacts> {
                        Ok(DayFacts {
                            unit_id: r.get(6)?,
                            area_id: r.get(7)?,
                            received_ms: r.get(1)?,
                            deadline_ms: r.get(2)?,
                            events: Vec::new(),
                        })
                    };
                    facts.day_row(r.get(0)?, case, event)?;
                }
            }
            Ok(facts.finish(units, sites))
        })
    }

    fn repeated_at_sites(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Case>> {
        let sql = for_sqlite(&PeriodSql::new().repeats);
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(&sql)?;
            let rows = st.query_map(params![from_ms, to_ms], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for doc in rows {
                out.push(serde_json::from_str(&doc?)?);
            }
            Ok(out)
        })
    }

    fn cases_with_timelines(&self) -> StoreResult<Vec<(Case, Vec<Event>)>> {
        self.with_reader(|conn| {
            // Two scans in one read transaction (a consistent snapshot), not one query per case.
            let tx = conn.transaction()?;
            let mut by_case: std::collections::HashMap<String, Vec<Event>> =
                std::collections::HashMap::new();
            {
                let mut st = tx.prepare("SELECT case_id, event FROM events ORDER BY seq")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let event: Event = serde_json::from_str(&r.get::<_, String>(1)?)?;
                    by_case.entry(r.get(0)?).or_default().push(event);
                }
            }
            let mut out = Vec::new();
            {
                let mut st = tx.prepare("SELECT id, doc FROM cases ORDER BY received_ms")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let id: String = r.get(0)?;
                    let case: Case = serde_json::from_str(&r.get::<_, String>(1)?)?;
                    out.push((case, by_case.remove(&id).unwrap_or_default()));
                }
            }
            Ok(out)
        })
    }

    fn reference_index(&self) -> Arc<ReferenceIndex> {
        self.index()
    }

    fn timeline(&self, id: Uuid) -> StoreResult<Vec<Event>> {
        self.with_reader(|conn| {
            let mut st =
                conn.prepare_cached("SELECT event FROM events WHERE case_id = ?1 ORDER BY seq")?;
            let rows = st.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(serde_json::from_str(&row?)?);
            }
            Ok(out)
        })
    }

    fn feed_seq(&self) -> StoreResult<i64> {
        self.with_reader(|conn| {
            Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
        })
    }

    fn stats(&self) -> StoreResult<StoreStats> {
        self.with_reader(|conn| {
            let count = |sql: &str| -> StoreResult<u64> {
                Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
            };
            Ok(StoreStats {
                cases: count("SELECT COUNT(*) FROM cases")?,
                events: count("SELECT COUNT(*) FROM events")?,
                photos: count("SELECT COUNT(*) FROM photos")?,
            })
        })
    }
}
