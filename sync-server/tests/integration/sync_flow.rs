//! Devices and the server through whole flows: the case loop, scope, conflicts, clock skew,
//! expired tokens.

use uuid::Uuid;
use xuncha_core::store::CaseQuery;
use xuncha_core::{OpBody, Status, Store};

use crate::helpers::{Device, TestServer, photo};

fn act(d: &Device, case: Uuid, body: OpBody) {
    d.store.act(case, body, vec![]).expect("action");
}

fn dispatch(unit: &str) -> OpBody {
    OpBody::Dispatch {
        unit_id: unit.into(),
        deadline_ms: None,
        note: String::new(),
    }
}

fn status(d: &Device, case: Uuid) -> Option<Status> {
    d.store.case_detail(case).ok().map(|c| c.case.status)
}

fn timeline(store: &Store, case: Uuid) -> Vec<Uuid> {
    store
        .case_detail(case)
        .expect("detail")
        .timeline
        .iter()
        .map(|e| e.op.id)
        .collect()
}

fn ids(d: &Device) -> Vec<Uuid> {
    let mut v: Vec<Uuid> = d
        .store
        .list_cases(&CaseQuery {
            limit: 500,
            ..CaseQuery::default()
        })
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.case.id)
        .collect();
    v.sort();
    v
}

#[test]
fn the_whole_loop_reaches_every_device_identically() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let supervisor = Device::signed_in(&server, "supervisor1", 0);
    let unit = Device::signed_in(&server, "unit1", 0);

    // Offline: three reports with photos.
    let cases: Vec<Uuid> = (0..3).map(|i| inspector.report("0101", i)).collect();
    assert_eq!(inspector.store.pending_count().expect("pending"), 3);
    let r = inspector.sync();
    assert_eq!((r.accepted, r.rejected), (3, 0));
    assert_eq!(inspector.store.pending_count().expect("pending"), 0);

    supervisor.sync();
    assert_eq!(ids(&supervisor).len(), 3);
    let c = cases[0];
    act(
        &supervisor,
        c,
        OpBody::Register {
            note: String::new(),
        },
    );
    act(&supervisor, c, dispatch("u1"));
    supervisor.sync();
    let case_no = supervisor
        .store
        .case_detail(c)
        .expect("detail")
        .case
        .case_no;
    assert!(
        case_no.as_deref().is_some_and(|n| n.starts_with("XC")),
        "{case_no:?}"
    );

    unit.sync();
    assert_eq!(ids(&unit), vec![c], "the unit sees only its case");
    assert_eq!(
        timeline(&unit.store, c).len(),
        3,
        "arrives whole: report, register, dispatch"
    );
    // Offline rectification with an after-photo.
    act(
        &unit,
        c,
        OpBody::Acknowledge {
            note: String::new(),
        },
    );
    unit.store
        .act(
            c,
            OpBody::Rectify {
                note: "已清理".into(),
                photos: vec![],
            },
            vec![photo(100)],
        )
        .expect("rectify");
    unit.sync();

    supervisor.sync();
    assert_eq!(status(&supervisor, c), Some(Status::Rectified));
    act(
        &supervisor,
        c,
        OpBody::VerifyFail {
            reason: "仍有残留".into(),
            deadline_ms: None,
            photos: vec![],
        },
    );
    supervisor.sync();

    unit.sync();
    assert_eq!(status(&unit, c), Some(Status::Dispatched));
    act(
        &unit,
        c,
        OpBody::Acknowledge {
            note: String::new(),
        },
    );
    unit.store
        .act(
            c,
            OpBody::Rectify {
                note: "已彻底清理".into(),
                photos: vec![],
            },
            vec![photo(101)],
        )
        .expect("rectify again");
    unit.sync();
    supervisor.sync();
    act(
        &supervisor,
        c,
        OpBody::VerifyPass {
            note: String::new(),
            photos: vec![],
        },
    );
    supervisor.sync();

    for d in [&inspector, &unit, &supervisor] {
        d.sync();
    }
    let server_case = server
        .state
        .store
        .case(c)
        .expect("server case")
        .expect("exists");
    assert_eq!(server_case.status, Status::Closed);
    assert_eq!(server_case.rework_count, 1);
    let reference = timeline(&supervisor.store, c);
    assert_eq!(
        reference.len(),
        9,
        "report, register, dispatch, 2×(acknowledge, rectify), verify fail, verify pass"
    );
    for d in [&inspector, &unit, &supervisor] {
        let detail = d.store.case_detail(c).expect("detail");
        assert_eq!(detail.case, server_case, "device view equals the server");
        assert_eq!(timeline(&d.store, c), reference, "same timeline everywhere");
        assert_eq!(d.store.pending_count().expect("pending"), 0);
        assert!(d.store.rejections().expect("inbox").is_empty());
    }
    // Every photo reached the server intact: the supervisor's phone downloads each one.
    let photos = supervisor.store.case_detail(c).expect("detail").photos;
    assert_eq!(photos.len(), 3, "one before, two after");
    for p in photos {
        let path = supervisor
            .store
            .fetch_photo(&p.photo.sha256)
            .expect("download");
        let bytes = std::fs::read(path).expect("read");
        assert_eq!(xuncha_core::store::sha256_hex(&bytes), p.photo.sha256);
    }
    assert_eq!(
        server.state.store.stats().expect("stats").photos,
        5,
        "3 before + 2 after"
    );
}

