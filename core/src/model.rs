//! The data a case is made of: the case row, its operations (what a person did, as sent over the
//! wire and kept in the outbox) and its timeline events. Plain serde types, no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hlc::Hlc;
use crate::workflow::{Action, Role, Status};

/// Who did something: the signed-in user with their role and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// User id from the users directory.
    pub user_id: String,
    /// The role they act in.
    pub role: Role,
    /// Their unit (unit staff always have one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
}

/// Where a problem is: WGS-84 as the phone measured it, plus what a person would call the place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Location {
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// Horizontal accuracy reported by the GNSS, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// Address text (street, landmark).
    #[serde(default)]
    pub address: String,
}

impl Location {
    /// The position as a [`crate::geo::LatLon`].
    pub fn point(&self) -> crate::geo::LatLon {
        crate::geo::LatLon {
            lat: self.lat,
            lon: self.lon,
        }
    }
}

/// What a photo shows in the case's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// 整改前: the problem as found.
    Before,
    /// 整改后: the unit's after-photo.
    After,
    /// 核查: taken on a verification visit.
    Verify,
    /// Attached to a comment.
    Other,
}

impl PhotoKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::Before => "before",
            PhotoKind::After => "after",
            PhotoKind::Verify => "verify",
            PhotoKind::Other => "other",
        }
    }

    /// The kind of the photos a person attaches to `action`: the problem as found on a report,
    /// the after-photo on a rectification, the on-site photo on a verification.
    pub fn of_action(action: Action) -> PhotoKind {
        match action {
            Action::Report => PhotoKind::Before,
            Action::Rectify => PhotoKind::After,
            Action::VerifyPass | Action::VerifyFail => PhotoKind::Verify,
            _ => PhotoKind::Other,
        }
    }

    /// What a photo of this kind is called on screens.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (zh, en) = match self {
            PhotoKind::Before => ("整改前", "Before"),
            PhotoKind::After => ("整改后", "After"),
            PhotoKind::Verify => ("现场核查", "Verification"),
            PhotoKind::Other => ("其他", "Other"),
        };
        lang.pick(zh, en)
    }
}

/// A photo as an operation names it: by the SHA-256 of its bytes, never by a path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRef {
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Role of the photo in the case.
    pub kind: PhotoKind,
    /// `image/jpeg`, `image/png`, `image/webp` or `image/heic`.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// When it was taken (device clock, UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at_ms: Option<i64>,
    /// Where it was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// Field changes of an `edit`; each present field is merged last-writer-wins by HLC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseEdit {
    /// New category code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// New site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    /// New campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

impl CaseEdit {
    /// True if no field is set.
    pub fn is_empty(&self) -> bool {
        self == &CaseEdit::default()
    }
}

