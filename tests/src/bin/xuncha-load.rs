//! Load: many phones at once against one server, each a real device store (its own SQLite file)
//! on its own thread, working and syncing for a bounded time: inspectors report with photos,
//! supervisors register and dispatch what came in, unit staff acknowledge and rectify with
//! after-photos. Prints throughput and sync latency, then audits that every operation is on the
//! server exactly once or in its phone's rejection inbox. Exits non-zero on any failed sync, lost
//! or duplicated operation.
//!
//! With `--server-pid`, it measures the server process, not itself: CPU time per sync and peak
//! resident memory from `/proc/PID` (the phones share the machine, so the driver's own time says
//! little about the server).
//!
//! cargo run --release -p xuncha-tests --bin xuncha-load -- --server URL --devices 1000 \
//!     --seconds 60 --pause-ms 0-10000 --server-pid PID

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use uuid::Uuid;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::{OpBody, Status, Store};
use xuncha_tests::{Rng, TAXONOMY, jpeg_bytes, random_location};

#[derive(Parser)]
#[command(about = "Drive many simulated Xuncha phones at once against a running server")]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// Phones working at the same time.
    #[arg(long, default_value_t = 300)]
    devices: usize,
    /// How long they work (seconds).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Pause before each round of a phone, drawn uniformly from this range (ms): `0-10000`, or
    /// one number for a fixed pause.
    #[arg(long, default_value = "0-1000", value_parser = pause_range)]
    pause_ms: (u64, u64),
    /// Light phones: the same sync requests without a database on the phone
    /// (`xuncha_tests::light_phone`), so a thousand fit beside the server on a small machine;
    /// photos by reference. Without it every phone is a real device store (the honest
    /// end-to-end figure, but the phones then compete with the server for the CPU).
    #[arg(long)]
    light: bool,
    /// The server's process id, to read its CPU time and memory from `/proc`.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// `MIN-MAX` or `N` milliseconds.
fn pause_range(s: &str) -> Result<(u64, u64), String> {
    let parse = |v: &str| v.trim().parse::<u64>().map_err(|e| format!("'{v}': {e}"));
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(s)?, parse(s)?),
    };
    if lo > hi {
        return Err(format!("{lo} is more than {hi}"));
    }
    Ok((lo, hi))
}

/// What `/proc` says of the server: CPU time (user + system, all threads) and resident memory.
#[derive(Debug, Clone, Copy, Default)]
struct ServerSample {
    cpu_ms: f64,
    rss_kb: u64,
}

/// Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on every Linux ABI this runs on).
const USER_HZ: f64 = 100.0;

fn server_sample(pid: u32) -> Option<ServerSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ServerSample {
        cpu_ms: ticks * 1000.0 / USER_HZ,
        rss_kb,
    })
}

/// The server's side of a run: its CPU time and memory before and after (with `--server-pid`),
/// its peak memory sampled while the phones work, and how many phones are still working.
struct ServerWatch {
    pid: Option<u32>,
    before: Option<ServerSample>,
    peak_rss_kb: AtomicU64,
    running: AtomicU64,
}

impl ServerWatch {
    /// Before `phones` phones start.
    fn new(pid: Option<u32>, phones: usize) -> ServerWatch {
        let before = pid.and_then(server_sample);
        ServerWatch {
            pid,
            before,
            peak_rss_kb: AtomicU64::new(before.map(|s| s.rss_kb).unwrap_or(0)),
            running: AtomicU64::new(phones as u64),
        }
    }

