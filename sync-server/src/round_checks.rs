//! A round's submissions arriving in a push (issue 17; the rules are core's `round`), each
//! decided, kept on its task and carried into the cases in the push's transaction, so a
//! submission is kept with what it does to cases or not at all. Every id is made from the task
//! (and the indicator): a replay or a second instance does nothing twice.
//!
//! - **A site check** raises a case per failed indicator that names a category, at the site:
//!   reported as the inspector who found it, registered by the server and, unless the round is
//!   sealed (暗访 not yet published), dispatched to the site's owner unit with its category's
//!   deadline.
//! - **A re-check** (回头看) adds the inspector's photos and words to the case's timeline; a
//!   recurrence also reopens the case to its unit with the category's deadline, as the server.

use uuid::Uuid;
use xuncha_core::fold::ApplyContext;
use xuncha_core::model::{Case, Location, Op, OpBody, PhotoKind, PhotoRef, name_based_id};
use xuncha_core::reference::{ReferenceIndex, Site};
use xuncha_core::round::{
    self, CheckOrigin, CheckedIndicator, Round, Target, Task, TaskResult, raised_case_id,
};
use xuncha_core::scope::Reach;
use xuncha_core::standard::Indicator;

use crate::apply::{PushRules, PushTx, Refusal, fold_and_append};
use crate::store::{Principal, StoreResult};

/// Decide a `check_site` or `recheck` operation (see the module).
pub(crate) fn decide(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    who: &Principal,
    op: &Op,
    now_ms: i64,
    rules: &PushRules,
) -> StoreResult<Result<Option<i64>, Refusal>> {
    if let Err(e) = xuncha_core::limits::check_body(&op.body) {
        return Ok(Err(e.into()));
    }
    let Some((round, task)) = tx.task(op.case_id)? else {
        return Ok(Err(xuncha_core::Error::NotFound {
            kind: "task",
            id: op.case_id.to_string(),
        }
        .into()));
    };
    let ctx = ApplyContext {
        server_time_ms: Some(now_ms),
        case_no: None,
        probable_duplicates: Vec::new(),
        deadline_horizon_ms: Some(rules.deadline_horizon_ms),
    };
    match &op.body {
        OpBody::CheckSite { .. } => decide_site(tx, index, who, op, round, task, &ctx),
        OpBody::Recheck { .. } => decide_recheck(tx, index, who, op, round, task, &ctx),
        _ => Ok(Err(
            xuncha_core::Error::from(round::Refusal::WrongTask).into()
        )),
    }
}

/// A site check (see the module).
fn decide_site(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    who: &Principal,
    op: &Op,
    round: Round,
    mut task: Task,
    ctx: &ApplyContext,
) -> StoreResult<Result<Option<i64>, Refusal>> {
    let OpBody::CheckSite {
        indicators,
        photos,
        position,
        note,
    } = &op.body
    else {
        return Ok(Err(
            xuncha_core::Error::from(round::Refusal::WrongTask).into()
        ));
    };
    let now_ms = ctx.server_time_ms.unwrap_or(op.device_time_ms);
    let Target::Site { site_id } = &task.target else {
        return Ok(Err(
            xuncha_core::Error::from(round::Refusal::WrongTask).into()
        ));
    };
    let Some(site) = index.site(site_id).cloned() else {
        return Ok(Err(xuncha_core::Error::NotFound {
            kind: "site",
            id: site_id.clone(),
        }
        .into()));
    };
    if let Err(r) = round::check_submission(
        &round,
        &task,
        &who.user.id,
        who.user.role,
        &index.standard,
        &site.kind,
        indicators,
        photos,
    ) {
        return Ok(Err(xuncha_core::Error::from(r).into()));
    }
    let site_point = xuncha_core::geo::LatLon {
        lat: site.lat,
        lon: site.lon,
    };
    task.result = Some(TaskResult {
        indicators: indicators.clone(),
        ..result_of(op, who, now_ms, position, site_point, photos, note)
    });
    // The raised cases' steps go in with the check or not at all: all are tried in memory
    // first (a category the city has since removed, too many photos for one case …), so a
    // refusal leaves nothing written.
    let mut raising = Vec::new();
    for (ind, checked) in round::cases_to_raise(&index.standard, indicators) {
        let steps = raise_steps(
            &round, &task, &site, ind, checked, photos, op, index, now_ms,
        );
        let case_id = round::raised_case_id(task.id, &ind.code);
        if tx.case(case_id)?.is_some() {
            return Ok(Err(
                xuncha_core::Error::CaseExists(case_id.to_string()).into()
            ));
        }
        if let Err(e) = all_apply(None, &steps, ctx) {
            return Ok(Err(e.into()));
        }
        let origin = CheckOrigin {
            round_id: round.id,
            task_id: task.id,
            indicator: ind.code.clone(),
        };
        raising.push((origin, steps));
    }
    for (origin, steps) in raising {
        append_all(tx, index, None, &steps, ctx, |c| {
            c.checked = Some(origin.clone())
        })?;
    }
    tx.finish_task(&task, &op.device_id)?;
    Ok(Ok(None))
}

