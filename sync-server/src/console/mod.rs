//! The supervision console at `/console`: server-rendered pages (maud) with our own CSS, nothing
//! loaded from the internet. The console is one more client: every action becomes an operation
//! pushed through the same path and transition table as a phone's (`crate::apply`), so it syncs
//! to phones like any other and obeys the same rules.
//!
//! Sessions are tokens like a device's (stored hashed, expiring, revocable) in an HttpOnly,
//! SameSite=Strict cookie; every form carries a CSRF token derived from the session.

mod act;
mod boards;
mod bulk;
mod exports;
mod filter;
mod map;
mod pages;
mod ranking;
mod rectify;
mod search;
mod session;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(pages::queue))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/cases/{id}", get(pages::case_page))
        .route("/console/bulk", post(bulk::bulk))
        .route("/console/cases/{id}/act", post(act::act))
        .route("/console/cases/{id}/rectify", post(rectify::rectify))
        .route("/console/ranking", get(ranking::ranking))
        .route("/console/search", get(search::search))
        .route("/console/boards", get(boards::boards))
        .route("/console/export.csv", get(exports::export_csv))
        .route("/console/export.xlsx", get(exports::export_xlsx))
        .route("/console/bulletin.xlsx", get(exports::bulletin_xlsx))
        .route("/console/style.css", get(style))
}

async fn style() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}
