//! The PostgreSQL backend, for a city whose records outgrow one SQLite file and whose IT wants
//! several server instances, failover and their own backups. The same records and the same rules
//! as SQLite: operations are applied by [`crate::apply::push_batch`] and pages built by
//! [`crate::pull::pull_page`]; only the SQL is this file's.
//!
//! **The change feed's order with several writers.** Every push transaction first takes one
//! transaction-scoped advisory lock ([`FEED_LOCK`]) and only then reads the next sequence, so
//! feed appends are serialized across every instance, and a push's events become visible (at its
//! commit, before the lock is released) before the next push can take a sequence. A reader's
//! snapshot therefore never holds sequence *n* without every sequence below it, and the newest
//! sequence it sees is a cursor that never passes a change committing later.
//!
//! Connections: a small pool per instance (`postgres`, the synchronous client, called from the
//! blocking threads the handlers already use); a connection that failed is dropped, not reused.
//! The reference data's index is cached and re-read when another instance changed it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use postgres::{Client, GenericClient, NoTls, Row, Transaction};
use serde_json::value::RawValue;
use uuid::Uuid;
use xuncha_core::model::{Case, Event};
use xuncha_core::reference::{ReferenceData, ReferenceIndex, User};
use xuncha_core::scope::Reach;
use xuncha_core::sync::protocol::OpResult;
use xuncha_core::workflow::{Role, Status};

use super::case_list::{CaseFilter, SqlArg};
use super::period::{self, Assemble, PeriodFacts, PeriodSql};
use super::{
    BulletinIssue, CitizenReport, DeviceRecord, Principal, PullPage, ServerStore, StoreResult,
    StoreStats, TokenRecord, UserRecord, taken_client,
};
use crate::apply::{PushTx, accepted_answer, case_no, push_batch};
use crate::group_commit::{PushJob, each_failed};
use crate::pull::{FeedRow, FeedScope, PullTx, StoredCase, pull_page};
use xuncha_core::kpi::{CaseFacts, DayFacts, Finder, Step};
use xuncha_core::round::{Round, Task};

/// The advisory lock every feed append holds until its transaction ends.
pub const FEED_LOCK: i64 = 0x5855_4E43_4841; // "XUNCHA"
/// The advisory lock a migration holds (two instances starting at once migrate once).
const MIGRATION_LOCK: i64 = 0x5855_4E43_4D49;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/01_server.sql"),
    include_str!("../../migrations/postgres/02_board_columns.sql"),
    include_str!("../../migrations/postgres/03_case_search.sql"),
    include_str!("../../migrations/postgres/04_period_columns.sql"),
    include_str!("../../migrations/postgres/05_case_facts_index.sql"),
    include_str!("../../migrations/postgres/06_cases_by_cell.sql"),
    include_str!("../../migrations/postgres/07_cases_by_last_change.sql"),
    include_str!("../../migrations/postgres/08_bulletin_issues.sql"),
    include_str!("../../migrations/postgres/09_open311.sql"),
    include_str!("../../migrations/postgres/10_areas.sql"),
    include_str!("../../migrations/postgres/11_escalations.sql"),
    include_str!("../../migrations/postgres/12_notices.sql"),
    include_str!("../../migrations/postgres/13_rounds.sql"),
    include_str!("../../migrations/postgres/14_round_columns.sql"),
    include_str!("../../migrations/postgres/15_bulletin_offices.sql"),
    include_str!("../../migrations/postgres/16_notices_by_event.sql"),
    include_str!("../../migrations/postgres/17_reporter_area.sql"),
];

/// Open cases of a category in a row of grid cells, received since a time, inside a box: cell
/// range by cell range through cases_by_category_cell (category, cell, received_ms).
static OPEN_CASES_NEAR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT c.id, c.lat, c.lon FROM unnest($8::int8[], $9::int8[]) AS r(lo, hi)
         JOIN cases c ON c.category = $1 AND c.cell BETWEEN r.lo AND r.hi
         WHERE c.received_ms >= $2 AND c.lat BETWEEN $3 AND $4 AND c.lon BETWEEN $5 AND $6
           AND c.status IN ({})
         LIMIT $7",
        Status::sql_list(Status::OPEN)
    )
});

/// Connections kept open for reuse, per instance.
const POOL_IDLE: usize = 16;

/// How often the cached reference index is compared with the database's version.
const REFERENCE_RECHECK: Duration = Duration::from_secs(2);

/// A PostgreSQL failure as the core's error: a lost or refused connection (or a conflict worth
/// retrying) is "unavailable" (503, the phone retries); anything else a database error (500).
pub fn pg(e: postgres::Error) -> xuncha_core::Error {
    // Lost connections; conflicts worth retrying (40001, 40P01); the server out of resources
    // (class 53) or shutting down (57P); connection exceptions (class 08).
    let code = e.code().map(|c| c.code()).unwrap_or("");
    let retry = e.is_closed()
        || e.as_db_error().is_none()
        || matches!(code, "40001" | "40P01")
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P");
    if retry {
        xuncha_core::Error::StorageUnavailable(format!("PostgreSQL: {e}"))
    } else {
        xuncha_core::Error::Database(format!("PostgreSQL: {e}"))
    }
}

/// The search terms of a case: the pairs of its description and address.
fn search_terms(case: &Case) -> Vec<String> {
    xuncha_core::search::term_list(&xuncha_core::search::case_text(case))
}

/// Fill in the search terms of cases stored before search came (migration 03), a batch at a
/// time, until none is left.
fn backfill_search_terms(client: &mut Client) -> StoreResult<()> {
    loop {
        let rows = client
            .query(
                "SELECT id, doc FROM cases WHERE search_terms IS NULL LIMIT 1000",
                &[],
            )
            .map_err(pg)?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = client.transaction().map_err(pg)?;
        let update = tx
            .prepare("UPDATE cases SET search_terms = $2 WHERE id = $1")
            .map_err(pg)?;
        for r in &rows {
            let id: String = col(r, 0)?;
            let case: Case = serde_json::from_str(&col::<String>(r, 1)?)?;
            tx.execute(&update, &[&id, &search_terms(&case)])
                .map_err(pg)?;
        }
        tx.commit().map_err(pg)?;
    }
}

