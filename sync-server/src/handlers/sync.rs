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
#[utoipa::path(post, path = "/v1/push", tag = "sync",
    request_body(content = Object, description = "PushRequest {ops: [Op]}"),
    responses((status = 200, description = "PushResponse {results, server_time_ms}", body = Object),
              (status = 400, description = "malformed request", body = Object),
              (status = 401, description = "sign in again", body = Object),
              (status = 413, description = "too large", body = Object)))]
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
#[utoipa::path(get, path = "/v1/pull", tag = "sync",
    params(("cursor" = Option<i64>, Query, description = "cursor from the previous pull"),
           ("limit" = Option<usize>, Query, description = "page size, 1..=1000"),
           ("whole" = Option<bool>, Query, description = "catching up (cursor 0, or the previous page said `whole` and `has_more`): whole cases in the order of their last change, each once; granted to supervisors and admins (`whole` in the answer says whether it was)")),
    responses((status = 200, description = "PullResponse {changes, cursor, has_more, whole, reference_version, server_time_ms}", body = Object),
              (status = 401, description = "sign in again", body = Object)))]
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
#[utoipa::path(get, path = "/v1/reference", tag = "sync",
    responses((status = 200, description = "{version, data: ReferenceData}", body = Object)))]
pub async fn reference(
    State(state): State<AppState>,
    _who: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let (version, data) = state.blocking(|s| s.reference()).await?;
    Ok(Json(
        serde_json::json!({ "version": version, "data": data }),
    ))
}
