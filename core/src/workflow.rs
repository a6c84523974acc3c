//! The case lifecycle: the ONE transition table `(state, action, role) → state` with what each
//! transition requires. The device and the server both decide with [`find`]; nothing else in the
//! code base may encode a workflow rule. DESIGN.md §2 draws the same table as a diagram.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Lang, Result};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal / $zh:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The stable snake_case name used in storage and on the wire.
            pub fn as_str(self) -> &'static str { match self { $($name::$v => $s),+ } }
            /// The zh-CN label shown to people.
            pub fn label_zh(self) -> &'static str { match self { $($name::$v => $zh),+ } }
            /// Parse the stable name; `None` if unknown.
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$v),)+ _ => None } }
            /// The label in `lang`: what every screen (console, bulletin, app) shows.
            pub fn label(self, lang: Lang) -> &'static str {
                match lang { Lang::ZhCn => self.label_zh(), Lang::En => self.label_en() }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Who is acting (DESIGN §1).
    Role {
        /// 巡查员: reports, edits own report until registered, verifies on site.
        Inspector = "inspector" / "巡查员",
        /// 督查员: registers, dispatches, decides requests, verifies, reopens, parks.
        Supervisor = "supervisor" / "督查员",
        /// 责任单位人员: acknowledges, rectifies, asks for return or extension.
        UnitStaff = "unit_staff" / "责任单位人员",
        /// 管理员: reference data, users, devices. Takes no part in cases.
        Admin = "admin" / "管理员",
    }
);

impl Role {
    /// English name, for screens in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Role::Inspector => "Inspector",
            Role::Supervisor => "Supervisor",
            Role::UnitStaff => "Unit staff",
            Role::Admin => "Administrator",
        }
    }

    /// Parse a role name, with a typed error for anything else.
    pub fn parse_required(s: &str) -> Result<Role> {
        Role::parse(s).ok_or_else(|| Error::UnknownRole(s.to_string()))
    }
}

string_enum!(
    /// Where a case is in its lifecycle. `overdue` is derived from the deadline, never a status.
    Status {
        /// 待审核: reported, waiting for a supervisor.
        Submitted = "submitted" / "待审核",
        /// 已立案: accepted, not yet dispatched (or returned by a unit).
        Registered = "registered" / "已立案",
        /// 已派遣: sent to a unit with a deadline.
        Dispatched = "dispatched" / "已派遣",
        /// 处置中: the unit has acknowledged.
        InProgress = "in_progress" / "处置中",
        /// 申请退回: the unit says the case is not theirs.
        ReturnRequested = "return_requested" / "申请退回",
        /// 待核查: the unit reports it fixed, with after-photos.
        Rectified = "rectified" / "待核查",
        /// 已结案.
        Closed = "closed" / "已结案",
        /// 不予立案 (terminal).
        Rejected = "rejected" / "不予立案",
        /// 重复案件 (terminal, linked to the original).
        Duplicate = "duplicate" / "重复案件",
        /// 挂账: cannot be solved now; kept on the books with a reason.
        Parked = "parked" / "挂账",
    }
);

impl Status {
    /// Open: the problem is still on the books. Everything but closed, rejected and duplicate;
    /// a parked case (挂账) is open — it is kept on the books because it is not solved. The one
    /// meaning of "open" everywhere: probable duplicates, the console's nearby cases, the
    /// exports of open cases, the repeated-site counts.
    pub const OPEN: &'static [Status] = &[
        Status::Submitted,
        Status::Registered,
        Status::Dispatched,
        Status::InProgress,
        Status::ReturnRequested,
        Status::Rectified,
        Status::Parked,
    ];

    /// Finished: off the books (closed, rejected, duplicate); every status not [`Status::OPEN`].
    pub const FINISHED: &'static [Status] = &[Status::Closed, Status::Rejected, Status::Duplicate];

    /// True if the case is open (see [`Status::OPEN`]).
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// Statuses in which the deadline clock runs, so the case can be overdue.
    pub const DEADLINE_RUNNING: &'static [Status] = &[
        Status::Dispatched,
        Status::InProgress,
        Status::ReturnRequested,
    ];

    /// Taken up by the unit: working on it (处置中), or asking to hand it back (the console's
    /// "in progress" board).
    pub const TAKEN_UP: &'static [Status] = &[Status::InProgress, Status::ReturnRequested];

    /// True if the deadline clock runs in this status (see [`Status::DEADLINE_RUNNING`]).
    pub fn deadline_running(self) -> bool {
        Self::DEADLINE_RUNNING.contains(&self)
    }

    /// What waits in the queue of a person of `role`: new and registered reports for the office,
    /// dispatched and running cases for a unit.
    pub fn queue_of(role: Role) -> &'static [Status] {
        match role {
            Role::UnitStaff => &[Status::Dispatched, Status::InProgress],
            _ => &[Status::Submitted, Status::Registered],
        }
    }

    /// `'a', 'b'` of `set` for an SQL `IN (…)` (status names are fixed lowercase words, so
    /// the literals need no escaping): the SQL reads a set from here instead of spelling it.
    pub fn sql_list(set: &[Status]) -> String {
        set.iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Terminal states accept no further workflow action (comments only).
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Rejected | Status::Duplicate)
    }
}

