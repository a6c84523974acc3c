//! Device simulator: real client stores (one SQLite file per simulated phone) driven through the
//! whole case lifecycle against a running server — then inspection rounds planned by the office
//! through the console and checked offline by the inspectors' phones — then an audit that every
//! operation each device created (site checks and re-checks included) is on the server exactly
//! once or in that device's rejection inbox.
//!
//! cargo run --release -p xuncha-tests --bin xuncha-sim -- --server URL --inspectors N \
//!     --units M --reports K [--offline-rounds R]
//!
//! Simulated phones sign in with the demo accounts (inspectors as inspector1/inspector2, unit
//! staff as unit1/unit2, password `demo`); each phone is its own device to the server.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Parser;
use uuid::Uuid;
use xuncha_core::reference::ReferenceIndex;
use xuncha_core::scope::Reach;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::workflow::Action;
use xuncha_core::{OpBody, Status, Store};
use xuncha_tests::rounds::{Desk, fill_open_task};
use xuncha_tests::{Rng, TAXONOMY, jpeg_bytes, random_location};

#[derive(Parser)]
#[command(about = "Drive simulated Xuncha phones against a running server")]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// Inspector phones.
    #[arg(long, default_value_t = 4)]
    inspectors: usize,
    /// Unit-staff phones (alternating between unit 1 and unit 2).
    #[arg(long, default_value_t = 2)]
    units: usize,
    /// Reports in total.
    #[arg(long, default_value_t = 40)]
    reports: usize,
    /// Rounds in which inspectors report while offline before they sync.
    #[arg(long, default_value_t = 1)]
    offline_rounds: usize,
    /// Random seed (printed; replay with the same value).
    #[arg(long)]
    seed: Option<u64>,
}

struct Phone {
    name: String,
    store: Store,
    created: HashSet<Uuid>,
}

impl Phone {
    fn new(
        root: &std::path::Path,
        server: &str,
        name: String,
        user: &str,
    ) -> xuncha_core::Result<Phone> {
        let store = Store::open(root.join(&name))?;
        store.sign_in_remote(server, user, "demo", &name)?;
        let mut p = Phone {
            name,
            store,
            created: HashSet::new(),
        };
        p.sync()?;
        Ok(p)
    }

    /// Note every op made since the last sync, then sync.
    fn sync(&mut self) -> xuncha_core::Result<()> {
        for op in self.store.pending_ops(1_000_000)? {
            self.created.insert(op.id);
        }
        self.store.sync(
            &SyncOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )?;
        Ok(())
    }

