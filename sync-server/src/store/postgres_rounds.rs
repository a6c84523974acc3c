//! [`RoundRecords`] on PostgreSQL, and the round lookups of a push (`postgres.rs`'s `PushTx`).

use postgres::Row;
use uuid::Uuid;
use xuncha_core::round::{Round, Task};

use super::StoreResult;
use super::postgres::{PostgresStore, Sql, col, first, pg};
use super::round_records::{RoundRecords, group_by_round};

fn docs<T: serde::de::DeserializeOwned>(rows: &[Row]) -> StoreResult<Vec<T>> {
    rows.iter()
        .map(|r| Ok(serde_json::from_str(&col::<String>(r, 0)?)?))
        .collect()
}

/// A round by id.
pub(super) fn load_round(c: &mut impl Sql, id: Uuid) -> StoreResult<Option<Round>> {
    first(
        c,
        "SELECT doc FROM rounds WHERE id = $1",
        &[&id.to_string()],
    )?
    .map(|r| Ok(serde_json::from_str(&col::<String>(&r, 0)?)?))
    .transpose()
}

/// A task by id, with its round.
pub(super) fn load_task(c: &mut impl Sql, id: Uuid) -> StoreResult<Option<(Round, Task)>> {
    first(
        c,
        "SELECT r.doc, t.doc FROM round_tasks t JOIN rounds r ON r.id = t.round_id
         WHERE t.id = $1",
        &[&id.to_string()],
    )?
    .map(|r| {
        Ok((
            serde_json::from_str(&col::<String>(&r, 0)?)?,
            serde_json::from_str(&col::<String>(&r, 1)?)?,
        ))
    })
    .transpose()
}

/// Store a task's new document (its result).
pub(super) fn save_task(c: &mut impl Sql, task: &Task) -> StoreResult<()> {
    c.exec(
        "UPDATE round_tasks SET doc = $2, done = $3 WHERE id = $1",
        &[
            &task.id.to_string(),
            &serde_json::to_string(task)?,
            &task.result.is_some(),
        ],
    )?;
    Ok(())
}

/// Rounds with their tasks from `sql`'s rows of `(round doc, task doc)`, which come by round.
fn rounds_with_tasks(
    c: &mut postgres::Client,
    sql: &str,
    args: &[&(dyn postgres::types::ToSql + Sync)],
) -> StoreResult<Vec<(Round, Vec<Task>)>> {
    let rows = c.query(sql, args).map_err(pg)?;
    let pairs = rows
        .iter()
        .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
        .collect::<StoreResult<Vec<(String, String)>>>()?;
    group_by_round(pairs)
}

impl RoundRecords for PostgresStore {
    fn plan_round(&self, round: &Round, tasks: &[Task]) -> StoreResult<()> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute(
                "INSERT INTO rounds (id, doc, planned_ms, closed_ms, sealed, reported_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &round.id.to_string(),
                    &serde_json::to_string(round)?,
                    &round.planned_ms,
                    &round.closed_ms,
                    &round.sealed(),
                    &round.reported_ms(),
                ],
            )
            .map_err(pg)?;
            for (pos, t) in tasks.iter().enumerate() {
                let id = t.id.to_string();
                tx.execute(
                    "INSERT INTO round_tasks (id, round_id, pos, doc, done)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &id,
                        &round.id.to_string(),
                        &(pos as i32),
                        &serde_json::to_string(t)?,
                        &t.result.is_some(),
                    ],
                )
                .map_err(pg)?;
                for user in &t.team {
                    tx.execute(
                        "INSERT INTO round_team (user_id, task_id) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                        &[user, &id],
                    )
                    .map_err(pg)?;
                }
            }
            tx.commit().map_err(pg)
        })
    }

    fn save_round(&self, round: &Round) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE rounds SET doc = $2, closed_ms = $3, sealed = $4, reported_ms = $5
                 WHERE id = $1",
                &[
                    &round.id.to_string(),
                    &serde_json::to_string(round)?,
                    &round.closed_ms,
                    &round.sealed(),
                    &round.reported_ms(),
                ],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn round(&self, id: Uuid) -> StoreResult<Option<(Round, Vec<Task>)>> {
        self.with(|c| {
            let Some(round) = load_round(c, id)? else {
                return Ok(None);
            };
            let rows = c
                .query(
                    "SELECT doc FROM round_tasks WHERE round_id = $1 ORDER BY pos",
                    &[&id.to_string()],
                )
                .map_err(pg)?;
            Ok(Some((round, docs(&rows)?)))
        })
    }

    fn rounds(&self, limit: usize) -> StoreResult<Vec<Round>> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT doc FROM rounds ORDER BY planned_ms DESC, id LIMIT $1",
                    &[&(limit as i64)],
                )
                .map_err(pg)?;
            docs(&rows)
        })
    }

    fn recent_rounds(&self, limit: usize) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with(|c| {
            rounds_with_tasks(
                c,
                "SELECT r.doc, t.doc
                 FROM (SELECT id, doc, planned_ms FROM rounds
                       ORDER BY planned_ms DESC, id LIMIT $1) r
                 JOIN round_tasks t ON t.round_id = r.id
                 ORDER BY r.planned_ms DESC, r.id, t.pos",
                &[&(limit as i64)],
            )
        })
    }

    fn done_tasks_planned(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with(|c| {
            rounds_with_tasks(
                c,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.planned_ms >= $1 AND r.planned_ms < $2 AND t.done
                 ORDER BY r.planned_ms, r.id, t.pos",
                &[&from_ms, &to_ms],
            )
        })
    }

    fn sealed_rounds(&self) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with(|c| {
            rounds_with_tasks(
                c,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.sealed ORDER BY r.planned_ms, r.id, t.pos",
                &[],
            )
        })
    }

    fn rounds_reported(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>> {
        self.with(|c| {
            rounds_with_tasks(
                c,
                "SELECT r.doc, t.doc FROM rounds r JOIN round_tasks t ON t.round_id = r.id
                 WHERE r.reported_ms >= $1 AND r.reported_ms < $2
                 ORDER BY r.reported_ms, r.id, t.pos",
                &[&from_ms, &to_ms],
            )
        })
    }

    fn tasks_of(&self, user: &str) -> StoreResult<Vec<(Round, Task)>> {
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT r.doc, t.doc FROM round_team m
                     JOIN round_tasks t ON t.id = m.task_id
                     JOIN rounds r ON r.id = t.round_id
                     WHERE m.user_id = $1 AND r.closed_ms IS NULL
                     ORDER BY r.planned_ms, r.id, t.pos",
                    &[&user],
                )
                .map_err(pg)?;
            rows.iter()
                .map(|r| {
                    Ok((
                        serde_json::from_str(&col::<String>(r, 0)?)?,
                        serde_json::from_str(&col::<String>(r, 1)?)?,
                    ))
                })
                .collect()
        })
    }
}
