//! The console's frame and queue: the page layout, the review queue, and the lookups every page
//! shares (names of categories, units and users; open cases nearby).

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use maud::{DOCTYPE, Markup, html};
use uuid::Uuid;
use xuncha_core::geo::{LatLon, distance_m};
use xuncha_core::model::Case;
use xuncha_core::notify::{Attention, NoticeKind, attention};
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope::{self, Reach};
use xuncha_core::workflow::{Role, Status};

use super::i18n::{Lang, status_label, t};
use super::session::{Console, Session, csrf_for};
use super::time::{calendar, today, when};
use crate::state::AppState;
use crate::store::Principal;
use crate::store::case_list::CaseFilter;

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
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                script src="/console/console.js" defer {}
            }
            body { (body) }
        }
    }
}

pub fn layout(lang: Lang, who: &Principal, session: &Session, title: &str, body: Markup) -> Markup {
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
                    a href="/console/rounds" { (t(lang, "巡查轮次", "Rounds")) }
                    a href="/console/standard" { (t(lang, "测评标准", "Standard")) }
                    a href="/console/photos/waiting" { (t(lang, "未到照片", "Missing photos")) }
                }
                @if matches!(who.user.role, Role::Supervisor | Role::Admin) {
                    a href="/console/outbox" { (t(lang, "通知投递", "Delivery")) }
                }
                form.search method="get" action="/console/search" {
                    input name="q" type="search" placeholder=(t(lang, "案卷号 / 描述 / 地址", "case no. / words")) aria-label=(t(lang, "查找案件", "Find a case"));
                }
                (super::notices::bell_markup(lang, &session.bell))
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

/// A page for supervisors and admins: `None` for them, for anyone else a 403 page saying `why`
/// (in Chinese and in English).
pub fn office_only(
    lang: Lang,
    who: &Principal,
    session: &Session,
    why: (&str, &str),
) -> Option<Response> {
    (!matches!(who.user.role, Role::Supervisor | Role::Admin)).then(|| {
        (
            axum::http::StatusCode::FORBIDDEN,
            layout(
                lang,
                who,
                session,
                t(lang, "无权查看", "Not allowed"),
                html! {
                    div.msg.err { (t(lang, why.0, why.1)) }
                },
            ),
        )
            .into_response()
    })
}

pub(super) fn status_badge(lang: Lang, c: &Case, now: i64) -> Markup {
    let overdue = c.is_overdue(now);
    html! {
        span.status.overdue[overdue] { (status_label(lang, c.status)) @if overdue { " · " (t(lang, "逾期", "overdue")) } }
    }
}

