//! Keeping the photo folder from growing for ever: uploads that stopped receiving bytes expire,
//! photos no operation names are collected after a grace period, and each device may hold only
//! so many bytes that no operation names (its quota, checked when it announces an upload). One
//! sweep runs a minute after start and then every hour; `xuncha-server usage` shows where the
//! bytes are.

use std::time::Duration;

use crate::error::ApiError;
use crate::state::AppState;

/// How storage is kept in bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLimits {
    /// An upload that received no byte for this long is dropped with its bytes (a phone that
    /// comes back later starts that photo again).
    pub upload_expiry_ms: i64,
    /// A photo no operation names is deleted this long after it arrived (photos follow their
    /// operations, so only photos of refused operations and stray uploads are ever unnamed).
    pub unreferenced_grace_ms: i64,
    /// Bytes one device may hold that no operation names (photos plus uploads in progress).
    pub device_quota_bytes: u64,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            upload_expiry_ms: 7 * 86_400_000,
            unreferenced_grace_ms: 7 * 86_400_000,
            device_quota_bytes: 512 * 1024 * 1024,
        }
    }
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads expired.
    pub uploads: u64,
    /// Photos collected.
    pub photos: u64,
    /// Bytes freed on disk.
    pub bytes: u64,
}

/// Rows handled per sweep step: a sweep never holds the writer for long.
const BATCH: usize = 500;

/// One sweep at `now_ms`.
pub async fn sweep_once(state: &AppState, now_ms: i64) -> Result<Swept, ApiError> {
    let limits = state.config.storage;
    let mut swept = Swept::default();
    loop {
        let before = now_ms - limits.upload_expiry_ms;
        let stale = state
            .blocking(move |s| s.stale_uploads(before, BATCH))
            .await?;
        for (sha, device) in &stale {
            let (s2, d2) = (sha.clone(), device.clone());
            state.blocking(move |s| s.forget_upload(&s2, &d2)).await?;
            swept.bytes += state.blobs.delete_pieces(sha, device, 0).await?;
            swept.uploads += 1;
        }
        if stale.len() < BATCH {
            break;
        }
    }
    loop {
        let before = now_ms - limits.unreferenced_grace_ms;
        let unnamed = state
            .blocking(move |s| s.unreferenced_photos(before, BATCH))
            .await?;
        for sha in &unnamed {
            // Decided again under the writer: a push naming it meanwhile keeps it.
            let s2 = sha.clone();
            if state
                .blocking(move |s| s.forget_unreferenced_photo(&s2))
                .await?
            {
                swept.bytes += state.blobs.delete_photo(sha).await?;
                swept.photos += 1;
            }
        }
        if unnamed.len() < BATCH {
            break;
        }
    }
    if swept != Swept::default() {
        tracing::info!(
            uploads = swept.uploads,
            photos = swept.photos,
            bytes = swept.bytes,
            "storage sweep: expired uploads and unnamed photos removed"
        );
    }
    Ok(swept)
}

/// Sweep a minute after start, then every hour, until the runtime stops.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut next = Duration::from_secs(60);
        loop {
            tokio::time::sleep(next).await;
            next = Duration::from_secs(3_600);
            if let Err(e) = sweep_once(&state, state.now_ms()).await {
                tracing::warn!(code = %e.code, error = %e.message_en, "storage sweep failed; next in an hour");
            }
        }
    });
}

/// `xuncha-server usage`: where the bytes are, as text for a person.
pub fn usage_report(state: &AppState) -> xuncha_core::Result<String> {
    use std::fmt::Write;
    let u = state.store.photo_usage()?;
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / 1_048_576.0);
    let db = state.store.database_bytes()?;
    let limits = state.config.storage;
    let mut out = String::new();
    let _ = writeln!(out, "数据库 database            {}", mib(db));
    let _ = writeln!(
        out,
        "照片 photos               {} ({})",
        u.photos,
        mib(u.photo_bytes)
    );
    let _ = writeln!(
        out,
        "  无操作引用 unnamed      {} ({}), collected {} days after arrival",
        u.unreferenced,
        mib(u.unreferenced_bytes),
        limits.unreferenced_grace_ms / 86_400_000
    );
    let _ = writeln!(
        out,
        "上传中 uploads            {} ({} received), expire after {} days without a byte",
        u.uploads,
        mib(u.upload_bytes),
        limits.upload_expiry_ms / 86_400_000
    );
    let _ = writeln!(
        out,
        "缩略图 thumbnails         {}",
        mib(crate::blobs::block_on(
            state.blobs.bytes_under(Some("thumbs"))
        )?)
    );
    let _ = writeln!(
        out,
        "未到照片 waiting photos   {} (named by an operation, bytes not yet sent)",
        u.waiting
    );
    let _ = writeln!(
        out,
        "设备未引用占用 unnamed bytes by device (quota {}):",
        mib(limits.device_quota_bytes)
    );
    if u.top_devices.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (device, bytes) in &u.top_devices {
        let _ = writeln!(out, "  {device:<40} {}", mib(*bytes));
    }
    Ok(out)
}