string_enum!(
    /// Everything a person can do to a case; each is one operation kind on the wire.
    Action {
        /// 上报 a new case.
        Report = "report" / "上报",
        /// 修改 fields of a case.
        Edit = "edit" / "修改",
        /// 评论.
        Comment = "comment" / "评论",
        /// 立案.
        Register = "register" / "立案",
        /// 不予立案.
        Reject = "reject" / "不予立案",
        /// 标记重复.
        MarkDuplicate = "mark_duplicate" / "标记重复",
        /// 派遣 (or re-dispatch).
        Dispatch = "dispatch" / "派遣",
        /// 签收.
        Acknowledge = "acknowledge" / "签收",
        /// 整改反馈 with after-photos.
        Rectify = "rectify" / "整改反馈",
        /// 申请退回 (非本单位).
        RequestReturn = "request_return" / "申请退回",
        /// 同意退回.
        GrantReturn = "grant_return" / "同意退回",
        /// 不同意退回.
        RefuseReturn = "refuse_return" / "驳回退回申请",
        /// 申请延期.
        RequestExtension = "request_extension" / "申请延期",
        /// 同意延期.
        GrantExtension = "grant_extension" / "同意延期",
        /// 不同意延期.
        RefuseExtension = "refuse_extension" / "驳回延期申请",
        /// 核查通过, closes the case.
        VerifyPass = "verify_pass" / "核查通过",
        /// 核查不通过 (返工).
        VerifyFail = "verify_fail" / "返工",
        /// 重新打开 (复发 on 回头看).
        Reopen = "reopen" / "重新打开",
        /// 挂账.
        Park = "park" / "挂账",
        /// 催办: a supervisor presses the unit on a case it holds, with a note; the status does
        /// not change, and each one counts against the unit (被催办次数).
        Urge = "urge" / "催办",
        /// 督办: the case is escalated to the area above its current level (a district's, then
        /// the city's office supervises it), by a supervisor with a note or by the server when
        /// it is overdue longer than its category allows; the status does not change, and each
        /// one counts against the unit.
        Escalate = "escalate" / "督办",
        /// 点位测评: a round's checklist at a site. Not a move of a case (no row of the table):
        /// `round.rs` decides it, and the server raises the cases it calls for.
        CheckSite = "check_site" / "点位测评",
        /// 回头看复查: a round's re-check of a closed case on site. Not a row of the table
        /// either: `round.rs` decides it; a recurrence reopens the case as the server.
        Recheck = "recheck" / "回头看复查",
    }
);

string_enum!(
    /// What a transition needs besides the right state and role.
    Requirement {
        /// A non-blank reason text.
        Reason = "reason" / "填写原因",
        /// A responsible unit.
        Unit = "unit" / "指定责任单位",
        /// A deadline (explicit or from the category default).
        Deadline = "deadline" / "处置时限",
        /// A requested new deadline, later than the current one.
        NewDeadline = "new_deadline" / "新的处置时限（须晚于原时限）",
        /// At least one after-photo (整改后照片).
        AfterPhoto = "after_photo" / "至少一张整改后照片",
        /// At least one on-site verification photo.
        VerifyPhoto = "verify_photo" / "至少一张现场核查照片",
        /// The original case this one duplicates.
        DuplicateTarget = "duplicate_target" / "指定重复的原案件",
        /// Unit staff act only on their own unit's cases.
        OwnUnit = "own_unit" / "本单位的案件",
        /// Inspectors edit only their own reports.
        OwnReport = "own_report" / "本人上报的案件",
        /// A pending extension request to decide.
        PendingExtension = "pending_extension" / "待审批的延期申请",
        /// No extension request already pending.
        NoPendingExtension = "no_pending_extension" / "没有待审批的延期申请",
    }
);