#[test]
fn units_see_only_their_cases_and_drop_what_leaves() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let supervisor = Device::signed_in(&server, "supervisor1", 0);
    let unit1 = Device::signed_in(&server, "unit1", 0);
    let unit2 = Device::signed_in(&server, "unit2", 0);
    let a = inspector.report("0101", 1);
    let b = inspector.report("0503", 2);
    inspector.sync();
    supervisor.sync();
    for (c, u) in [(a, "u1"), (b, "u2")] {
        act(
            &supervisor,
            c,
            OpBody::Register {
                note: String::new(),
            },
        );
        act(&supervisor, c, dispatch(u));
    }
    supervisor.sync();
    unit1.sync();
    unit2.sync();
    assert_eq!(ids(&unit1), vec![a]);
    assert_eq!(ids(&unit2), vec![b]);
    // Unit 2 cannot act on unit 1's case even by pushing an op for it.
    assert!(unit2.store.case_detail(a).is_err());

    // Re-dispatch a: unit 1 drops it, unit 2 receives it whole.
    act(&supervisor, a, dispatch("u2"));
    supervisor.sync();
    unit1.sync();
    unit2.sync();
    assert!(ids(&unit1).is_empty(), "unit 1's device dropped the case");
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(ids(&unit2), both);
    assert_eq!(timeline(&unit2.store, a).len(), 4, "whole timeline");
}

