//! The device simulator against a real server: every operation of every simulated phone ends up
//! accepted exactly once or in that phone's rejection inbox.

use std::process::Command;

use xuncha_server::{AppState, Config, RunningServer};

#[test]
fn simulated_phones_lose_and_duplicate_nothing() {
    // The test command's cluster (nginx, three instances, PostgreSQL, a bucket) when it runs
    // one; else a server of this test's own.
    let cluster = std::env::var("XUNCHA_TEST_CLUSTER_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let dir = tempfile::TempDir::new().expect("tmp");
    let local = match &cluster {
        Some(_) => None,
        None => {
            let state = AppState::open(dir.path(), Config::default()).expect("server state");
            xuncha_server::demo::seed_demo(&state).expect("seed");
            let server = RunningServer::start(state.clone()).expect("server");
            Some((state, server))
        }
    };
    let url = match (&cluster, &local) {
        (Some(u), _) => u.clone(),
        (None, Some((_, server))) => server.url.clone(),
        (None, None) => unreachable!("one of the two"),
    };
    let out = Command::new(env!("CARGO_BIN_EXE_xuncha-sim"))
        .args([
            "--server",
            &url,
            "--inspectors",
            "3",
            "--units",
            "4",
            "--reports",
            "24",
        ])
        .args(["--offline-rounds", "3", "--seed", "7"])
        .output()
        .expect("run simulator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "simulator failed");
    assert!(
        stdout.trim_end().ends_with("lost: 0 duplicated: 0"),
        "{stdout}"
    );
    assert!(stdout.contains("cases: 24 reported"), "{stdout}");
    // The bus stops' round: every task submitted once (two phones per inspector race for each:
    // the loser's submission is in its inbox, which the audit above counts).
    assert!(stdout.contains("rounds: "), "{stdout}");
    let kept = stdout
        .lines()
        .find_map(|l| l.strip_prefix("rounds: "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|k| k.split(' ').next())
        .and_then(|k| k.parse::<usize>().ok());
    assert!(kept.is_some_and(|k| k >= 8), "{stdout}");
    assert!(
        stdout.contains("district view (西湖区)") && stdout.contains("equal to the server's: yes"),
        "{stdout}"
    );
    let district = stdout
        .lines()
        .find_map(|l| l.strip_prefix("district: "))
        .map(|l| {
            l.split(' ')
                .filter_map(|w| w.parse::<usize>().ok())
                .collect::<Vec<_>>()
        });
    assert!(
        district.is_some_and(|n| n.len() == 2 && n.iter().all(|x| *x > 0)),
        "urges and escalations made it: {stdout}"
    );
    if let Some((state, _)) = &local {
        assert!(state.store.stats().expect("stats").photos >= 24);
    }
}
