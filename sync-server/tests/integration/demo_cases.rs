//! The demo city's sample cases: a week of cases in every state, made through the real push path,
//! that phones then pull like any other and the console shows.

use xuncha_core::workflow::Status;

use crate::helpers::{Device, TestServer, now_ms};

#[test]
fn the_demo_week_has_cases_in_every_state_and_phones_receive_them() {
    let server = TestServer::start();
    let state = &server.state;
    let made = xuncha_server::demo::cases::seed_cases(state, now_ms()).expect("seed the week");
    assert_eq!(made, 16);
    assert_eq!(
        xuncha_server::demo::cases::seed_cases(state, now_ms()).expect("again"),
        0,
        "a city that has cases is left alone"
    );
    let cases = state.store.cases(&[], None, 100).expect("cases");
    assert_eq!(cases.len(), 16);
    let count = |s: Status| cases.iter().filter(|c| c.status == s).count();
    for s in [
        Status::Submitted,
        Status::Registered,
        Status::Dispatched,
        Status::InProgress,
        Status::Rectified,
        Status::Closed,
        Status::Rejected,
    ] {
        assert!(count(s) > 0, "a sample case in {s:?}");
    }
    assert_eq!(count(Status::Closed), 2);
    assert_eq!(count(Status::Parked), 1, "one 挂账 for the boards");
    assert!(
        cases.iter().any(|c| c.rework_count == 1),
        "one was sent back once"
    );
    assert!(
        cases.iter().any(|c| c.is_overdue(now_ms())),
        "some are overdue, for the boards"
    );
    assert!(
        cases.iter().any(|c| !c.probable_duplicates.is_empty()),
        "the queue shows a probable duplicate"
    );
    // 督办: one by 西湖区's supervisor, and the server's own for cases left two working days
    // past their deadlines, each once, by the system actor.
    let escalators: Vec<String> = cases
        .iter()
        .filter(|c| c.escalations > 0)
        .flat_map(|c| state.store.timeline(c.id).expect("timeline"))
        .filter(|e| e.op.body.action() == xuncha_core::workflow::Action::Escalate)
        .map(|e| e.op.actor.user_id)
        .collect();
    assert!(
        escalators.iter().any(|u| u == "supervisor2"),
        "{escalators:?}"
    );
    assert!(escalators.iter().any(|u| u == "system"), "{escalators:?}");
    let again =
        xuncha_server::watch::owed_escalations(state.store.as_ref(), now_ms()).expect("owed");
    assert!(again.is_empty(), "nothing more is owed right after seeding");
    // unit1 opens the demo with notices: its dispatches, and deadline warnings.
    let kinds: std::collections::HashSet<_> = state
        .store
        .latest_notices("unit1", 100)
        .expect("notices")
        .iter()
        .map(|n| n.kind)
        .collect();
    for kind in [
        xuncha_core::notify::NoticeKind::Dispatched,
        xuncha_core::notify::NoticeKind::Urged,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(
        state.store.unread_notices("unit1").expect("unread") >= 2,
        "a list for unit1"
    );
    // Units with staff and without are urged (催办), so unit1's morning has its urged heading.
    let urged: Vec<String> = cases
        .iter()
        .flat_map(|c| state.store.timeline(c.id).expect("timeline"))
        .filter(|e| e.op.body.action() == xuncha_core::workflow::Action::Urge)
        .map(|e| e.op.actor.user_id)
        .collect();
    assert!(urged.len() >= 2, "{urged:?}");
    let days: std::collections::BTreeSet<i64> = cases
        .iter()
        .map(|c| c.server_received_at_ms.expect("received") / 86_400_000)
        .collect();
    assert!(days.len() >= 5, "spread over the week: {days:?}");
    // Every photo is stored and readable, and unit 1's phone pulls its cases with them.
    let unit = Device::signed_in(&server, "unit1", 0);
    let held = unit
        .store
        .list_cases(&xuncha_core::store::CaseQuery::default())
        .expect("list");
    assert!(!held.items.is_empty());
    assert!(
        held.items
            .iter()
            .all(|i| i.case.unit_id.as_deref() == Some("u1"))
    );
    for item in &held.items {
        let detail = unit.store.case_detail(item.case.id).expect("detail");
        let photos: Vec<_> = detail
            .timeline
            .iter()
            .flat_map(|e| e.op.body.photos().to_vec())
            .collect();
        assert!(!photos.is_empty(), "each case has its before-photo");
        for p in photos {
            let path = crate::helpers::blob_file(state, &p.sha256);
            let bytes = std::fs::read(&path).expect("photo stored");
            assert_eq!(xuncha_core::store::sha256_hex(&bytes), p.sha256);
        }
    }
}

#[test]
fn the_nearby_search_follows_a_case_whose_place_is_corrected() {
    use xuncha_core::geo::LatLon;
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone.report("0101", 1);
    phone.sync();
    let first = server.state.store.case(id).expect("read").expect("case");
    let here = LatLon {
        lat: first.location.lat,
        lon: first.location.lon,
    };
    let near = |at: LatLon| {
        server
            .state
            .store
            .cases_near(&[at], 30.0, &[], 10)
            .expect("near")
            .iter()
            .any(|c| c.id == id)
    };
    assert!(near(here));
    // The inspector corrects the place by 300 m (own report, not yet registered).
    let moved = xuncha_core::Location {
        lat: here.lat + 0.0027,
        ..first.location.clone()
    };
    phone
        .store
        .edit(
            id,
            xuncha_core::CaseEdit {
                location: Some(moved.clone()),
                ..Default::default()
            },
        )
        .expect("edit");
    phone.sync();
    assert!(!near(here), "gone from the old place");
    assert!(near(LatLon {
        lat: moved.lat,
        lon: moved.lon
    }));
}

/// The writer keeps the search index with the cases: a report edited before its first push (both
/// in one group) and edited again later is found by its newest words and no longer by the old.
#[test]
fn the_text_search_follows_a_case_whose_description_is_edited() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let id = phone.report("0101", 1);
    let edit = |description: &str| {
        phone
            .store
            .edit(
                id,
                xuncha_core::CaseEdit {
                    description: Some(description.into()),
                    ..Default::default()
                },
            )
            .expect("edit");
    };
    edit("公交站台旁垃圾成堆");
    phone.sync();
    let found = |text: &str| {
        server
            .state
            .store
            .search_cases(text, &Default::default(), 10)
            .expect("search")
            .iter()
            .any(|c| c.id == id)
    };
    assert!(found("公交站台"));
    edit("井盖缺失");
    phone.sync();
    assert!(found("井盖缺失"), "found by the new words");
    assert!(!found("公交站台"), "not by the old ones");
}
