//! A person's notices (issue 16): pulled by their phones after a cursor, like cases, and read
//! state sent back (`POST /v1/notices/read`); the console lists the same copies.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use xuncha_core::limits::NOTICES_PER_READ;
use xuncha_core::sync::protocol::{MarkRead, MarkReadAnswer, NoticePage};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::store::Principal;

/// Query of a notice pull.
#[derive(Debug, Deserialize)]
pub struct NoticeParams {
    /// The `seq` of the last notice the device holds (0 the first time).
    #[serde(default)]
    pub after: i64,
    /// Page size (1..=500, default 500).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `GET /v1/notices?after=SEQ`: the caller's notices after their cursor, oldest first.
#[utoipa::path(get, path = "/v1/notices", tag = "notices", security(("bearer" = [])),
    params(("after" = Option<i64>, Query, description = "the seq of the last notice held (0 the first time)"),
           ("limit" = Option<usize>, Query, description = "page size, 1..=500 (default 500)")),
    responses((status = 200, description = "the caller's notices after the cursor, and how many are unread", body = NoticePage),
              (status = 400, description = "a negative cursor or a malformed query", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn list(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<NoticeParams>,
) -> ApiResult<Json<NoticePage>> {
    if q.after < 0 {
        return Err(ApiError::bad_request(
            "invalid_cursor",
            "游标不能为负数",
            "cursor must not be negative",
        ));
    }
    let limit = q
        .limit
        .unwrap_or(NOTICES_PER_READ)
        .clamp(1, NOTICES_PER_READ);
    let user = who.user.id.clone();
    let (notices, unread) = state
        .blocking(move |s| {
            Ok((
                s.notices_after(&user, q.after, limit + 1)?,
                s.unread_notices(&user)?,
            ))
        })
        .await?;
    let has_more = notices.len() > limit;
    let notices: Vec<_> = notices.into_iter().take(limit).collect();
    Ok(Json(NoticePage {
        cursor: notices.last().map(|n| n.seq).unwrap_or(q.after),
        notices,
        has_more,
        unread,
    }))
}

/// `POST /v1/notices/read`: the caller read these notices (ids of others' notices change
/// nothing).
#[utoipa::path(post, path = "/v1/notices/read", tag = "notices", security(("bearer" = [])),
    request_body = MarkRead,
    responses((status = 200, description = "how many were marked, and how many are still unread", body = MarkReadAnswer),
              (status = 400, description = "more ids than one request may carry, or a malformed body", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn read(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(req): ApiJson<MarkRead>,
) -> ApiResult<Json<MarkReadAnswer>> {
    if req.ids.len() > NOTICES_PER_READ {
        return Err(ApiError::bad_request(
            "too_many",
            format!("一次最多标记 {NOTICES_PER_READ} 条通知"),
            format!("at most {NOTICES_PER_READ} notices at once"),
        ));
    }
    let user = who.user.id.clone();
    let now = state.now_ms();
    let (marked, unread) = state
        .blocking(move |s| {
            Ok((
                s.mark_notices_read(&user, &req.ids, now)?,
                s.unread_notices(&user)?,
            ))
        })
        .await?;
    Ok(Json(MarkReadAnswer {
        marked: marked as u64,
        unread,
    }))
}
