//! Shared state of the HTTP layer.

use std::path::PathBuf;
use std::sync::Arc;

use crate::metrics::Metrics;
use crate::store::ServerStore;
use crate::store::sqlite::SqliteStore;

/// Limits and lifetimes.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a token lives (ms).
    pub token_ttl_ms: i64,
    /// Largest JSON request body (bytes).
    pub max_body_bytes: usize,
    /// Largest photo (bytes).
    pub max_photo_bytes: u64,
    /// Most operations in one push.
    pub max_push_ops: usize,
    /// Clock skew and deadline horizon for pushed operations.
    pub push_rules: crate::apply::PushRules,
    /// Timeouts and the cap on open connections.
    pub connections: crate::connections::ConnectionLimits,
    /// Sign-in throttling and hashing concurrency.
    pub signin: crate::signin_guard::SignInLimits,
    /// Take the client's address from the last `X-Forwarded-For` entry (only behind a reverse
    /// proxy that sets it; otherwise anyone could claim any address).
    pub trust_forwarded_for: bool,
    /// Browsers reach the server over TLS (terminated at the reverse proxy): console cookies
    /// are marked `Secure`.
    pub behind_tls: bool,
    /// An upload that sends no bytes for this long is treated as cut: its progress is kept and
    /// the photo is free for the phone's next attempt (a dead link never locks a photo out).
    pub upload_idle_timeout: std::time::Duration,
    /// Thumbnails decoded at once (each may take up to
    /// [`DECODE_MAX_BYTES`](crate::handlers::thumbnails::DECODE_MAX_BYTES) of memory).
    pub thumbnail_decodes: usize,
    /// Threads for blocking storage work (tokio's blocking pool).
    pub storage_threads: usize,
    /// A photo named by an operation whose bytes have not come after this long is listed for
    /// supervisors (`/console/photos/waiting`).
    pub photo_arrival_grace_ms: i64,
    /// Where photo bytes are kept.
    pub photos: crate::blobs::PhotoLocation,
    /// Where records are kept.
    pub database: Database,
    /// Upload expiry, collection of unnamed photos, per-device quota.
    pub storage: crate::housekeeping::StorageLimits,
    /// An online map tile layer under the console's case map (off by default: the plain SVG map
    /// works on a closed intranet).
    pub map_tiles: Option<MapTiles>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this token>` (a Prometheus
    /// scrape config's `bearer_token`); when unset it is open, for a scraper on loopback or
    /// behind the reverse proxy.
    pub metrics_token: Option<String>,
    /// Hosts (`host` or `host:port`) an Open311 citizen report's `media_url` may be fetched
    /// from; none by default (reports then bring their photo in the request itself).
    pub open311_media_hosts: Vec<String>,
    /// Citizen reports one Open311 key may post per hour (a burst of a tenth of them at once);
    /// past it `429` with `Retry-After`, counted per instance.
    pub open311_reports_per_hour: u32,
    /// Where notices go beyond the app and the console, and the console's address for links.
    pub notify: crate::notices::channels::NotifyConfig,
}

/// Where the server keeps its records.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Database {
    /// The embedded SQLite file in the data folder (one server process).
    #[default]
    DataFolder,
    /// A PostgreSQL database, `postgres://user:password@host:port/db` (several instances may
    /// share it).
    Postgres(String),
}

/// A slippy-map tile server, e.g. an intranet mirror of a city's base map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapTiles {
    /// URL template with `{z}`, `{x}` and `{y}`, e.g. `https://tiles.example.gov.cn/{z}/{x}/{y}.png`.
    pub url: String,
    /// The tiles are drawn in GCJ-02 (Amap, Tencent and most Chinese base maps) rather than
    /// WGS-84 (OpenStreetMap); cases are stored in WGS-84 and converted for drawing.
    pub gcj02: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token_ttl_ms: 30 * 24 * 3_600_000,
            max_body_bytes: 8 * 1024 * 1024,
            max_photo_bytes: xuncha_core::store::MAX_PHOTO_BYTES,
            max_push_ops: xuncha_core::limits::OPS_PER_PUSH,
            push_rules: crate::apply::PushRules::default(),
            connections: crate::connections::ConnectionLimits::default(),
            signin: crate::signin_guard::SignInLimits::default(),
            trust_forwarded_for: false,
            behind_tls: false,
            upload_idle_timeout: std::time::Duration::from_secs(30),
            thumbnail_decodes: 2,
            storage_threads: 16,
            photo_arrival_grace_ms: 24 * 3_600_000,
            storage: crate::housekeeping::StorageLimits::default(),
            photos: crate::blobs::PhotoLocation::DataFolder,
            database: Database::DataFolder,
            map_tiles: None,
            metrics_token: None,
            open311_media_hosts: Vec::new(),
            open311_reports_per_hour: 600,
            notify: Default::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn ServerStore>,
    /// Photo bytes, uploads in progress and thumbnails ([`crate::blobs`]).
    pub blobs: crate::blobs::Blobs,
    /// The local folder of photos (when they are kept on this machine).
    pub blob_dir: PathBuf,
    /// Limits.
    pub config: Config,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Clock (UTC ms); replaceable in tests.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Photos being appended to right now (one writer per upload).
    uploading: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// The console's hybrid logical clock: the console is one more device.
    pub console_clock: Arc<std::sync::Mutex<xuncha_core::hlc::HlcClock>>,
    /// Sign-in throttling and the bounded password hashing.
    pub signin: Arc<crate::signin_guard::SignInGuard>,
    /// One permit per thumbnail decode allowed at once.
    pub decode_slots: Arc<tokio::sync::Semaphore>,
    /// The writer thread that commits waiting pushes together.
    pub writer: Arc<crate::group_commit::GroupCommit>,
    /// Citizen reports per Open311 client ([`Config::open311_reports_per_hour`]); keyed by the
    /// client's name, so it holds at most as many entries as an admin issued keys.
    pub open311_limiter: Arc<crate::open311::ClientLimiter>,
}

