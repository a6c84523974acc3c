//! [`PhotoRecords`] on PostgreSQL (the rules are written there).

use postgres::GenericClient;
use xuncha_core::model::Case;
use xuncha_core::scope::Reach;

use super::StoreResult;
use super::photo_records::{
    GRANT_CANDIDATES, PhotoRecords, PhotoUsage, UNNAMED, UploadRow, WaitingPhoto, sees_any,
};
use super::postgres::{PostgresStore, Sql, col, pg};

/// Does `reach` hold a case that shows `sha256` (a granted row)?
fn reach_sees_photo(c: &mut impl Sql, reach: &Reach, sha256: &str) -> StoreResult<bool> {
    let rows = c.rows(
        "SELECT DISTINCT c.doc FROM case_photos p JOIN cases c ON c.id = p.case_id
         WHERE p.sha256 = $1 AND p.granted LIMIT $2",
        &[&sha256, &GRANT_CANDIDATES],
    )?;
    sees_any(reach, rows.iter().map(|r| col::<String>(r, 0)))
}

/// Did `device_id` send the bytes of `sha256`?
fn device_sent(c: &mut impl Sql, sha256: &str, device_id: &str) -> StoreResult<bool> {
    Ok(!c
        .rows(
            "SELECT 1 FROM photo_uploaders WHERE sha256 = $1 AND device_id = $2",
            &[&sha256, &device_id],
        )?
        .is_empty())
}

/// Record that `op_id` (from `device_id`, by someone of `reach`) names `sha256` on `case_id`.
#[allow(clippy::too_many_arguments)]
pub(super) fn name_photo(
    c: &mut impl Sql,
    sha256: &str,
    case_id: &str,
    op_id: &str,
    kind: &str,
    device_id: &str,
    reach: &Reach,
    now_ms: i64,
) -> StoreResult<()> {
    let granted = device_sent(c, sha256, device_id)? || reach_sees_photo(c, reach, sha256)?;
    c.exec(
        "INSERT INTO case_photos (sha256, case_id, op_id, kind, device_id, granted, named_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &[
            &sha256, &case_id, &op_id, &kind, &device_id, &granted, &now_ms,
        ],
    )?;
    Ok(())
}

fn strings(
    c: &mut impl GenericClient,
    sql: &str,
    p: &[&(dyn postgres::types::ToSql + Sync)],
) -> StoreResult<Vec<String>> {
    c.query(sql, p)
        .map_err(pg)?
        .iter()
        .map(|r| col(r, 0))
        .collect()
}

impl PhotoRecords for PostgresStore {
    fn photo_held_for(
        &self,
        sha256: &str,
        device_id: &str,
        reach: &Reach,
    ) -> StoreResult<Option<u64>> {
        self.with(|c| {
            let Some(r) = c
                .query_opt("SELECT size FROM photos WHERE sha256 = $1", &[&sha256])
                .map_err(pg)?
            else {
                return Ok(None);
            };
            let size: i64 = col(&r, 0)?;
            let told = device_sent(c, sha256, device_id)? || reach_sees_photo(c, reach, sha256)?;
            Ok(told.then_some(size as u64))
        })
    }

    fn upload(&self, sha256: &str, device_id: &str) -> StoreResult<Option<UploadRow>> {
        self.with(|c| {
            c.query_opt(
                "SELECT size, received FROM uploads WHERE sha256 = $1 AND device_id = $2",
                &[&sha256, &device_id],
            )
            .map_err(pg)?
            .map(|r| {
                Ok(UploadRow {
                    size: col::<i64>(&r, 0)? as u64,
                    received: col::<i64>(&r, 1)? as u64,
                })
            })
            .transpose()
        })
    }

