//! `GET /console/boards`: what is dispatched, in progress, overdue (latest first by how late) and
//! rectified awaiting verification, filterable by unit, category, area, campaign and report
//! dates; the exports of the same cases are in `exports`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use xuncha_core::model::Case;
use xuncha_core::workflow::{Role, Status};

use super::filter::{Filter, open_cases};
use super::pages::{category_name, layout, t, unit_name, when};
use super::session::Console;
use crate::state::AppState;

/// The boards page.
pub async fn boards(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Query(f): Query<Filter>,
) -> Response {
    let (cases, reference) = match open_cases(&state, &who, &f).await {
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
    let query = f.query();
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        form.act method="get" action="/console/boards" {
            @if who.user.role != Role::UnitStaff {
                select name="unit" {
                    option value="" { (t(lang, "全部单位", "All units")) }
                    @for u in &reference.units { option value=(u.id) selected[u.id == f.unit.trim()] { (u.name) } }
                }
            }
            input name="category" size="12" placeholder=(t(lang, "类别代码（如 01 或 0101）", "category (01 or 0101)")) value=(f.category);
            select name="grid" {
                option value="" { (t(lang, "全部片区", "All areas")) }
                @for g in &reference.grids { option value=(g.id) selected[g.id == f.grid.trim()] { (g.name) } }
            }
            select name="campaign" {
                option value="" { (t(lang, "全部专项行动", "All campaigns")) }
                @for c in &reference.campaigns { option value=(c.id) selected[c.id == f.campaign.trim()] { (c.name) } }
            }
            label { (t(lang, "上报日期", "Reported")) " " input type="date" name="from" value=(f.from); }
            label { "–" input type="date" name="to" value=(f.to); }
            button.primary type="submit" { (t(lang, "筛选", "Filter")) }
            a href=(format!("/console/export.csv?{query}")) { (t(lang, "导出 CSV", "Export CSV")) }
            a #export-xlsx href=(format!("/console/export.xlsx?{query}")) { (t(lang, "导出 Excel", "Export Excel")) }
        }
        @for (name, list) in &columns {
            div.card {
                h1 { (name) " (" (list.len()) ")" }
                @if list.is_empty() { p.muted { (t(lang, "暂无", "None")) } }
                table {
                    @for c in list {
                        tr {
                            td { a href=(format!("/console/cases/{}", c.id)) { (c.case_no.clone().unwrap_or_else(|| c.category.clone())) } }
                            td { (category_name(&reference, &c.category)) br; (c.description) }
                            td { (unit_name(&reference, c.unit_id.as_deref())) }
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
