//! A real server on a free port and real device stores signed in to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tempfile::TempDir;
use xuncha_core::store::{NewReport, PhotoInput, StoreOptions};
use xuncha_core::sync::client::{SyncOptions, SyncReport};
use xuncha_core::{Location, Store};
use xuncha_server::{AppState, Config};

/// A demo server (demo city and users, password `demo`) on a free port.
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    _running: xuncha_server::RunningServer,
    _dir: TempDir,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(Config::default())
    }

    pub fn start_with(config: Config) -> Self {
        Self::start_with_clock(config, Arc::new(AtomicI64::new(0)))
    }

    /// A server whose clock runs `offset` ms (changeable while it runs) ahead of real time.
    pub fn start_with_clock(mut config: Config, offset: Arc<AtomicI64>) -> Self {
        let dir = TempDir::new().expect("tmp");
        // A test that chose its own database keeps it.
        if config.database == xuncha_server::state::Database::DataFolder
            && let Some(url) = postgres_for_tests()
        {
            config.database = xuncha_server::state::Database::Postgres(url);
        }
        let mut state = AppState::open(dir.path(), config).expect("open server state");
        state.clock = Arc::new(move || now_ms() + offset.load(Ordering::SeqCst));
        xuncha_server::demo::seed_demo(&state).expect("seed");
        let running = xuncha_server::RunningServer::start(state.clone()).expect("start server");
        TestServer {
            url: running.url.clone(),
            state,
            _running: running,
            _dir: dir,
        }
    }
}