#[test]
fn conflicting_redispatch_and_rectify_resolve_deterministically() {
    for redispatch_first in [true, false] {
        let server = TestServer::start();
        let inspector = Device::signed_in(&server, "inspector1", 0);
        let supervisor = Device::signed_in(&server, "supervisor1", 0);
        let unit = Device::signed_in(&server, "unit1", 0);
        let c = inspector.report("0101", 1);
        inspector.sync();
        supervisor.sync();
        act(
            &supervisor,
            c,
            OpBody::Register {
                note: String::new(),
            },
        );
        act(&supervisor, c, dispatch("u1"));
        supervisor.sync();
        unit.sync();
        act(
            &unit,
            c,
            OpBody::Acknowledge {
                note: String::new(),
            },
        );
        unit.sync();
        supervisor.sync();
        // Both offline: the supervisor re-dispatches, the unit rectifies.
        act(&supervisor, c, dispatch("u2"));
        unit.store
            .act(
                c,
                OpBody::Rectify {
                    note: "done".into(),
                    photos: vec![],
                },
                vec![photo(9)],
            )
            .expect("rectify offline");
        // Concurrent comments from both.
        supervisor
            .store
            .comment(c, "督查意见", vec![])
            .expect("comment");
        if redispatch_first {
            supervisor.sync();
            let r = unit.sync();
            assert_eq!(r.rejected, 1, "the rectify lost");
            let inbox = unit.store.rejections().expect("inbox");
            assert_eq!(inbox.len(), 1);
            assert_eq!(inbox[0].code, "not_in_scope");
            assert!(!inbox[0].reason.is_empty());
            assert!(ids(&unit).is_empty(), "the case left the unit");
            assert_eq!(status(&supervisor, c), Some(Status::Dispatched));
            let server_case = server.state.store.case(c).expect("case").expect("exists");
            assert_eq!(server_case.unit_id.as_deref(), Some("u2"));
        } else {
            unit.sync();
            let r = supervisor.sync();
            assert_eq!(
                (r.accepted, r.rejected),
                (1, 1),
                "the comment goes in, the re-dispatch loses"
            );
            let inbox = supervisor.store.rejections().expect("inbox");
            assert_eq!(inbox.len(), 1);
            assert_eq!(inbox[0].code, "illegal_transition");
            assert!(inbox[0].reason.contains("待核查"), "{}", inbox[0].reason);
            assert_eq!(
                status(&supervisor, c),
                Some(Status::Rectified),
                "the server's truth"
            );
            unit.sync();
            assert_eq!(ids(&unit), vec![c], "still the unit's case");
            let server_case = server.state.store.case(c).expect("case").expect("exists");
            assert_eq!(server_case.unit_id.as_deref(), Some("u1"));
        }
        // Whatever the order, every device ends on the server's state and timeline.
        supervisor.sync();
        let server_case = server.state.store.case(c).expect("case").expect("exists");
        assert_eq!(
            supervisor.store.case_detail(c).expect("detail").case,
            server_case
        );
    }
}

#[test]
fn concurrent_comments_both_survive() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let supervisor = Device::signed_in(&server, "supervisor1", 0);
    let c = inspector.report("0101", 1);
    inspector.sync();
    supervisor.sync();
    inspector
        .store
        .comment(c, "现场补充：堆了三天", vec![])
        .expect("comment");
    supervisor
        .store
        .comment(c, "已知悉", vec![])
        .expect("comment");
    inspector.sync();
    supervisor.sync();
    inspector.sync();
    for d in [&inspector, &supervisor] {
        let detail = d.store.case_detail(c).expect("detail");
        let comments = detail
            .timeline
            .iter()
            .filter(|e| matches!(e.op.body, OpBody::Comment { .. }))
            .count();
        assert_eq!(comments, 2);
    }
    assert_eq!(
        timeline(&inspector.store, c),
        timeline(&supervisor.store, c)
    );
}

#[test]
fn skewed_clocks_keep_their_own_order_and_the_server_time() {
    const DAY: i64 = 86_400_000;
    let server = TestServer::start();
    let behind = Device::signed_in(&server, "inspector1", -3 * DAY);
    let ahead = Device::signed_in(&server, "inspector2", 3 * DAY);
    for d in [&behind, &ahead] {
        let c = d.report("0101", 1);
        d.store
            .edit(
                c,
                xuncha_core::CaseEdit {
                    description: Some("第一次修改".into()),
                    ..Default::default()
                },
            )
            .expect("edit 1");
        d.store
            .edit(
                c,
                xuncha_core::CaseEdit {
                    description: Some("第二次修改".into()),
                    ..Default::default()
                },
            )
            .expect("edit 2");
        d.sync();
        let detail = d.store.case_detail(c).expect("detail");
        assert_eq!(detail.case.description, "第二次修改", "own order kept");
        let server_case = server.state.store.case(c).expect("case").expect("exists");
        assert_eq!(server_case.description, "第二次修改");
        let received = server_case.server_received_at_ms.expect("receipt time");
        let skew = d.clock.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (received - (server_case.reported_at_ms - skew)).abs() < 60_000,
            "device time and server time are both kept"
        );
        for e in &detail.timeline {
            assert!(e.server_time_ms.is_some());
            assert!((e.op.device_time_ms - e.server_time_ms.unwrap_or(0) - skew).abs() < 60_000);
        }
    }
}

