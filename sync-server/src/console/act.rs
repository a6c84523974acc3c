//! A console action: a form becomes one operation, pushed through the same path as a phone's
//! (`ServerStore::push` → `apply::push_batch` → the transition table). The form is whatever the
//! case page rendered from the action's offer; one that carries a photo (an after-photo, an
//! on-site photo) comes as multipart, its photo checked and stored like a phone's upload. A forged
//! form, another unit's case or a page that went stale changes nothing and says why on the page.

use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;
use xuncha_core::calendar::WorkCalendar;
use xuncha_core::model::{ActionInput, Case, Op, OpBody, PhotoKind, PhotoRef};
use xuncha_core::scope::Reach;
use xuncha_core::sync::protocol::{OpResult, OpStatus};
use xuncha_core::workflow::Action;

use super::case_page::render_case;
use super::i18n::{Lang, t};
use super::session::{Console, Session, csrf_for, forged};
use crate::state::AppState;
use crate::store::Principal;

/// The fields of every action form (unused ones are empty).
#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    /// The case's `updated_hlc` when the page was rendered.
    #[serde(default)]
    seen: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    duplicate_of: String,
    /// A deadline chosen on the page (the city's wall clock, `YYYY-MM-DDTHH:MM`); empty: the
    /// category's default.
    #[serde(default)]
    deadline: String,
    /// The new deadline an extension asks for (the city's wall clock), where the table needs one.
    #[serde(default)]
    until: String,
    /// The photo of a form that asks for one (multipart only).
    #[serde(skip)]
    photo: Option<Vec<u8>>,
}

impl ActForm {
    /// Read the form as the page sent it: urlencoded, or multipart when it carries a photo.
    /// `Err` holds what to tell the person (a body over the limit, say).
    async fn read(state: &AppState, req: Request, lang: Lang) -> Result<ActForm, String> {
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"multipart/"));
        let too_big = || {
            format!(
                "{} {} MB",
                t(
                    lang,
                    "表单无效或照片太大；照片上限",
                    "Not a valid form, or the photo is too large; the limit is"
                ),
                state.config.max_body_bytes / (1024 * 1024)
            )
        };
        if !multipart {
            return match axum::extract::Form::<ActForm>::from_request(req, state).await {
                Ok(axum::extract::Form(f)) => Ok(f),
                Err(_) => Err(too_big()),
            };
        }
        let Ok(mut parts) = Multipart::from_request(req, state).await else {
            return Err(too_big());
        };
        let mut f = ActForm::default();
        loop {
            match parts.next_field().await {
                Ok(None) => break,
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let Ok(bytes) = field.bytes().await else {
                        return Err(too_big());
                    };
                    let text = || String::from_utf8_lossy(&bytes).into_owned();
                    match name.as_str() {
                        "csrf" => f.csrf = text(),
                        "seen" => f.seen = text(),
                        "action" => f.action = text(),
                        "text" => f.text = text(),
                        "unit_id" => f.unit_id = text(),
                        "duplicate_of" => f.duplicate_of = text(),
                        "deadline" => f.deadline = text(),
                        "until" => f.until = text(),
                        // A browser sends an empty part when no file was chosen.
                        "photo" if !bytes.is_empty() => f.photo = Some(bytes.to_vec()),
                        _ => {}
                    }
                }
                Err(_) => return Err(too_big()),
            }
        }
        Ok(f)
    }
}

/// A `datetime-local` value read on the city's clock, in UTC ms.
fn deadline_ms(v: &str, lang: Lang, cal: &WorkCalendar) -> Result<Option<i64>, String> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    super::time::parse_local_input(cal, v)
        .map(Some)
        .ok_or_else(|| t(lang, "期限格式不对", "The deadline is not a date and time").to_string())
}

/// The operation body of a form, or what is wrong with it.
fn body_of(action: Action, f: &ActForm, lang: Lang, cal: &WorkCalendar) -> Result<OpBody, String> {
    if matches!(action, Action::Report | Action::Edit) {
        return Err(t(
            lang,
            "控制台不在此处提供该操作",
            "The console does not offer this action here",
        )
        .to_string());
    }
    let duplicate_of = match (action, f.duplicate_of.trim()) {
        (Action::MarkDuplicate, id) => Some(id.parse::<Uuid>().map_err(|_| {
            t(
                lang,
                "请选择或填写原案件",
                "Choose or give the original case",
            )
            .to_string()
        })?),
        _ => None,
    };
    let unit = f.unit_id.trim();
    OpBody::for_action(
        action,
        ActionInput {
            text: f.text.trim().to_string(),
            unit_id: (!unit.is_empty()).then(|| unit.to_string()),
            deadline_ms: deadline_ms(&f.deadline, lang, cal)?,
            until_ms: deadline_ms(&f.until, lang, cal)?,
            duplicate_of,
        },
    )
    .map_err(|e| e.message(lang))
}

/// `POST /console/cases/{id}/act`: any action, its inputs as the case page's form asked for them.
pub async fn act(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    take_action(state, console, id, req, None).await
}

/// `POST /console/cases/{id}/rectify`: the after-photo form's older address (the form now posts
/// to `act` with `action=rectify`); kept so a page open during an upgrade still works.
pub async fn rectify(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    take_action(state, console, id, req, Some(Action::Rectify)).await
}

