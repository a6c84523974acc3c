//! Crash safety of the server: the real `xuncha-server` process is killed with SIGKILL while two
//! phones push batches and upload photos into it, then restarted on the same data folder, again
//! and again. After the last restart and one full sync per phone: every operation on the server
//! exactly once, nothing pending or refused, `PRAGMA integrity_check` ok on the server and on the
//! phones, and every stored photo with the bytes its name promises.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use xuncha_core::store::{NewReport, PhotoInput, sha256_hex};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::{Location, Store};

fn trials() -> usize {
    std::env::var("XUNCHA_SERVER_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_server(port: u16, data: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args([
            "demo",
            "--empty",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start on port {port}");
}

fn photo(seed: u64, len: usize) -> Vec<u8> {
    xuncha_core::store::photo_format::sample_jpeg(seed, len)
}

fn report(store: &Store, n: u64, with_photo: bool) {
    store
        .report(NewReport {
            category: "0101".into(),
            description: format!("服务器崩溃测试 {n}"),
            location: Location {
                lat: 30.25 + (n % 1000) as f64 * 0.001,
                lon: 120.15,
                accuracy_m: Some(5.0),
                address: String::new(),
            },
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: if with_photo {
                vec![PhotoInput::bytes(photo(n, 60_000))]
            } else {
                vec![]
            },
        })
        .expect("report");
}

/// Two phones (inspector1, inspector2) in `dir`, signed in to `url` and synced once.
fn two_phones(dir: &Path, url: &str) -> Vec<Store> {
    ["inspector1", "inspector2"]
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let s = Store::open(dir.join(format!("phone{i}"))).expect("phone");
            s.sign_in_remote(url, user, "demo", "phone")
                .expect("sign in");
            s.sync(
                &SyncOptions::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .expect("first sync");
            s
        })
        .collect()
}

/// Small batches and upload chunks and no retry, so kills land inside pushes and uploads.
fn crash_sync_options() -> SyncOptions {
    SyncOptions {
        push_batch: 20,
        upload_chunk: 16 * 1024,
        attempts: 1,
        ..SyncOptions::default()
    }
}

/// Every phone syncs while `victim` is SIGKILLed `after` into it; true if a sync was cut.
fn sync_then_kill(
    phones: &[Store],
    opts: &SyncOptions,
    after: Duration,
    victim: &mut Child,
) -> bool {
    std::thread::scope(|s| {
        let syncs: Vec<_> = phones
            .iter()
            .map(|p| s.spawn(|| p.sync(opts, &mut |_| {}, &AtomicBool::new(false))))
            .collect();
        std::thread::sleep(after);
        victim.kill().expect("SIGKILL");
        victim.wait().expect("wait");
        syncs
            .into_iter()
            .map(|t| t.join().expect("sync thread"))
            .any(|r| r.is_err())
    })
}

/// A seeded xorshift: numbers in `lo..hi`, the same sequence every run.
fn random_in(seed: u64) -> impl FnMut(u64, u64) -> u64 {
    let mut rng = seed;
    move |lo, hi| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        lo + rng % (hi - lo)
    }
}

