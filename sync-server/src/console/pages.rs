//! The console's pages: the review queue and the case page, rendered on the server.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

use chrono::{FixedOffset, TimeZone};
use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;
use xuncha_core::fold::available_actions;
use xuncha_core::model::{Case, Event};
use xuncha_core::scope;
use xuncha_core::workflow::{Action, Role, Status};

use super::session::{csrf_for, signed_in};
use crate::state::AppState;
use crate::store::Principal;

/// The console's language: zh-CN unless the browser asks for English first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_headers(h: &HeaderMap) -> Lang {
        let first = h
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .unwrap_or("zh");
        if first.trim().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// Pick the text of the page's language.
pub fn t<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if lang == Lang::Zh { zh } else { en }
}

/// A page without the signed-in header (sign-in, errors).
pub fn layout_bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t(lang, "zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "巡查", "Xuncha")) }
                link rel="stylesheet" href="/console/style.css";
            }
            body { (body) }
        }
    }
}

pub fn layout(lang: Lang, who: &Principal, session: &str, title: &str, body: Markup) -> Markup {
    layout_bare(
        lang,
        title,
        html! {
            header {
                strong { (t(lang, "巡查 · 督查控制台", "Xuncha console")) }
                a href="/console" { (t(lang, "待办", "Queue")) }
                a href="/console/boards" { (t(lang, "看板", "Boards")) }
                @if matches!(who.user.role, Role::Supervisor | Role::Admin) {
                    a href="/console/ranking" { (t(lang, "单位排名", "Ranking")) }
                }
                span.who { (who.user.name) " (" (who.user.role.label_zh()) ")" }
                form method="post" action="/console/logout" {
                    input type="hidden" name="csrf" value=(csrf_for(session));
                    button type="submit" { (t(lang, "退出", "Sign out")) }
                }
            }
            main { (body) }
        },
    )
}

