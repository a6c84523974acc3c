//! 督办 (issue 16): a supervisor escalates a case from its page with a note; the server's
//! deadline watch escalates a case its unit holds two working days past the deadline (the demo
//! city's setting), once per stretch and level, never twice for the same one (a second watch, a
//! second instance with a stale read); the boards list escalated and parked cases, and the
//! ranking counts escalations against the unit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use xuncha_core::calendar::DeadlineSpec;
use xuncha_core::workflow::{Action, Status};
use xuncha_server::Config;
use xuncha_server::watch::{owed_escalations, system_principal, watch_once};

use crate::console_kit::{console, get, status};
use crate::console_more::{act_now, dispatch, message, timeline_len, unit1_ranking_row};
use crate::helpers::{Device, TestServer, now_ms, photo, report_at_demo_point};

fn escalations(server: &TestServer, id: uuid::Uuid) -> u32 {
    server
        .state
        .store
        .case(id)
        .expect("case")
        .expect("exists")
        .escalations
}

#[test]
fn the_watch_escalates_a_late_case_once_per_stretch_and_a_supervisor_by_hand() {
    let offset = Arc::new(AtomicI64::new(0));
    let server = TestServer::start_with_clock(Config::default(), offset.clone());
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone
        .store
        .report(report_at_demo_point("督办 测试", vec![photo(1)]))
        .expect("report")
        .case_id;
    phone.sync();
    let sup = console(&server, "supervisor1");
    dispatch(&sup, &server, id, "u1");
    let deadline = server
        .state
        .store
        .case(id)
        .expect("case")
        .expect("exists")
        .deadline_ms
        .expect("deadline");
    let watch = |at: i64| {
        offset.store(at - now_ms(), Ordering::SeqCst);
        xuncha_server::blobs::block_on(watch_once(&server.state, at))
            .expect("watch")
            .escalated
    };
    assert_eq!(watch(now_ms()), 0, "not late");
    // Two working days past the deadline (the demo city's 0101 setting): to 西湖区.
    let cal = server.state.store.reference_index().calendar.clone();
    let first = cal.add(deadline, DeadlineSpec::Days(2)).expect("t1");
    assert_eq!(watch(first - 60_000), 0, "a minute short");
    let events = timeline_len(&server, id);
    assert_eq!(watch(first), 1);
    assert_eq!(escalations(&server, id), 1);
    assert_eq!(timeline_len(&server, id), events + 1);
    let last = server
        .state
        .store
        .timeline(id)
        .expect("timeline")
        .pop()
        .expect("event");
    assert_eq!(last.op.actor.user_id, "system");
    assert_eq!(last.op.body.action(), Action::Escalate);
    assert_eq!(status(&server, id), Status::Dispatched, "no status change");
    assert_eq!(watch(first + 60_000), 0, "once per stretch");

    // A second instance that read the case before the first escalated owes the same
    // escalation and makes the same operation: the push answers as before, applies nothing.
    assert!(
        owed_escalations(server.state.store.as_ref(), first)
            .expect("owed")
            .is_empty(),
        "nothing owed now"
    );
    let mut stale = server.state.store.case(id).expect("case").expect("exists");
    stale.escalations = 0;
    let index = server.state.store.reference_index();
    assert!(xuncha_core::escalation::due(&stale, &index, first));
    assert_eq!(last.op.id, xuncha_core::escalation::op_id(id, 1));
    let replay = last.op.clone();
    let results = server
        .state
        .store
        .push(
            &system_principal(),
            &[replay],
            first,
            &server.state.config.push_rules,
        )
        .expect("push");
    assert_eq!(results.len(), 1);
    assert_eq!(escalations(&server, id), 1, "not applied twice");
    assert_eq!(timeline_len(&server, id), events + 1);

    // By hand: 西湖区's supervisor sends it up to the city, with a note (required).
    let district = console(&server, "supervisor2");
    let (_, page) = get(&district, &server, &format!("/console/cases/{id}"));
    assert!(page.contains("data-action=\"escalate\""), "offered");
    let (s, _) = act_now(
        &district,
        &server,
        id,
        &[("action", "escalate"), ("text", " ")],
    );
    assert_eq!(s, 409, "a note is required");
    let (s, page) = act_now(
        &district,
        &server,
        id,
        &[
            ("action", "escalate"),
            ("text", "两次督办仍未整改，提请市创城办督办"),
        ],
    );
    assert_eq!(s, 303, "{}", message(&page));
    assert_eq!(escalations(&server, id), 2);
    // Nothing is above the city: the watch stops there, however late.
    let later = cal.add(first, DeadlineSpec::Days(20)).expect("later");
    assert_eq!(watch(later), 0);
    assert_eq!(escalations(&server, id), 2);
    // Unit staff do not escalate.
    let staff = console(&server, "unit1");
    let (_, page) = get(&staff, &server, &format!("/console/cases/{id}"));
    assert!(!page.contains("data-action=\"escalate\""));

    // The boards: escalated, with the level that supervises it now (signed in again: the
    // clock moved three weeks on).
    let sup = console(&server, "supervisor1");
    let (s, boards) = get(&sup, &server, "/console/boards");
    assert_eq!(s, 200, "{boards}");
    let escalated = boards
        .split("id=\"escalated\"")
        .nth(1)
        .and_then(|b| b.split("class=\"card\"").next())
        .expect("the escalated board");
    assert!(escalated.contains(&format!("/console/cases/{id}")));
    assert!(escalated.contains("督办 · 示范市"), "{escalated}");
    // The ranking counts both escalations against unit 1.
    let row = unit1_ranking_row(&sup, &server);
    assert!(row.contains("<td class=\"escalated\">2</td>"), "{row}");
    // Parked cases have their own board.
    let (s, page) = act_now(
        &sup,
        &server,
        id,
        &[("action", "park"), ("text", "涉及拆迁，暂缓")],
    );
    assert_eq!(s, 303, "{}", message(&page));
    let (_, boards) = get(&sup, &server, "/console/boards");
    let parked = boards
        .split("id=\"parked\"")
        .nth(1)
        .expect("the parked board");
    assert!(parked.contains(&format!("/console/cases/{id}")));
}
