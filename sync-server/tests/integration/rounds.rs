//! Inspection rounds (issue 17) over real HTTP: a supervisor plans a 明查 round of the bus stops
//! of 城关街道; the phones get their tasks; a site check pushed like any operation is kept on
//! its task and raises one case per failed indicator, reported as the inspector, registered and
//! dispatched to the site's owner with the category's deadline; a replay raises nothing twice;
//! someone else's task, a second submission and a closed round are refused with their codes. A
//! 暗访 round's cases stay away from the unit (its phone, a supervisor's dispatch) until the
//! round is published, then arrive at once.

use uuid::Uuid;
use xuncha_core::model::{Location, OpBody, PhotoKind, PhotoRef};
use xuncha_core::round::{self, CheckedIndicator, Round, RoundKind, Target, Task};
use xuncha_core::standard::Finding;
use xuncha_core::store::CaseQuery;
use xuncha_core::sync::protocol::{OpStatus, PushResponse, TaskList};
use xuncha_core::workflow::Status;
use xuncha_server::apply::PushRules;
use xuncha_server::rounds::{SitePlan, close, plan_sites, publish};
use xuncha_server::store::Principal;

use crate::hardening::Raw;
use crate::helpers::{Device, TestServer, now_ms};

fn principal(server: &TestServer, user: &str) -> Principal {
    let record = server
        .state
        .store
        .user(user)
        .expect("user")
        .expect("exists");
    Principal {
        user: record.user,
        device_id: "console".into(),
    }
}

/// 城关街道's bus stops (s5, owned by u5; s25, owned by u1), in a round of `kind` with
/// inspector1 on the first and inspector2 on the second.
fn plan(server: &TestServer, kind: RoundKind) -> (Round, Vec<Task>) {
    let today = chrono::Utc::now().date_naive();
    plan_sites(
        server.state.store.as_ref(),
        &principal(server, "supervisor1"),
        SitePlan {
            name: format!("{}：城关街道公交站台", kind.label_zh()),
            kind,
            area_id: Some("d1-s1".into()),
            starts_on: today,
            ends_on: today,
            due_ms: now_ms() + 86_400_000,
            max_distance_m: None,
            site_types: vec!["公交站台".into()],
            sample: None,
            teams: vec![vec!["inspector1".into()], vec!["inspector2".into()]],
        },
        now_ms(),
    )
    .expect("plan")
}

fn photo(seed: u8) -> PhotoRef {
    PhotoRef {
        sha256: format!("{seed:02x}").repeat(32),
        kind: PhotoKind::Before,
        mime: "image/jpeg".into(),
        size: 1_000,
        captured_at_ms: None,
        location: None,
    }
}

fn checked(code: &str, finding: Finding, photo: Option<&PhotoRef>) -> CheckedIndicator {
    CheckedIndicator {
        code: code.into(),
        finding,
        note: String::new(),
        photos: photo.map(|p| vec![p.sha256.clone()]).unwrap_or_default(),
    }
}

/// The demo standard's bus-stop checklist with 5.1 failed and 5.2 one 公益广告 short on one bus
/// (−4); 5.3 passed: 0 + 4 + 2 of 13.
fn bus_stop_check(at: (f64, f64)) -> OpBody {
    let (a, b) = (photo(0xa1), photo(0xb2));
    OpBody::CheckSite {
        indicators: vec![
            checked("5.1", Finding::Fail, Some(&a)),
            checked(
                "5.2",
                Finding::Counted {
                    found: 1,
                    units: 1.0,
                },
                Some(&b),
            ),
            checked("5.3", Finding::Pass, None),
        ],
        photos: vec![a, b],
        position: Some(Location {
            lat: at.0,
            lon: at.1,
            accuracy_m: Some(8.0),
            address: String::new(),
        }),
        note: "站台顶棚破损".into(),
    }
}

fn site_of(server: &TestServer, task: &Task) -> xuncha_core::reference::Site {
    let Target::Site { site_id } = &task.target else {
        panic!("a site task")
    };
    server
        .state
        .store
        .reference_index()
        .site(site_id)
        .cloned()
        .expect("site")
}

fn code(r: &PushResponse, i: usize) -> Option<&str> {
    r.results[i].code.as_deref()
}

fn tasks(raw: &Raw) -> TaskList {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/tasks", raw.url))
        .bearer_auth(&raw.token)
        .send()
        .expect("tasks")
        .json()
        .expect("json")
}

