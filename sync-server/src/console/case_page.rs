//! The case page: everything about one case and the forms of what the person may do now. Its
//! data is loaded in one go ([`load`]) and rendered apart from the loading ([`render`]); each
//! action's form asks for exactly the inputs its row of the transition table names.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use uuid::Uuid;
use xuncha_core::calendar::WorkCalendar;
use xuncha_core::fold::available_actions;
use xuncha_core::model::{Case, Event};
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope;
use xuncha_core::workflow::{Action, Requirement, Transition};

use super::i18n::{Lang, action_label, status_label, t};
use super::pages::{category_name, layout, nearby, open_near, status_badge, unit_name, user_name};
use super::session::{Console, Session, csrf_for};
use super::time::{calendar, local_input, when};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{CitizenReport, Principal};

/// Everything the case page shows.
pub struct CasePage {
    case: Case,
    timeline: Vec<Event>,
    reference: ReferenceData,
    /// Open cases within 400 m the person may see, nearest first (the map).
    around: Vec<(Case, f64)>,
    /// Candidates for "duplicate of": the server's probable duplicates, then open cases within
    /// 200 m, nearest first.
    candidates: Vec<(Case, f64)>,
    /// Photos of the case whose bytes have not arrived.
    waiting: Vec<String>,
    /// After-photos of the latest rectification that have not arrived.
    after_waiting: Vec<String>,
    /// What the person may do now (field edits are the phone's).
    actions: Vec<&'static Transition>,
    /// The category's default deadline from now, to prefill a deadline.
    default_deadline: Option<i64>,
    /// Where a citizen report came from and its reporter's contact, for those who may see it
    /// ([`scope::can_see_reporter_contact`]).
    citizen: Option<CitizenReport>,
    /// The units the person may dispatch to (an area's supervisors: their area's and the
    /// city-wide ones).
    dispatch_units: Vec<(String, String)>,
    now: i64,
    cal: WorkCalendar,
}

/// The case page's data for `who`; `None` if there is no such case or `who` may not see it.
pub async fn load(state: &AppState, who: &Principal, id: Uuid) -> ApiResult<Option<CasePage>> {
    let contact_allowed = scope::can_see_reporter_contact(&who.actor());
    let reach = state.reach(who);
    let reach_in = reach.clone();
    let (case, timeline, reference, open, waiting, after_waiting, citizen) = state
        .blocking(move |s| {
            let case = s.case(id)?;
            let citizen = match &case {
                Some(c) if contact_allowed && c.reporter_id == scope::CITIZEN_REPORTER => {
                    s.citizen_report(id)?
                }
                _ => None,
            };
            let open = match &case {
                Some(c) => open_near(s, &reach_in, &[c.location.point()], 400.0)?,
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
                citizen,
            ))
        })
        .await?;
    let actor = who.actor();
    let Some(case) = case.filter(|c| reach.can_see(c)) else {
        return Ok(None);
    };
    let now = state.now_ms();
    let actions = available_actions(&case, &actor)
        .into_iter()
        .filter(|tr| tr.action != Action::Edit)
        .collect();
    let around: Vec<(Case, f64)> = nearby(&case, &open, 400.0)
        .into_iter()
        .map(|(c, d)| (c.clone(), d))
        .collect();
    let mut candidates: Vec<(Case, f64)> = around
        .iter()
        .filter(|(c, d)| case.probable_duplicates.contains(&c.id) || *d <= 200.0)
        .cloned()
        .collect();
    candidates.sort_by_key(|(c, _)| !case.probable_duplicates.contains(&c.id));
    let index = state.store.reference_index();
    let default_deadline = index.default_deadline(&case.category, now).ok();
    let dispatch_units = super::areas::dispatchable(&reference.units, &reach, &index);
    Ok(Some(CasePage {
        dispatch_units,
        case,
        timeline,
        reference,
        around,
        candidates,
        waiting,
        after_waiting,
        actions,
        default_deadline,
        citizen,
        now,
        cal: calendar(state),
    }))
}

