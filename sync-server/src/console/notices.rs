//! Notices in the console (issue 16): the header's bell (unread count and the latest few), the
//! person's list (`/console/notices`; opening one marks it read and goes to its case), and
//! for supervisors and admins the outbox's dead letters (`/console/outbox`), each of which can
//! be sent again.

use axum::extract::{Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;
use xuncha_core::notify::Notice;

use super::i18n::t;
use super::pages::layout;
use super::session::{Console, csrf_for, forged};
use super::time::{calendar, when};
use crate::state::AppState;
use crate::store::Principal;

/// The latest notices the header shows.
const BELL_ROWS: usize = 6;
/// The notices the list shows.
const LIST_ROWS: usize = 200;

/// What the page header shows of the person's notices.
#[derive(Debug, Clone, Default)]
pub struct Bell {
    /// Unread.
    pub unread: u64,
    /// The latest, newest first.
    pub latest: Vec<Notice>,
}

impl Bell {
    /// The person's bell (empty if it cannot be read: a page is never refused for it).
    pub async fn load(state: &AppState, who: &Principal) -> Bell {
        let user = who.user.id.clone();
        state
            .blocking(move |s| {
                Ok(Bell {
                    unread: s.unread_notices(&user)?,
                    latest: s.latest_notices(&user, BELL_ROWS)?,
                })
            })
            .await
            .unwrap_or_default()
    }
}

/// The bell in the header: a count, and the latest notices under it (no script needed).
pub fn bell_markup(lang: super::i18n::Lang, bell: &Bell) -> maud::Markup {
    html! {
        details.bell #bell {
            // The visible text is the name (a label that differed from it would confuse speech
            // input): 通知, then the count.
            summary title=(t(lang, "未读通知", "Unread notices")) {
                (t(lang, "通知", "Notices"))
                @if bell.unread > 0 { " " span.count #bell-count { (bell.unread) } }
            }
            div.menu {
                @if bell.latest.is_empty() { p.muted { (t(lang, "暂无通知", "No notices")) } }
                @for n in &bell.latest {
                    a.notice.unread[!n.read] href=(format!("/console/notices/{}", n.id)) {
                        strong { (n.title) } " " (n.text.split('｜').next().unwrap_or(""))
                    }
                }
                a href="/console/notices" { (t(lang, "全部通知", "All notices")) }
            }
        }
    }
}

/// `GET /console/notices`: the person's notices, newest first.
pub async fn list(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    let user = who.user.id.clone();
    let notices = match state
        .blocking(move |s| s.latest_notices(&user, LIST_ROWS))
        .await
    {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let cal = calendar(&state);
    let title = t(lang, "我的通知", "My notices");
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        @if session.bell.unread > 0 {
            form.act method="post" action="/console/notices/read" {
                input type="hidden" name="csrf" value=(csrf_for(&session));
                button type="submit" { (t(lang, "全部标为已读", "Mark all read")) }
            }
        }
        @if notices.is_empty() { p.muted { (t(lang, "暂无通知。", "No notices yet.")) } }
        table.cards #notices {
            @for n in &notices {
                tr.unread[!n.read] data-kind=(n.kind.as_str()) {
                    td { span.status.overdue[matches!(n.kind, xuncha_core::notify::NoticeKind::Overdue)] { (n.kind.label(lang)) } }
                    td { a href=(format!("/console/notices/{}", n.id)) { (n.text) } }
                    td.muted { (when(&cal, n.created_ms)) }
                    td.muted { @if n.read { (t(lang, "已读", "read")) } @else { strong { (t(lang, "未读", "unread")) } } }
                }
            }
        }
    })
    .into_response()
}

