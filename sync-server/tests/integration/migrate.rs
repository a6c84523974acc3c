//! `xuncha-server migrate`: a county's SQLite server with its demo week and a phone's reports
//! moves to PostgreSQL (and its photos to the S3 server when the test command runs one); every
//! case, event, photo hash and the phone's cursor survive, and the phone syncs on against the new
//! server at the same address. Needs `XUNCHA_TEST_POSTGRES_URL` (the test command sets it).

use std::process::Command;
use std::sync::atomic::AtomicBool;

use xuncha_core::Store;
use xuncha_core::store::CaseQuery;
use xuncha_core::sync::client::SyncOptions;
use xuncha_server::state::Database;
use xuncha_server::{AppState, Config, RunningServer};

use crate::helpers::photo;

fn admin_url() -> Option<String> {
    match std::env::var("XUNCHA_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipped: XUNCHA_TEST_POSTGRES_URL is not set (tests/run-all.sh sets it)");
            None
        }
    }
}

fn new_database(admin: &str) -> String {
    let name = format!("xm_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("admin");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    format!("{base}/{name}")
}

fn sync(store: &Store) -> xuncha_core::sync::client::SyncReport {
    store
        .sync(
            &SyncOptions::default(),
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .expect("sync")
}

fn migrate(from: &std::path::Path, to: &str, photos: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args(["migrate", "--from"])
        .arg(from)
        .args(["--to", to])
        .args(photos)
        .output()
        .expect("run xuncha-server migrate")
}

#[test]
fn a_sqlite_server_moves_to_postgres_and_its_phones_sync_on() {
    let Some(admin) = admin_url() else { return };
    let source_dir = tempfile::TempDir::new().expect("tmp");
    let phone_dir = tempfile::TempDir::new().expect("tmp");
    let target = new_database(&admin);
    // Photos to the test S3 server when there is one, else to another folder.
    let photos_folder = tempfile::TempDir::new().expect("tmp");
    let photos_arg: Vec<String> = match std::env::var("XUNCHA_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => vec![
            "--photos".into(),
            format!("s3://xuncha-test/migrate-{}", uuid::Uuid::new_v4()),
            "--s3-endpoint".into(),
            endpoint,
        ],
        _ => vec![
            "--photos".into(),
            photos_folder.path().display().to_string(),
        ],
    };
    let photos_location = xuncha_server::blobs::PhotoLocation::parse(
        &photos_arg[1],
        xuncha_server::blobs::S3Settings {
            endpoint: photos_arg.get(3).cloned(),
            ..Default::default()
        },
    );

    // The county's server: the demo city, its week of cases, and a phone's reports.
    let (address, events_before, cases_before, on_phone_before) = {
        let state = AppState::open(source_dir.path(), Config::default()).expect("source");
        xuncha_server::demo::seed_demo(&state).expect("seed");
        xuncha_server::demo::cases::seed_cases(&state, state.now_ms()).expect("cases");
        xuncha_server::demo::rounds::seed_rounds(&state, state.now_ms()).expect("rounds");
        let running = RunningServer::start(state.clone()).expect("serve");
        let phone = Store::open(phone_dir.path()).expect("phone");
        phone
            .sign_in_remote(&running.url, "inspector1", "demo", "phone")
            .expect("sign in");
        sync(&phone);
        for seed in 0..3 {
            phone
                .report(crate::helpers::report_at_demo_point(
                    &format!("迁移前上报 {seed}"),
                    vec![photo(900 + seed)],
                ))
                .expect("report");
        }
        let r = sync(&phone);
        assert_eq!((r.accepted, r.photos_uploaded), (3, 3));
        let on_phone = phone
            .list_cases(&CaseQuery::default())
            .expect("cases")
            .items
            .len();
        let stats = state.store.stats().expect("stats");
        let addr = running
            .url
            .trim_start_matches("http://")
            .parse::<std::net::SocketAddr>()
            .expect("address");
        (addr, stats.events, stats.cases, on_phone)
    };

    // Migrate, as the admin would, with the real binary; then again (it resumes: nothing new).
    let out = migrate(source_dir.path(), &target, &photos_arg);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("events           {events_before}")),
        "{text}"
    );
    let again = migrate(source_dir.path(), &target, &photos_arg);
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains(" 0 copied"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    // The new server, on PostgreSQL and the new photo store, at the old address.
    let state = AppState::open(
        tempfile::TempDir::new().expect("tmp").path(),
        Config {
            database: Database::Postgres(target.clone()),
            photos: photos_location,
            ..Config::default()
        },
    )
    .expect("target");
    let stats = state.store.stats().expect("stats");
    assert_eq!((stats.events, stats.cases), (events_before, cases_before));
    // The rounds came over with their tasks, results and teams.
    let rounds = state.store.rounds(10).expect("rounds");
    assert_eq!(rounds.len(), 3);
    let checked: usize = rounds
        .iter()
        .map(|r| {
            let (_, tasks) = state.store.round(r.id).expect("round").expect("kept");
            tasks.iter().filter(|t| t.result.is_some()).count()
        })
        .sum();
    assert_eq!(checked, 7 + 2 + 1, "the checks and the re-check kept");
    assert!(
        !state
            .store
            .tasks_of("inspector1")
            .expect("tasks")
            .is_empty()
    );
    let _running = RunningServer::start_at(state.clone(), address).expect("serve again");

    // The phone syncs on with its cursor: nothing comes twice, and its new report goes in.
    let phone = Store::open(phone_dir.path()).expect("phone again");
    let r = sync(&phone);
    assert_eq!((r.accepted, r.rejected, r.changes), (0, 0, 0), "{r:?}");
    phone
        .report(crate::helpers::report_at_demo_point(
            "迁移后上报",
            vec![photo(999)],
        ))
        .expect("report");
    let r = sync(&phone);
    assert_eq!((r.accepted, r.photos_uploaded), (1, 1));
    assert_eq!(
        phone
            .list_cases(&CaseQuery::default())
            .expect("cases")
            .items
            .len(),
        on_phone_before + 1
    );
    // Every photo of the old server opens on the new one, byte for byte.
    let sup = reqwest::blocking::Client::new();
    let token: serde_json::Value = sup
        .post(format!("http://{address}/v1/auth/login"))
        .json(&serde_json::json!({"user_id": "supervisor1", "password": "demo", "device_id": "mig-desk"}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    let token = token["token"].as_str().expect("token").to_string();
    for seed in 900..903 {
        let bytes = crate::helpers::photo_bytes(seed);
        let sha = xuncha_core::store::sha256_hex(&bytes);
        let got = sup
            .get(format!("http://{address}/v1/photos/{sha}"))
            .bearer_auth(&token)
            .send()
            .expect("photo");
        assert_eq!(got.status().as_u16(), 200);
        assert_eq!(got.bytes().expect("bytes").to_vec(), bytes);
    }

    // A database holding another server's records is refused, and left as it was.
    let other_source = tempfile::TempDir::new().expect("tmp");
    {
        let s = AppState::open(other_source.path(), Config::default()).expect("other");
        xuncha_server::demo::seed_demo(&s).expect("seed");
        xuncha_server::demo::cases::seed_cases(&s, s.now_ms()).expect("cases");
    }
    let refused = migrate(other_source.path(), &target, &photos_arg);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("holds other records"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        state.store.stats().expect("stats").events,
        events_before + 1
    );
}
