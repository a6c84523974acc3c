//! `POST /console/bulk`: register, or register and dispatch, several cases from the queue at
//! once. Each case becomes the same operations a single action would (register if still
//! submitted, then dispatch to the chosen unit or the one its site or grid suggests, with the
//! category's deadline), all pushed as one batch; the queue then says what was done and what
//! was refused, case by case.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use xuncha_core::model::OpBody;
use xuncha_core::sync::protocol::OpStatus;
use xuncha_core::workflow::{Role, Status};

use super::act::{Refused, check_seen, push_bodies};
use super::i18n::t;
use super::pages::render_queue;
use super::session::{Console, csrf_for, forged};
use crate::state::AppState;

/// The form: `csrf`, `action` (`dispatch` | `register`), `unit_id` (empty: suggested) and one
/// `case=<id>:<updated_hlc as seen>` per ticked row.
pub async fn bulk(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    body: Bytes,
) -> Response {
    let (mut csrf, mut action, mut unit) = (String::new(), String::new(), String::new());
    let mut picked: Vec<(Uuid, String)> = Vec::new();
    let mut malformed = false;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "action" => action = v.into_owned(),
            "unit_id" => unit = v.trim().to_string(),
            "case" => match v
                .split_once(':')
                .and_then(|(id, seen)| Some((id.parse::<Uuid>().ok()?, seen.to_string())))
            {
                // A row named twice (a hand-made form) is acted on once.
                Some(x) if picked.iter().any(|(id, _)| *id == x.0) => {}
                Some(x) => picked.push(x),
                None => malformed = true,
            },
            _ => {}
        }
    }
    if csrf != csrf_for(&session) {
        return forged(lang);
    }
    let say = |ok: bool, m: String| {
        let (state, who, session) = (state.clone(), who.clone(), session.clone());
        async move {
            let mut r = render_queue(&state, lang, &who, &session, Some((ok, m))).await;
            if !ok && r.status() == StatusCode::OK {
                *r.status_mut() = StatusCode::CONFLICT;
            }
            r
        }
    };
    if who.user.role != Role::Supervisor {
        let mut r = say(
            false,
            t(
                lang,
                "只有督查人员可以批量派遣。",
                "Only supervisors dispatch cases.",
            )
            .into(),
        )
        .await;
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let dispatch = match action.as_str() {
        "dispatch" => true,
        "register" => false,
        _ => return say(false, t(lang, "未知操作", "Unknown action").into()).await,
    };
    if malformed {
        return say(
            false,
            t(
                lang,
                "表单内容无效，未执行任何操作。",
                "The form was not valid; nothing was done.",
            )
            .into(),
        )
        .await;
    }
    if picked.is_empty() {
        return say(
            false,
            t(lang, "请先勾选要处理的案件。", "Tick the cases first.").into(),
        )
        .await;
    }
    let ids: Vec<Uuid> = picked.iter().map(|(id, _)| *id).collect();
    let current = match state
        .blocking(move |s| {
            ids.iter()
                .map(|id| s.case(*id))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
    {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    // Each case's operations, and which case each operation belongs to.
    let mut items = Vec::new();
    let mut owner = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let label = |c: Option<&xuncha_core::model::Case>, id: Uuid| {
        c.map(|c| {
            c.case_no
                .clone()
                .unwrap_or_else(|| format!("{} {}", c.category, c.description))
        })
        .unwrap_or_else(|| id.to_string())
    };
    let mut names: Vec<(Uuid, String)> = Vec::new();
    let reach = state.reach(&who);
    for ((id, seen), case) in picked.iter().zip(current) {
        names.push((*id, label(case.as_ref(), *id)));
        if let Err(m) = check_seen(case.as_ref(), &reach, seen, lang) {
            let m = if m.is_empty() {
                t(
                    lang,
                    "找不到该案件，或您无权操作",
                    "no such case, or not yours",
                )
                .to_string()
            } else {
                m
            };
            problems.push(format!("{}：{m}", label(case.as_ref(), *id)));
            continue;
        }
        let Some(c) = case else { continue };
        let target = if unit.is_empty() {
            c.suggested_unit_id.clone()
        } else {
            Some(unit.clone())
        };
        if dispatch && target.is_none() {
            problems.push(format!(
                "{}：{}",
                label(Some(&c), *id),
                t(
                    lang,
                    "没有建议的责任单位，请选择单位",
                    "no suggested unit; choose one"
                )
            ));
            continue;
        }
        if c.status == Status::Submitted {
            items.push((
                Some(c.clone()),
                *id,
                OpBody::Register {
                    note: String::new(),
                },
            ));
            owner.push(*id);
        }
        if let (true, Some(unit_id)) = (dispatch, target) {
            items.push((
                Some(c.clone()),
                *id,
                OpBody::Dispatch {
                    unit_id,
                    deadline_ms: None,
                    note: String::new(),
                },
            ));
            owner.push(*id);
        }
    }
    let results = match push_bodies(&state, &who, lang, items).await {
        Ok(r) => r,
        Err(Refused::Failed(r)) => return r,
        Err(Refused::Said(m)) => return say(false, m).await,
    };
    let mut done: Vec<Uuid> = Vec::new();
    let mut failed: Vec<Uuid> = Vec::new();
    for (id, r) in owner.iter().zip(&results) {
        if r.status != OpStatus::Accepted {
            if !failed.contains(id) {
                failed.push(*id);
                let name = names
                    .iter()
                    .find(|(n, _)| n == id)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_else(|| id.to_string());
                problems.push(format!("{name}：{}", r.reason.clone().unwrap_or_default()));
            }
        } else if !done.contains(id) {
            done.push(*id);
        }
    }
    done.retain(|id| !failed.contains(id));
    let verb = if dispatch {
        t(lang, "已派遣", "Dispatched")
    } else {
        t(lang, "已登记", "Registered")
    };
    let mut m = format!("{verb} {} {}", done.len(), t(lang, "件。", "case(s)."));
    if !problems.is_empty() {
        m.push_str(&format!(
            " {} {}：{}",
            problems.len(),
            t(lang, "件未执行", "not done"),
            problems.join("；")
        ));
    }
    say(problems.is_empty(), m).await
}