#[test]
fn a_site_check_is_kept_and_raises_one_dispatched_case_per_failed_indicator_once() {
    let server = TestServer::start();
    let (r, planned) = plan(&server, RoundKind::Open);
    assert_eq!(planned.len(), 2, "城关街道 has two bus stops: {planned:?}");
    let mut inspector1 = Raw::login(&server, "inspector1", "phone-i1");
    let mut inspector2 = Raw::login(&server, "inspector2", "phone-i2");

    // Each phone gets its own team's task, with the round.
    let mine = tasks(&inspector1);
    assert_eq!(mine.rounds.len(), 1);
    assert_eq!(mine.rounds[0].id, r.id);
    assert_eq!(mine.tasks.len(), 1);
    let task = mine.tasks[0].clone();
    assert_eq!(task.team, ["inspector1"]);
    assert_ne!(tasks(&inspector2).tasks[0].id, task.id);

    let site = site_of(&server, &task);
    let owner = site.owner_unit_id.clone().expect("owner");
    let check = inspector1.op(task.id, bus_stop_check((site.lat + 0.0005, site.lon)));
    let answer = inspector1.push(std::slice::from_ref(&check));
    assert_eq!(answer.results[0].status, OpStatus::Accepted, "{answer:?}");
    assert_eq!(answer.results[0].seq, None, "a check is not a case event");

    // Kept on the task: who, where (about 56 m from the site: on site), the score 6 of 13.
    let (_, after) = server
        .state
        .store
        .round(r.id)
        .expect("round")
        .expect("kept");
    let done = after.iter().find(|t| t.id == task.id).expect("task");
    assert_eq!(done.state(&r), round::TaskState::Done);
    let result = done.result.as_ref().expect("result");
    assert_eq!(result.by, "inspector1");
    let distance = result.distance_m.expect("distance");
    assert!((50.0..62.0).contains(&distance), "{distance}");
    assert_eq!(round::on_site(result.distance_m, &r), Some(true));
    let index = server.state.store.reference_index();
    assert_eq!(
        round::task_score(&index.standard, &site.kind, &result.indicators),
        (6.0, 13.0)
    );

    // Two failed indicators with categories: two cases, dispatched to the site's owner.
    for (code, category) in [("5.1", "0602"), ("5.2", "0701")] {
        let id = round::raised_case_id(task.id, code);
        let case = server.state.store.case(id).expect("case").expect("raised");
        assert_eq!(case.status, Status::Dispatched, "{code}");
        assert_eq!(case.category, category);
        assert_eq!(case.unit_id.as_deref(), Some(owner.as_str()));
        assert_eq!(case.reporter_id, "inspector1");
        assert_eq!(case.site_id.as_deref(), Some(site.id.as_str()));
        assert!(case.case_no.is_some(), "registered");
        assert!(case.deadline_ms.is_some_and(|d| d > now_ms()));
        let origin = case.checked.expect("origin");
        assert_eq!((origin.round_id, origin.task_id), (r.id, task.id));
        assert_eq!(origin.indicator, code);
        let timeline = server.state.store.timeline(id).expect("timeline");
        assert_eq!(timeline.len(), 3, "report, register, dispatch");
        assert_eq!(
            timeline[0].op.body.photos().len(),
            1,
            "the indicator's photo"
        );
    }
    assert!(
        server
            .state
            .store
            .case(round::raised_case_id(task.id, "5.3"))
            .expect("case")
            .is_none(),
        "a passed indicator raises nothing"
    );

    // The same operation again: the first answer, nothing raised twice.
    let feed = server.state.store.feed_seq().expect("seq");
    let again = inspector1.push(std::slice::from_ref(&check));
    assert_eq!(again.results[0], answer.results[0]);
    assert_eq!(server.state.store.feed_seq().expect("seq"), feed);

    // Another submission of a done task; someone else's task; an unknown one.
    let second = inspector1.op(task.id, bus_stop_check((site.lat, site.lon)));
    let other_task = planned.iter().find(|t| t.id != task.id).expect("other");
    let not_mine = inspector1.op(other_task.id, bus_stop_check((site.lat, site.lon)));
    let unknown = inspector1.op(Uuid::now_v7(), bus_stop_check((site.lat, site.lon)));
    let refused = inspector1.push(&[second, not_mine, unknown]);
    assert_eq!(code(&refused, 0), Some("task_done"));
    assert_eq!(code(&refused, 1), Some("not_on_team"));
    assert_eq!(code(&refused, 2), Some("not_found"));

    // A checklist that leaves an indicator out, or deducts without a photo.
    let other_site = site_of(&server, other_task);
    let mut partial = bus_stop_check((other_site.lat, other_site.lon));
    if let OpBody::CheckSite { indicators, .. } = &mut partial {
        indicators.pop();
    }
    let mut bare = bus_stop_check((other_site.lat, other_site.lon));
    if let OpBody::CheckSite { indicators, .. } = &mut bare {
        indicators[0].photos.clear();
    }
    let ops = [
        inspector2.op(other_task.id, partial),
        inspector2.op(other_task.id, bare),
    ];
    let refused = inspector2.push(&ops);
    assert_eq!(code(&refused, 0), Some("indicator_unrecorded"));
    assert_eq!(code(&refused, 1), Some("deduction_needs_photo"));
    assert_eq!(
        server.state.store.feed_seq().expect("seq"),
        feed,
        "refusals write nothing"
    );

    // Closed: no more submissions, and the phones' lists drop the round.
    close(
        server.state.store.as_ref(),
        &principal(&server, "supervisor1"),
        r.id,
        now_ms(),
    )
    .expect("close");
    let late = inspector2.op(
        other_task.id,
        bus_stop_check((other_site.lat, other_site.lon)),
    );
    assert_eq!(code(&inspector2.push(&[late]), 0), Some("round_closed"));
    assert!(tasks(&inspector2).tasks.is_empty());
}

#[test]
fn a_covert_rounds_cases_reach_the_unit_only_when_it_is_published() {
    let server = TestServer::start();
    let (r, planned) = plan(&server, RoundKind::Covert);
    // s25, owned by u1 (unit1's unit), is inspector2's.
    let task = planned
        .iter()
        .find(|t| site_of(&server, t).owner_unit_id.as_deref() == Some("u1"))
        .expect("a stop of u1")
        .clone();
    assert_eq!(task.team, ["inspector2"]);
    let site = site_of(&server, &task);
    let mut inspector2 = Raw::login(&server, "inspector2", "phone-i2");
    let check = inspector2.op(task.id, bus_stop_check((site.lat, site.lon)));
    assert_eq!(
        inspector2.push(&[check]).results[0].status,
        OpStatus::Accepted
    );
    let raised = round::raised_case_id(task.id, "5.1");
    let case = server
        .state
        .store
        .case(raised)
        .expect("case")
        .expect("raised");
    assert_eq!(case.status, Status::Registered, "held, not dispatched");
    assert!(case.undercover);

    // The unit sees nothing; a supervisor's dispatch is refused while the round is sealed.
    let unit1 = Device::signed_in(&server, "unit1", 0);
    let visible = |d: &Device| {
        d.sync();
        d.store
            .list_cases(&CaseQuery::default())
            .expect("list")
            .items
            .iter()
            .any(|i| i.case.id == raised)
    };
    assert!(!visible(&unit1));
    let mut supervisor = Raw::login(&server, "supervisor1", "phone-s1");
    let dispatch = supervisor.op(
        raised,
        OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: Some(now_ms() + 86_400_000),
            note: String::new(),
        },
    );
    assert_eq!(code(&supervisor.push(&[dispatch]), 0), Some("round_sealed"));
    let boss = principal(&server, "supervisor1");
    let rules = PushRules::default();
    let store = server.state.store.as_ref();
    let refused = publish(
        store,
        &principal(&server, "inspector1"),
        r.id,
        now_ms(),
        &rules,
    );
    assert_eq!(
        refused.err().map(|e| e.code()),
        Some("round_not_allowed"),
        "an inspector publishes nothing"
    );

    // Published: both raised cases dispatched at once; the unit's phone has them.
    assert_eq!(
        publish(store, &boss, r.id, now_ms(), &rules).expect("publish"),
        2
    );
    assert_eq!(
        server
            .state
            .store
            .case(raised)
            .expect("case")
            .expect("raised")
            .status,
        Status::Dispatched
    );
    assert!(visible(&unit1));
    // Publishing again dispatches nothing more.
    assert_eq!(
        publish(store, &boss, r.id, now_ms(), &rules).expect("again"),
        0
    );
}

