//! The records that cross to the app: flat, display-ready views of the core's types (ids as
//! strings, statuses, actions, roles and photo kinds as the typed enums of `vocabulary`, times as
//! UTC milliseconds).

use std::path::Path;
use xuncha_core::round::{RoundKind, TaskState};
use xuncha_core::standard::{Finding, ScoringRule};

use xuncha_core::model::{Case, Event, OpBody, PhotoKind};
use xuncha_core::store::{CaseDetail, CasePhoto, NearbySite, Rejection};
use xuncha_core::workflow::{Action, Offer, Role, Status};

/// A point (WGS-84 unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// Where something is: WGS-84 as the platform location API gives it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Place {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: String,
}

impl From<Place> for xuncha_core::Location {
    fn from(p: Place) -> Self {
        xuncha_core::Location {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: p.accuracy_m,
            address: p.address,
        }
    }
}

/// A photo to attach: a file the camera wrote (`path`) or bytes in memory (`bytes`), with when
/// and where it was taken.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewPhoto {
    pub path: Option<String>,
    pub bytes: Option<Vec<u8>>,
    pub captured_at_ms: Option<i64>,
    pub place: Option<Place>,
}

/// A new report (上报).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewCase {
    pub category: String,
    pub description: String,
    pub place: Place,
    pub site_id: Option<String>,
    pub campaign_id: Option<String>,
    pub undercover: bool,
    pub photos: Vec<NewPhoto>,
}

/// Field changes of an edit; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct CaseChanges {
    pub category: Option<String>,
    pub description: Option<String>,
    pub place: Option<Place>,
    pub site_id: Option<String>,
    pub campaign_id: Option<String>,
}

/// Who is signed in on this device.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SessionInfo {
    pub user_id: String,
    pub role: Role,
    pub unit_id: Option<String>,
}

/// A problem category (小类) with its default deadline, e.g. `4h`, `2d`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CategoryInfo {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub deadline: String,
    pub urgent: bool,
}

/// A class of categories (大类) with its categories.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CategoryGroup {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub categories: Vec<CategoryInfo>,
}

/// A responsible unit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UnitInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
}

impl From<xuncha_core::reference::Unit> for UnitInfo {
    fn from(u: xuncha_core::reference::Unit) -> Self {
        UnitInfo {
            id: u.id,
            name: u.name,
            kind: u.kind,
        }
    }
}

/// A site (点位) near a point, nearest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SiteInfo {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub owner_unit_id: Option<String>,
    pub distance_m: f64,
}

impl From<NearbySite> for SiteInfo {
    fn from(n: NearbySite) -> Self {
        SiteInfo {
            id: n.site.id,
            name: n.site.name,
            kind: n.site.kind,
            lat: n.site.lat,
            lon: n.site.lon,
            address: n.site.address,
            owner_unit_id: n.site.owner_unit_id,
            distance_m: n.distance_m,
        }
    }
}

/// A case as lists and the detail header show it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseSummary {
    pub id: String,
    pub case_no: Option<String>,
    /// Where the case is; its words come from `status_label`.
    pub status: Status,
    pub category: String,
    pub description: String,
    pub lat: f64,
    pub lon: f64,
    pub address: String,
    pub site_id: Option<String>,
    pub grid_id: Option<String>,
    pub suggested_unit_id: Option<String>,
    pub unit_id: Option<String>,
    pub reporter_id: String,
    pub deadline_ms: Option<i64>,
    /// Past its deadline while the unit's clock runs (derived now, never stored).
    pub overdue: bool,
    pub rework_count: u32,
    pub extension_count: u32,
    pub pending_extension_until_ms: Option<i64>,
    pub duplicate_of: Option<String>,
    pub undercover: bool,
    /// Device time of the report.
    pub reported_at_ms: i64,
    pub updated_at_ms: i64,
    /// When the server received the report (None until synced).
    pub received_at_ms: Option<i64>,
    /// Open cases nearby of the same category, found by the server (a hint).
    pub probable_duplicates: Vec<String>,
}

pub(crate) fn summary(c: Case, overdue: bool) -> CaseSummary {
    CaseSummary {
        id: c.id.to_string(),
        case_no: c.case_no,
        status: c.status,
        category: c.category,
        description: c.description,
        lat: c.location.lat,
        lon: c.location.lon,
        address: c.location.address,
        site_id: c.site_id,
        grid_id: c.grid_id,
        suggested_unit_id: c.suggested_unit_id,
        unit_id: c.unit_id,
        reporter_id: c.reporter_id,
        deadline_ms: c.deadline_ms,
        overdue,
        rework_count: c.rework_count,
        extension_count: c.extension_count,
        pending_extension_until_ms: c.pending_extension.map(|p| p.until_ms),
        duplicate_of: c.duplicate_of.map(|d| d.to_string()),
        undercover: c.undercover,
        reported_at_ms: c.reported_at_ms,
        updated_at_ms: c.updated_at_ms,
        received_at_ms: c.server_received_at_ms,
        probable_duplicates: c
            .probable_duplicates
            .iter()
            .map(|d| d.to_string())
            .collect(),
    }
}

