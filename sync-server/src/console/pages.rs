//! The console's pages: the review queue and the case page, rendered on the server.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;
use xuncha_core::fold::available_actions;
use xuncha_core::geo::{LatLon, distance_m};
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope;
use xuncha_core::workflow::{Action, Requirement, Role, Status, Transition};

pub use super::i18n::{Lang, action_label, status_label, t};
use super::session::{Console, csrf_for};
use super::time::{calendar, local_input, when};
use crate::state::AppState;
use crate::store::Principal;

/// A page without the signed-in header (sign-in, errors).
pub fn layout_bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(lang, "巡查", "Xuncha")) }
                link rel="stylesheet" href="/console/style.css";
                script src="/console/console.js" defer {}
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
                    a href="/console/photos/waiting" { (t(lang, "未到照片", "Missing photos")) }
                }
                form.search method="get" action="/console/search" {
                    input name="q" type="search" placeholder=(t(lang, "案卷号 / 描述 / 地址", "case no. / words")) aria-label=(t(lang, "查找案件", "Find a case"));
                }
                span.who { (who.user.name) " (" (who.user.role.label(lang)) ")" }
                form method="post" action="/console/logout" {
                    input type="hidden" name="csrf" value=(csrf_for(session));
                    button type="submit" { (t(lang, "退出", "Sign out")) }
                }
            }
            main { (body) }
        },
    )
}

fn status_badge(lang: Lang, c: &Case, now: i64) -> Markup {
    let overdue = c.is_overdue(now);
    html! {
        span.status.overdue[overdue] { (status_label(lang, c.status)) @if overdue { " · " (t(lang, "逾期", "overdue")) } }
    }
}

/// The queue shows at most this many cases, newest first.
const QUEUE_ROWS: usize = 200;

/// `GET /console`: the review queue.
pub async fn queue(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    render_queue(&state, lang, &who, &session, None).await
}