    fn create_upload(
        &self,
        sha256: &str,
        device_id: &str,
        size: u64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO uploads (sha256, device_id, size, received, created_ms, touched_ms)
                 VALUES ($1, $2, $3, 0, $4, $4)
                 ON CONFLICT (sha256, device_id) DO UPDATE
                    SET size = excluded.size, received = 0, touched_ms = excluded.touched_ms",
                &[&sha256, &device_id, &(size as i64), &now_ms],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn upload_progress(
        &self,
        sha256: &str,
        device_id: &str,
        received: u64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "UPDATE uploads SET received = $3, touched_ms = $4
                 WHERE sha256 = $1 AND device_id = $2",
                &[&sha256, &device_id, &(received as i64), &now_ms],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn forget_upload(&self, sha256: &str, device_id: &str) -> StoreResult<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM uploads WHERE sha256 = $1 AND device_id = $2",
                &[&sha256, &device_id],
            )
            .map_err(pg)?;
            Ok(())
        })
    }

    fn photo_with_cases(&self, sha256: &str) -> StoreResult<Option<(String, Vec<Case>)>> {
        self.with(|c| {
            let Some(r) = c
                .query_opt("SELECT mime FROM photos WHERE sha256 = $1", &[&sha256])
                .map_err(pg)?
            else {
                return Ok(None);
            };
            let mime: String = col(&r, 0)?;
            let mut cases = Vec::new();
            for doc in strings(
                c,
                "SELECT DISTINCT c.doc FROM case_photos p JOIN cases c ON c.id = p.case_id
                 WHERE p.sha256 = $1 AND p.granted",
                &[&sha256],
            )? {
                cases.push(serde_json::from_str(&doc)?);
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
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.execute(
                "INSERT INTO photos (sha256, mime, size, stored_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&sha256, &mime, &(size as i64), &now_ms],
            )
            .map_err(pg)?;
            tx.execute(
                "INSERT INTO photo_uploaders (sha256, device_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&sha256, &device_id],
            )
            .map_err(pg)?;
            tx.execute(
                "UPDATE case_photos SET granted = TRUE
                 WHERE sha256 = $1 AND device_id = $2 AND NOT granted",
                &[&sha256, &device_id],
            )
            .map_err(pg)?;
            tx.execute(
                "DELETE FROM uploads WHERE sha256 = $1 AND device_id = $2",
                &[&sha256, &device_id],
            )
            .map_err(pg)?;
            tx.commit().map_err(pg)?;
            Ok(())
        })
    }

    fn case_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            strings(
                c,
                "SELECT DISTINCT p.sha256 FROM case_photos p
                 WHERE p.case_id = $1
                   AND (NOT p.granted OR NOT EXISTS (SELECT 1 FROM photos h WHERE h.sha256 = p.sha256))
                 ORDER BY p.sha256",
                &[&case_id],
            )
        })
    }

    fn after_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>> {
        self.with(|c| {
            strings(
                c,
                "WITH latest AS (
                    SELECT p.op_id FROM case_photos p JOIN events e ON e.op_id = p.op_id
                    WHERE p.case_id = $1 AND p.kind = 'after' ORDER BY e.seq DESC LIMIT 1)
                 SELECT p.sha256 FROM case_photos p
                 WHERE p.case_id = $1 AND p.op_id = (SELECT op_id FROM latest)
                   AND (NOT p.granted OR NOT EXISTS (SELECT 1 FROM photos h WHERE h.sha256 = p.sha256))
                 ORDER BY p.sha256",
                &[&case_id],
            )
        })
    }

    fn waiting_photos(&self, named_before_ms: i64, limit: usize) -> StoreResult<Vec<WaitingPhoto>> {
        self.with(|c| {
            c.query(
                "SELECT p.sha256, c.doc, p.kind, p.device_id, p.named_ms
                 FROM case_photos p JOIN cases c ON c.id = p.case_id
                 WHERE NOT p.granted AND p.named_ms < $1
                 ORDER BY p.named_ms LIMIT $2",
                &[&named_before_ms, &(limit as i64)],
            )
            .map_err(pg)?
            .iter()
            .map(|r| {
                Ok(WaitingPhoto {
                    sha256: col(r, 0)?,
                    case: serde_json::from_str(&col::<String>(r, 1)?)?,
                    kind: col(r, 2)?,
                    device_id: col(r, 3)?,
                    named_ms: col(r, 4)?,
                })
            })
            .collect()
        })
    }

    fn device_unreferenced_bytes(&self, device_id: &str) -> StoreResult<u64> {
        self.with(|c| {
            let r = c
                .query_one(
                    &format!(
                        "SELECT (SELECT COALESCE(SUM(h.size), 0)::BIGINT FROM photos h
                                 JOIN photo_uploaders u ON u.sha256 = h.sha256
                                 WHERE u.device_id = $1 AND {UNNAMED}),
                                (SELECT COALESCE(SUM(size), 0)::BIGINT FROM uploads WHERE device_id = $1)"
                    ),
                    &[&device_id],
                )
                .map_err(pg)?;
            Ok((col::<i64>(&r, 0)? + col::<i64>(&r, 1)?).max(0) as u64)
        })
    }

    fn stale_uploads(
        &self,
        touched_before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>> {
        self.with(|c| {
            c.query(
                "SELECT sha256, device_id FROM uploads WHERE touched_ms < $1
                 ORDER BY touched_ms LIMIT $2",
                &[&touched_before_ms, &(limit as i64)],
            )
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect()
        })
    }

    fn unreferenced_photos(&self, stored_before_ms: i64, limit: usize) -> StoreResult<Vec<String>> {
        self.with(|c| {
            strings(
                c,
                &format!(
                    "SELECT h.sha256 FROM photos h WHERE h.stored_ms < $1 AND {UNNAMED}
                     ORDER BY h.stored_ms LIMIT $2"
                ),
                &[&stored_before_ms, &(limit as i64)],
            )
        })
    }

    fn forget_unreferenced_photo(&self, sha256: &str) -> StoreResult<bool> {
        self.with(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            // Under the feed lock: a push naming the photo is either before (and keeps it) or
            // after (and finds it gone, so its device sends it again).
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&super::postgres::FEED_LOCK],
            )
            .map_err(pg)?;
            let gone = tx
                .execute(
                    &format!("DELETE FROM photos h WHERE h.sha256 = $1 AND {UNNAMED}"),
                    &[&sha256],
                )
                .map_err(pg)?
                > 0;
            if gone {
                tx.execute("DELETE FROM photo_uploaders WHERE sha256 = $1", &[&sha256])
                    .map_err(pg)?;
            }
            tx.commit().map_err(pg)?;
            Ok(gone)
        })
    }

    fn photo_usage(&self) -> StoreResult<PhotoUsage> {
        self.with(|c| {
            let r = c
                .query_one(
                    &format!(
                        "SELECT (SELECT COUNT(*) FROM photos), (SELECT COALESCE(SUM(size), 0)::BIGINT FROM photos),
                                (SELECT COUNT(*) FROM photos h WHERE {UNNAMED}),
                                (SELECT COALESCE(SUM(h.size), 0)::BIGINT FROM photos h WHERE {UNNAMED}),
                                (SELECT COUNT(*) FROM uploads),
                                (SELECT COALESCE(SUM(received), 0)::BIGINT FROM uploads),
                                (SELECT COUNT(*) FROM case_photos WHERE NOT granted)"
                    ),
                    &[],
                )
                .map_err(pg)?;
            let n = |i: usize| -> StoreResult<u64> { Ok(col::<i64>(&r, i)?.max(0) as u64) };
            let top_devices = c
                .query(
                    &format!(
                        "SELECT device_id, SUM(bytes)::BIGINT AS total FROM (
                            SELECT u.device_id, h.size AS bytes FROM photos h
                            JOIN photo_uploaders u ON u.sha256 = h.sha256 WHERE {UNNAMED}
                            UNION ALL SELECT device_id, size FROM uploads) x
                         GROUP BY device_id ORDER BY total DESC LIMIT 10"
                    ),
                    &[],
                )
                .map_err(pg)?
                .iter()
                .map(|r| Ok((col(r, 0)?, col::<i64>(r, 1)?.max(0) as u64)))
                .collect::<StoreResult<_>>()?;
            Ok(PhotoUsage {
                photos: n(0)?,
                photo_bytes: n(1)?,
                unreferenced: n(2)?,
                unreferenced_bytes: n(3)?,
                uploads: n(4)?,
                upload_bytes: n(5)?,
                waiting: n(6)?,
                top_devices,
            })
        })
    }
}
