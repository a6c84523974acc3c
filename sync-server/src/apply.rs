//! Applying a device's pushed operations: idempotency, identity, scope, reference checks and the
//! transition table (through `xuncha_core::fold`, the same rules the device used). Written once
//! over [`PushTx`] so every storage backend applies operations identically.

use std::collections::{HashMap, HashSet};

use chrono::Datelike;
use uuid::Uuid;
use xuncha_core::Lang;
use xuncha_core::fold::{self, ApplyContext};
use xuncha_core::geo::{LatLon, bounding_box, distance_m};
use xuncha_core::model::{Case, Event, Op, OpBody};
use xuncha_core::reference::ReferenceIndex;
use xuncha_core::round::{Round, Task};
use xuncha_core::scope::Reach;
use xuncha_core::store::is_sha256_hex;
use xuncha_core::sync::protocol::{CLOCK_AHEAD, OpResult, OpStatus};

use crate::store::{Principal, StoreResult};

/// What a backend provides inside the transaction of one push.
pub trait PushTx {
    /// The stored first results of those of `op_ids` that were pushed before.
    fn op_results(&mut self, op_ids: &[Uuid]) -> StoreResult<HashMap<Uuid, OpResult>>;
    /// The current case.
    fn case(&mut self, id: Uuid) -> StoreResult<Option<Case>>;
    /// Open cases of `category` received since `since_ms` inside the box `lo..hi`, with their
    /// positions, at most `limit` (candidates for probable duplicates).
    fn recent_open_cases(
        &mut self,
        category: &str,
        since_ms: i64,
        lo: LatLon,
        hi: LatLon,
        limit: usize,
    ) -> StoreResult<Vec<(Uuid, LatLon)>>;
    /// The next case number (立案号) of the city's `year`.
    fn next_case_no(&mut self, year: i32) -> StoreResult<String>;
    /// Append the event to the feed (setting its `server_seq`) and store the case, which was
    /// `before` (none for a new case; its unit and area are the feed's scope keys before the
    /// change); the event's author has `reach` (the photos it names that they see elsewhere
    /// are theirs to name). Returns the sequence.
    fn append(
        &mut self,
        case: &Case,
        event: &mut Event,
        before: Option<&Case>,
        reach: &Reach,
    ) -> StoreResult<i64>;
    /// A round's task, with its round.
    fn task(&mut self, id: Uuid) -> StoreResult<Option<(Round, Task)>>;
    /// A round.
    fn round(&mut self, id: Uuid) -> StoreResult<Option<Round>>;
    /// Store a task with its result, sent from `device_id`. The result's photos are named by
    /// the task (as a case names its photos), so the unnamed-photo sweep keeps them: a
    /// deduction on a scored-only indicator raises no case to name its photo.
    fn finish_task(&mut self, task: &Task, device_id: &str) -> StoreResult<()>;
    /// Keep the first answer to an operation whose answer is not an event of the feed (a
    /// refusal; an accepted site check).
    fn save_result(&mut self, device_id: &str, result: &OpResult) -> StoreResult<()>;
}

/// The case number (立案号) of the `n`th case registered in `year`.
pub fn case_no(year: i32, n: i64) -> String {
    format!("XC{year}-{n:06}")
}

/// The answer to an accepted operation, rebuilt from its feed row (an accepted operation's
/// answer is its event; only refusals are stored as answers).
pub fn accepted_answer(
    op_id: &str,
    seq: i64,
    case_id: &str,
    server_time_ms: i64,
) -> StoreResult<OpResult> {
    Ok(OpResult {
        op_id: op_id
            .parse()
            .map_err(|_| crate::store::bad_stored_id("op_id", op_id))?,
        case_id: case_id
            .parse()
            .map_err(|_| crate::store::bad_stored_id("case_id", case_id))?,
        status: OpStatus::Accepted,
        code: None,
        reason: None,
        seq: Some(seq),
        server_time_ms,
    })
}

/// A report this close to an open case of the same category is flagged as a probable duplicate.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
/// … if that case was received this recently.
pub const DUPLICATE_WINDOW_MS: i64 = 24 * 3_600_000;
/// At most this many probable duplicates are kept on a report: the nearest.
pub const MAX_PROBABLE_DUPLICATES: usize = 5;
/// At most this many candidates are read for them: the 1,000th report at one spot costs what
/// the first did.
pub const DUPLICATE_CANDIDATES: usize = 64;

/// The server's settings that decide operations beside the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushRules {
    /// An operation stamped more than this ahead of the server's clock is refused with
    /// `clock_ahead` (the device re-stamps it and pushes it again).
    pub max_clock_skew_ms: i64,
    /// How far ahead of now a deadline may be set.
    pub deadline_horizon_ms: i64,
}

impl Default for PushRules {
    fn default() -> Self {
        PushRules {
            max_clock_skew_ms: 10 * 60_000,
            deadline_horizon_ms: xuncha_core::limits::DEADLINE_HORIZON_MS,
        }
    }
}

