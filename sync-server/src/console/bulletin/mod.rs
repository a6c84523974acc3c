//! The weekly bulletin (督查通报) as an office issues it: a title block (the bulletin's title,
//! 第N期, the issuing office and the date of issue), a summary in words, and three annexes — the
//! units' ranking, the cases overdue now and the sites where problems came back — as an Excel
//! workbook ([`xlsx`]) and as a Word document ([`docx`]), the format offices edit before issuing.
//! Both are drawn from one [`Bulletin`]; the figures are `xuncha_core::kpi`'s.
//!
//! The document is in Chinese whatever the console's language: it is the office's text.

mod content;
mod docx;
mod text;
mod xlsx;

use axum::extract::{Query, State};
use axum::response::Response;

pub use content::Bulletin;

use super::exports::{XLSX, attachment, export_failed};
use super::ranking::{PeriodQuery, supervisors_only};
use super::session::Console;
use crate::state::AppState;

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// `GET /console/bulletin.xlsx?from&to`: the bulletin as an Excel workbook (supervisors).
pub async fn bulletin_xlsx(
    State(state): State<AppState>,
    console: Console,
    Query(p): Query<PeriodQuery>,
) -> Response {
    download(&state, console, &p, XLSX, "xlsx", |b| {
        xlsx::render(b).map_err(|e| e.to_string())
    })
    .await
}

/// `GET /console/bulletin.docx?from&to`: the bulletin as a Word document (supervisors).
pub async fn bulletin_docx(
    State(state): State<AppState>,
    console: Console,
    Query(p): Query<PeriodQuery>,
) -> Response {
    download(&state, console, &p, DOCX, "docx", docx::render).await
}

/// A period's bulletin rendered by `render`, for supervisors.
async fn download(
    state: &AppState,
    Console { who, session, lang }: Console,
    p: &PeriodQuery,
    mime: &'static str,
    ext: &str,
    render: impl FnOnce(&Bulletin) -> Result<Vec<u8>, String>,
) -> Response {
    if let Some(r) = supervisors_only(lang, &who, &session) {
        return r;
    }
    let b = match Bulletin::load(state, &who, p).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    match render(&b) {
        Ok(bytes) => attachment(mime, &b.file_name(ext), bytes),
        Err(e) => export_failed(&e),
    }
}
