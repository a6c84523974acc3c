//! [`RoundRecords`] on SQLite, and the round lookups of a push (`sqlite.rs`'s `PushTx`).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;
use xuncha_core::round::{Round, Task};

use super::StoreResult;
use super::round_records::RoundRecords;
use super::sqlite::SqliteStore;

/// A round by id.
pub(super) fn load_round(conn: &Connection, id: Uuid) -> StoreResult<Option<Round>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM rounds WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(doc.map(|d| serde_json::from_str(&d)).transpose()?)
}

/// A task by id, with its round.
pub(super) fn load_task(conn: &Connection, id: Uuid) -> StoreResult<Option<(Round, Task)>> {
    let row: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT r.doc, t.doc FROM round_tasks t JOIN rounds r ON r.id = t.round_id
             WHERE t.id = ?1",
        )?
        .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(r, t)| Ok((serde_json::from_str(&r)?, serde_json::from_str(&t)?)))
        .transpose()
}

/// Store a task's new document (its result).
pub(super) fn save_task(conn: &Connection, task: &Task) -> StoreResult<()> {
    conn.prepare_cached("UPDATE round_tasks SET doc = ?2, done = ?3 WHERE id = ?1")?
        .execute(params![
            task.id.to_string(),
            serde_json::to_string(task)?,
            task.result.is_some()
        ])?;
    Ok(())
}

/// Rounds with their tasks from rows of `(round doc, task doc)` that come by round.
fn rounds_with_tasks(
    conn: &Connection,
    sql: &str,
    args: &[i64],
) -> StoreResult<Vec<(Round, Vec<Task>)>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    super::round_records::group_by_round(rows)
}

impl RoundRecords for SqliteStore {
    fn plan_round(&self, round: &Round, tasks: &[Task]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO rounds (id, doc, planned_ms, closed_ms, sealed, reported_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                round.id.to_string(),
                serde_json::to_string(round)?,
                round.planned_ms,
                round.closed_ms,
                round.sealed(),
                round.reported_ms()
            ],
        )?;
        {
            let mut task_row = tx.prepare_cached(
                "INSERT INTO round_tasks (id, round_id, pos, doc, done) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut member = tx.prepare_cached(
                "INSERT OR IGNORE INTO round_team (user_id, task_id) VALUES (?1, ?2)",
            )?;
            for (pos, t) in tasks.iter().enumerate() {
                let id = t.id.to_string();
                task_row.execute(params![
                    id,
                    round.id.to_string(),
                    pos as i64,
                    serde_json::to_string(t)?,
                    t.result.is_some()
                ])?;
                for user in &t.team {
                    member.execute(params![user, id])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn save_round(&self, round: &Round) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE rounds SET doc = ?2, closed_ms = ?3, sealed = ?4, reported_ms = ?5
             WHERE id = ?1",
            params![
                round.id.to_string(),
                serde_json::to_string(round)?,
                round.closed_ms,
                round.sealed(),
                round.reported_ms()
            ],
        )?;
        Ok(())
    }

    fn round(&self, id: Uuid) -> StoreResult<Option<(Round, Vec<Task>)>> {
        self.with_reader(|conn| {
            let Some(round) = load_round(conn, id)? else {
                return Ok(None);
            };
            let mut st = conn
                .prepare_cached("SELECT doc FROM round_tasks WHERE round_id = ?1 ORDER BY pos")?;
            let docs = st
                .query_map([id.to_string()], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let tasks = docs
                .iter()
                .map(|d| serde_json::from_str(d))
                .collect::<Result<Vec<Task>, _>>()?;
            Ok(Some((round, tasks)))
        })
    }

    fn rounds(&self, limit: usize) -> StoreResult<Vec<Round>> {
        self.with_reader(|conn| {
            let mut st = conn
                .prepare_cached("SELECT doc FROM rounds ORDER BY planned_ms DESC, id LIMIT ?1")?;
            let docs = st
                .query_map([limit as i64], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(docs
                .iter()
                .map(|d| serde_json::from_str(d))
                .collect::<Result<Vec<Round>, _>>()?)
        })
    }

    fn recent_rounds(&self, limit: usize) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with_reader(|conn| {
            rounds_with_tasks(
                conn,
                "SELECT r.doc, t.doc
                 FROM (SELECT id, doc, planned_ms FROM rounds
                       ORDER BY planned_ms DESC, id LIMIT ?1) r
                 JOIN round_tasks t ON t.round_id = r.id
                 ORDER BY r.planned_ms DESC, r.id, t.pos",
                &[limit as i64],
            )
        })
    }

    fn done_tasks_planned(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with_reader(|conn| {
            rounds_with_tasks(
                conn,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.planned_ms >= ?1 AND r.planned_ms < ?2 AND t.done = 1
                 ORDER BY r.planned_ms, r.id, t.pos",
                &[from_ms, to_ms],
            )
        })
    }

    fn sealed_rounds(&self) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with_reader(|conn| {
            rounds_with_tasks(
                conn,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.sealed = 1 ORDER BY r.planned_ms, r.id, t.pos",
                &[],
            )
        })
    }

    fn rounds_reported(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with_reader(|conn| {
            rounds_with_tasks(
                conn,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.reported_ms >= ?1 AND r.reported_ms < ?2
                 ORDER BY r.reported_ms, r.id, t.pos",
                &[from_ms, to_ms],
            )
        })
    }

    fn tasks_of(&self, user: &str) -> StoreResult<Vec<(Round, Task)>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT r.doc, t.doc FROM round_team m
                 JOIN round_tasks t ON t.id = m.task_id
                 JOIN rounds r ON r.id = t.round_id
                 WHERE m.user_id = ?1 AND r.closed_ms IS NULL
                 ORDER BY r.planned_ms, r.id, t.pos",
            )?;
            let rows = st
                .query_map([user], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.iter()
                .map(|(r, t)| Ok((serde_json::from_str(r)?, serde_json::from_str(t)?)))
                .collect()
        })
    }
}
