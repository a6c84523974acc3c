//! The change feed's order with several writers: two server instances on one database (run with
//! `XUNCHA_TEST_BACKEND=postgres` it is one PostgreSQL database, as in production) take reports
//! from eight phones at once, while a supervisor's desk pulls with its cursor the whole time.
//! Every report must reach the desk: a cursor that passed a change committing a moment later
//! would lose that case for good (a report is the only change of its case here).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use uuid::Uuid;

use crate::hardening::{Raw, report_body};
use crate::helpers::TestServer;

#[test]
fn a_cursor_never_passes_a_change_while_two_instances_write() {
    let server = TestServer::start();
    // A second instance on the same records (and the same photo folder).
    let second_state = xuncha_server::AppState::open(
        server.state.blob_dir.parent().expect("data dir"),
        server.state.config.clone(),
    )
    .expect("second instance");
    let second = xuncha_server::RunningServer::start(second_state).expect("start second");

    const WRITERS: usize = 8;
    const REPORTS: usize = 40;
    let done = Arc::new(AtomicBool::new(false));
    let desk = Raw::login(&server, "supervisor1", "feed-order-desk");
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut cursor = 0i64;
            let mut seen: HashSet<String> = HashSet::new();
            let mut pulls = 0;
            loop {
                // Read `done` before the pull: the pull after the last write sees everything.
                let finished = done.load(Ordering::SeqCst);
                let page: Value = client
                    .get(format!("{}/v1/pull?cursor={cursor}&limit=7", desk.url))
                    .bearer_auth(&desk.token)
                    .send()
                    .expect("pull")
                    .json()
                    .expect("page");
                pulls += 1;
                let next = page["cursor"].as_i64().expect("cursor");
                assert!(next >= cursor, "the cursor went back: {cursor} -> {next}");
                cursor = next;
                for c in page["changes"].as_array().expect("changes") {
                    if let Some(id) = c["data"]["case"]["id"].as_str() {
                        seen.insert(id.to_string());
                    }
                }
                if finished && page["has_more"] == false {
                    return (seen, pulls);
                }
            }
        })
    };
    let mut writers = Vec::new();
    let mut sent: Vec<Uuid> = Vec::new();
    for w in 0..WRITERS {
        let user = if w % 2 == 0 {
            "inspector1"
        } else {
            "inspector2"
        };
        let mut raw = Raw::login(&server, user, &format!("feed-order-{w}"));
        if w % 2 == 1 {
            raw.url = second.url.clone();
        }
        let cases: Vec<Uuid> = (0..REPORTS).map(|_| Uuid::now_v7()).collect();
        sent.extend(&cases);
        writers.push(std::thread::spawn(move || {
            for (i, case) in cases.into_iter().enumerate() {
                let lat = 30.25 + (w * REPORTS + i) as f64 * 0.001;
                let op = raw.op(
                    case,
                    report_body(lat, 120.15, format!("写入者 {w} 第 {i} 件")),
                );
                let r = raw.push(&[op]);
                assert_eq!(
                    r.results[0].status,
                    xuncha_core::sync::protocol::OpStatus::Accepted,
                    "{:?}",
                    r.results[0]
                );
            }
        }));
    }
    for w in writers {
        w.join().expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let (seen, pulls) = reader.join().expect("reader");
    let missing: Vec<&Uuid> = sent
        .iter()
        .filter(|id| !seen.contains(&id.to_string()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} reports never reached the desk ({pulls} pulls): {missing:?}",
        missing.len(),
        sent.len()
    );
    eprintln!(
        "feed order: {} reports from {WRITERS} phones on two instances, {pulls} pulls, none missed",
        sent.len()
    );
}