/// The queue, with an optional message (after a bulk action).
pub async fn render_queue(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &str,
    message: Option<(bool, String)>,
) -> Response {
    let statuses = Status::queue_of(who.user.role).to_vec();
    let cal = calendar(state);
    let unit = match who.user.role {
        Role::UnitStaff => who.user.unit_id.clone(),
        _ => None,
    };
    let actor = who.actor();
    let loaded = state
        .blocking(move |s| {
            let reference = s.reference()?.1;
            // Three queries, however many rows: the cases, their first photos, and the open
            // cases around all of them.
            let cases: Vec<Case> = s
                .cases(&statuses, unit.as_deref(), QUEUE_ROWS)?
                .into_iter()
                .filter(|c| scope::can_see(&actor, c))
                .collect();
            let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
            let mut photos = s.first_photos(&ids)?;
            let points: Vec<LatLon> = cases.iter().map(|c| c.location.point()).collect();
            let around = open_near(s, &actor, &points, NEARBY_M)?;
            let rows = cases
                .into_iter()
                .map(|c| {
                    let close_by: Vec<(Case, f64)> = nearby(&c, &around, NEARBY_M)
                        .into_iter()
                        .map(|(o, d)| (o.clone(), d))
                        .collect();
                    let photo = photos.remove(&c.id);
                    (c, photo, close_by)
                })
                .collect::<Vec<_>>();
            Ok((reference, rows))
        })
        .await;
    let (reference, mut cases) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if who.user.role == Role::UnitStaff {
        // A unit works to deadlines: the most urgent first.
        cases.sort_by_key(|(c, ..)| c.deadline_ms.unwrap_or(i64::MAX));
    }
    let now = state.now_ms();
    // Only supervisors dispatch (admins manage data and take no part in cases).
    let office = who.user.role == Role::Supervisor;
    let title = t(lang, "待办案件", "Cases waiting");
    layout(
        lang,
        who,
        session,
        title,
        html! {
            @if let Some((ok, m)) = &message { div.msg.ok[*ok].err[!*ok] #message { (m) } }
            h1 { (title) " (" (cases.len()) ")" }
            @if cases.len() >= QUEUE_ROWS {
                p.muted { (t(lang, "只显示最新的 200 件；可用看板筛选或上方查找。", "Showing the newest 200; use the boards' filters or search for others.")) }
            }
            @if cases.is_empty() {
                p.muted { (t(lang, "暂无待办案件。", "Nothing waiting.")) }
            } @else {
                form #bulk method="post" action="/console/bulk" {
                input type="hidden" name="csrf" value=(csrf_for(session));
                table #queue {
                    tr {
                        @if office { th { input type="checkbox" #select-all title=(t(lang, "全选", "select all")) aria-label=(t(lang, "全选", "select all")); } }
                        th { (t(lang, "照片", "Photo")) } th { (t(lang, "类别 / 描述", "Category / description")) }
                        th { (t(lang, "地点", "Place")) } th { (t(lang, "上报人", "Reporter")) }
                        th { (t(lang, "设备时间 / 接收时间", "Device time / received")) }
                        @if !office { th { (t(lang, "整改期限", "Deadline")) } }
                        th { (t(lang, "状态", "Status")) }
                    }
                    @for (c, photo, close_by) in &cases {
                        tr data-case=(c.id) {
                            @if office { td { input type="checkbox" name="case" value=(format!("{}:{}", c.id, c.updated_hlc.encode())); } }
                            td { @if let Some(p) = photo {
                                a href=(format!("/v1/photos/{p}")) target="_blank" title=(t(lang, "点击查看大图", "open full size")) {
                                    img.thumb src=(format!("/v1/photos/{p}/thumb")) alt=(t(lang, "现场照片", "photo"));
                                }
                            } }
                            td {
                                a href=(format!("/console/cases/{}", c.id)) { (category_name(&reference, &c.category)) }
                                br; (c.description)
                                @if !c.probable_duplicates.is_empty() {
                                    br; span.status.overdue { (t(lang, "疑似重复", "Probable duplicate")) " ×" (c.probable_duplicates.len()) }
                                }
                                @if !close_by.is_empty() {
                                    ul.nearby {
                                        @for (o, d) in close_by.iter().take(3) {
                                            li {
                                                @if c.probable_duplicates.contains(&o.id) { span.status.overdue { (t(lang, "疑似重复", "duplicate?")) } " " }
                                                a href=(format!("/console/cases/{}", o.id)) {
                                                    (o.case_no.clone().unwrap_or_else(|| category_name(&reference, &o.category)))
                                                }
                                                " " (o.description) " · " (format!("{d:.0}")) " m · " (status_label(lang, o.status))
                                            }
                                        }
                                        @if close_by.len() > 3 {
                                            li.muted { (t(lang, "100 米内还有", "and")) " " (close_by.len() - 3) " " (t(lang, "件未结案件", "more open within 100 m")) }
                                        }
                                    }
                                }
                            }
                            td { (c.location.address) }
                            td { (user_name(&reference, &c.reporter_id)) }
                            td { (when(&cal, c.reported_at_ms)) br; span.muted { (c.server_received_at_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) } }
                            @if !office { td.deadline { (c.deadline_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) } }
                            td { (status_badge(lang, c, now)) }
                        }
                    }
                }
                @if office {
                    div.card.bulk {
                        (t(lang, "对选中的案件：", "For the selected cases:")) " "
                        select name="unit_id" {
                            option value="" { (t(lang, "按点位/网格建议的单位", "the unit suggested by site/grid")) }
                            @for u in &reference.units { option value=(u.id) { (u.name) } }
                        }
                        " "
                        button.primary type="submit" name="action" value="dispatch" { (t(lang, "登记并派遣（期限按类别）", "Register and dispatch (category deadline)")) }
                        " "
                        button type="submit" name="action" value="register" { (t(lang, "仅登记", "Register only")) }
                    }
                }
                }
            }
        },
    )
    .into_response()
}

/// "code name" of a category, from the reference data.
pub fn category_name(r: &ReferenceData, code: &str) -> String {
    r.categories
        .iter()
        .find(|c| c.code == code)
        .map(|c| format!("{} {}", c.code, c.name))
        .unwrap_or_else(|| code.to_string())
}

/// A unit's name, or its id if unknown, or nothing.
pub fn unit_name(r: &ReferenceData, id: Option<&str>) -> String {
    id.map(|id| {
        r.units
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| id.to_string())
    })
    .unwrap_or_default()
}

/// A person's name, from the reference data (their login name if unknown).
pub fn user_name(r: &ReferenceData, id: &str) -> String {
    r.users
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Open cases ([`Status::OPEN`]: parked ones included) within `radius_m` of `c`, nearest
/// first, with their distances.
pub fn nearby<'a>(c: &Case, others: &'a [Case], radius_m: f64) -> Vec<(&'a Case, f64)> {
    let here = LatLon {
        lat: c.location.lat,
        lon: c.location.lon,
    };
    let mut v: Vec<(&Case, f64)> = others
        .iter()
        .filter(|o| o.id != c.id)
        .map(|o| {
            let d = distance_m(
                here,
                LatLon {
                    lat: o.location.lat,
                    lon: o.location.lon,
                },
            );
            (o, d)
        })
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1));
    v
}

/// "Nearby" on the queue: within this many metres.
const NEARBY_M: f64 = 100.0;

