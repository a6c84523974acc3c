//! The offline store on real SQLite files: reference data, reports with photos, every workflow
//! step, lists, bad input, schema versions.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tempfile::TempDir;
use xuncha_core::store::{CaseQuery, CaseSort, NewReport, PhotoInput, StoreOptions};
use xuncha_core::{Location, OpBody, Session, Status, Store};

use crate::fixtures::{city, jpeg, market, photo, sign_in, store_as};

fn report(store: &Store, category: &str, photos: Vec<PhotoInput>) -> uuid::Uuid {
    store
        .report(NewReport {
            category: category.into(),
            description: "市场北门垃圾堆放".into(),
            location: market(),
            site_id: Some("s-market".into()),
            campaign_id: Some("c1".into()),
            undercover: false,
            photos,
        })
        .expect("report")
        .case_id
}

fn count(store: &Store) -> (usize, usize) {
    let outbox = store.outbox().expect("outbox").len();
    let cases = store
        .list_cases(&CaseQuery {
            limit: 500,
            ..CaseQuery::default()
        })
        .expect("list")
        .items
        .len();
    (outbox, cases)
}

fn photo_files(store: &Store) -> usize {
    walk(&store.dir().join("photos"))
}

fn walk(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_store_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
    let dir = TempDir::new().expect("tmp");
    let s = Arc::new(store_as(dir.path(), "inspector1", "inspector", None));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    report(&s, if i % 2 == 0 { "0101" } else { "0503" }, vec![]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    let out = s.outbox().expect("outbox");
    assert_eq!(out.len(), 100);
    assert!(
        out.windows(2).all(|w| w[0].op.hlc < w[1].op.hlc),
        "HLC strictly increasing"
    );
}

#[test]
fn open_sets_up_wal_and_keeps_identity() {
    let dir = TempDir::new().expect("tmp");
    let id = {
        let s = Store::open(dir.path()).expect("open");
        s.device_id().to_string()
    };
    let s = Store::open(dir.path()).expect("reopen");
    assert_eq!(s.device_id(), id);
    let conn = rusqlite_conn(dir.path());
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "wal");
    s.integrity_check().expect("integrity");
}

fn rusqlite_conn(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(xuncha_core::store::DB_FILE)).expect("sqlite")
}

#[test]
fn a_newer_schema_is_refused_and_left_untouched() {
    let dir = TempDir::new().expect("tmp");
    drop(store_as(dir.path(), "inspector1", "inspector", None));
    let conn = rusqlite_conn(dir.path());
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    let err = Store::open(dir.path()).expect_err("newer schema must be refused");
    assert_eq!(err.code(), "schema_too_new");
    assert!(err.to_string().contains("升级"), "{err}");
    let conn = rusqlite_conn(dir.path());
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, 99, "the file was not changed");
    let units: i64 = conn
        .query_row("SELECT COUNT(*) FROM units", [], |r| r.get(0))
        .expect("units");
    assert_eq!(units, 2, "the data is still there");
}

