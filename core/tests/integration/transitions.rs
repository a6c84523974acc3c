//! Every (state, action, role) triple, legal or not, generated from the transition table itself:
//! legal ones must succeed and land in the table's target; each requirement of a legal row, when
//! missing, must fail with its own error; every triple not in the table must fail with
//! `illegal_transition` naming the state, action and role. Nothing is hand-listed.

use std::collections::BTreeMap;

use uuid::Uuid;
use xuncha_core::fold::{ApplyContext, apply};
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{ExtensionRequest, PhotoRef};
use xuncha_core::workflow::{self, Requirement};
use xuncha_core::{
    Action, Actor, Case, CaseEdit, Error, Location, Op, OpBody, PhotoKind, Role, Status,
};

const DEADLINE: i64 = 1_800_000_000_000;
/// When the test operations are made: three days before the case's deadline (deadlines must
/// fall in a sane window after it).
const NOW: i64 = DEADLINE - 3 * 86_400_000;

fn case_in(status: Status, pending_extension: bool) -> Case {
    Case {
        id: Uuid::now_v7(),
        case_no: None,
        category: "0101".into(),
        description: "垃圾".into(),
        location: Location {
            lat: 30.0,
            lon: 120.0,
            accuracy_m: None,
            address: String::new(),
        },
        site_id: None,
        grid_id: None,
        area_id: None,
        suggested_unit_id: None,
        reporter_id: "inspector1".into(),
        unit_id: Some("u1".into()),
        deadline_ms: Some(DEADLINE),
        status,
        deadline_set_ms: None,
        rework_count: 0,
        escalations: 0,
        extension_count: 0,
        pending_extension: pending_extension.then(|| ExtensionRequest {
            until_ms: DEADLINE + 1000,
            reason: "材料未到".into(),
            requested_by: "unit1".into(),
        }),
        duplicate_of: None,
        campaign_id: None,
        undercover: false,
        reported_at_ms: 0,
        reported_hlc: Hlc::default(),
        updated_hlc: Hlc::default(),
        updated_at_ms: 0,
        server_received_at_ms: None,
        probable_duplicates: Vec::new(),
        checked: None,
        field_hlc: BTreeMap::new(),
    }
}

fn actor(role: Role) -> Actor {
    match role {
        Role::Inspector => Actor {
            user_id: "inspector1".into(),
            role,
            unit_id: None,
        },
        Role::Supervisor => Actor {
            user_id: "supervisor1".into(),
            role,
            unit_id: None,
        },
        Role::UnitStaff => Actor {
            user_id: "unit1".into(),
            role,
            unit_id: Some("u1".into()),
        },
        Role::Admin => Actor {
            user_id: "admin".into(),
            role,
            unit_id: None,
        },
    }
}

fn photo(kind: PhotoKind) -> PhotoRef {
    PhotoRef {
        sha256: "ab".repeat(32),
        kind,
        mime: "image/jpeg".into(),
        size: 10,
        captured_at_ms: None,
        location: None,
    }
}