/// Open cases ([`Status::OPEN`]) within about `radius_m` of any of `at` that `actor` may see.
fn open_near(
    s: &dyn crate::store::ServerStore,
    actor: &xuncha_core::model::Actor,
    at: &[LatLon],
    radius_m: f64,
) -> xuncha_core::Result<Vec<Case>> {
    Ok(s.cases_near(at, radius_m, Status::OPEN, 500)?
        .into_iter()
        .filter(|o| scope::can_see(actor, o))
        .collect())
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
    let actor = who.actor();
    let cal = calendar(state);
    let found = state
        .blocking(move |s| {
            let case = s.case(id)?;
            let open = match &case {
                Some(c) => open_near(s, &actor, &[c.location.point()], 400.0)?,
                None => Vec::new(),
            };
            let waiting = s.case_photos_waiting(&id.to_string())?;
            let after_waiting = s.after_photos_waiting(&id.to_string())?;
            Ok((
                case,
                s.timeline(id)?,
                s.reference()?.1,
                open,
                waiting,
                after_waiting,
            ))
        })
        .await;
    let (case, timeline, reference, open, waiting, after_waiting) = match found {
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
    // Field edits happen on the phone that reported; every other offer gets its form.
    let actions: Vec<&Transition> = available_actions(&case, &actor)
        .into_iter()
        .filter(|tr| tr.action != Action::Edit)
        .collect();
    let photos: Vec<(String, String)> = timeline
        .iter()
        .flat_map(|e| e.op.body.photos().to_vec())
        .map(|p| (p.kind.as_str().to_string(), p.sha256))
        .collect();
    let around: Vec<(Case, f64)> = nearby(&case, &open, 400.0)
        .into_iter()
        .map(|(c, d)| (c.clone(), d))
        .collect();
    // Candidates for "duplicate of": the server's probable duplicates, then open cases within
    // 200 m, nearest first.
    let mut candidates: Vec<(Case, f64)> = around
        .iter()
        .filter(|(c, d)| case.probable_duplicates.contains(&c.id) || *d <= 200.0)
        .cloned()
        .collect();
    candidates.sort_by_key(|(c, _)| !case.probable_duplicates.contains(&c.id));
    let default_deadline = state
        .store
        .reference_index()
        .default_deadline(&case.category, now)
        .ok();
    let seen = case.updated_hlc.encode();
    let csrf = csrf_for(session);
    let title = format!(
        "{} {}",
        case.case_no.clone().unwrap_or_default(),
        category_name(&reference, &case.category)
    );
    let photo_link = |sha: &str| {
        html! {
            @if waiting.iter().any(|w| w == sha) {
                span.photo-waiting title=(sha) { (t(lang, "照片仍在上传", "Photo still arriving")) }
            } @else {
                a href=(format!("/v1/photos/{sha}")) target="_blank" title=(t(lang, "点击查看原图", "open full size")) {
                    img src=(format!("/v1/photos/{sha}")) alt="";
                }
            }
        }
    };
    layout(
        lang,
        who,
        session,
        &title,
        html! {
            @if let Some((ok, m)) = &message { div.msg.ok[*ok].err[!*ok] #message { (m) } }
            h1 { (title) " " (status_badge(lang, &case, now)) }
            div.card {
                p { (case.description) }
                p.muted {
                    (case.location.address) " · " (format!("{:.5}, {:.5}", case.location.lat, case.location.lon))
                    " · " (t(lang, "上报人", "reporter")) " " (user_name(&reference, &case.reporter_id))
                    " · " (t(lang, "设备时间", "device time")) " " (when(&cal, case.reported_at_ms))
                    " · " (t(lang, "接收时间", "received")) " " (case.server_received_at_ms.map(|ms| when(&cal, ms)).unwrap_or_default())
                    @if case.unit_id.is_some() { " · " (t(lang, "责任单位", "unit")) " " (unit_name(&reference, case.unit_id.as_deref())) }
                    @if let Some(d) = case.deadline_ms { " · " (t(lang, "期限", "deadline")) " " (when(&cal, d)) }
                }
                @if let Some(ext) = &case.pending_extension {
                    // What a supervisor grants or refuses: the date asked for, by whom, and why.
                    p.msg.extension {
                        (t(lang, "延期申请：申请将期限延至", "Extension requested: new deadline"))
                        " " strong { (when(&cal, ext.until_ms)) }
                        " · " (user_name(&reference, &ext.requested_by))
                        " · " (ext.reason)
                    }
                }
            }
            div.photos {
                figure { figcaption { (t(lang, "整改前", "Before")) }
                    @for (_, sha) in photos.iter().filter(|(k, _)| k == "before") { (photo_link(sha)) } }
                figure { figcaption { (t(lang, "整改后", "After")) }
                    @for (_, sha) in photos.iter().filter(|(k, _)| k == "after" || k == "verify") { (photo_link(sha)) }
                    @if !photos.iter().any(|(k, _)| k == "after" || k == "verify") { p.muted { (t(lang, "尚无整改照片", "No after-photo yet")) } } }
            }
            div.side {
                div.card #actions {
                    h1 { (t(lang, "可执行操作", "Actions")) }
                    @if actions.is_empty() { p.muted { (t(lang, "当前没有您可执行的操作。", "Nothing for you to do now.")) } }
                    @for tr in &actions {
                        @let a = tr.action;
                        @let needs: Vec<Requirement> = tr.inputs().collect();
                        @let photo = needs.iter().any(|r| matches!(r, Requirement::AfterPhoto | Requirement::VerifyPhoto));
                        @if a == Action::VerifyPass && !after_waiting.is_empty() {
                            p.msg.err #after-waiting {
                                (t(lang, "整改照片仍在上传（", "The after-photos are still arriving ("))
                                (after_waiting.len())
                                (t(lang, " 张），到达后才能核查通过。", "): the case can be passed once they have."))
                            }
                        } @else {
                            // The form asks for exactly the inputs the table's row names.
                            form.act method="post" enctype=[photo.then_some("multipart/form-data")] action=(format!("/console/cases/{}/act", case.id)) data-action=(a.as_str()) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="seen" value=(seen);
                                input type="hidden" name="action" value=(a.as_str());
                                @for r in &needs {
                                    @match r {
                                        Requirement::Unit => {
                                            label { (r.label(lang)) " "
                                                select name="unit_id" required {
                                                    @for u in &reference.units {
                                                        option value=(u.id) selected[Some(&u.id) == case.suggested_unit_id.as_ref()] { (u.name) }
                                                    }
                                                }
                                            }
                                        }
                                        Requirement::Deadline => {
                                            label { (r.label(lang)) " "
                                                input type="datetime-local" name="deadline" value=(default_deadline.map(|ms| local_input(&cal, ms)).unwrap_or_default()); }
                                        }
                                        Requirement::NewDeadline => {
                                            label { (r.label(lang)) " "
                                                input type="datetime-local" name="until" required value=(case.deadline_ms.map(|ms| local_input(&cal, ms + 3 * 86_400_000)).unwrap_or_default()); }
                                        }
                                        Requirement::AfterPhoto | Requirement::VerifyPhoto => {
                                            label { (r.label(lang)) " " input type="file" name="photo" accept="image/jpeg,image/png,image/webp" required; }
                                        }
                                        Requirement::DuplicateTarget => {
                                            fieldset.candidates {
                                                legend { (t(lang, "重复于（选择原案件）", "Duplicate of (choose the original)")) }
                                                @for (i, (c, d)) in candidates.iter().enumerate() {
                                                    label {
                                                        input type="radio" name="duplicate_of" value=(c.id) checked[i == 0];
                                                        " " (category_name(&reference, &c.category)) " · " (c.description) " · "
                                                        (format!("{d:.0}")) " m · " (status_label(lang, c.status))
                                                        @if case.probable_duplicates.contains(&c.id) { " · " span.status.overdue { (t(lang, "疑似重复", "probable duplicate")) } }
                                                    }
                                                }
                                                @if candidates.is_empty() {
                                                    input name="duplicate_of" required aria-label=(r.label(lang)) placeholder=(t(lang, "附近没有未结案件：填写原案件编号 (UUID)", "no open case nearby: the original case's id"));
                                                }
                                            }
                                        }
                                        // The reason is the text field below, made required.
                                        _ => {}
                                    }
                                }
                                @let reason = needs.contains(&Requirement::Reason);
                                input name="text" required[reason] aria-label=(if reason { Requirement::Reason.label(lang) } else { t(lang, "说明", "note") }) placeholder=(if reason { t(lang, "理由（必填）", "reason (required)") } else { t(lang, "说明（可选）", "note (optional)") });
                                button.primary type="submit" data-action=(a.as_str()) { (action_label(lang, a)) }
                            }
                        }
                    }
                }
                (super::map::case_map(lang, &case, &around, &reference, state.config.map_tiles.as_ref()))
            }
            div.card {
                h1 { (t(lang, "处理记录", "Timeline")) }
                table #timeline {
                    tr { th { (t(lang, "操作", "Action")) } th { (t(lang, "操作人", "By")) } th { (t(lang, "设备时间", "Device time")) } th { (t(lang, "接收时间", "Received")) } th { (t(lang, "说明", "Note")) } }
                    @for e in &timeline {
                        tr {
                            td { (action_label(lang, e.op.body.action())) }
                            td { (user_name(&reference, &e.op.actor.user_id)) }
                            td { (when(&cal, e.op.device_time_ms)) }
                            td.muted { (e.server_time_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) }
                            td { (e.op.body.text().unwrap_or_default()) }
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
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
) -> Response {
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