#[test]
fn reference_queries() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "inspector1", "inspector", None);
    let tree = s.category_tree().expect("tree");
    assert_eq!(tree.len(), 2);
    assert_eq!(tree[0].class.name, "市容环境");
    assert_eq!(
        tree[0]
            .categories
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>(),
        ["0101", "0103"]
    );
    // Nearest first, within the radius.
    let near = s.sites_near(30.2502, 120.1500, 500.0, 10).expect("near");
    let ids: Vec<&str> = near.iter().map(|n| n.site.id.as_str()).collect();
    assert_eq!(ids, ["s-market", "s-alley"]);
    assert!(near[0].distance_m < near[1].distance_m);
    assert!(
        s.sites_near(30.2502, 120.1500, 10.0, 10)
            .expect("near")
            .len()
            <= 1
    );
    // Grids decide the owner unit.
    let g = s
        .locate(30.2498, 120.1501)
        .expect("locate")
        .expect("in a grid");
    assert_eq!(
        (g.grid_id.as_str(), g.owner_unit_id.as_deref()),
        ("g1", Some("u1"))
    );
    let g = s
        .locate(30.2530, 120.1501)
        .expect("locate")
        .expect("in a grid");
    assert_eq!(g.grid_id, "g2");
    assert!(s.locate(31.0, 121.0).expect("locate").is_none());
    assert_eq!(s.units().expect("units").len(), 2);
    let users = s.users().expect("users");
    assert_eq!(users.len(), 3);
    assert_eq!(users[2].unit_id.as_deref(), Some("u1"));
    assert_eq!(
        s.campaigns().expect("campaigns")[0].name,
        "农贸市场专项整治"
    );
    assert_eq!(
        s.sites_near(95.0, 0.0, 10.0, 1).err().map(|e| e.code()),
        Some("invalid_coordinates")
    );
}

#[test]
fn bad_reference_data_is_refused_whole() {
    let dir = TempDir::new().expect("tmp");
    let s = Store::open(dir.path()).expect("open");
    s.load_reference(&city()).expect("load");
    let mut bad = city();
    bad.categories[0].code = "1x01".into();
    assert_eq!(
        s.load_reference(&bad).err().map(|e| e.code()),
        Some("invalid_category_code")
    );
    let mut bad = city();
    bad.sites[0].owner_unit_id = Some("nope".into());
    assert_eq!(
        s.load_reference(&bad).err().map(|e| e.code()),
        Some("invalid_reference_data")
    );
    assert_eq!(
        s.load_reference_json("{\"categories\": 3}")
            .err()
            .map(|e| e.code()),
        Some("invalid_reference_data")
    );
    assert_eq!(s.category_tree().expect("tree").len(), 2, "old data kept");
}

#[test]
fn report_with_photos_is_stored_once_by_content() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "inspector1", "inspector", None);
    let bytes = jpeg(7, 50_000);
    let file = dir.path().join("camera.jpg");
    std::fs::write(&file, &bytes).expect("write");
    let id = report(
        &s,
        "0101",
        vec![
            PhotoInput::path(&file),
            PhotoInput::bytes(bytes.clone()),
            photo(8),
        ],
    );
    let d = s.case_detail(id).expect("detail");
    assert_eq!(d.case.status, Status::Submitted);
    assert_eq!(d.case.grid_id.as_deref(), Some("g1"));
    assert_eq!(
        d.case.suggested_unit_id.as_deref(),
        Some("u1"),
        "site owner"
    );
    assert_eq!(d.timeline.len(), 1);
    assert_eq!(d.photos.len(), 3);
    assert_eq!(d.photos[0].photo.sha256, d.photos[1].photo.sha256);
    let path = d.photos[0].path.clone().expect("photo on device");
    assert_eq!(
        std::fs::read(path).expect("read"),
        bytes,
        "exact bytes kept"
    );
    assert_eq!(photo_files(&s), 2, "same bytes stored once");
    // A second report with the same photo adds no file.
    report(&s, "0103", vec![PhotoInput::bytes(bytes)]);
    assert_eq!(photo_files(&s), 2);
    let outbox = s.outbox().expect("outbox");
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0].op.case_id, id);
    assert!(outbox[0].op.hlc < outbox[1].op.hlc);
    assert_eq!(outbox[0].op.id.get_version_num(), 7, "UUIDv7 op ids");
    assert_eq!(s.recompute_case(id).expect("fold"), d.case);
}

