//! Sign-in and sign-out of a device.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use xuncha_core::sync::protocol::{LoginRequest, LoginResponse};

use crate::auth::{ClientAddr, check_password, is_console_device, new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::store::Principal;

/// `POST /v1/auth/login`: password sign-in from a named device; returns a bearer token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", security(()),
    request_body = LoginRequest,
    responses((status = 200, description = "signed in: a bearer token for this device", body = LoginResponse),
              (status = 400, description = "malformed request", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "wrong user or password (wrong_credentials)", body = xuncha_core::sync::protocol::ApiError),
              (status = 403, description = "device revoked or user disabled", body = xuncha_core::sync::protocol::ApiError),
              (status = 409, description = "the device id belongs to another user (device_taken)", body = xuncha_core::sync::protocol::ApiError),
              (status = 429, description = "too many attempts: wait `Retry-After` seconds", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if req.user_id.trim().is_empty()
        || req.device_id.trim().is_empty()
        || req.device_id.chars().count() > xuncha_core::limits::DEVICE_CHARS
    {
        return Err(ApiError::bad_request(
            "missing_field",
            "须填写用户名和设备标识",
            "user_id and device_id are required",
        ));
    }
    if is_console_device(&req.device_id) {
        return Err(ApiError::bad_request(
            "reserved_device_id",
            "该设备标识保留给浏览器控制台",
            "device ids starting with 'console-' are reserved for console sessions",
        ));
    }
    if req
        .device_id
        .starts_with(crate::auth::OPEN311_DEVICE_PREFIX)
        || req.device_id == xuncha_core::escalation::SYSTEM_DEVICE
    {
        return Err(ApiError::bad_request(
            "reserved_device_id",
            "该设备标识保留给 Open311 接入方或服务器自身",
            "device ids starting with 'open311:', and 'server', are reserved for Open311 clients and the server's own operations",
        ));
    }
    let now = state.now_ms();
    let rec = check_password(&state, &req.user_id, &req.password, addr).await?;
    let device_name: String = req
        .device_name
        .chars()
        .take(xuncha_core::limits::DEVICE_CHARS)
        .collect();
    let (device_id, user_id, name) = (req.device_id.clone(), rec.user.id.clone(), device_name);
    let device = state
        .blocking(move |s| s.register_device(&device_id, &user_id, &name, now))
        .await?;
    if device.user_id != rec.user.id {
        // A device id belongs to the user who registered it: nothing was changed.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "device_taken",
            "该设备标识已登记给另一位用户；换人使用请由管理员停用原设备，或在应用中重新安装",
            "this device id is registered to another user; an administrator can revoke it, or reinstall the app",
        ));
    }
    if device.revoked {
        return Err(ApiError::forbidden(
            "device_revoked",
            "本设备已被管理员停用",
            "this device was revoked by an administrator",
        ));
    }
    let token = new_token();
    let (hash, user_id, device_id) = (
        token_hash(&token),
        rec.user.id.clone(),
        req.device_id.clone(),
    );
    let expires = now + state.config.token_ttl_ms;
    state
        .blocking(move |s| s.insert_token(&hash, &user_id, &device_id, now, expires))
        .await?;
    Ok(Json(LoginResponse {
        token,
        expires_at_ms: expires,
        user: rec.user,
        server_time_ms: now,
    }))
}

/// `POST /v1/auth/logout`: revoke the caller's token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "signed out: the token no longer works"),
              (status = 401, description = "no valid token", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn logout(
    State(state): State<AppState>,
    _who: Principal,
    headers: axum::http::HeaderMap,
) -> ApiResult<StatusCode> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_string();
    let hash = token_hash(&token);
    state.blocking(move |s| s.revoke_token(&hash)).await?;
    Ok(StatusCode::NO_CONTENT)
}
