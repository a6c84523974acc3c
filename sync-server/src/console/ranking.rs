//! `GET /console/ranking?from=YYYY-MM-DD&to=YYYY-MM-DD`: units ranked for a period (Beijing
//! dates, `to` inclusive; default the last 7 days), by the rules of `xuncha_core::kpi`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, FixedOffset, NaiveDate, TimeZone};
use maud::html;
use serde::Deserialize;
use xuncha_core::kpi::{Weights, rank_units};
use xuncha_core::workflow::Role;

use super::pages::{Lang, layout, t};
use super::session::signed_in;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
}

fn midnight_ms(d: NaiveDate) -> i64 {
    beijing()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// The ranking page.
pub async fn ranking(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<Period>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (who, session) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !matches!(who.user.role, Role::Supervisor | Role::Admin) {
        return (StatusCode::FORBIDDEN, layout(lang, &who, &session, t(lang, "无权查看", "Not allowed"), html! {
            div.msg.err { (t(lang, "单位排名仅督查人员可见。", "The unit ranking is for supervisors.")) }
        }))
            .into_response();
    }
    let today = chrono::Utc::now().with_timezone(&beijing()).date_naive();
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok())
    };
    let to = parse(&p.to).unwrap_or(today);
    let from = parse(&p.from).unwrap_or(to - Duration::days(6));
    let (from_ms, to_ms) = (midnight_ms(from), midnight_ms(to + Duration::days(1)));
    let loaded = state
        .blocking(move |s| {
            let units = s.reference()?.1.units;
            let mut cases = Vec::new();
            for c in s.cases(&[], None, 1_000_000)? {
                if c.unit_id.is_some() {
                    let timeline = s.timeline(c.id)?;
                    cases.push((c, timeline));
                }
            }
            Ok((units, cases))
        })
        .await;
    let (units, cases) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let ids: Vec<String> = units.iter().map(|u| u.id.clone()).collect();
    let ranked = rank_units(&ids, &cases, from_ms, to_ms, &Weights::default());
    let name = |id: &str| {
        units
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let title = t(lang, "责任单位排名", "Unit ranking");
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        form.act method="get" action="/console/ranking" {
            label { (t(lang, "从", "From")) " " input type="date" name="from" value=(from.to_string()); }
            label { (t(lang, "到", "to")) " " input type="date" name="to" value=(to.to_string()); }
            button.primary type="submit" { (t(lang, "查询", "Show")) }
        }
        table #ranking {
            tr {
                th { (t(lang, "名次", "Rank")) } th { (t(lang, "单位", "Unit")) }
                th { (t(lang, "应结案", "Due")) } th { (t(lang, "已结案", "Closed")) }
                th { "结案率" } th { "按期结案率" } th { "返工率" } th { "延期率" }
                th { (t(lang, "平均整改时长(小时)", "Mean hours to rectify")) }
                th { (t(lang, "扣分", "Deductions")) } th { (t(lang, "得分", "Score")) }
            }
            @for (i, s) in ranked.iter().enumerate() {
                tr data-unit=(s.unit_id) {
                    td { (i + 1) } td { (name(&s.unit_id)) }
                    td { (s.due) } td { (s.closed) }
                    td { (pct(s.close_rate())) } td { (pct(s.on_time_rate())) }
                    td { (pct(s.rework_rate())) } td { (pct(s.extension_rate())) }
                    td { (s.mean_hours_to_rectify.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into())) }
                    td { (format!("{:.1}", s.deductions)) } td { (format!("{:.1}", s.score())) }
                }
            }
        }
        p.muted { (t(lang, "口径：结案率=已结案/应结案；按期结案率=按期结案/(应结案−挂起)；返工率=曾被退回的已结案/已结案；延期率=获批延期/派遣。每次核查不通过扣 0.2 分，同一案件三次不通过另扣 0.5 分。",
            "Definitions: close rate = closed/due; on-time = closed on time/(due − parked); rework = closed after a send-back/closed; extension = extended/dispatched. −0.2 per failed check, −0.5 more for a case failing three times.")) }
    })
    .into_response()
}