    /// Sample the server's resident memory every 100 ms, on a thread of `scope`, until every
    /// phone is done (or `give_up`).
    fn watch<'s>(&'s self, scope: &'s std::thread::Scope<'s, '_>, give_up: Instant) {
        let Some(pid) = self.pid else { return };
        scope.spawn(move || {
            while self.running.load(Ordering::SeqCst) > 0 && Instant::now() < give_up {
                if let Some(now) = server_sample(pid) {
                    self.peak_rss_kb.fetch_max(now.rss_kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
    }

    /// One phone stopped working.
    fn phone_done(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }

    /// Sync latency (sorted, ms), the audit, and the server's CPU per sync and memory, with
    /// `after` read when the phones stopped.
    fn print(
        &self,
        lat: &[f64],
        (lost, duplicated): (u64, u64),
        after: Option<ServerSample>,
        secs: f64,
    ) {
        println!(
            "sync latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(lat, 0.50),
            percentile(lat, 0.95),
            percentile(lat, 0.99),
            lat.last().copied().unwrap_or(0.0)
        );
        println!("lost: {lost} duplicated: {duplicated}");
        match (self.before, after) {
            (Some(b), Some(a)) => {
                let cpu = a.cpu_ms - b.cpu_ms;
                println!(
                    "server: {cpu:.0} ms CPU in {secs:.1} s ({:.0}% of one core), {:.2} ms CPU per sync, \
                     peak RSS {:.0} MB (now {:.0} MB)",
                    cpu / (secs * 10.0),
                    cpu / lat.len().max(1) as f64,
                    self.peak_rss_kb.load(Ordering::Relaxed) as f64 / 1024.0,
                    a.rss_kb as f64 / 1024.0
                );
            }
            _ if self.pid.is_some() => println!("server: /proc of the given pid not readable"),
            _ => println!("server: not measured (give --server-pid)"),
        }
    }
}

/// The load with light phones ([`xuncha_tests::light_phone`]): each works, pushes and pulls
/// after a pause; every operation it made must come back answered (accepted once, on the
/// server, or refused) — a failed sync keeps its operations for the next round, as a phone's
/// outbox does.
fn run_light(args: &Args) -> xuncha_core::Result<bool> {
    use xuncha_tests::light_phone::LightPhone;
    let n = args.devices.max(1);
    let t = Instant::now();
    let http = LightPhone::client()?;
    let http = &http;
    let phones: Vec<Mutex<LightPhone>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|k| {
                s.spawn(move || {
                    (0..n)
                        .filter(|i| i % 8 == k)
                        .map(|i| {
                            LightPhone::sign_in(
                                http,
                                &args.server,
                                person(i).1,
                                &format!("light {i}"),
                            )
                            .map(|p| (i, p))
                        })
                        .collect::<xuncha_core::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| xuncha_core::Error::Cancelled)??);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok::<_, xuncha_core::Error>(all.into_iter().map(|(_, p)| Mutex::new(p)).collect())
    })?;
    println!(
        "signed in {n} light phones in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    for p in &phones {
        p.lock().unwrap_or_else(|e| e.into_inner()).sync(&[])?;
    }
    let latencies = Mutex::new(Vec::<f64>::new());
    let failures = AtomicU64::new(0);
    let answered: Mutex<HashMap<Uuid, bool>> = Mutex::new(HashMap::new());
    let unanswered = AtomicU64::new(0);
    let deadline = Duration::from_secs(args.seconds);
    let server = ServerWatch::new(args.server_pid, n);
    let began = Instant::now();
    std::thread::scope(|s| {
        server.watch(s, began + deadline * 3);
        for (i, phone) in phones.iter().enumerate() {
            let (latencies, failures, answered, unanswered, server) =
                (&latencies, &failures, &answered, &unanswered, &server);
            let mut rng = Rng::new(args.seed.wrapping_mul(1000).wrapping_add(i as u64 + 1));
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(s, move || {
                    let mut phone = phone.lock().unwrap_or_else(|e| e.into_inner());
                    let mut outbox = Vec::new();
                    let mut local = Vec::new();
                    let mut mine = HashMap::new();
                    while began.elapsed() < deadline {
                        let (lo, hi) = args.pause_ms;
                        std::thread::sleep(Duration::from_millis(rng.range(lo, hi + 1)));
                        outbox.extend(phone.work(&mut rng));
                        let t = Instant::now();
                        match phone.sync(&outbox) {
                            Ok(done) => {
                                local.push(t.elapsed().as_secs_f64() * 1000.0);
                                mine.extend(done.accepted.into_iter().map(|id| (id, true)));
                                mine.extend(done.refused.into_iter().map(|id| (id, false)));
                                outbox.clear();
                            }
                            Err(e) => {
                                eprintln!("phone {i}: sync failed: {e}");
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    // A last sync delivers what is left.
                    match phone.sync(&outbox) {
                        Ok(done) => {
                            mine.extend(done.accepted.into_iter().map(|id| (id, true)));
                            mine.extend(done.refused.into_iter().map(|id| (id, false)));
                        }
                        Err(_) => {
                            unanswered.fetch_add(outbox.len() as u64, Ordering::Relaxed);
                        }
                    }
                    latencies
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(local);
                    answered
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(mine);
                    server.phone_done();
                })
                .map(|_| ())
                .unwrap_or_else(|e| {
                    eprintln!("phone {i}: no thread: {e}");
                    failures.fetch_add(1, Ordering::Relaxed);
                    server.phone_done();
                });
        }
    });
    let elapsed = began.elapsed();
    let server_after = args.server_pid.and_then(server_sample);
    // Audit: a fresh supervisor pulls the whole feed and counts each operation's events.
    let mut auditor = LightPhone::sign_in(http, &args.server, "supervisor1", "light auditor")?;
    let on_server = auditor.feed_op_counts()?;
    let answered = answered.into_inner().unwrap_or_else(|e| e.into_inner());
    let (mut accepted, mut refused, mut lost, mut duplicated) = (0, 0, 0, 0);
    for (op, ok) in &answered {
        match (on_server.get(op).copied().unwrap_or(0), ok) {
            (1, true) => accepted += 1,
            (0, false) => refused += 1,
            (0, true) => lost += 1,
            _ => duplicated += 1,
        }
    }
    lost += unanswered.load(Ordering::Relaxed);
    let mut lat = latencies.into_inner().unwrap_or_else(|e| e.into_inner());
    lat.sort_by(f64::total_cmp);
    let failed = failures.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    println!(
        "light phones: {n}, worked for {secs:.1} s, pause {:?} ms",
        args.pause_ms
    );
    println!(
        "syncs: {} ({:.1}/s), failed syncs: {failed}",
        lat.len(),
        lat.len() as f64 / secs
    );
    println!(
        "ops: {} accepted: {accepted} refused: {refused}",
        answered.len()
    );
    server.print(&lat, (lost, duplicated), server_after, secs);
    Ok(failed == 0 && lost == 0 && duplicated == 0)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Inspector,
    Supervisor,
    Unit,
}

/// Who device `i` is: mostly inspectors, some unit staff, a few supervisors.
fn person(i: usize) -> (Kind, &'static str) {
    match i % 20 {
        0 => (Kind::Supervisor, "supervisor1"),
        1 | 2 => (Kind::Unit, "unit1"),
        3 | 4 => (Kind::Unit, "unit2"),
        n if n % 2 == 0 => (Kind::Inspector, "inspector1"),
        _ => (Kind::Inspector, "inspector2"),
    }
}

fn sync_opts() -> SyncOptions {
    SyncOptions {
        timeout: Duration::from_secs(60),
        ..SyncOptions::default()
    }
}

fn sync(store: &Store) -> xuncha_core::Result<()> {
    store
        .sync(&sync_opts(), &mut |_| {}, &AtomicBool::new(false))
        .map(|_| ())
}

fn in_status(store: &Store, status: Status, limit: u32) -> xuncha_core::Result<Vec<Uuid>> {
    Ok(store
        .list_cases(&CaseQuery {
            statuses: vec![status],
            limit,
            ..CaseQuery::default()
        })?
        .items
        .into_iter()
        .map(|i| i.case.id)
        .collect())
}

/// One round of a phone's work (without the sync).
fn work(kind: Kind, store: &Store, rng: &mut Rng) -> xuncha_core::Result<()> {
    match kind {
        Kind::Inspector => {
            let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
            store.report(NewReport {
                category: code.into(),
                description: name.into(),
                location: random_location(rng),
                site_id: None,
                campaign_id: None,
                undercover: false,
                photos: vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 20_000))],
            })?;
        }
        Kind::Supervisor => {
            for c in in_status(store, Status::Submitted, 5)? {
                store.act(
                    c,
                    OpBody::Register {
                        note: String::new(),
                    },
                    vec![],
                )?;
                store.act(
                    c,
                    OpBody::Dispatch {
                        unit_id: if rng.range(0, 2) == 0 { "u1" } else { "u2" }.into(),
                        deadline_ms: None,
                        note: String::new(),
                    },
                    vec![],
                )?;
            }
        }
        Kind::Unit => {
            for c in in_status(store, Status::Dispatched, 3)? {
                store.act(
                    c,
                    OpBody::Acknowledge {
                        note: String::new(),
                    },
                    vec![],
                )?;
                store.act(
                    c,
                    OpBody::Rectify {
                        note: "已整改".into(),
                        photos: vec![],
                    },
                    vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 20_000))],
                )?;
            }
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args = Args::parse();
    let outcome = if args.light {
        run_light(&args)
    } else {
        run(&args)
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("xuncha-load: {e} ({})", e.code());
            std::process::exit(2);
        }
    }
}

fn run(args: &Args) -> xuncha_core::Result<bool> {
    let root = tempfile::Builder::new().prefix("xuncha-load-").tempdir()?;
    println!("device stores: {}", root.path().display());
    let n = args.devices.max(1);
    let t = Instant::now();
    // Sign in (argon2 on the server) before the clock starts, a few at a time.
    let stores: Vec<Store> = std::thread::scope(|s| {
        let chunks: Vec<_> = (0..n)
            .collect::<Vec<_>>()
            .chunks(n.div_ceil(8))
            .map(|c| c.to_vec())
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let root = root.path();
                let url = &args.server;
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|i| {
                            let store = Store::open(root.join(format!("phone-{i}")))?;
                            store.sign_in_remote(url, person(i).1, "demo", &format!("load {i}"))?;
                            sync(&store)?;
                            Ok(store)
                        })
                        .collect::<xuncha_core::Result<Vec<Store>>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| xuncha_core::Error::Cancelled)??);
        }
        Ok::<_, xuncha_core::Error>(all)
    })?;
    println!(
        "signed in and synced {n} phones in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let latencies = Mutex::new(Vec::<f64>::new());
    let failures = AtomicU64::new(0);
    let made: Mutex<HashMap<usize, HashSet<Uuid>>> = Mutex::new(HashMap::new());
    let start = Barrier::new(n);
    let deadline = Duration::from_secs(args.seconds);
    let server = ServerWatch::new(args.server_pid, n);
    let began = Instant::now();
    std::thread::scope(|s| {
        server.watch(s, began + deadline * 3);
        let server = &server;
        for (i, store) in stores.iter().enumerate() {
            let (latencies, failures, made, start) = (&latencies, &failures, &made, &start);
            let mut rng = Rng::new(args.seed.wrapping_mul(1000).wrapping_add(i as u64 + 1));
            s.spawn(move || {
                start.wait();
                let t0 = Instant::now();
                let mut mine = HashSet::new();
                let mut local = Vec::new();
                while t0.elapsed() < deadline {
                    let (lo, hi) = args.pause_ms;
                    std::thread::sleep(Duration::from_millis(rng.range(lo, hi + 1)));
                    if let Err(e) = work(person(i).0, store, &mut rng) {
                        eprintln!("phone {i}: local action failed: {e:?}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(ops) = store.pending_ops(100_000) {
                        mine.extend(ops.into_iter().map(|o| o.id));
                    }
                    let t = Instant::now();
                    match sync(store) {
                        Ok(()) => local.push(t.elapsed().as_secs_f64() * 1000.0),
                        Err(e) => {
                            eprintln!("phone {i}: sync failed: {e:?}");
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(local);
                made.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(i, mine);
                server.phone_done();
            });
        }
    });
    let elapsed = began.elapsed();
    let server_after = args.server_pid.and_then(server_sample);

    // Everyone syncs once more, then a fresh supervisor phone audits the whole feed.
    for store in &stores {
        sync(store)?;
    }
    let auditor = Store::open(root.path().join("auditor"))?;
    auditor.sign_in_remote(&args.server, "supervisor1", "demo", "auditor")?;
    sync(&auditor)?;
    let mut on_server: HashMap<Uuid, usize> = HashMap::new();
    let mut cases = 0;
    for status in Status::ALL {
        let mut offset = 0;
        loop {
            let page = auditor.list_cases(&CaseQuery {
                statuses: vec![*status],
                limit: 500,
                offset,
                ..CaseQuery::default()
            })?;
            for item in &page.items {
                cases += 1;
                for e in auditor.case_detail(item.case.id)?.timeline {
                    *on_server.entry(e.op.id).or_default() += 1;
                }
            }
            if !page.has_more {
                break;
            }
            offset += 500;
        }
    }
    let made = made.into_inner().unwrap_or_else(|p| p.into_inner());
    let (mut ops, mut accepted, mut rejected, mut lost, mut duplicated) = (0, 0, 0, 0, 0);
    for (i, store) in stores.iter().enumerate() {
        let inbox: HashSet<Uuid> = store.rejections()?.into_iter().map(|r| r.op.id).collect();
        for op in made.get(&i).into_iter().flatten() {
            ops += 1;
            match (on_server.get(op).copied().unwrap_or(0), inbox.contains(op)) {
                (1, false) => accepted += 1,
                (0, true) => rejected += 1,
                (0, false) => lost += 1,
                _ => duplicated += 1,
            }
        }
    }
    let mut lat = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    lat.sort_by(f64::total_cmp);
    let failed = failures.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    println!("devices: {n}, worked for {secs:.1} s");
    println!(
        "syncs: {} ({:.1}/s), failed syncs: {failed}",
        lat.len(),
        lat.len() as f64 / secs
    );
    println!(
        "ops: {ops} ({:.1}/s) accepted: {accepted} rejected (in inboxes): {rejected}; cases: {cases}",
        ops as f64 / secs
    );
    server.print(&lat, (lost, duplicated), server_after, secs);
    Ok(failed == 0 && lost == 0 && duplicated == 0)
}