    fn cases(&self, status: Status) -> xuncha_core::Result<Vec<Uuid>> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.store.list_cases(&CaseQuery {
                statuses: vec![status],
                limit: 500,
                offset,
                ..CaseQuery::default()
            })?;
            out.extend(page.items.iter().map(|i| i.case.id));
            if !page.has_more {
                return Ok(out);
            }
            offset += 500;
        }
    }
}

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(clean) => std::process::exit(if clean { 0 } else { 1 }),
        Err(e) => {
            eprintln!("xuncha-sim: {e} ({})", e.code());
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> xuncha_core::Result<bool> {
    let seed = args.seed.unwrap_or_else(Rng::seed_from_time);
    let mut rng = Rng::new(seed);
    let root = tempfile::Builder::new().prefix("xuncha-sim-").tempdir()?;
    println!("seed: {seed}");
    println!("device stores: {}", root.path().display());
    let started = Instant::now();
    let s = &args.server;
    let mut inspectors: Vec<Phone> = (0..args.inspectors.max(1))
        .map(|i| {
            Phone::new(
                root.path(),
                s,
                format!("inspector-{i}"),
                if i % 2 == 0 {
                    "inspector1"
                } else {
                    "inspector2"
                },
            )
        })
        .collect::<Result<_, _>>()?;
    let mut units: Vec<Phone> = (0..args.units.max(1))
        .map(|i| {
            Phone::new(
                root.path(),
                s,
                format!("unit-{i}"),
                if i % 2 == 0 { "unit1" } else { "unit2" },
            )
        })
        .collect::<Result<_, _>>()?;
    let mut supervisor = Phone::new(root.path(), s, "supervisor-0".into(), "supervisor1")?;
    // 西湖区's supervisor: urges the district's dispatched cases.
    let mut district = Phone::new(root.path(), s, "district-0".into(), "supervisor2")?;

    // Reports, made offline over several rounds, then synced.
    let rounds = args.offline_rounds.max(1);
    for round in 0..rounds {
        for i in 0..args.reports {
            if i % rounds != round {
                continue;
            }
            let phone = &inspectors[i % inspectors.len()];
            let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
            let photo = jpeg_bytes(rng.next_u64(), rng.range(20_000, 120_000) as usize);
            phone.store.report(NewReport {
                category: code.into(),
                description: format!("{name}（模拟第 {i} 件）"),
                location: random_location(&mut rng),
                site_id: None,
                campaign_id: None,
                undercover: rng.range(0, 5) == 0,
                photos: vec![PhotoInput::bytes(photo)],
            })?;
        }
    }
    for p in &mut inspectors {
        p.sync()?;
    }

    // The office registers and dispatches everything that came in.
    supervisor.sync()?;
    for (n, c) in supervisor.cases(Status::Submitted)?.into_iter().enumerate() {
        supervisor.store.act(
            c,
            OpBody::Register {
                note: String::new(),
            },
            vec![],
        )?;
        // The street offices of both districts (u9 is 上城区's, which no phone here works).
        let unit = ["u1", "u2", "u1", "u2", "u9"][n % 5];
        supervisor.store.act(
            c,
            OpBody::Dispatch {
                unit_id: unit.into(),
                deadline_ms: None,
                note: String::new(),
            },
            vec![],
        )?;
    }
    supervisor.sync()?;

    // The district urges what its units hold (offline, then synced): on cases it sees only;
    // every fourth it escalates (督办) to the city as well.
    district.sync()?;
    for (n, c) in district.cases(Status::Dispatched)?.into_iter().enumerate() {
        district.store.act(
            c,
            OpBody::Urge {
                reason: "请尽快签收处理".into(),
            },
            vec![],
        )?;
        if n % 4 == 0 {
            district.store.act(
                c,
                OpBody::Escalate {
                    reason: "多次催办未签收，提请市级督办".into(),
                },
                vec![],
            )?;
        }
    }
    district.sync()?;

    // Units acknowledge and rectify offline (two phones of one unit may race: one loses).
    for p in &mut units {
        p.sync()?;
        for c in p.cases(Status::Dispatched)? {
            p.store.act(
                c,
                OpBody::Acknowledge {
                    note: String::new(),
                },
                vec![],
            )?;
            let after = PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 30_000));
            p.store.act(
                c,
                OpBody::Rectify {
                    note: "已整改".into(),
                    photos: vec![],
                },
                vec![after],
            )?;
        }
    }
    for p in &mut units {
        p.sync()?;
    }

    // Verification: most pass, some go back for rework.
    supervisor.sync()?;
    for c in supervisor.cases(Status::Rectified)? {
        let body = if rng.range(0, 5) == 0 {
            OpBody::VerifyFail {
                reason: "整改不到位".into(),
                deadline_ms: None,
                photos: vec![],
            }
        } else {
            OpBody::VerifyPass {
                note: String::new(),
                photos: vec![],
            }
        };
        supervisor.store.act(c, body, vec![])?;
    }
    supervisor.sync()?;

    // Inspection rounds: the office plans, through the console's forms, a 明查 of the city's
    // bus stops and a 回头看 of what is closed, for one-person teams of the two inspectors;
    // their phones (two per person where there are more than two: one of a pair loses the race
    // for a task) fill their tasks offline, then sync.
    let desk = Desk::sign_in(s, "supervisor1").map_err(xuncha_core::Error::Network)?;
    let team = ["inspector1", "inspector2"];
    let plans = [
        (format!("模拟测评 {seed}"), false),
        (format!("模拟回头看 {seed}"), true),
    ];
    for (name, recheck) in &plans {
        let status = desk
            .plan(name, *recheck, "公交站台", &team)
            .map_err(xuncha_core::Error::Network)?;
        if status != 200 {
            eprintln!("round {name}: the console answered {status}");
        }
    }
    for p in &mut inspectors {
        p.sync()?;
    }
    for p in &inspectors {
        for pick in 0..12 {
            let _ = fill_open_task(&p.store, pick, &mut rng);
        }
    }
    for p in &mut inspectors {
        p.sync()?;
    }
    for p in inspectors
        .iter_mut()
        .chain(units.iter_mut())
        .chain(std::iter::once(&mut district))
    {
        p.sync()?;
    }
    supervisor.sync()?;
    district.sync()?;
    let elapsed = started.elapsed();

    // Audit with a fresh supervisor phone that pulls the whole feed.
    let auditor = Phone::new(root.path(), s, "auditor".into(), "supervisor1")?;
    let mut on_server: HashMap<Uuid, usize> = HashMap::new();
    let mut cases = 0;
    let mut closed = 0;
    // The district's view must be the server's cases in its reach (core's rule).
    let city = xuncha_tests::demo_city();
    let index = ReferenceIndex::new(&city);
    let district_area = city
        .users
        .iter()
        .find(|u| u.id == "supervisor2")
        .and_then(|u| u.area_id.clone());
    let reach = Reach::of(
        &district
            .store
            .session()
            .ok_or(xuncha_core::Error::NotSignedIn)?
            .actor(),
        district_area.as_deref(),
        &index,
    );
    let mut in_district: Vec<Uuid> = Vec::new();
    let mut raised = 0;
    let (mut urged, mut escalated) = (0, 0);
    for status in Status::ALL {
        for c in auditor.cases(*status)? {
            if auditor.store.case_detail(c)?.case.checked.is_some() {
                raised += 1;
            } else {
                cases += 1;
            }
            if reach.can_see(&auditor.store.case_detail(c)?.case) {
                in_district.push(c);
            }
            if *status == Status::Closed {
                closed += 1;
            }
            for e in auditor.store.case_detail(c)?.timeline {
                *on_server.entry(e.op.id).or_default() += 1;
                match e.op.body.action() {
                    Action::Urge => urged += 1,
                    Action::Escalate => escalated += 1,
                    _ => {}
                }
            }
        }
    }
    // A round's submission is kept on its task, not as a case event.
    let (mut tasks, mut kept, mut rechecked, mut recurred) = (0, 0, 0, 0);
    for r in desk.rounds().map_err(xuncha_core::Error::Network)? {
        if !plans.iter().any(|(name, _)| *name == r.round.name) {
            continue;
        }
        tasks += r.tasks.len();
        for t in &r.tasks {
            if let Some(result) = &t.result {
                *on_server.entry(result.op_id).or_default() += 1;
                kept += 1;
            }
        }
        let (n, back) = xuncha_core::round::recheck_counts(&r.tasks);
        rechecked += n;
        recurred += back;
    }
    let (mut created, mut accepted, mut rejected, mut lost, mut duplicated) = (0, 0, 0, 0, 0);
    let mut district_view: Vec<Uuid> = Vec::new();
    for status in Status::ALL {
        district_view.extend(district.cases(*status)?);
    }
    district_view.sort();
    in_district.sort();
    let district_equal = district_view == in_district;
    let phones: Vec<&Phone> = inspectors
        .iter()
        .chain(units.iter())
        .chain([&supervisor, &district])
        .collect();
    for p in &phones {
        let inbox: HashSet<Uuid> = p.store.rejections()?.into_iter().map(|r| r.op.id).collect();
        for op in &p.created {
            created += 1;
            let n = on_server.get(op).copied().unwrap_or(0);
            match (n, inbox.contains(op)) {
                (1, false) => accepted += 1,
                (0, true) => rejected += 1,
                (0, false) => {
                    lost += 1;
                    eprintln!("lost: op {op} of {}", p.name);
                }
                _ => {
                    duplicated += 1;
                    eprintln!(
                        "duplicated: op {op} of {} ({n} on server, in inbox: {})",
                        p.name,
                        inbox.contains(op)
                    );
                }
            }
        }
        if p.store.pending_count()? > 0 {
            eprintln!("{}: {} ops still pending", p.name, p.store.pending_count()?);
            lost += p.store.pending_count()? as usize;
        }
    }
    println!(
        "devices: {} ({} inspectors, {} unit staff, the city's and a district's supervisor)",
        phones.len(),
        inspectors.len(),
        units.len()
    );
    println!("cases: {cases} reported, {raised} raised by round checks (closed {closed})");
    println!(
        "rounds: {} tasks, {kept} submissions kept, 回头看 {rechecked} re-checked, {recurred} recurred (整改率 {})",
        tasks,
        xuncha_core::standard::rectification_rate(rechecked, recurred)
            .map(|r| format!("{:.1}%", r * 100.0))
            .unwrap_or_else(|| "—".into())
    );
    println!("ops created: {created} accepted: {accepted} rejected (in inboxes): {rejected}");
    println!("district: {urged} urged (催办), {escalated} escalated (督办)");
    println!("elapsed: {:.2} s", elapsed.as_secs_f64());
    println!(
        "district view (西湖区): {} cases, equal to the server's: {}",
        district_view.len(),
        if district_equal { "yes" } else { "NO" }
    );
    println!("lost: {lost} duplicated: {duplicated}");
    Ok(lost == 0 && duplicated == 0 && district_equal && urged > 0 && escalated > 0)
}