impl Status {
    /// English name, for screens in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Status::Submitted => "Submitted",
            Status::Registered => "Registered",
            Status::Dispatched => "Dispatched",
            Status::InProgress => "In progress",
            Status::ReturnRequested => "Return requested",
            Status::Rectified => "Rectified, to verify",
            Status::Closed => "Closed",
            Status::Rejected => "Rejected",
            Status::Duplicate => "Duplicate",
            Status::Parked => "Parked",
        }
    }
}

impl Action {
    /// English name, for screens in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Action::Report => "Report",
            Action::Edit => "Edit",
            Action::Comment => "Comment",
            Action::Register => "Register",
            Action::Reject => "Reject",
            Action::MarkDuplicate => "Mark duplicate",
            Action::Dispatch => "Dispatch",
            Action::Acknowledge => "Acknowledge",
            Action::Rectify => "Report rectified",
            Action::RequestReturn => "Ask to return",
            Action::GrantReturn => "Grant return",
            Action::RefuseReturn => "Refuse return",
            Action::RequestExtension => "Ask for more time",
            Action::GrantExtension => "Grant extension",
            Action::RefuseExtension => "Refuse extension",
            Action::VerifyPass => "Verified: close",
            Action::VerifyFail => "Send back for rework",
            Action::Reopen => "Reopen",
            Action::Park => "Park",
            Action::Urge => "Urge",
            Action::Escalate => "Escalate",
            Action::CheckSite => "Site check",
            Action::Recheck => "Re-check",
        }
    }
}

impl Requirement {
    /// Something the person acting supplies in the action's form (a reason, a unit, a deadline,
    /// a photo, the original case), as opposed to a condition of the case and the actor (their
    /// own unit's case, a pending request) that decides whether the action is offered at all.
    pub fn is_input(self) -> bool {
        matches!(
            self,
            Requirement::Reason
                | Requirement::Unit
                | Requirement::Deadline
                | Requirement::NewDeadline
                | Requirement::AfterPhoto
                | Requirement::VerifyPhoto
                | Requirement::DuplicateTarget
        )
    }

    /// English phrase for messages.
    pub fn label_en(self) -> &'static str {
        match self {
            Requirement::Reason => "a reason",
            Requirement::Unit => "a responsible unit",
            Requirement::Deadline => "a deadline",
            Requirement::NewDeadline => "a new deadline later than the current one",
            Requirement::AfterPhoto => "at least one after-photo",
            Requirement::VerifyPhoto => "at least one verification photo",
            Requirement::DuplicateTarget => "the original case it duplicates",
            Requirement::OwnUnit => "a case of your own unit",
            Requirement::OwnReport => "a case you reported yourself",
            Requirement::PendingExtension => "a pending extension request",
            Requirement::NoPendingExtension => "no extension request already pending",
        }
    }
}

/// Where a transition leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    /// The status does not change (edit, comment, extension requests).
    Stay,
    /// The case moves to this status.
    Status(Status),
}

/// An action offered to a person now, with the inputs its form must ask for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    /// The action.
    pub action: Action,
    /// What the form asks for ([`Requirement::is_input`]), in table order.
    pub inputs: Vec<Requirement>,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    /// Status before; `None` only for `report` (the case does not exist yet).
    pub from: Option<Status>,
    /// The action.
    pub action: Action,
    /// The role that may do it.
    pub role: Role,
    /// Status after.
    pub to: To,
    /// What must be present for it to happen.
    pub requires: &'static [Requirement],
}

impl Transition {
    /// What the action's form must ask for, in table order (see [`Requirement::is_input`]).
    pub fn inputs(&self) -> impl Iterator<Item = Requirement> + '_ {
        self.requires.iter().copied().filter(|r| r.is_input())
    }

    /// The row as an offer to the person who may take it.
    pub fn offer(&self) -> Offer {
        Offer {
            action: self.action,
            inputs: self.inputs().collect(),
        }
    }

    /// The conditions of the case and the actor that must hold for the action to be offered.
    pub fn conditions(&self) -> impl Iterator<Item = Requirement> + '_ {
        self.requires.iter().copied().filter(|r| !r.is_input())
    }

    /// The status after this transition, given the status before.
    pub fn target(&self, before: Option<Status>) -> Status {
        match (self.to, before) {
            (To::Status(s), _) | (To::Stay, Some(s)) => s,
            // `Stay` rows always have a `from`; a report row always has `To::Status`.
            (To::Stay, None) => Status::Submitted,
        }
    }
}