/// The first column of every row of `sql` on a phone's database.
fn column(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn a_server_killed_during_batches_loses_and_duplicates_nothing() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let data = dir.path().join("server");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut server = start_server(port, &data);
    let phones = two_phones(dir.path(), &url);
    let opts = crash_sync_options();

    let trials = trials();
    let mut next = random_in(0x9E37_79B9_7F4A_7C15u64);
    let (mut n, mut interrupted) = (0u64, 0);
    for _ in 0..trials {
        for phone in &phones {
            for _ in 0..40 {
                n += 1;
                report(phone, n, n % 5 == 0);
            }
        }
        let kill_after = Duration::from_millis(next(5, 250));
        if sync_then_kill(&phones, &opts, kill_after, &mut server) {
            interrupted += 1;
        }
        server = start_server(port, &data);
    }

    for phone in &phones {
        phone
            .sync(
                &SyncOptions::default(),
                &mut |_| {},
                &AtomicBool::new(false),
            )
            .expect("final sync");
        assert_eq!(phone.pending_count().expect("pending"), 0);
        assert!(phone.photos_to_upload().expect("photos").is_empty());
        assert!(phone.rejections().expect("inbox").is_empty());
        phone.integrity_check().expect("phone integrity");
    }
    server.kill().expect("stop server");
    server.wait().expect("wait");

    let db = rusqlite::Connection::open(data.join(xuncha_server::store::sqlite::DB_FILE))
        .expect("server db");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(integrity, "ok");
    let on_server: HashMap<String, i64> = db
        .prepare("SELECT op_id, COUNT(*) FROM events GROUP BY op_id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("events")
        .collect::<Result<_, _>>()
        .expect("events");
    let mut made = HashSet::new();
    let mut photos = HashSet::new();
    for i in 0..phones.len() {
        let conn =
            rusqlite::Connection::open(dir.path().join(format!("phone{i}")).join("xuncha.db"))
                .expect("phone db");
        made.extend(column(&conn, "SELECT op_id FROM events"));
        photos.extend(column(&conn, "SELECT sha256 FROM photos"));
    }
    assert_eq!(made.len() as u64, n, "every report is an op on its phone");
    let lost = made
        .iter()
        .filter(|op| !on_server.contains_key(*op))
        .count();
    let duplicated = on_server.values().filter(|c| **c > 1).count();
    assert_eq!((lost, duplicated), (0, 0));
    assert_eq!(on_server.len(), made.len());
    for sha in &photos {
        let bytes = std::fs::read(data.join("photos").join(&sha[..2]).join(sha))
            .unwrap_or_else(|e| panic!("photo {sha}: {e}"));
        assert_eq!(&sha256_hex(&bytes), sha, "photo stored with wrong bytes");
    }
    println!(
        "server SIGKILLs: {trials} ({interrupted} interrupted a sync in flight), ops: {}, \
         photos: {}; lost: 0 duplicated: 0",
        made.len(),
        photos.len()
    );
}

/// A connection-level round-robin balancer on a free port: each client connection goes to the
/// next instance that accepts it (as nginx's upstream does); bytes are piped both ways.
fn balancer(ports: Vec<u16>) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind balancer");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for (i, client) in listener.incoming().enumerate() {
            let Ok(client) = client else { continue };
            let upstream = (0..ports.len())
                .find_map(|k| TcpStream::connect(("127.0.0.1", ports[(i + k) % ports.len()])).ok());
            let Some(upstream) = upstream else { continue };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                    let _ = from.shutdown(Shutdown::Read);
                });
            };
            if let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) {
                pipe(client, upstream);
                pipe(u2, c2);
            }
        }
    });
    port
}

