//! Console sign-in: a password form (login-CSRF protected by a double-submit cookie), a session
//! cookie holding a token like a device's, and the CSRF token every other form carries.

use axum::extract::{Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;
use xuncha_core::store::sha256_hex;
use xuncha_core::workflow::Role;

use super::i18n::{Lang, t};
use super::pages::layout_bare;
use crate::auth::{
    CONSOLE_DEVICE_PREFIX, ClientAddr, SESSION_COOKIE, check_password, cookie, is_console_device,
    new_token, principal_for_token, token_hash,
};
use crate::state::AppState;
use crate::store::Principal;

/// Cookie of the login form's double-submit token.
const PRE_COOKIE: &str = "xc_pre";

/// The CSRF token of a session: only a page served to that session can know it.
pub fn csrf_for(session: &str) -> String {
    sha256_hex(format!("xuncha-console-csrf:{session}").as_bytes())[..32].to_string()
}

/// A signed-in console user, their session and the page's language. Handlers take it as an
/// extractor; anyone without a live session is sent to the sign-in page instead.
pub struct Console {
    pub who: Principal,
    pub session: Session,
    pub lang: Lang,
}

/// A console session: its token (it reads as the token, for [`csrf_for`]) and what the page
/// header shows of the person's notices.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The session token.
    pub token: String,
    /// The header's notices.
    pub bell: super::notices::Bell,
}

impl std::ops::Deref for Session {
    type Target = str;
    fn deref(&self) -> &str {
        &self.token
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = super::i18n::lang_of(&parts.headers);
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/console/login").into_response());
        };
        match principal_for_token(state, &session).await {
            // Only a console session: a phone's token in the cookie opens nothing here.
            Ok(who) if is_console_device(&who.device_id) => {
                let bell = super::notices::Bell::load(state, &who).await;
                Ok(Console {
                    who,
                    session: Session {
                        token: session,
                        bell,
                    },
                    lang,
                })
            }
            _ => Err(Redirect::to("/console/login").into_response()),
        }
    }
}

/// A form whose CSRF token does not match its session: refused, nothing changed.
pub fn forged(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        layout_bare(
            lang,
            t(lang, "请求无效", "Invalid request"),
            html! { div.msg.err { (t(lang, "表单已过期或来源不明，未做任何修改。请刷新页面后重试。", "This form expired or did not come from this console; nothing was changed. Reload the page and try again.")) } },
        ),
    )
        .into_response()
}

fn login_form(lang: Lang, pre: &str, message: Option<&str>) -> Markup {
    layout_bare(
        lang,
        t(lang, "登录", "Sign in"),
        html! {
            form.login method="post" action="/console/login" {
                h1 { (t(lang, "巡查 · 督查控制台", "Xuncha · supervision console")) }
                @if let Some(m) = message { div.msg.err { (m) } }
                input type="hidden" name="csrf" value=(pre);
                label for="user" { (t(lang, "用户名", "User name")) }
                input #user name="user" autocomplete="username" required;
                label for="password" { (t(lang, "密码", "Password")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                p { button.primary type="submit" { (t(lang, "登录", "Sign in")) } }
            }
        },
    )
}

fn pre_cookie(state: &AppState, value: &str) -> String {
    format!(
        "{PRE_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(state)
    )
}

/// `; Secure` when the server is told it is reached over TLS (at its reverse proxy): the
/// browser then never sends the cookie over plain HTTP.
fn secure(state: &AppState) -> &'static str {
    if state.config.behind_tls {
        "; Secure"
    } else {
        ""
    }
}

/// `GET /console/login`.
pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = super::i18n::lang_of(&headers);
    let pre = Uuid::new_v4().simple().to_string();
    (
        [(header::SET_COOKIE, pre_cookie(&state, &pre))],
        login_form(lang, &pre, None),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/login`.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = super::i18n::lang_of(&headers);
    let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
    if pre.is_empty() || f.csrf != pre {
        return forged(lang);
    }
    let again =
        |msg: &str| (StatusCode::UNAUTHORIZED, login_form(lang, &pre, Some(msg))).into_response();
    let rec = match check_password(&state, f.user.trim(), &f.password, addr).await {
        Ok(r) => r,
        Err(e) if e.code == "wrong_credentials" => {
            return again(t(lang, "用户名或密码错误", "Wrong user name or password"));
        }
        Err(e) if e.code == "user_disabled" => {
            return again(t(lang, "该账号已停用", "This account is disabled"));
        }
        Err(e) if e.retry_after_s.is_some() => {
            // Throttled or busy: the same form, saying how long to wait.
            let msg = match lang {
                Lang::ZhCn => e.message.clone(),
                Lang::En => e.message_en.clone(),
            };
            let wait = e.retry_after_s.unwrap_or(1).to_string();
            return (
                e.status,
                [(header::RETRY_AFTER, wait)],
                login_form(lang, &pre, Some(&msg)),
            )
                .into_response();
        }
        Err(e) => return e.into_response(),
    };
    if rec.user.role == Role::Inspector {
        return again(t(
            lang,
            "巡查员请使用手机应用",
            "Inspectors use the phone app",
        ));
    }
    // A console session is a device of its own, so it can be listed and revoked like one.
    let now = state.now_ms();
    let device = format!("{CONSOLE_DEVICE_PREFIX}{}", Uuid::new_v4().simple());
    let token = new_token();
    let (uid, dev, hash, ttl) = (
        rec.user.id.clone(),
        device.clone(),
        token_hash(&token),
        state.config.token_ttl_ms.min(12 * 3_600_000),
    );
    let stored = state
        .blocking(move |s| {
            s.register_device(&dev, &uid, "浏览器控制台", now)?;
            s.insert_token(&hash, &uid, &dev, now, now + ttl)
        })
        .await;
    if let Err(e) = stored {
        return e.into_response();
    }
    let session = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ttl / 1000,
        secure(&state)
    );
    // Two cookies: appended, since a plain header list would keep only the last one.
    (
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (header::SET_COOKIE, session),
            (
                header::SET_COOKIE,
                format!("{PRE_COOKIE}=; Path=/console; Max-Age=0"),
            ),
            (header::LOCATION, "/console".to_string()),
        ]),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/logout`: the session's token is revoked at once.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let lang = super::i18n::lang_of(&headers);
    let Some(token) = cookie(&headers, SESSION_COOKIE) else {
        return Redirect::to("/console/login").into_response();
    };
    if f.csrf != csrf_for(&token) {
        return forged(lang);
    }
    let hash = token_hash(&token);
    let _ = state.blocking(move |s| s.revoke_token(&hash)).await;
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; Path=/; Max-Age=0"),
            ),
            (header::LOCATION, "/console/login".to_string()),
        ],
    )
        .into_response()
}
