//! Authentication: argon2 password hashes, random bearer tokens stored only as SHA-256 hashes,
//! and the extractor that turns a request's token into a [`Principal`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;
use xuncha_core::limits;
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

/// The client's address: the peer of the connection, or — only when the server is told it sits
/// behind a reverse proxy — the last `X-Forwarded-For` entry that proxy added.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                    .next_back()
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(forwarded.or(peer)))
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::unauthorized(
        "wrong_credentials",
        "用户名或密码错误",
        "wrong user name or password",
    )
}

/// The user whose password this is: `wrong_credentials` otherwise (after the same argon2 work
/// for unknown users, so names cannot be probed by timing), `user_disabled` for a disabled
/// account. Phones and the console sign in through this one check, so both are throttled by
/// [`crate::signin_guard`] and every refusal is logged (never the password) and counted.
pub async fn check_password(
    state: &AppState,
    user_id: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<crate::store::UserRecord, ApiError> {
    let refused = |reason: &str, e: ApiError| {
        tracing::warn!(user = %user_id.chars().take(64).collect::<String>(),
            addr = ?addr, reason, "sign-in refused");
        state
            .metrics
            .signin_refused
            .with_label_values(&[reason])
            .inc();
        e
    };
    if user_id.chars().count() > limits::USER_ID_CHARS || password.len() > limits::PASSWORD_BYTES {
        // Counted like a wrong password: an over-long guess is still a guess.
        state.signin.failed(user_id, addr, state.now_ms());
        return Err(refused("too_long", wrong_credentials()));
    }
    let guard = &state.signin;
    let throttled = || {
        guard.check(user_id, addr, state.now_ms()).map_err(|t| {
            let reason = if t.locked {
                "signin_locked"
            } else {
                "signin_throttled"
            };
            refused(reason, t.into_error())
        })
    };
    throttled()?;
    let turn = match guard.hashing_turn().await {
        Ok(t) => t,
        Err(e) => return Err(refused("signin_busy", e)),
    };
    // Failures may have come in while this one waited for its turn.
    throttled()?;
    let id = user_id.to_string();
    let rec = state.blocking(move |s| s.user(&id)).await?;
    let hash = rec
        .as_ref()
        .map_or_else(|| DUMMY_HASH.to_string(), |r| r.password_hash.clone());
    let (password, checker) = (password.to_string(), state.signin.clone());
    let ok = tokio::task::spawn_blocking(move || checker.verify(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    drop(turn);
    let Some(rec) = rec.filter(|_| ok) else {
        guard.failed(user_id, addr, state.now_ms());
        return Err(refused("wrong_credentials", wrong_credentials()));
    };
    guard.succeeded(user_id);
    if rec.disabled {
        return Err(refused(
            "user_disabled",
            ApiError::forbidden("user_disabled", "该账号已停用", "this account is disabled"),
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

/// Device ids of console sessions start with this; phones may not use it, so a console session
/// and a phone's token are different kinds: a phone's token never opens console pages and a
/// console session never pushes as a phone.
pub const CONSOLE_DEVICE_PREFIX: &str = "console-";

/// Is this the device id of a console session?
pub fn is_console_device(device_id: &str) -> bool {
    device_id.starts_with(CONSOLE_DEVICE_PREFIX)
}

/// The devices Open311 clients report from (`open311:NAME`): never a phone's.
pub const OPEN311_DEVICE_PREFIX: &str = "open311:";

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
        let (token, console) = match bearer(parts) {
            Some(t) => (t.to_string(), false),
            None if matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD
            ) =>
            {
                (
                    cookie(&parts.headers, SESSION_COOKIE).ok_or_else(missing_token)?,
                    true,
                )
            }
            None => return Err(missing_token()),
        };
        let who = principal_for_token(state, &token).await?;
        // A bearer token is a phone's, a cookie a console session's: neither stands in for the
        // other.
        if is_console_device(&who.device_id) != console {
            return Err(ApiError::unauthorized(
                "unauthorized",
                "登录凭证无效，请重新登录",
                "invalid token, sign in again",
            ));
        }
        Ok(who)
    }
}

fn missing_token() -> ApiError {
    ApiError::unauthorized(
        "unauthorized",
        "请先登录",
        "sign in first (missing bearer token)",
    )
}