#[test]
fn bad_input_is_a_typed_error_and_writes_nothing() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "inspector1", "inspector", None);
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, b"this is not a photo at all").expect("write");
    let base = || NewReport {
        category: "0101".into(),
        description: "x".into(),
        location: market(),
        site_id: None,
        campaign_id: None,
        undercover: false,
        photos: vec![photo(1)],
    };
    let cases: Vec<(NewReport, &str)> = vec![
        (
            NewReport {
                category: "01-1".into(),
                ..base()
            },
            "invalid_category_code",
        ),
        (
            NewReport {
                category: "9999".into(),
                ..base()
            },
            "unknown_category",
        ),
        (
            NewReport {
                category: "".into(),
                ..base()
            },
            "missing_field",
        ),
        (
            NewReport {
                location: Location {
                    lat: 120.0,
                    lon: 30.0,
                    ..market()
                },
                ..base()
            },
            "invalid_coordinates",
        ),
        (
            NewReport {
                location: Location {
                    lon: f64::NAN,
                    ..market()
                },
                ..base()
            },
            "invalid_coordinates",
        ),
        (
            NewReport {
                photos: vec![photo(2), PhotoInput::path(dir.path().join("missing.jpg"))],
                ..base()
            },
            "photo_not_found",
        ),
        (
            NewReport {
                photos: vec![photo(3), PhotoInput::path(&text)],
                ..base()
            },
            "unsupported_photo_type",
        ),
        (
            NewReport {
                site_id: Some("nowhere".into()),
                ..base()
            },
            "not_found",
        ),
        (
            NewReport {
                campaign_id: Some("c9".into()),
                ..base()
            },
            "not_found",
        ),
    ];
    for (r, code) in cases {
        let err = s.report(r).expect_err(code);
        assert_eq!(err.code(), code, "{err}");
        assert!(!err.message(xuncha_core::Lang::En).is_empty());
    }
    assert_eq!(count(&s), (0, 0), "nothing written");
    assert_eq!(photo_files(&s), 0, "no photo file written");
    assert_eq!(
        Session::new("x", "boss", None).err().map(|e| e.code()),
        Some("unknown_role")
    );
    assert_eq!(
        Session::new("x", "unit_staff", None)
            .err()
            .map(|e| e.code()),
        Some("missing_field")
    );
    s.clear_session().expect("sign out");
    assert_eq!(
        s.report(base()).err().map(|e| e.code()),
        Some("not_signed_in")
    );
}