/// A case of unit u1 taken through to closed, over HTTP: reported, registered, dispatched,
/// acknowledged, rectified with a photo, verified with a photo.
fn closed_case(server: &TestServer, seed: u8) -> Uuid {
    let mut inspector = Raw::login(server, "inspector1", "phone-i1");
    let mut supervisor = Raw::login(server, "supervisor1", "phone-s1");
    let mut unit = Raw::login(server, "unit1", "phone-u1");
    let id = Uuid::now_v7();
    let report = inspector.op(
        id,
        crate::hardening::report_body(30.2552, 120.1552, format!("回头看测试 {seed}")),
    );
    let steps = [
        supervisor.op(
            id,
            OpBody::Register {
                note: String::new(),
            },
        ),
        supervisor.op(
            id,
            OpBody::Dispatch {
                unit_id: "u1".into(),
                deadline_ms: Some(now_ms() + 86_400_000),
                note: String::new(),
            },
        ),
    ];
    let fixed = [
        unit.op(
            id,
            OpBody::Acknowledge {
                note: String::new(),
            },
        ),
        unit.op(
            id,
            OpBody::Rectify {
                note: "已清理".into(),
                photos: vec![PhotoRef {
                    kind: PhotoKind::After,
                    ..photo(seed)
                }],
            },
        ),
    ];
    let closed = supervisor.op(
        id,
        OpBody::VerifyPass {
            note: String::new(),
            photos: vec![PhotoRef {
                kind: PhotoKind::Verify,
                ..photo(seed.wrapping_add(1))
            }],
        },
    );
    for (raw, ops) in [
        (&inspector, vec![report]),
        (&supervisor, steps.to_vec()),
        (&unit, fixed.to_vec()),
        (&supervisor, vec![closed]),
    ] {
        let answer = raw.push(&ops);
        assert!(
            answer
                .results
                .iter()
                .all(|r| r.status == OpStatus::Accepted),
            "{answer:?}"
        );
    }
    assert_eq!(
        server
            .state
            .store
            .case(id)
            .expect("case")
            .expect("kept")
            .status,
        Status::Closed
    );
    id
}

#[test]
fn a_recheck_round_reopens_a_recurred_case_and_reports_its_rectification_rate() {
    let server = TestServer::start();
    let (held, recurred) = (closed_case(&server, 0x31), closed_case(&server, 0x41));
    let today = chrono::Utc::now().date_naive();
    let (r, planned) = xuncha_server::rounds::plan_rechecks(
        server.state.store.as_ref(),
        &principal(&server, "supervisor1"),
        xuncha_server::rounds::RecheckPlan {
            name: "十二月回头看".into(),
            area_id: None,
            starts_on: today,
            ends_on: today,
            due_ms: now_ms() + 86_400_000,
            category_prefix: Some("01".into()),
            unit: Some("u1".into()),
            reported_from_ms: None,
            reported_before_ms: None,
            sample: None,
            teams: vec![vec!["inspector2".into()]],
        },
        now_ms(),
    )
    .expect("plan");
    assert_eq!(r.kind, RoundKind::Recheck);
    let targets: Vec<&Target> = planned.iter().map(|t| &t.target).collect();
    assert_eq!(targets.len(), 2, "both closed cases of u1: {targets:?}");
    let task_of = |case_id: Uuid| {
        planned
            .iter()
            .find(|t| t.target == Target::Case { case_id })
            .expect("task")
            .id
    };
    let mut inspector2 = Raw::login(&server, "inspector2", "phone-i2");
    assert_eq!(tasks(&inspector2).tasks.len(), 2);
    let recheck = |outcome, photos: Vec<PhotoRef>| OpBody::Recheck {
        outcome,
        photos,
        position: Some(Location {
            lat: 30.2552,
            lon: 120.1552,
            accuracy_m: Some(6.0),
            address: String::new(),
        }),
        note: "现场查看".into(),
    };
    use xuncha_core::round::RecheckOutcome::{Held, Recurred};
    let ops = [
        inspector2.op(task_of(held), recheck(Held, vec![])),
        inspector2.op(task_of(held), recheck(Held, vec![photo(0x51)])),
        inspector2.op(task_of(recurred), recheck(Recurred, vec![photo(0x52)])),
    ];
    let answer = inspector2.push(&ops);
    assert_eq!(code(&answer, 0), Some("recheck_needs_photo"));
    assert_eq!(answer.results[1].status, OpStatus::Accepted, "{answer:?}");
    assert_eq!(answer.results[2].status, OpStatus::Accepted, "{answer:?}");

    // Still fixed: closed, with the inspector's photo and words on its timeline.
    let case = server.state.store.case(held).expect("case").expect("kept");
    assert_eq!(case.status, Status::Closed);
    let last = server
        .state
        .store
        .timeline(held)
        .expect("timeline")
        .pop()
        .expect("event");
    assert_eq!(last.op.actor.user_id, "inspector2");
    assert_eq!(last.op.body.photos().len(), 1);
    assert!(last.op.body.text().is_some_and(|t| t.contains("整改到位")));

    // Recurred: reopened to its unit with a new deadline, by the server.
    let case = server
        .state
        .store
        .case(recurred)
        .expect("case")
        .expect("kept");
    assert_eq!(case.status, Status::Dispatched);
    assert_eq!(case.unit_id.as_deref(), Some("u1"));
    assert!(case.deadline_ms.is_some_and(|d| d > now_ms()));
    let last = server
        .state
        .store
        .timeline(recurred)
        .expect("timeline")
        .pop()
        .expect("event");
    assert_eq!(last.op.body.action(), xuncha_core::Action::Reopen);
    assert_eq!(last.op.actor.user_id, "system");

    // 整改率: one of two still fixed.
    let (_, after) = server
        .state
        .store
        .round(r.id)
        .expect("round")
        .expect("kept");
    assert_eq!(round::recheck_counts(&after), (2, 1));
    assert_eq!(xuncha_core::standard::rectification_rate(2, 1), Some(0.5));
    // A replay changes nothing.
    let feed = server.state.store.feed_seq().expect("seq");
    let again = inspector2.push(&ops[1..]);
    assert_eq!(again.results, answer.results[1..]);
    assert_eq!(server.state.store.feed_seq().expect("seq"), feed);
}

