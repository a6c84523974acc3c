//! Load, quick version: `xuncha-load` drives 40 phones at once for 5 seconds against a real
//! server on loopback, as device stores and as light phones; no sync may fail and no operation
//! may be lost or duplicated, and the server's own CPU and memory are read from `/proc`. The
//! long runs (300 and 1,000 phones, 60 seconds, release build) are in docs/reliability.md.

use std::process::Command;

use xuncha_server::{AppState, Config, RunningServer};

#[test]
fn forty_phones_at_once_fail_no_sync_and_lose_nothing() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let state = AppState::open(dir.path(), Config::default()).expect("server state");
    xuncha_server::demo::seed_demo(&state).expect("seed");
    let server = RunningServer::start(state.clone()).expect("server");
    // The server runs in this process: its /proc is ours.
    let pid = std::process::id().to_string();
    for light in [false, true] {
        let mut run = Command::new(env!("CARGO_BIN_EXE_xuncha-load"));
        run.args(["--server", &server.url, "--devices", "40", "--seconds", "5"])
            .args(["--pause-ms", "0-300", "--server-pid", &pid]);
        if light {
            run.arg("--light");
        }
        let out = run.output().expect("run load driver");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{stdout}{stderr}");
        assert!(out.status.success(), "load run failed (light: {light})");
        assert!(stdout.contains("failed syncs: 0"), "{stdout}");
        assert!(stdout.contains("lost: 0 duplicated: 0"), "{stdout}");
        assert!(stdout.contains("ms CPU per sync, peak RSS"), "{stdout}");
    }
}
