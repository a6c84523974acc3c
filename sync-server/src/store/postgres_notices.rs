//! [`NoticeRecords`] on PostgreSQL (the rules are written there). Copies are numbered under
//! [`NOTICE_LOCK`], so their `seq` is their commit order.

use postgres::Row;
use uuid::Uuid;
use xuncha_core::model::Event;
use xuncha_core::notify::Notice;

use super::StoreResult;
use super::notice_records::{
    Delivery, NOTICE_COLUMNS, NewNotice, NoticeRecords, OutboxCounts, delivery_of, notice_of,
};
use super::postgres::{PostgresStore, col, pg};

/// The transaction-scoped advisory lock under which copies are numbered.
pub const NOTICE_LOCK: i64 = 0x5855_4E4F_5443; // "XUNOTC"

fn notices_of(rows: &[Row]) -> StoreResult<Vec<Notice>> {
    rows.iter()
        .map(|r| {
            notice_of(
                &col::<String>(r, 0)?,
                &col::<String>(r, 1)?,
                &col::<String>(r, 2)?,
                &col::<String>(r, 3)?,
                col(r, 4)?,
                col(r, 5)?,
                col(r, 6)?,
                col(r, 7)?,
                col(r, 8)?,
            )
        })
        .collect()
}

const DELIVERY_COLUMNS: &str = "message, channel, attempts, last_error";

