//! The device's offline store: one SQLite file (WAL) plus a folder of photos named by hash.
//! Every user action becomes an operation written to the outbox in the same transaction that
//! applies it to the local view, so nothing is ever half-written.

mod cases;
mod notices;
pub mod photo_format;
pub(crate) mod photos;
mod reference;
mod rounds;
mod schema;
mod sync_state;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::hlc::{Hlc, HlcClock};
use crate::model::Actor;
use crate::workflow::Role;

pub use crate::reference::{
    Campaign, Category, CategoryClass, CategoryTreeNode, Grid, Placement, ReferenceData,
    ReferenceIndex, Site, Unit, User,
};
pub use cases::{
    CaseDetail, CaseListItem, CasePage, CasePhoto, CaseQuery, CaseSort, NewReport, OutboxEntry,
};
pub use photo_format::{ImageInfo, ImageProblem, inspect as inspect_image, sniff_image_type};
pub use photos::{MAX_PHOTO_BYTES, PhotoInput, PhotoSource, is_sha256_hex, sha256_hex};
pub use reference::NearbySite;
pub use rounds::{IndicatorInput, RecheckInput, SiteCheckInput, TaskPlace, TaskView};
pub use schema::LATEST as SCHEMA_VERSION;
pub use sync_state::{Rejection, SyncState};

/// How hard a commit works to survive power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=NORMAL` in WAL: a committed transaction survives the app being killed at
    /// any moment; a power cut may lose the last few commits but never corrupts the file.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before the call returns.
    Full,
}

/// The wall clock, as UTC milliseconds. Replaceable so tests can move time.
pub type WallClock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Options for [`Store::open_with`].
#[derive(Clone, Default)]
pub struct StoreOptions {
    /// Commit durability.
    pub durability: Durability,
    /// Clock override (default: the system clock).
    pub clock: Option<WallClock>,
}

/// The signed-in user, held locally so the phone works with no network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// User id.
    pub user_id: String,
    /// Role.
    pub role: Role,
    /// Unit (required for unit staff).
    pub unit_id: Option<String>,
}

impl Session {
    /// A session from a role name, with a typed error for unknown roles and for unit staff
    /// without a unit.
    pub fn new(user_id: &str, role: &str, unit_id: Option<&str>) -> Result<Self> {
        let role = Role::parse_required(role)?;
        if user_id.trim().is_empty() {
            return Err(Error::MissingField("user_id"));
        }
        let unit_id = unit_id.filter(|u| !u.trim().is_empty()).map(str::to_string);
        if role == Role::UnitStaff && unit_id.is_none() {
            return Err(Error::MissingField("unit_id"));
        }
        Ok(Session {
            user_id: user_id.to_string(),
            role,
            unit_id,
        })
    }

    /// The actor recorded on operations.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id.clone(),
            role: self.role,
            unit_id: self.unit_id.clone(),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) conn: Connection,
    pub(crate) clock: HlcClock,
    /// The signed-in user (mirrors `meta.session`).
    pub(crate) session: Option<Session>,
    /// Reference data the write path needs (mirrors the reference tables).
    pub(crate) refs: ReferenceIndex,
    /// Server clock minus this device's clock, as last heard (mirrors the sync state): new
    /// operations are stamped with the corrected time, so a phone whose clock is days fast
    /// still stamps what the server will accept.
    pub(crate) skew_ms: i64,
}