async fn take_action(
    state: AppState,
    Console { who, session, lang }: Console,
    id: String,
    req: Request,
    fixed: Option<Action>,
) -> Response {
    let Ok(case_id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, "no such case").into_response();
    };
    let refuse = |msg: String| refused(&state, lang, &who, &session, case_id, msg);
    let f = match ActForm::read(&state, req, lang).await {
        Ok(f) => f,
        Err(m) => return refuse(m).await,
    };
    if f.csrf != csrf_for(&session) {
        return forged(lang);
    }
    let Some(action) = fixed.or_else(|| Action::parse(&f.action)) else {
        return refuse(t(lang, "未知操作", "Unknown action").to_string()).await;
    };
    let current = match state.blocking(move |s| s.case(case_id)).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(m) = check_seen(current.as_ref(), &state.reach(&who), &f.seen, lang) {
        return refuse(m).await;
    }
    let mut body = match body_of(action, &f, lang, &super::time::calendar(&state)) {
        Ok(b) => b,
        Err(m) => return refuse(m).await,
    };
    if let Some(bytes) = f.photo {
        let size = bytes.len() as u64;
        let (sha256, mime) =
            match crate::handlers::photos::store_whole(&state, &who.device_id, bytes).await {
                Ok(x) => x,
                Err(e) => return refuse(lang.pick(&e.message, &e.message_en).to_string()).await,
            };
        let photo = PhotoRef {
            sha256,
            kind: PhotoKind::of_action(action),
            mime: mime.to_string(),
            size,
            captured_at_ms: None,
            location: None,
        };
        if let Err(e) = body.attach_photos(vec![photo]) {
            return refuse(e.message(lang)).await;
        }
    }
    if action == Action::VerifyPass {
        let id = case_id.to_string();
        match state.blocking(move |s| s.after_photos_waiting(&id)).await {
            Ok(w) if w.is_empty() => {}
            Ok(w) => {
                return refuse(format!(
                    "{}{}{}",
                    t(
                        lang,
                        "整改照片仍在上传（",
                        "The after-photos are still arriving ("
                    ),
                    w.len(),
                    t(
                        lang,
                        " 张），到达后才能核查通过。",
                        "): the case can be passed once they have."
                    )
                ))
                .await;
            }
            Err(e) => return e.into_response(),
        }
    }
    push_one(&state, lang, &who, &session, current, case_id, body).await
}

/// The case page again, saying why nothing was done (409 when the case could be shown).
pub async fn refused(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    case_id: Uuid,
    msg: String,
) -> Response {
    let mut r = render_case(state, lang, who, session, case_id, Some((false, msg))).await;
    if r.status() == StatusCode::OK {
        *r.status_mut() = StatusCode::CONFLICT;
    }
    r
}

/// Push one operation from a case page's form and answer as a form does: back to the case page
/// when accepted, the page with the reason when not.
pub async fn push_one(
    state: &AppState,
    lang: Lang,
    who: &Principal,
    session: &Session,
    current: Option<Case>,
    case_id: Uuid,
    body: OpBody,
) -> Response {
    let refuse = |msg: String| refused(state, lang, who, session, case_id, msg);
    match push_bodies(state, who, lang, vec![(current, case_id, body)]).await {
        Err(Refused::Failed(r)) => r,
        Err(Refused::Said(m)) => refuse(m).await,
        Ok(results) => match results.first() {
            Some(r) if r.status == OpStatus::Accepted => {
                Redirect::to(&format!("/console/cases/{case_id}")).into_response()
            }
            Some(r) => refuse(r.reason.clone().unwrap_or_default()).await,
            None => refuse(String::new()).await,
        },
    }
}

/// The case as the page saw it may be acted on: visible to `who` and unchanged since (`seen` is
/// its `updated_hlc` then). Another unit's case and no case get the same empty message, so
/// nothing leaks.
pub fn check_seen(
    current: Option<&Case>,
    reach: &Reach,
    seen: &str,
    lang: Lang,
) -> Result<(), String> {
    match current {
        Some(c) if reach.can_see(c) => {
            if c.updated_hlc.encode() == seen {
                Ok(())
            } else {
                Err(t(lang, "该案件已被他人更新，未执行您的操作。请查看最新情况后再操作。", "This case changed since you opened it; your action was not taken. Check the latest state and try again.").to_string())
            }
        }
        _ => Err(String::new()),
    }
}

/// Why nothing was pushed.
pub enum Refused {
    /// A message for the page (a deadline in the past, say).
    Said(String),
    /// The store failed: the error page.
    Failed(Response),
}

/// Complete each body as a phone does (the category's default deadline when none is chosen),
/// stamp it as the console device's operation and push them all as one batch through the same
/// path as a phone's push. Returns each operation's result, in order.
pub async fn push_bodies(
    state: &AppState,
    who: &Principal,
    lang: Lang,
    items: Vec<(Option<Case>, Uuid, OpBody)>,
) -> Result<Vec<OpResult>, Refused> {
    let now = state.now_ms();
    let index = state.store.reference_index();
    let mut ops = Vec::with_capacity(items.len());
    for (current, case_id, mut body) in items {
        if let Err(e) = index.complete_deadline(current.as_ref(), &mut body, now) {
            return Err(Refused::Said(e.message(lang)));
        }
        let hlc = state
            .console_clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tick(now.max(0) as u64);
        ops.push(Op {
            id: Uuid::now_v7(),
            case_id,
            device_id: who.device_id.clone(),
            actor: who.actor(),
            hlc,
            device_time_ms: now,
            body,
        });
    }
    let results = state
        .push(who.clone(), ops, now)
        .await
        .map_err(|e| Refused::Failed(e.into_response()))?;
    for r in &results {
        if r.status == OpStatus::Accepted {
            state.metrics.ops_accepted.inc();
        } else {
            state
                .metrics
                .ops_rejected
                .with_label_values(&[r.code.as_deref().unwrap_or("rejected")])
                .inc();
        }
    }
    Ok(results)
}