fn post_form(
    b: &reqwest::blocking::Client,
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = b
        .post(format!("{}{path}", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .expect("post");
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, location, r.text().unwrap_or_default())
}

#[test]
fn a_round_planned_in_the_console_reports_what_a_hand_computation_gives() {
    use crate::console_kit::{console, field, get};
    let server = TestServer::start();
    let sup = console(&server, "supervisor1");
    let (s, list) = get(&sup, &server, "/console/rounds");
    assert_eq!(s, 200);
    assert!(list.contains("id=\"plan-sites\"") && list.contains("id=\"plan-rechecks\""));
    let csrf = field(&list, "csrf");
    let today = chrono::Utc::now().date_naive().to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "十二月公交站台测评"),
        ("kind", "open"),
        ("area", "d1-s1"),
        ("from", &today),
        ("to", &today),
        ("due", &today),
        ("site_type", "公交站台"),
        ("member", "inspector1"),
        ("member", "inspector2"),
        ("team_size", "1"),
    ];
    // A unit's staff sees no rounds; a forged form changes nothing.
    let unit = console(&server, "unit1");
    assert_eq!(get(&unit, &server, "/console/rounds").0, 403);
    let mut forged = form;
    forged[0].1 = "bad";
    assert_eq!(post_form(&sup, &server, "/console/rounds", &forged).0, 403);
    assert!(server.state.store.rounds(10).expect("rounds").is_empty());
    // Nothing matches: said on the page, nothing kept.
    let mut none = form;
    none[7].1 = "校园周边";
    let (s, _, page) = post_form(&sup, &server, "/console/rounds", &none);
    assert_eq!(s, 400, "{page}");
    assert!(page.contains("没有符合条件的点位"), "{page}");

    let (s, location, _) = post_form(&sup, &server, "/console/rounds", &form);
    assert_eq!(s, 303);
    let rounds = server.state.store.rounds(10).expect("rounds");
    assert_eq!(rounds.len(), 1);
    let (r, planned) = server
        .state
        .store
        .round(rounds[0].id)
        .expect("round")
        .expect("kept");
    assert_eq!(location, format!("/console/rounds/{}", r.id));
    assert_eq!(planned.len(), 2);

    // inspector1 finds 5.1 failed and one 公益广告 short (6 of 13); inspector2 all met (13).
    for task in &planned {
        let user = &task.team[0];
        let mut phone = Raw::login(&server, user, &format!("phone-{user}"));
        let site = site_of(&server, task);
        let mut body = bus_stop_check((site.lat, site.lon));
        if user == "inspector2"
            && let OpBody::CheckSite {
                indicators, photos, ..
            } = &mut body
        {
            for i in indicators.iter_mut() {
                i.finding = Finding::Pass;
                i.photos.clear();
            }
            photos.clear();
        }
        let op = phone.op(task.id, body);
        assert_eq!(phone.push(&[op]).results[0].status, OpStatus::Accepted);
    }
    let (s, page) = get(&sup, &server, &location);
    assert_eq!(s, 200);
    // 19 of 26 = 73.1 %; the sites 46.2 % and 100 %.
    assert!(page.contains("19 / 26") && page.contains("73.1%"), "{page}");
    assert!(page.contains("46.2%") && page.contains("100.0%"), "{page}");
    assert!(page.contains("5.1 −3") && page.contains("5.2 −4"), "{page}");

    // The XLSX says the same, in numbers.
    let (s, _, bytes) =
        crate::console_more::get_bytes(&sup, &server, &format!("{location}/report.xlsx"));
    assert_eq!(s, 200);
    let mut wb = crate::console_more::workbook(bytes);
    let summary = calamine::Reader::worksheet_range(&mut wb, "汇总").expect("summary");
    let rate = summary
        .rows()
        .find(|row| matches!(row.first(), Some(calamine::Data::String(s)) if s == "得分率"))
        .and_then(|row| row.get(1).cloned());
    assert_eq!(rate, Some(calamine::Data::Float(19.0 / 26.0)));
    let sites = calamine::Reader::worksheet_range(&mut wb, "点位得分").expect("sites");
    let mut got: Vec<f64> = (1..sites.height())
        .filter_map(|row| match sites.get((row, 5)) {
            Some(calamine::Data::Float(v)) => Some(*v),
            _ => None,
        })
        .collect();
    got.sort_by(f64::total_cmp);
    assert_eq!(got, [6.0, 13.0]);
    let units = calamine::Reader::worksheet_range(&mut wb, "分单位").expect("units");
    assert_eq!(units.height(), 3, "two owner units and the header");

    // Coverage: this month the two checked stops are visited; a period before any round
    // leaves every site unvisited; a period back to front is refused.
    let coverage = |path: &str| -> (u16, Option<(usize, usize)>) {
        let (s, page) = get(&sup, &server, path);
        let counts = page.find("id=\"coverage\"").and_then(|at| {
            let rest = &page[at..];
            let open = rest.find('(')?;
            let close = rest[open..].find(')')? + open;
            let (a, b) = rest[open + 1..close].split_once(" / ")?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        });
        (s, counts)
    };
    let all_sites = server.state.store.reference().expect("ref").1.sites.len();
    assert_eq!(
        coverage("/console/rounds"),
        (200, Some((all_sites - 2, all_sites)))
    );
    // Still so with more rounds planned since than the list shows.
    for _ in 0..101 {
        plan(&server, RoundKind::Open);
    }
    assert_eq!(
        coverage("/console/rounds"),
        (200, Some((all_sites - 2, all_sites))),
        "the checked round is older than the newest 100"
    );
    assert_eq!(
        coverage("/console/rounds?from=2020-01-01&to=2020-01-31"),
        (200, Some((all_sites, all_sites)))
    );
    let (s, page) = get(
        &sup,
        &server,
        "/console/rounds?from=2020-02-01&to=2020-01-01",
    );
    assert_eq!(s, 400);
    assert!(page.contains("检查时段无效"), "{page}");

    // Closing from the page: the phones' lists drop it, its page says so.
    let csrf = field(&page, "csrf");
    let (s, _, _) = post_form(
        &sup,
        &server,
        &format!("{location}/close"),
        &[("csrf", &csrf)],
    );
    assert_eq!(s, 303);
    let (_, page) = get(&sup, &server, &location);
    assert!(page.contains("已结束"));
    assert!(!page.contains("id=\"close\""));
    // A district supervisor of 西湖区 sees it (城关街道 is theirs).
    let d1 = console(&server, "supervisor2");
    assert_eq!(get(&d1, &server, &location).0, 200);
}

