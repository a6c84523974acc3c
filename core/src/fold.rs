//! The merge rules: how one operation changes a case. The device (optimistic local view, and
//! rebase after a pull) and the server (authoritative apply) both call [`apply`]; a case row is
//! always the fold of its events, so recomputing it from the timeline gives the same row.
//!
//! - Transitions are checked against [`crate::workflow`] and accepted in the order applied.
//! - Field edits merge last-writer-wins per field by HLC.
//! - Comments, events and photos are append-only and never conflict.

use crate::error::{Error, Result};
use crate::limits;
use crate::model::{Actor, Case, CaseEdit, Event, ExtensionRequest, Op, OpBody, PhotoKind};
use crate::workflow::{self, Action, Requirement, Status};

/// What the applier knows beyond the operation itself.
#[derive(Debug, Clone, Default)]
pub struct ApplyContext {
    /// Server receipt time (None on a device before sync).
    pub server_time_ms: Option<i64>,
    /// Case number to give on registration (the server's; None on a device).
    pub case_no: Option<String>,
    /// Probable duplicates of a new report (the server's finding; empty on a device).
    pub probable_duplicates: Vec<uuid::Uuid>,
    /// How far ahead a deadline may be set ([`crate::limits::DEADLINE_HORIZON_MS`] when None;
    /// a server may configure its own).
    pub deadline_horizon_ms: Option<i64>,
}

