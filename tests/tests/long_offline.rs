//! Long offline: a unit's phone takes ten cases, then works 30 simulated days with no signal —
//! acknowledging, commenting day after day, rectifying with after-photos: 500 operations in its
//! outbox. Meanwhile the office goes on with other cases, an admin changes the unit's password
//! (which revokes its token) and the token's 30-day life runs out anyway. Back in signal, the
//! phone is told to sign in again, keeps every operation, signs in with the new password and
//! syncs: all 500 accepted, none refused, none twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use uuid::Uuid;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput, StoreOptions};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::{Error, OpBody, Status, Store};
use xuncha_server::{AppState, Config, RunningServer};
use xuncha_tests::{Rng, jpeg_bytes, random_location};

const DAY: i64 = 86_400_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A phone whose clock reads real time plus the shared simulated offset.
fn phone(dir: &std::path::Path, url: &str, user: &str, offset: &Arc<AtomicI64>) -> Store {
    let o = offset.clone();
    let store = Store::open_with(
        dir,
        StoreOptions {
            clock: Some(Arc::new(move || now() + o.load(Ordering::SeqCst))),
            ..StoreOptions::default()
        },
    )
    .expect("open");
    store
        .sign_in_remote(url, user, "demo", "phone")
        .expect("sign in");
    sync(&store).expect("first sync");
    store
}

fn sync(store: &Store) -> xuncha_core::Result<xuncha_core::sync::client::SyncReport> {
    store.sync(
        &SyncOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
}

fn report(store: &Store, rng: &mut Rng) -> Uuid {
    store
        .report(NewReport {
            category: "0101".into(),
            description: "长期离线测试".into(),
            location: random_location(rng),
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 5_000))],
        })
        .expect("report")
        .case_id
}

fn ids(store: &Store, status: Status) -> Vec<Uuid> {
    store
        .list_cases(&CaseQuery {
            statuses: vec![status],
            limit: 1000,
            ..CaseQuery::default()
        })
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.case.id)
        .collect()
}

#[test]
fn thirty_days_offline_with_500_operations_loses_and_refuses_nothing() {
    let dir = tempfile::TempDir::new().expect("tmp");
    // One simulated offset for the server and every phone: days pass for everyone.
    let offset = Arc::new(AtomicI64::new(0));
    let mut state = AppState::open(&dir.path().join("server"), Config::default()).expect("state");
    let o = offset.clone();
    state.clock = Arc::new(move || now() + o.load(Ordering::SeqCst));
    xuncha_server::demo::seed_demo(&state).expect("seed");
    let server = RunningServer::start(state.clone()).expect("server");
    let url = server.url.clone();
    let mut rng = Rng::new(30);

    let inspector = phone(&dir.path().join("inspector"), &url, "inspector1", &offset);
    let office = phone(&dir.path().join("office"), &url, "supervisor1", &offset);
    let unit = phone(&dir.path().join("unit"), &url, "unit1", &offset);

    // Day 0: ten cases reach the unit.
    let cases: Vec<Uuid> = (0..10).map(|_| report(&inspector, &mut rng)).collect();
    sync(&inspector).expect("sync");
    sync(&office).expect("sync");
    for c in &cases {
        office
            .act(
                *c,
                OpBody::Register {
                    note: String::new(),
                },
                vec![],
            )
            .expect("register");
        office
            .act(
                *c,
                OpBody::Dispatch {
                    unit_id: "u1".into(),
                    deadline_ms: None,
                    note: String::new(),
                },
                vec![],
            )
            .expect("dispatch");
    }
    sync(&office).expect("sync");
    sync(&unit).expect("sync");
    assert_eq!(ids(&unit, Status::Dispatched).len(), 10);

    // 30 days with no signal on the unit's phone; the rest of the city goes on.
    let mut made = 0;
    for c in &cases {
        unit.act(
            *c,
            OpBody::Acknowledge {
                note: "收到".into(),
            },
            vec![],
        )
        .expect("acknowledge");
        made += 1;
    }
    for day in 1..=30 {
        offset.store(day * DAY, Ordering::SeqCst);
        // 16 notes a day: 480 in the month.
        for k in 0..16 {
            let c = cases[(k + day as usize) % cases.len()];
            unit.comment(c, &format!("第 {day} 天进展 {k}"), vec![])
                .expect("comment");
            made += 1;
        }
        if day == 10 {
            let hash = xuncha_server::auth::hash_password("new-secret").expect("hash");
            assert!(state.store.set_password("unit1", &hash).expect("password"));
        }
        if day % 7 == 0 {
            report(&inspector, &mut rng);
            sync(&inspector).expect("others sync");
            sync(&office).expect("others sync");
        }
    }
    for c in &cases {
        unit.act(
            *c,
            OpBody::Rectify {
                note: "已整改".into(),
                photos: vec![],
            },
            vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 40_000))],
        )
        .expect("rectify");
        made += 1;
    }
    assert_eq!(made, 500);
    assert_eq!(unit.pending_count().expect("pending"), 500);

    // Back in signal: told to sign in again, nothing dropped.
    let err = sync(&unit).expect_err("the token is revoked and expired");
    assert!(matches!(err, Error::AuthRequired), "{err:?}");
    assert_eq!(unit.pending_count().expect("pending"), 500);
    assert!(unit.sign_in_remote(&url, "unit1", "demo", "phone").is_err());
    unit.sign_in_remote(&url, "unit1", "new-secret", "phone")
        .expect("sign in with the new password");
    let r = sync(&unit).expect("sync after 30 days");
    assert_eq!((r.accepted, r.rejected), (500, 0));
    assert_eq!(r.photos_uploaded, 10);
    assert_eq!(unit.pending_count().expect("pending"), 0);
    assert!(unit.rejections().expect("inbox").is_empty());

    // The office (whose own token has also run out) sees all ten rectified, each with its whole
    // month of notes, once.
    assert!(matches!(sync(&office), Err(Error::AuthRequired)));
    office
        .sign_in_remote(&url, "supervisor1", "demo", "phone")
        .expect("sign in");
    sync(&office).expect("sync");
    assert_eq!(ids(&office, Status::Rectified).len(), 10);
    let notes: usize = cases
        .iter()
        .map(|c| office.case_detail(*c).expect("detail").timeline.len())
        .sum();
    assert_eq!(
        notes,
        10 * 3 + 500,
        "report, register, dispatch + the unit's 500"
    );
}