/// The case page of `id` for `who`, with an optional message (after an action).
pub async fn render_case(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    id: Uuid,
    message: Option<(bool, String)>,
) -> Response {
    match load(state, who, id).await {
        Err(e) => e.into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            layout(lang, who, session, t(lang, "找不到案件", "No such case"), html! {
                div.msg.err { (t(lang, "找不到该案件，或您无权查看。", "No such case, or not visible to you.")) }
            }),
        )
            .into_response(),
        Ok(Some(page)) => {
            let map_tiles = state.config.map_tiles.as_ref();
            render(lang, who, session, page, message.as_ref(), map_tiles).into_response()
        }
    }
}

/// The page from its data.
fn render(
    lang: Lang,
    who: &Principal,
    session: &Session,
    page: CasePage,
    message: Option<&(bool, String)>,
    map_tiles: Option<&crate::state::MapTiles>,
) -> Markup {
    let CasePage {
        case,
        timeline,
        reference,
        around,
        candidates,
        waiting,
        after_waiting,
        actions,
        default_deadline,
        citizen,
        dispatch_units,
        now,
        cal,
    } = page;
    let area = super::areas::area_path(
        &xuncha_core::area::AreaTree::new(&reference.areas),
        case.area_id.as_deref(),
        lang,
    );
    let seen = case.updated_hlc.encode();
    let csrf = csrf_for(session);
    let photos: Vec<(String, String)> = timeline
        .iter()
        .flat_map(|e| e.op.body.photos().to_vec())
        .map(|p| (p.kind.as_str().to_string(), p.sha256))
        .collect();

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
            @if let Some((ok, m)) = message { div.msg.ok[*ok].err[!*ok] #message { (m) } }
            h1 { (title) " " (status_badge(lang, &case, now)) }
            div.card {
                p { (case.description) }
                p.muted {
                    (case.location.address) " · " (format!("{:.5}, {:.5}", case.location.lat, case.location.lon))
                    @if !area.is_empty() { " · " (t(lang, "区域", "area")) " " span #case-area { (area) } }
                    " · " (t(lang, "上报人", "reporter")) " " (user_name(&reference, &case.reporter_id))
                    " · " (t(lang, "设备时间", "device time")) " " (when(&cal, case.reported_at_ms))
                    " · " (t(lang, "接收时间", "received")) " " (case.server_received_at_ms.map(|ms| when(&cal, ms)).unwrap_or_default())
                    @if case.unit_id.is_some() { " · " (t(lang, "责任单位", "unit")) " " (unit_name(&reference, case.unit_id.as_deref())) }
                    @if let Some(d) = case.deadline_ms { " · " (t(lang, "期限", "deadline")) " " (when(&cal, d)) }
                }
                @if let Some(c) = &citizen {
                    // A citizen report: where it came from and how to reach the reporter
                    // (supervisors only).
                    p.msg.citizen #citizen {
                        strong { (t(lang, "市民随手拍", "Citizen report")) }
                        " · " (t(lang, "来源", "via")) " " (c.client)
                        @if c.contact.is_empty() {
                            " · " (t(lang, "未留联系方式", "no contact given"))
                        } @else {
                            " · " (t(lang, "联系人", "contact")) " " (format!("{}{}", c.contact.last_name, c.contact.first_name))
                            @if !c.contact.phone.is_empty() { " · " (t(lang, "电话", "phone")) " " a href=(format!("tel:{}", c.contact.phone)) { (c.contact.phone) } }
                            @if !c.contact.email.is_empty() { " · " (t(lang, "邮箱", "e-mail")) " " (c.contact.email) }
                        }
                    }
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
                                                    @for (id, name) in &dispatch_units {
                                                        option value=(id) selected[Some(id) == case.suggested_unit_id.as_ref()] { (name) }
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
                (super::map::case_map(lang, &case, &around, &reference, map_tiles))
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