#[test]
fn the_whole_lifecycle_on_one_device() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "inspector1", "inspector", None);
    let id = report(&s, "0103", vec![photo(1)]);
    s.edit(
        id,
        xuncha_core::CaseEdit {
            description: Some("市场北门垃圾堆放，约两立方".into()),
            ..Default::default()
        },
    )
    .expect("reporter edits before registration");

    sign_in(&s, "supervisor1", "supervisor", None);
    s.act(
        id,
        OpBody::Register {
            note: String::new(),
        },
        vec![],
    )
    .expect("register");
    let before = s.now_ms();
    s.act(
        id,
        OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: None,
            note: "请尽快处理".into(),
        },
        vec![],
    )
    .expect("dispatch");
    let d = s.case_detail(id).expect("detail");
    let deadline = d
        .case
        .deadline_ms
        .expect("default deadline from the category");
    assert!(
        deadline > before + 24 * 3600 * 1000,
        "2 working days is more than a day"
    );

    // Another unit may not touch it.
    sign_in(&s, "unit9", "unit_staff", Some("u2"));
    let err = s
        .act(
            id,
            OpBody::Acknowledge {
                note: String::new(),
            },
            vec![],
        )
        .expect_err("foreign unit");
    assert_eq!(err.code(), "not_in_scope");

    sign_in(&s, "unit1", "unit_staff", Some("u1"));
    use xuncha_core::workflow::{Offer, Requirement as R};
    let offer = |action, inputs: &[R]| Offer {
        action,
        inputs: inputs.to_vec(),
    };
    // Each offer names what its form asks for; conditions (own unit, no pending request) are
    // the store's to check and are not asked for.
    assert_eq!(
        s.case_detail(id).expect("detail").allowed_actions,
        [
            offer(xuncha_core::Action::Acknowledge, &[]),
            offer(xuncha_core::Action::RequestReturn, &[R::Reason]),
            offer(
                xuncha_core::Action::RequestExtension,
                &[R::Reason, R::NewDeadline]
            ),
            offer(xuncha_core::Action::Comment, &[])
        ]
    );
    s.act(
        id,
        OpBody::Acknowledge {
            note: String::new(),
        },
        vec![],
    )
    .expect("ack");
    let outbox_len = s.outbox().expect("outbox").len();
    let err = s
        .act(
            id,
            OpBody::Rectify {
                note: "已清理".into(),
                photos: vec![],
            },
            vec![],
        )
        .expect_err("no after-photo");
    assert_eq!(err.code(), "requirement_missing");
    assert_eq!(
        s.outbox().expect("outbox").len(),
        outbox_len,
        "nothing written"
    );
    s.act(
        id,
        OpBody::Rectify {
            note: "已清理".into(),
            photos: vec![],
        },
        vec![photo(2)],
    )
    .expect("rectify");

    sign_in(&s, "supervisor1", "supervisor", None);
    s.act(
        id,
        OpBody::VerifyFail {
            reason: "仍有残留".into(),
            deadline_ms: None,
            photos: vec![],
        },
        vec![],
    )
    .expect("rework");
    sign_in(&s, "unit1", "unit_staff", Some("u1"));
    s.act(
        id,
        OpBody::Acknowledge {
            note: String::new(),
        },
        vec![],
    )
    .expect("ack again");
    s.act(
        id,
        OpBody::Rectify {
            note: "已彻底清理".into(),
            photos: vec![],
        },
        vec![photo(3)],
    )
    .expect("rectify again");
    sign_in(&s, "supervisor1", "supervisor", None);
    s.act(
        id,
        OpBody::VerifyPass {
            note: String::new(),
            photos: vec![],
        },
        vec![],
    )
    .expect("pass");

    let d = s.case_detail(id).expect("detail");
    assert_eq!(d.case.status, Status::Closed);
    assert_eq!(d.case.rework_count, 1);
    assert_eq!(d.case.description, "市场北门垃圾堆放，约两立方");
    let actions: Vec<&str> = d
        .timeline
        .iter()
        .map(|e| e.op.body.action().as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "report",
            "edit",
            "register",
            "dispatch",
            "acknowledge",
            "rectify",
            "verify_fail",
            "acknowledge",
            "rectify",
            "verify_pass"
        ]
    );
    let kinds: Vec<&str> = d.photos.iter().map(|p| p.photo.kind.as_str()).collect();
    assert_eq!(kinds, ["before", "after", "after"]);
    assert_eq!(
        s.outbox().expect("outbox").len(),
        10,
        "every action is an operation"
    );
    assert_eq!(
        s.recompute_case(id).expect("fold"),
        d.case,
        "the row is the fold of its events"
    );
    // A closed case: the inspector may no longer edit it.
    sign_in(&s, "inspector1", "inspector", None);
    let err = s
        .edit(
            id,
            xuncha_core::CaseEdit {
                description: Some("x".into()),
                ..Default::default()
            },
        )
        .expect_err("closed");
    assert_eq!(err.code(), "illegal_transition");
    assert!(err.message(xuncha_core::Lang::En).contains("closed"));
}