/// A refusal: a stable code and a reason for a person.
pub(crate) struct Refusal {
    code: String,
    reason: String,
}

impl From<xuncha_core::Error> for Refusal {
    fn from(e: xuncha_core::Error) -> Self {
        Refusal {
            code: e.code().to_string(),
            reason: e.message(Lang::ZhCn),
        }
    }
}

fn refuse(code: &str, reason: &str) -> Refusal {
    Refusal {
        code: code.to_string(),
        reason: reason.to_string(),
    }
}

/// Apply `ops` in order. Storage failures abort the whole batch (nothing is kept, the device
/// retries); refusals are per operation and do not block the operations after them, except those
/// on a case whose report was refused.
pub fn push_batch(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    who: &Principal,
    ops: &[Op],
    now_ms: i64,
    rules: &PushRules,
) -> StoreResult<Vec<OpResult>> {
    let mut refused_reports: HashSet<Uuid> = HashSet::new();
    let mut results = Vec::with_capacity(ops.len());
    // First answers, from earlier pushes and (for an id repeated in this batch) from this one.
    let ids: Vec<Uuid> = ops.iter().map(|op| op.id).collect();
    let mut first_results = tx.op_results(&ids)?;
    let reach = who.reach(index);
    for op in ops {
        if let Some(first) = first_results.get(&op.id) {
            results.push(first.clone());
            continue;
        }
        let action = op.body.action();
        let span = tracing::debug_span!("apply", op = %op.id, case = %op.case_id, %action);
        let _in_op = span.enter();
        let result = match decide(tx, index, who, &reach, op, now_ms, rules, &refused_reports)? {
            Ok(seq) => OpResult {
                op_id: op.id,
                case_id: op.case_id,
                status: OpStatus::Accepted,
                code: None,
                reason: None,
                seq,
                server_time_ms: now_ms,
            },
            Err(refusal) => {
                if matches!(op.body, OpBody::Report { .. }) {
                    refused_reports.insert(op.case_id);
                }
                OpResult {
                    op_id: op.id,
                    case_id: op.case_id,
                    status: OpStatus::Rejected,
                    code: Some(refusal.code),
                    reason: Some(refusal.reason),
                    seq: None,
                    server_time_ms: now_ms,
                }
            }
        };
        log_decision(tx, who, op, &result);
        // A clock refusal is not an answer: the device pushes the same operation again,
        // re-stamped, and that attempt is decided afresh. An accepted case operation's answer
        // is its event in the feed.
        let answer_is_event = result.status == OpStatus::Accepted
            && !matches!(op.body, OpBody::CheckSite { .. } | OpBody::Recheck { .. });
        if result.code.as_deref() != Some(CLOCK_AHEAD) {
            if !answer_is_event {
                tx.save_result(&who.device_id, &result)?;
            }
            first_results.insert(op.id, result.clone());
        }
        results.push(result);
    }
    Ok(results)
}

/// The log of a first decision (a replay is answered from the first one and not logged again):
/// a refused operation once, at `warn`, with its code and the case number if the case has one
/// (inside the request's span, so with its request id); an accepted one at `debug`.
fn log_decision(tx: &mut dyn PushTx, who: &Principal, op: &Op, result: &OpResult) {
    let (user, device) = (who.user.id.as_str(), who.device_id.as_str());
    let action = op.body.action();
    match &result.code {
        Some(code) => {
            let case_no = tx
                .case(op.case_id)
                .ok()
                .flatten()
                .and_then(|c| c.case_no)
                .unwrap_or_default();
            tracing::warn!(op = %op.id, case = %op.case_id, case_no, %action, code, user, device,
                "operation refused");
        }
        None => tracing::debug!(op = %op.id, case = %op.case_id, %action, seq = result.seq,
            "operation applied"),
    }
}

