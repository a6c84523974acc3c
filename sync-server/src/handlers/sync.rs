//! Push and pull: the device's outbox in, the caller's scoped changes out.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tracing::Instrument;
use xuncha_core::sync::protocol::{OpStatus, PushRequest, PushResponse};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::{Principal, PullPage};

/// `POST /v1/push`: ordered operations; one result each, idempotent by op id.
#[utoipa::path(post, path = "/v1/push", tag = "sync", security(("bearer" = [])),
    params(("x-xuncha-protocol" = Option<u32>, Header, description = "the sync protocol the app speaks (1); another gets 426")),
    request_body = PushRequest,
    responses((status = 200, description = "one result per operation, in order: accepted (with its feed sequence) or rejected (with a stable code and a reason); a replayed operation gets its first answer", body = PushResponse),
              (status = 400, description = "malformed request", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 413, description = "too many operations in one push (too_many_ops) or too large a body", body = xuncha_core::sync::protocol::ApiError),
              (status = 426, description = "the app speaks another protocol version: update it", body = xuncha_core::sync::protocol::ApiError),
              (status = 503, description = "storage unavailable: retry", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn push(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    if req.ops.len() > state.config.max_push_ops {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_ops",
            format!("一次最多提交 {} 条操作", state.config.max_push_ops),
            format!("at most {} operations per push", state.config.max_push_ops),
        ));
    }
    let timer = state
        .metrics
        .sync_seconds
        .with_label_values(&["push"])
        .start_timer();
    let now = state.now_ms();
    let span = tracing::info_span!("push", user = %who.user.id, device = %who.device_id,
        ops = req.ops.len());
    let results = state.push(who, req.ops, now).instrument(span).await?;
    timer.observe_duration();
    for r in &results {
        match r.status {
            OpStatus::Accepted => state.metrics.ops_accepted.inc(),
            OpStatus::Rejected => {
                let code = r.code.as_deref().unwrap_or("rejected");
                // Logged once, where it is decided (`apply::push_batch`).
                state.metrics.ops_rejected.with_label_values(&[code]).inc();
            }
        }
    }
    Ok(Json(PushResponse {
        results,
        server_time_ms: now,
    }))
}

/// Query of a pull.
#[derive(Debug, Deserialize)]
pub struct PullParams {
    /// Cursor from the previous pull (0 the first time).
    #[serde(default)]
    pub cursor: i64,
    /// Page size (1..=1000, default 500).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Catching up: whole cases by their last change, where the caller's scope allows.
    #[serde(default)]
    pub whole: bool,
}

/// `GET /v1/pull?cursor=N&limit=M[&whole=true]`: changes in the caller's scope after the cursor.
#[utoipa::path(get, path = "/v1/pull", tag = "sync", security(("bearer" = [])),
    params(("cursor" = Option<i64>, Query, description = "cursor from the previous pull (0 the first time)"),
           ("limit" = Option<usize>, Query, description = "page size, 1..=1000 (default 500)"),
           ("whole" = Option<bool>, Query, description = "catching up (cursor 0, or the previous page said `whole` and `has_more`): whole cases in the order of their last change, each once; granted to supervisors and admins (`whole` in the answer says whether it was)"),
           ("x-xuncha-protocol" = Option<u32>, Header, description = "the sync protocol the app speaks (1); another gets 426")),
    responses((status = 200, description = "changes in the caller's scope after the cursor", body = PullPage),
              (status = 400, description = "a negative cursor or a malformed query", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 426, description = "the app speaks another protocol version", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn pull(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<PullParams>,
) -> ApiResult<Json<PullPage>> {
    if q.cursor < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "游标不能为负数",
            "cursor must not be negative",
        ));
    }
    let timer = state
        .metrics
        .sync_seconds
        .with_label_values(&["pull"])
        .start_timer();
    let now = state.now_ms();
    let limit = q.limit.unwrap_or(500);
    let span = tracing::info_span!("pull", user = %who.user.id, device = %who.device_id,
        cursor = q.cursor, whole = q.whole);
    let page = state
        .blocking(move |s| s.pull(&who, q.cursor, limit, q.whole, now))
        .instrument(span)
        .await?;
    timer.observe_duration();
    tracing::debug!(
        changes = page.changes.len(),
        cursor = page.cursor,
        has_more = page.has_more,
        "pull answered"
    );
    Ok(Json(page))
}

/// `GET /v1/reference`: the reference data (categories, units, sites, grids, users, campaigns).
#[utoipa::path(get, path = "/v1/reference", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "the reference data and its version", body = ReferenceAnswer),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn reference(
    State(state): State<AppState>,
    _who: Principal,
) -> ApiResult<Json<ReferenceAnswer>> {
    let (version, data) = state.blocking(|s| s.reference()).await?;
    Ok(Json(ReferenceAnswer { version, data }))
}

/// The answer of `GET /v1/reference`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReferenceAnswer {
    /// Its version: a device asks again when a pull names a newer one.
    pub version: i64,
    /// Categories, units, sites, grids, users, campaigns, the working calendar and the scoring.
    pub data: xuncha_core::reference::ReferenceData,
}