/// A body for `action` that satisfies every requirement any row of the table may ask for.
fn full_body(action: Action) -> OpBody {
    let reason = "原因说明".to_string();
    let loc = Location {
        lat: 30.0,
        lon: 120.0,
        accuracy_m: Some(5.0),
        address: "x".into(),
    };
    match action {
        Action::Report => OpBody::Report {
            category: "0101".into(),
            description: "d".into(),
            location: loc,
            site_id: None,
            grid_id: None,
            suggested_unit_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![photo(PhotoKind::Before)],
        },
        Action::Edit => OpBody::Edit {
            changes: CaseEdit {
                description: Some("new".into()),
                ..CaseEdit::default()
            },
        },
        Action::Comment => OpBody::Comment {
            text: "c".into(),
            photos: vec![],
        },
        Action::Register => OpBody::Register {
            note: String::new(),
        },
        Action::Reject => OpBody::Reject { reason },
        Action::MarkDuplicate => OpBody::MarkDuplicate {
            duplicate_of: Some(Uuid::now_v7()),
            note: String::new(),
        },
        Action::Dispatch => OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: Some(DEADLINE + 5),
            note: String::new(),
        },
        Action::Acknowledge => OpBody::Acknowledge {
            note: String::new(),
        },
        Action::Rectify => OpBody::Rectify {
            note: String::new(),
            photos: vec![photo(PhotoKind::After)],
        },
        Action::RequestReturn => OpBody::RequestReturn { reason },
        Action::GrantReturn => OpBody::GrantReturn {
            note: String::new(),
        },
        Action::RefuseReturn => OpBody::RefuseReturn { reason },
        Action::RequestExtension => OpBody::RequestExtension {
            reason,
            until_ms: Some(DEADLINE + 10_000),
        },
        Action::GrantExtension => OpBody::GrantExtension {
            until_ms: None,
            note: String::new(),
        },
        Action::RefuseExtension => OpBody::RefuseExtension { reason },
        Action::VerifyPass => OpBody::VerifyPass {
            note: String::new(),
            photos: vec![photo(PhotoKind::Verify)],
        },
        Action::VerifyFail => OpBody::VerifyFail {
            reason,
            deadline_ms: Some(DEADLINE + 7),
            photos: vec![photo(PhotoKind::Verify)],
        },
        Action::Reopen => OpBody::Reopen {
            reason,
            deadline_ms: Some(DEADLINE + 9),
        },
        Action::Park => OpBody::Park { reason },
        Action::Urge => OpBody::Urge { reason },
        Action::Escalate => OpBody::Escalate { reason },
        Action::CheckSite => OpBody::CheckSite {
            indicators: vec![],
            photos: vec![],
            position: Some(loc),
            note: reason,
        },
        Action::Recheck => OpBody::Recheck {
            outcome: xuncha_core::round::RecheckOutcome::Held,
            photos: vec![photo(PhotoKind::Verify)],
            position: Some(loc),
            note: reason,
        },
    }
}

/// (case, op) for the triple with exactly one requirement broken (or none).
fn setup(
    from: Option<Status>,
    action: Action,
    role: Role,
    break_req: Option<Requirement>,
    needs_pending: bool,
) -> (Option<Case>, Op) {
    let mut case = from.map(|s| case_in(s, needs_pending));
    let mut act = actor(role);
    let mut body = full_body(action);
    match break_req {
        None => {}
        Some(Requirement::Reason) => match &mut body {
            OpBody::Reject { reason }
            | OpBody::RequestReturn { reason }
            | OpBody::RefuseReturn { reason }
            | OpBody::RequestExtension { reason, .. }
            | OpBody::RefuseExtension { reason }
            | OpBody::VerifyFail { reason, .. }
            | OpBody::Reopen { reason, .. }
            | OpBody::Park { reason }
            | OpBody::Urge { reason }
            | OpBody::Escalate { reason } => *reason = "   ".into(),
            other => panic!("no reason field on {other:?}"),
        },
        Some(Requirement::Unit) => match &mut body {
            OpBody::Dispatch { unit_id, .. } => unit_id.clear(),
            _ => {
                if let Some(c) = case.as_mut() {
                    c.unit_id = None;
                }
            }
        },
        Some(Requirement::Deadline) => match &mut body {
            OpBody::Dispatch { deadline_ms, .. }
            | OpBody::VerifyFail { deadline_ms, .. }
            | OpBody::Reopen { deadline_ms, .. } => *deadline_ms = None,
            other => panic!("no deadline on {other:?}"),
        },
        Some(Requirement::NewDeadline) => {
            if let OpBody::RequestExtension { until_ms, .. } = &mut body {
                *until_ms = Some(DEADLINE - 1);
            }
        }
        Some(Requirement::AfterPhoto) | Some(Requirement::VerifyPhoto) => match &mut body {
            OpBody::Rectify { photos, .. }
            | OpBody::VerifyPass { photos, .. }
            | OpBody::VerifyFail { photos, .. } => {
                photos.iter_mut().for_each(|p| p.kind = PhotoKind::Other)
            }
            other => panic!("no photos on {other:?}"),
        },
        Some(Requirement::DuplicateTarget) => {
            if let OpBody::MarkDuplicate { duplicate_of, .. } = &mut body {
                *duplicate_of = None;
            }
        }
        Some(Requirement::OwnUnit) => act.unit_id = Some("u2".into()),
        Some(Requirement::OwnReport) => act.user_id = "inspector2".into(),
        Some(Requirement::PendingExtension) => {
            if let Some(c) = case.as_mut() {
                c.pending_extension = None;
            }
        }
        Some(Requirement::NoPendingExtension) => {
            if let Some(c) = case.as_mut() {
                c.pending_extension = Some(ExtensionRequest {
                    until_ms: DEADLINE + 1,
                    reason: "r".into(),
                    requested_by: "unit1".into(),
                });
            }
        }
    }
    let op = Op {
        id: Uuid::now_v7(),
        case_id: case.as_ref().map(|c| c.id).unwrap_or_else(Uuid::now_v7),
        device_id: "dev".into(),
        actor: act,
        hlc: Hlc {
            wall_ms: NOW as u64,
            counter: 0,
            node: 1,
        },
        device_time_ms: NOW,
        body,
    };
    (case, op)
}

