//! The device side of sync, on the store: what to push, and applying what the server answered.
//! The local view of a case is always `base` (the server's last word) with the confirmed events
//! the base does not reflect yet and the pending operations replayed on top (a rebase).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Store, begin, meta_get, meta_set};
use crate::error::Result;
use crate::fold::{self, ApplyContext};
use crate::model::{Case, Event, Op};
use crate::sync::protocol::{Change, OpResult, OpStatus, PullResponse};

/// An operation the server refused, as the rejection inbox shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    /// The operation.
    pub op: Op,
    /// Stable code from the server.
    pub code: String,
    /// The server's reason, for a person.
    pub reason: String,
    /// When the device heard it (UTC ms).
    pub rejected_at_ms: i64,
}

/// What the device remembers about its server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// Base URL of the server, e.g. `http://10.0.0.2:8080`.
    pub server_url: Option<String>,
    /// Bearer token of this device (absent when signed out or never signed in).
    pub token: Option<String>,
    /// When the token expires (UTC ms).
    pub token_expires_at_ms: Option<i64>,
    /// Pull cursor.
    pub cursor: i64,
    /// The cursor is one of whole cases by their last change (a catch-up that has not reached
    /// the end yet): the next pull goes on the same way, never from the feed.
    #[serde(default)]
    pub catching_up: bool,
    /// Server clock minus device clock, from the last response (ms).
    pub clock_skew_ms: i64,
    /// Reference data version last loaded.
    pub reference_version: i64,
    /// When the last sync completed (device clock, UTC ms).
    pub last_sync_at_ms: Option<i64>,
    /// The `seq` of the last notice pulled.
    #[serde(default)]
    pub notice_cursor: i64,
}

const SYNC_STATE: &str = "sync_state";

/// The stored sync bookkeeping (the default before the first sign-in).
pub(crate) fn stored(conn: &Connection) -> Result<SyncState> {
    Ok(match meta_get(conn, SYNC_STATE)? {
        Some(j) => serde_json::from_str(&j)?,
        None => SyncState::default(),
    })
}

/// Keep the sync bookkeeping.
#[cfg(feature = "client")]
pub(crate) fn save(conn: &Connection, state: &SyncState) -> Result<()> {
    meta_set(conn, SYNC_STATE, &serde_json::to_string(state)?)
}

impl Store {
    /// The device's sync bookkeeping.
    pub fn sync_state(&self) -> Result<SyncState> {
        stored(&self.lock().conn)
    }

    /// Update the sync bookkeeping with `f`.
    pub fn update_sync_state(&self, f: impl FnOnce(&mut SyncState)) -> Result<SyncState> {
        let mut inner = self.lock();
        let mut st = stored(&inner.conn)?;
        f(&mut st);
        meta_set(&inner.conn, SYNC_STATE, &serde_json::to_string(&st)?)?;
        inner.skew_ms = st.clock_skew_ms;
        Ok(st)
    }