fn deliveries_of(rows: &[Row]) -> StoreResult<Vec<Delivery>> {
    rows.iter()
        .map(|r| delivery_of(&col::<String>(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?))
        .collect()
}

impl NoticeRecords for PostgresStore {
    fn recorded_events(
        &self,
        event_ids: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        if event_ids.is_empty() {
            return Ok(Default::default());
        }
        self.with(|c| {
            c.query(
                "SELECT event_id FROM notices WHERE event_id = ANY($1)
                 UNION SELECT event_id FROM outbox WHERE event_id = ANY($1)",
                &[&event_ids],
            )
            .map_err(pg)?
            .iter()
            .map(|r| col::<String>(r, 0))
            .collect()
        })
    }

    fn record_notices(
        &self,
        notices: &[NewNotice],
        channels: &[String],
        cursor: Option<i64>,
        now_ms: i64,
    ) -> StoreResult<usize> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&NOTICE_LOCK])
                .map_err(pg)?;
            let mut added = 0;
            for n in notices {
                let m = &n.message;
                let event = m.id.to_string();
                for user in &n.recipients {
                    added += tx
                        .execute(
                            "INSERT INTO notices (seq, id, user_id, event_id, kind, case_id, title,
                                                  body, created_ms)
                             SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8
                             FROM notices
                             ON CONFLICT (id) DO NOTHING",
                            &[
                                &xuncha_core::notify::notice_id(m.id, user).to_string(),
                                user,
                                &event,
                                &m.kind.as_str(),
                                &m.case_id.to_string(),
                                &m.title(),
                                &n.text,
                                &m.created_ms,
                            ],
                        )
                        .map_err(pg)? as usize;
                }
                let json = serde_json::to_string(m)?;
                for channel in channels {
                    tx.execute(
                        "INSERT INTO outbox (event_id, channel, message, next_ms, created_ms)
                         VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
                        &[&event, channel, &json, &now_ms],
                    )
                    .map_err(pg)?;
                }
            }
            if let Some(cur) = cursor {
                tx.execute(
                    "INSERT INTO notifier (id, cursor) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET cursor = GREATEST(notifier.cursor, excluded.cursor)",
                    &[&cur],
                )
                .map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            Ok(added)
        })
    }

    fn notifier_cursor(&self) -> StoreResult<i64> {
        self.with(|c| {
            match c
                .query_opt("SELECT cursor FROM notifier WHERE id = 1", &[])
                .map_err(pg)?
            {
                Some(r) => col(&r, 0),
                None => Ok(0),
            }
        })
    }

    fn feed_events(&self, after: i64, limit: usize) -> StoreResult<Vec<(i64, Event)>> {
        self.with(|c| {
            c.query(
                "SELECT seq, event FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, serde_json::from_str(&col::<String>(r, 1)?)?)))
            .collect()
        })
    }

    fn notices_after(&self, user: &str, after: i64, limit: usize) -> StoreResult<Vec<Notice>> {
        self.with(|c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = $1 AND seq > $2
                         ORDER BY seq LIMIT $3"
                    ),
                    &[&user, &after, &(limit as i64)],
                )
                .map_err(pg)?;
            notices_of(&rows)
        })
    }

    fn latest_notices(&self, user: &str, limit: usize) -> StoreResult<Vec<Notice>> {
        self.with(|c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {NOTICE_COLUMNS} FROM notices WHERE user_id = $1
                         ORDER BY seq DESC LIMIT $2"
                    ),
                    &[&user, &(limit as i64)],
                )
                .map_err(pg)?;
            notices_of(&rows)
        })
    }

    fn unread_notices(&self, user: &str) -> StoreResult<u64> {
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT COUNT(*) FROM notices WHERE user_id = $1 AND read_ms IS NULL",
                    &[&user],
                )
                .map_err(pg)?;
            Ok(col::<i64>(&r, 0)? as u64)
        })
    }

    fn mark_notices_read(&self, user: &str, ids: &[Uuid], now_ms: i64) -> StoreResult<usize> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        self.with(|c| {
            Ok(c.execute(
                "UPDATE notices SET read_ms = $3
                 WHERE user_id = $1 AND read_ms IS NULL AND id = ANY($2)",
                &[&user, &ids, &now_ms],
            )
            .map_err(pg)? as usize)
        })
    }

    fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        self.with(|c| {
            let rows = c
                .query(
                    &format!(
                        "UPDATE outbox SET next_ms = $1 + $2
                         WHERE (event_id, channel) IN (
                             SELECT event_id, channel FROM outbox
                             WHERE state = 'pending' AND next_ms <= $1
                             ORDER BY next_ms LIMIT $3 FOR UPDATE SKIP LOCKED)
                         RETURNING {DELIVERY_COLUMNS}"
                    ),
                    &[&now_ms, &lease_ms, &(limit as i64)],
                )
                .map_err(pg)?;
            deliveries_of(&rows)
        })
    }

    fn delivery_sent(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1, done_ms = $3,
                        last_error = ''
                 WHERE event_id = $1 AND channel = $2",
                &[&event.to_string(), &channel, &now_ms],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn delivery_failed(
        &self,
        event: Uuid,
        channel: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $3,
                        state = CASE WHEN $4::BIGINT IS NULL THEN 'dead' ELSE 'pending' END,
                        next_ms = COALESCE($4::BIGINT, next_ms)
                 WHERE event_id = $1 AND channel = $2 AND state = 'pending'",
                &[&event.to_string(), &channel, &error, &retry_at],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn dead_deliveries(&self, limit: usize) -> StoreResult<Vec<Delivery>> {
        self.with(|c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {DELIVERY_COLUMNS} FROM outbox WHERE state = 'dead'
                         ORDER BY created_ms DESC LIMIT $1"
                    ),
                    &[&(limit as i64)],
                )
                .map_err(pg)?;
            deliveries_of(&rows)
        })
    }

    fn retry_delivery(&self, event: Uuid, channel: &str, now_ms: i64) -> StoreResult<bool> {
        self.with(|c| {
            Ok(c.execute(
                "UPDATE outbox SET state = 'pending', attempts = 0, next_ms = $3
                 WHERE event_id = $1 AND channel = $2 AND state = 'dead'",
                &[&event.to_string(), &channel, &now_ms],
            )
            .map_err(pg)?
                > 0)
        })
    }

    fn outbox_counts(&self) -> StoreResult<OutboxCounts> {
        self.with(|c| {
            let mut out = OutboxCounts::default();
            for r in c
                .query("SELECT state, COUNT(*) FROM outbox GROUP BY state", &[])
                .map_err(pg)?
            {
                let n = col::<i64>(&r, 1)? as u64;
                match col::<String>(&r, 0)?.as_str() {
                    "pending" => out.pending = n,
                    "sent" => out.sent = n,
                    _ => out.dead += n,
                }
            }
            Ok(out)
        })
    }
}