/// [`SqlArg`]s as PostgreSQL parameters.
fn pg_args(args: &[SqlArg]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    args.iter()
        .map(|a| -> Box<dyn postgres::types::ToSql + Sync> {
            match a {
                SqlArg::Text(t) => Box::new(t.clone()),
                SqlArg::Int(i) => Box::new(*i),
            }
        })
        .collect()
}

/// A column read without panicking on a type the code did not expect.
pub(super) fn col<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> StoreResult<T> {
    row.try_get(i).map_err(pg)
}

/// The statements a backend function runs, on a plain connection or on a push's transaction
/// that prepares each statement once (a push of 1,000 operations would otherwise pay a parse
/// round trip per statement per operation).
pub(super) trait Sql {
    /// Rows of `sql`.
    fn rows(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>>;
    /// Rows changed by `sql`.
    fn exec(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64>;
}

impl<C: GenericClient> Sql for C {
    fn rows(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        self.query(sql, params).map_err(pg)
    }

    fn exec(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        self.execute(sql, params).map_err(pg)
    }
}

/// A transaction whose statements are prepared once and reused.
pub(super) struct Prepared<'a, 'b> {
    tx: &'a mut Transaction<'b>,
    statements: HashMap<&'static str, postgres::Statement>,
}

impl Prepared<'_, '_> {
    fn statement(&mut self, sql: &'static str) -> StoreResult<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(pg)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

impl Sql for Prepared<'_, '_> {
    fn rows(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let st = self.statement(sql)?;
        self.tx.query(&st, params).map_err(pg)
    }

    fn exec(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        let st = self.statement(sql)?;
        self.tx.execute(&st, params).map_err(pg)
    }
}

/// The first row of `sql`, if any.
pub(super) fn first(
    c: &mut impl Sql,
    sql: &'static str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> StoreResult<Option<Row>> {
    Ok(c.rows(sql, params)?.into_iter().next())
}

/// The PostgreSQL store.
pub struct PostgresStore {
    url: String,
    idle: Mutex<Vec<Client>>,
    reference: RwLock<(i64, Arc<ReferenceIndex>, Instant)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore")
    }
}

impl PostgresStore {
    /// Connect, bring the schema up to date and read the reference data. An unreachable server
    /// or a refused login is a clear error naming `database_url`.
    pub fn open(url: &str) -> StoreResult<Self> {
        let mut client =
            Client::connect(url, NoTls).map_err(|e| xuncha_core::Error::InvalidField {
                field: "database_url",
                reason: format!("cannot connect to PostgreSQL: {e}"),
            })?;
        migrate(&mut client)?;
        backfill_search_terms(&mut client)?;
        let (version, data) = read_reference(&mut client)?;
        Ok(PostgresStore {
            url: url.to_string(),
            idle: Mutex::new(vec![client]),
            reference: RwLock::new((
                version,
                Arc::new(ReferenceIndex::new(&data)),
                Instant::now(),
            )),
        })
    }

    /// Run `f` on a pooled connection (a new one if none is idle); a connection that broke is
    /// not returned to the pool. When it broke (the database restarted, or dropped it) or the
    /// database said to try again (`pg`'s retryable errors: a backend terminated by the
    /// administrator says so before its socket is seen closed), the other idle connections are
    /// dropped too and `f` runs once more on a new one: a failed transaction changed nothing, so
    /// running it again is safe.
    pub(super) fn with<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        };
        let mut out = f(&mut client);
        if client.is_closed() || matches!(out, Err(xuncha_core::Error::StorageUnavailable(_))) {
            let stale = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
            drop(stale);
            client = self.connect()?;
            out = f(&mut client);
        }
        if !client.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < POOL_IDLE {
                idle.push(client);
            }
        }
        out
    }

    /// A new connection; while serving, any failure to get one means the database is out of
    /// reach for now (it was reachable at start).
    fn connect(&self) -> StoreResult<Client> {
        Client::connect(&self.url, NoTls)
            .map_err(|e| xuncha_core::Error::StorageUnavailable(format!("PostgreSQL: {e}")))
    }

    fn index(&self) -> Arc<ReferenceIndex> {
        let (version, index, checked) = {
            let r = self.reference.read().unwrap_or_else(|p| p.into_inner());
            (r.0, r.1.clone(), r.2)
        };
        if checked.elapsed() < REFERENCE_RECHECK {
            return index;
        }
        // Another instance may have imported new reference data. Asked on a thread of its own:
        // this may be called from async code, where the blocking client must not run.
        let fresh = std::thread::scope(|s| {
            s.spawn(|| self.reference_if_changed(version))
                .join()
                .unwrap_or_else(|_| {
                    Err(xuncha_core::Error::StorageUnavailable(
                        "reference check failed".into(),
                    ))
                })
        });
        let mut w = self.reference.write().unwrap_or_else(|p| p.into_inner());
        match fresh {
            Ok(Some((v, data))) => *w = (v, Arc::new(ReferenceIndex::new(&data)), Instant::now()),
            Ok(None) => w.2 = Instant::now(),
            Err(e) => tracing::warn!(error = %e, "reference version not checked"),
        }
        w.1.clone()
    }