/// Beijing time, as people read it.
pub fn when(ms: i64) -> String {
    FixedOffset::east_opt(8 * 3600)
        .and_then(|tz| tz.timestamp_millis_opt(ms).single())
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn status_badge(c: &Case, now: i64) -> Markup {
    let overdue = c.is_overdue(now);
    html! {
        span.status.overdue[overdue] { (c.status.label_zh()) @if overdue { " · 逾期" } }
    }
}

/// What waits for this person: new reports for the office; dispatched and running cases for a
/// unit.
fn queue_statuses(role: Role) -> Vec<Status> {
    match role {
        Role::UnitStaff => vec![Status::Dispatched, Status::InProgress],
        _ => vec![Status::Submitted],
    }
}

/// `GET /console`: the review queue.
pub async fn queue(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let (who, session) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let statuses = queue_statuses(who.user.role);
    let unit = match who.user.role {
        Role::UnitStaff => who.user.unit_id.clone(),
        _ => None,
    };
    let actor = who.actor();
    let loaded = state
        .blocking(move |s| {
            let names = category_names(s)?;
            let mut rows = Vec::new();
            for c in s.cases(&statuses, unit.as_deref(), 200)? {
                if !scope::can_see(&actor, &c) {
                    continue;
                }
                let photo = first_photo(&s.timeline(c.id)?);
                rows.push((c, photo));
            }
            Ok((names, rows))
        })
        .await;
    let (names, cases) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let now = state.now_ms();
    let title = t(lang, "待办案件", "Cases waiting");
    layout(
        lang,
        &who,
        &session,
        title,
        html! {
            h1 { (title) " (" (cases.len()) ")" }
            @if cases.is_empty() {
                p.muted { (t(lang, "暂无待办案件。", "Nothing waiting.")) }
            } @else {
                table {
                    tr {
                        th { (t(lang, "照片", "Photo")) } th { (t(lang, "类别 / 描述", "Category / description")) }
                        th { (t(lang, "地点", "Place")) } th { (t(lang, "上报人", "Reporter")) }
                        th { (t(lang, "设备时间 / 接收时间", "Device time / received")) } th { (t(lang, "状态", "Status")) }
                    }
                    @for (c, photo) in &cases {
                        tr {
                            td { @if let Some(p) = photo { img.thumb src=(format!("/v1/photos/{p}/thumb")) alt=""; } }
                            td {
                                a href=(format!("/console/cases/{}", c.id)) { (name_of(&names, &c.category)) }
                                br; (c.description)
                                @if !c.probable_duplicates.is_empty() {
                                    br; span.status.overdue { (t(lang, "疑似重复", "Probable duplicate")) " ×" (c.probable_duplicates.len()) }
                                }
                            }
                            td { (c.location.address) }
                            td { (c.reporter_id) }
                            td { (when(c.reported_at_ms)) " / " (c.server_received_at_ms.map(when).unwrap_or_default()) }
                            td { (status_badge(c, now)) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// Category code → "code name", from the reference data.
fn category_names(
    s: &dyn crate::store::ServerStore,
) -> xuncha_core::Result<HashMap<String, String>> {
    Ok(s.reference()?
        .1
        .categories
        .into_iter()
        .map(|c| (c.code.clone(), format!("{} {}", c.code, c.name)))
        .collect())
}

fn name_of(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_string())
}

/// The first photo of a timeline (the report's before-photo).
fn first_photo(timeline: &[Event]) -> Option<String> {
    timeline
        .iter()
        .flat_map(|e| e.op.body.photos().iter())
        .map(|p| p.sha256.clone())
        .next()
}

/// The case page of `id` for `who`, with an optional message (after an action).
pub async fn render_case(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &str,
    id: Uuid,
    message: Option<(bool, String)>,
) -> Response {
    let found = state
        .blocking(move |s| {
            Ok((
                s.case(id)?,
                s.timeline(id)?,
                category_names(s)?,
                s.reference()?.1.units,
            ))
        })
        .await;
    let (case, timeline, names, units) = match found {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let actor = who.actor();
    let Some(case) = case.filter(|c| scope::can_see(&actor, c)) else {
        return (
            StatusCode::NOT_FOUND,
            layout(lang, who, session, t(lang, "找不到案件", "No such case"), html! {
                div.msg.err { (t(lang, "找不到该案件，或您无权查看。", "No such case, or not visible to you.")) }
            }),
        )
            .into_response();
    };
    let now = state.now_ms();
    let actions: Vec<Action> = available_actions(&case, &actor)
        .into_iter()
        .filter(|a| !matches!(a, Action::Edit | Action::Rectify))
        .collect();
    let photos: Vec<(String, String)> = timeline
        .iter()
        .flat_map(|e| e.op.body.photos().to_vec())
        .map(|p| (p.kind.as_str().to_string(), p.sha256))
        .collect();
    let seen = case.updated_hlc.encode();
    let csrf = csrf_for(session);
    let title = format!(
        "{} {}",
        case.case_no.clone().unwrap_or_default(),
        name_of(&names, &case.category)
    );
    layout(
        lang,
        who,
        session,
        &title,
        html! {
            @if let Some((ok, m)) = &message { div.msg.ok[*ok].err[!*ok] { (m) } }
            h1 { (title) " " (status_badge(&case, now)) }
            div.card {
                p { (case.description) }
                p.muted {
                    (case.location.address) " · " (format!("{:.5}, {:.5}", case.location.lat, case.location.lon))
                    " · " (t(lang, "上报人", "reporter")) " " (case.reporter_id)
                    @if let Some(u) = &case.unit_id { " · " (t(lang, "责任单位", "unit")) " " (u) }
                    @if let Some(d) = case.deadline_ms { " · " (t(lang, "期限", "deadline")) " " (when(d)) }
                }
            }
            div.photos {
                figure { figcaption { (t(lang, "整改前", "Before")) }
                    @for (_, sha) in photos.iter().filter(|(k, _)| k == "before") { img src=(format!("/v1/photos/{sha}")) alt=""; } }
                figure { figcaption { (t(lang, "整改后", "After")) }
                    @for (_, sha) in photos.iter().filter(|(k, _)| k == "after" || k == "verify") { img src=(format!("/v1/photos/{sha}")) alt=""; } }
            }
            div.card {
                h1 { (t(lang, "可执行操作", "Actions")) }
                @if actions.is_empty() { p.muted { (t(lang, "当前没有您可执行的操作。", "Nothing for you to do now.")) } }
                @for a in &actions {
                    form.act method="post" action=(format!("/console/cases/{}/act", case.id)) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="seen" value=(seen);
                        input type="hidden" name="action" value=(a.as_str());
                        @if *a == Action::Dispatch {
                            select name="unit_id" {
                                @for u in &units {
                                    option value=(u.id) selected[Some(&u.id) == case.suggested_unit_id.as_ref()] { (u.name) }
                                }
                            }
                        }
                        @if *a == Action::MarkDuplicate {
                            input name="duplicate_of" placeholder=(t(lang, "原案件编号 (UUID)", "original case id")) value=(case.probable_duplicates.first().map(|d| d.to_string()).unwrap_or_default());
                        }
                        input name="text" placeholder=(t(lang, "说明 / 理由", "note / reason"));
                        button.primary type="submit" { (a.label_zh()) }
                    }
                }
            }
            div.card {
                h1 { (t(lang, "处理记录", "Timeline")) }
                table {
                    @for e in &timeline {
                        tr {
                            td { (e.op.body.action().label_zh()) }
                            td { (e.op.actor.user_id) }
                            td { (when(e.op.device_time_ms)) }
                            td.muted { (e.server_time_ms.map(when).unwrap_or_default()) }
                            td { (e.op.body.reason().unwrap_or_default()) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// `GET /console/cases/{id}`.
pub async fn case_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (who, session) = match signed_in(&state, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return (
            StatusCode::NOT_FOUND,
            layout(
                lang,
                &who,
                &session,
                t(lang, "找不到案件", "No such case"),
                html! {
                    div.msg.err { (t(lang, "案件编号无效。", "Not a case id.")) }
                },
            ),
        )
            .into_response();
    };
    render_case(&state, lang, &who, &session, id, None).await
}
