//! Load, quick version: `xuncha-load` drives 40 phones at once for 5 seconds against a real
//! server on loopback; no sync may fail and no operation may be lost or duplicated. The long run
//! (300 phones, 60 seconds, release build) is in docs/reliability.md.

use std::process::Command;

use xuncha_server::{AppState, Config, RunningServer};

#[test]
fn forty_phones_at_once_fail_no_sync_and_lose_nothing() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let state = AppState::open(dir.path(), Config::default()).expect("server state");
    xuncha_server::seed_demo(&state).expect("seed");
    let server = RunningServer::start(state.clone()).expect("server");
    let out = Command::new(env!("CARGO_BIN_EXE_xuncha-load"))
        .args(["--server", &server.url, "--devices", "40", "--seconds", "5"])
        .args(["--think-ms", "300"])
        .output()
        .expect("run load driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "load run failed");
    assert!(stdout.contains("failed syncs: 0"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("lost: 0 duplicated: 0"),
        "{stdout}"
    );
}
