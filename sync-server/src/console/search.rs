//! `GET /console/search?q=…`: find a case by its number (案卷号), its id, or words of its
//! description or address. An exact number opens the case; anything else lists what matched,
//! scoped like every other page.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::i18n::{status_label, t};
use super::pages::{category_name, layout, unit_name};
use super::session::Console;
use super::time::{calendar, when};
use crate::state::AppState;
use crate::store::case_list::CaseFilter;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Query(query): Query<SearchQuery>,
) -> Response {
    let q: String = query.q.trim().chars().take(100).collect();
    let reach = state.reach(&who);
    let cal = calendar(&state);
    let found = {
        let q = q.clone();
        state
            .blocking(move |s| {
                // The reach is in the query, so a district's matches are not crowded out of the
                // 100 by the rest of the city's; core's rule checks each once more.
                let cases = match CaseFilter::for_reach(&reach) {
                    Some(scope) if !q.is_empty() => s
                        .search_cases(&q, &scope, 100)?
                        .into_iter()
                        .filter(|c| reach.can_see(c))
                        .collect(),
                    _ => Vec::new(),
                };
                Ok((cases, s.reference()?.1))
            })
            .await
    };
    let (cases, reference) = match found {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if let [only] = cases.as_slice()
        && (only.case_no.as_deref() == Some(q.as_str()) || only.id.to_string() == q)
    {
        return Redirect::to(&format!("/console/cases/{}", only.id)).into_response();
    }
    let title = t(lang, "查找案件", "Find a case");
    layout(lang, &who, &session, title, html! {
        h1 { (title) ": " (q) " (" (cases.len()) ")" }
        @if cases.is_empty() {
            p.muted { (t(lang, "没有找到符合的案件（只显示您有权查看的案件）。", "No case found (only cases visible to you are searched).")) }
        } @else {
            table.cards #results {
                tr {
                    th { (t(lang, "案卷号", "Case no.")) } th { (t(lang, "类别 / 描述", "Category / description")) }
                    th { (t(lang, "地点", "Place")) } th { (t(lang, "责任单位", "Unit")) }
                    th { (t(lang, "上报时间", "Reported")) } th { (t(lang, "状态", "Status")) }
                }
                @for c in &cases {
                    tr {
                        td { a href=(format!("/console/cases/{}", c.id)) { (c.case_no.clone().unwrap_or_else(|| t(lang, "（未立案）", "(not registered)").to_string())) } }
                        td { (category_name(&reference, &c.category)) br; (c.description) }
                        td { (c.location.address) }
                        td { (unit_name(&reference, c.unit_id.as_deref())) }
                        td { (when(&cal, c.reported_at_ms)) }
                        td { span.status { (status_label(lang, c.status)) } }
                    }
                }
            }
        }
    })
    .into_response()
}
