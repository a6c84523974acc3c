//! The deadline watch: once a minute the server looks at the cases its units hold past their
//! deadlines and escalates (督办) those whose category says so, by core's rule
//! ([`xuncha_core::escalation::due`]), through the same push path as a person's operation, as
//! the system actor; then it raises the deadline notices (临期, 逾期) due
//! ([`crate::notices::raise::deadlines_once`]). Each escalation's id is made from the case and
//! the level, each notice's from the case and its deadline, so two instances, a retry or a
//! restart never do either twice.

use std::time::Duration;

use uuid::Uuid;

use xuncha_core::escalation::{self, SYSTEM_ACTOR, SYSTEM_ACTOR_NAME, SYSTEM_DEVICE};
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{Actor, Case, Op, OpBody};
use xuncha_core::reference::User;
use xuncha_core::sync::protocol::OpStatus;
use xuncha_core::workflow::Role;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::case_list::CaseFilter;
use crate::store::{Principal, ServerStore};

/// Overdue cases read per step: a watch never holds a reader long.
const BATCH: usize = 500;

/// The HLC node of the server's own operations.
const SYSTEM_NODE: u64 = 0x5845_5256; // "XERV"

/// Who the server acts as: a city-wide supervisor no one signs in as.
pub fn system_principal() -> Principal {
    Principal {
        user: User {
            id: SYSTEM_ACTOR.into(),
            name: SYSTEM_ACTOR_NAME.0.into(),
            role: Role::Supervisor,
            unit_id: None,
            area_id: None,
        },
        device_id: SYSTEM_DEVICE.into(),
    }
}

/// What one watch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watched {
    /// Escalations applied.
    pub escalated: u64,
    /// Deadline notices raised (each person's copy).
    pub warned: usize,
}

/// An operation of the server itself (the system actor on the server's device), stamped
/// `now_ms`: `counter` orders several the server makes on one case in one moment.
pub fn system_op(id: Uuid, case_id: Uuid, now_ms: i64, counter: u32, body: OpBody) -> Op {
    let who = system_principal();
    Op {
        id,
        case_id,
        device_id: who.device_id.clone(),
        actor: Actor {
            user_id: who.user.id.clone(),
            role: who.user.role,
            unit_id: None,
        },
        hlc: Hlc {
            wall_ms: now_ms.max(0) as u64,
            counter,
            node: SYSTEM_NODE,
        },
        device_time_ms: now_ms,
        body,
    }
}

/// The escalation of `case` the server owes it now, as an operation.
fn escalation_op(case: &Case, index: &xuncha_core::reference::ReferenceIndex, now_ms: i64) -> Op {
    system_op(
        escalation::op_id(case.id, case.escalations + 1),
        case.id,
        now_ms,
        0,
        OpBody::Escalate {
            reason: escalation::reason(case, index),
        },
    )
}

/// The escalations the server owes at `now_ms` (core's [`escalation::due`] over the cases
/// held past their deadlines), as operations of the system actor.
pub fn owed_escalations(store: &dyn ServerStore, now_ms: i64) -> xuncha_core::Result<Vec<Op>> {
    let overdue = crate::console::Board::Overdue.filter(&CaseFilter::default(), now_ms);
    let index = store.reference_index();
    let mut ops = Vec::new();
    let mut offset = 0u64;
    loop {
        let page = store.list_cases(&overdue, offset, BATCH)?;
        ops.extend(
            page.iter()
                .filter(|c| escalation::due(c, &index, now_ms))
                .map(|c| escalation_op(c, &index, now_ms)),
        );
        if page.len() < BATCH {
            return Ok(ops);
        }
        offset += BATCH as u64;
    }
}

/// One watch at `now_ms`: the owed escalations pushed like a person's operations.
pub async fn watch_once(state: &AppState, now_ms: i64) -> Result<Watched, ApiError> {
    let mut watched = Watched::default();
    let ops = state.blocking(move |s| owed_escalations(s, now_ms)).await?;
    for chunk in ops.chunks(xuncha_core::limits::OPS_PER_PUSH) {
        let results = state
            .push(system_principal(), chunk.to_vec(), now_ms)
            .await?;
        for r in &results {
            match r.status {
                OpStatus::Accepted => watched.escalated += 1,
                _ => tracing::warn!(case = %r.case_id, code = ?r.code, reason = ?r.reason,
                    "automatic escalation refused"),
            }
        }
    }
    watched.warned = crate::notices::raise::from_deadlines(state, now_ms).await?;
    if watched.escalated > 0 || watched.warned > 0 {
        tracing::info!(
            escalated = watched.escalated,
            warned = watched.warned,
            "deadline watch: cases escalated, deadline notices raised"
        );
    }
    Ok(watched)
}

/// Watch at start and then every minute, until the runtime stops.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = watch_once(&state, state.now_ms()).await {
                tracing::warn!(code = %e.code, error = %e.message_en, "deadline watch failed; next in a minute");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
}
