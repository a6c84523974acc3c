//! Inspection rounds as the server keeps them (issue 17; the rules are core's `round`): each
//! round's document, its tasks with their results, and each task's team, so a phone's pull of
//! "my tasks" is one indexed lookup. A task's result is written by the push that submits it
//! (inside the push transaction: [`crate::apply::PushTx::finish_task`]).

use uuid::Uuid;
use xuncha_core::round::{Round, Task};

use super::StoreResult;

/// Round bookkeeping of a backend.
pub trait RoundRecords {
    /// Keep a new round with its tasks (and their teams): all or nothing. A round whose id is
    /// taken is an error that changes nothing.
    fn plan_round(&self, round: &Round, tasks: &[Task]) -> StoreResult<()>;
    /// Replace a round's document (published, closed).
    fn save_round(&self, round: &Round) -> StoreResult<()>;
    /// A round and its tasks (in planning order).
    fn round(&self, id: Uuid) -> StoreResult<Option<(Round, Vec<Task>)>>;
    /// Every round, newest first, at most `limit`.
    fn rounds(&self, limit: usize) -> StoreResult<Vec<Round>>;
    /// The newest `limit` rounds with their tasks, newest first: one query.
    fn recent_rounds(&self, limit: usize) -> StoreResult<Vec<(Round, Vec<Task>)>>;
    /// The rounds planned in `[from_ms, to_ms)` with their done tasks only (a coverage
    /// period's question: which sites were checked), by round: one query.
    fn done_tasks_planned(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>>;
    /// Every sealed round (core's [`Round::sealed`]: a 暗访 not yet published) with its tasks,
    /// oldest first: one indexed lookup, however many rounds there are.
    fn sealed_rounds(&self) -> StoreResult<Vec<(Round, Vec<Task>)>>;
    /// The rounds whose results came out in `[from_ms, to_ms)` (core's
    /// [`Round::reported_ms`]) with their tasks, in that order.
    fn rounds_reported(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(Round, Vec<Task>)>>;
    /// The tasks of rounds not yet closed whose team `user` is on, with their rounds (done ones
    /// too, so a phone shows what its team did), by round then planning order.
    fn tasks_of(&self, user: &str) -> StoreResult<Vec<(Round, Task)>>;
}

/// Rounds with their tasks from `(round doc, task doc)` rows that come by round, in that order
/// (a round without tasks has no row: every plan has at least one task).
pub(super) fn group_by_round(
    rows: impl IntoIterator<Item = (String, String)>,
) -> StoreResult<Vec<(Round, Vec<Task>)>> {
    let mut out: Vec<(Round, Vec<Task>)> = Vec::new();
    let mut last: Option<String> = None;
    for (round, task) in rows {
        if last.as_deref() != Some(round.as_str()) {
            out.push((serde_json::from_str(&round)?, Vec::new()));
            last = Some(round);
        }
        if let Some((_, tasks)) = out.last_mut() {
            tasks.push(serde_json::from_str(&task)?);
        }
    }
    Ok(out)
}