/// Check `op` against the table and the case, and return the new case and its timeline event.
/// Pure: nothing changes if it fails.
pub fn apply(case: Option<&Case>, op: &Op, ctx: &ApplyContext) -> Result<(Case, Event)> {
    let action = op.body.action();
    let from = case.map(|c| c.status);
    if case.is_some() && action == Action::Report {
        return Err(Error::CaseExists(op.case_id.to_string()));
    }
    let transition = workflow::check(from, action, op.actor.role)?;
    for &req in transition.requires {
        check_requirement(req, case, op)?;
    }
    limits::check_body(&op.body)?;
    let now = ctx
        .server_time_ms
        .unwrap_or_else(|| i64::try_from(op.hlc.wall_ms).unwrap_or(i64::MAX));
    let horizon = ctx
        .deadline_horizon_ms
        .unwrap_or(limits::DEADLINE_HORIZON_MS);
    limits::check_deadline(case, op, now, horizon)?;
    let to = transition.target(from);
    let mut next = match (case, &op.body) {
        (None, body) => new_case(op, body)?,
        (Some(c), _) => c.clone(),
    };
    if let Some(c) = case {
        apply_effects(&mut next, c, op, ctx)?;
    } else {
        next.server_received_at_ms = ctx.server_time_ms;
        next.probable_duplicates = ctx.probable_duplicates.clone();
    }
    next.status = to;
    if !matches!(to, Status::Dispatched | Status::InProgress) {
        next.pending_extension = None;
    }
    if op.hlc > next.updated_hlc {
        next.updated_hlc = op.hlc;
    }
    next.updated_at_ms = op.device_time_ms;
    let event = Event {
        op: op.clone(),
        from_status: from,
        to_status: to,
        server_time_ms: ctx.server_time_ms,
        case_no: if action == Action::Register {
            ctx.case_no.clone()
        } else {
            None
        },
        server_seq: None,
        probable_duplicates: if case.is_none() {
            ctx.probable_duplicates.clone()
        } else {
            Vec::new()
        },
    };
    Ok((next, event))
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn has_photo(op: &Op, kind: PhotoKind) -> bool {
    op.body.photos().iter().any(|p| p.kind == kind)
}

/// Whether a condition of the case and the actor holds (for inputs, see [`check_requirement`]):
/// decides both whether an action is offered ([`available_actions`]) and whether it is accepted.
pub fn condition_holds(req: Requirement, case: Option<&Case>, actor: &Actor) -> bool {
    match req {
        Requirement::OwnUnit => case.is_some_and(|c| {
            c.unit_id.is_some() && c.unit_id.as_deref() == actor.unit_id.as_deref()
        }),
        Requirement::OwnReport => case.is_some_and(|c| c.reporter_id == actor.user_id),
        Requirement::PendingExtension => case.is_some_and(|c| c.pending_extension.is_some()),
        Requirement::NoPendingExtension => case.is_some_and(|c| c.pending_extension.is_none()),
        // Inputs are the person's to give, not the case's to hold.
        _ => true,
    }
}

fn check_requirement(req: Requirement, case: Option<&Case>, op: &Op) -> Result<()> {
    let ok = match req {
        Requirement::Reason => op.body.reason().is_some_and(|r| !blank(r)),
        Requirement::Unit => match &op.body {
            OpBody::Dispatch { unit_id, .. } => !blank(unit_id),
            _ => case.is_some_and(|c| c.unit_id.is_some()),
        },
        Requirement::Deadline => op.body.deadline_ms().is_some(),
        Requirement::NewDeadline => match &op.body {
            OpBody::RequestExtension {
                until_ms: Some(u), ..
            } => case.and_then(|c| c.deadline_ms).is_none_or(|d| *u > d),
            _ => false,
        },
        Requirement::AfterPhoto => has_photo(op, PhotoKind::After),
        Requirement::VerifyPhoto => has_photo(op, PhotoKind::Verify),
        Requirement::DuplicateTarget => match &op.body {
            OpBody::MarkDuplicate {
                duplicate_of: Some(target),
                ..
            } => *target != op.case_id,
            _ => false,
        },
        Requirement::OwnUnit | Requirement::OwnReport => {
            if !condition_holds(req, case, &op.actor) {
                return Err(Error::NotInScope {
                    case_id: op.case_id.to_string(),
                });
            }
            true
        }
        Requirement::PendingExtension | Requirement::NoPendingExtension => {
            condition_holds(req, case, &op.actor)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::RequirementMissing {
            action: op.body.action(),
            requirement: req,
        })
    }
}

/// Fields of a report that an edit may change later; their HLCs start at the report's.
pub const EDITABLE_FIELDS: &[&str] = &[
    "category",
    "description",
    "location",
    "site_id",
    "campaign_id",
];

fn new_case(op: &Op, body: &OpBody) -> Result<Case> {
    let OpBody::Report {
        category,
        description,
        location,
        site_id,
        grid_id,
        suggested_unit_id,
        campaign_id,
        undercover,
        photos: _,
    } = body
    else {
        return Err(Error::NotFound {
            kind: "case",
            id: op.case_id.to_string(),
        });
    };
    validate_category_code(category)?;
    location.point().validate()?;
    Ok(Case {
        id: op.case_id,
        case_no: None,
        category: category.clone(),
        description: description.clone(),
        location: location.clone(),
        site_id: site_id.clone(),
        grid_id: grid_id.clone(),
        area_id: None,
        suggested_unit_id: suggested_unit_id.clone(),
        reporter_id: op.actor.user_id.clone(),
        unit_id: None,
        deadline_set_ms: None,
        deadline_ms: None,
        status: Status::Submitted,
        rework_count: 0,
        escalations: 0,
        extension_count: 0,
        pending_extension: None,
        duplicate_of: None,
        campaign_id: campaign_id.clone(),
        undercover: *undercover,
        reported_at_ms: op.device_time_ms,
        reported_hlc: op.hlc,
        updated_hlc: op.hlc,
        updated_at_ms: op.device_time_ms,
        server_received_at_ms: None,
        probable_duplicates: Vec::new(),
        checked: None,
        // Fields not in the map were last written by the report itself.
        field_hlc: Default::default(),
    })
}

/// A category code must be exactly four ASCII digits: 大类 2 + 小类 2.
pub fn validate_category_code(code: &str) -> Result<()> {
    if code.is_empty() {
        return Err(Error::MissingField("category"));
    }
    if code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidCategoryCode(code.to_string()))
    }
}