/// A re-check (see the module).
fn decide_recheck(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    who: &Principal,
    op: &Op,
    round: Round,
    mut task: Task,
    ctx: &ApplyContext,
) -> StoreResult<Result<Option<i64>, Refusal>> {
    let OpBody::Recheck {
        outcome,
        photos,
        position,
        note,
    } = &op.body
    else {
        return Ok(Err(
            xuncha_core::Error::from(round::Refusal::WrongTask).into()
        ));
    };
    if let Err(r) = round::check_recheck(&round, &task, &who.user.id, who.user.role, photos) {
        return Ok(Err(xuncha_core::Error::from(r).into()));
    }
    let Target::Case { case_id } = task.target else {
        return Ok(Err(
            xuncha_core::Error::from(round::Refusal::WrongTask).into()
        ));
    };
    let Some(case) = tx.case(case_id)? else {
        return Ok(Err(xuncha_core::Error::NotFound {
            kind: "case",
            id: case_id.to_string(),
        }
        .into()));
    };
    let now_ms = ctx.server_time_ms.unwrap_or(op.device_time_ms);
    task.result = Some(TaskResult {
        outcome: Some(*outcome),
        ..result_of(
            op,
            who,
            now_ms,
            position,
            case.location.point(),
            photos,
            note,
        )
    });
    let mut words = format!(
        "{}（{}）：{}",
        round.kind.label_zh(),
        round.name,
        outcome.label_zh()
    );
    if !note.trim().is_empty() {
        words.push('。');
        words.push_str(note.trim());
    }
    let mut steps = vec![Op {
        id: name_based_id(&format!("xuncha:recheck-comment:{}", op.id)),
        case_id,
        device_id: op.device_id.clone(),
        actor: op.actor.clone(),
        hlc: op.hlc,
        device_time_ms: op.device_time_ms,
        body: OpBody::Comment {
            text: words
                .chars()
                .take(xuncha_core::limits::TEXT_CHARS)
                .collect(),
            photos: photos
                .iter()
                .map(|p| PhotoRef {
                    kind: PhotoKind::Verify,
                    ..p.clone()
                })
                .collect(),
        },
    }];
    if *outcome == round::RecheckOutcome::Recurred {
        let Ok(deadline) = index.default_deadline(&case.category, now_ms) else {
            return Ok(Err(xuncha_core::Error::UnknownCategory(
                case.category.clone(),
            )
            .into()));
        };
        let reason = format!("{}发现复发（{}）", round.kind.label_zh(), round.name);
        steps.push(crate::watch::system_op(
            name_based_id(&format!("xuncha:recheck-reopen:{}", op.id)),
            case_id,
            now_ms,
            0,
            OpBody::Reopen {
                reason,
                deadline_ms: Some(deadline),
            },
        ));
    }
    // Both steps go in or neither (a case reopened since cannot recur again).
    if let Err(e) = all_apply(Some(&case), &steps, ctx) {
        return Ok(Err(e.into()));
    }
    append_all(tx, index, Some(case), &steps, ctx, |_| {})?;
    tx.finish_task(&task, &op.device_id)?;
    Ok(Ok(None))
}

/// Whether every step applies to `case` in turn (the transition table and the limits, in
/// memory, nothing written).
fn all_apply(
    case: Option<&Case>,
    steps: &[Op],
    ctx: &ApplyContext,
) -> Result<(), xuncha_core::Error> {
    let mut current = case.cloned();
    for step in steps {
        current = Some(xuncha_core::fold::apply(current.as_ref(), step, ctx)?.0);
    }
    Ok(())
}

