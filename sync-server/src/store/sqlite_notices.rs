//! [`NoticeRecords`] on SQLite (the rules are written there).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;
use xuncha_core::model::Event;
use xuncha_core::notify::Notice;

use super::StoreResult;
use super::notice_records::{
    Delivery, NOTICE_COLUMNS, NewNotice, NoticeRecords, OutboxCounts, delivery_of, notice_of,
};
use super::sqlite::SqliteStore;

fn notice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NoticeRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

type NoticeRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
);

fn notices_of(rows: Vec<NoticeRow>) -> StoreResult<Vec<Notice>> {
    rows.into_iter()
        .map(|(id, event, kind, case, title, body, created, seq, read)| {
            notice_of(&id, &event, &kind, &case, title, body, created, seq, read)
        })
        .collect()
}

const DELIVERY_COLUMNS: &str = "message, channel, attempts, last_error";

fn delivery_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

impl NoticeRecords for SqliteStore {
    fn recorded_events(
        &self,
        event_ids: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        if event_ids.is_empty() {
            return Ok(Default::default());
        }
        let marks = vec!["?"; event_ids.len()].join(", ");
        self.with_reader(|conn| {
            let mut st = conn.prepare(&format!(
                "SELECT event_id FROM notices WHERE event_id IN ({marks})
                 UNION SELECT event_id FROM outbox WHERE event_id IN ({marks})"
            ))?;
            let args = event_ids.iter().chain(event_ids);
            let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn record_notices(
        &self,
        notices: &[NewNotice],
        channels: &[String],
        cursor: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<usize> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut copy = tx.prepare_cached(
                "INSERT OR IGNORE INTO notices (id, user_id, event_id, kind, case_id, title, body, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut outbox = tx.prepare_cached(
                "INSERT OR IGNORE INTO outbox (event_id, channel, message, next_ms, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?;
            for n in notices {
                let m = &n.message;
                let event = m.id.to_string();
                for user in &n.recipients {
                    added += copy.execute(params![
                        xuncha_core::notify::notice_id(m.id, user).to_string(),
                        user,
                        event,
                        m.kind.as_str(),
                        m.case_id.to_string(),
                        m.title(),
                        n.text,
                        m.created_ms
                    ])?;
                }
                let json = serde_json::to_string(m)?;
                for channel in channels {
                    outbox.execute(params![event, channel, json, now_ms])?;
                }
            }
        }
        if let Some(c) = cursor {
            tx.execute(
                "INSERT INTO notifier (id, cursor) VALUES (1, ?1)
                 ON CONFLICT(id) DO UPDATE SET cursor = MAX(cursor, excluded.cursor)",
                [c],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    fn notifier_cursor(&self) -> StoreResult<i64> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT cursor FROM notifier WHERE id = 1", [], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        })
    }

    fn feed_events(&self, after: i64, limit: usize) -> StoreResult<Vec<(i64, Event)>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT seq, event FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![after, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, json) = row?;
                out.push((seq, serde_json::from_str(&json)?));
            }
            Ok(out)
        })
    }

    fn notices_after(&self, user: &str, after: i64, limit: usize) -> StoreResult<Vec<Notice>> {
        let rows = self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = ?1 AND seq > ?2
                     ORDER BY seq LIMIT ?3"
                ))?
                .query_map(params![user, after, limit as i64], notice_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        notices_of(rows)
    }

    fn latest_notices(&self, user: &str, limit: usize) -> StoreResult<Vec<Notice>> {
        let rows = self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = ?1
                     ORDER BY seq DESC LIMIT ?2"
                ))?
                .query_map(params![user, limit as i64], notice_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        notices_of(rows)
    }

    fn unread_notices(&self, user: &str) -> StoreResult<u64> {
        self.with_reader(|conn| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM notices WHERE user_id = ?1 AND read_ms IS NULL",
                [user],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    fn mark_notices_read(&self, user: &str, ids: &[Uuid], now_ms: i64) -> StoreResult<usize> {
        let conn = self.writer();
        let ids = serde_json::to_string(ids)?;
        Ok(conn.execute(
            "UPDATE notices SET read_ms = ?3
             WHERE user_id = ?1 AND read_ms IS NULL AND id IN (SELECT value FROM json_each(?2))",
            params![user, ids, now_ms],
        )?)
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        let conn = self.writer();
        let rows = conn
            .prepare_cached(&format!(
                "UPDATE outbox SET next_ms = ?1 + ?2
                 WHERE (event_id, channel) IN (
                     SELECT event_id, channel FROM outbox
                     WHERE state = 'pending' AND next_ms <= ?1 ORDER BY next_ms LIMIT ?3)
                 RETURNING {DELIVERY_COLUMNS}"
            ))?
            .query_map(params![now_ms, lease_ms, limit as i64], delivery_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(m, c, a, e)| delivery_of(&m, c, a, e))
            .collect()
    }

    fn delivery_sent(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, done_ms = ?3,
                    last_error = ''
             WHERE event_id = ?1 AND channel = ?2",
            params![event.to_string(), channel, now_ms],
        )?;
        Ok(())
    }

    fn delivery_failed(
        &self,
        event: Uuid,
        channel: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?3,
                    state = CASE WHEN ?4 IS NULL THEN 'dead' ELSE 'pending' END,
                    next_ms = COALESCE(?4, next_ms)
             WHERE event_id = ?1 AND channel = ?2 AND state = 'pending'",
            params![event.to_string(), channel, error, retry_at],
        )?;
        Ok(())
    }

    fn dead_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        let rows = self.with_reader(|conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM outbox WHERE state = 'dead'
                     ORDER BY created_ms DESC LIMIT ?1"
                ))?
                .query_map([limit as i64], delivery_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        rows.into_iter()
            .map(|(m, c, a, e)| delivery_of(&m, c, a, e))
            .collect()
    }

    fn retry_delivery(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<bool> {
        Ok(self.writer().execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_ms = ?3
             WHERE event_id = ?1 AND channel = ?2 AND state = 'dead'",
            params![event.to_string(), channel, now_ms],
        )? > 0)
    }

    fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        self.with_reader(|conn| {
            let mut c = OutboxCounts::default();
            let mut st =
                conn.prepare_cached("SELECT state, COUNT(*) FROM outbox GROUP BY state")?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (state, n) = row?;
                match state.as_str() {
                    "pending" => c.pending = n as u64,
                    "sent" => c.sent = n as u64,
                    _ => c.dead += n as u64,
                }
            }
            Ok(c)
        })
    }
}
