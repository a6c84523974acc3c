//! [`PhotoRecords`] on SQLite (the rules are written there).

use rusqlite::{Connection, OptionalExtension, params};
use xuncha_core::model::Case;
use xuncha_core::scope::Reach;

use super::StoreResult;
use super::photo_records::{
    GRANT_CANDIDATES, PhotoRecords, PhotoUsage, UNNAMED, UploadRow, WaitingPhoto, sees_any,
};
use super::sqlite::SqliteStore;

/// Does `reach` hold a case that shows `sha256` (a granted row)?
pub(super) fn reach_sees_photo(
    conn: &Connection,
    reach: &Reach,
    sha256: &str,
) -> StoreResult<bool> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT c.doc FROM case_photos p JOIN cases c ON c.id = p.case_id
         WHERE p.sha256 = ?1 AND p.granted = 1 LIMIT ?2",
    )?;
    let docs = st.query_map(params![sha256, GRANT_CANDIDATES], |r| r.get::<_, String>(0))?;
    sees_any(reach, docs.map(|d| d.map_err(Into::into)))
}

/// Did `device_id` send the bytes of `sha256`?
pub(super) fn device_sent(conn: &Connection, sha256: &str, device_id: &str) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM photo_uploaders WHERE sha256 = ?1 AND device_id = ?2")?
        .exists(params![sha256, device_id])?)
}

/// Record that `op_id` (from `device_id`, by someone of `reach`) names `sha256` on `case_id`.
#[allow(clippy::too_many_arguments)]
pub(super) fn name_photo(
    conn: &Connection,
    sha256: &str,
    case_id: &str,
    op_id: &str,
    kind: &str,
    device_id: &str,
    reach: &Reach,
    now_ms: i64,
) -> StoreResult<()> {
    let granted = device_sent(conn, sha256, device_id)? || reach_sees_photo(conn, reach, sha256)?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO case_photos (sha256, case_id, op_id, kind, device_id, granted, named_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![sha256, case_id, op_id, kind, device_id, granted, now_ms])?;
    Ok(())
}