#[test]
fn an_expired_token_costs_nothing_pending() {
    let server = TestServer::start_with(xuncha_server::Config {
        token_ttl_ms: 1,
        ..xuncha_server::Config::default()
    });
    let dir = tempfile::TempDir::new().expect("tmp");
    let store = Store::open(dir.path()).expect("open");
    store
        .sign_in_remote(&server.url, "inspector1", "demo", "phone")
        .expect("sign in");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let opts = xuncha_core::sync::client::SyncOptions::default();
    let err = store
        .sync(
            &opts,
            &mut |_| {},
            &std::sync::atomic::AtomicBool::new(false),
        )
        .expect_err("expired");
    assert_eq!(err.code(), "auth_required");
    assert!(err.to_string().contains("保留"));
    // Reference data never arrived, yet the outbox is intact and goes up after signing in again.
    assert_eq!(store.pending_count().expect("pending"), 0);
    assert!(
        store
            .sign_in_remote(&server.url, "inspector1", "wrong", "phone")
            .is_err()
    );
    assert_eq!(
        store.session().map(|s| s.user_id),
        Some("inspector1".to_string())
    );
}

#[test]
fn reports_near_an_open_case_of_the_same_category_are_flagged() {
    let server = TestServer::start();
    let a = Device::signed_in(&server, "inspector1", 0);
    let b = Device::signed_in(&server, "inspector2", 0);
    let supervisor = Device::signed_in(&server, "supervisor1", 0);
    let first = a.report("0101", 1);
    a.sync();
    let same = b.report("0101", 2);
    let other_kind = b.report("0503", 3);
    b.sync();
    supervisor.sync();
    let detail = |c| supervisor.store.case_detail(c).expect("detail").case;
    assert_eq!(
        detail(same).probable_duplicates,
        vec![first],
        "flagged for the supervisor"
    );
    assert!(detail(other_kind).probable_duplicates.is_empty());
    assert!(detail(first).probable_duplicates.is_empty());
    assert_eq!(
        detail(same).status,
        Status::Submitted,
        "a hint, never a merge"
    );
    // The reporter's own device learns it too, and a refold from its events agrees.
    b.sync();
    assert_eq!(
        b.store
            .case_detail(same)
            .expect("detail")
            .case
            .probable_duplicates,
        vec![first]
    );
}