/// The most held cases (of sealed 暗访 rounds) the queue's statement leaves out by id.
const HELD_EXCLUDED: usize = 2_000;

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
    session: &Session,
    message: Option<(bool, String)>,
) -> Response {
    let statuses = Status::queue_of(who.user.role).to_vec();
    let cal = calendar(state);
    let reach = state.reach(who);
    let filter = CaseFilter::for_reach(&reach).map(|f| CaseFilter { statuses, ..f });
    let reach_in = reach.clone();
    let me = who.user.id.clone();
    // The unit's own notices say which of its cases were urged (its morning list).
    let notices_of = (who.user.role == Role::UnitStaff).then(|| who.user.id.clone());
    let loaded = state
        .blocking(move |s| {
            let reference = s.reference()?.1;
            let pressed = match &notices_of {
                Some(user) => s.latest_notices(user, 200)?,
                None => Vec::new(),
            };
            // The office's queue leaves out what sealed 暗访 rounds hold (nobody may dispatch
            // them before the round is published); it says how many of its reach's.
            let held = if notices_of.is_none() {
                crate::rounds::held_cases(s)?
            } else {
                Vec::new()
            };
            // Only the reach's are left out (the others are not on this queue anyway), and at
            // most HELD_EXCLUDED of them, so the statement stays bounded; past that a held case
            // may show, and its dispatch is still refused (round_sealed).
            let held: Vec<_> = held
                .into_iter()
                .filter(|h| h.in_reach(&reach_in, &me))
                .collect();
            let held_here = held.len();
            // Three queries, however many rows: the cases, their first photos, and the open
            // cases around all of them.
            let cases: Vec<Case> = match &filter {
                Some(f) => {
                    let mut f = f.clone();
                    f.excluded = held
                        .iter()
                        .take(HELD_EXCLUDED)
                        .map(|h| h.id.to_string())
                        .collect();
                    s.newest_cases(&f, QUEUE_ROWS)?
                }
                None => Vec::new(),
            };
            let ids: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
            let mut photos = s.first_photos(&ids)?;
            let points: Vec<LatLon> = cases.iter().map(|c| c.location.point()).collect();
            let around = open_near(s, &reach_in, &points, NEARBY_M)?;
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
            Ok((reference, rows, pressed, held_here))
        })
        .await;
    let (reference, mut cases, pressed, held) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let dispatch_units =
        super::areas::dispatchable(&reference.units, &reach, &state.store.reference_index());
    if who.user.role == Role::UnitStaff {
        // A unit works to deadlines: the most urgent first.
        cases.sort_by_key(|(c, ..)| c.deadline_ms.unwrap_or(i64::MAX));
    }
    let now = state.now_ms();
    // A unit's morning: due today, overdue, urged — from core's rule, the urged ones known by
    // the person's notices.
    let morning: Vec<(Attention, Vec<&Case>)> = if who.user.role == Role::UnitStaff {
        let day_end = super::time::midnight_ms(&cal, today(&cal, now) + chrono::Duration::days(1));
        let pressed: std::collections::HashSet<Uuid> = pressed
            .iter()
            .filter(|n| matches!(n.kind, NoticeKind::Urged | NoticeKind::Escalated))
            .map(|n| n.case_id)
            .collect();
        Attention::ALL
            .into_iter()
            .map(|a| {
                let list = cases
                    .iter()
                    .map(|(c, ..)| c)
                    .filter(|c| attention(c, now, day_end, pressed.contains(&c.id)) == Some(a))
                    .collect();
                (a, list)
            })
            .collect()
    } else {
        Vec::new()
    };
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
            @if !morning.is_empty() {
                div.morning #morning {
                    @for (a, list) in &morning {
                        div.card id=(format!("morning-{}", match a { Attention::DueToday => "due-today", Attention::Overdue => "overdue", Attention::Urged => "urged" })) {
                            h2 { (a.label(lang)) " (" (list.len()) ")" }
                            @if list.is_empty() { p.muted { (t(lang, "无", "None")) } }
                            @for c in list {
                                p { a href=(format!("/console/cases/{}", c.id)) { (c.case_no.clone().unwrap_or_default()) " " (category_name(&reference, &c.category)) }
                                    " · " span.muted { (t(lang, "期限", "due")) " " (c.deadline_ms.map(|d| when(&cal, d)).unwrap_or_default()) } }
                            }
                        }
                    }
                }
            }
            h1 { (title) " (" (cases.len()) ")" }
            @if held > 0 {
                p.muted #held { (t(lang, "另有", "Also")) " " (held) " " (t(lang, "件暗访发现的问题待公布后派遣，见", "found undercover wait for their round to be published: see")) " " a href="/console/rounds" { (t(lang, "巡查轮次", "Inspection rounds")) } }
            }
            @if cases.len() >= QUEUE_ROWS {
                p.muted { (t(lang, "只显示最新的 200 件；可用看板筛选或上方查找。", "Showing the newest 200; use the boards' filters or search for others.")) }
            }
            @if cases.is_empty() {
                p.muted { (t(lang, "暂无待办案件。", "Nothing waiting.")) }
            } @else {
                form #bulk method="post" action="/console/bulk" {
                input type="hidden" name="csrf" value=(csrf_for(session));
                table.cards #queue {
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
                            @if office { td.pick { label.tick { input type="checkbox" name="case" value=(format!("{}:{}", c.id, c.updated_hlc.encode())) aria-label=(format!("{} {}", t(lang, "选择", "Select"), c.case_no.clone().unwrap_or_else(|| category_name(&reference, &c.category)))); } } }
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
                            td {
                                (user_name(&reference, &c.reporter_id))
                                @if c.reporter_id == scope::CITIZEN_REPORTER { br; span.status.citizen { (t(lang, scope::CITIZEN_REPORTER_NAME.0, scope::CITIZEN_REPORTER_NAME.1)) } }
                            }
                            td { (when(&cal, c.reported_at_ms)) br; span.muted { (c.server_received_at_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) } }
                            @if !office { td.deadline { (c.deadline_ms.map(|ms| when(&cal, ms)).unwrap_or_default()) } }
                            td { (status_badge(lang, c, now)) }
                        }
                    }
                }
                @if office {
                    div.card.bulk {
                        (t(lang, "对选中的案件：", "For the selected cases:")) " "
                        select name="unit_id" aria-label=(t(lang, "派遣给", "Dispatch to")) {
                            option value="" { (t(lang, "按点位/网格建议的单位", "the unit suggested by site/grid")) }
                            @for (id, name) in &dispatch_units { option value=(id) { (name) } }
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
        .unwrap_or_else(|| {
            if id == scope::CITIZEN_REPORTER {
                scope::CITIZEN_REPORTER_NAME.0.to_string()
            } else if id == xuncha_core::escalation::SYSTEM_ACTOR {
                xuncha_core::escalation::SYSTEM_ACTOR_NAME.0.to_string()
            } else {
                id.to_string()
            }
        })
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

/// Open cases ([`Status::OPEN`]) within about `radius_m` of any of `at` that `reach` holds.
pub(super) fn open_near(
    s: &dyn crate::store::ServerStore,
    reach: &Reach,
    at: &[LatLon],
    radius_m: f64,
) -> xuncha_core::Result<Vec<Case>> {
    Ok(s.cases_near(at, radius_m, Status::OPEN, 500)?
        .into_iter()
        .filter(|o| reach.can_see(o))
        .collect())
}
