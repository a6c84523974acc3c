//! Raising notices: from the operations in the change feed, and from deadlines.

use xuncha_core::model::{Case, Event, OpBody};
use xuncha_core::notify::{self, Message, NoticeKind};
use xuncha_core::reference::{ReferenceData, ReferenceIndex};
use xuncha_core::scope::CITIZEN_REPORTER;
use xuncha_core::workflow::Status;

use crate::console::{category_name, unit_name};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ServerStore;
use crate::store::case_list::CaseFilter;
use crate::store::notice_records::NewNotice;

/// Feed events read per step.
const BATCH: usize = 500;

/// The message of `kind` on `case` (as it stands), for event `id`.
pub fn message_of(
    id: uuid::Uuid,
    kind: NoticeKind,
    case: &Case,
    note: &str,
    created_ms: i64,
    r: &ReferenceData,
) -> Message {
    let source = if case.reporter_id == CITIZEN_REPORTER {
        "市民随手拍"
    } else if case.undercover {
        "暗访"
    } else {
        "巡查上报"
    };
    let place = if case.location.address.trim().is_empty() {
        case.site_id
            .as_deref()
            .and_then(|s| r.sites.iter().find(|x| x.id == s))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    } else {
        case.location.address.clone()
    };
    Message {
        id,
        kind,
        case_id: case.id,
        case_no: case.case_no.clone(),
        source: source.into(),
        category: category_name(r, &case.category),
        place,
        unit: unit_name(r, case.unit_id.as_deref()),
        dispatched_ms: case.deadline_set_ms,
        deadline_ms: case.deadline_ms,
        note: note.into(),
        created_ms,
    }
}

/// The notice `event` raises on `case` (as it stands now), addressed.
fn from_event(
    event: &Event,
    case: &Case,
    r: &ReferenceData,
    index: &ReferenceIndex,
) -> Option<NewNotice> {
    let kind = notify::on_event(event)?;
    let mut at_the_time = case.clone();
    let note = match &event.op.body {
        // The unit it went to then (it may have moved on since).
        OpBody::Dispatch { unit_id, .. } => {
            at_the_time.unit_id = Some(unit_id.clone());
            String::new()
        }
        OpBody::Urge { reason }
        | OpBody::Escalate { reason }
        | OpBody::VerifyFail { reason, .. } => reason.clone(),
        OpBody::Reopen { reason, .. } => reason.clone(),
        _ => String::new(),
    };
    let id = notify::event_id(kind, case.id, &event.op.id.to_string());
    let created = event.server_time_ms.unwrap_or(event.op.device_time_ms);
    let message = message_of(id, kind, &at_the_time, &note, created, r);
    let mut recipients = notify::recipients(kind, &at_the_time, &r.users, index);
    recipients.retain(|u| *u != event.op.actor.user_id);
    Some(NewNotice {
        text: message.text(&r.calendar),
        message,
        recipients,
    })
}

/// Read the feed after the notifier's cursor and record what it raises, a batch at a time,
/// the cursor moving with the notices it raised.
pub fn feed_once(
    store: &dyn ServerStore,
    channels: &[String],
    now_ms: i64,
) -> xuncha_core::Result<usize> {
    let mut raised = 0;
    loop {
        let cursor = store.notifier_cursor()?;
        let events = store.feed_events(cursor, BATCH)?;
        let Some(last) = events.last().map(|(seq, _)| *seq) else {
            return Ok(raised);
        };
        let (_, r) = store.reference()?;
        let index = store.reference_index();
        let mut notices = Vec::new();
        for (_, event) in &events {
            if notify::on_event(event).is_none() {
                continue;
            }
            if let Some(case) = store.case(event.op.case_id)?
                && let Some(n) = from_event(event, &case, &r, &index)
            {
                notices.push(n);
            }
        }
        raised += store.record_notices(&notices, channels, Some(last), now_ms)?;
        if events.len() < BATCH {
            return Ok(raised);
        }
    }
}

/// The deadline notices (临期, 逾期) due at `now_ms` over the cases whose units hold them, and
/// record them (once each per case and deadline).
pub fn deadlines_once(
    store: &dyn ServerStore,
    channels: &[String],
    now_ms: i64,
) -> xuncha_core::Result<usize> {
    let (_, r) = store.reference()?;
    let index = store.reference_index();
    let running = CaseFilter {
        statuses: Status::DEADLINE_RUNNING.to_vec(),
        ..CaseFilter::default()
    };
    let mut raised = 0;
    let mut offset = 0u64;
    loop {
        let page = store.list_cases(&running, offset, BATCH)?;
        // What is owed now, keyed by its event id; only what was not recorded before is
        // written, so a minute with nothing new takes no write lock.
        let owed: Vec<(&Case, NoticeKind, uuid::Uuid)> = page
            .iter()
            .filter_map(|case| {
                let kind = notify::deadline_notice(case, r.notices.warn_at, now_ms)?;
                let anchor = case.deadline_ms.unwrap_or_default().to_string();
                Some((case, kind, notify::event_id(kind, case.id, &anchor)))
            })
            .collect();
        let ids: Vec<String> = owed.iter().map(|(_, _, id)| id.to_string()).collect();
        let known = store.recorded_events(&ids)?;
        let notices: Vec<NewNotice> = owed
            .into_iter()
            .filter(|(_, _, id)| !known.contains(&id.to_string()))
            .map(|(case, kind, id)| {
                let message = message_of(id, kind, case, "", now_ms, &r);
                NewNotice {
                    text: message.text(&r.calendar),
                    recipients: notify::recipients(kind, case, &r.users, &index),
                    message,
                }
            })
            .filter(|n| !n.recipients.is_empty() || !channels.is_empty())
            .collect();
        if !notices.is_empty() {
            raised += store.record_notices(&notices, channels, None, now_ms)?;
        }
        if page.len() < BATCH {
            return Ok(raised);
        }
        offset += BATCH as u64;
    }
}

/// [`feed_once`] off the async runtime, with the configured channels.
pub async fn from_feed(state: &AppState, now_ms: i64) -> Result<usize, ApiError> {
    let channels = state.config.notify.channel_ids();
    state
        .blocking(move |s| feed_once(s, &channels, now_ms))
        .await
}

/// [`deadlines_once`] off the async runtime, with the configured channels.
pub async fn from_deadlines(state: &AppState, now_ms: i64) -> Result<usize, ApiError> {
    let channels = state.config.notify.channel_ids();
    state
        .blocking(move |s| deadlines_once(s, &channels, now_ms))
        .await
}