/// A fresh phone catches up on whole cases in the order of their last change: each case once
/// however often it changed. A catch-up stopped halfway goes on the same way after another
/// device changed cases on both sides of where it stopped, and ends with exactly the server's
/// cases and timelines, then follows the feed.
#[test]
fn a_fresh_phone_catches_up_on_whole_cases_once_each() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use xuncha_core::sync::client::{SyncOptions, SyncPhase};
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let desk = Device::signed_in(&server, "supervisor1", 0);
    let cases: Vec<Uuid> = (0..6).map(|i| inspector.report("0101", 100 + i)).collect();
    inspector.sync();
    desk.sync();
    // Eighteen events: six reports, six registrations, six dispatches.
    for c in &cases {
        act(
            &desk,
            *c,
            OpBody::Register {
                note: String::new(),
            },
        );
    }
    for c in &cases {
        act(&desk, *c, dispatch("u1"));
    }
    desk.sync();
    let one_per_page = SyncOptions {
        pull_limit: 1,
        attempts: 2,
        backoff: std::time::Duration::from_millis(10),
        ..SyncOptions::default()
    };
    let same_as_server = |d: &Device| {
        for c in &cases {
            let on_phone = d.store.case_detail(*c).expect("on the phone");
            let on_server = server.state.store.case(*c).expect("read").expect("case");
            assert_eq!(on_phone.case, on_server, "{c}");
            let events = crate::helpers::server_sql(
                &server,
                &format!("SELECT COUNT(*) FROM events WHERE case_id = '{c}'"),
            );
            assert_eq!(on_phone.timeline.len() as i64, events, "{c}");
        }
    };

    let fresh = Device::signed_in_unsynced(&server, "supervisor1", 0);
    let report = fresh
        .store
        .sync(&one_per_page, &mut |_| {}, &AtomicBool::new(false))
        .expect("catch up");
    assert_eq!(report.changes, 6, "each case once, not once per event");
    same_as_server(&fresh);

    // Stopped after a few pages...
    let late = Device::signed_in_unsynced(&server, "supervisor1", 0);
    let cancel = AtomicBool::new(false);
    let stopped = late.store.sync(
        &one_per_page,
        &mut |p| {
            if p.phase == SyncPhase::Pull && p.done >= 2 {
                cancel.store(true, Ordering::SeqCst);
            }
        },
        &cancel,
    );
    assert!(stopped.is_err(), "cancelled halfway");
    let held = cases
        .iter()
        .filter(|c| late.store.case_detail(**c).is_ok())
        .count();
    assert!((1..6).contains(&held), "stopped halfway: {held} of 6");
    assert!(late.store.sync_state().expect("state").catching_up);
    // ...while the first case (already on the phone) and the last (not yet) change.
    for c in [cases[0], cases[5]] {
        act(
            &desk,
            c,
            OpBody::Comment {
                text: "请尽快处理".into(),
                photos: vec![],
            },
        );
    }
    desk.sync();
    late.store
        .sync(&one_per_page, &mut |_| {}, &AtomicBool::new(false))
        .expect("go on");
    same_as_server(&late);
    assert!(!late.store.sync_state().expect("state").catching_up);
    // Caught up, it follows the feed: one more event is one change.
    act(
        &desk,
        cases[2],
        OpBody::Comment {
            text: "复查".into(),
            photos: vec![],
        },
    );
    desk.sync();
    let next = late
        .store
        .sync(&one_per_page, &mut |_| {}, &AtomicBool::new(false))
        .expect("sync");
    assert_eq!(next.changes, 1);
    same_as_server(&late);
}

/// A case is numbered in the city's year, by the time zone of its calendar (reference data),
/// not a fixed UTC+8: at 20:00 UTC on New Year's Eve a city on UTC+8 is in the new year already,
/// a city on UTC is not.
#[test]
fn a_case_is_numbered_in_the_city_s_year() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;
    // 2026-12-31 20:00 UTC.
    let new_years_eve = 1_798_747_200_000_i64;
    for (utc_offset_minutes, year) in [(480, 2027), (0, 2026)] {
        let skew = new_years_eve - crate::helpers::now_ms();
        let server = TestServer::start_with_clock(
            xuncha_server::Config::default(),
            Arc::new(AtomicI64::new(skew)),
        );
        let mut city = server.state.store.reference().expect("reference").1;
        city.calendar.utc_offset_minutes = utc_offset_minutes;
        server.state.store.set_reference(&city).expect("city");
        let inspector = Device::signed_in(&server, "inspector1", skew);
        let desk = Device::signed_in(&server, "supervisor1", skew);
        let c = inspector.report("0101", 1);
        inspector.sync();
        desk.sync();
        act(
            &desk,
            c,
            OpBody::Register {
                note: String::new(),
            },
        );
        desk.sync();
        let no = desk.store.case_detail(c).expect("case").case.case_no;
        assert!(
            no.as_deref()
                .is_some_and(|n| n.starts_with(&format!("XC{year}-"))),
            "UTC{utc_offset_minutes:+} min: {no:?}"
        );
    }
}

