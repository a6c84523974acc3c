//! Convergence, property-based: 4–7 devices of mixed roles (one a district supervisor) act offline on shared cases, sync in
//! random interleavings (some only push, some re-send a batch the server already answered), and
//! at the end
//! - every device's cases are exactly the server's cases in its scope, field for field;
//! - every case's timeline is in the same order on every device that holds it as on the server;
//! - every operation any device made is on the server exactly once, or in that device's
//!   rejection inbox (never both, never neither), and no outbox holds anything — site checks and
//!   re-checks of inspection rounds (planned and closed by the office through the console's
//!   forms as the run goes) included: kept on their tasks once, their raised cases on the server
//!   and on the inspectors' phones, every phone's tasks as the server has them.
//!
//! A real server (real HTTP, real SQLite file) and real device stores per case; with
//! `XUNCHA_TEST_CLUSTER_URL` (the test command sets it) the same run goes through nginx to three
//! server instances on one PostgreSQL database and one bucket. Failing inputs
//! are kept by proptest in `tests/tests/proptest-regressions/convergence.txt` and replayed first.
//! `PROPTEST_CASES=200 cargo test --release -p xuncha-tests --test convergence` for a long run.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use uuid::Uuid;
use xuncha_core::Store;
use xuncha_core::model::{Case, CaseEdit, Event, Op, OpBody};
use xuncha_core::reference::ReferenceIndex;
use xuncha_core::scope::Reach;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::sync::protocol::{Change, PullResponse};
use xuncha_core::workflow::Action;
use xuncha_server::{AppState, Config, RunningServer};
use xuncha_tests::{Rng, TAXONOMY, body_for, jpeg_bytes, random_location};

/// Who a device may be. Two devices may be the same person (a supervisor at a desk and on a
/// phone), which is where conflicts come from.
/// `supervisor2` is scoped to the demo city's district 西湖区: cases move in and out of their
/// reach as places are corrected and cases re-dispatched.
const PEOPLE: [&str; 6] = [
    "inspector1",
    "inspector2",
    "supervisor1",
    "unit1",
    "unit2",
    "supervisor2",
];

/// Actions that move a case along its lifecycle.
const FORWARD: [Action; 8] = [
    Action::Register,
    Action::Dispatch,
    Action::Acknowledge,
    Action::Rectify,
    Action::VerifyPass,
    Action::VerifyFail,
    Action::GrantReturn,
    Action::GrantExtension,
];

#[derive(Debug, Clone)]
enum Step {
    /// An inspector device reports a case (other roles skip).
    Report { device: usize },
    /// A device takes one of the actions its role may take now on one of its cases.
    Act { device: usize, pick: u64 },
    /// A device comments on one of its cases.
    Comment { device: usize, pick: u64 },
    /// A supervisor's device corrects the place of one of its cases (it may move to the other
    /// district, into or out of `supervisor2`'s reach).
    Move { device: usize, pick: u64 },
    /// Push, upload, pull.
    Sync { device: usize },
    /// Push only (a weak link).
    PushOnly { device: usize },
    /// Send the device's last pushed batch again, as a retry whose answer was lost.
    Replay { device: usize },
    /// Every device syncs, in order (everyone back in signal).
    Everyone,
    /// The office plans a round through the console: the city's bus stops, or a 回头看 of the
    /// cases closed so far, for one-person teams of the inspectors and the city's supervisor.
    Plan { recheck: bool },
    /// A device fills one of its open tasks (a checklist or a re-check), offline.
    Check { device: usize, pick: u64 },
    /// The office closes the oldest open round (checks still on phones are refused).
    CloseRound,
}

fn step() -> impl Strategy<Value = Step> {
    let device = 0usize..6;
    prop_oneof![
        2 => device.clone().prop_map(|device| Step::Report { device }),
        9 => (device.clone(), any::<u64>()).prop_map(|(device, pick)| Step::Act { device, pick }),
        1 => (device.clone(), any::<u64>()).prop_map(|(device, pick)| Step::Comment { device, pick }),
        1 => (device.clone(), any::<u64>()).prop_map(|(device, pick)| Step::Move { device, pick }),
        6 => device.clone().prop_map(|device| Step::Sync { device }),
        1 => device.clone().prop_map(|device| Step::PushOnly { device }),
        1 => device.clone().prop_map(|device| Step::Replay { device }),
        2 => Just(Step::Everyone),
        1 => any::<bool>().prop_map(|recheck| Step::Plan { recheck }),
        3 => (device, any::<u64>()).prop_map(|(device, pick)| Step::Check { device, pick }),
        1 => Just(Step::CloseRound),
    ]
}

