//! Authentication: argon2 password hashes, random bearer tokens stored only as SHA-256 hashes,
//! and the extractor that turns a request's token into a [`Principal`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;
use xuncha_core::store::sha256_hex;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Principal;

/// Hash a password for storage (PHC string).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes()).map_err(ApiError::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Check a password against a stored hash (false for malformed hashes).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A valid argon2 hash of a random string, verified against for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ld0cQuJ1E7BtZ7dCQ8xXzQdNiMCv+3dOgmgkKyMhNVI";

/// The user whose password this is: `wrong_credentials` otherwise (after the same argon2 work
/// for unknown users, so names cannot be probed by timing), `user_disabled` for a disabled
/// account. Phones and the console sign in through this one check.
pub async fn check_password(
    state: &AppState,
    user_id: &str,
    password: &str,
) -> Result<crate::store::UserRecord, ApiError> {
    let id = user_id.to_string();
    let rec = state.blocking(move |s| s.user(&id)).await?;
    let hash = rec
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_string(), |r| r.password_hash.clone());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let Some(rec) = rec.filter(|_| ok) else {
        return Err(ApiError::unauthorized(
            "wrong_credentials",
            "用户名或密码错误",
            "wrong user name or password",
        ));
    };
    if rec.disabled {
        return Err(ApiError::forbidden(
            "user_disabled",
            "该账号已停用",
            "this account is disabled",
        ));
    }
    Ok(rec)
}

/// A new random bearer token (244 random bits).
pub fn new_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// What the server stores for a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The name of the console's session cookie (its value is a token like a device's).
pub const SESSION_COOKIE: &str = "xc_session";

/// A cookie's value from the request headers.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Who holds `token`, if it is still good: the same checks for a phone's bearer token and a
/// console session.
pub async fn principal_for_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let hash = token_hash(token);
    let now = state.now_ms();
    let rec = state.blocking(move |s| s.token(&hash)).await?;
    let Some(rec) = rec else {
        return Err(ApiError::unauthorized(
            "unauthorized",
            "登录凭证无效，请重新登录",
            "invalid token, sign in again",
        ));
    };
    if rec.device_revoked {
        return Err(ApiError::forbidden(
            "device_revoked",
            "本设备已被管理员停用",
            "this device was revoked by an administrator",
        ));
    }
    if rec.user_disabled {
        return Err(ApiError::forbidden(
            "user_disabled",
            "该账号已停用",
            "this account is disabled",
        ));
    }
    if rec.revoked || rec.expires_at_ms <= now {
        return Err(ApiError::unauthorized(
            "token_expired",
            "登录已过期，请重新登录（未同步的记录会保留）",
            "session expired, sign in again (unsynced records are kept)",
        ));
    }
    Ok(Principal {
        user: rec.user,
        device_id: rec.device_id,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// A bearer token; or, for reads only (GET/HEAD: photos and thumbnails shown in the console),
    /// the console's session cookie. A cookie never authorizes a change through the API, so the
    /// API needs no CSRF defence; the console's own forms carry a CSRF token.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = match bearer(parts) {
            Some(t) => t.to_string(),
            None if matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            ) =>
            {
                cookie(&parts.headers, SESSION_COOKIE).ok_or_else(missing_token)?
            }
            None => return Err(missing_token()),
        };
        principal_for_token(state, &token).await
    }
}

fn missing_token() -> ApiError {
    ApiError::unauthorized(
        "unauthorized",
        "请先登录",
        "sign in first (missing bearer token)",
    )
}