/// Append `steps` to `case` in turn (each tried by [`all_apply`] first), the server's additions
/// made by `adjust`. A step refused now is a storage-level inconsistency, not a person's
/// mistake: it fails the push, which writes nothing and is answered with an error.
fn append_all(
    tx: &mut dyn PushTx,
    index: &ReferenceIndex,
    case: Option<Case>,
    steps: &[Op],
    ctx: &ApplyContext,
    adjust: impl Fn(&mut Case),
) -> StoreResult<()> {
    let everything = Reach::Everything;
    let mut current = case;
    for step in steps {
        match fold_and_append(tx, index, &everything, current.as_ref(), step, ctx, &adjust)? {
            Ok((next, _)) => current = Some(next),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What a submission leaves on its task: who, when (by the phone and by the server), where the
/// phone stood and how far that was from `place`, its photos and words.
fn result_of(
    op: &Op,
    who: &Principal,
    now_ms: i64,
    position: &Option<Location>,
    place: xuncha_core::geo::LatLon,
    photos: &[PhotoRef],
    note: &str,
) -> TaskResult {
    TaskResult {
        op_id: op.id,
        by: who.user.id.clone(),
        checked_at_ms: op.device_time_ms,
        received_ms: now_ms,
        position: position.clone(),
        distance_m: position.as_ref().map(|p| round::distance_from(p, place)),
        indicators: Vec::new(),
        photos: photos.to_vec(),
        outcome: None,
        note: note.to_string(),
    }
}

/// The operations that raise the case of a failed indicator: the report (as the inspector, on
/// their device, at their time), the registration and — unless the round is sealed or the site
/// has no owner — the dispatch (as the server).
#[allow(clippy::too_many_arguments)]
fn raise_steps(
    round: &Round,
    task: &Task,
    site: &Site,
    ind: &Indicator,
    checked: &CheckedIndicator,
    photos: &[PhotoRef],
    op: &Op,
    index: &ReferenceIndex,
    now_ms: i64,
) -> Vec<Op> {
    let case_id = raised_case_id(task.id, &ind.code);
    let category = ind.category.clone().unwrap_or_default();
    let mut description = format!("【{}】{} {}", round.name, ind.code, ind.text);
    if !checked.note.trim().is_empty() {
        description.push('：');
        description.push_str(checked.note.trim());
    }
    let report = Op {
        id: name_based_id(&format!("xuncha:check-report:{case_id}")),
        case_id,
        device_id: op.device_id.clone(),
        actor: op.actor.clone(),
        hlc: op.hlc,
        device_time_ms: op.device_time_ms,
        body: OpBody::Report {
            category: category.clone(),
            description: description
                .chars()
                .take(xuncha_core::limits::DESCRIPTION_CHARS)
                .collect(),
            location: Location {
                lat: site.lat,
                lon: site.lon,
                accuracy_m: None,
                address: if site.address.is_empty() {
                    site.name.clone()
                } else {
                    site.address.clone()
                },
            },
            site_id: Some(site.id.clone()),
            grid_id: None,
            suggested_unit_id: site.owner_unit_id.clone(),
            campaign_id: None,
            undercover: round.kind == round::RoundKind::Covert,
            photos: photos
                .iter()
                .filter(|p| checked.photos.contains(&p.sha256))
                .map(|p| PhotoRef {
                    kind: PhotoKind::Before,
                    ..p.clone()
                })
                .collect(),
        },
    };
    let mut steps = vec![
        report,
        server_op(
            case_id,
            ("register", 0),
            now_ms,
            OpBody::Register {
                note: format!("{}：{} 点位测评发现", round.kind.label_zh(), round.name),
            },
        ),
    ];
    if !round.sealed()
        && let Some(d) = dispatch_op(case_id, &category, site, index, now_ms)
    {
        steps.push(d);
    }
    steps
}

/// The server's dispatch of a raised case to its site's owner unit, with the category's
/// default deadline from `now_ms`; none for a site without an owner (a supervisor dispatches it
/// by hand) or a category gone from the reference data.
pub fn dispatch_op(
    case_id: Uuid,
    category: &str,
    site: &Site,
    index: &ReferenceIndex,
    now_ms: i64,
) -> Option<Op> {
    let unit_id = site.owner_unit_id.clone()?;
    let deadline = index.default_deadline(category, now_ms).ok()?;
    Some(server_op(
        case_id,
        ("dispatch", 1),
        now_ms,
        OpBody::Dispatch {
            unit_id,
            deadline_ms: Some(deadline),
            note: "测评发现问题，按点位责任单位派遣".into(),
        },
    ))
}

/// The server's `step` on a raised case (with its place among the server's steps on the case,
/// so their clocks are in order), with an id made from the step and the case.
fn server_op(case_id: Uuid, (step, counter): (&str, u32), now_ms: i64, body: OpBody) -> Op {
    crate::watch::system_op(
        name_based_id(&format!("xuncha:check-{step}:{case_id}")),
        case_id,
        now_ms,
        counter,
        body,
    )
}