    /// The server refused pending operations as stamped too far ahead of its clock
    /// (`clock_ahead`: this device's clock is fast and its skew was not known when they were
    /// made). Take the server's time as heard now, and stamp again, in their order, every
    /// pending operation from the first such one on, with the corrected clock; they stay in the
    /// outbox and go up again. Nothing is lost and nothing moves to the rejection inbox.
    /// Returns how many were re-stamped.
    pub fn restamp_pending(&self, server_time_ms: i64) -> Result<usize> {
        let now = self.now_ms();
        let skew = server_time_ms - now;
        let corrected = now.saturating_add(skew).max(0) as u64;
        let mut guard = self.lock();
        let inner = &mut *guard;
        let tx = begin(&mut inner.conn)?;
        let floor = outbox_floor(&tx)?;
        let pending: Vec<(i64, String)> = tx
            .prepare_cached(
                "SELECT local_seq, op FROM events WHERE local_seq >= ?1 AND pending = 1
                 ORDER BY local_seq",
            )?
            .query_map([floor], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut ops = Vec::with_capacity(pending.len());
        for (seq, json) in pending {
            ops.push((seq, serde_json::from_str::<Op>(&json)?));
        }
        let Some(first) = ops.iter().position(|(_, op)| op.hlc.wall_ms > corrected) else {
            return Ok(0);
        };
        // The clock starts again after everything this device keeps that is not re-stamped:
        // what the server confirmed (its stamps are within its clock) and the earlier pending.
        let mut last = tx
            .prepare_cached("SELECT op FROM events WHERE pending = 0")?
            .query_map([], |r| r.get::<_, String>(0))?
            .filter_map(|j| j.ok().and_then(|j| serde_json::from_str::<Op>(&j).ok()))
            .map(|op| op.hlc)
            .filter(|h| h.wall_ms <= corrected)
            .max()
            .unwrap_or_default();
        if let Some((_, op)) = first.checked_sub(1).and_then(|i| ops.get(i)) {
            last = last.max(op.hlc);
        }
        let mut clock = crate::hlc::HlcClock::new(inner.clock.last().node, last);
        let mut touched: Vec<Uuid> = Vec::new();
        for (seq, op) in ops.iter_mut().skip(first) {
            op.hlc = clock.tick(corrected);
            tx.prepare_cached("UPDATE events SET op = ?2 WHERE local_seq = ?1")?
                .execute(params![*seq, serde_json::to_string(op)?])?;
            if !touched.contains(&op.case_id) {
                touched.push(op.case_id);
            }
        }
        for case_id in &touched {
            rebase(&tx, *case_id)?;
        }
        let mut st = stored(&tx)?;
        st.clock_skew_ms = skew;
        meta_set(&tx, SYNC_STATE, &serde_json::to_string(&st)?)?;
        meta_set(&tx, "hlc", &clock.last().encode())?;
        tx.commit()?;
        inner.clock = clock;
        inner.skew_ms = skew;
        Ok(ops.len() - first)
    }

    /// Up to `limit` pending operations, oldest first (what the next push sends).
    pub fn pending_ops(&self, limit: usize) -> Result<Vec<Op>> {
        self.pending_ops_json(limit)?
            .iter()
            .map(|j| Ok(serde_json::from_str(j)?))
            .collect()
    }

    /// Up to `limit` pending operations as their stored JSON, oldest first (the push body is made
    /// from these without decoding them).
    pub fn pending_ops_json(&self, limit: usize) -> Result<Vec<String>> {
        let inner = self.lock();
        let floor = outbox_floor(&inner.conn)?;
        let mut st = inner.conn.prepare_cached(
            "SELECT op FROM events WHERE local_seq >= ?1 AND pending = 1 ORDER BY local_seq LIMIT ?2",
        )?;
        let rows = st.query_map([floor, limit as i64], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many operations wait for the server.
    pub fn pending_count(&self) -> Result<u64> {
        let inner = self.lock();
        let floor = outbox_floor(&inner.conn)?;
        Ok(inner.conn.query_row(
            "SELECT COUNT(*) FROM events WHERE local_seq >= ?1 AND pending = 1",
            [floor],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Record the server's answers to a push: accepted operations are confirmed; rejected ones
    /// move to the rejection inbox and their case is rebased without them.
    pub fn apply_push_results(&self, results: &[OpResult]) -> Result<()> {
        let now = self.now_ms();
        let mut inner = self.lock();
        let tx = begin(&mut inner.conn)?;
        let mut touched: Vec<Uuid> = Vec::new();
        for r in results {
            let id = r.op_id.to_string();
            match r.status {
                OpStatus::Accepted => {
                    tx.prepare_cached(
                        "UPDATE events SET pending = 0, server_seq = ?2, server_time_ms = ?3
                         WHERE op_id = ?1 AND pending = 1",
                    )?
                    .execute(params![id, r.seq, r.server_time_ms])?;
                    // The server opens a photo to an operation only once this device has sent
                    // it for that operation (or its user already sees it): announce the photos
                    // of every accepted operation again, even ones sent before (a photo may
                    // have been collected on the server since). An announcement of a photo the
                    // server holds for this device costs one small request and no bytes.
                    tx.prepare_cached(
                        "UPDATE photos SET uploaded = 0 WHERE uploaded = 1
                           AND sha256 IN (SELECT sha256 FROM case_photos WHERE op_id = ?1)",
                    )?
                    .execute([&id])?;
                }
                OpStatus::Rejected => {
                    let op: Option<String> = tx
                        .prepare_cached("SELECT op FROM events WHERE op_id = ?1 AND pending = 1")?
                        .query_row([&id], |row| row.get(0))
                        .optional()?;
                    let Some(op) = op else { continue };
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO rejections (op_id, case_id, code, reason, op, rejected_at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(params![
                        id,
                        r.case_id.to_string(),
                        r.code.as_deref().unwrap_or("rejected"),
                        r.reason.as_deref().unwrap_or(""),
                        op,
                        now
                    ])?;
                    tx.execute("DELETE FROM events WHERE op_id = ?1", [&id])?;
                    tx.execute("DELETE FROM case_photos WHERE op_id = ?1", [&id])?;
                    if !touched.contains(&r.case_id) {
                        touched.push(r.case_id);
                    }
                }
            }
        }
        for case_id in touched {
            rebase(&tx, case_id)?;
        }
        raise_outbox_floor(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Apply one pull page: the server's cases and events, removals, the new cursor.
    pub fn apply_pull(&self, page: &PullResponse) -> Result<()> {
        let now = self.now_ms();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let tx = begin(&mut inner.conn)?;
        let mut clock = inner.clock.clone();
        for change in &page.changes {
            match change {
                Change::Remove { case_id } => {
                    let id = case_id.to_string();
                    tx.execute("DELETE FROM base_cases WHERE id = ?1", [&id])?;
                    tx.execute(
                        "DELETE FROM case_photos WHERE case_id = ?1 AND op_id IN
                           (SELECT op_id FROM events WHERE case_id = ?1 AND pending = 0)",
                        [&id],
                    )?;
                    tx.execute(
                        "DELETE FROM events WHERE case_id = ?1 AND pending = 0",
                        [&id],
                    )?;
                    rebase(&tx, *case_id)?;
                }
                Change::Upsert {
                    case, seq, events, ..
                } => {
                    for ev in events {
                        upsert_server_event(&tx, ev)?;
                        // By the server's clock, as new stamps are (a fast device clock must
                        // not carry the HLC ahead of what the server accepts).
                        clock.observe(ev.op.hlc, page.server_time_ms.max(0) as u64);
                    }
                    let id = case.id.to_string();
                    if has_local_work(&tx, case.id, *seq)? {
                        // The base the replay starts from (kept only while there is local work).
                        tx.prepare_cached(
                            "INSERT INTO base_cases (id, seq, doc) VALUES (?1, ?2, ?3)
                             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, doc = excluded.doc",
                        )?
                        .execute(params![
                            id,
                            seq,
                            serde_json::to_string(case)?
                        ])?;
                        rebase(&tx, case.id)?;
                    } else {
                        // Nothing of ours to replay: the local view is the server's case, and no
                        // base is needed until this device works on it again.
                        tx.prepare_cached("DELETE FROM base_cases WHERE id = ?1")?
                            .execute([&id])?;
                        let changed: i64 = tx
                            .prepare_cached(
                                "SELECT COALESCE(MAX(local_seq), 0) FROM events WHERE case_id = ?1",
                            )?
                            .query_row([&id], |r| r.get(0))?;
                        upsert_case(&tx, case, changed, Some(*seq))?;
                    }
                }
            }
        }
        let mut st = stored(&tx)?;
        st.cursor = page.cursor;
        st.catching_up = page.whole && page.has_more;
        st.clock_skew_ms = page.server_time_ms - now;
        inner.skew_ms = st.clock_skew_ms;
        meta_set(&tx, SYNC_STATE, &serde_json::to_string(&st)?)?;
        meta_set(&tx, "hlc", &clock.last().encode())?;
        raise_outbox_floor(&tx)?;
        tx.commit()?;
        inner.clock = clock;
        Ok(())
    }

    /// Photos imported on this device that the server has not confirmed: (sha256, size).
    pub fn photos_to_upload(&self) -> Result<Vec<(String, u64)>> {
        let inner = self.lock();
        let mut st = inner.conn.prepare(
            "SELECT sha256, size FROM photos WHERE uploaded = 0 ORDER BY added_at_ms, sha256",
        )?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The server confirmed it holds this photo.
    pub fn mark_photo_uploaded(&self, sha256: &str) -> Result<()> {
        self.lock()
            .conn
            .execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// The rejection inbox, newest first.
    pub fn rejections(&self) -> Result<Vec<Rejection>> {
        let inner = self.lock();
        let mut st = inner.conn.prepare(
            "SELECT op, code, reason, rejected_at_ms FROM rejections ORDER BY rejected_at_ms DESC, op_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (op, code, reason, rejected_at_ms) = row?;
            out.push(Rejection {
                op: serde_json::from_str(&op)?,
                code,
                reason,
                rejected_at_ms,
            });
        }
        Ok(out)
    }
}

/// Every event below this local_seq is confirmed: outbox reads scan from here, not from the start
/// (no index on pending rows, which would cost every write).
pub(crate) fn outbox_floor(conn: &Connection) -> Result<i64> {
    Ok(meta_get(conn, "outbox_floor")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Move the floor up to the oldest operation still pending (or past the end if none is).
fn raise_outbox_floor(conn: &Connection) -> Result<()> {
    let floor = outbox_floor(conn)?;
    let next: i64 = conn.query_row(
        "SELECT COALESCE(
            (SELECT MIN(local_seq) FROM events WHERE local_seq >= ?1 AND pending = 1),
            (SELECT COALESCE(MAX(local_seq), 0) + 1 FROM events))",
        [floor],
        |r| r.get(0),
    )?;
    if next > floor {
        meta_set(conn, "outbox_floor", &next.to_string())?;
    }
    Ok(())
}

/// Insert a server event, or confirm our own pending copy of it (one statement either way).
fn upsert_server_event(conn: &Connection, ev: &Event) -> Result<()> {
    let id = ev.op.id.to_string();
    let op_json = serde_json::to_string(&ev.op)?;
    conn.prepare_cached(
        "INSERT INTO events (op_id, case_id, action, from_status, to_status, server_time_ms,
                                 case_no, pending, op, server_seq, dups)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9, ?10)
             ON CONFLICT(op_id) DO UPDATE SET pending = 0, server_seq = excluded.server_seq,
                server_time_ms = excluded.server_time_ms, case_no = excluded.case_no,
                from_status = excluded.from_status, to_status = excluded.to_status,
                dups = excluded.dups",
    )?
    .execute(params![
        id,
        ev.op.case_id.to_string(),
        ev.op.body.action().as_str(),
        ev.from_status.map(|s| s.as_str()),
        ev.to_status.as_str(),
        ev.server_time_ms,
        ev.case_no,
        op_json,
        ev.server_seq,
        super::cases::dups_json(&ev.probable_duplicates)?
    ])?;
    for p in ev.op.body.photos() {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO case_photos (case_id, op_id, sha256, kind, captured_at_ms, lat, lon)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            ev.op.case_id.to_string(),
            id,
            p.sha256,
            p.kind.as_str(),
            p.captured_at_ms,
            p.location.as_ref().map(|l| l.lat),
            p.location.as_ref().map(|l| l.lon)
        ])?;
    }
    Ok(())
}

/// Does the case have pending operations, or confirmed events newer than `base_seq`?
fn has_local_work(conn: &Connection, case_id: Uuid, base_seq: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM events WHERE case_id = ?1 AND (pending = 1 OR server_seq > ?2) LIMIT 1",
        )?
        .query_row(params![case_id.to_string(), base_seq], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Write a case whether or not it exists yet (`server_seq` as in `save_case`).
fn upsert_case(
    conn: &Connection,
    case: &Case,
    changed_seq: i64,
    server_seq: Option<i64>,
) -> Result<()> {
    super::cases::save_case(
        conn,
        case,
        changed_seq,
        server_seq,
        super::cases::Write::Upsert,
    )
}

/// Recompute the local view of a case: the server's base, then confirmed events newer than the
/// base, then pending operations; an operation that no longer applies is left for the server
/// to answer (it stays in the outbox) and does not change the view.
pub(crate) fn rebase(conn: &Connection, case_id: Uuid) -> Result<()> {
    let id = case_id.to_string();
    let base: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, doc FROM base_cases WHERE id = ?1")?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (base_seq, mut view): (i64, Option<Case>) = match base {
        Some((seq, doc)) => (seq, Some(serde_json::from_str(&doc)?)),
        None => (0, None),
    };
    let mut st = conn.prepare_cached(
        "SELECT op, server_time_ms, case_no, local_seq, dups FROM events
         WHERE case_id = ?1 AND (pending = 1 OR server_seq > ?2)
         ORDER BY pending, server_seq, local_seq",
    )?;
    let rows = st.query_map(params![id, base_seq], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut changed_seq = 0;
    for row in rows {
        let (op, server_time_ms, case_no, local_seq, dups) = row?;
        let op: Op = serde_json::from_str(&op)?;
        let ctx = ApplyContext {
            server_time_ms,
            case_no,
            probable_duplicates: super::cases::parse_dups(dups),
            deadline_horizon_ms: None,
        };
        if let Ok((next, _)) = fold::apply(view.as_ref(), &op, &ctx) {
            view = Some(next);
        }
        changed_seq = changed_seq.max(local_seq);
    }
    match view {
        Some(case) => {
            if changed_seq == 0 {
                changed_seq = conn
                    .prepare_cached(
                        "SELECT COALESCE(MAX(local_seq), 0) FROM events WHERE case_id = ?1",
                    )?
                    .query_row([&id], |r| r.get(0))?;
            }
            upsert_case(conn, &case, changed_seq, None)?;
        }
        None => {
            conn.execute("DELETE FROM cases WHERE id = ?1", [&id])?;
            crate::search::unindex_case(conn, &id)?;
        }
    }
    Ok(())
}