impl PhotoRecords for SqliteStore {
    fn photo_held_for(
        &self,
        sha256: &str,
        device_id: &str,
        reach: &Reach,
    ) -> StoreResult<Option<u64>> {
        self.with_reader(|conn| {
            let size: Option<i64> = conn
                .query_row("SELECT size FROM photos WHERE sha256 = ?1", [sha256], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(size) = size else { return Ok(None) };
            let told =
                device_sent(conn, sha256, device_id)? || reach_sees_photo(conn, reach, sha256)?;
            Ok(told.then_some(size as u64))
        })
    }

    fn upload(&self, sha256: &str, device_id: &str) -> StoreResult<Option<UploadRow>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row(
                    "SELECT size, received FROM uploads WHERE sha256 = ?1 AND device_id = ?2",
                    params![sha256, device_id],
                    |r| {
                        Ok(UploadRow {
                            size: r.get::<_, i64>(0)? as u64,
                            received: r.get::<_, i64>(1)? as u64,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn create_upload(
        &self,
        sha256: &str,
        device_id: &str,
        size: u64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer().execute(
            "INSERT INTO uploads (sha256, device_id, size, received, created_ms, touched_ms)
             VALUES (?1, ?2, ?3, 0, ?4, ?4)
             ON CONFLICT(sha256, device_id) DO UPDATE
                SET size = excluded.size, received = 0, touched_ms = excluded.touched_ms",
            params![sha256, device_id, size as i64, now_ms],
        )?;
        Ok(())
    }

    fn upload_progress(
        &self,
        sha256: &str,
        device_id: &str,
        received: u64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer().execute(
            "UPDATE uploads SET received = ?3, touched_ms = ?4 WHERE sha256 = ?1 AND device_id = ?2",
            params![sha256, device_id, received as i64, now_ms],
        )?;
        Ok(())
    }

    fn forget_upload(&self, sha256: &str, device_id: &str) -> StoreResult<()> {
        self.writer().execute(
            "DELETE FROM uploads WHERE sha256 = ?1 AND device_id = ?2",
            params![sha256, device_id],
        )?;
        Ok(())
    }

    fn photo_with_cases(&self, sha256: &str) -> StoreResult<Option<(String, Vec<Case>)>> {
        self.with_reader(|conn| {
            let mime: Option<String> = conn
                .query_row("SELECT mime FROM photos WHERE sha256 = ?1", [sha256], |r| {
                    r.get(0)
                })
                .optional()?;
            let Some(mime) = mime else { return Ok(None) };
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT c.doc FROM case_photos p JOIN cases c ON c.id = p.case_id
                 WHERE p.sha256 = ?1 AND p.granted = 1",
            )?;
            let docs = st.query_map([sha256], |r| r.get::<_, String>(0))?;
            let mut cases = Vec::new();
            for d in docs {
                cases.push(serde_json::from_str(&d?)?);
            }
            Ok(Some((mime, cases)))
        })
    }

    fn photo_stored(
        &self,
        sha256: &str,
        mime: &str,
        size: u64,
        device_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, mime, size, stored_ms) VALUES (?1, ?2, ?3, ?4)",
            params![sha256, mime, size as i64, now_ms],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO photo_uploaders (sha256, device_id) VALUES (?1, ?2)",
            params![sha256, device_id],
        )?;
        tx.execute(
            "UPDATE case_photos SET granted = 1 WHERE sha256 = ?1 AND device_id = ?2 AND granted = 0",
            params![sha256, device_id],
        )?;
        tx.execute(
            "DELETE FROM uploads WHERE sha256 = ?1 AND device_id = ?2",
            params![sha256, device_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn case_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT p.sha256 FROM case_photos p
                 WHERE p.case_id = ?1
                   AND (p.granted = 0 OR NOT EXISTS (SELECT 1 FROM photos h WHERE h.sha256 = p.sha256))
                 ORDER BY p.sha256",
            )?;
            let rows = st.query_map([case_id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn after_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "WITH latest AS (
                    SELECT p.op_id FROM case_photos p JOIN events e ON e.op_id = p.op_id
                    WHERE p.case_id = ?1 AND p.kind = 'after' ORDER BY e.seq DESC LIMIT 1)
                 SELECT p.sha256 FROM case_photos p
                 WHERE p.case_id = ?1 AND p.op_id = (SELECT op_id FROM latest)
                   AND (p.granted = 0 OR NOT EXISTS (SELECT 1 FROM photos h WHERE h.sha256 = p.sha256))
                 ORDER BY p.sha256",
            )?;
            let rows = st.query_map([case_id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn waiting_photos(&self, named_before_ms: i64, limit: usize) -> StoreResult<Vec<WaitingPhoto>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT p.sha256, c.doc, p.kind, p.device_id, p.named_ms
                 FROM case_photos p JOIN cases c ON c.id = p.case_id
                 WHERE p.granted = 0 AND p.named_ms < ?1
                 ORDER BY p.named_ms LIMIT ?2",
            )?;
            let rows = st.query_map(params![named_before_ms, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (sha256, doc, kind, device_id, named_ms) = row?;
                out.push(WaitingPhoto {
                    sha256,
                    case: serde_json::from_str(&doc)?,
                    kind,
                    device_id,
                    named_ms,
                });
            }
            Ok(out)
        })
    }

    fn device_unreferenced_bytes(&self, device_id: &str) -> StoreResult<u64> {
        self.with_reader(|conn| {
            let photos: i64 = conn.query_row(
                &format!(
                    "SELECT COALESCE(SUM(h.size), 0) FROM photos h
                     JOIN photo_uploaders u ON u.sha256 = h.sha256
                     WHERE u.device_id = ?1 AND {UNNAMED}"
                ),
                [device_id],
                |r| r.get(0),
            )?;
            let uploads: i64 = conn.query_row(
                "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE device_id = ?1",
                [device_id],
                |r| r.get(0),
            )?;
            Ok((photos + uploads).max(0) as u64)
        })
    }

    fn stale_uploads(
        &self,
        touched_before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT sha256, device_id FROM uploads WHERE touched_ms < ?1 ORDER BY touched_ms LIMIT ?2",
            )?;
            let rows = st.query_map(params![touched_before_ms, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn unreferenced_photos(&self, stored_before_ms: i64, limit: usize) -> StoreResult<Vec<String>> {
        self.with_reader(|conn| {
            let mut st = conn.prepare_cached(&format!(
                "SELECT h.sha256 FROM photos h WHERE h.stored_ms < ?1 AND {UNNAMED}
                 ORDER BY h.stored_ms LIMIT ?2"
            ))?;
            let rows = st.query_map(params![stored_before_ms, limit as i64], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn forget_unreferenced_photo(&self, sha256: &str) -> StoreResult<bool> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        let gone = tx.execute(
            &format!("DELETE FROM photos AS h WHERE h.sha256 = ?1 AND {UNNAMED}"),
            [sha256],
        )? > 0;
        if gone {
            tx.execute("DELETE FROM photo_uploaders WHERE sha256 = ?1", [sha256])?;
        }
        tx.commit()?;
        Ok(gone)
    }

    fn photo_usage(&self) -> StoreResult<PhotoUsage> {
        self.with_reader(|conn| {
            let pair = |sql: &str| -> rusqlite::Result<(u64, u64)> {
                conn.query_row(sql, [], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
                })
            };
            let (photos, photo_bytes) =
                pair("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM photos")?;
            let (unreferenced, unreferenced_bytes) = pair(&format!(
                "SELECT COUNT(*), COALESCE(SUM(h.size), 0) FROM photos h WHERE {UNNAMED}"
            ))?;
            let (uploads, upload_bytes) =
                pair("SELECT COUNT(*), COALESCE(SUM(received), 0) FROM uploads")?;
            let waiting: i64 = conn.query_row(
                "SELECT COUNT(*) FROM case_photos WHERE granted = 0",
                [],
                |r| r.get(0),
            )?;
            let mut st = conn.prepare(&format!(
                "SELECT device_id, SUM(bytes) AS total FROM (
                    SELECT u.device_id, h.size AS bytes FROM photos h
                    JOIN photo_uploaders u ON u.sha256 = h.sha256 WHERE {UNNAMED}
                    UNION ALL SELECT device_id, size FROM uploads)
                 GROUP BY device_id ORDER BY total DESC LIMIT 10"
            ))?;
            let top_devices = st
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(PhotoUsage {
                photos,
                photo_bytes,
                unreferenced,
                unreferenced_bytes,
                uploads,
                upload_bytes,
                waiting: waiting as u64,
                top_devices,
            })
        })
    }
}
