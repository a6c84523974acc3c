//! Sign-in and sign-out of a device.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use xuncha_core::sync::protocol::{LoginRequest, LoginResponse};

use crate::auth::{new_token, token_hash, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::store::Principal;

/// `POST /v1/auth/login`: password sign-in from a named device; returns a bearer token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    request_body(content = Object, description = "LoginRequest {user_id, password, device_id, device_name}"),
    responses((status = 200, description = "LoginResponse {token, expires_at_ms, user, server_time_ms}", body = Object),
              (status = 401, description = "wrong user or password", body = Object),
              (status = 403, description = "device revoked or user disabled", body = Object)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if req.user_id.trim().is_empty() || req.device_id.trim().is_empty() || req.device_id.len() > 100
    {
        return Err(ApiError::bad_request(
            "missing_field",
            "须填写用户名和设备标识",
            "user_id and device_id are required",
        ));
    }
    let now = state.now_ms();
    let user_id = req.user_id.clone();
    let rec = state.blocking(move |s| s.user(&user_id)).await?;
    let wrong = || {
        ApiError::unauthorized(
            "wrong_credentials",
            "用户名或密码错误",
            "wrong user name or password",
        )
    };
    let Some(rec) = rec else {
        // Spend the same time as a real check, so user names cannot be probed by timing.
        let _ = verify_password(&req.password, DUMMY_HASH);
        return Err(wrong());
    };
    let password = req.password.clone();
    let hash = rec.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Err(wrong());
    }
    if rec.disabled {
        return Err(ApiError::forbidden(
            "user_disabled",
            "该账号已停用",
            "this account is disabled",
        ));
    }
    let (device_id, user_id, name) = (
        req.device_id.clone(),
        rec.user.id.clone(),
        req.device_name.clone(),
    );
    let device = state
        .blocking(move |s| s.register_device(&device_id, &user_id, &name, now))
        .await?;
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

/// A valid argon2 hash of a random string, verified against for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ld0cQuJ1E7BtZ7dCQ8xXzQdNiMCv+3dOgmgkKyMhNVI";

/// `POST /v1/auth/logout`: revoke the caller's token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "signed out")))]
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
