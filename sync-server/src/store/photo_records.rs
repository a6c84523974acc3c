//! What the HTTP layer needs to know about photos, whatever the backend: uploads in progress
//! (one per photo and device), the photos held and which devices sent their bytes, and which case
//! photos are *granted* (open to those who see the case). The rules, in one place:
//!
//! - an operation may name any hash; its photo is granted at once if the operation's device
//!   sent those bytes, or its author can already see a case showing that photo, and otherwise
//!   when the device's upload of the bytes completes, never before;
//! - a photo is answered as held (`complete`) to a device only on the same terms, so an upload
//!   announcement reveals nothing about other people's photos;
//! - an upload in progress belongs to its device; another device's announcement of the same
//!   hash never resets it.
//!
//! The bytes themselves are not here: see [`crate::blobs`].

use xuncha_core::model::Case;
use xuncha_core::scope::Reach;

use super::StoreResult;

/// An upload in progress: announced size, bytes received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadRow {
    /// Size announced when the upload was created.
    pub size: u64,
    /// Bytes received so far.
    pub received: u64,
}

/// A case photo named by an operation whose bytes have not come from its device.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingPhoto {
    /// The photo's hash.
    pub sha256: String,
    /// The case.
    pub case: Case,
    /// `before`, `after`, …
    pub kind: String,
    /// The device that named it (and should send it).
    pub device_id: String,
    /// When the server received the operation (UTC ms).
    pub named_ms: i64,
}

/// Where the bytes are, for `xuncha-server usage` and the housekeeping log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoUsage {
    /// Photos held.
    pub photos: u64,
    /// Their bytes.
    pub photo_bytes: u64,
    /// Photos held that no operation names.
    pub unreferenced: u64,
    /// Their bytes.
    pub unreferenced_bytes: u64,
    /// Uploads in progress.
    pub uploads: u64,
    /// Bytes received for them so far.
    pub upload_bytes: u64,
    /// Case photos whose bytes have not come.
    pub waiting: u64,
    /// Devices holding the most unreferenced bytes (photos plus uploads in progress), largest
    /// first: `(device, bytes)`.
    pub top_devices: Vec<(String, u64)>,
}

/// `NOT EXISTS` a case photo naming `h.sha256` (the same SQL on both backends).
pub(super) const UNNAMED: &str =
    "NOT EXISTS (SELECT 1 FROM case_photos p WHERE p.sha256 = h.sha256)";

/// At most this many cases showing a photo are read to decide whether an author sees one.
pub(super) const GRANT_CANDIDATES: i64 = 64;

/// Does `actor` see any of these cases (stored documents of cases showing a photo)?
pub(super) fn sees_any(
    reach: &Reach,
    docs: impl IntoIterator<Item = StoreResult<String>>,
) -> StoreResult<bool> {
    for doc in docs {
        let case: Case = serde_json::from_str(&doc?)?;
        if reach.can_see(&case) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Photo bookkeeping of a backend (see the module's rules).
pub trait PhotoRecords {
    /// The photo's size if it is held and `device_id` may be told so: the device sent its bytes,
    /// or `reach` holds a case that shows it.
    fn photo_held_for(
        &self,
        sha256: &str,
        device_id: &str,
        reach: &Reach,
    ) -> StoreResult<Option<u64>>;
    /// This device's upload of the photo, if one is in progress.
    fn upload(&self, sha256: &str, device_id: &str) -> StoreResult<Option<UploadRow>>;
    /// Start (or restart with a new size) this device's upload of the photo.
    fn create_upload(
        &self,
        sha256: &str,
        device_id: &str,
        size: u64,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Bytes received so far for this device's upload.
    fn upload_progress(
        &self,
        sha256: &str,
        device_id: &str,
        received: u64,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Drop this device's upload (its bytes were refused).
    fn forget_upload(&self, sha256: &str, device_id: &str) -> StoreResult<()>;
    /// A stored photo's type and the cases that show it (granted rows only: for access control).
    fn photo_with_cases(&self, sha256: &str) -> StoreResult<Option<(String, Vec<Case>)>>;
    /// `device_id` sent the whole, checked bytes of a photo: hold it, remember who sent it,
    /// grant the case photos that device named, and end its upload. One transaction.
    fn photo_stored(
        &self,
        sha256: &str,
        mime: &str,
        size: u64,
        device_id: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// The case's photos whose bytes have not arrived (hashes).
    fn case_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>>;
    /// The after-photos of the case's latest rectification that have not arrived (hashes).
    fn after_photos_waiting(&self, case_id: &str) -> StoreResult<Vec<String>>;
    /// Case photos still waiting for their bytes, named before `named_before_ms`, oldest first,
    /// at most `limit`.
    fn waiting_photos(&self, named_before_ms: i64, limit: usize) -> StoreResult<Vec<WaitingPhoto>>;
    /// Bytes `device_id` holds on the server that no operation names: photos it sent that no
    /// case uses, and its uploads in progress (what the per-device quota counts).
    fn device_unreferenced_bytes(&self, device_id: &str) -> StoreResult<u64>;
    /// Uploads that received no byte since `touched_before_ms`: `(sha256, device_id)`.
    fn stale_uploads(
        &self,
        touched_before_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<(String, String)>>;
    /// Photos stored before `stored_before_ms` that no operation names.
    fn unreferenced_photos(&self, stored_before_ms: i64, limit: usize) -> StoreResult<Vec<String>>;
    /// Forget a photo if still no operation names it (decided in the writer's transaction, so
    /// a push naming it meanwhile keeps it); true if forgotten, and its file may go.
    fn forget_unreferenced_photo(&self, sha256: &str) -> StoreResult<bool>;
    /// Where the bytes are.
    fn photo_usage(&self) -> StoreResult<PhotoUsage>;
}