#[test]
fn a_phone_checks_its_nearest_site_offline_and_the_server_raises_its_cases() {
    use xuncha_core::store::{IndicatorInput, SiteCheckInput};
    let server = TestServer::start();
    // 5.3 is scored only here: its deduction raises no case, yet its photo is kept.
    let (_, mut city) = server.state.store.reference().expect("reference");
    for ind in &mut city.standard {
        if ind.code == "5.3" {
            ind.category = None;
        }
    }
    server
        .state
        .store
        .set_reference(&city)
        .expect("scored only");
    let (r, _) = plan(&server, RoundKind::Open);
    let phone = Device::signed_in(&server, "inspector1", 0);
    let tasks = phone.store.tasks(None).expect("tasks");
    assert_eq!(tasks.len(), 1, "inspector1's team has one of the two stops");
    let view = &tasks[0];
    assert_eq!(view.round.id, r.id);
    assert_eq!(view.state, round::TaskState::Open);
    let place = view.place.clone().expect("the site");
    assert_eq!(place.kind, "公交站台");
    // Standing 100 m north of it.
    let here = xuncha_core::geo::LatLon {
        lat: place.lat + 0.0009,
        lon: place.lon,
    };
    let near = phone.store.tasks(Some(here)).expect("tasks");
    let d = near[0].distance_m.expect("distance");
    assert!((90.0..110.0).contains(&d), "{d}");
    let codes: Vec<String> = phone
        .store
        .checklist(view.task.id)
        .expect("checklist")
        .into_iter()
        .map(|i| i.code)
        .collect();
    assert_eq!(codes, ["5.1", "5.2", "5.3"]);

    let position = Some(Location {
        lat: here.lat,
        lon: here.lon,
        accuracy_m: Some(10.0),
        address: String::new(),
    });
    let input = |with_third: bool| SiteCheckInput {
        indicators: [
            ("5.1", Finding::Fail, vec![crate::helpers::photo(71)]),
            (
                "5.2",
                Finding::Counted {
                    found: 2,
                    units: 1.0,
                },
                vec![],
            ),
            (
                "5.3",
                Finding::Occurrences { count: 1 },
                vec![crate::helpers::photo(72)],
            ),
        ]
        .into_iter()
        .take(if with_third { 3 } else { 2 })
        .map(|(code, finding, photos)| IndicatorInput {
            code: code.into(),
            finding,
            note: String::new(),
            photos,
        })
        .collect(),
        position: position.clone(),
        note: "站台玻璃破损".into(),
    };
    // Decided on the phone as on the server: a checklist left short is refused here.
    let short = phone.store.submit_check(view.task.id, input(false));
    assert_eq!(short.err().map(|e| e.code()), Some("indicator_unrecorded"));
    let op = phone
        .store
        .submit_check(view.task.id, input(true))
        .expect("checked offline");
    assert_eq!(op.body.photos().len(), 2);
    let done = phone.store.tasks(None).expect("tasks");
    assert_eq!(done[0].state, round::TaskState::Done);
    assert!(done[0].submitted_here);
    let again = phone.store.submit_check(view.task.id, input(true));
    assert_eq!(again.err().map(|e| e.code()), Some("task_done"));

    // The sync pushes it, sends the photos, and pulls the two cases it raised.
    let report = phone.sync();
    assert_eq!((report.accepted, report.rejected), (1, 0));
    assert_eq!(report.photos_uploaded, 2);
    assert_eq!(report.open_tasks, 0);
    let mine = phone
        .store
        .list_cases(&CaseQuery::default())
        .expect("cases");
    let raised: Vec<(&str, Status)> = mine
        .items
        .iter()
        .filter(|i| i.case.checked.is_some())
        .map(|i| (i.case.category.as_str(), i.case.status))
        .collect();
    assert_eq!(raised.len(), 1, "5.1 raised; 5.3 scored only: {raised:?}");
    assert!(raised.iter().all(|(_, s)| *s == Status::Dispatched));
    // Both photos are named (one by its case, one by the task): the sweep of photos no
    // operation names keeps them however old they grow.
    let unnamed = server
        .state
        .store
        .unreferenced_photos(i64::MAX, 100)
        .expect("unnamed");
    for seed in [71, 72] {
        let sha = xuncha_core::store::sha256_hex(&crate::helpers::photo_bytes(seed));
        assert!(!unnamed.contains(&sha), "photo {seed} kept");
    }
    let after = phone.store.tasks(None).expect("tasks");
    assert_eq!(after[0].state, round::TaskState::Done);
    assert!(!after[0].submitted_here, "the server's list has it now");
    let (_, tasks) = server
        .state
        .store
        .round(r.id)
        .expect("round")
        .expect("kept");
    let result = tasks
        .iter()
        .find(|t| t.id == view.task.id)
        .and_then(|t| t.result.clone())
        .expect("kept on the server");
    assert_eq!(result.photos.len(), 2);
    assert!(
        result
            .distance_m
            .is_some_and(|d| (90.0..110.0).contains(&d))
    );
}