#[test]
fn lists_filter_sort_page_and_derive_overdue() {
    let dir = TempDir::new().expect("tmp");
    let now = Arc::new(AtomicI64::new(1_795_000_000_000));
    let clock = now.clone();
    let s = Store::open_with(
        dir.path(),
        StoreOptions {
            clock: Some(Arc::new(move || clock.load(Ordering::SeqCst))),
            ..StoreOptions::default()
        },
    )
    .expect("open");
    s.load_reference(&city()).expect("city");
    sign_in(&s, "inspector1", "inspector", None);
    let a = report(&s, "0101", vec![]);
    let b = report(&s, "0503", vec![]);
    let c = s
        .report(NewReport {
            category: "0101".into(),
            description: "后街小巷 50% 堆放_杂物".into(),
            location: market(),
            site_id: Some("s-alley".into()),
            campaign_id: None,
            undercover: true,
            photos: vec![],
        })
        .expect("report")
        .case_id;
    sign_in(&s, "supervisor1", "supervisor", None);
    for (id, unit, hours) in [(a, "u1", 3), (b, "u2", 1), (c, "u1", 2)] {
        s.act(
            id,
            OpBody::Register {
                note: String::new(),
            },
            vec![],
        )
        .expect("register");
        s.act(
            id,
            OpBody::Dispatch {
                unit_id: unit.into(),
                deadline_ms: Some(now.load(Ordering::SeqCst) + hours * 3_600_000),
                note: String::new(),
            },
            vec![],
        )
        .expect("dispatch");
    }
    let ids = |q: CaseQuery| -> Vec<uuid::Uuid> {
        s.list_cases(&q)
            .expect("list")
            .items
            .into_iter()
            .map(|i| i.case.id)
            .collect()
    };
    assert_eq!(ids(CaseQuery::default()), [b, c, a], "by deadline");
    assert_eq!(
        ids(CaseQuery {
            sort: CaseSort::LastChange,
            ..CaseQuery::default()
        }),
        [c, b, a]
    );
    assert_eq!(
        ids(CaseQuery {
            unit_id: Some("u1".into()),
            ..CaseQuery::default()
        }),
        [c, a]
    );
    assert_eq!(
        ids(CaseQuery {
            category: Some("0503".into()),
            ..CaseQuery::default()
        }),
        [b]
    );
    assert_eq!(
        ids(CaseQuery {
            site_id: Some("s-alley".into()),
            ..CaseQuery::default()
        }),
        [c]
    );
    assert_eq!(
        ids(CaseQuery {
            reporter_id: Some("nobody".into()),
            ..CaseQuery::default()
        })
        .len(),
        0
    );
    assert_eq!(
        ids(CaseQuery {
            text: Some("50%".into()),
            ..CaseQuery::default()
        }),
        [c]
    );
    assert_eq!(
        ids(CaseQuery {
            text: Some("_杂".into()),
            ..CaseQuery::default()
        }),
        [c]
    );
    assert_eq!(
        ids(CaseQuery {
            text: Some("%".into()),
            ..CaseQuery::default()
        }),
        [c],
        "% is literal"
    );
    assert!(
        ids(CaseQuery {
            statuses: vec![Status::Closed],
            ..CaseQuery::default()
        })
        .is_empty()
    );
    assert_eq!(
        ids(CaseQuery {
            overdue: Some(true),
            ..CaseQuery::default()
        })
        .len(),
        0
    );
    // Time passes: overdue is derived from the clock, nothing is stored.
    now.fetch_add(2 * 3_600_000 + 1, Ordering::SeqCst);
    assert_eq!(
        ids(CaseQuery {
            overdue: Some(true),
            ..CaseQuery::default()
        }),
        [b, c]
    );
    assert_eq!(
        ids(CaseQuery {
            overdue: Some(false),
            ..CaseQuery::default()
        }),
        [a]
    );
    let page = s
        .list_cases(&CaseQuery {
            limit: 2,
            ..CaseQuery::default()
        })
        .expect("page");
    assert!(page.has_more && page.items.len() == 2 && page.items[0].overdue);
    let page = s
        .list_cases(&CaseQuery {
            limit: 2,
            offset: 2,
            ..CaseQuery::default()
        })
        .expect("page");
    assert!(!page.has_more && page.items.len() == 1);
}

