//! The signed-in person's notices on the device (`xuncha_core::notify`): pulled with every sync
//! after a cursor, listed newest first, marked read here — offline too — and the reads sent to
//! the server on the next sync.

#[cfg(feature = "client")]
use rusqlite::params;
use uuid::Uuid;

use super::Store;
use crate::error::Result;
use crate::notify::Notice;

impl Store {
    /// The person's notices, newest first, at most `limit`.
    pub fn notices(&self, limit: usize) -> Result<Vec<Notice>> {
        let inner = self.lock();
        let mut st = inner
            .conn
            .prepare_cached("SELECT doc, read FROM notices ORDER BY seq DESC LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (doc, read) = row?;
            let mut n: Notice = serde_json::from_str(&doc)?;
            n.read = read;
            out.push(n);
        }
        Ok(out)
    }

    /// How many notices are unread (the count on the sync bar).
    pub fn unread_notices(&self) -> Result<u64> {
        let inner = self.lock();
        let n: i64 =
            inner
                .conn
                .query_row("SELECT COUNT(*) FROM notices WHERE read = 0", [], |r| {
                    r.get(0)
                })?;
        Ok(n as u64)
    }

    /// Mark a notice read (the server hears of it on the next sync); false if there is no such
    /// unread notice.
    pub fn mark_notice_read(&self, id: Uuid) -> Result<bool> {
        let inner = self.lock();
        Ok(inner.conn.execute(
            "UPDATE notices SET read = 1, read_pending = 1 WHERE id = ?1 AND read = 0",
            [id.to_string()],
        )? > 0)
    }

    /// Reads the server has not heard of yet, at most `limit`.
    #[cfg(feature = "client")]
    pub(crate) fn pending_reads(&self, limit: usize) -> Result<Vec<Uuid>> {
        let inner = self.lock();
        let mut st = inner
            .conn
            .prepare_cached("SELECT id FROM notices WHERE read_pending = 1 LIMIT ?1")?;
        let ids = st
            .query_map([limit as i64], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids.iter().filter_map(|i| i.parse().ok()).collect())
    }

    /// The server has these reads.
    #[cfg(feature = "client")]
    pub(crate) fn reads_sent(&self, ids: &[Uuid]) -> Result<()> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE notices SET read_pending = 0 WHERE id = ?1",
                [id.to_string()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Keep pulled notices (a read here stays read) and move the cursor; how many were new.
    #[cfg(feature = "client")]
    pub(crate) fn save_notices(&self, notices: &[Notice], cursor: i64) -> Result<u64> {
        let mut inner = self.lock();
        let tx = inner.conn.transaction()?;
        let mut added = 0;
        for n in notices {
            added += tx.execute(
                "INSERT INTO notices (id, seq, doc, read) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, seq = excluded.seq,
                     read = MAX(read, excluded.read)",
                params![n.id.to_string(), n.seq, serde_json::to_string(n)?, n.read],
            )? as u64;
        }
        let mut state = super::sync_state::stored(&tx)?;
        state.notice_cursor = state.notice_cursor.max(cursor);
        super::sync_state::save(&tx, &state)?;
        tx.commit()?;
        Ok(added)
    }
}
