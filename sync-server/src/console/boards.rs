//! `GET /console/boards`: what is dispatched, in progress, overdue (latest first by how late) and
//! rectified awaiting verification, filterable by unit and category; and `GET
//! /console/export.csv`: the same cases as CSV (UTF-8 with BOM, so Excel opens it in Chinese).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use xuncha_core::model::Case;
use xuncha_core::scope;
use xuncha_core::workflow::{Role, Status};

use super::pages::{Lang, layout, t, when};
use super::session::signed_in;
use crate::state::AppState;
use crate::store::Principal;

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    category: String,
}

const OPEN: [Status; 4] = [
    Status::Dispatched,
    Status::InProgress,
    Status::ReturnRequested,
    Status::Rectified,
];

/// The open cases this person may see, filtered.
async fn open_cases(state: &AppState, who: &Principal, f: &Filter) -> Result<Vec<Case>, Response> {
    let unit = match who.user.role {
        Role::UnitStaff => who.user.unit_id.clone(),
        _ => Some(f.unit.trim().to_string()).filter(|u| !u.is_empty()),
    };
    let actor = who.actor();
    let category = f.category.trim().to_string();
    state
        .blocking(move |s| {
            Ok(s.cases(&OPEN, unit.as_deref(), 5_000)?
                .into_iter()
                .filter(|c| scope::can_see(&actor, c))
                .filter(|c| category.is_empty() || c.category.starts_with(&category))
                .collect())
        })
        .await
        .map_err(IntoResponse::into_response)
}

/// The boards page.
pub async fn boards(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (who, session) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cases = match open_cases(&state, &who, &f).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let mut overdue: Vec<&Case> = cases.iter().filter(|c| c.is_overdue(now)).collect();
    overdue.sort_by_key(|c| c.deadline_ms.unwrap_or(i64::MAX));
    let board = |statuses: &[Status]| -> Vec<&Case> {
        let mut v: Vec<&Case> = cases
            .iter()
            .filter(|c| statuses.contains(&c.status))
            .collect();
        v.sort_by_key(|c| c.deadline_ms.unwrap_or(i64::MAX));
        v
    };
    let columns: Vec<(&str, Vec<&Case>)> = vec![
        (
            t(lang, "逾期（按逾期时长）", "Overdue (most late first)"),
            overdue,
        ),
        (
            t(lang, "已派遣", "Dispatched"),
            board(&[Status::Dispatched]),
        ),
        (
            t(lang, "处理中", "In progress"),
            board(&[Status::InProgress, Status::ReturnRequested]),
        ),
        (
            t(lang, "已整改待核查", "Rectified, to verify"),
            board(&[Status::Rectified]),
        ),
    ];
    let title = t(lang, "案件看板", "Boards");
    let export = format!(
        "/console/export.csv?unit={}&category={}",
        f.unit.trim(),
        f.category.trim()
    );
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        form.act method="get" action="/console/boards" {
            @if who.user.role != Role::UnitStaff {
                input name="unit" placeholder=(t(lang, "单位编号", "unit id")) value=(f.unit);
            }
            input name="category" placeholder=(t(lang, "类别代码（如 01 或 0101）", "category code (e.g. 01 or 0101)")) value=(f.category);
            button.primary type="submit" { (t(lang, "筛选", "Filter")) }
            a href=(export) { (t(lang, "导出 CSV", "Export CSV")) }
        }
        @for (name, list) in &columns {
            div.card {
                h1 { (name) " (" (list.len()) ")" }
                table {
                    @for c in list {
                        tr {
                            td { a href=(format!("/console/cases/{}", c.id)) { (c.case_no.clone().unwrap_or_else(|| c.category.clone())) } }
                            td { (c.description) }
                            td { (c.unit_id.clone().unwrap_or_default()) }
                            td.muted { (t(lang, "期限", "due")) " " (c.deadline_ms.map(when).unwrap_or_default()) }
                            @if c.is_overdue(now) {
                                td { span.status.overdue { (t(lang, "逾期", "late")) " " (format!("{:.0}", (now - c.deadline_ms.unwrap_or(now)) as f64 / 3_600_000.0)) "h" } }
                            }
                        }
                    }
                }
            }
        }
    })
    .into_response()
}

fn csv_field(s: &str) -> String {
    // Quote everything; a leading =, +, - or @ would be a formula in a spreadsheet: defuse it.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The open cases as CSV.
pub async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let (who, _) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let cases = match open_cases(&state, &who, &f).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let now = state.now_ms();
    let mut out = String::from(
        "\u{feff}案卷号,状态,类别,描述,地址,责任单位,上报人,上报时间,接收时间,期限,逾期\r\n",
    );
    for c in &cases {
        let row = [
            c.case_no.clone().unwrap_or_default(),
            c.status.label_zh().to_string(),
            c.category.clone(),
            c.description.clone(),
            c.location.address.clone(),
            c.unit_id.clone().unwrap_or_default(),
            c.reporter_id.clone(),
            when(c.reported_at_ms),
            c.server_received_at_ms.map(when).unwrap_or_default(),
            c.deadline_ms.map(when).unwrap_or_default(),
            if c.is_overdue(now) {
                "是".into()
            } else {
                "否".into()
            },
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"xuncha-cases.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}
