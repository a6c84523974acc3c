//! The sync protocol's messages (HTTP+JSON, versioned under `/v1`), shared by the server and the
//! device client so the two can never disagree on a field.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{Case, Event, Op};
use crate::reference::User;

/// The protocol version this code speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Header carrying the protocol version on every request.
pub const PROTOCOL_HEADER: &str = "x-xuncha-protocol";

/// The refusal code of an operation stamped too far ahead of the server's clock: the device
/// re-stamps it with its corrected clock and pushes it again (never an inbox entry).
pub const CLOCK_AHEAD: &str = "clock_ahead";

/// Header carrying the server's clock (UTC ms) on every response.
pub const SERVER_TIME_HEADER: &str = "x-server-time";

/// `POST /v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    /// User id (login name).
    pub user_id: String,
    /// Password (never logged).
    pub password: String,
    /// The device's id (made by the device store).
    pub device_id: String,
    /// A name for the device, shown to admins.
    #[serde(default)]
    pub device_name: String,
}

/// Answer to a login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token for this device.
    pub token: String,
    /// When it expires (UTC ms).
    pub expires_at_ms: i64,
    /// Who signed in.
    pub user: User,
    /// Server clock.
    pub server_time_ms: i64,
}

/// `POST /v1/push`: operations in the device's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// The operations.
    pub ops: Vec<Op>,
}

/// What the server decided about one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Applied (now, or the first time it was pushed).
    Accepted,
    /// Refused; `code` and `reason` say why.
    Rejected,
}

/// Result of one pushed operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpResult {
    /// The operation.
    pub op_id: Uuid,
    /// The case it concerns.
    pub case_id: Uuid,
    /// Accepted or rejected.
    pub status: OpStatus,
    /// Stable error code when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human reason (zh-CN) when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Change-feed sequence of the event when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// When the server first received it (UTC ms).
    pub server_time_ms: i64,
}

/// Answer to a push: one result per operation, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// Results.
    pub results: Vec<OpResult>,
    /// Server clock.
    pub server_time_ms: i64,
}

/// One change in a pull page: `{"kind": "upsert"|"remove", "data": {…}}`. Adjacently tagged with
/// the tag first, so a device decodes a page in one pass (an internally tagged enum would buffer
/// every case and its timeline before decoding it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Change {
    /// The case as the server has it now, with timeline events (all of them when `full`).
    Upsert {
        /// The server's case.
        case: Box<Case>,
        /// Feed sequence of the last event `case` reflects.
        seq: i64,
        /// Events, by sequence.
        events: Vec<Event>,
        /// True when the case just entered the caller's scope: `events` is the whole timeline.
        full: bool,
    },
    /// The case left the caller's scope: drop it (pending ops on it are still pushed).
    Remove {
        /// The case.
        case_id: Uuid,
    },
}

/// `GET /v1/pull?cursor=N&limit=M`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Changes in the caller's scope after the cursor.
    pub changes: Vec<Change>,
    /// Cursor to send next time.
    pub cursor: i64,
    /// True if more pages follow now.
    pub has_more: bool,
    /// The page holds whole cases in the order of their last change (the server granted a
    /// `whole` pull): while `has_more`, the next page is asked for the same way.
    #[serde(default)]
    pub whole: bool,
    /// Version of the reference data; fetch `/v1/reference` when it changed.
    pub reference_version: i64,
    /// Server clock.
    pub server_time_ms: i64,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable code.
    pub code: String,
    /// Message for a person, in zh-CN.
    pub message: String,
    /// The same message in English.
    #[serde(default)]
    pub message_en: String,
}

/// Header with the byte offset of an upload PATCH (as in tus 1.0).
pub const UPLOAD_OFFSET: &str = "upload-offset";

/// `POST /v1/uploads`: announce a photo.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUpload {
    /// SHA-256 of the whole photo, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// State of a photo upload on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadStatus {
    /// The photo.
    pub sha256: String,
    /// Bytes the server holds; the next PATCH starts here.
    pub offset: u64,
    /// Total size.
    pub size: u64,
    /// True once the photo is stored (checked and content-addressed).
    pub complete: bool,
}

/// `GET /v1/notices?after=SEQ&limit=N`: the caller's notices after their cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoticePage {
    /// The notices, oldest first.
    pub notices: Vec<crate::notify::Notice>,
    /// The `seq` to ask after next time.
    pub cursor: i64,
    /// True when more notices follow now.
    pub has_more: bool,
    /// How many of the caller's notices are unread (on the server).
    pub unread: u64,
}

/// `GET /v1/tasks`: the caller's round tasks (issue 17): every task of a round not yet closed
/// whose team they are on, done ones too, with its round. A phone replaces its list with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskList {
    /// The rounds the tasks belong to.
    pub rounds: Vec<crate::round::Round>,
    /// The tasks, by round then planning order.
    pub tasks: Vec<crate::round::Task>,
    /// The cases the 回头看 tasks re-check, as they stand (the person may not otherwise see
    /// them: the task lets them).
    #[serde(default)]
    pub cases: Vec<crate::model::Case>,
}

/// `GET /v1/rounds`: the rounds the caller may see (supervisors and admins), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundList {
    /// The rounds.
    pub rounds: Vec<crate::round::Round>,
}

/// `GET /v1/rounds/{id}`: a round with its tasks and their results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundDetail {
    /// The round.
    pub round: crate::round::Round,
    /// Its tasks in planning order, each with its result once submitted.
    pub tasks: Vec<crate::round::Task>,
}

/// `POST /v1/notices/read`: the caller read these notices (on a phone, perhaps offline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkRead {
    /// Notice ids (at most [`crate::limits::NOTICES_PER_READ`]).
    pub ids: Vec<uuid::Uuid>,
}

/// The answer to [`MarkRead`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkReadAnswer {
    /// How many were unread and now are read (others' ids and read ones change nothing).
    pub marked: u64,
    /// How many of the caller's notices are still unread.
    pub unread: u64,
}