/// Filters and paging for the case list. Empty filters match everything.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct CaseFilter {
    /// Any of these statuses.
    pub statuses: Vec<Status>,
    pub unit_id: Option<String>,
    pub category: Option<String>,
    pub site_id: Option<String>,
    pub reporter_id: Option<String>,
    pub overdue: Option<bool>,
    /// Words in the description, address or case number.
    pub text: Option<String>,
    /// Most recently changed first (default: earliest deadline first).
    pub newest_first: bool,
    pub offset: u32,
    /// Rows per page (0 means 50).
    pub limit: u32,
}

/// One page of cases.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CasePage {
    pub items: Vec<CaseSummary>,
    pub has_more: bool,
}

/// A photo of a case; `local_path` is set once its bytes are on this device (see
/// `download_photo`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoInfo {
    pub sha256: String,
    pub kind: PhotoKind,
    pub mime: String,
    pub size: u64,
    pub captured_at_ms: Option<i64>,
    pub op_id: String,
    pub local_path: Option<String>,
}

impl From<CasePhoto> for PhotoInfo {
    fn from(p: CasePhoto) -> Self {
        PhotoInfo {
            sha256: p.photo.sha256,
            kind: p.photo.kind,
            mime: p.photo.mime,
            size: p.photo.size,
            captured_at_ms: p.photo.captured_at_ms,
            op_id: p.op_id.to_string(),
            local_path: p.path.as_deref().map(path_text),
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntry {
    pub op_id: String,
    pub action: Action,
    pub actor_id: String,
    pub actor_role: Role,
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// The device's clock when it was done.
    pub device_time_ms: i64,
    /// When the server received it (None while only on this device).
    pub server_time_ms: Option<i64>,
    /// The note, reason or comment text, if any.
    pub text: String,
    /// The responsible unit chosen, for a dispatch.
    pub unit_id: Option<String>,
    /// Still in this device's outbox.
    pub pending: bool,
}

pub(crate) fn timeline_entry(e: Event) -> TimelineEntry {
    TimelineEntry {
        op_id: e.op.id.to_string(),
        action: e.op.body.action(),
        actor_id: e.op.actor.user_id.clone(),
        actor_role: e.op.actor.role,
        from_status: e.from_status,
        to_status: e.to_status,
        device_time_ms: e.op.device_time_ms,
        server_time_ms: e.server_time_ms,
        text: body_text(&e.op.body),
        unit_id: match &e.op.body {
            OpBody::Dispatch { unit_id, .. } => Some(unit_id.clone()),
            _ => None,
        },
        pending: e.server_seq.is_none(),
    }
}

/// The words a person wrote on an operation.
fn body_text(body: &OpBody) -> String {
    if let Some(reason) = body.reason() {
        return reason.to_string();
    }
    match body {
        OpBody::Report { description, .. } => description.clone(),
        OpBody::Comment { text, .. } => text.clone(),
        OpBody::Register { note }
        | OpBody::MarkDuplicate { note, .. }
        | OpBody::Dispatch { note, .. }
        | OpBody::Acknowledge { note }
        | OpBody::Rectify { note, .. }
        | OpBody::GrantReturn { note }
        | OpBody::GrantExtension { note, .. }
        | OpBody::VerifyPass { note, .. } => note.clone(),
        _ => String::new(),
    }
}

/// Everything the case screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseDetailInfo {
    pub case: CaseSummary,
    pub photos: Vec<PhotoInfo>,
    pub timeline: Vec<TimelineEntry>,
    /// What the signed-in person may do now, each with the inputs its form asks for.
    pub allowed_actions: Vec<Offer>,
}

impl From<CaseDetail> for CaseDetailInfo {
    fn from(d: CaseDetail) -> Self {
        CaseDetailInfo {
            case: summary(d.case, d.overdue),
            photos: d.photos.into_iter().map(PhotoInfo::from).collect(),
            timeline: d.timeline.into_iter().map(timeline_entry).collect(),
            allowed_actions: d.allowed_actions,
        }
    }
}

/// An operation waiting in the outbox.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OutboxItem {
    pub op_id: String,
    pub case_id: String,
    pub action: Action,
    pub device_time_ms: i64,
}

/// A notice to the signed-in person (临期, 逾期, 催办, 督办, a new dispatch), newest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NoticeInfo {
    pub id: String,
    /// `dispatched`, `deadline_near`, `overdue`, `urged` or `escalated`.
    pub kind: String,
    /// What the kind is called, zh-CN (逾期提醒 …).
    pub title: String,
    /// The message: case number, category, place, unit, dispatch time, deadline, source.
    pub text: String,
    pub case_id: String,
    pub created_ms: i64,
    pub read: bool,
}

impl From<xuncha_core::notify::Notice> for NoticeInfo {
    fn from(n: xuncha_core::notify::Notice) -> Self {
        NoticeInfo {
            id: n.id.to_string(),
            kind: n.kind.as_str().to_string(),
            title: n.title,
            text: n.text,
            case_id: n.case_id.to_string(),
            created_ms: n.created_ms,
            read: n.read,
        }
    }
}