/// The server finds nearby cases by grid cell (`cases.cell`, computed by the schema): the
/// column equals core's `geo::cell_of` on both backends, and two reports 20 m apart on either side
/// of a row or a column of cells are still flagged as probable duplicates.
#[test]
fn the_cell_column_equals_cores_cell() {
    use xuncha_core::geo::{LatLon, cell_of};
    let server = TestServer::start();
    let a = Device::signed_in(&server, "inspector1", 0);
    let b = Device::signed_in(&server, "inspector2", 0);
    let report = |d: &Device, lat: f64, lon: f64, seed: u64| -> Uuid {
        let mut r =
            crate::helpers::report_at_demo_point(&format!("井盖 {seed}"), vec![photo(seed)]);
        r.location.lat = lat;
        r.location.lon = lon;
        d.store.report(r).expect("report").case_id
    };
    // Across a row of cells (latitude 30.256), then across a column (longitude 120.156), and one
    // exactly on a corner.
    let pairs = [
        ((30.25591, 120.1552), (30.25609, 120.1552)),
        ((30.2542, 120.15591), (30.2542, 120.15609)),
        ((30.258, 120.158), (30.25809, 120.15809)),
    ];
    let mut firsts = Vec::new();
    for (i, (first, _)) in pairs.iter().enumerate() {
        firsts.push(report(&a, first.0, first.1, i as u64));
    }
    a.sync();
    let mut seconds = Vec::new();
    for (i, (_, second)) in pairs.iter().enumerate() {
        seconds.push(report(&b, second.0, second.1, 10 + i as u64));
    }
    b.sync();
    for (i, (first, second)) in pairs.iter().enumerate() {
        let dups = b
            .store
            .case_detail(seconds[i])
            .expect("detail")
            .case
            .probable_duplicates;
        assert_eq!(dups, vec![firsts[i]], "pair {i} across a cell edge");
        for (id, at) in [(firsts[i], first), (seconds[i], second)] {
            let stored = crate::helpers::server_sql(
                &server,
                &format!("SELECT cell FROM cases WHERE id = '{id}'"),
            );
            assert_eq!(
                stored,
                cell_of(LatLon {
                    lat: at.0,
                    lon: at.1
                }),
                "{at:?}"
            );
        }
    }
}

/// A device keeps the server's version of a case as a separate base only while it has work on
/// the case: none after a bootstrap, the server's version from the first offline action until
/// the server's answer comes back, and the view goes back to exactly that version when the
/// action is refused.
#[test]
fn the_servers_version_is_kept_as_a_base_only_while_the_device_works_on_a_case() {
    let server = TestServer::start();
    let inspector = Device::signed_in(&server, "inspector1", 0);
    let first = Device::signed_in(&server, "supervisor1", 0);
    let second = Device::signed_in(&server, "supervisor1", 0);
    let c = inspector.report("0101", 1);
    inspector.sync();
    first.sync();
    second.sync();
    let bases = |d: &Device| -> Vec<(String, i64, String)> {
        let db = d.db();
        let mut st = db
            .prepare("SELECT id, seq, doc FROM base_cases ORDER BY id")
            .expect("query");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("bases")
    };
    assert!(bases(&first).is_empty(), "nothing of its own: no base");
    let pulled = first.store.case_detail(c).expect("detail").case;
    // Both register the case offline; the second supervisor's push wins.
    let register = OpBody::Register {
        note: String::new(),
    };
    act(&first, c, register.clone());
    act(&second, c, register);
    let kept = bases(&first);
    assert_eq!(kept.len(), 1, "the first action keeps the server's version");
    let base: xuncha_core::Case = serde_json::from_str(&kept[0].2).expect("base doc");
    assert_eq!(
        (kept[0].0.as_str(), &base),
        (c.to_string().as_str(), &pulled)
    );
    assert_eq!(
        status(&first, c),
        Some(Status::Registered),
        "the view shows the action"
    );
    second.sync();
    let r = first.sync();
    assert_eq!(
        r.rejected, 1,
        "registered twice: the second register is refused"
    );
    assert!(
        bases(&first).is_empty(),
        "answered and pulled: no base left"
    );
    assert_eq!(
        first.store.case_detail(c).expect("detail").case,
        server.state.store.case(c).expect("case").expect("exists"),
        "the device ends on the server's version"
    );
}