#[test]
fn a_check_made_offline_after_the_round_closed_lands_in_the_rejection_inbox() {
    use xuncha_core::store::RecheckInput;
    let server = TestServer::start();
    let case = closed_case(&server, 0x61);
    let today = chrono::Utc::now().date_naive();
    let (r, _) = xuncha_server::rounds::plan_rechecks(
        server.state.store.as_ref(),
        &principal(&server, "supervisor1"),
        xuncha_server::rounds::RecheckPlan {
            name: "回头看".into(),
            area_id: None,
            starts_on: today,
            ends_on: today,
            due_ms: now_ms() + 86_400_000,
            category_prefix: None,
            unit: None,
            reported_from_ms: None,
            reported_before_ms: None,
            sample: None,
            teams: vec![vec!["inspector2".into()]],
        },
        now_ms(),
    )
    .expect("plan");
    let phone = Device::signed_in(&server, "inspector2", 0);
    let tasks = phone.store.tasks(None).expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].case.as_ref().map(|c| c.id),
        Some(case),
        "the case to re-check comes with the task"
    );
    let recheck = |photos| RecheckInput {
        outcome: xuncha_core::round::RecheckOutcome::Held,
        photos,
        position: None,
        note: String::new(),
    };
    let no_photo = phone
        .store
        .submit_recheck(tasks[0].task.id, recheck(vec![]));
    assert_eq!(
        no_photo.err().map(|e| e.code()),
        Some("recheck_needs_photo")
    );
    phone
        .store
        .submit_recheck(tasks[0].task.id, recheck(vec![crate::helpers::photo(81)]))
        .expect("offline");
    // Meanwhile the office closes the round.
    close(
        server.state.store.as_ref(),
        &principal(&server, "supervisor1"),
        r.id,
        now_ms(),
    )
    .expect("close");
    let report = phone.sync();
    assert_eq!((report.accepted, report.rejected), (0, 1));
    let rejected = phone.store.rejections().expect("inbox");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].code, "round_closed");
    assert_eq!(rejected[0].op.case_id, tasks[0].task.id);
    assert!(
        phone.store.tasks(None).expect("tasks").is_empty(),
        "a closed round leaves the list"
    );
    assert_eq!(
        server
            .state
            .store
            .case(case)
            .expect("case")
            .expect("kept")
            .status,
        Status::Closed
    );
}

#[test]
fn the_demo_city_has_a_finished_round_a_sealed_one_and_a_recheck_in_progress() {
    use xuncha_core::round_report::report;
    let server = TestServer::start();
    let state = &server.state;
    xuncha_server::demo::cases::seed_cases(state, now_ms()).expect("cases");
    assert_eq!(
        xuncha_server::demo::rounds::seed_rounds(state, now_ms()).expect("rounds"),
        3
    );
    assert_eq!(
        xuncha_server::demo::rounds::seed_rounds(state, now_ms()).expect("again"),
        0,
        "seeded once"
    );
    let index = state.store.reference_index();
    let rounds = state.store.rounds(10).expect("rounds");
    let by_kind = |k: RoundKind| rounds.iter().find(|r| r.kind == k).expect("a round").id;

    // The markets: seven of eight checked; by hand 24+21+25+21+25+22+24 = 162 of 7 × 25.
    let (markets, tasks) = state
        .store
        .round(by_kind(RoundKind::Open))
        .expect("round")
        .expect("kept");
    assert!(markets.is_closed());
    let r = report(&markets, &tasks, &index);
    assert_eq!((r.planned(), r.done()), (8, 7));
    assert_eq!((r.overall.got, r.overall.possible), (162.0, 175.0));
    let raised: usize = r.sites.iter().map(|s| s.raised.len()).sum();
    assert_eq!(raised, 7);
    for s in &r.sites {
        for (_, case) in &s.raised {
            let c = state.store.case(*case).expect("case").expect("raised");
            assert!(c.unit_id.is_some(), "dispatched to the market's owner");
        }
    }

    // The back streets: sealed, two checked, their cases held.
    let (covert, tasks) = state
        .store
        .round(by_kind(RoundKind::Covert))
        .expect("round")
        .expect("kept");
    assert!(covert.sealed());
    let r = report(&covert, &tasks, &index);
    assert_eq!((r.planned(), r.done()), (4, 2));
    let mut held_ids = Vec::new();
    for s in &r.sites {
        for (_, case) in &s.raised {
            let c = state.store.case(*case).expect("case").expect("raised");
            assert_eq!((c.status, c.unit_id.as_deref()), (Status::Registered, None));
            held_ids.push(*case);
        }
    }
    // The held cases come from the sealed rounds' index, and each office counts its own reach's:
    // the city all, 西湖区 those at its sites.
    let held = xuncha_server::rounds::held_cases(state.store.as_ref()).expect("held");
    let mut ids: Vec<Uuid> = held.iter().map(|h| h.id).collect();
    ids.sort();
    held_ids.sort();
    assert_eq!(ids, held_ids);
    let west = held
        .iter()
        .filter(|h| h.area_id.as_deref().is_some_and(|a| a.starts_with("d1")))
        .count();
    let shown = |user: &str| -> Option<usize> {
        let (_, page) = crate::console_kit::get(
            &crate::console_kit::console(&server, user),
            &server,
            "/console",
        );
        let at = page.find("id=\"held\"")?;
        page[at..]
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .and_then(|n| n.parse().ok())
    };
    // (Which sites the demo checked is drawn at random: the two districts' counts add up.)
    crate::helpers::add_district_admin(&server);
    let east = held.len() - west;
    assert_eq!(shown("supervisor1"), Some(held.len()));
    assert_eq!(shown("supervisor2"), (west > 0).then_some(west), "{held:?}");
    assert_eq!(shown("admin2"), (east > 0).then_some(east), "{held:?}");

    // 回头看: one re-checked as still fixed, one left for inspector1.
    let (recheck, tasks) = state
        .store
        .round(by_kind(RoundKind::Recheck))
        .expect("round")
        .expect("kept");
    assert_eq!(round::recheck_counts(&tasks), (1, 0));
    assert!(tasks.len() >= 2, "{}", tasks.len());
    let phone = Device::signed_in(&server, "inspector1", 0);
    let mine = phone.store.tasks(None).expect("tasks");
    let open: Vec<RoundKind> = mine
        .iter()
        .filter(|t| t.state == round::TaskState::Open)
        .map(|t| t.round.kind)
        .collect();
    assert!(
        open.contains(&RoundKind::Covert) && open.contains(&RoundKind::Recheck),
        "{open:?}"
    );
    assert!(!recheck.is_closed());
}