#[test]
fn hlc_survives_restart_with_the_clock_set_back() {
    let dir = TempDir::new().expect("tmp");
    let first_hlc = {
        let s = store_as(dir.path(), "inspector1", "inspector", None);
        report(&s, "0101", vec![]);
        s.outbox().expect("outbox")[0].op.hlc
    };
    let s = Store::open_with(
        dir.path(),
        StoreOptions {
            clock: Some(Arc::new(|| 1_000_000_000_000)),
            ..StoreOptions::default()
        },
    )
    .expect("reopen with clock set back years");
    report(&s, "0101", vec![]);
    let out = s.outbox().expect("outbox");
    assert!(out[1].op.hlc > first_hlc);
    assert_eq!(
        out[1].op.device_time_ms, 1_000_000_000_000,
        "device time kept as it was"
    );
}

#[test]
fn explicit_deadline_in_the_past_is_refused() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "supervisor1", "supervisor", None);
    let id = report(&s, "0101", vec![]);
    s.act(
        id,
        OpBody::Register {
            note: String::new(),
        },
        vec![],
    )
    .expect("register");
    let err = s
        .act(
            id,
            OpBody::Dispatch {
                unit_id: "u1".into(),
                deadline_ms: Some(1),
                note: String::new(),
            },
            vec![],
        )
        .expect_err("past");
    assert_eq!(err.code(), "invalid_field");
    let err = s
        .act(
            id,
            OpBody::Dispatch {
                unit_id: "u404".into(),
                deadline_ms: None,
                note: String::new(),
            },
            vec![],
        )
        .expect_err("unknown unit");
    assert_eq!(err.code(), "not_found");
    assert_eq!(
        s.case_detail(id).expect("detail").case.status,
        Status::Registered
    );
}

/// Search finds Chinese words inside descriptions and addresses through the bigram index
/// (xuncha_core::search), and keeps finding a case as it changes.
#[test]
fn search_finds_chinese_substrings_of_descriptions_and_addresses() {
    let dir = TempDir::new().expect("tmp");
    let s = store_as(dir.path(), "inspector1", "inspector", None);
    let new = |description: &str, address: &str| {
        let mut at = market();
        at.address = address.into();
        s.report(NewReport {
            category: "0101".into(),
            description: description.into(),
            location: at,
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![],
        })
        .expect("report")
        .case_id
    };
    let a = new("人民路公交站台旁井盖缺失", "人民路 18 号");
    let b = new("公交车站牌破损", "解放路公交站台");
    let c = new("井 盖 字样", "文化路");
    let found = |text: &str| -> Vec<uuid::Uuid> {
        let mut v: Vec<_> = s
            .list_cases(&CaseQuery {
                text: Some(text.into()),
                ..CaseQuery::default()
            })
            .expect("search")
            .items
            .into_iter()
            .map(|i| i.case.id)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<uuid::Uuid>| {
        v.sort();
        v
    };
    assert_eq!(
        found("井盖"),
        vec![a],
        "inside a description, not across a space"
    );
    assert_eq!(
        found("公交站台"),
        sorted(vec![a, b]),
        "description or address"
    );
    assert_eq!(found("站台井盖"), Vec::<uuid::Uuid>::new());
    assert_eq!(found("18 号"), vec![a], "several words: all of them");
    assert_eq!(
        found("井"),
        sorted(vec![a, c]),
        "one character: still found (a scan)"
    );
    // Still found after the case changes.
    s.act(
        a,
        OpBody::Comment {
            text: "已核实".into(),
            photos: vec![],
        },
        vec![],
    )
    .expect("comment");
    assert_eq!(found("井盖"), vec![a]);
    // An edited text is found by its new words only (the index entry is rewritten).
    s.edit(
        c,
        xuncha_core::CaseEdit {
            description: Some("路面塌陷".into()),
            ..Default::default()
        },
    )
    .expect("edit");
    assert_eq!(found("塌陷"), vec![c]);
    assert_eq!(found("字样"), Vec::<uuid::Uuid>::new());
    assert_eq!(found("井"), vec![a], "the scan sees the new text too");
}