/// What an operation does, with its data. One variant per [`Action`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpBody {
    /// 上报.
    Report {
        /// Category code (大类2+小类2).
        category: String,
        /// What the inspector saw.
        #[serde(default)]
        description: String,
        /// Where.
        location: Location,
        /// 点位, if known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        site_id: Option<String>,
        /// 网格, derived from the location when the device knows the grids.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grid_id: Option<String>,
        /// Owner unit of the place, suggested for dispatch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suggested_unit_id: Option<String>,
        /// 专项行动.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        campaign_id: Option<String>,
        /// Found undercover (暗访).
        #[serde(default)]
        undercover: bool,
        /// Before-photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// 修改.
    Edit {
        /// The changed fields.
        changes: CaseEdit,
    },
    /// 评论.
    Comment {
        /// The text.
        text: String,
        /// Optional photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// 立案.
    Register {
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 不予立案.
    Reject {
        /// Why.
        reason: String,
    },
    /// 标记重复.
    MarkDuplicate {
        /// The original case.
        duplicate_of: Option<Uuid>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 派遣 / 改派.
    Dispatch {
        /// Responsible unit.
        unit_id: String,
        /// Deadline, UTC ms (the device fills in the category default when none is chosen).
        deadline_ms: Option<i64>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 签收.
    Acknowledge {
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 整改反馈.
    Rectify {
        /// What was done.
        #[serde(default)]
        note: String,
        /// After-photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// 申请退回.
    RequestReturn {
        /// Why the case is not this unit's.
        reason: String,
    },
    /// 同意退回.
    GrantReturn {
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 驳回退回申请.
    RefuseReturn {
        /// Why.
        reason: String,
    },
    /// 申请延期.
    RequestExtension {
        /// Why.
        reason: String,
        /// Requested new deadline, UTC ms.
        until_ms: Option<i64>,
    },
    /// 同意延期.
    GrantExtension {
        /// The granted deadline; the requested one if `None`.
        #[serde(default)]
        until_ms: Option<i64>,
        /// Note.
        #[serde(default)]
        note: String,
    },
    /// 驳回延期申请.
    RefuseExtension {
        /// Why.
        reason: String,
    },
    /// 核查通过.
    VerifyPass {
        /// Note.
        #[serde(default)]
        note: String,
        /// Verification photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// 返工.
    VerifyFail {
        /// What is still wrong.
        reason: String,
        /// New deadline for the rework, UTC ms.
        deadline_ms: Option<i64>,
        /// Verification photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// 重新打开.
    Reopen {
        /// Why (复发).
        reason: String,
        /// New deadline, UTC ms.
        deadline_ms: Option<i64>,
    },
    /// 挂账.
    Park {
        /// Why it cannot be solved now.
        reason: String,
    },
    /// 催办.
    Urge {
        /// What the unit is pressed to do, and by when.
        reason: String,
    },
    /// 督办.
    Escalate {
        /// Why the case goes up a level.
        reason: String,
    },
    /// 点位测评: a round's site check, submitted whole. The operation's `case_id` is the task's
    /// id ([`crate::round::task_id`]); the server raises the cases its failures call for.
    CheckSite {
        /// Every indicator of the site's type, as found.
        indicators: Vec<crate::round::CheckedIndicator>,
        /// The photos of the deductions, which the indicators name by hash.
        #[serde(default)]
        photos: Vec<PhotoRef>,
        /// Where the phone stood.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<Location>,
        /// A note on the visit.
        #[serde(default)]
        note: String,
    },
    /// 回头看复查: a round's re-check of a closed case on site. The operation's `case_id` is the
    /// task's id; a recurrence reopens the case.
    Recheck {
        /// Still fixed, or recurred.
        outcome: crate::round::RecheckOutcome,
        /// Photos of the place now (at least one).
        #[serde(default)]
        photos: Vec<PhotoRef>,
        /// Where the phone stood.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<Location>,
        /// What was seen.
        #[serde(default)]
        note: String,
    },
}

impl OpBody {
    /// The workflow action this body performs.
    pub fn action(&self) -> Action {
        match self {
            OpBody::Report { .. } => Action::Report,
            OpBody::Edit { .. } => Action::Edit,
            OpBody::Comment { .. } => Action::Comment,
            OpBody::Register { .. } => Action::Register,
            OpBody::Reject { .. } => Action::Reject,
            OpBody::MarkDuplicate { .. } => Action::MarkDuplicate,
            OpBody::Dispatch { .. } => Action::Dispatch,
            OpBody::Acknowledge { .. } => Action::Acknowledge,
            OpBody::Rectify { .. } => Action::Rectify,
            OpBody::RequestReturn { .. } => Action::RequestReturn,
            OpBody::GrantReturn { .. } => Action::GrantReturn,
            OpBody::RefuseReturn { .. } => Action::RefuseReturn,
            OpBody::RequestExtension { .. } => Action::RequestExtension,
            OpBody::GrantExtension { .. } => Action::GrantExtension,
            OpBody::RefuseExtension { .. } => Action::RefuseExtension,
            OpBody::VerifyPass { .. } => Action::VerifyPass,
            OpBody::VerifyFail { .. } => Action::VerifyFail,
            OpBody::Reopen { .. } => Action::Reopen,
            OpBody::Park { .. } => Action::Park,
            OpBody::Urge { .. } => Action::Urge,
            OpBody::Escalate { .. } => Action::Escalate,
            OpBody::CheckSite { .. } => Action::CheckSite,
            OpBody::Recheck { .. } => Action::Recheck,
        }
    }

    /// Photos this operation names.
    pub fn photos(&self) -> &[PhotoRef] {
        match self {
            OpBody::Report { photos, .. }
            | OpBody::Comment { photos, .. }
            | OpBody::Rectify { photos, .. }
            | OpBody::VerifyPass { photos, .. }
            | OpBody::VerifyFail { photos, .. }
            | OpBody::CheckSite { photos, .. }
            | OpBody::Recheck { photos, .. } => photos,
            _ => &[],
        }
    }

    /// Add photos to an operation that carries them; an error for one that does not (nothing is
    /// added then).
    pub fn attach_photos(&mut self, refs: Vec<PhotoRef>) -> crate::Result<()> {
        match self {
            OpBody::Report { photos, .. }
            | OpBody::Comment { photos, .. }
            | OpBody::Rectify { photos, .. }
            | OpBody::VerifyPass { photos, .. }
            | OpBody::VerifyFail { photos, .. }
            | OpBody::CheckSite { photos, .. }
            | OpBody::Recheck { photos, .. } => photos.extend(refs),
            _ if !refs.is_empty() => {
                return Err(crate::Error::InvalidField {
                    field: "photos",
                    reason: format!("'{}' does not take photos", self.action()),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// The reason text, for actions that carry one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            OpBody::Reject { reason }
            | OpBody::RequestReturn { reason }
            | OpBody::RefuseReturn { reason }
            | OpBody::RequestExtension { reason, .. }
            | OpBody::RefuseExtension { reason }
            | OpBody::VerifyFail { reason, .. }
            | OpBody::Reopen { reason, .. }
            | OpBody::Park { reason }
            | OpBody::Urge { reason }
            | OpBody::Escalate { reason } => Some(reason),
            _ => None,
        }
    }

    /// The operation for `action` from what a person filled in (a console form, a test
    /// driver): one place that knows which field each action carries. Photos are attached by
    /// the store (phones) or given in the body by the caller (the console's upload). Whether
    /// the action is allowed, and whether what it requires is there, is the transition table's
    /// decision, not this one's. `report`, `edit`, `check_site` and `recheck` carry their own
    /// fields and are refused here.
    pub fn for_action(action: Action, input: ActionInput) -> crate::Result<OpBody> {
        let ActionInput {
            text,
            unit_id,
            deadline_ms,
            until_ms,
            duplicate_of,
        } = input;
        Ok(match action {
            Action::Report | Action::Edit | Action::CheckSite | Action::Recheck => {
                return Err(crate::Error::InvalidField {
                    field: "action",
                    reason: format!("{} is not made from an action form", action.as_str()),
                });
            }
            Action::Comment => OpBody::Comment {
                text,
                photos: vec![],
            },
            Action::Register => OpBody::Register { note: text },
            Action::Reject => OpBody::Reject { reason: text },
            Action::MarkDuplicate => OpBody::MarkDuplicate {
                duplicate_of,
                note: text,
            },
            Action::Dispatch => OpBody::Dispatch {
                unit_id: unit_id.unwrap_or_default(),
                deadline_ms,
                note: text,
            },
            Action::Acknowledge => OpBody::Acknowledge { note: text },
            Action::Rectify => OpBody::Rectify {
                note: text,
                photos: vec![],
            },
            Action::RequestReturn => OpBody::RequestReturn { reason: text },
            Action::GrantReturn => OpBody::GrantReturn { note: text },
            Action::RefuseReturn => OpBody::RefuseReturn { reason: text },
            Action::RequestExtension => OpBody::RequestExtension {
                reason: text,
                until_ms,
            },
            Action::GrantExtension => OpBody::GrantExtension {
                until_ms,
                note: text,
            },
            Action::RefuseExtension => OpBody::RefuseExtension { reason: text },
            Action::VerifyPass => OpBody::VerifyPass {
                note: text,
                photos: vec![],
            },
            Action::VerifyFail => OpBody::VerifyFail {
                reason: text,
                deadline_ms,
                photos: vec![],
            },
            Action::Reopen => OpBody::Reopen {
                reason: text,
                deadline_ms,
            },
            Action::Park => OpBody::Park { reason: text },
            Action::Urge => OpBody::Urge { reason: text },
            Action::Escalate => OpBody::Escalate { reason: text },
        })
    }

    /// The person's words on this operation: its reason, note or comment text.
    pub fn text(&self) -> Option<&str> {
        if let Some(r) = self.reason() {
            return Some(r);
        }
        match self {
            OpBody::Register { note }
            | OpBody::MarkDuplicate { note, .. }
            | OpBody::Dispatch { note, .. }
            | OpBody::Acknowledge { note }
            | OpBody::Rectify { note, .. }
            | OpBody::GrantReturn { note }
            | OpBody::GrantExtension { note, .. }
            | OpBody::VerifyPass { note, .. }
            | OpBody::CheckSite { note, .. }
            | OpBody::Recheck { note, .. } => Some(note),
            OpBody::Comment { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The deadline this operation sets, for actions that set one.
    pub fn deadline_ms(&self) -> Option<i64> {
        match self {
            OpBody::Dispatch { deadline_ms, .. }
            | OpBody::VerifyFail { deadline_ms, .. }
            | OpBody::Reopen { deadline_ms, .. } => *deadline_ms,
            _ => None,
        }
    }
}

/// What a person fills in for an action; [`OpBody::for_action`] builds the operation from it.
/// Fields an action does not use are ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionInput {
    /// The reason, note or comment.
    pub text: String,
    /// The responsible unit (dispatch).
    pub unit_id: Option<String>,
    /// The deadline (dispatch, send back, reopen); `None`: the category's default, filled in by
    /// the client (`ReferenceIndex::complete_deadline`).
    pub deadline_ms: Option<i64>,
    /// The new deadline asked for or granted (extensions).
    pub until_ms: Option<i64>,
    /// The original case (mark duplicate).
    pub duplicate_of: Option<Uuid>,
}

/// One operation: a person's action on a case, as kept in the outbox and pushed to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Op {
    /// UUIDv7, made on the device; the idempotency key.
    pub id: Uuid,
    /// The case acted on (for `report`, the new case's UUIDv7).
    pub case_id: Uuid,
    /// Device that made it.
    pub device_id: String,
    /// Who.
    pub actor: Actor,
    /// Hybrid logical timestamp on the device.
    pub hlc: Hlc,
    /// The device's wall clock when it was made (UTC ms, possibly wrong).
    pub device_time_ms: i64,
    /// What.
    pub body: OpBody,
}

/// A pending 申请延期.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtensionRequest {
    /// Requested deadline, UTC ms.
    pub until_ms: i64,
    /// Why.
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An id made from `text` (RFC 9562 version 8, from its SHA-256): the same text gives the same
/// id on every instance and after every restart, for what the server makes once by itself
/// (an automatic escalation, a notice).
pub fn name_based_id(text: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// A case for the core's unit tests: dispatched to `u1` in 东门菜场, in `status`, with the
/// deadline `deadline` set at `set`, escalated `escalations` times, placed in `area`.
#[cfg(test)]
pub(crate) fn sample_case(
    status: crate::workflow::Status,
    set: Option<i64>,
    deadline: Option<i64>,
    escalations: u32,
    area: Option<&str>,
) -> Case {
    let json = serde_json::json!({
        "id": Uuid::now_v7(), "category": "0101", "description": "",
        "location": {"lat": 30.0, "lon": 120.0, "address": "东门菜场"},
        "reporter_id": "i", "unit_id": "u1", "deadline_ms": deadline,
        "deadline_set_ms": set, "status": status.as_str(), "escalations": escalations,
        "area_id": area, "undercover": false, "reported_at_ms": 0,
        "reported_hlc": "000000000000-00000000-0000000000000000",
        "updated_hlc": "000000000000-00000000-0000000000000000", "updated_at_ms": 0
    });
    serde_json::from_value(json).expect("case")
}

/// A case as every screen shows it: derived from its events by [`crate::fold`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    /// UUIDv7 made by the reporting device.
    pub id: Uuid,
    /// 案卷号, given by the server on registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    /// Category code.
    pub category: String,
    /// Description.
    pub description: String,
    /// Where.
    pub location: Location,
    /// 点位.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    /// 网格.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_id: Option<String>,
    /// 区域: the area of its place, set by the server from its reference data on every change
    /// ([`crate::reference::ReferenceIndex::area_of_place`]); devices show it, never decide it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
    /// Owner of the place, suggested for dispatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_unit_id: Option<String>,
    /// Reporter's user id.
    pub reporter_id: String,
    /// Responsible unit once dispatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
    /// When the current deadline was set (UTC ms: the server's receipt of the operation that
    /// set it): its time runs from here, for the deadline warning at a share of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_set_ms: Option<i64>,
    /// Deadline (UTC ms) once dispatched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
    /// Lifecycle status.
    pub status: Status,
    /// Times sent back for rework (返工).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rework_count: u32,
    /// Times escalated (督办): each hands the case one level up its area's tree
    /// ([`Case::escalated_to`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub escalations: u32,
    /// Extensions granted (延期).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub extension_count: u32,
    /// A pending extension request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_extension: Option<ExtensionRequest>,
    /// The original case, for duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<Uuid>,
    /// 专项行动.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// Found undercover (暗访).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undercover: bool,
    /// Device time of the report, UTC ms.
    pub reported_at_ms: i64,
    /// HLC of the report.
    pub reported_hlc: Hlc,
    /// Latest HLC of any event.
    pub updated_hlc: Hlc,
    /// Device time of the latest event, UTC ms.
    pub updated_at_ms: i64,
    /// When the server received the report (None until synced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_received_at_ms: Option<i64>,
    /// Open cases of the same category reported within 50 m and 24 h before this one, found by
    /// the server on receipt: a hint for the supervisor, never an automatic merge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probable_duplicates: Vec<Uuid>,
    /// The round check that raised it (set by the server when it raises the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<crate::round::CheckOrigin>,
    /// HLC of the last edit of each field (last-writer-wins merge); a field that was never
    /// edited is absent and counts as written at `reported_hlc`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_hlc: BTreeMap<String, Hlc>,
}

impl Case {
    /// The area whose office supervises the case after its escalations (督办): the area of its
    /// place for none, then one level up each time, the city at most. None for a case placed
    /// outside every area, which the city office supervises anyway.
    pub fn escalated_to<'a>(&self, areas: &'a crate::area::AreaTree) -> Option<&'a str> {
        areas.above(self.area_id.as_deref()?, self.escalations as usize)
    }

    /// Derived, never stored: past its deadline while the unit's clock is running.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.status.deadline_running() && self.deadline_ms.is_some_and(|d| now_ms > d)
    }
}

/// One entry of a case's timeline: the operation plus what it did to the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// The operation.
    pub op: Op,
    /// Status before (None for the report).
    pub from_status: Option<Status>,
    /// Status after.
    pub to_status: Status,
    /// When the server received it (None while only on this device).
    pub server_time_ms: Option<i64>,
    /// The case number this event gave (registration on the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_no: Option<String>,
    /// Position in the server's change feed (None while only on this device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_seq: Option<i64>,
    /// For a report: the probable duplicates the server found on receipt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probable_duplicates: Vec<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_but_report_and_edit_builds_its_own_operation() {
        for &a in Action::ALL {
            let built = OpBody::for_action(
                a,
                ActionInput {
                    text: "说明".into(),
                    unit_id: Some("u1".into()),
                    deadline_ms: Some(5),
                    until_ms: Some(6),
                    duplicate_of: Some(Uuid::nil()),
                },
            );
            match a {
                Action::Report | Action::Edit | Action::CheckSite | Action::Recheck => {
                    assert!(built.is_err(), "{a:?}")
                }
                _ => {
                    let body = built.unwrap_or_else(|e| panic!("{a:?}: {e}"));
                    assert_eq!(body.action(), a);
                    assert_eq!(body.text(), Some("说明"), "{a:?} keeps the person's words");
                    assert_eq!(
                        body.deadline_ms().is_some(),
                        matches!(a, Action::Dispatch | Action::VerifyFail | Action::Reopen)
                    );
                }
            }
        }
    }
}