#[test]
fn the_rounds_api_answers_the_office_within_its_reach() {
    let server = TestServer::start();
    let (r, _) = plan(&server, RoundKind::Open);
    let get = |raw: &Raw, path: &str| {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}{path}", raw.url))
            .bearer_auth(&raw.token)
            .send()
            .expect("get");
        let status = resp.status().as_u16();
        (status, resp.json::<serde_json::Value>().unwrap_or_default())
    };
    let office = Raw::login(&server, "supervisor1", "desk-1");
    let (s, list) = get(&office, "/v1/rounds");
    assert_eq!(s, 200);
    assert_eq!(list["rounds"][0]["id"], r.id.to_string());
    let (s, one) = get(&office, &format!("/v1/rounds/{}", r.id));
    assert_eq!(s, 200);
    assert_eq!(one["tasks"].as_array().map(Vec::len), Some(2));
    // 西湖区's supervisor sees it (城关街道 is theirs); a phone of an inspector or a unit does not.
    let district = Raw::login(&server, "supervisor2", "desk-2");
    assert_eq!(
        get(&district, "/v1/rounds").1["rounds"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    for user in ["inspector1", "unit1"] {
        let raw = Raw::login(&server, user, &format!("phone-{user}"));
        assert_eq!(get(&raw, "/v1/rounds").0, 403, "{user}");
        assert_eq!(get(&raw, &format!("/v1/rounds/{}", r.id)).0, 403, "{user}");
    }
    assert_eq!(get(&office, "/v1/rounds/not-a-round").0, 404);
    assert_eq!(
        get(&office, &format!("/v1/rounds/{}", Uuid::now_v7())).0,
        404
    );
}

#[test]
fn an_office_fills_in_the_standard_template_and_the_admin_imports_it() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::TempDir::new().expect("tmp");
    {
        let state = xuncha_server::AppState::open(dir.path(), xuncha_server::Config::default())
            .expect("state");
        xuncha_server::demo::seed_demo(&state).expect("seed");
    }
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
            .args(args)
            .arg("--data")
            .arg(dir.path())
            .output()
            .expect("run xuncha-server")
    };
    let template = dir.path().join("template.xlsx");
    let out = cli(&[
        "standard-template",
        "--out",
        template.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("30 indicators"));
    // The template read back is the city's standard.
    let bytes = std::fs::read(&template).expect("template");
    let read = xuncha_server::standard_sheet::read(&bytes).expect("read");
    assert_eq!(read, xuncha_server::demo::standard::demo_standard());

    // An office's own sheet: two indicators, one a quota.
    let mut wb = Workbook::new();
    let ws = wb
        .add_worksheet()
        .set_name(xuncha_server::standard_sheet::SHEET)
        .expect("sheet");
    for (j, h) in xuncha_server::standard_sheet::HEADER.iter().enumerate() {
        ws.write_string(0, j as u16, *h).expect("header");
    }
    let rows: [[&str; 10]; 2] = [
        [
            "9.1",
            "候车亭整洁",
            "公交站台、主次干道",
            "4",
            "按处扣分",
            "1",
            "3",
            "",
            "",
            "0602",
        ],
        [
            "9.2",
            "公益广告每辆公交车不少于 2 处",
            "公交站台",
            "8",
            "按数量",
            "4",
            "",
            "2",
            "辆公交车",
            "",
        ],
    ];
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(i as u32 + 1, j as u16, *v).expect("cell");
            }
        }
    }
    let mine = dir.path().join("mine.xlsx");
    wb.save(&mine).expect("save");
    let out = cli(&["import-standard", mine.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 indicators (was 30)"));

    // A category the city does not have: refused, nothing changed.
    let mut bad = Workbook::new();
    let ws = bad
        .add_worksheet()
        .set_name(xuncha_server::standard_sheet::SHEET)
        .expect("sheet");
    for (j, h) in xuncha_server::standard_sheet::HEADER.iter().enumerate() {
        ws.write_string(0, j as u16, *h).expect("header");
    }
    for (j, v) in [
        "9.9",
        "井盖完好",
        "主次干道",
        "3",
        "达标",
        "",
        "",
        "",
        "",
        "9999",
    ]
    .iter()
    .enumerate()
    {
        if !v.is_empty() {
            ws.write_string(1, j as u16, *v).expect("cell");
        }
    }
    let wrong = dir.path().join("wrong.xlsx");
    bad.save(&wrong).expect("save");
    let out = cli(&["import-standard", wrong.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("9999"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state =
        xuncha_server::AppState::open(dir.path(), xuncha_server::Config::default()).expect("state");
    let (_, data) = state.store.reference().expect("reference");
    let codes: Vec<&str> = data.standard.iter().map(|i| i.code.as_str()).collect();
    assert_eq!(codes, ["9.1", "9.2"], "the refused sheet changed nothing");
    assert_eq!(data.standard[0].site_types, ["公交站台", "主次干道"]);
}

#[test]
fn a_refused_recheck_leaves_nothing_behind_and_the_task_can_be_done_again() {
    let server = TestServer::start();
    let case = closed_case(&server, 0x71);
    let today = chrono::Utc::now().date_naive();
    let plan = |name: &str| {
        xuncha_server::rounds::plan_rechecks(
            server.state.store.as_ref(),
            &principal(&server, "supervisor1"),
            xuncha_server::rounds::RecheckPlan {
                name: name.into(),
                area_id: None,
                starts_on: today,
                ends_on: today,
                due_ms: now_ms() + 86_400_000,
                category_prefix: None,
                unit: None,
                reported_from_ms: None,
                reported_before_ms: None,
                sample: None,
                teams: vec![vec!["inspector2".into()]],
            },
            now_ms(),
        )
        .expect("plan")
        .1[0]
            .id
    };
    // Two 回头看 rounds on the same closed case.
    let (a, b) = (plan("回头看甲"), plan("回头看乙"));
    let mut inspector2 = Raw::login(&server, "inspector2", "phone-i2");
    let recheck = |outcome, seed| OpBody::Recheck {
        outcome,
        photos: vec![photo(seed)],
        position: None,
        note: String::new(),
    };
    use xuncha_core::round::RecheckOutcome::{Held, Recurred};
    let first = inspector2.op(a, recheck(Recurred, 0x72));
    let answer = inspector2.push(&[first]);
    assert_eq!(answer.results[0].status, OpStatus::Accepted);
    let events = server.state.store.timeline(case).expect("timeline").len();
    // Recurred again on the other round: the case is reopened already, so the reopen is
    // refused — and its comment is not written either.
    let second = inspector2.op(b, recheck(Recurred, 0x73));
    assert_eq!(
        code(&inspector2.push(&[second]), 0),
        Some("illegal_transition")
    );
    assert_eq!(
        server.state.store.timeline(case).expect("timeline").len(),
        events
    );
    // The task is still open: a re-check that fits goes in.
    let third = inspector2.op(b, recheck(Held, 0x74));
    assert_eq!(
        inspector2.push(&[third]).results[0].status,
        OpStatus::Accepted
    );
    assert_eq!(
        server.state.store.timeline(case).expect("timeline").len(),
        events + 1
    );
}

#[test]
fn an_admin_replaces_the_standard_from_the_console_and_a_supervisor_only_reads_it() {
    use reqwest::blocking::multipart::{Form, Part};
    let server = TestServer::start();
    let upload = |user: &str, bytes: Vec<u8>, name: &str| -> (u16, String) {
        let b = crate::console_kit::console(&server, user);
        let (_, page) = crate::console_kit::get(&b, &server, "/console/standard");
        let csrf = crate::console_kit::field(&page, "csrf");
        let form = Form::new()
            .text("csrf", csrf)
            .part("file", Part::bytes(bytes).file_name(name.to_string()));
        let r = b
            .post(format!("{}/console/standard", server.url))
            .multipart(form)
            .send()
            .expect("upload");
        (r.status().as_u16(), r.text().expect("page"))
    };
    // Everyone in the office reads it by site type, each rule in words.
    let sup = crate::console_kit::console(&server, "supervisor1");
    let (s, page) = crate::console_kit::get(&sup, &server, "/console/standard");
    assert_eq!(s, 200);
    assert!(
        page.contains("测评标准 (30)") && page.contains("农贸市场 · "),
        "{page}"
    );
    assert!(page.contains("每处扣"), "rules in words");
    assert!(
        !page.contains("type=\"file\""),
        "a supervisor is not offered the upload"
    );
    let (s, _) = crate::console_kit::get(
        &crate::console_kit::console(&server, "unit1"),
        &server,
        "/console/standard",
    );
    assert_eq!(s, 403);
    // The template is the city's standard.
    let r = sup
        .get(format!("{}/console/standard/template.xlsx", server.url))
        .send()
        .expect("template");
    assert_eq!(r.status().as_u16(), 200);
    let template = r.bytes().expect("bytes").to_vec();
    assert_eq!(
        xuncha_server::standard_sheet::read(&template).expect("read"),
        xuncha_server::demo::standard::demo_standard()
    );
    let version = |server: &TestServer| server.state.store.reference().expect("ref").0;
    let before = version(&server);

    // A supervisor's upload is refused; an admin's broken JSON too; nothing changes.
    let two = &xuncha_server::demo::standard::demo_standard()[..2];
    let json = serde_json::to_vec(two).expect("json");
    assert_eq!(upload("supervisor1", json.clone(), "s.json").0, 403);
    crate::helpers::add_district_admin(&server);
    assert_eq!(
        upload("admin2", json.clone(), "d.json").0,
        403,
        "a district's admin does not replace the city's standard"
    );
    let mut wrong = two.to_vec();
    wrong[1].category = Some("9999".into());
    let (s, page) = upload("admin", serde_json::to_vec(&wrong).expect("json"), "w.json");
    assert_eq!(s, 422);
    assert!(page.contains("未导入") && page.contains("9999"), "{page}");
    let (s, page) = upload("admin", b"not a standard".to_vec(), "x.xlsx");
    assert_eq!(s, 422, "{page}");
    assert_eq!(version(&server), before, "refusals change nothing");

    // The admin's JSON, then the Excel template back: each replaces the standard.
    let (s, page) = upload("admin", json, "two.json");
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("2 项指标（原 30 项）"), "{page}");
    assert_eq!(server.state.store.reference().expect("ref").1.standard, two);
    let (s, page) = upload("admin", template, "xuncha-standard.xlsx");
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("30 项指标（原 2 项）"), "{page}");
    assert!(version(&server) > before);
}