/// With `XUNCHA_TEST_BACKEND=postgres` (and the cluster `tests/services/postgres.sh` starts), a
/// fresh PostgreSQL database for one test server: the whole suite runs on both backends.
pub fn postgres_for_tests() -> Option<String> {
    if std::env::var("XUNCHA_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    let admin = std::env::var("XUNCHA_TEST_POSTGRES_URL")
        .expect("XUNCHA_TEST_BACKEND=postgres needs XUNCHA_TEST_POSTGRES_URL");
    let name = format!("xt_{}", uuid::Uuid::new_v4().simple());
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("admin connection");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// Run SQL that means the same on both backends against a test server's own database (to put
/// it in a state a crash would leave); the first column of the first row of a query, as a
/// number.
pub fn server_sql(server: &TestServer, sql: &str) -> i64 {
    match &server.state.config.database {
        xuncha_server::state::Database::Postgres(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            match c.query(sql, &[]).expect(sql).first() {
                Some(r) => r.try_get::<_, i64>(0).unwrap_or(0),
                None => 0,
            }
        }
        xuncha_server::state::Database::DataFolder => {
            let data = server.state.blob_dir.parent().expect("data dir");
            let c = rusqlite::Connection::open(data.join(xuncha_server::store::sqlite::DB_FILE))
                .expect("db");
            let mut st = c.prepare(sql).expect(sql);
            let mut rows = st.query([]).expect(sql);
            match rows.next().expect(sql) {
                Some(r) => r.get::<_, i64>(0).unwrap_or(0),
                None => 0,
            }
        }
    }
}

/// A phone: a store in its own folder, with a movable clock.
pub struct Device {
    pub store: Store,
    pub clock: Arc<AtomicI64>,
    _dir: TempDir,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Device {
    /// A fresh device whose clock is `skew_ms` off real time, signed in as `user` (password
    /// `demo`) and synced once (so it has the reference data).
    pub fn signed_in(server: &TestServer, user: &str, skew_ms: i64) -> Device {
        let d = Device::signed_in_unsynced(server, user, skew_ms);
        d.sync();
        d
    }

    /// As [`Device::signed_in`], but not synced yet (its first sync is the test's).
    pub fn signed_in_unsynced(server: &TestServer, user: &str, skew_ms: i64) -> Device {
        let dir = TempDir::new().expect("tmp");
        let clock = Arc::new(AtomicI64::new(skew_ms));
        let c = clock.clone();
        let store = Store::open_with(
            dir.path(),
            StoreOptions {
                clock: Some(Arc::new(move || now_ms() + c.load(Ordering::SeqCst))),
                ..StoreOptions::default()
            },
        )
        .expect("open device store");
        store
            .sign_in_remote(&server.url, user, "demo", "test phone")
            .expect("sign in");
        Device {
            store,
            clock,
            _dir: dir,
        }
    }

    /// The device's own database, opened beside its store (for tests of what it keeps).
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self._dir.path().join(xuncha_core::store::DB_FILE))
            .expect("device database")
    }

    pub fn sync(&self) -> SyncReport {
        self.try_sync().expect("sync")
    }

    pub fn try_sync(&self) -> xuncha_core::Result<SyncReport> {
        let opts = SyncOptions {
            attempts: 2,
            backoff: std::time::Duration::from_millis(10),
            ..SyncOptions::default()
        };
        self.store.sync(&opts, &mut |_| {}, &AtomicBool::new(false))
    }

    /// Report a case at a demo-city point, with one before-photo.
    pub fn report(&self, category: &str, seed: u64) -> uuid::Uuid {
        let mut r = report_at_demo_point(&format!("测试案件 {seed}"), vec![photo(seed)]);
        r.category = category.into();
        self.store.report(r).expect("report").case_id
    }

    /// [`Device::report`] at a point of the demo city's other district, 上城区 (cell g3).
    pub fn report_in_shangcheng(&self, category: &str, seed: u64) -> uuid::Uuid {
        let mut r = report_at_demo_point(&format!("测试案件 {seed}"), vec![photo(seed)]);
        r.category = category.into();
        r.location.lon = 120.1752;
        self.store.report(r).expect("report").case_id
    }
}

/// The file of a held photo when photos are kept in the server's local folder.
pub fn blob_file(state: &AppState, sha: &str) -> std::path::PathBuf {
    state.blob_dir.join(&sha[..2]).join(sha)
}

/// A report of category 0101 at a demo-city point (演示路 1 号) with these photos.
pub fn report_at_demo_point(description: &str, photos: Vec<PhotoInput>) -> NewReport {
    NewReport {
        category: "0101".into(),
        description: description.into(),
        location: Location {
            lat: 30.2552,
            lon: 120.1552,
            accuracy_m: Some(5.0),
            address: "演示路 1 号".into(),
        },
        site_id: None,
        campaign_id: None,
        undercover: false,
        photos,
    }
}

/// A small real JPEG (it decodes, so thumbnails work), distinct per seed.
pub fn photo_bytes(seed: u64) -> Vec<u8> {
    xuncha_core::store::photo_format::sample_jpeg(seed, 0)
}

/// A value from the server's `/metrics` (`name` with its labels, e.g.
/// `xuncha_thumbnail_decodes_total{outcome="ok"}`); 0 when absent.
pub fn metric(server: &TestServer, name: &str) -> u64 {
    let text = reqwest::blocking::Client::new()
        .get(format!("{}/metrics", server.url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// [`photo_bytes`] as a photo to attach.
pub fn photo(seed: u64) -> PhotoInput {
    PhotoInput::bytes(photo_bytes(seed))
}

/// Add an account (password `demo`) to the server's directory, as `create-user` does.
pub fn add_user(
    server: &TestServer,
    id: &str,
    name: &str,
    role: xuncha_core::workflow::Role,
    area: Option<&str>,
) {
    let hash = xuncha_server::auth::hash_password("demo").expect("hash");
    server
        .state
        .store
        .create_user(
            &xuncha_core::reference::User {
                id: id.into(),
                name: name.into(),
                role,
                unit_id: None,
                area_id: area.map(String::from),
            },
            &hash,
        )
        .expect("user");
}

/// An administrator scoped to 上城区 (`admin2`), as `create-user --area d2` makes one.
pub fn add_district_admin(server: &TestServer) {
    add_user(
        server,
        "admin2",
        "上城区管理员",
        xuncha_core::workflow::Role::Admin,
        Some("d2"),
    );
}
