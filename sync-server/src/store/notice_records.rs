//! Notices as the server keeps them (issue 16; what is raised and for whom is core's
//! `notify`): each person's copy (their list, pulled by phones, read on any device), the outbox
//! of deliveries to the city's channels (one row per event and channel, written in the same
//! transaction as the copies, before any delivery: a server killed mid-delivery sends again,
//! and receivers de-duplicate by the event id), and the notifier's place in the change feed.
//!
//! Copies are numbered in commit order (`seq`): PostgreSQL takes them under a lock, so a phone
//! that pulls after `seq` never misses one committed late.

use uuid::Uuid;
use xuncha_core::model::Event;
use xuncha_core::notify::{Message, Notice, NoticeKind};

use super::StoreResult;

/// A notice to record: what it says and who is told.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotice {
    /// The message (its `id` is the event id).
    pub message: Message,
    /// The text of each copy (the message in one paragraph).
    pub text: String,
    /// User ids.
    pub recipients: Vec<String>,
}

/// A delivery of an event to a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The event.
    pub message: Message,
    /// The channel's id (from the server's channel settings).
    pub channel: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: String,
}

/// How the outbox stands, for `/metrics` and the console.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be sent (or sent again).
    pub pending: u64,
    /// Delivered.
    pub sent: u64,
    /// Given up after the last attempt (dead letters).
    pub dead: u64,
}

/// Notice bookkeeping of a backend (see the module).
pub trait NoticeRecords {
    /// Keep `notices` — each recipient's copy, and one outbox row per channel in `channels` —
    /// once by id, and, when given, move the notifier's feed cursor to `cursor`: all or nothing.
    /// Returns how many copies were new.
    fn record_notices(
        &self,
        notices: &[NewNotice],
        channels: &[String],
        cursor: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<usize>;
    /// Which of `event_ids` were recorded already (a copy or an outbox row): the deadline watch
    /// writes only the others.
    fn recorded_events(
        &self,
        event_ids: &[String],
    ) -> StoreResult<std::collections::HashSet<String>>;
    /// The notifier's place in the change feed (0 at first).
    fn notifier_cursor(&self) -> StoreResult<i64>;
    /// Up to `limit` events of the change feed after `after`, by sequence.
    fn feed_events(&self, after: i64, limit: usize) -> StoreResult<Vec<(i64, Event)>>;
    /// `user`'s copies after `after` (by `seq`), at most `limit`.
    fn notices_after(&self, user: &str, after: i64, limit: usize) -> StoreResult<Vec<Notice>>;
    /// `user`'s latest copies, newest first.
    fn latest_notices(&self, user: &str, limit: usize) -> StoreResult<Vec<Notice>>;
    /// How many of `user`'s copies are unread.
    fn unread_notices(&self, user: &str) -> StoreResult<u64>;
    /// Mark these of `user`'s copies read (ids of others' copies change nothing); how many
    /// changed.
    fn mark_notices_read(&self, user: &str, ids: &[Uuid], now_ms: i64) -> StoreResult<usize>;
    /// Claim up to `limit` deliveries due at `now_ms`: their next try moves `lease_ms` ahead,
    /// so another instance leaves them alone while this one sends.
    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>>;
    /// A delivery went through.
    fn delivery_sent(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<()>;
    /// A delivery failed with `error`: try again at `retry_at`, or (none) give it up as dead.
    fn delivery_failed(
        &self,
        event: Uuid,
        channel: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()>;
    /// Dead letters, newest first.
    fn dead_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>>;
    /// Put a dead letter back in the queue, to be sent at `now_ms`; false if there is none.
    fn retry_delivery(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<bool>;
    /// The outbox's counts.
    fn outbox_counts(&self) -> StoreResult<OutboxCounts>;
}

/// Columns of a copy, in this order, for [`notice_of`].
pub(super) const NOTICE_COLUMNS: &str =
    "id, event_id, kind, case_id, title, body, created_ms, seq, read_ms";

/// A copy from its columns (text ids and kind, as stored).
#[allow(clippy::too_many_arguments)]
pub(super) fn notice_of(
    id: &str,
    event_id: &str,
    kind: &str,
    case_id: &str,
    title: String,
    text: String,
    created_ms: i64,
    seq: i64,
    read_ms: Option<i64>,
) -> StoreResult<Notice> {
    let uuid = |field: &'static str, v: &str| -> StoreResult<Uuid> {
        v.parse().map_err(|_| super::bad_stored_id(field, v))
    };
    Ok(Notice {
        id: uuid("notice id", id)?,
        event_id: uuid("event id", event_id)?,
        kind: NoticeKind::parse(kind).ok_or_else(|| xuncha_core::Error::InvalidField {
            field: "kind",
            reason: format!("stored notice kind '{kind}' is unknown"),
        })?,
        case_id: uuid("case id", case_id)?,
        title,
        text,
        created_ms,
        seq,
        read: read_ms.is_some(),
    })
}

/// A delivery from its stored message JSON and columns.
pub(super) fn delivery_of(
    message: &str,
    channel: String,
    attempts: i64,
    last_error: String,
) -> StoreResult<Delivery> {
    Ok(Delivery {
        message: serde_json::from_str(message)?,
        channel,
        attempts: attempts.clamp(0, u32::MAX as i64) as u32,
        last_error,
    })
}