struct Phone {
    user: &'static str,
    store: Store,
    token: String,
    /// Every operation this device made.
    made: HashSet<Uuid>,
    /// The last batch it pushed.
    last_batch: Vec<Op>,
    _dir: tempfile::TempDir,
}

impl Phone {
    fn sync(&mut self, pull: bool) -> Result<(), TestCaseError> {
        let pending = self
            .store
            .pending_ops(10_000)
            .map_err(|e| fail(format!("{}: outbox: {e}", self.user)))?;
        self.made.extend(pending.iter().map(|op| op.id));
        if !pending.is_empty() {
            self.last_batch = pending;
        }
        let opts = SyncOptions {
            pull,
            backoff: std::time::Duration::from_millis(5),
            ..SyncOptions::default()
        };
        self.store
            .sync(&opts, &mut |_| {}, &AtomicBool::new(false))
            .map_err(|e| fail(format!("{}: sync: {e:?}", self.user)))?;
        Ok(())
    }

    fn case_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .store
            .list_cases(&CaseQuery {
                limit: 10_000,
                ..CaseQuery::default()
            })
            .expect("list")
            .items
            .into_iter()
            .map(|i| i.case.id)
            .collect();
        ids.sort();
        ids
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

/// The server's cases and, per case, its events in feed order, as a supervisor's desk pulls
/// them over HTTP (from any instance).
fn server_truth(url: &str) -> (HashMap<Uuid, Case>, HashMap<Uuid, Vec<Event>>) {
    let http = reqwest::blocking::Client::new();
    let login: serde_json::Value = http
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({
            "user_id": "supervisor1", "password": "demo",
            "device_id": format!("audit-{}", Uuid::new_v4())
        }))
        .send()
        .expect("login")
        .json()
        .expect("login json");
    let token = login["token"].as_str().expect("token").to_string();
    let (mut cases, mut events) = (HashMap::new(), HashMap::<Uuid, Vec<Event>>::new());
    let mut cursor = 0;
    loop {
        let page: PullResponse = http
            .get(format!("{url}/v1/pull?cursor={cursor}&limit=1000"))
            .bearer_auth(&token)
            .send()
            .expect("pull")
            .json()
            .expect("page");
        for change in page.changes {
            if let Change::Upsert {
                case, events: evs, ..
            } = change
            {
                events.entry(case.id).or_default().extend(evs);
                cases.insert(case.id, *case);
            }
        }
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    (cases, events)
}

/// The server a run uses: its own (SQLite) or the test command's cluster.
struct Server {
    url: String,
    local: Option<(tempfile::TempDir, RunningServer)>,
}

fn server() -> Server {
    if let Ok(url) = std::env::var("XUNCHA_TEST_CLUSTER_URL")
        && !url.is_empty()
    {
        return Server { url, local: None };
    }
    let dir = tempfile::TempDir::new().expect("tmp");
    let state = AppState::open(&dir.path().join("server"), Config::default()).expect("state");
    xuncha_server::demo::seed_demo(&state).expect("seed");
    let running = RunningServer::start(state).expect("server");
    Server {
        url: running.url.clone(),
        local: Some((dir, running)),
    }
}

fn run(extra_people: &[usize], steps: &[Step], seed: u64) -> Result<(), TestCaseError> {
    let server = server();
    let mut rng = Rng::new(seed);

    // Always an inspector, the city's and a district's supervisor and a unit's staff, then up
    // to 3 more of anyone.
    let people: Vec<&'static str> = [0usize, 2, 3, 5]
        .iter()
        .chain(extra_people)
        .map(|i| PEOPLE[*i % PEOPLE.len()])
        .collect();
    let mut phones = Vec::new();
    for (i, user) in people.iter().enumerate() {
        let dir = tempfile::TempDir::new().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        store
            .sign_in_remote(&server.url, user, "demo", &format!("phone {i}"))
            .expect("sign in");
        let token = store.sync_state().expect("state").token.expect("token");
        let mut phone = Phone {
            user,
            store,
            token,
            made: HashSet::new(),
            last_batch: Vec::new(),
            _dir: dir,
        };
        phone.sync(true)?;
        phones.push(phone);
    }

    let http = reqwest::blocking::Client::new();
    let desk = xuncha_tests::rounds::Desk::sign_in(&server.url, "supervisor1").map_err(fail)?;
    let mut planned = 0;
    let n = phones.len();
    for step in steps {
        match *step {
            Step::Report { device } => {
                let phone = &phones[device % phones.len()];
                if !phone.user.starts_with("inspector") {
                    continue;
                }
                let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
                phone
                    .store
                    .report(NewReport {
                        category: code.into(),
                        description: name.into(),
                        location: random_location(&mut rng),
                        site_id: None,
                        campaign_id: None,
                        undercover: false,
                        photos: vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 2_000))],
                    })
                    .map_err(|e| fail(format!("report: {e:?}")))?;
            }
            Step::Act { device, pick } | Step::Comment { device, pick } => {
                let phone = &phones[device % n];
                let ids = phone.case_ids();
                let comment = matches!(step, Step::Comment { .. });
                // Cases where this device can do something now, with what it can do.
                let mut choices = Vec::new();
                for id in &ids {
                    let detail = phone.store.case_detail(*id).expect("detail");
                    let acts: Vec<Action> = if comment {
                        vec![Action::Comment]
                    } else {
                        detail
                            .allowed_actions
                            .iter()
                            .map(|o| o.action)
                            .filter(|a| *a != Action::Comment)
                            .collect()
                    };
                    if !acts.is_empty() {
                        choices.push((detail.case, acts));
                    }
                }
                if choices.is_empty() {
                    continue;
                }
                let (case, acts) = &choices[(pick % choices.len() as u64) as usize];
                // Moving a case on is likelier than ending it, so runs reach the later states.
                let weight = |a: &Action| if FORWARD.contains(a) { 4 } else { 1 };
                let total: u64 = acts.iter().map(weight).sum();
                let mut at = (pick >> 32) % total;
                let mut action = acts[0];
                for a in acts {
                    if at < weight(a) {
                        action = *a;
                        break;
                    }
                    at -= weight(a);
                }
                let Some((body, photos)) = body_for(action, case, &ids, &mut rng) else {
                    continue;
                };
                // The device's own table says yes; it must record the op.
                phone
                    .store
                    .act(case.id, body, photos)
                    .map_err(|e| fail(format!("{} {action:?}: {e:?}", phone.user)))?;
            }
            Step::Move { device, pick } => {
                let phone = &phones[device % n];
                let movable: Vec<Uuid> = phone
                    .case_ids()
                    .into_iter()
                    .filter(|id| {
                        let detail = phone.store.case_detail(*id).expect("detail");
                        detail
                            .allowed_actions
                            .iter()
                            .any(|o| o.action == Action::Edit)
                    })
                    .collect();
                if !phone.user.starts_with("supervisor") || movable.is_empty() {
                    continue;
                }
                let id = movable[(pick % movable.len() as u64) as usize];
                let changes = CaseEdit {
                    location: Some(random_location(&mut rng)),
                    ..CaseEdit::default()
                };
                phone
                    .store
                    .act(id, OpBody::Edit { changes }, vec![])
                    .map_err(|e| fail(format!("{} move: {e:?}", phone.user)))?;
            }
            Step::Sync { device } => phones[device % n].sync(true)?,
            Step::PushOnly { device } => phones[device % n].sync(false)?,
            Step::Everyone => {
                for phone in &mut phones {
                    phone.sync(true)?;
                }
            }
            Step::Plan { recheck } => {
                planned += 1;
                let status = desk
                    .plan(
                        &format!("轮次 {planned}"),
                        recheck,
                        "公交站台",
                        &["inspector1", "inspector2", "supervisor1"],
                    )
                    .map_err(fail)?;
                // A 回头看 with no closed case yet has nothing to plan: said, nothing kept.
                prop_assert!(
                    status == 200 || (recheck && status == 400),
                    "plan: {}",
                    status
                );
            }
            Step::Check { device, pick } => {
                let phone = &phones[device % n];
                // None: no open task here, or one this phone already submitted.
                let _ = xuncha_tests::rounds::fill_open_task(&phone.store, pick, &mut rng);
            }
            Step::CloseRound => {
                let open = desk.rounds().map_err(fail)?;
                if let Some(r) = open.iter().rev().find(|r| !r.round.is_closed()) {
                    let status = desk.close(r.round.id).map_err(fail)?;
                    prop_assert_eq!(status, 200, "close");
                }
            }
            Step::Replay { device } => {
                let phone = &phones[device % phones.len()];
                if phone.last_batch.is_empty() {
                    continue;
                }
                let resp = http
                    .post(format!("{}/v1/push", server.url))
                    .bearer_auth(&phone.token)
                    .json(&serde_json::json!({ "ops": phone.last_batch }))
                    .send()
                    .map_err(|e| fail(format!("replay: {e}")))?;
                prop_assert!(resp.status().is_success(), "replay: {}", resp.status());
            }
        }
    }

    // Everyone syncs until nothing moves (a device's push reaches the others on the next round).
    for _ in 0..3 {
        for phone in &mut phones {
            phone.sync(true)?;
        }
    }

    let (cases, events) = server_truth(&server.url);
    let mut on_server: HashMap<Uuid, usize> = HashMap::new();
    for evs in events.values() {
        for e in evs {
            *on_server.entry(e.op.id).or_default() += 1;
        }
    }
    // A round's submission is kept on its task (its answer is not a case event); each failed
    // indicator's case is on the server.
    let rounds = desk.rounds().map_err(fail)?;
    let index = ReferenceIndex::new(&xuncha_tests::demo_city());
    let mut checks = 0;
    for r in &rounds {
        for t in &r.tasks {
            let Some(result) = &t.result else { continue };
            *on_server.entry(result.op_id).or_default() += 1;
            checks += 1;
            for (ind, _) in xuncha_core::round::cases_to_raise(&index.standard, &result.indicators)
            {
                let raised = xuncha_core::round::raised_case_id(t.id, &ind.code);
                prop_assert!(
                    cases.contains_key(&raised),
                    "case of {} on task {}",
                    ind.code,
                    t.id
                );
            }
        }
    }
    let city = xuncha_tests::demo_city();
    let index = ReferenceIndex::new(&city);
    for phone in &phones {
        let who = phone.store.session().expect("session").actor();
        let area = city
            .users
            .iter()
            .find(|u| u.id == phone.user)
            .and_then(|u| u.area_id.as_deref());
        let reach = Reach::of(&who, area, &index);
        let mut expected: Vec<Uuid> = cases
            .values()
            .filter(|c| reach.can_see(c))
            .map(|c| c.id)
            .collect();
        expected.sort();
        prop_assert_eq!(phone.case_ids(), expected, "{}: cases in scope", phone.user);
        for (id, case) in cases.iter().filter(|(_, c)| reach.can_see(c)) {
            let detail = phone.store.case_detail(*id).expect("detail");
            prop_assert_eq!(&detail.case, case, "{}: case {}", phone.user, id);
            let mine: Vec<Uuid> = detail.timeline.iter().map(|e| e.op.id).collect();
            let theirs: Vec<Uuid> = events[id].iter().map(|e| e.op.id).collect();
            prop_assert_eq!(mine, theirs, "{}: timeline of {}", phone.user, id);
        }
        prop_assert_eq!(phone.store.pending_count().expect("pending"), 0);
        // Its tasks are the server's: the open rounds' tasks of its team, done where the
        // server has a result.
        let mut expected_tasks: Vec<(Uuid, bool)> = rounds
            .iter()
            .filter(|r| !r.round.is_closed())
            .flat_map(|r| r.tasks.iter())
            .filter(|t| t.team.iter().any(|m| m == phone.user))
            .map(|t| (t.id, t.result.is_some()))
            .collect();
        expected_tasks.sort();
        let mut held: Vec<(Uuid, bool)> = phone
            .store
            .tasks(None)
            .expect("tasks")
            .into_iter()
            .map(|t| (t.task.id, t.state == xuncha_core::round::TaskState::Done))
            .collect();
        held.sort();
        prop_assert_eq!(held, expected_tasks, "{}: tasks", phone.user);
        let inbox: HashSet<Uuid> = phone
            .store
            .rejections()
            .expect("inbox")
            .into_iter()
            .map(|r| r.op.id)
            .collect();
        for op in &phone.made {
            let n = on_server.get(op).copied().unwrap_or(0);
            prop_assert!(
                (n == 1) != inbox.contains(op) && n <= 1,
                "{}: op {} on server {} times, in inbox: {}",
                phone.user,
                op,
                n,
                inbox.contains(op)
            );
        }
    }
    if let Some((dir, _)) = &server.local {
        let integrity: String = rusqlite::Connection::open(
            dir.path()
                .join("server")
                .join(xuncha_server::store::sqlite::DB_FILE),
        )
        .expect("db")
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
        prop_assert_eq!(integrity, "ok");
    }
    let made: usize = phones.iter().map(|p| p.made.len()).sum();
    let statuses: HashSet<&str> = cases.values().map(|c| c.status.as_str()).collect();
    println!(
        "devices {} cases {} ops {made} accepted {} statuses {statuses:?} rounds {} checks {checks}",
        phones.len(),
        cases.len(),
        on_server.len(),
        rounds.len(),
    );
    drop(server);
    Ok(())
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases_from_env(12),
        max_shrink_iters: 200,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn devices_and_server_converge(
        extra_people in prop::collection::vec(0..PEOPLE.len(), 0..4),
        steps in prop::collection::vec(step(), 40..160),
        seed in any::<u64>(),
    ) {
        run(&extra_people, &steps, seed)?;
    }
}
