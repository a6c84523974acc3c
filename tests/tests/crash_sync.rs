//! Crash safety of sync on the device: a child process (an inspector's phone) reports cases with
//! photos and syncs them against a real server, and is killed with SIGKILL at random moments —
//! inside local writes, pushes, chunked photo uploads and pulls — again and again on the same
//! store. After every kill the store opens and passes `PRAGMA integrity_check`; after the last,
//! one full sync leaves every operation the phone ever made on the server exactly once, nothing
//! pending, and every photo on the server with the right bytes.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use xuncha_core::Store;
use xuncha_core::store::sha256_hex;
use xuncha_core::sync::client::SyncOptions;
use xuncha_server::{AppState, Config, RunningServer};
use xuncha_tests::Rng;

fn trials() -> usize {
    std::env::var("XUNCHA_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

#[test]
fn a_phone_killed_during_sync_loses_and_duplicates_nothing() {
    let seed = std::env::var("XUNCHA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(Rng::seed_from_time);
    println!("crash-sync seed: {seed} (replay with XUNCHA_CRASH_SEED={seed})");
    let mut rng = Rng::new(seed);
    let dir = tempfile::TempDir::new().expect("tmp");
    let server_dir = dir.path().join("server");
    let phone_dir = dir.path().join("phone");
    let state = AppState::open(&server_dir, Config::default()).expect("server state");
    xuncha_server::demo::seed_demo(&state).expect("seed");
    let server = RunningServer::start(state.clone()).expect("server");

    let trials = trials();
    for trial in 0..trials {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-crash-syncer"))
            .arg(&server.url)
            .arg(&phone_dir)
            .arg(rng.next_u64().to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn phone");
        std::thread::sleep(Duration::from_millis(rng.range(30, 400)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if status.code().is_some() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("trial {trial}: the phone stopped by itself ({status}): {err}");
        }
        let store = Store::open(&phone_dir).expect("store opens after SIGKILL");
        store.integrity_check().expect("integrity_check ok");
    }

    // Back in signal for good: one sync finishes everything.
    let store = Store::open(&phone_dir).expect("store");
    let report = store
        .sync(
            &SyncOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("final sync");
    assert_eq!(store.pending_count().expect("pending"), 0);
    assert!(store.photos_to_upload().expect("photos").is_empty());
    assert!(store.rejections().expect("inbox").is_empty(), "all legal");

    // What the phone made: every event in its store (it only reports, and sees only its own).
    let phone_db = rusqlite::Connection::open(phone_dir.join("xuncha.db")).expect("phone db");
    let made: HashSet<String> = phone_db
        .prepare("SELECT op_id FROM events")
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("ops")
        .collect::<Result<_, _>>()
        .expect("ops");
    let photos: Vec<String> = phone_db
        .prepare("SELECT sha256 FROM photos")
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("photos")
        .collect::<Result<_, _>>()
        .expect("photos");

    let server_db =
        rusqlite::Connection::open(server_dir.join(xuncha_server::store::sqlite::DB_FILE))
            .expect("server db");
    let on_server: HashMap<String, i64> = server_db
        .prepare("SELECT op_id, COUNT(*) FROM events GROUP BY op_id")
        .expect("sql")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("events")
        .collect::<Result<_, _>>()
        .expect("events");
    let lost: Vec<&String> = made
        .iter()
        .filter(|op| !on_server.contains_key(*op))
        .collect();
    let duplicated: Vec<(&String, &i64)> = on_server.iter().filter(|(_, n)| **n > 1).collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    assert_eq!(
        on_server.len(),
        made.len(),
        "nothing on the server the phone did not make"
    );
    let integrity: String = server_db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(integrity, "ok");
    for sha in &photos {
        let path = server_dir.join("photos").join(&sha[..2]).join(sha);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("photo {sha}: {e}"));
        assert_eq!(&sha256_hex(&bytes), sha, "photo stored with wrong bytes");
    }
    println!(
        "trials: {trials} (each ended by SIGKILL), ops: {}, photos: {}, \
         last sync: {} pushed, {} photos; lost: 0 duplicated: 0",
        made.len(),
        photos.len(),
        report.accepted,
        report.photos_uploaded
    );
}