/// An instance on the shared PostgreSQL database and bucket (`demo --empty` seeds the city the
/// first time).
fn start_instance(
    port: u16,
    db: &str,
    bucket: &str,
    endpoint: &str,
    seed: bool,
    dir: &Path,
) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xuncha-server"));
    if seed {
        cmd.args(["demo", "--empty"]);
    } else {
        cmd.arg("serve");
    }
    let mut child = cmd
        .args(["--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(dir)
        .args([
            "--database-url",
            db,
            "--photos",
            bucket,
            "--s3-endpoint",
            endpoint,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn instance");
    let url = format!("http://127.0.0.1:{port}/healthz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success()) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("instance did not start on port {port}");
}

/// Two instances on one PostgreSQL database and one S3 bucket behind a balancer; one of them is
/// SIGKILLed while phones push batches and upload photos through the balancer, then restarted,
/// again and again. The other carries on; after the last restart every operation is on the
/// server exactly once and every photo opens with the bytes its name promises. Needs
/// `XUNCHA_TEST_POSTGRES_URL` and `XUNCHA_TEST_S3_ENDPOINT` (the test command sets both).
#[test]
fn instances_killed_behind_a_balancer_lose_and_duplicate_nothing() {
    let (Some(admin), Some(endpoint)) = (
        std::env::var("XUNCHA_TEST_POSTGRES_URL")
            .ok()
            .filter(|s| !s.is_empty()),
        std::env::var("XUNCHA_TEST_S3_ENDPOINT")
            .ok()
            .filter(|s| !s.is_empty()),
    ) else {
        eprintln!("skipped: XUNCHA_TEST_POSTGRES_URL and XUNCHA_TEST_S3_ENDPOINT are not set");
        return;
    };
    let name = format!("xk_{}", uuid::Uuid::new_v4().simple());
    let mut pg = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    pg.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let db = format!(
        "{}/{name}",
        admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin)
    );
    let bucket = format!("s3://xuncha-test/{name}");
    let dir = tempfile::TempDir::new().expect("tmp");
    let ports = [free_port(), free_port()];
    let mut instances = vec![
        start_instance(
            ports[0],
            &db,
            &bucket,
            &endpoint,
            true,
            &dir.path().join("a"),
        ),
        start_instance(
            ports[1],
            &db,
            &bucket,
            &endpoint,
            false,
            &dir.path().join("b"),
        ),
    ];
    let url = format!("http://127.0.0.1:{}", balancer(ports.to_vec()));
    let phones = two_phones(dir.path(), &url);
    let opts = crash_sync_options();
    let trials = std::env::var("XUNCHA_INSTANCE_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10usize);
    let mut next = random_in(0x2545_F491_4F6C_DD1Du64);
    let (mut n, mut interrupted) = (0u64, 0);
    for _ in 0..trials {
        for phone in &phones {
            for _ in 0..30 {
                n += 1;
                report(phone, n, n % 4 == 0);
            }
        }
        let victim = next(0, 2) as usize;
        let kill_after = Duration::from_millis(next(5, 250));
        if sync_then_kill(&phones, &opts, kill_after, &mut instances[victim]) {
            interrupted += 1;
        }
        let sub = if victim == 0 { "a" } else { "b" };
        instances[victim] = start_instance(
            ports[victim],
            &db,
            &bucket,
            &endpoint,
            false,
            &dir.path().join(sub),
        );
    }
    let mut photos = HashSet::new();
    for phone in &phones {
        // A connection to a killed instance may still be in the phone's pool: a few tries.
        let mut synced = false;
        for _ in 0..5 {
            if phone
                .sync(
                    &SyncOptions::default(),
                    &mut |_| {},
                    &AtomicBool::new(false),
                )
                .is_ok()
                && phone.pending_count().expect("pending") == 0
                && phone.photos_to_upload().expect("photos").is_empty()
            {
                synced = true;
                break;
            }
        }
        assert!(synced, "a phone could not finish syncing");
        assert!(phone.rejections().expect("inbox").is_empty());
    }
    for i in 0..phones.len() {
        let conn =
            rusqlite::Connection::open(dir.path().join(format!("phone{i}")).join("xuncha.db"))
                .expect("phone db");
        photos.extend(column(&conn, "SELECT sha256 FROM photos"));
    }
    let mut check = postgres::Client::connect(&db, postgres::NoTls).expect("db");
    let rows = check
        .query("SELECT op_id, COUNT(*) FROM events GROUP BY op_id", &[])
        .expect("events");
    let duplicated = rows
        .iter()
        .filter(|r| r.try_get::<_, i64>(1).unwrap_or(0) > 1)
        .count();
    assert_eq!(duplicated, 0);
    assert_eq!(rows.len() as u64, n, "every report once on the server");
    // Every photo, through the balancer, with the bytes its name promises.
    let http = reqwest::blocking::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"user_id": "supervisor1", "password": "demo", "device_id": "kill-audit"}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    let token = login["token"].as_str().expect("token").to_string();
    for sha in &photos {
        let bytes = http
            .get(format!("{url}/v1/photos/{sha}"))
            .bearer_auth(&token)
            .send()
            .expect("photo")
            .bytes()
            .expect("bytes");
        assert_eq!(&sha256_hex(&bytes), sha, "photo {sha} with wrong bytes");
    }
    for mut i in instances {
        let _ = i.kill();
        let _ = i.wait();
    }
    println!(
        "instance SIGKILLs: {trials} ({interrupted} interrupted a sync in flight), ops: {n}, \
         photos: {}; lost: 0 duplicated: 0",
        photos.len()
    );
}