use Action as A;
use Requirement as R;
use Role::{Inspector as I, Supervisor as S, UnitStaff as U};
use Status as St;

const fn t(
    from: Option<Status>,
    action: Action,
    role: Role,
    to: To,
    requires: &'static [Requirement],
) -> Transition {
    Transition {
        from,
        action,
        role,
        to,
        requires,
    }
}

const fn go(s: Status) -> To {
    To::Status(s)
}

const STAY: To = To::Stay;
const NONE: &[Requirement] = &[];

/// Statuses where a supervisor may still correct a case's fields.
const EDITABLE_BY_SUPERVISOR: &[Status] = &[
    St::Submitted,
    St::Registered,
    St::Dispatched,
    St::InProgress,
    St::ReturnRequested,
    St::Rectified,
    St::Parked,
];

/// Rows that do not depend on a single `from` are expanded by [`table`]; these are the fixed ones.
#[rustfmt::skip]
const FIXED: &[Transition] = &[
    // 上报: inspectors (and supervisors in the field) create cases.
    t(None, A::Report, I, go(St::Submitted), NONE),
    t(None, A::Report, S, go(St::Submitted), NONE),
    // The reporter may edit until a supervisor registers the case.
    t(Some(St::Submitted), A::Edit, I, STAY, &[R::OwnReport]),
    // 审核: register / reject / mark duplicate.
    t(Some(St::Submitted), A::Register, S, go(St::Registered), NONE),
    t(Some(St::Submitted), A::Reject, S, go(St::Rejected), &[R::Reason]),
    t(Some(St::Submitted), A::MarkDuplicate, S, go(St::Duplicate), &[R::DuplicateTarget]),
    // 派遣 and 改派 (re-dispatch), also to revive a parked or returned case.
    t(Some(St::Registered), A::Dispatch, S, go(St::Dispatched), &[R::Unit, R::Deadline]),
    t(Some(St::Dispatched), A::Dispatch, S, go(St::Dispatched), &[R::Unit, R::Deadline]),
    t(Some(St::InProgress), A::Dispatch, S, go(St::Dispatched), &[R::Unit, R::Deadline]),
    t(Some(St::ReturnRequested), A::Dispatch, S, go(St::Dispatched), &[R::Unit, R::Deadline]),
    t(Some(St::Parked), A::Dispatch, S, go(St::Dispatched), &[R::Unit, R::Deadline]),
    // 签收 and 整改.
    t(Some(St::Dispatched), A::Acknowledge, U, go(St::InProgress), &[R::OwnUnit]),
    t(Some(St::InProgress), A::Rectify, U, go(St::Rectified), &[R::OwnUnit, R::AfterPhoto]),
    // 申请退回 (非本单位) and the supervisor's answer.
    t(Some(St::Dispatched), A::RequestReturn, U, go(St::ReturnRequested), &[R::OwnUnit, R::Reason]),
    t(Some(St::ReturnRequested), A::GrantReturn, S, go(St::Registered), NONE),
    t(Some(St::ReturnRequested), A::RefuseReturn, S, go(St::Dispatched), &[R::Reason]),
    // 申请延期: a pending request on the case; the status does not change.
    t(Some(St::Dispatched), A::RequestExtension, U, STAY, &[R::OwnUnit, R::Reason, R::NewDeadline, R::NoPendingExtension]),
    t(Some(St::InProgress), A::RequestExtension, U, STAY, &[R::OwnUnit, R::Reason, R::NewDeadline, R::NoPendingExtension]),
    t(Some(St::Dispatched), A::GrantExtension, S, STAY, &[R::PendingExtension]),
    t(Some(St::InProgress), A::GrantExtension, S, STAY, &[R::PendingExtension]),
    t(Some(St::Dispatched), A::RefuseExtension, S, STAY, &[R::PendingExtension, R::Reason]),
    t(Some(St::InProgress), A::RefuseExtension, S, STAY, &[R::PendingExtension, R::Reason]),
    // 核查: a supervisor, or an inspector on site with a photo.
    t(Some(St::Rectified), A::VerifyPass, S, go(St::Closed), NONE),
    t(Some(St::Rectified), A::VerifyPass, I, go(St::Closed), &[R::VerifyPhoto]),
    t(Some(St::Rectified), A::VerifyFail, S, go(St::Dispatched), &[R::Reason, R::Deadline]),
    t(Some(St::Rectified), A::VerifyFail, I, go(St::Dispatched), &[R::Reason, R::Deadline, R::VerifyPhoto]),
    // 复发 on 回头看: back to the same unit with a new deadline.
    t(Some(St::Closed), A::Reopen, S, go(St::Dispatched), &[R::Reason, R::Deadline]),
    // 挂账.
    t(Some(St::Dispatched), A::Park, S, go(St::Parked), &[R::Reason]),
    t(Some(St::InProgress), A::Park, S, go(St::Parked), &[R::Reason]),
    // 催办: while the unit holds the case, with what is asked of it.
    t(Some(St::Dispatched), A::Urge, S, STAY, &[R::Reason]),
    t(Some(St::InProgress), A::Urge, S, STAY, &[R::Reason]),
    // 督办: while the unit holds the case, with why it goes up a level.
    t(Some(St::Dispatched), A::Escalate, S, STAY, &[R::Reason]),
    t(Some(St::InProgress), A::Escalate, S, STAY, &[R::Reason]),
];