/// An operation the server refused, with its reason.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejectionInfo {
    pub op_id: String,
    pub case_id: String,
    pub action: Action,
    pub code: String,
    pub reason: String,
    pub rejected_at_ms: i64,
}

impl From<Rejection> for RejectionInfo {
    fn from(r: Rejection) -> Self {
        RejectionInfo {
            op_id: r.op.id.to_string(),
            case_id: r.op.case_id.to_string(),
            action: r.op.body.action(),
            code: r.code,
            reason: r.reason,
            rejected_at_ms: r.rejected_at_ms,
        }
    }
}

/// A round task as "my sites today" lists it: open ones first, nearest first.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskInfo {
    pub task_id: String,
    pub round_id: String,
    pub round_name: String,
    pub round_kind: RoundKind,
    /// When the round's tasks are due (UTC ms).
    pub due_ms: i64,
    pub state: TaskState,
    /// Submitted from this phone; the server has not listed it as done yet.
    pub submitted_here: bool,
    /// The site's name (a re-check: the case number).
    pub place_name: String,
    /// The site's type (a re-check: the case's category code).
    pub place_kind: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// From where the phone stands, when it said.
    pub distance_m: Option<f64>,
    /// A 回头看 task's case, and what it said.
    pub case_id: Option<String>,
    pub case_description: Option<String>,
    /// User ids of the team.
    pub team: Vec<String>,
}

impl From<xuncha_core::store::TaskView> for TaskInfo {
    fn from(v: xuncha_core::store::TaskView) -> Self {
        let case_id = match &v.task.target {
            xuncha_core::round::Target::Case { case_id } => Some(case_id.to_string()),
            xuncha_core::round::Target::Site { .. } => None,
        };
        TaskInfo {
            task_id: v.task.id.to_string(),
            round_id: v.round.id.to_string(),
            round_name: v.round.name.clone(),
            round_kind: v.round.kind,
            due_ms: v.round.due_ms,
            state: v.state,
            submitted_here: v.submitted_here,
            place_name: v.place.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
            place_kind: v.place.as_ref().map(|p| p.kind.clone()).unwrap_or_default(),
            address: v
                .place
                .as_ref()
                .map(|p| p.address.clone())
                .unwrap_or_default(),
            lat: v.place.as_ref().map(|p| p.lat),
            lon: v.place.as_ref().map(|p| p.lon),
            distance_m: v.distance_m,
            case_id,
            case_description: v.case.map(|c| c.description),
            team: v.task.team,
        }
    }
}

/// One line of a site's checklist (测评标准 for its type).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IndicatorInfo {
    pub code: String,
    pub text: String,
    pub points: f64,
    pub rule: ScoringRule,
    /// A failure becomes a case of this category.
    pub category: Option<String>,
}

impl From<xuncha_core::standard::Indicator> for IndicatorInfo {
    fn from(i: xuncha_core::standard::Indicator) -> Self {
        IndicatorInfo {
            code: i.code,
            text: i.text,
            points: i.points,
            rule: i.rule,
            category: i.category,
        }
    }
}

/// One indicator as the checklist screen submits it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CheckEntry {
    pub code: String,
    pub finding: Finding,
    pub note: String,
    /// At least one for a deduction.
    pub photos: Vec<NewPhoto>,
}

/// A checklist's points so far.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistScore {
    pub points: f64,
    pub possible: f64,
    /// 得分率 (0..1), none when nothing applies.
    pub rate: Option<f64>,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SyncSummary {
    pub accepted: u64,
    pub rejected: u64,
    pub changes: u64,
    pub photos_uploaded: u64,
    pub photos_refused: u64,
    pub photos_deferred: u64,
    pub reference_updated: bool,
    /// New notices received.
    pub notices: u64,
    /// Round tasks still to do.
    pub open_tasks: u64,
}

impl From<xuncha_core::sync::client::SyncReport> for SyncSummary {
    fn from(r: xuncha_core::sync::client::SyncReport) -> Self {
        SyncSummary {
            accepted: r.accepted,
            rejected: r.rejected,
            changes: r.changes,
            photos_uploaded: r.photos_uploaded,
            photos_refused: r.photos_refused,
            photos_deferred: r.photos_deferred,
            reference_updated: r.reference_updated,
            notices: r.notices,
            open_tasks: r.open_tasks,
        }
    }
}

/// A path as text for the app (lossy only on non-UTF-8 names, which the store never makes).
pub(crate) fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// How much a person may type into a field and attach to one action
/// (`xuncha_core::limits`): a form shows `12/2000` and stops at the limit while the person
/// types, instead of learning it when the device refuses the save.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InputLimits {
    /// Characters per text field, by field name (`description`, `address`, `text`…).
    pub fields: Vec<FieldLimit>,
    /// Photos one action may carry.
    pub photos_per_action: u32,
}

/// One text field's limit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldLimit {
    /// The field's name in operations.
    pub field: String,
    /// Most characters.
    pub max_chars: u32,
}