fn apply_effects(next: &mut Case, before: &Case, op: &Op, ctx: &ApplyContext) -> Result<()> {
    match &op.body {
        OpBody::Report { .. } => {}
        OpBody::Edit { changes } => apply_edit(next, changes, op)?,
        OpBody::Comment { text, photos } => {
            if blank(text) && photos.is_empty() {
                return Err(Error::MissingField("text"));
            }
        }
        OpBody::Register { .. } => {
            if ctx.case_no.is_some() {
                next.case_no = ctx.case_no.clone();
            }
        }
        OpBody::Reject { .. } | OpBody::Acknowledge { .. } | OpBody::Rectify { .. } => {}
        OpBody::RequestReturn { .. } | OpBody::RefuseReturn { .. } | OpBody::Urge { .. } => {}
        OpBody::Escalate { .. } => next.escalations += 1,
        // Not a case's move: `round.rs` decides it and the table has no row for it.
        OpBody::CheckSite { .. } | OpBody::Recheck { .. } => {}
        OpBody::VerifyPass { .. } | OpBody::Park { .. } | OpBody::RefuseExtension { .. } => {
            next.pending_extension = None;
        }
        OpBody::MarkDuplicate { duplicate_of, .. } => next.duplicate_of = *duplicate_of,
        OpBody::Dispatch {
            unit_id,
            deadline_ms,
            ..
        } => {
            next.unit_id = Some(unit_id.clone());
            next.deadline_ms = *deadline_ms;
            next.pending_extension = None;
        }
        OpBody::GrantReturn { .. } => {
            next.unit_id = None;
            next.deadline_ms = None;
        }
        OpBody::RequestExtension { reason, until_ms } => {
            next.pending_extension = until_ms.map(|u| ExtensionRequest {
                until_ms: u,
                reason: reason.clone(),
                requested_by: op.actor.user_id.clone(),
            });
        }
        OpBody::GrantExtension { until_ms, .. } => {
            let granted = until_ms.or(before.pending_extension.as_ref().map(|p| p.until_ms));
            next.deadline_ms = granted.or(before.deadline_ms);
            next.extension_count += 1;
            next.pending_extension = None;
        }
        OpBody::VerifyFail { deadline_ms, .. } => {
            next.rework_count += 1;
            next.deadline_ms = *deadline_ms;
        }
        OpBody::Reopen { deadline_ms, .. } => next.deadline_ms = *deadline_ms,
    }
    if next.deadline_ms != before.deadline_ms {
        next.deadline_set_ms = next
            .deadline_ms
            .map(|_| ctx.server_time_ms.unwrap_or(op.device_time_ms));
    }
    Ok(())
}

fn apply_edit(next: &mut Case, changes: &CaseEdit, op: &Op) -> Result<()> {
    if changes.is_empty() {
        return Err(Error::MissingField("changes"));
    }
    if let Some(c) = &changes.category {
        validate_category_code(c)?;
    }
    if let Some(l) = &changes.location {
        l.point().validate()?;
    }
    let reported = next.reported_hlc;
    let mut newer = |field: &str| {
        let last = next.field_hlc.get(field).copied().unwrap_or(reported);
        let wins = op.hlc > last;
        if wins {
            next.field_hlc.insert(field.to_string(), op.hlc);
        }
        wins
    };
    let set_category = changes.category.is_some() && newer("category");
    let set_description = changes.description.is_some() && newer("description");
    let set_location = changes.location.is_some() && newer("location");
    let set_site = changes.site_id.is_some() && newer("site_id");
    let set_campaign = changes.campaign_id.is_some() && newer("campaign_id");
    if set_category {
        next.category = changes.category.clone().unwrap_or_default();
    }
    if set_description {
        next.description = changes.description.clone().unwrap_or_default();
    }
    if set_location && let Some(l) = &changes.location {
        next.location = l.clone();
    }
    if set_site {
        next.site_id = changes.site_id.clone();
    }
    if set_campaign {
        next.campaign_id = changes.campaign_id.clone();
    }
    Ok(())
}

/// The transitions `actor` may take on `case` now: the table's rows for the status and role whose
/// conditions (own unit, own report, pending request) hold. Each row's [`Transition::inputs`] say
/// what its form must ask for; every UI renders its forms from them.
pub fn available_actions(case: &Case, actor: &Actor) -> Vec<&'static workflow::Transition> {
    workflow::table()
        .iter()
        .filter(|t| t.from == Some(case.status) && t.role == actor.role)
        .filter(|t| {
            t.conditions()
                .all(|r| condition_holds(r, Some(case), actor))
        })
        .collect()
}