    /// The reference data if its version is no longer `version`.
    fn reference_if_changed(&self, version: i64) -> StoreResult<Option<(i64, ReferenceData)>> {
        self.with(|c| {
            let row = c
                .query_opt("SELECT version FROM reference WHERE id = 1", &[])
                .map_err(pg)?;
            let now: i64 = match row {
                Some(r) => col(&r, 0)?,
                None => 0,
            };
            if now == version {
                return Ok(None);
            }
            Ok(Some(read_reference(c)?))
        })
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // A blocking client closes its connection on drop, which must not happen on an async
        // worker (a server shutting down drops its state there): close them on a thread.
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// Apply the migrations this code knows and the database has not had, each in its own
/// transaction, under a lock (instances starting together migrate once). A database migrated by
/// newer code is refused.
fn migrate(client: &mut Client) -> StoreResult<()> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS xuncha_schema (version BIGINT NOT NULL)")
        .map_err(pg)?;
    let mut tx = client.transaction().map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg)?;
    let found: i64 = match tx
        .query_opt("SELECT version FROM xuncha_schema", &[])
        .map_err(pg)?
    {
        Some(r) => col(&r, 0)?,
        None => {
            tx.execute("INSERT INTO xuncha_schema (version) VALUES (0)", &[])
                .map_err(pg)?;
            0
        }
    };
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(xuncha_core::Error::SchemaTooNew {
            found,
            supported: known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.batch_execute(sql).map_err(pg)?;
        tx.execute("UPDATE xuncha_schema SET version = $1", &[&(i as i64 + 1)])
            .map_err(pg)?;
    }
    tx.commit().map_err(pg)?;
    Ok(())
}

fn read_reference(c: &mut impl GenericClient) -> StoreResult<(i64, ReferenceData)> {
    let row = c
        .query_opt("SELECT version, json FROM reference WHERE id = 1", &[])
        .map_err(pg)?;
    let (version, mut data) = match row {
        Some(r) => (
            col::<i64>(&r, 0)?,
            serde_json::from_str::<ReferenceData>(&col::<String>(&r, 1)?)?,
        ),
        None => (0, ReferenceData::default()),
    };
    data.users = c
        .query(
            "SELECT id, name, role, unit_id, area_id FROM users WHERE NOT disabled ORDER BY id",
            &[],
        )
        .map_err(pg)?
        .iter()
        .map(directory_user)
        .collect::<StoreResult<_>>()?;
    Ok((version, data))
}

/// A directory entry from columns `id, name, role, unit_id, area_id`; a role this code does not know is
/// an error, never a silent default.
fn directory_user(r: &Row) -> StoreResult<User> {
    let role: String = col(r, 2)?;
    let role = Role::parse(&role).ok_or_else(|| xuncha_core::Error::InvalidField {
        field: "role",
        reason: format!("unknown role '{role}' in the database"),
    })?;
    Ok(User {
        id: col(r, 0)?,
        name: col(r, 1)?,
        role,
        unit_id: col(r, 3)?,
        area_id: col(r, 4)?,
    })
}

fn docs<T: serde::de::DeserializeOwned>(rows: &[Row]) -> StoreResult<Vec<T>> {
    rows.iter()
        .map(|r| Ok(serde_json::from_str(&col::<String>(r, 0)?)?))
        .collect()
}

fn status_names(statuses: &[Status]) -> Vec<String> {
    statuses.iter().map(|s| s.as_str().to_string()).collect()
}

struct PgPush<'a, 'b> {
    tx: Prepared<'a, 'b>,
    next_seq: Option<i64>,
}

impl PushTx for PgPush<'_, '_> {
    fn op_results(&mut self, op_ids: &[Uuid]) -> StoreResult<HashMap<Uuid, OpResult>> {
        let ids: Vec<String> = op_ids.iter().map(Uuid::to_string).collect();
        let mut out = HashMap::new();
        // An accepted operation is its event: the answer is rebuilt from the feed row.
        for r in self.tx.rows(
            "SELECT op_id, seq, case_id, server_time_ms FROM events WHERE op_id = ANY($1)",
            &[&ids],
        )? {
            let answer = accepted_answer(
                &col::<String>(&r, 0)?,
                col(&r, 1)?,
                &col::<String>(&r, 2)?,
                col(&r, 3)?,
            )?;
            out.insert(answer.op_id, answer);
        }
        for r in self.tx.rows(
            "SELECT result FROM op_results WHERE op_id = ANY($1)",
            &[&ids],
        )? {
            let result: OpResult = serde_json::from_str(&col::<String>(&r, 0)?)?;
            out.insert(result.op_id, result);
        }
        Ok(out)
    }

    fn case(&mut self, id: Uuid) -> StoreResult<Option<Case>> {
        load_case(&mut self.tx, id)
    }

    fn recent_open_cases(
        &mut self,
        category: &str,
        since_ms: i64,
        lo: xuncha_core::geo::LatLon,
        hi: xuncha_core::geo::LatLon,
        limit: usize,
    ) -> StoreResult<Vec<(Uuid, xuncha_core::geo::LatLon)>> {
        let (first_cells, last_cells): (Vec<i64>, Vec<i64>) =
            xuncha_core::geo::cell_ranges(lo, hi).into_iter().unzip();
        let rows = self.tx.rows(
            OPEN_CASES_NEAR.as_str(),
            &[
                &category,
                &since_ms,
                &lo.lat,
                &hi.lat,
                &lo.lon,
                &hi.lon,
                &(limit as i64),
                &first_cells,
                &last_cells,
            ],
        )?;
        let mut out = Vec::new();
        for r in rows {
            if let Ok(id) = col::<String>(&r, 0)?.parse() {
                out.push((
                    id,
                    xuncha_core::geo::LatLon {
                        lat: col(&r, 1)?,
                        lon: col(&r, 2)?,
                    },
                ));
            }
        }
        Ok(out)
    }