/// The whole table: the fixed rows plus supervisor edits and comments by every case role.
pub fn table() -> &'static [Transition] {
    static TABLE: std::sync::OnceLock<Vec<Transition>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows = FIXED.to_vec();
        for &s in EDITABLE_BY_SUPERVISOR {
            rows.push(t(Some(s), A::Edit, S, STAY, NONE));
        }
        for &s in Status::ALL {
            rows.push(t(Some(s), A::Comment, I, STAY, NONE));
            rows.push(t(Some(s), A::Comment, S, STAY, NONE));
            rows.push(t(Some(s), A::Comment, U, STAY, &[R::OwnUnit]));
        }
        rows
    })
}

/// The transition for `(state, action, role)`, or `None` if the table has no such row.
pub fn find(from: Option<Status>, action: Action, role: Role) -> Option<&'static Transition> {
    table()
        .iter()
        .find(|r| r.from == from && r.action == action && r.role == role)
}

/// Like [`find`], with the typed error that names the state, the action and the role.
pub fn check(from: Option<Status>, action: Action, role: Role) -> Result<&'static Transition> {
    find(from, action, role).ok_or(Error::IllegalTransition {
        state: from,
        action,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_duplicate_rows() {
        let rows = table();
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                assert!(
                    !(a.from == b.from && a.action == b.action && a.role == b.role),
                    "duplicate row {a:?}"
                );
            }
        }
    }

    #[test]
    fn open_is_everything_not_finished_and_the_deadline_runs_only_on_open_cases() {
        for &s in Status::ALL {
            let finished = matches!(s, Status::Closed) || s.is_terminal();
            assert_eq!(s.is_open(), !finished, "{s:?}");
        }
        assert!(Status::Parked.is_open(), "挂账 stays on the books");
        for &s in Status::ALL {
            assert_ne!(
                Status::OPEN.contains(&s),
                Status::FINISHED.contains(&s),
                "{s:?}"
            );
        }
        assert!(Status::DEADLINE_RUNNING.iter().all(|s| s.is_open()));
        assert_eq!(
            Status::sql_list(&[Status::Closed, Status::InProgress]),
            "'closed', 'in_progress'"
        );
    }

    #[test]
    fn admin_takes_no_part_in_cases() {
        assert!(table().iter().all(|r| r.role != Role::Admin));
    }

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse_required(r.as_str()).ok(), Some(*r));
        }
        assert_eq!(
            Role::parse_required("boss").map_err(|e| e.code()).err(),
            Some("unknown_role")
        );
    }

    #[test]
    fn illegal_error_names_state_action_role() {
        let e = check(Some(Status::Closed), Action::Rectify, Role::UnitStaff)
            .err()
            .map(|e| e.message(crate::error::Lang::En))
            .unwrap_or_default();
        assert!(
            e.contains("closed") && e.contains("rectify") && e.contains("unit_staff"),
            "{e}"
        );
    }
}
