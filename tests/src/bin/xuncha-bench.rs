//! Xuncha benchmarks. Prints one figure per line as `name: value unit`, with ratios against a
//! baseline measured in the same run. Lines starting with `#` are context, not figures.
//!
//! Usage: xuncha-bench [core] [sync] [mobile] [console] [photos] [--cases N]
//!   (XUNCHA_BENCH_QUICK=1 stops `core` after the report figures and `sync` after the SQLite
//!   push. `--cases N` builds a campaign year of N cases on a server first: `console` measures
//!   its pages on it, `core` a fresh phone's bootstrap of it (default 1,000,000) in a process of
//!   its own, for its peak RSS. XUNCHA_BENCH_KEEP=1 leaves the year's database for a closer look)

use std::time::{Duration, Instant};

use uuid::Uuid;
use xuncha_core::store::{CaseQuery, CaseSort, NewReport, PhotoInput};
use xuncha_core::{OpBody, Session, Status, Store};
use xuncha_tests::{Rng, TAXONOMY, demo_city, jpeg_bytes, random_location};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut console_cases = None;
    if let Some(i) = args.iter().position(|a| a == "--cases") {
        let n = args.get(i + 1).and_then(|v| v.parse::<usize>().ok());
        let Some(n) = n.filter(|n| *n >= 1_000) else {
            eprintln!("--cases wants a number of cases, at least 1000");
            std::process::exit(2);
        };
        console_cases = Some(n);
        args.drain(i..i + 2);
    }
    if args.first().map(String::as_str) == Some(DEVICE_BOOTSTRAP) {
        let (Some(url), Some(dir)) = (args.get(1), args.get(2)) else {
            eprintln!("{DEVICE_BOOTSTRAP} wants a server URL and a folder");
            std::process::exit(2);
        };
        if let Err(e) = device_bootstrap(url, std::path::Path::new(dir)) {
            eprintln!("device bootstrap failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let which = args;
    let which = if which.is_empty() {
        vec!["core".to_string()]
    } else {
        which
    };
    for w in which {
        let res = match w.as_str() {
            "core" => core().and_then(|()| {
                if std::env::var_os("XUNCHA_BENCH_QUICK").is_some() {
                    return Ok(());
                }
                device_at_city_scale(console_cases.unwrap_or(1_000_000))
            }),
            "sync" => sync(),
            "mobile" => mobile(),
            "console" => match console_cases {
                Some(n) => console_year(n),
                None => console(),
            },
            "photos" => photos(),
            other => {
                eprintln!(
                    "unknown benchmark '{other}' (known: core, sync, mobile, console, photos)"
                );
                std::process::exit(2);
            }
        };
        if let Err(e) = res {
            eprintln!("benchmark {w} failed: {e}");
            std::process::exit(1);
        }
    }
}

fn figure(name: &str, value: f64, unit: &str) {
    println!("{name}: {value:.3} {unit}");
}

fn open_store(dir: &std::path::Path, user: &str, role: &str) -> xuncha_core::Result<Store> {
    let store = Store::open(dir)?;
    store.load_reference(&demo_city())?;
    store.set_session(&Session::new(user, role, None)?)?;
    Ok(store)
}

fn new_report(rng: &mut Rng, photos: Vec<PhotoInput>) -> NewReport {
    let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
    NewReport {
        category: code.to_string(),
        description: format!("{name}：巡查发现，编号 {}", rng.next_u64() % 100_000),
        location: random_location(rng),
        site_id: Some(format!("s{}", rng.range(1, 41))),
        campaign_id: None,
        undercover: false,
        photos,
    }
}

/// Reports per transaction in the batched figure (the baseline writes all its rows in one).
const BATCH: usize = 10_000;

/// `n` (a multiple of 1,000) reports without photos made offline on `store`, 1,000 per
/// transaction.
fn report_offline(store: &Store, rng: &mut Rng, n: usize) -> xuncha_core::Result<()> {
    for _ in 0..n / 1000 {
        let chunk: Vec<NewReport> = (0..1000).map(|_| new_report(rng, vec![])).collect();
        store.batch(|b| {
            for r in chunk {
                b.report(r)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// A server state with the demo city (no sample cases) under `dir/server`.
fn demo_state(dir: &std::path::Path) -> xuncha_core::Result<xuncha_server::AppState> {
    let state =
        xuncha_server::AppState::open(&dir.join("server"), xuncha_server::Config::default())?;
    xuncha_server::demo::seed_demo(&state).map_err(|e| xuncha_core::Error::Network(e.message))?;
    Ok(state)
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn core() -> xuncha_core::Result<()> {
    let tmp = tempfile::TempDir::new()?;
    let mut rng = Rng::new(42);
    println!("# xuncha-bench core (store on {})", tmp.path().display());

    // What one report's operation weighs, so the baseline writes rows of the same size.
    let probe = open_store(&tmp.path().join("probe"), "inspector1", "inspector")?;
    let op = probe.report(new_report(&mut rng, vec![]))?;
    let op_bytes = serde_json::to_string(&op)?.len();
    println!("# one report operation: {op_bytes} bytes of JSON");

    let raw_rate = raw_insert_rate(tmp.path(), op_bytes)?;
    figure("raw_insert_baseline", raw_rate, "rows/s");

    // Reports without photo, BATCH per transaction (bulk import, sync apply); best of three
    // rounds on fresh stores.
    let n = 50_000;
    let mut batched: f64 = 0.0;
    let mut store = None;
    for round in 0..3 {
        let s = open_store(
            &tmp.path().join(format!("batched{round}")),
            "inspector1",
            "inspector",
        )?;
        let inputs: Vec<NewReport> = (0..n).map(|_| new_report(&mut rng, vec![])).collect();
        let t = Instant::now();
        let mut it = inputs.into_iter();
        loop {
            let chunk: Vec<NewReport> = it.by_ref().take(BATCH).collect();
            if chunk.is_empty() {
                break;
            }
            s.batch(|b| {
                for r in chunk {
                    b.report(r)?;
                }
                Ok(())
            })?;
        }
        batched = batched.max(per_sec(n, t.elapsed()));
        store = Some(s);
    }
    let Some(store) = store else { return Ok(()) };
    figure("report_no_photo_batched", batched, "reports/s");
    figure(
        "report_no_photo_batched_vs_raw_insert",
        batched / raw_rate,
        "ratio",
    );
    println!("# target: report_no_photo_batched_vs_raw_insert >= 0.25");

    if std::env::var("XUNCHA_BENCH_QUICK").is_ok() {
        return Ok(());
    }
    // Reports without photo, one transaction each (one tap of the Submit button).
    let n = 3_000;
    let inputs: Vec<NewReport> = (0..n).map(|_| new_report(&mut rng, vec![])).collect();
    let t = Instant::now();
    for r in inputs {
        store.report(r)?;
    }
    figure(
        "report_no_photo_single",
        per_sec(n, t.elapsed()),
        "reports/s",
    );

    // Reports with one 2 MB photo each (hash, fsync'd file, rows).
    let photo_store = open_store(&tmp.path().join("photos"), "inspector1", "inspector")?;
    let n = 25;
    let inputs: Vec<NewReport> = (0..n)
        .map(|i| {
            let bytes = jpeg_bytes(1000 + i as u64, 2 * 1024 * 1024);
            new_report(&mut rng, vec![PhotoInput::bytes(bytes)])
        })
        .collect();
    let t = Instant::now();
    for r in inputs {
        photo_store.report(r)?;
    }
    let el = t.elapsed();
    figure("report_2mb_photo", per_sec(n, el), "reports/s");
    figure(
        "report_2mb_photo_latency",
        el.as_secs_f64() * 1000.0 / n as f64,
        "ms",
    );

    // 100,000 cases, half of them dispatched; first page of a status list by deadline.
    let big = open_store(&tmp.path().join("big"), "supervisor1", "supervisor")?;
    let total = 100_000;
    let t = Instant::now();
    for _ in 0..total / 1000 {
        let chunk: Vec<NewReport> = (0..1000).map(|_| new_report(&mut rng, vec![])).collect();
        let mut rng2 = Rng::new(rng.next_u64());
        big.batch(|b| {
            for r in chunk {
                let op = b.report(r)?;
                if rng2.range(0, 2) == 0 {
                    b.act(
                        op.case_id,
                        OpBody::Register {
                            note: String::new(),
                        },
                        vec![],
                    )?;
                    b.act(
                        op.case_id,
                        OpBody::Dispatch {
                            unit_id: format!("u{}", rng2.range(1, 9)),
                            deadline_ms: None,
                            note: String::new(),
                        },
                        vec![],
                    )?;
                }
            }
            Ok(())
        })?;
    }
    println!(
        "# seeded {total} cases (~half dispatched) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let query = CaseQuery {
        statuses: vec![Status::Dispatched],
        sort: CaseSort::Deadline,
        limit: 50,
        ..CaseQuery::default()
    };
    let (p50, p95) = latency(200, || big.list_cases(&query).map(|p| p.items.len()))?;
    figure("list_first_page_100k_status_by_deadline_p50", p50, "ms");
    figure("list_first_page_100k_status_by_deadline_p95", p95, "ms");
    println!("# target: list_first_page_100k_status_by_deadline_p50 <= 5 ms");
    let query = CaseQuery {
        unit_id: Some("u3".into()),
        statuses: vec![Status::Dispatched],
        sort: CaseSort::Deadline,
        limit: 50,
        ..CaseQuery::default()
    };
    let (p50, _) = latency(200, || big.list_cases(&query).map(|p| p.items.len()))?;
    figure("list_first_page_100k_unit_status_p50", p50, "ms");
    let query = CaseQuery {
        sort: CaseSort::LastChange,
        limit: 50,
        ..CaseQuery::default()
    };
    let (p50, _) = latency(200, || big.list_cases(&query).map(|p| p.items.len()))?;
    figure("list_first_page_100k_last_change_p50", p50, "ms");
    let query = CaseQuery {
        text: Some("编号 4242".into()),
        limit: 50,
        ..CaseQuery::default()
    };
    let (text_p50, _) = latency(20, || big.list_cases(&query).map(|p| p.items.len()))?;
    figure("list_100k_text_search_p50", text_p50, "ms");
    // A Chinese word inside descriptions (the middle of a category name: no word boundary),
    // through the bigram index, against the scan it replaced, measured now on the same file.
    let word: String = TAXONOMY[3].1.chars().skip(1).take(2).collect();
    println!("# searching 100k cases for 「{word}」 and for 「编号 4242」");
    let query = CaseQuery {
        text: Some(word.clone()),
        limit: 50,
        ..CaseQuery::default()
    };
    let (word_p50, _) = latency(20, || big.list_cases(&query).map(|p| p.items.len()))?;
    figure("list_100k_search_chinese_word_p50", word_p50, "ms");
    let scan = rusqlite::Connection::open(tmp.path().join("big").join(xuncha_core::store::DB_FILE))
        .map_err(xuncha_core::Error::from)?;
    let scan_p50 = |text: &str| -> xuncha_core::Result<f64> {
        let mut st = scan.prepare(
            "SELECT doc FROM cases WHERE description LIKE ?1 ORDER BY due_sort, rowid LIMIT 51",
        )?;
        let like = format!("%{text}%");
        Ok(latency(20, || {
            Ok(st.query_map([&like], |r| r.get::<_, String>(0))?.count())
        })?
        .0)
    };
    let base = scan_p50("编号 4242")?;
    figure("list_100k_text_search_like_scan_baseline_p50", base, "ms");
    figure(
        "list_100k_text_search_vs_like_scan",
        text_p50 / base,
        "ratio",
    );
    let base = scan_p50(&word)?;
    figure(
        "list_100k_search_chinese_word_like_scan_baseline_p50",
        base,
        "ms",
    );
    figure(
        "list_100k_search_chinese_word_vs_like_scan",
        word_p50 / base,
        "ratio",
    );
    println!("# target: list_100k_text_search_p50 <= 10 ms");
    Ok(())
}

/// The hidden subcommand a city-scale bootstrap runs in (a process of its own, so its peak RSS
/// is the phone's alone).
const DEVICE_BOOTSTRAP: &str = "device-bootstrap";

/// A campaign year of `n` cases on a server, then a fresh supervisor's phone (who sees every
/// case) bootstraps all of it in a child process that reports its time and peak RSS, and
/// searches the result.
fn device_at_city_scale(n: usize) -> xuncha_core::Result<()> {
    let mut tmp = tempfile::TempDir::new()?;
    tmp.disable_cleanup(std::env::var_os("XUNCHA_BENCH_KEEP").is_some());
    let state = demo_state(tmp.path())?;
    println!(
        "# xuncha-bench core: a phone bootstraps a year of {n} cases (server and phone on {})",
        tmp.path().display()
    );
    build_city_year(&state, n)?;
    let server = xuncha_server::RunningServer::start(state)?;
    let phone_dir = tmp.path().join("phone");
    std::fs::create_dir_all(&phone_dir)?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .arg(DEVICE_BOOTSTRAP)
        .arg(&server.url)
        .arg(&phone_dir)
        .status()?;
    if !status.success() {
        return Err(xuncha_core::Error::Io(std::io::Error::other(format!(
            "the phone's process exited with {status}"
        ))));
    }
    println!("# target: a fresh phone bootstraps 1,000,000 cases in <= 15 s with <= 150 MB RSS");
    Ok(())
}

/// The phone's side of [`device_at_city_scale`]: sign in as a supervisor, sync everything with
/// the app's default options, print the figures (time, rate, peak RSS against the RSS before
/// the sync and the raw insert rate of this machine, measured now), then search the result.
fn device_bootstrap(url: &str, dir: &std::path::Path) -> xuncha_core::Result<()> {
    let store = Store::open(dir.join("store"))?;
    store.sign_in_remote(url, "supervisor1", "demo", "bench phone")?;
    let before_mb = proc_status_mb("VmRSS");
    let t = Instant::now();
    let mut last = Instant::now();
    let report = store.sync(
        &xuncha_core::sync::client::SyncOptions::default(),
        &mut |p| {
            if last.elapsed() > Duration::from_secs(10) {
                last = Instant::now();
                eprintln!(
                    "# phone: {:?} {} changes after {:.0} s",
                    p.phase,
                    p.done,
                    t.elapsed().as_secs_f64()
                );
            }
        },
        &std::sync::atomic::AtomicBool::new(false),
    )?;
    let took = t.elapsed();
    let peak_mb = proc_status_mb("VmHWM");
    let rate = report.changes as f64 / took.as_secs_f64();
    println!(
        "# phone: bootstrapped {} changes (cases with their timelines) in {:.1} s",
        report.changes,
        took.as_secs_f64()
    );
    figure("device_city_bootstrap_seconds", took.as_secs_f64(), "s");
    figure("device_city_bootstrap", rate, "changes/s");
    figure("device_city_peak_rss", peak_mb, "MB");
    figure("device_city_rss_before_sync_baseline", before_mb, "MB");
    figure(
        "device_city_peak_rss_vs_before_sync",
        peak_mb / before_mb.max(1.0),
        "ratio",
    );
    let raw = raw_insert_rate(dir, 1_000)?;
    figure("raw_insert_baseline", raw, "rows/s");
    figure("device_city_bootstrap_vs_raw_insert", rate / raw, "ratio");
    let word: String = TAXONOMY[3].1.chars().skip(1).take(2).collect();
    for (name, text) in [
        ("device_city_search_word", word.as_str()),
        ("device_city_search_number", "424242"),
    ] {
        let query = CaseQuery {
            text: Some(text.to_string()),
            limit: 50,
            ..CaseQuery::default()
        };
        let (p50, p95) = latency(20, || store.list_cases(&query).map(|p| p.items.len()))?;
        println!("# phone: searching for 「{text}」");
        figure(&format!("{name}_p50"), p50, "ms");
        figure(&format!("{name}_p95"), p95, "ms");
    }
    println!("# target: device search <= 10 ms");
    Ok(())
}

/// A line of `/proc/self/status` (`VmRSS`, `VmHWM`) in MB; 0 where there is none.
fn proc_status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_string))
        })
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Baseline: plain rusqlite inserts of `row_bytes`-sized rows in one transaction, best of three
/// rounds, in rows per second.
fn raw_insert_rate(dir: &std::path::Path, row_bytes: usize) -> xuncha_core::Result<f64> {
    let raw_rows = 100_000;
    let mut raw_rate: f64 = 0.0;
    for round in 0..3 {
        let mut conn = rusqlite::Connection::open(dir.join(format!("raw{round}.db")))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute(
            "CREATE TABLE raw (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created INTEGER NOT NULL, payload TEXT NOT NULL)",
            [],
        )?;
        let payload = "x".repeat(row_bytes);
        let t = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut st =
                tx.prepare("INSERT INTO raw (id, kind, created, payload) VALUES (?1, ?2, ?3, ?4)")?;
            for i in 0..raw_rows {
                st.execute(rusqlite::params![
                    Uuid::now_v7().to_string(),
                    "report",
                    i as i64,
                    payload
                ])?;
            }
        }
        tx.commit()?;
        raw_rate = raw_rate.max(per_sec(raw_rows, t.elapsed()));
    }
    Ok(raw_rate)
}

/// A device store in `dir` signed in to `url` as `user` (password `demo`).
fn phone(dir: &std::path::Path, url: &str, user: &str) -> xuncha_core::Result<Store> {
    let store = Store::open(dir)?;
    store.sign_in_remote(url, user, "demo", "bench")?;
    Ok(store)
}

fn sync_once(
    store: &Store,
    pull: bool,
) -> xuncha_core::Result<xuncha_core::sync::client::SyncReport> {
    let opts = xuncha_core::sync::client::SyncOptions {
        pull_limit: 1000,
        push_batch: 1000,
        pull,
        ..Default::default()
    };
    store.sync(
        &opts,
        &mut |_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
}

/// A fresh PostgreSQL database on the server at `admin` (an admin URL of its `postgres`
/// database), as a URL.
fn postgres_database(admin: &str) -> xuncha_core::Result<String> {
    let name = format!("bench_{}", Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(admin, postgres::NoTls)
        .map_err(|e| xuncha_core::Error::Database(e.to_string()))?;
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .map_err(|e| xuncha_core::Error::Database(e.to_string()))?;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    Ok(format!("{base}/{name}"))
}

/// Sync figures on SQLite, then (with `XUNCHA_BENCH_POSTGRES_URL` or `XUNCHA_TEST_POSTGRES_URL`,
/// an admin URL) on PostgreSQL and on two instances sharing one PostgreSQL database, with the
/// ratios against SQLite measured in the same run. `XUNCHA_BENCH_REPORTS` (default 100,000)
/// reports are pushed in each.
fn sync() -> xuncha_core::Result<()> {
    let reports: usize = std::env::var("XUNCHA_BENCH_REPORTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::TempDir::new()?;
    println!(
        "# xuncha-bench sync: {reports} reports per backend (server and devices on {})",
        tmp.path().display()
    );
    let sqlite = demo_state(tmp.path())?;
    let base = sync_on("sqlite", tmp.path(), &[sqlite], reports)?;
    if std::env::var("XUNCHA_BENCH_QUICK").is_err() {
        pouchdb_peer(reports, base.case_bytes, &base)?;
    }
    let admin = std::env::var("XUNCHA_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("XUNCHA_TEST_POSTGRES_URL"))
        .ok()
        .filter(|u| !u.is_empty());
    let Some(admin) = admin else {
        println!("# PostgreSQL figures skipped: set XUNCHA_BENCH_POSTGRES_URL");
        return Ok(());
    };
    let on_postgres = |dir: &std::path::Path| -> xuncha_core::Result<xuncha_server::AppState> {
        let config = xuncha_server::Config {
            database: xuncha_server::state::Database::Postgres(postgres_database(&admin)?),
            ..xuncha_server::Config::default()
        };
        let state = xuncha_server::AppState::open(dir, config)?;
        xuncha_server::demo::seed_demo(&state)
            .map_err(|e| xuncha_core::Error::Network(e.message))?;
        Ok(state)
    };
    let pg = on_postgres(&tmp.path().join("pg"))?;
    let one = sync_on("postgres", &tmp.path().join("pg"), &[pg], reports)?;
    let shared = on_postgres(&tmp.path().join("pg2"))?;
    let second = xuncha_server::AppState::open(&tmp.path().join("pg2b"), shared.config.clone())?;
    let two = sync_on(
        "postgres_2_instances",
        &tmp.path().join("pg2"),
        &[shared, second],
        reports,
    )?;
    for (label, f) in [("postgres", &one), ("postgres_2_instances", &two)] {
        figure(
            &format!("sync.{label}.push_vs_sqlite"),
            f.push / base.push,
            "ratio",
        );
        if let (Some(b), Some(x)) = (base.bootstrap, f.bootstrap) {
            figure(&format!("sync.{label}.bootstrap_vs_sqlite"), x / b, "ratio");
        }
        if let (Some(b), Some(x)) = (base.noop_p50, f.noop_p50) {
            figure(&format!("sync.{label}.noop_p50_vs_sqlite"), x / b, "ratio");
        }
    }
    Ok(())
}

/// The sync figures of one setup.
struct SyncFigures {
    push: f64,
    bootstrap: Option<f64>,
    noop_p50: Option<f64>,
    /// Bytes of one case document as a device stores it (the PouchDB peer's doc size).
    case_bytes: usize,
}

/// The same work on PouchDB (Node) → pouchdb-server, measured now: `reports` docs of a case's
/// size pushed in batches of 500, then bootstrapped into a fresh PouchDB
/// (`tests/bench/pouchdb-peer.sh`, which installs both into a cache folder). Skipped with a
/// note when Node.js or npm is missing.
fn pouchdb_peer(reports: usize, doc_bytes: usize, ours: &SyncFigures) -> xuncha_core::Result<()> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/pouchdb-peer.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(["--docs", &reports.to_string()])
        .args(["--doc-bytes", &doc_bytes.max(600).to_string()])
        .args(["--batch", "500"])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        println!(
            "# PouchDB peer skipped: {} exited with {}",
            script.display(),
            out.status
        );
        return Ok(());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    for line in text.lines().filter(|l| l.starts_with('#')) {
        println!("{line}");
    }
    let (Some(push), Some(bootstrap)) = (value("pouchdb.push: "), value("pouchdb.bootstrap: "))
    else {
        println!("# PouchDB peer printed no figures");
        return Ok(());
    };
    figure("sync.pouchdb.push", push, "docs/s");
    figure("sync.pouchdb.bootstrap", bootstrap, "docs/s");
    figure("sync.sqlite.push_vs_pouchdb", ours.push / push, "ratio");
    if let Some(b) = ours.bootstrap {
        figure("sync.sqlite.bootstrap_vs_pouchdb", b / bootstrap, "ratio");
    }
    println!("# target: sync.sqlite.push_vs_pouchdb >= 10, sync.sqlite.push >= 50000 ops/s");
    Ok(())
}

/// Push `reports` reports from 5 phones (spread over the `instances`, pushing at once), then a
/// fresh supervisor bootstraps them all and syncs with nothing to do.
fn sync_on(
    label: &str,
    dir: &std::path::Path,
    instances: &[xuncha_server::AppState],
    reports: usize,
) -> xuncha_core::Result<SyncFigures> {
    let servers: Vec<xuncha_server::RunningServer> = instances
        .iter()
        .map(|s| xuncha_server::RunningServer::start(s.clone()))
        .collect::<std::io::Result<_>>()?;
    let per_phone = reports / 5;
    let mut rng = Rng::new(7);
    let mut phones = Vec::new();
    for p in 0..5 {
        let url = &servers[p % servers.len()].url;
        let store = phone(
            &dir.join(format!("{label}-inspector{p}")),
            url,
            "inspector1",
        )?;
        sync_once(&store, true)?;
        report_offline(&store, &mut rng, per_phone)?;
        phones.push(store);
    }
    // All phones push at once (each its own connection; on one instance or spread over two).
    let t = Instant::now();
    let pushed: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = phones
            .iter()
            .map(|p| s.spawn(move || sync_once(p, false).map(|r| r.accepted)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Ok(0)))
            .sum::<xuncha_core::Result<u64>>()
    })?;
    let push_time = t.elapsed();
    let push = pushed as f64 / push_time.as_secs_f64();
    println!(
        "# {label}: pushed {pushed} operations (each a new case) in {:.1} s",
        push_time.as_secs_f64()
    );
    figure(&format!("sync.{label}.push"), push, "ops/s");
    if std::env::var("XUNCHA_BENCH_QUICK").is_ok() {
        return Ok(SyncFigures {
            push,
            bootstrap: None,
            noop_p50: None,
            case_bytes: 0,
        });
    }
    let sup = phone(
        &dir.join(format!("{label}-supervisor")),
        &servers[0].url,
        "supervisor1",
    )?;
    let t = Instant::now();
    let r = sync_once(&sup, true)?;
    let el = t.elapsed();
    let bootstrap = r.changes as f64 / el.as_secs_f64();
    figure(&format!("sync.{label}.bootstrap"), bootstrap, "changes/s");
    println!(
        "# {label}: bootstrapped {} changes in {:.1} s",
        r.changes,
        el.as_secs_f64()
    );
    let (p50, p95) = latency(50, || sync_once(&sup, true).map(|r| r.changes as usize))?;
    figure(&format!("sync.{label}.noop_p50"), p50, "ms");
    figure(&format!("sync.{label}.noop_p95"), p95, "ms");
    let case_bytes = match sup
        .list_cases(&xuncha_core::store::CaseQuery {
            limit: 1,
            ..Default::default()
        })?
        .items
        .first()
    {
        Some(item) => serde_json::to_string(&item.case)?.len(),
        None => 0,
    };
    if label == "sqlite" {
        let probe = serde_json::to_string(&sup.pending_ops(1)?)?.len().max(565);
        let raw = raw_insert_rate(dir, probe)?;
        figure("raw_insert_baseline", raw, "rows/s");
        figure("sync_push_vs_raw_insert", push / raw, "ratio");
        figure("sync_bootstrap_vs_raw_insert", bootstrap / raw, "ratio");
    }
    Ok(SyncFigures {
        push,
        bootstrap: Some(bootstrap),
        noop_p50: Some(p50),
        case_bytes,
    })
}

/// The phone's heaviest everyday call, in Rust: a report with a 3 MB photo from bytes (hash,
/// fsync'd file, rows), for comparison with the same call made from Kotlin through the uniffi
/// bindings (`android-demo/app/src/test/kotlin/cn/xuncha/app/ReportBench.kt`).
fn mobile() -> xuncha_core::Result<()> {
    let tmp = tempfile::TempDir::new()?;
    let state = demo_state(tmp.path())?;
    let server = xuncha_server::RunningServer::start(state)?;
    let store = phone(&tmp.path().join("phone"), &server.url, "inspector1")?;
    sync_once(&store, true)?;
    let mut rng = Rng::new(3);
    let n = 25;
    let photos: Vec<Vec<u8>> = (0..n)
        .map(|i| jpeg_bytes(5000 + i as u64, 3 * 1024 * 1024))
        .collect();
    let t = Instant::now();
    for bytes in photos {
        store.report(new_report(&mut rng, vec![PhotoInput::bytes(bytes)]))?;
    }
    figure(
        "report_3mb_photo_rust",
        t.elapsed().as_secs_f64() * 1000.0 / n as f64,
        "ms",
    );
    Ok(())
}

/// The supervision console's pages over real HTTP against a city with 10,000 cases (half of
/// them dispatched), against the baseline of `/healthz` on the same server in the same run.
fn console() -> xuncha_core::Result<()> {
    let tmp = tempfile::TempDir::new()?;
    let mut rng = Rng::new(11);
    let state = demo_state(tmp.path())?;
    let server = xuncha_server::RunningServer::start(state.clone())?;
    let n = 10_000;
    let inspector = phone(&tmp.path().join("inspector"), &server.url, "inspector1")?;
    sync_once(&inspector, true)?;
    report_offline(&inspector, &mut rng, n)?;
    sync_once(&inspector, false)?;
    let sup = phone(&tmp.path().join("supervisor"), &server.url, "supervisor1")?;
    sync_once(&sup, true)?;
    let mut submitted = Vec::new();
    while submitted.len() < n / 2 {
        let page = sup.list_cases(&CaseQuery {
            statuses: vec![Status::Submitted],
            limit: 500,
            offset: submitted.len() as u32,
            ..CaseQuery::default()
        })?;
        if page.items.is_empty() {
            break;
        }
        submitted.extend(page.items.into_iter().map(|i| i.case));
    }
    sup.batch(|b| {
        for (i, case) in submitted.iter().enumerate() {
            b.act(
                case.id,
                OpBody::Register {
                    note: String::new(),
                },
                vec![],
            )?;
            b.act(
                case.id,
                OpBody::Dispatch {
                    unit_id: format!("u{}", i % 8 + 1),
                    deadline_ms: None,
                    note: String::new(),
                },
                vec![],
            )?;
        }
        Ok(())
    })?;
    sync_once(&sup, false)?;
    let case = submitted[0].id;
    println!("# {n} cases, {} dispatched", submitted.len());

    let browser = console_browser(&server.url)?;
    let page = |path: String| get_page(&browser, format!("{}{path}", server.url));
    let (base, _) = latency(50, page("/healthz".into()))?;
    figure("console_baseline_healthz_p50", base, "ms");
    for (name, path, runs) in [
        ("console_queue", "/console".to_string(), 20),
        ("console_case_page", format!("/console/cases/{case}"), 20),
        ("console_boards", "/console/boards".to_string(), 10),
        ("console_export_xlsx", "/console/export.xlsx".to_string(), 5),
        ("console_ranking", "/console/ranking".to_string(), 5),
        (
            "console_bulletin_xlsx",
            "/console/bulletin.xlsx".to_string(),
            5,
        ),
    ] {
        let (p50, _) = latency(runs, page(path))?;
        figure(&format!("{name}_p50"), p50, "ms");
        figure(&format!("{name}_vs_healthz"), p50 / base, "ratio");
    }
    // The deadline watch a month on, when every dispatched case is overdue: the first minute
    // records each one's 逾期 notice (copies and four channels' outbox rows); every later minute
    // finds them recorded and writes nothing.
    let channels: Vec<String> = ["hook", "wecom", "ding", "sms"].map(String::from).to_vec();
    let later = state.now_ms() + 30 * 86_400_000;
    let store = state.store.as_ref();
    let t = Instant::now();
    let first = xuncha_server::notices::raise::deadlines_once(store, &channels, later)?;
    let first_ms = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let again = xuncha_server::notices::raise::deadlines_once(store, &channels, later + 60_000)?;
    let again_ms = t.elapsed().as_secs_f64() * 1000.0;
    println!("# deadline watch: {first} notices recorded in the first minute, {again} in the next");
    figure("deadline_watch_first_minute", first_ms, "ms");
    figure("deadline_watch_next_minute", again_ms, "ms");
    figure("deadline_watch_next_vs_first", again_ms / first_ms, "ratio");
    drop(server);
    Ok(())
}

fn http(e: reqwest::Error) -> xuncha_core::Error {
    xuncha_core::Error::Network(e.to_string())
}

/// A browser signed in to the console as supervisor1.
fn console_browser(url: &str) -> xuncha_core::Result<reqwest::blocking::Client> {
    let browser = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(600))
        .build()
        .map_err(http)?;
    let login = browser
        .get(format!("{url}/console/login"))
        .send()
        .and_then(|r| r.text())
        .map_err(http)?;
    let csrf = login
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_string();
    browser
        .post(format!("{url}/console/login"))
        .form(&[
            ("user", "supervisor1"),
            ("password", "demo"),
            ("csrf", &csrf),
        ])
        .send()
        .map_err(http)?;
    Ok(browser)
}

/// A request for `url` that fails on any status but success; the body's length.
fn get_page(
    browser: &reqwest::blocking::Client,
    url: String,
) -> impl FnMut() -> xuncha_core::Result<usize> + '_ {
    move || {
        let r = browser.get(&url).send().map_err(http)?;
        if !r.status().is_success() {
            return Err(xuncha_core::Error::Network(format!(
                "{url}: {}",
                r.status()
            )));
        }
        Ok(r.bytes().map_err(http)?.len())
    }
}

/// The console at city scale: a campaign year of `n` cases pushed through the store's writer
/// ([`xuncha_tests::city_year`]), then p50 and p95 of every page and export, against
/// `/healthz` measured in the same run.
fn console_year(n: usize) -> xuncha_core::Result<()> {
    let mut tmp = tempfile::TempDir::new()?;
    // XUNCHA_BENCH_KEEP=1 leaves the year's database for a closer look (EXPLAIN, a profiler).
    tmp.disable_cleanup(std::env::var_os("XUNCHA_BENCH_KEEP").is_some());
    let state = demo_state(tmp.path())?;
    let now = state.now_ms();
    println!(
        "# xuncha-bench console: a year of {n} cases (server on {})",
        tmp.path().display()
    );
    build_city_year(&state, n)?;
    let case = state
        .store
        .cases(&[Status::Dispatched], None, 1)?
        .first()
        .map(|c| c.id)
        .unwrap_or_default();
    let server = xuncha_server::RunningServer::start(state)?;
    let browser = console_browser(&server.url)?;
    let page = |path: &str| get_page(&browser, format!("{}{path}", server.url));
    let (base, _) = latency(50, page("/healthz"))?;
    figure("console_baseline_healthz_p50", base, "ms");
    let search: String = form_urlencoded_component("公交站台");
    // The last 30 days, as the demo city's dates.
    let calendar = demo_city().calendar;
    let date = |ms: i64| calendar.local_date(ms).format("%Y-%m-%d").to_string();
    let (today, month_ago) = (date(now), date(now - 30 * 86_400_000));
    let mut pages: Vec<(&str, String, usize)> = vec![
        ("console_queue", "/console".into(), 10),
        ("console_case_page", format!("/console/cases/{case}"), 10),
        ("console_boards", "/console/boards".into(), 10),
        (
            "console_boards_overdue_page_100",
            "/console/boards?board=overdue&page=100".into(),
            10,
        ),
        ("console_boards_unit", "/console/boards?unit=u1".into(), 10),
        (
            "console_search_word",
            format!("/console/search?q={search}"),
            10,
        ),
        (
            "console_export_csv_unit_category",
            "/console/export.csv?unit=u2&category=0101".into(),
            5,
        ),
    ];
    pages.push(("console_ranking", "/console/ranking".into(), 5));
    pages.push((
        "console_ranking_month",
        format!("/console/ranking?from={month_ago}&to={today}"),
        5,
    ));
    pages.push(("console_bulletin_xlsx", "/console/bulletin.xlsx".into(), 3));
    for (name, path, runs) in pages {
        let (p50, p95) = latency(runs, page(&path))?;
        figure(&format!("{name}_p50"), p50, "ms");
        figure(&format!("{name}_p95"), p95, "ms");
        figure(&format!("{name}_vs_healthz"), p50 / base, "ratio");
    }
    println!("# target: every console page <= 200 ms p50 at 1,000,000 cases");
    drop(server);
    Ok(())
}

/// A campaign year of `n` cases on `state`'s store through the group writer, with progress on
/// stderr and the size it takes.
fn build_city_year(state: &xuncha_server::AppState, n: usize) -> xuncha_core::Result<()> {
    let now = state.now_ms();
    let t = Instant::now();
    let mut last = Instant::now();
    xuncha_tests::city_year::build_year(state, n, now, 11, &mut |done| {
        if last.elapsed() > Duration::from_secs(10) || done == n {
            last = Instant::now();
            eprintln!(
                "# built {done}/{n} cases in {:.0} s",
                t.elapsed().as_secs_f64()
            );
        }
    })?;
    let stats = state.store.stats()?;
    println!(
        "# built {} cases and {} events in {:.1} s ({:.0} events/s through the writer); database {:.0} MB",
        stats.cases,
        stats.events,
        t.elapsed().as_secs_f64(),
        stats.events as f64 / t.elapsed().as_secs_f64(),
        state.store.database_bytes()? as f64 / 1e6
    );
    // The data folder: the photos folder's parent.
    let data = state.blob_dir.parent().unwrap_or(std::path::Path::new("."));
    let size = |name: &str| {
        std::fs::metadata(data.join(name))
            .map(|m| m.len() as f64 / 1e6)
            .unwrap_or(0.0)
    };
    println!(
        "# of which the SQLite file {:.0} MB and its WAL {:.0} MB",
        size(xuncha_server::store::sqlite::DB_FILE),
        size(&format!("{}-wal", xuncha_server::store::sqlite::DB_FILE))
    );
    Ok(())
}

/// `text` percent-encoded for a query string.
fn form_urlencoded_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Run `f` `n` times after a warm-up; p50 and p95 in milliseconds.
fn latency(
    n: usize,
    mut f: impl FnMut() -> xuncha_core::Result<usize>,
) -> xuncha_core::Result<(f64, f64)> {
    for _ in 0..5 {
        f()?;
    }
    let mut ms: Vec<f64> = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[n / 2], ms[n * 95 / 100]))
}

