//! Workflow actions as the app sends them: one variant per action of the transition table
//! (`xuncha_core::workflow`), except `report` and `edit`, which have their own calls. Whether an
//! action is allowed is decided by the core, never here.

use xuncha_core::OpBody;

/// An action on a case, with what it needs (photos go beside it in `act`).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CaseAction {
    /// 评论.
    Comment { text: String },
    /// 立案.
    Register { note: String },
    /// 不予立案.
    Reject { reason: String },
    /// 标记重复 of an original case.
    MarkDuplicate { duplicate_of: String, note: String },
    /// 派遣 / 改派; no deadline means the category's default.
    Dispatch {
        unit_id: String,
        deadline_ms: Option<i64>,
        note: String,
    },
    /// 签收.
    Acknowledge { note: String },
    /// 整改 (needs an after-photo).
    Rectify { note: String },
    /// 申请退回.
    RequestReturn { reason: String },
    /// 同意退回.
    GrantReturn { note: String },
    /// 不同意退回.
    RefuseReturn { reason: String },
    /// 申请延期 to a later deadline.
    RequestExtension {
        reason: String,
        until_ms: Option<i64>,
    },
    /// 同意延期 (to the requested deadline, or `until_ms`).
    GrantExtension { until_ms: Option<i64>, note: String },
    /// 不同意延期.
    RefuseExtension { reason: String },
    /// 核查通过 (结案).
    VerifyPass { note: String },
    /// 核查不通过 (返工).
    VerifyFail {
        reason: String,
        deadline_ms: Option<i64>,
    },
    /// 重新打开.
    Reopen {
        reason: String,
        deadline_ms: Option<i64>,
    },
    /// 挂起.
    Park { reason: String },
}

impl CaseAction {
    /// The core's operation body (photos are filled in by the store from the attached files).
    pub(crate) fn into_body(self) -> Result<OpBody, crate::error::XunchaError> {
        Ok(match self {
            CaseAction::Comment { text } => OpBody::Comment {
                text,
                photos: vec![],
            },
            CaseAction::Register { note } => OpBody::Register { note },
            CaseAction::Reject { reason } => OpBody::Reject { reason },
            CaseAction::MarkDuplicate { duplicate_of, note } => OpBody::MarkDuplicate {
                duplicate_of: Some(crate::client::parse_id(&duplicate_of)?),
                note,
            },
            CaseAction::Dispatch {
                unit_id,
                deadline_ms,
                note,
            } => OpBody::Dispatch {
                unit_id,
                deadline_ms,
                note,
            },
            CaseAction::Acknowledge { note } => OpBody::Acknowledge { note },
            CaseAction::Rectify { note } => OpBody::Rectify {
                note,
                photos: vec![],
            },
            CaseAction::RequestReturn { reason } => OpBody::RequestReturn { reason },
            CaseAction::GrantReturn { note } => OpBody::GrantReturn { note },
            CaseAction::RefuseReturn { reason } => OpBody::RefuseReturn { reason },
            CaseAction::RequestExtension { reason, until_ms } => {
                OpBody::RequestExtension { reason, until_ms }
            }
            CaseAction::GrantExtension { until_ms, note } => {
                OpBody::GrantExtension { until_ms, note }
            }
            CaseAction::RefuseExtension { reason } => OpBody::RefuseExtension { reason },
            CaseAction::VerifyPass { note } => OpBody::VerifyPass {
                note,
                photos: vec![],
            },
            CaseAction::VerifyFail {
                reason,
                deadline_ms,
            } => OpBody::VerifyFail {
                reason,
                deadline_ms,
                photos: vec![],
            },
            CaseAction::Reopen {
                reason,
                deadline_ms,
            } => OpBody::Reopen {
                reason,
                deadline_ms,
            },
            CaseAction::Park { reason } => OpBody::Park { reason },
        })
    }
}