/// Decide one operation: `Ok(Ok(seq))` accepted (with the sequence of its event; none for a
/// site check, whose answer is not an event), `Ok(Err(_))` refused, `Err(_)` storage failure.
#[allow(clippy::too_many_arguments)]
fn decide(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    who: &Principal,
    reach: &Reach,
    op: &Op,
    now_ms: i64,
    rules: &PushRules,
    refused_reports: &HashSet<Uuid>,
) -> StoreResult<Result<Option<i64>, Refusal>> {
    if op.device_id != who.device_id {
        return Ok(Err(refuse(
            "wrong_device",
            "操作来自另一台设备，不能用本设备的登录凭证提交",
        )));
    }
    if op.actor != who.actor() {
        return Ok(Err(refuse(
            "actor_mismatch",
            "操作记录的用户、角色或单位与当前登录用户不一致",
        )));
    }
    // Before anything that depends on order: every later operation of a fast clock is ahead
    // too (its clock is monotonic), so they all come back together, and none is refused for
    // depending on a report that is only waiting to be re-stamped.
    let ahead_ms = i64::try_from(op.hlc.wall_ms)
        .unwrap_or(i64::MAX)
        .saturating_sub(now_ms);
    if ahead_ms > rules.max_clock_skew_ms {
        return Ok(Err(xuncha_core::Error::ClockAhead { ahead_ms }.into()));
    }
    if refused_reports.contains(&op.case_id) {
        return Ok(Err(refuse(
            "depends_on_rejected",
            "该案件的上报已被拒绝，依赖它的操作一并拒绝",
        )));
    }
    if op.body.photos().iter().any(|p| !is_sha256_hex(&p.sha256)) {
        return Ok(Err(refuse(
            "invalid_photo_ref",
            "照片引用不是有效的 SHA-256",
        )));
    }
    if matches!(op.body, OpBody::CheckSite { .. } | OpBody::Recheck { .. }) {
        return crate::round_checks::decide(tx, index, who, op, now_ms, rules);
    }
    let is_report = matches!(op.body, OpBody::Report { .. });
    let case = tx.case(op.case_id)?;
    match (&case, is_report) {
        (Some(_), true) => {
            return Ok(Err(
                xuncha_core::Error::CaseExists(op.case_id.to_string()).into()
            ));
        }
        (None, false) => {
            return Ok(Err(xuncha_core::Error::NotFound {
                kind: "case",
                id: op.case_id.to_string(),
            }
            .into()));
        }
        (Some(c), false) if !reach.can_see(c) => {
            return Ok(Err(xuncha_core::Error::NotInScope {
                case_id: op.case_id.to_string(),
            }
            .into()));
        }
        _ => {}
    }
    if let Err(e) = index.check_op(&op.body) {
        return Ok(Err(e.into()));
    }
    if let OpBody::Dispatch { unit_id, .. } = &op.body
        && !reach.may_dispatch_to(unit_id, index)
    {
        return Ok(Err(xuncha_core::Error::UnitOutOfArea {
            unit_id: unit_id.clone(),
        }
        .into()));
    }
    if let (OpBody::Dispatch { .. }, Some(origin)) =
        (&op.body, case.as_ref().and_then(|c| c.checked.as_ref()))
        && let Some(round) = tx.round(origin.round_id)?
        && let Err(sealed) = round.check_dispatch()
    {
        return Ok(Err(xuncha_core::Error::from(sealed).into()));
    }
    if let OpBody::MarkDuplicate {
        duplicate_of: Some(target),
        ..
    } = &op.body
        && tx.case(*target)?.is_none()
    {
        return Ok(Err(xuncha_core::Error::NotFound {
            kind: "case",
            id: target.to_string(),
        }
        .into()));
    }
    let probable_duplicates = match &op.body {
        OpBody::Report {
            category, location, ..
        } => {
            let (lo, hi) = bounding_box(location.point(), DUPLICATE_RADIUS_M);
            let since = now_ms - DUPLICATE_WINDOW_MS;
            let mut near: Vec<(f64, Uuid)> = tx
                .recent_open_cases(category, since, lo, hi, DUPLICATE_CANDIDATES)?
                .into_iter()
                .map(|(id, at)| (distance_m(at, location.point()), id))
                .filter(|(d, _)| *d <= DUPLICATE_RADIUS_M)
                .collect();
            near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            near.truncate(MAX_PROBABLE_DUPLICATES);
            near.into_iter().map(|(_, id)| id).collect()
        }
        _ => Vec::new(),
    };
    let ctx = ApplyContext {
        server_time_ms: Some(now_ms),
        case_no: None,
        probable_duplicates,
        deadline_horizon_ms: Some(rules.deadline_horizon_ms),
    };
    Ok(
        fold_and_append(tx, index, reach, case.as_ref(), op, &ctx, |_| {})?
            .map(|(_, seq)| Some(seq))
            .map_err(Refusal::from),
    )
}

/// Fold `op` onto `case` with the transition table, place the result in its area, number it
/// when it is registered, let `adjust` set what the server adds (a check's origin), and append
/// it to the feed: the new case and its sequence, or the table's refusal (nothing written).
pub(crate) fn fold_and_append(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    reach: &Reach,
    case: Option<&Case>,
    op: &Op,
    ctx: &ApplyContext,
    adjust: impl FnOnce(&mut Case),
) -> StoreResult<Result<(Case, i64), xuncha_core::Error>> {
    let (mut next, mut event) = match fold::apply(case, op, ctx) {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    next.area_id = index.area_of_place(next.site_id.as_deref(), next.location.point());
    let now_ms = ctx.server_time_ms.unwrap_or(op.device_time_ms);
    if next.case_no.is_none() && matches!(op.body, OpBody::Register { .. }) {
        // Numbered in the city's year (its calendar's time zone) of the registration.
        let no = tx.next_case_no(index.calendar.local_date(now_ms).year())?;
        next.case_no = Some(no.clone());
        event.case_no = Some(no);
    }
    adjust(&mut next);
    let seq = tx.append(&next, &mut event, case, reach)?;
    Ok(Ok((next, seq)))
}
