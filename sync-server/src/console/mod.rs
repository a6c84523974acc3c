//! The supervision console at `/console`: server-rendered pages (maud) with our own CSS, nothing
//! loaded from the internet. The console is one more client: every action becomes an operation
//! pushed through the same path and transition table as a phone's (`crate::apply`), so it syncs
//! to phones like any other and obeys the same rules.
//!
//! Sessions are tokens like a device's (stored hashed, expiring, revocable) in an HttpOnly,
//! SameSite=Strict cookie; every form carries a CSRF token derived from the session.

mod act;
mod areas;
mod boards;
mod bulk;
mod bulletin;
mod case_page;
mod exports;
mod filter;
mod i18n;
mod map;
mod notices;
mod pages;
mod ranking;
mod rounds;
mod search;
mod session;
mod standard;
mod time;
mod waiting_photos;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub(crate) use boards::Board;
pub(crate) use pages::{category_name, unit_name};

/// The console's routes.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::queue))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/cases/{id}", get(case_page::case_page))
        .route("/console/bulk", post(bulk::bulk))
        .route("/console/cases/{id}/act", post(act::act))
        .route("/console/cases/{id}/rectify", post(act::rectify))
        .route("/console/ranking", get(ranking::ranking))
        .route(
            "/console/photos/waiting",
            get(waiting_photos::waiting_photos),
        )
        .route("/console/search", get(search::search))
        .route("/console/notices", get(notices::list))
        .route("/console/notices/read", post(notices::read_all))
        .route("/console/notices/{id}", get(notices::open))
        .route("/console/outbox", get(notices::outbox))
        .route("/console/outbox/retry", post(notices::retry))
        .route("/console/boards", get(boards::boards))
        .route(
            "/console/rounds",
            get(rounds::list).post(rounds::plan_sites),
        )
        .route("/console/rounds/recheck", post(rounds::plan_rechecks))
        .route("/console/rounds/{id}", get(rounds::page))
        .route("/console/rounds/{id}/publish", post(rounds::publish))
        .route("/console/rounds/{id}/close", post(rounds::close))
        .route("/console/rounds/{id}/report.xlsx", get(rounds::report_xlsx))
        .route(
            "/console/standard",
            get(standard::page).post(standard::upload),
        )
        .route("/console/standard/template.xlsx", get(standard::template))
        .route("/console/export.csv", get(exports::export_csv))
        .route("/console/export.xlsx", get(exports::export_xlsx))
        .route("/console/bulletin.xlsx", get(bulletin::bulletin_xlsx))
        .route("/console/bulletin.docx", get(bulletin::bulletin_docx))
        .route("/console/style.css", get(style))
        .route("/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route("/console/console.js", get(script))
        .layer(axum::middleware::from_fn_with_state(
            state,
            security_headers,
        ))
}

async fn script() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/javascript; charset=utf-8",
        )],
        include_str!("console.js"),
    )
}

/// Headers on every console answer: a CSP that allows only our own script, style and images
/// (and the configured map tiles), no framing, no sniffing, no referrer, no caching of pages
/// that hold cases.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let mut resp = next.run(req).await;
    let tiles = state
        .config
        .map_tiles
        .as_ref()
        .and_then(|t| tile_origin(&t.url))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

/// `https://host:port` of a tile URL template.
fn tile_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (matches!(scheme, "http" | "https")
        && !host.is_empty()
        && !host.contains(['{', ' ', ';', '\'']))
    .then(|| format!("{scheme}://{host}"))
}

/// The console's icon (a magnifier on the campaign red), for the tab and for browsers that ask
/// for `/favicon.ico` without reading the page's `<link rel=icon>`.
async fn favicon() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("favicon.svg"),
    )
}

async fn style() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}