    fn next_case_no(&mut self, year: i32) -> StoreResult<String> {
        let r = first(
            &mut self.tx,
            "INSERT INTO case_numbers (year, last) VALUES ($1, 1)
             ON CONFLICT (year) DO UPDATE SET last = case_numbers.last + 1 RETURNING last",
            &[&i64::from(year)],
        )?
        .ok_or_else(|| xuncha_core::Error::Database("no case number returned".into()))?;
        let n: i64 = col(&r, 0)?;
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
            None => {
                // Under FEED_LOCK (taken when the push began): no other writer is between this
                // read and the commit.
                let r = first(
                    &mut self.tx,
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM events",
                    &[],
                )?
                .ok_or_else(|| xuncha_core::Error::Database("no sequence returned".into()))?;
                col(&r, 0)?
            }
        };
        self.next_seq = Some(seq + 1);
        // Stored with its sequence, so a pull sends the JSON as it is.
        event.server_seq = Some(seq);
        let server_time = event.server_time_ms.unwrap_or(0);
        self.tx.exec(
            "INSERT INTO events (seq, op_id, case_id, unit_before, unit_after, reporter_id,
                                     device_id, server_time_ms, event, action, to_status,
                                     area_before, area_after)
                 VALUES ($9, $1, $2, $3, $4, $5, $6, $7, $8, $10, $11, $12, $13)",
            &[
                &op_id,
                &case_id,
                &unit_before,
                &case.unit_id,
                &case.reporter_id,
                &event.op.device_id,
                &server_time,
                &serde_json::to_string(&*event)?,
                &seq,
                &event.op.body.action().as_str(),
                &event.to_status.as_str(),
                &area_before,
                &case.area_id,
            ],
        )?;
        let sql = if is_new {
            // The reporter's area as their account says when the case is reported (who found
            // it, for the score), kept however the account changes later.
            "INSERT INTO cases (case_no, status, unit_id, reporter_id, category, last_seq, doc, id,
                                lat, lon, received_ms, deadline_ms, grid_id, campaign_id,
                                reported_ms, search_terms, extension_count, site_id, area_id,
                                escalations, reporter_area)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18, $19, $20, (SELECT area_id FROM users WHERE id = $4))"
        } else {
            "UPDATE cases SET case_no = $1, status = $2, unit_id = $3, reporter_id = $4,
                    category = $5, last_seq = $6, doc = $7, lat = $9, lon = $10, received_ms = $11,
                    deadline_ms = $12, grid_id = $13, campaign_id = $14, reported_ms = $15,
                    search_terms = $16, extension_count = $17, site_id = $18, area_id = $19,
                    escalations = $20
             WHERE id = $8"
        };
        let received = case.server_received_at_ms.unwrap_or(server_time);
        self.tx.exec(
            sql,
            &[
                &case.case_no,
                &case.status.as_str(),
                &case.unit_id,
                &case.reporter_id,
                &case.category,
                &seq,
                &serde_json::to_string(case)?,
                &case_id,
                &case.location.lat,
                &case.location.lon,
                &received,
                &case.deadline_ms,
                &case.grid_id,
                &case.campaign_id,
                &case.reported_at_ms,
                &search_terms(case),
                &(case.extension_count.min(i32::MAX as u32) as i32),
                &case.site_id,
                &case.area_id,
                &(case.escalations.min(i32::MAX as u32) as i32),
            ],
        )?;
        for p in event.op.body.photos() {
            super::postgres_photos::name_photo(
                &mut self.tx,
                &p.sha256,
                &case_id,
                &op_id,
                p.kind.as_str(),
                &event.op.device_id,
                reach,
                server_time,
            )?;
        }
        Ok(seq)
    }

    fn task(&mut self, id: Uuid) -> StoreResult<Option<(Round, Task)>> {
        super::postgres_rounds::load_task(&mut self.tx, id)
    }

    fn round(&mut self, id: Uuid) -> StoreResult<Option<Round>> {
        super::postgres_rounds::load_round(&mut self.tx, id)
    }

    fn finish_task(&mut self, task: &Task, device_id: &str) -> StoreResult<()> {
        super::postgres_rounds::save_task(&mut self.tx, task)?;
        if let Some(result) = &task.result {
            for p in &result.photos {
                super::postgres_photos::name_photo(
                    &mut self.tx,
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
        self.tx.exec(
            "INSERT INTO op_results (op_id, device_id, result) VALUES ($1, $2, $3)
                 ON CONFLICT (op_id) DO NOTHING",
            &[
                &result.op_id.to_string(),
                &device_id,
                &serde_json::to_string(result)?,
            ],
        )?;
        Ok(())
    }
}

fn load_case(c: &mut impl Sql, id: Uuid) -> StoreResult<Option<Case>> {
    match first(c, "SELECT doc FROM cases WHERE id = $1", &[&id.to_string()])? {
        Some(r) => Ok(Some(serde_json::from_str(&col::<String>(&r, 0)?)?)),
        None => Ok(None),
    }
}

struct PgPull<'a, 'b> {
    tx: Prepared<'a, 'b>,
}

impl PullTx for PgPull<'_, '_> {
    fn feed_after(
        &mut self,
        scope: FeedScope<'_>,
        cursor: i64,
        fetch: usize,
    ) -> StoreResult<Vec<FeedRow>> {
        let fetch = fetch as i64;
        let rows = match scope {
            FeedScope::All => self.tx.rows(
                "SELECT seq, case_id, unit_before, area_before, event FROM events
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&cursor, &fetch],
            ),
            FeedScope::Within { areas, units } => {
                let areas: Vec<&str> = areas.iter().map(String::as_str).collect();
                let units: Vec<&str> = units.iter().map(String::as_str).collect();
                self.tx.rows(
                    "SELECT seq, case_id, unit_before, area_before, event FROM events
                     WHERE seq > $1
                       AND (area_after = ANY($3) OR area_before = ANY($3)
                            OR unit_after = ANY($4) OR unit_before = ANY($4))
                     ORDER BY seq LIMIT $2",
                    &[&cursor, &fetch, &areas, &units],
                )
            }
            FeedScope::Unit(unit) => self.tx.rows(
                "SELECT seq, case_id, unit_before, area_before, event FROM events
                 WHERE seq > $1 AND (unit_after = $3 OR unit_before = $3) ORDER BY seq LIMIT $2",
                &[&cursor, &fetch, &unit],
            ),
            FeedScope::Reporter(user) => self.tx.rows(
                "SELECT seq, case_id, unit_before, area_before, event FROM events
                 WHERE seq > $1 AND reporter_id = $3 ORDER BY seq LIMIT $2",
                &[&cursor, &fetch, &user],
            ),
            FeedScope::Nothing => return Ok(Vec::new()),
        }?;
        rows.iter()
            .map(|r| {
                Ok(FeedRow {
                    seq: col(r, 0)?,
                    case_id: col(r, 1)?,
                    unit_before: col(r, 2)?,
                    area_before: col(r, 3)?,
                    event: col(r, 4)?,
                })
            })
            .collect()
    }

    fn feed_end(&mut self) -> StoreResult<i64> {
        // Appends are serialized under FEED_LOCK and visible in order: the newest sequence
        // this snapshot sees has every lower one visible too.
        match first(
            &mut self.tx,
            "SELECT COALESCE(MAX(seq), 0) FROM events",
            &[],
        )? {
            Some(r) => col(&r, 0),
            None => Ok(0),
        }
    }

    fn cases_after(
        &mut self,
        after: i64,
        upto: i64,
        fetch: usize,
    ) -> StoreResult<Vec<(String, StoredCase)>> {
        let rows = self.tx.rows(
            "SELECT id, doc, last_seq, unit_id, reporter_id, area_id FROM cases
             WHERE last_seq > $1 AND last_seq <= $2 ORDER BY last_seq LIMIT $3",
            &[&after, &upto, &(fetch as i64)],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((
                col(&r, 0)?,
                StoredCase {
                    doc: RawValue::from_string(col(&r, 1)?)?,
                    seq: col(&r, 2)?,
                    unit_id: col(&r, 3)?,
                    reporter_id: col(&r, 4)?,
                    area_id: col(&r, 5)?,
                },
            ));
        }
        Ok(out)
    }

    fn stored_case(&mut self, case_id: &str) -> StoreResult<Option<StoredCase>> {
        match first(
            &mut self.tx,
            "SELECT doc, last_seq, unit_id, reporter_id, area_id FROM cases WHERE id = $1",
            &[&case_id],
        )? {
            Some(r) => Ok(Some(StoredCase {
                doc: RawValue::from_string(col(&r, 0)?)?,
                seq: col(&r, 1)?,
                unit_id: col(&r, 2)?,
                reporter_id: col(&r, 3)?,
                area_id: col(&r, 4)?,
            })),
            None => Ok(None),
        }
    }

    fn events_of(
        &mut self,
        case_id: &str,
        after: i64,
        upto: i64,
    ) -> StoreResult<Vec<Box<RawValue>>> {
        self.tx
            .rows(
                "SELECT event FROM events WHERE case_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                &[&case_id, &after, &upto],
            )?
            .iter()
            .map(|r| Ok(RawValue::from_string(col(r, 0)?)?))
            .collect()
    }
}

/// A user with `password_hash, disabled` in columns 5 and 6.
fn user_from_row(r: &Row) -> StoreResult<(User, String, bool)> {
    Ok((directory_user(r)?, col(r, 5)?, col(r, 6)?))
}

impl ServerStore for PostgresStore {
    fn bulletin_issue(
        &self,
        office: &str,
        from: &str,
        to: &str,
        year: i32,
        now_ms: i64,
    ) -> StoreResult<BulletinIssue> {
        // Two instances numbering two periods at once: one takes the number, the other's insert
        // does nothing (the number is taken) and it tries again with the next.
        self.with(|c| {
            for _ in 0..8 {
                c.execute(
                    "INSERT INTO bulletin_issues
                         (office, period_from, period_to, year, number, issued_ms)
                     SELECT $5, $1, $2, $3, COALESCE(MAX(number), 0) + 1, $4 FROM bulletin_issues
                     WHERE office = $5 AND year = $3
                     ON CONFLICT DO NOTHING",
                    &[&from, &to, &i64::from(year), &now_ms, &office],
                )
                .map_err(pg)?;
                if let Some(r) = c
                    .query_opt(
                        "SELECT year, number, issued_ms FROM bulletin_issues
                         WHERE office = $3 AND period_from = $1 AND period_to = $2",
                        &[&from, &to, &office],
                    )
                    .map_err(pg)?
                {
                    return Ok(BulletinIssue {
                        year: i32::try_from(col::<i64>(&r, 0)?).unwrap_or(year),
                        number: col(&r, 1)?,
                        issued_ms: col(&r, 2)?,
                    });
                }
            }
            Err(xuncha_core::Error::Database(
                "no bulletin number could be taken".into(),
            ))
        })
    }

    fn create_open311_key(&self, name: &str, hash: &str, now_ms: i64) -> StoreResult<()> {
        let n = self.with(|c| {
            c.execute(
                "INSERT INTO open311_keys (hash, name, created_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET hash = excluded.hash,
                    created_ms = excluded.created_ms, revoked = FALSE
                 WHERE open311_keys.revoked",
                &[&hash, &name, &now_ms],
            )
            .map_err(pg)
        })?;
        if n == 0 {
            return Err(taken_client(name));
        }
        Ok(())
    }

    fn open311_client(&self, hash: &str) -> StoreResult<Option<String>> {
        self.with(|c| {
            c.query_opt(
                "SELECT name FROM open311_keys WHERE hash = $1 AND NOT revoked",
                &[&hash],
            )
            .map_err(pg)?
            .map(|r| col(&r, 0))
            .transpose()
        })
    }

    fn revoke_open311_key(&self, name: &str) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE open311_keys SET revoked = TRUE WHERE name = $1",
                &[&name],
            )
            .map_err(pg)?
                > 0)
        })
    }

    fn open311_clients(&self) -> StoreResult<Vec<(String, i64, bool)>> {
        self.with(|c| {
            c.query(
                "SELECT name, created_ms, revoked FROM open311_keys ORDER BY name",
                &[],
            )
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)))
            .collect()
        })
    }

    fn save_citizen_report(&self, report: &CitizenReport) -> StoreResult<()> {
        let contact = serde_json::to_string(&report.contact)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO citizen_reports (case_id, client, contact, media_url, received_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (case_id) DO UPDATE SET client = excluded.client,
                    contact = excluded.contact, media_url = excluded.media_url",
                &[
                    &report.case_id.to_string(),
                    &report.client,
                    &contact,
                    &report.media_url,
                    &report.received_ms,
                ],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn delete_citizen_report(&self, case_id: Uuid) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM citizen_reports WHERE case_id = $1",
                &[&case_id.to_string()],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn newest_cases(&self, filter: &CaseFilter, limit: usize) -> StoreResult<Vec<Case>> {
        let (sql, args) = filter.newest_sql(|n| format!("${n}"), limit);
        let args = pg_args(&args);
        self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                args.iter().map(|a| a.as_ref()).collect();
            docs(&c.query(sql.as_str(), &params).map_err(pg)?)
        })
    }

    fn citizen_report(&self, case_id: Uuid) -> StoreResult<Option<CitizenReport>> {
        let row = self.with(|c| {
            c.query_opt(
                "SELECT client, contact, media_url, received_ms FROM citizen_reports
                 WHERE case_id = $1",
                &[&case_id.to_string()],
            )
            .map_err(pg)
        })?;
        row.map(|r| {
            Ok(CitizenReport {
                case_id,
                client: col(&r, 0)?,
                contact: serde_json::from_str(&col::<String>(&r, 1)?)?,
                media_url: col(&r, 2)?,
                received_ms: col(&r, 3)?,
            })
        })
        .transpose()
    }

    fn database_bytes(&self) -> StoreResult<u64> {
        self.with(|c| {
            let r = c
                .query_one("SELECT pg_database_size(current_database())", &[])
                .map_err(pg)?;
            Ok(col::<i64>(&r, 0)?.max(0) as u64)
        })
    }

    fn user(&self, id: &str) -> StoreResult<Option<UserRecord>> {
        self.with(|c| {
            let row = c
                .query_opt(
                    "SELECT id, name, role, unit_id, area_id, password_hash, disabled FROM users WHERE id = $1",
                    &[&id],
                )
                .map_err(pg)?;
            row.map(|r| {
                let (user, password_hash, disabled) = user_from_row(&r)?;
                Ok(UserRecord {
                    user,
                    password_hash,
                    disabled,
                })
            })
            .transpose()
        })
    }

    fn create_user(&self, user: &User, password_hash: &str) -> StoreResult<()> {
        let n = self.with(|c| {
            c.execute(
                "INSERT INTO users (id, name, role, unit_id, password_hash, area_id)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &user.id,
                    &user.name,
                    &user.role.as_str(),
                    &user.unit_id,
                    &password_hash,
                    &user.area_id,
                ],
            )
            .map_err(pg)
        })?;
        if n == 0 {
            return Err(xuncha_core::Error::InvalidField {
                field: "user_id",
                reason: format!("user '{}' exists already", user.id),
            });
        }
        Ok(())
    }

    fn set_password(&self, user_id: &str, password_hash: &str) -> StoreResult<bool> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            let n = tx
                .execute(
                    "UPDATE users SET password_hash = $2 WHERE id = $1",
                    &[&user_id, &password_hash],
                )
                .map_err(pg)?;
            tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE user_id = $1",
                &[&user_id],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(n > 0)
        })
    }

    fn set_disabled(&self, user_id: &str, disabled: bool) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE users SET disabled = $2 WHERE id = $1",
                &[&user_id, &disabled],
            )
            .map_err(pg)?
                > 0)
        })
    }

    fn register_device(
        &self,
        device_id: &str,
        user_id: &str,
        name: &str,
        now_ms: i64,
    ) -> StoreResult<DeviceRecord> {
        self.with(|c| {
            c.execute(
                "INSERT INTO devices (id, user_id, name, registered_ms, last_login_ms)
                 VALUES ($1, $2, $3, $4, $4)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                    last_login_ms = excluded.last_login_ms
                 WHERE devices.user_id = excluded.user_id",
                &[&device_id, &user_id, &name, &now_ms],
            )
            .map_err(pg)?;
            let r = c
                .query_one(
                    "SELECT id, user_id, name, revoked FROM devices WHERE id = $1",
                    &[&device_id],
                )
                .map_err(pg)?;
            Ok(DeviceRecord {
                id: col(&r, 0)?,
                user_id: col(&r, 1)?,
                name: col(&r, 2)?,
                revoked: col(&r, 3)?,
            })
        })
    }

    fn revoke_device(&self, device_id: &str) -> StoreResult<bool> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            let n = tx
                .execute(
                    "UPDATE devices SET revoked = TRUE WHERE id = $1",
                    &[&device_id],
                )
                .map_err(pg)?;
            tx.execute(
                "UPDATE tokens SET revoked = TRUE WHERE device_id = $1",
                &[&device_id],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(n > 0)
        })
    }

    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        device_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (hash, user_id, device_id, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&token_hash, &user_id, &device_id, &now_ms, &expires_at_ms],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.with(|c| {
            let row = c
                .query_opt(
                    "SELECT u.id, u.name, u.role, u.unit_id, u.area_id, u.password_hash, u.disabled,
                            t.device_id, t.expires_ms, t.revoked, COALESCE(d.revoked, FALSE)
                     FROM tokens t JOIN users u ON u.id = t.user_id
                     LEFT JOIN devices d ON d.id = t.device_id
                     WHERE t.hash = $1",
                    &[&token_hash],
                )
                .map_err(pg)?;
            row.map(|r| {
                let (user, _, disabled) = user_from_row(&r)?;
                Ok(TokenRecord {
                    user,
                    user_disabled: disabled,
                    device_id: col(&r, 7)?,
                    expires_at_ms: col(&r, 8)?,
                    revoked: col(&r, 9)?,
                    device_revoked: col(&r, 10)?,
                })
            })
            .transpose()
        })
    }

    fn revoke_token(&self, token_hash: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE tokens SET revoked = TRUE WHERE hash = $1",
                &[&token_hash],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn reference(&self) -> StoreResult<(i64, ReferenceData)> {
        self.with(read_reference)
    }

    fn set_reference(&self, data: &ReferenceData) -> StoreResult<i64> {
        data.validate()?;
        let json = serde_json::to_string(data)?;
        let index = ReferenceIndex::new(data);
        let version = self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            // No push appends while cases are re-placed.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK])
                .map_err(pg)?;
            let r = tx
                .query_one(
                    "INSERT INTO reference (id, version, json) VALUES (1, 1, $1)
                     ON CONFLICT (id) DO UPDATE SET version = reference.version + 1,
                        json = excluded.json
                     RETURNING version",
                    &[&json],
                )
                .map_err(pg)?;
            let version = col::<i64>(&r, 0)?;
            // Cases follow the new areas (super::area_changes).
            let places = tx
                .query("SELECT id, site_id, lat, lon, area_id FROM cases", &[])
                .map_err(pg)?
                .iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?, col(r, 4)?)))
                .collect::<StoreResult<Vec<_>>>()?;
            for (id, area) in super::area_changes(&index, places) {
                let r = tx
                    .query_one("SELECT doc FROM cases WHERE id = $1", &[&id])
                    .map_err(pg)?;
                let doc = super::with_area(&col::<String>(&r, 0)?, area.as_deref())?;
                tx.execute(
                    "UPDATE cases SET area_id = $2, doc = $3 WHERE id = $1",
                    &[&id, &area, &doc],
                )
                .map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            Ok(version)
        })?;
        *self.reference.write().unwrap_or_else(|p| p.into_inner()) =
            (version, Arc::new(index), Instant::now());
        Ok(version)
    }

    fn push_group(&self, jobs: &[PushJob<'_>]) -> Vec<StoreResult<Vec<OpResult>>> {
        let index = self.index();
        let group = self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            // Feed appends one group at a time across every instance (see the module's note).
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK])
                .map_err(pg)?;
            let mut answers = Vec::with_capacity(jobs.len());
            let mut next_seq = None;
            let mut statements = HashMap::new();
            for job in jobs {
                let mut savepoint = tx.savepoint("push").map_err(pg)?;
                let mut push = PgPush {
                    tx: Prepared {
                        tx: &mut savepoint,
                        statements: std::mem::take(&mut statements),
                    },
                    next_seq,
                };
                let answer = job.span.in_scope(|| {
                    push_batch(&mut push, &index, job.who, job.ops, job.now_ms, job.rules)
                });
                next_seq = push.next_seq;
                // Prepared statements belong to the connection, not to the savepoint.
                statements = std::mem::take(&mut push.tx.statements);
                if answer.is_ok() {
                    savepoint.commit().map_err(pg)?;
                } else {
                    // Dropped: rolled back, and the sequences it took are free again.
                    drop(savepoint);
                    next_seq = None;
                }
                answers.push(answer);
            }
            tx.commit().map_err(pg)?;
            Ok(answers)
        });
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
        let reach = who.reach(&self.reference_index());
        self.with(|c| {
            // One snapshot for the page and its cursor.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg)?;
            let reference_version = match tx
                .query_opt("SELECT version FROM reference WHERE id = 1", &[])
                .map_err(pg)?
            {
                Some(r) => col(&r, 0)?,
                None => 0,
            };
            let page = pull_page(
                &mut PgPull {
                    tx: Prepared {
                        tx: &mut tx,
                        statements: HashMap::new(),
                    },
                },
                &reach,
                cursor,
                limit,
                whole,
                reference_version,
                now_ms,
            )?;
            tx.commit().map_err(pg)?;
            Ok(page)
        })
    }

    fn case(&self, id: Uuid) -> StoreResult<Option<Case>> {
        self.with(|c| load_case(c, id))
    }

    fn count_cases(&self, filter: &CaseFilter) -> StoreResult<u64> {
        let (sql, args) = filter.count_sql(|n| format!("${n}"));
        let args = pg_args(&args);
        self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                args.iter().map(|a| a.as_ref()).collect();
            let row = c.query_one(sql.as_str(), &params).map_err(pg)?;
            Ok(col::<i64>(&row, 0)?.max(0) as u64)
        })
    }

    fn list_cases(&self, filter: &CaseFilter, offset: u64, limit: usize) -> StoreResult<Vec<Case>> {
        let (sql, args) = filter.page_sql(|n| format!("${n}"), offset, limit);
        let args = pg_args(&args);
        self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                args.iter().map(|a| a.as_ref()).collect();
            let mut out = Vec::new();
            for row in c.query(sql.as_str(), &params).map_err(pg)? {
                out.push(serde_json::from_str(&col::<String>(&row, 0)?)?);
            }
            Ok(out)
        })
    }

    fn cases(
        &self,
        statuses: &[Status],
        unit: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Case>> {
        // Only the clauses that filter: a plan that can use the status and unit indexes (an
        // `$1 IS NULL OR …` form scanned every case).
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
        let names = status_names(statuses);
        let boxes = super::near_boxes(at, radius_m);
        let first_cells: Vec<i64> = boxes.iter().map(|b| b.0).collect();
        let last_cells: Vec<i64> = boxes.iter().map(|b| b.1).collect();
        let lat_lo: Vec<f64> = boxes.iter().map(|b| b.2).collect();
        let lat_hi: Vec<f64> = boxes.iter().map(|b| b.3).collect();
        let lon_lo: Vec<f64> = boxes.iter().map(|b| b.4).collect();
        let lon_hi: Vec<f64> = boxes.iter().map(|b| b.5).collect();
        let index = self.index();
        let categories = index.category_codes();
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT DISTINCT ON (c.id) c.doc
                     FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[],
                                 $8::int8[], $9::int8[])
                          AS b(lat_lo, lat_hi, lon_lo, lon_hi, first_cell, last_cell)
                     JOIN cases c ON c.category = ANY($7)
                      AND c.cell BETWEEN b.first_cell AND b.last_cell
                      AND c.lat BETWEEN b.lat_lo AND b.lat_hi
                      AND c.lon BETWEEN b.lon_lo AND b.lon_hi
                     WHERE cardinality($5::text[]) = 0 OR c.status = ANY($5)
                     LIMIT $6",
                    &[
                        &lat_lo,
                        &lat_hi,
                        &lon_lo,
                        &lon_hi,
                        &names,
                        &(limit.saturating_mul(at.len()) as i64),
                        &categories,
                        &first_cells,
                        &last_cells,
                    ],
                )
                .map_err(pg)?;
            docs(&rows)
        })
    }

    fn first_photos(&self, cases: &[Uuid]) -> StoreResult<HashMap<Uuid, String>> {
        let ids: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT e.case_id, e.event FROM events e WHERE e.seq IN (
                         SELECT MIN(f.seq) FROM case_photos p JOIN events f ON f.op_id = p.op_id
                         WHERE p.case_id = ANY($1)
                         GROUP BY p.case_id)",
                    &[&ids],
                )
                .map_err(pg)?;
            let mut out = HashMap::new();
            for r in &rows {
                let id: String = col(r, 0)?;
                let event: Event = serde_json::from_str(&col::<String>(r, 1)?)?;
                if let (Ok(id), Some(photo)) = (id.parse(), super::first_photo_of(&event)) {
                    out.insert(id, photo);
                }
            }
            Ok(out)
        })
    }

    fn search_cases(&self, text: &str, scope: &CaseFilter, limit: usize) -> StoreResult<Vec<Case>> {
        let like = xuncha_core::search::like_pattern(text);
        // The index narrows to the cases holding every pair of the search
        // (xuncha_core::search); the substring test confirms. A search it cannot answer (one
        // character) scans. The person's scope is in the statement, so the limit counts only
        // what they may see.
        let terms =
            xuncha_core::search::match_query(text).map(|_| xuncha_core::search::term_list(text));
        let mut args: Vec<Box<dyn postgres::types::ToSql + Sync>> = vec![
            Box::new(text.to_string()),
            Box::new(like),
            Box::new(limit as i64),
        ];
        let sql = match terms {
            Some(t) => {
                args.push(Box::new(t));
                let (within, scope_args) = scope.and_clause(args.len(), |n| format!("${n}"));
                args.extend(pg_args(&scope_args));
                format!(
                    "SELECT doc FROM cases
                     WHERE (case_no = $1 OR id = $1
                        OR (search_terms @> $4
                            AND ((doc::jsonb ->> 'description') ILIKE $2
                                 OR (doc::jsonb -> 'location' ->> 'address') ILIKE $2))){within}
                     ORDER BY (case_no = $1 OR id = $1) DESC NULLS LAST, received_ms DESC
                     LIMIT $3"
                )
            }
            None => {
                let (within, scope_args) = scope.and_clause(args.len(), |n| format!("${n}"));
                args.extend(pg_args(&scope_args));
                format!(
                    "SELECT doc FROM cases
                     WHERE (case_no = $1 OR id = $1
                        OR (doc::jsonb ->> 'description') ILIKE $2
                        OR (doc::jsonb -> 'location' ->> 'address') ILIKE $2){within}
                     ORDER BY (case_no = $1 OR id = $1) DESC NULLS LAST, received_ms DESC
                     LIMIT $3"
                )
            }
        };
        self.with(|c| {
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                args.iter().map(|a| a.as_ref()).collect();
            docs(&c.query(sql.as_str(), &params).map_err(pg)?)
        })
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
        self.with(|c| {
            // One snapshot for every statement.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg)?;
            let mut texts = |q: &str, p: &[&(dyn postgres::types::ToSql + Sync)]| {
                tx.query(q, p)
                    .map_err(pg)?
                    .iter()
                    .map(|r| col::<String>(r, 0))
                    .collect::<StoreResult<Vec<String>>>()
            };
            let units = texts(&sql.units, &[])?;
            let sites = texts(&sql.sites, &[&from_ms, &to_ms])?;
            let mut facts = Assemble::new();
            for r in tx.query(&sql.ranked, &[&from_ms, &to_ms]).map_err(pg)? {
                let step = match col::<Option<String>>(&r, 5)? {
                    Some(a) => Some(Step {
                        action: period::action(&a)?,
                        at_ms: col(&r, 6)?,
                    }),
                    None => None,
                };
                let case = || -> StoreResult<CaseFacts> {
                    Ok(CaseFacts {
                        unit_id: col(&r, 1)?,
                        area_id: col(&r, 7)?,
                        status: period::status(&col::<String>(&r, 2)?)?,
                        deadline_ms: col(&r, 3)?,
                        extension_count: col::<i32>(&r, 4)?.max(0) as u32,
                        found_by: Finder::of(
                            &col::<String>(&r, 8)?,
                            col::<Option<String>>(&r, 9)?.as_deref(),
                            &index.areas,
                        ),
                        steps: Vec::new(),
                    })
                };
                facts.ranked_row(col(&r, 0)?, case, step)?;
            }
            for r in tx
                .query(&sql.days, &[&days_from_ms, &days_to_ms])
                .map_err(pg)?
            {
                let event = match col::<Option<String>>(&r, 4)? {
                    Some(a) => Some((
                        col(&r, 3)?,
                        period::action(&a)?,
                        period::status(&col::<String>(&r, 5)?)?,
                    )),
                    None => None,
                };
                let case = || -> StoreResult<DayFacts> {
                    Ok(DayFacts {
                        unit_id: col(&r, 6)?,
                        area_id: col(&r, 7)?,
                        received_ms: col(&r, 1)?,
                        deadline_ms: col(&r, 2)?,
                        events: Vec::new(),
                    })
                };
                facts.day_row(col(&r, 0)?, case, event)?;
            }
            Ok(facts.finish(units, sites))
        })
    }

    fn repeated_at_sites(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Case>> {
        let sql = PeriodSql::new().repeats;
        self.with(|c| docs(&c.query(sql.as_str(), &[&from_ms, &to_ms]).map_err(pg)?))
    }

    fn cases_with_timelines(&self) -> StoreResult<Vec<(Case, Vec<Event>)>> {
        self.with(|c| {
            // Two scans in one snapshot, not one query per case.
            let mut tx = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(pg)?;
            let mut by_case: HashMap<String, Vec<Event>> = HashMap::new();
            for r in tx
                .query("SELECT case_id, event FROM events ORDER BY seq", &[])
                .map_err(pg)?
            {
                let event: Event = serde_json::from_str(&col::<String>(&r, 1)?)?;
                by_case.entry(col(&r, 0)?).or_default().push(event);
            }
            let mut out = Vec::new();
            for r in tx
                .query("SELECT id, doc FROM cases ORDER BY received_ms", &[])
                .map_err(pg)?
            {
                let id: String = col(&r, 0)?;
                let case: Case = serde_json::from_str(&col::<String>(&r, 1)?)?;
                out.push((case, by_case.remove(&id).unwrap_or_default()));
            }
            tx.commit().map_err(pg)?;
            Ok(out)
        })
    }

    fn reference_index(&self) -> Arc<ReferenceIndex> {
        self.index()
    }

    fn timeline(&self, id: Uuid) -> StoreResult<Vec<Event>> {
        self.with(|c| {
            docs(
                &c.query(
                    "SELECT event FROM events WHERE case_id = $1 ORDER BY seq",
                    &[&id.to_string()],
                )
                .map_err(pg)?,
            )
        })
    }

    fn feed_seq(&self) -> StoreResult<i64> {
        self.with(|c| {
            let r = c
                .query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events", &[])
                .map_err(pg)?;
            col::<i64>(&r, 0)
        })
    }

    fn stats(&self) -> StoreResult<StoreStats> {
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM cases), (SELECT COUNT(*) FROM events),
                            (SELECT COUNT(*) FROM photos)",
                    &[],
                )
                .map_err(pg)?;
            Ok(StoreStats {
                cases: col::<i64>(&r, 0)? as u64,
                events: col::<i64>(&r, 1)? as u64,
                photos: col::<i64>(&r, 2)? as u64,
            })
        })
    }
}