/// An open device store. Cheap to share behind an `Arc`; calls are blocking and serialized.
pub struct Store {
    dir: PathBuf,
    photo_dir: PathBuf,
    device_id: String,
    wall: WallClock,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// File name of the database inside a store folder.
pub const DB_FILE: &str = "xuncha.db";

fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Keep each prepared statement's query plan: without this, the bundled SQLite (built with
/// STAT4) re-parses and re-plans a cached statement on every run whose bound values touch a
/// range on an index (the server's duplicate search spent 15 % of a push re-preparing). Every
/// connection of the device and the server opens with it.
pub fn plan_once(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Store {
    /// Open (or create) the store in folder `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, StoreOptions::default())
    }

    /// Open with options.
    pub fn open_with(dir: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir)?;
        let mut conn = Connection::open(dir.join(DB_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Refuse a newer schema before changing anything, including the journal mode.
        schema::migrate(&mut conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match options.durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache: list queries over a large store stay in memory.
        conn.pragma_update(None, "cache_size", -16_384)?;
        // Checkpoint every ~16 MiB of WAL rather than 4 MiB: bulk writes (sync, imports) rewrite
        // the same index pages many times, and a longer WAL copies each of them back once.
        conn.pragma_update(None, "wal_autocheckpoint", 4_000)?;
        plan_once(&conn)?;
        let photo_dir = dir.join("photos");
        std::fs::create_dir_all(&photo_dir)?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let device_id = match meta_get(&tx, "device_id")? {
            Some(id) => id,
            None => {
                let id = Uuid::now_v7().to_string();
                meta_set(&tx, "device_id", &id)?;
                id
            }
        };
        let last: Hlc = meta_get(&tx, "hlc")?
            .and_then(|h| h.parse().ok())
            .unwrap_or_default();
        let session = session_of(&tx)?;
        let refs = reference::load_index(&tx)?;
        let skew_ms = sync_state::stored(&tx)?.clock_skew_ms;
        tx.commit()?;
        let node = node_of(&device_id);
        Ok(Store {
            dir,
            photo_dir,
            device_id,
            wall: options.clock.unwrap_or_else(|| Arc::new(system_now_ms)),
            inner: Mutex::new(Inner {
                conn,
                clock: HlcClock::new(node, last),
                session,
                refs,
                skew_ms,
            }),
        })
    }

    /// The folder of photo files.
    #[cfg(feature = "client")]
    pub(crate) fn photo_dir(&self) -> &Path {
        &self.photo_dir
    }

    /// The store's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This device's id (made on first open).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Now, by this store's wall clock (UTC ms).
    pub fn now_ms(&self) -> i64 {
        (self.wall)()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sign in locally: the user every following action is recorded as.
    pub fn set_session(&self, session: &Session) -> Result<()> {
        let mut inner = self.lock();
        // Before reference data arrives, a unit id cannot be checked yet.
        if let Some(u) = &session.unit_id
            && inner.refs.has_units()
        {
            inner.refs.check_unit(u)?;
        }
        meta_set(&inner.conn, "session", &serde_json::to_string(session)?)?;
        inner.session = Some(session.clone());
        Ok(())
    }

    /// Make `session` the signed-in user without checking its unit against reference data (the
    /// server vouched for it; reference data may not have arrived yet).
    #[cfg(feature = "client")]
    pub(crate) fn set_session_unchecked(&self, session: &Session) -> Result<()> {
        let mut inner = self.lock();
        meta_set(&inner.conn, "session", &serde_json::to_string(session)?)?;
        inner.session = Some(session.clone());
        Ok(())
    }

    /// Sign out locally. Pending operations stay in the outbox.
    pub fn clear_session(&self) -> Result<()> {
        let mut inner = self.lock();
        inner
            .conn
            .execute("DELETE FROM meta WHERE key = 'session'", [])?;
        inner.session = None;
        Ok(())
    }

    /// The signed-in user, if any.
    pub fn session(&self) -> Option<Session> {
        self.lock().session.clone()
    }

    /// Replace all reference data with `data` (validated first; one transaction).
    pub fn load_reference(&self, data: &ReferenceData) -> Result<()> {
        data.validate()?;
        let mut inner = self.lock();
        let tx = inner
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        reference::replace_all(&tx, data)?;
        tx.commit()?;
        inner.refs = ReferenceIndex::new(data);
        Ok(())
    }

    /// Parse and load reference JSON.
    pub fn load_reference_json(&self, json: &str) -> Result<()> {
        self.load_reference(&ReferenceData::from_json(json)?)
    }

    /// The category picker's tree.
    pub fn category_tree(&self) -> Result<Vec<CategoryTreeNode>> {
        reference::category_tree(&self.lock().conn)
    }

    /// One category by code.
    pub fn category(&self, code: &str) -> Result<Category> {
        self.lock().refs.category(code).cloned()
    }

    /// All units.
    pub fn units(&self) -> Result<Vec<Unit>> {
        reference::units(&self.lock().conn)
    }

    /// The units the signed-in person may hand a case to (core's
    /// [`crate::scope::Reach::may_dispatch_to`]): a district's supervisors their subtree's and
    /// the city-wide ones, the city office every unit; none when nobody is signed in.
    pub fn dispatch_units(&self) -> Result<Vec<Unit>> {
        let inner = self.lock();
        let Some(session) = &inner.session else {
            return Ok(Vec::new());
        };
        let area = inner.refs.user_area(&session.user_id);
        let reach = crate::scope::Reach::of(&session.actor(), area, &inner.refs);
        Ok(reference::units(&inner.conn)?
            .into_iter()
            .filter(|u| reach.may_dispatch_to(&u.id, &inner.refs))
            .collect())
    }

    /// The users directory.
    pub fn users(&self) -> Result<Vec<User>> {
        reference::users(&self.lock().conn)
    }

    /// Campaigns.
    pub fn campaigns(&self) -> Result<Vec<Campaign>> {
        reference::campaigns(&self.lock().conn)
    }

    /// Sites within `radius_m` of a point, nearest first.
    pub fn sites_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        limit: usize,
    ) -> Result<Vec<NearbySite>> {
        let at = crate::geo::LatLon::new(lat, lon)?;
        reference::sites_near(&self.lock().conn, at, radius_m, limit)
    }

    /// The grid and owner unit of a point, if a grid covers it.
    pub fn locate(&self, lat: f64, lon: f64) -> Result<Option<Placement>> {
        let at = crate::geo::LatLon::new(lat, lon)?;
        Ok(self.lock().refs.locate(at))
    }

    /// Run `PRAGMA integrity_check`; `Ok(())` if the file is sound.
    pub fn integrity_check(&self) -> Result<()> {
        let inner = self.lock();
        let res: String = inner
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res == "ok" {
            Ok(())
        } else {
            Err(Error::InvalidField {
                field: "database",
                reason: res,
            })
        }
    }
}

/// A stable 64-bit node id for the HLC from the device id.
fn node_of(device_id: &str) -> u64 {
    let h = sha256_hex(device_id.as_bytes());
    u64::from_str_radix(&h[..16], 16).unwrap_or(0)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")?
        .execute([key, value])?;
    Ok(())
}

fn session_of(conn: &Connection) -> Result<Option<Session>> {
    match meta_get(conn, "session")? {
        Some(s) => Ok(Some(serde_json::from_str(&s)?)),
        None => Ok(None),
    }
}

pub(crate) fn begin(conn: &mut Connection) -> Result<Transaction<'_>> {
    Ok(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
}