/// The check every photo gets before it is kept (a walk of its structure) against hashing the
/// same bytes, which every photo got already: what the check adds to an upload. On a 12 MP
/// phone-like JPEG (noisy, so nearly all of it is entropy-coded data the walk scans) and the
/// same picture as PNG (every byte under a CRC).
fn photos() -> xuncha_core::Result<()> {
    let mut rng = Rng::new(11);
    let img = image::RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (rng.next_u64() & 0x3F) as u8;
        image::Rgb([(x / 16) as u8 ^ n, (y / 12) as u8 ^ n, 128 ^ n])
    });
    let encode = |format: image::ImageFormat| -> xuncha_core::Result<Vec<u8>> {
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format)
            .map_err(|e| xuncha_core::Error::Io(std::io::Error::other(e.to_string())))?;
        Ok(out.into_inner())
    };
    let rounds = 5;
    for (name, bytes) in [
        ("jpeg", encode(image::ImageFormat::Jpeg)?),
        ("png", encode(image::ImageFormat::Png)?),
    ] {
        let mb = bytes.len() as f64 / 1_048_576.0;
        let time = |f: &dyn Fn() -> bool| {
            let t = Instant::now();
            for _ in 0..rounds {
                assert!(f());
            }
            t.elapsed().as_secs_f64() / f64::from(rounds)
        };
        let hash = time(&|| xuncha_core::store::sha256_hex(&bytes).len() == 64);
        let walk = time(&|| xuncha_core::store::inspect_image(&bytes).is_ok());
        println!("# a 4000x3000 {name} of {mb:.1} MiB, mean of {rounds}");
        figure(&format!("photos.{name}.sha256_ms"), hash * 1000.0, "ms");
        figure(
            &format!("photos.{name}.structure_walk_ms"),
            walk * 1000.0,
            "ms",
        );
        figure(
            &format!("photos.{name}.walk_vs_sha256"),
            walk / hash,
            "x (time)",
        );
    }
    Ok(())
}