fn all_from() -> Vec<Option<Status>> {
    std::iter::once(None)
        .chain(Status::ALL.iter().copied().map(Some))
        .collect()
}

#[test]
fn every_legal_transition_succeeds_and_lands_in_its_target() {
    let mut legal = 0;
    for from in all_from() {
        for &action in Action::ALL {
            for &role in Role::ALL {
                let Some(row) = workflow::find(from, action, role) else {
                    continue;
                };
                let pending = row.requires.contains(&Requirement::PendingExtension);
                let (case, op) = setup(from, action, role, None, pending);
                let (after, event) = apply(case.as_ref(), &op, &ApplyContext::default())
                    .unwrap_or_else(|e| panic!("{from:?} {action} {role}: {e}"));
                assert_eq!(after.status, row.target(from), "{from:?} {action} {role}");
                assert_eq!(event.from_status, from);
                assert_eq!(event.to_status, after.status);
                legal += 1;
            }
        }
    }
    assert_eq!(
        legal,
        workflow::table().len(),
        "every row was exercised once"
    );
}

#[test]
fn every_missing_requirement_fails_with_its_own_error_and_changes_nothing() {
    let mut checked = 0;
    for row in workflow::table() {
        let pending = row.requires.contains(&Requirement::PendingExtension);
        for &req in row.requires {
            let (case, op) = setup(row.from, row.action, row.role, Some(req), pending);
            let before = case.clone();
            let err = apply(case.as_ref(), &op, &ApplyContext::default())
                .err()
                .unwrap_or_else(|| panic!("{row:?} accepted without {req}"));
            match (&err, req) {
                (Error::NotInScope { .. }, Requirement::OwnUnit | Requirement::OwnReport) => {}
                (
                    Error::RequirementMissing {
                        requirement,
                        action,
                    },
                    _,
                ) => {
                    assert_eq!((*requirement, *action), (req, row.action), "{row:?}");
                }
                _ => panic!("{row:?} without {req}: unexpected {err}"),
            }
            assert_eq!(case, before, "a failed apply never changes the case");
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} requirement checks");
}

#[test]
fn every_triple_not_in_the_table_is_illegal_and_named() {
    let (mut illegal, mut exists) = (0, 0);
    for from in all_from() {
        for &action in Action::ALL {
            for &role in Role::ALL {
                if workflow::find(from, action, role).is_some() {
                    continue;
                }
                // An existing case cannot be reported again: a different, typed error.
                if from.is_some() && action == Action::Report {
                    let (case, op) = setup(from, action, role, None, false);
                    let e = apply(case.as_ref(), &op, &ApplyContext::default()).err();
                    assert_eq!(e.map(|e| e.code()), Some("case_exists"));
                    exists += 1;
                    continue;
                }
                let (case, op) = setup(from, action, role, None, false);
                match apply(case.as_ref(), &op, &ApplyContext::default()) {
                    Err(Error::IllegalTransition {
                        state,
                        action: a,
                        role: r,
                    }) => {
                        assert_eq!((state, a, r), (from, action, role));
                    }
                    other => panic!("{from:?} {action} {role}: expected illegal, got {other:?}"),
                }
                illegal += 1;
            }
        }
    }
    let total = (Status::ALL.len() + 1) * Action::ALL.len() * Role::ALL.len();
    assert_eq!(illegal + exists + workflow::table().len(), total);
    assert!(illegal > 500, "{illegal}");
}

#[test]
fn effects_of_key_transitions() {
    // Rework counts, extensions move the deadline, return clears the unit.
    let (case, op) = setup(
        Some(Status::Rectified),
        Action::VerifyFail,
        Role::Supervisor,
        None,
        false,
    );
    let (after, _) = apply(case.as_ref(), &op, &ApplyContext::default()).expect("verify fail");
    assert_eq!(
        (after.rework_count, after.deadline_ms),
        (1, Some(DEADLINE + 7))
    );

    let (case, op) = setup(
        Some(Status::InProgress),
        Action::GrantExtension,
        Role::Supervisor,
        None,
        true,
    );
    let (after, _) = apply(case.as_ref(), &op, &ApplyContext::default()).expect("grant");
    assert_eq!(after.deadline_ms, Some(DEADLINE + 1000));
    assert_eq!(after.extension_count, 1);
    assert!(after.pending_extension.is_none());

    let (case, op) = setup(
        Some(Status::ReturnRequested),
        Action::GrantReturn,
        Role::Supervisor,
        None,
        false,
    );
    let (after, _) = apply(case.as_ref(), &op, &ApplyContext::default()).expect("grant return");
    assert_eq!(
        (after.status, after.unit_id.clone()),
        (Status::Registered, None)
    );

    let ctx = ApplyContext {
        server_time_ms: Some(5),
        case_no: Some("XC-2026-000001".into()),
        ..ApplyContext::default()
    };
    let (case, op) = setup(
        Some(Status::Submitted),
        Action::Register,
        Role::Supervisor,
        None,
        false,
    );
    let (after, ev) = apply(case.as_ref(), &op, &ctx).expect("register");
    assert_eq!(after.case_no.as_deref(), Some("XC-2026-000001"));
    assert_eq!(ev.case_no.as_deref(), Some("XC-2026-000001"));
}

#[test]
fn field_edits_merge_last_writer_wins_by_hlc() {
    let (case, mut late) = setup(
        Some(Status::Registered),
        Action::Edit,
        Role::Supervisor,
        None,
        false,
    );
    let mut early = late.clone();
    late.hlc.wall_ms = 200;
    early.hlc.wall_ms = 100;
    early.body = OpBody::Edit {
        changes: CaseEdit {
            description: Some("early".into()),
            ..CaseEdit::default()
        },
    };
    late.body = OpBody::Edit {
        changes: CaseEdit {
            description: Some("late".into()),
            ..CaseEdit::default()
        },
    };
    let ctx = ApplyContext::default();
    // Either arrival order gives the later HLC's value.
    let (a, _) = apply(case.as_ref(), &early, &ctx).expect("early");
    let (a, _) = apply(Some(&a), &late, &ctx).expect("late");
    let (b, _) = apply(case.as_ref(), &late, &ctx).expect("late");
    let (b, _) = apply(Some(&b), &early, &ctx).expect("early");
    assert_eq!(a.description, "late");
    assert_eq!(b.description, "late");
}

/// Policy that the table's content must keep, whatever rows are added later.
#[test]
fn table_keeps_the_campaign_rules() {
    for row in workflow::table() {
        let to = match row.to {
            workflow::To::Status(s) => s,
            // Rows that keep the status (edit, comment, extension requests) move nothing.
            workflow::To::Stay => continue,
        };
        let needs = |r: Requirement| row.requires.contains(&r);
        if to == Status::Rectified {
            assert!(
                needs(Requirement::AfterPhoto),
                "rectify needs an after-photo: {row:?}"
            );
        }
        if row.role == Role::Inspector
            && matches!(row.action, Action::VerifyPass | Action::VerifyFail)
        {
            assert!(
                needs(Requirement::VerifyPhoto),
                "on-site check needs a photo: {row:?}"
            );
        }
        if matches!(to, Status::Rejected | Status::Parked)
            || matches!(
                row.action,
                Action::VerifyFail | Action::Reopen | Action::RequestReturn
            )
        {
            assert!(needs(Requirement::Reason), "a reason is recorded: {row:?}");
        }
        if row.to == workflow::To::Status(Status::Dispatched) && row.action != Action::RefuseReturn
        {
            assert!(
                needs(Requirement::Deadline),
                "a dispatched case has a deadline: {row:?}"
            );
        }
        if row.from.is_some_and(Status::is_terminal) {
            panic!("terminal cases take comments only: {row:?}");
        }
    }
    for row in workflow::table() {
        if row.role == Role::UnitStaff {
            assert!(
                row.requires.contains(&Requirement::OwnUnit),
                "unit staff act on own unit only: {row:?}"
            );
        }
        if row.action == Action::Edit && row.role == Role::Inspector {
            assert_eq!(
                row.from,
                Some(Status::Submitted),
                "inspectors edit until registered"
            );
            assert!(row.requires.contains(&Requirement::OwnReport));
        }
    }
}