/// Held while a request appends to an upload; releases it on drop.
pub struct UploadGuard {
    set: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    sha: String,
}

impl Drop for UploadGuard {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.sha);
    }
}

impl AppState {
    /// Open the SQLite store and blob folder under `data_dir`.
    pub fn open(data_dir: &std::path::Path, config: Config) -> xuncha_core::Result<Self> {
        let store: Arc<dyn ServerStore> = match &config.database {
            Database::DataFolder => Arc::new(SqliteStore::open(data_dir)?),
            Database::Postgres(url) => Arc::new(crate::store::postgres::PostgresStore::open(url)?),
        };
        let blob_dir = data_dir.join("photos");
        let blobs = match &config.photos {
            crate::blobs::PhotoLocation::DataFolder => crate::blobs::Blobs::local(&blob_dir)?,
            crate::blobs::PhotoLocation::Folder(dir) => crate::blobs::Blobs::local(dir)?,
            crate::blobs::PhotoLocation::S3 { url, settings } => {
                let blobs = crate::blobs::Blobs::s3(url, settings)?;
                crate::blobs::block_on(blobs.check())?;
                blobs
            }
        };
        let signin = crate::signin_guard::SignInGuard::new(config.signin);
        let metrics = Arc::new(Metrics::new());
        let writer = Arc::new(crate::group_commit::GroupCommit::start(
            store.clone(),
            metrics.push_group_size.clone(),
        )?);
        let open311_limiter = Arc::new(crate::open311::client_limiter(
            config.open311_reports_per_hour,
        ));
        Ok(AppState {
            writer,
            signin,
            open311_limiter,
            decode_slots: Arc::new(tokio::sync::Semaphore::new(config.thumbnail_decodes.max(1))),
            store,
            blobs,
            blob_dir,
            config,
            metrics,
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0)
            }),
            uploading: Arc::default(),
            console_clock: Arc::new(std::sync::Mutex::new(xuncha_core::hlc::HlcClock::new(
                u64::from_le_bytes(
                    uuid::Uuid::new_v4().as_bytes()[..8]
                        .try_into()
                        .unwrap_or([1; 8]),
                ),
                xuncha_core::hlc::Hlc::default(),
            ))),
        })
    }

    /// Take `device_id`'s upload of `sha` for this request, unless another request holds it.
    pub fn upload_lock(&self, sha: &str, device_id: &str) -> Option<UploadGuard> {
        let key = format!("{sha}/{device_id}");
        let mut set = self.uploading.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(key.clone()).then(|| UploadGuard {
            set: self.uploading.clone(),
            sha: key,
        })
    }

    /// Now, by the server clock.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Apply a device's push, committed together with whatever other pushes are waiting
    /// ([`crate::group_commit`]).
    pub async fn push(
        &self,
        who: crate::store::Principal,
        ops: Vec<xuncha_core::model::Op>,
        now_ms: i64,
    ) -> Result<Vec<xuncha_core::sync::protocol::OpResult>, crate::error::ApiError> {
        let rules = self.config.push_rules;
        Ok(self.writer.push(who, ops, now_ms, rules).await?)
    }

    /// Which cases `who` sees now, in the city's current areas (core's [`Reach`] rule).
    ///
    /// [`Reach`]: xuncha_core::scope::Reach
    pub fn reach(&self, who: &crate::store::Principal) -> xuncha_core::scope::Reach {
        who.reach(&self.store.reference_index())
    }

    /// Run blocking storage work off the async runtime.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn ServerStore) -> xuncha_core::Result<T> + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(r) => r.map_err(Into::into),
            Err(e) => Err(crate::error::ApiError::internal(e)),
        }
    }
}