/// `GET /console/notices/{id}`: mark it read and go to its case.
pub async fn open(
    State(state): State<AppState>,
    Console { who, .. }: Console,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return Redirect::to("/console/notices").into_response();
    };
    let user = who.user.id.clone();
    let now = state.now_ms();
    let found = state
        .blocking(move |s| {
            s.mark_notices_read(&user, &[id], now)?;
            // Only the person's own copies are found (the latest are enough to look in).
            Ok(s.latest_notices(&user, LIST_ROWS)?
                .into_iter()
                .find(|n| n.id == id))
        })
        .await;
    match found {
        Ok(Some(n)) => Redirect::to(&format!("/console/cases/{}", n.case_id)).into_response(),
        Ok(None) => Redirect::to("/console/notices").into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/notices/read`: mark every notice of the person read.
pub async fn read_all(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Form(f): Form<CsrfForm>,
) -> Response {
    if f.csrf != csrf_for(&session) {
        return forged(lang);
    }
    let user = who.user.id.clone();
    let now = state.now_ms();
    let done = state
        .blocking(move |s| {
            loop {
                let ids: Vec<Uuid> = s
                    .latest_notices(&user, xuncha_core::limits::NOTICES_PER_READ)?
                    .into_iter()
                    .filter(|n| !n.read)
                    .map(|n| n.id)
                    .collect();
                if ids.is_empty() || s.mark_notices_read(&user, &ids, now)? == 0 {
                    return Ok(());
                }
            }
        })
        .await;
    match done {
        Ok(()) => Redirect::to("/console/notices").into_response(),
        Err(e) => e.into_response(),
    }
}

/// Only supervisors and admins see the outbox.
fn office_only(
    lang: super::i18n::Lang,
    who: &Principal,
    session: &super::session::Session,
) -> Option<Response> {
    super::pages::office_only(
        lang,
        who,
        session,
        (
            "通知投递情况仅督查人员和管理员可见。",
            "Notice delivery is for supervisors and admins.",
        ),
    )
}

/// `GET /console/outbox`: the outbox's counts and its dead letters.
pub async fn outbox(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
) -> Response {
    if let Some(r) = office_only(lang, &who, &session) {
        return r;
    }
    let loaded = state
        .blocking(|s| Ok((s.outbox_counts()?, s.dead_deliveries(LIST_ROWS)?)))
        .await;
    let (counts, dead) = match loaded {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let cal = calendar(&state);
    let channels = state.config.notify.channel_ids();
    let title = t(lang, "通知投递", "Notice delivery");
    layout(lang, &who, &session, title, html! {
        h1 { (title) }
        p #outbox-counts {
            (t(lang, "渠道", "Channels")) ": " @if channels.is_empty() { (t(lang, "未配置", "none configured")) } @else { (channels.join("、")) }
            " · " (t(lang, "待发送", "pending")) " " (counts.pending)
            " · " (t(lang, "已送达", "delivered")) " " (counts.sent)
            " · " (t(lang, "失败", "dead letters")) " " (counts.dead)
        }
        h2 { (t(lang, "投递失败（已停止重试）", "Dead letters (no more retries)")) }
        @if dead.is_empty() { p.muted { (t(lang, "没有投递失败的通知。", "Nothing failed for good.")) } }
        table.cards #dead-letters {
            @for d in &dead {
                tr {
                    td { (d.channel) }
                    td { a href=(format!("/console/cases/{}", d.message.case_id)) { (d.message.text(&cal)) } }
                    td.muted { (when(&cal, d.message.created_ms)) " · " (t(lang, "尝试", "attempts")) " " (d.attempts) }
                    td.muted { (d.last_error) }
                    td {
                        form method="post" action="/console/outbox/retry" {
                            input type="hidden" name="csrf" value=(csrf_for(&session));
                            input type="hidden" name="event" value=(d.message.id);
                            input type="hidden" name="channel" value=(d.channel);
                            button type="submit" { (t(lang, "重新发送", "Send again")) }
                        }
                    }
                }
            }
        }
    })
    .into_response()
}

#[derive(Deserialize)]
pub struct RetryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    channel: String,
}

/// `POST /console/outbox/retry`: send a dead letter again.
pub async fn retry(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Form(f): Form<RetryForm>,
) -> Response {
    if f.csrf != csrf_for(&session) {
        return forged(lang);
    }
    if let Some(r) = office_only(lang, &who, &session) {
        return r;
    }
    let Ok(event) = f.event.parse::<Uuid>() else {
        return Redirect::to("/console/outbox").into_response();
    };
    let now = state.now_ms();
    let channel = f.channel.chars().take(64).collect::<String>();
    match state
        .blocking(move |s| s.retry_delivery(event, &channel, now))
        .await
    {
        Ok(_) => Redirect::to("/console/outbox").into_response(),
        Err(e) => e.into_response(),
    }
}
