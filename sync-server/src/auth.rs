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

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(token) = bearer(parts) else {
            return Err(ApiError::unauthorized(
                "unauthorized",
                "请先登录",
                "sign in first (missing bearer token)",
            ));
        };
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
}
