//! The workflow's words, typed across the FFI: core's `Status`, `Action`, `Role`,
//! `Requirement`, photo kinds and sync phases as uniffi enums (the app matches on them; no
//! string can be misspelt), and their zh-CN and English labels from core. The app keeps no
//! label lists of its own.
//!
//! Each `remote` block mirrors its core enum variant for variant; the compiler checks the
//! mirror, so a variant added in core and not here fails the build.

use xuncha_core::Lang;
use xuncha_core::model::PhotoKind;
use xuncha_core::round::{RecheckOutcome, RoundKind, TaskState};
use xuncha_core::standard::{Finding, ScoringRule};
use xuncha_core::sync::client::SyncPhase;
use xuncha_core::workflow::{Action, Offer, Requirement, Role, Status};

/// The language of labels and messages.
#[uniffi::remote(Enum)]
pub enum Lang {
    ZhCn,
    En,
}

/// Where a case is in its lifecycle (`overdue` is a flag beside it, never a status).
#[uniffi::remote(Enum)]
pub enum Status {
    Submitted,
    Registered,
    Dispatched,
    InProgress,
    ReturnRequested,
    Rectified,
    Closed,
    Rejected,
    Duplicate,
    Parked,
}

/// Everything a person can do to a case.
#[uniffi::remote(Enum)]
pub enum Action {
    Report,
    Edit,
    Comment,
    Register,
    Reject,
    MarkDuplicate,
    Dispatch,
    Acknowledge,
    Rectify,
    RequestReturn,
    GrantReturn,
    RefuseReturn,
    RequestExtension,
    GrantExtension,
    RefuseExtension,
    VerifyPass,
    VerifyFail,
    Reopen,
    Park,
    Urge,
    Escalate,
    CheckSite,
    Recheck,
}

/// Who is acting.
#[uniffi::remote(Enum)]
pub enum Role {
    Inspector,
    Supervisor,
    UnitStaff,
    Admin,
}

/// What an action needs: an input its form asks for (reason, unit, deadline, new deadline,
/// after-photo, verify photo, duplicate target) or a condition the core checks.
#[uniffi::remote(Enum)]
pub enum Requirement {
    Reason,
    Unit,
    Deadline,
    NewDeadline,
    AfterPhoto,
    VerifyPhoto,
    DuplicateTarget,
    OwnUnit,
    OwnReport,
    PendingExtension,
    NoPendingExtension,
}

/// An action the signed-in person may take now, with the inputs its form must ask for, in the
/// transition table's order.
#[uniffi::remote(Record)]
pub struct Offer {
    pub action: Action,
    pub inputs: Vec<Requirement>,
}

/// What a photo shows.
#[uniffi::remote(Enum)]
pub enum PhotoKind {
    Before,
    After,
    Verify,
    Other,
}

/// What a round is for (明查 / 暗访 / 回头看).
#[uniffi::remote(Enum)]
pub enum RoundKind {
    Open,
    Covert,
    Recheck,
}

/// Where a round's task stands (待检查 / 已检查 / 未检查).
#[uniffi::remote(Enum)]
pub enum TaskState {
    Open,
    Done,
    Missed,
}

/// What a 回头看 found (整改到位 / 复发).
#[uniffi::remote(Enum)]
pub enum RecheckOutcome {
    Held,
    Recurred,
}

/// How an indicator loses its points (the checklist screen asks for a pass/fail, a count of
/// occurrences, or a count over units accordingly).
#[uniffi::remote(Enum)]
pub enum ScoringRule {
    PassFail,
    PerOccurrence {
        deduct: f64,
        cap: f64,
    },
    Quota {
        per_unit: f64,
        unit_label: String,
        deduct: f64,
    },
}

/// What an inspector records for one indicator.
#[uniffi::remote(Enum)]
pub enum Finding {
    Pass,
    Fail,
    Occurrences { count: u32 },
    Counted { found: u32, units: f64 },
}

/// Where a sync is.
#[uniffi::remote(Enum)]
pub enum SyncPhase {
    Photos,
    Push,
    Pull,
    Done,
}

/// A status as people call it (待审核 / Submitted …).
#[uniffi::export]
pub fn status_label(status: Status, lang: Lang) -> String {
    status.label(lang).to_string()
}

/// An action as its button says it (核查通过 / Verified: close …).
#[uniffi::export]
pub fn action_label(action: Action, lang: Lang) -> String {
    action.label(lang).to_string()
}

/// A role as people call it (巡查员 / Inspector …).
#[uniffi::export]
pub fn role_label(role: Role, lang: Lang) -> String {
    role.label(lang).to_string()
}

/// What a requirement asks for (填写原因 / a reason …): a form's field label.
#[uniffi::export]
pub fn requirement_label(requirement: Requirement, lang: Lang) -> String {
    requirement.label(lang).to_string()
}

/// What a photo of this kind is called (整改前 / Before …).
#[uniffi::export]
pub fn photo_kind_label(kind: PhotoKind, lang: Lang) -> String {
    kind.label(lang).to_string()
}

/// A round's kind as people call it (明查 / Announced check …).
#[uniffi::export]
pub fn round_kind_label(kind: RoundKind, lang: Lang) -> String {
    kind.label(lang).to_string()
}

/// A task's state as people call it (待检查 / To check …).
#[uniffi::export]
pub fn task_state_label(state: TaskState, lang: Lang) -> String {
    state.label(lang).to_string()
}

/// A re-check's outcome as its button says it (整改到位 / Still fixed …).
#[uniffi::export]
pub fn recheck_outcome_label(outcome: RecheckOutcome, lang: Lang) -> String {
    outcome.label(lang).to_string()
}

/// What the sync bar says in this phase (正在上传照片 / Uploading photos …).
#[uniffi::export]
pub fn sync_phase_label(phase: SyncPhase, lang: Lang) -> String {
    phase.label(lang).to_string()
}

/// The kind of photo the person attaches to `action` (the after-photo for 整改, the on-site
/// photo for 核查), so the camera screen can say what to take.
#[uniffi::export]
pub fn photo_kind_for(action: Action) -> PhotoKind {
    PhotoKind::of_action(action)
}

/// The statuses of an open case (still on the books, 挂账 included): core's one meaning of "open".
#[uniffi::export]
pub fn open_statuses() -> Vec<Status> {
    Status::OPEN.to_vec()
}

/// The statuses of a finished case (closed, rejected, duplicate).
#[uniffi::export]
pub fn finished_statuses() -> Vec<Status> {
    Status::FINISHED.to_vec()
}

/// What waits for a person of `role` (the office: new and registered reports; a unit: its
/// dispatched and running cases).
#[uniffi::export]
pub fn queue_statuses(role: Role) -> Vec<Status> {
    Status::queue_of(role).to_vec()
}
