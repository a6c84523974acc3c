//! What only a PostgreSQL deployment meets: the database restarting under a running server, the
//! database refusing connections for a while, a database written by a newer server. Needs
//! `XUNCHA_TEST_POSTGRES_URL` (the test command sets it).

use serde_json::Value;

use crate::helpers::TestServer;

fn admin_url() -> Option<String> {
    match std::env::var("XUNCHA_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("skipped: XUNCHA_TEST_POSTGRES_URL is not set (tests/run-all.sh sets it)");
            None
        }
    }
}

/// A server on a database of its own; the database's name.
fn server_on_postgres(admin: &str) -> (TestServer, String) {
    let name = format!("xp_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(admin, postgres::NoTls).expect("admin");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    let server = TestServer::start_with(xuncha_server::Config {
        database: xuncha_server::state::Database::Postgres(format!("{base}/{name}")),
        ..xuncha_server::Config::default()
    });
    (server, name)
}

fn pull(server: &TestServer, token: &str) -> (u16, Option<String>, Value) {
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/v1/pull?cursor=0", server.url))
        .bearer_auth(token)
        .send()
        .expect("pull");
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, r.json().unwrap_or(Value::Null))
}

#[test]
fn the_database_going_away_is_a_503_to_retry_and_its_return_heals_at_once() {
    let Some(admin) = admin_url() else { return };
    // The helper may have put every test server on PostgreSQL already; this one is explicit.
    let (server, db) = server_on_postgres(&admin);
    let desk = crate::hardening::Raw::login(&server, "supervisor1", "pg-desk");
    assert_eq!(pull(&server, &desk.token).0, 200);
    let mut admin_client = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    let kick = |c: &mut postgres::Client| {
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db],
        )
        .expect("terminate");
    };
    // A restart drops every connection: the next request reconnects and answers.
    kick(&mut admin_client);
    assert_eq!(
        pull(&server, &desk.token).0,
        200,
        "healed on the same request"
    );
    // The database refuses connections for a while: a clear 503 with Retry-After, nothing else.
    admin_client
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .expect("close");
    kick(&mut admin_client);
    let (status, retry, body) = pull(&server, &desk.token);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "storage_unavailable");
    assert!(
        retry.is_some(),
        "Retry-After tells the phone when to come back"
    );
    admin_client
        .batch_execute(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .expect("open");
    assert_eq!(pull(&server, &desk.token).0, 200, "back as soon as it is");
}

#[test]
fn a_database_written_by_a_newer_server_is_refused_and_left_alone() {
    let Some(admin) = admin_url() else { return };
    let (server, db) = server_on_postgres(&admin);
    drop(server);
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let url = format!("{base}/{db}");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("db");
    c.batch_execute("UPDATE xuncha_schema SET version = 99")
        .expect("newer");
    let dir = tempfile::TempDir::new().expect("tmp");
    let err = xuncha_server::AppState::open(
        dir.path(),
        xuncha_server::Config {
            database: xuncha_server::state::Database::Postgres(url),
            ..xuncha_server::Config::default()
        },
    )
    .err()
    .expect("refused");
    assert_eq!(err.code(), "schema_too_new");
    let still: i64 = c
        .query_one("SELECT version FROM xuncha_schema", &[])
        .and_then(|r| r.try_get(0))
        .expect("version");
    assert_eq!(still, 99, "left as it was");
}

/// `pg_dump`/`pg_restore` of the Debian packages, as docs/deploy.md tells a city's IT to back up.
fn pg_tool(name: &str) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

#[test]
fn a_backup_made_with_pg_dump_restores_into_a_working_server() {
    let Some(admin) = admin_url() else { return };
    let (Some(dump), Some(restore)) = (pg_tool("pg_dump"), pg_tool("pg_restore")) else {
        eprintln!("skipped: no pg_dump/pg_restore");
        return;
    };
    let (server, db) = server_on_postgres(&admin);
    let phone = crate::helpers::Device::signed_in(&server, "inspector1", 0);
    for seed in 0..5 {
        phone.report("0101", 700 + seed);
    }
    assert_eq!(phone.sync().accepted, 5);
    let before = server.state.store.stats().expect("stats");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin)
        .to_string();
    let file = tempfile::NamedTempFile::new().expect("tmp");
    let out = std::process::Command::new(&dump)
        .args(["-Fc", "-f"])
        .arg(file.path())
        .arg(format!("{base}/{db}"))
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = format!("xr_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    c.batch_execute(&format!("CREATE DATABASE {restored}"))
        .expect("create");
    let out = std::process::Command::new(&restore)
        .args(["--no-owner", "-d"])
        .arg(format!("{base}/{restored}"))
        .arg(file.path())
        .output()
        .expect("pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A server on the restored database (same photo folder): the same records, and a phone's
    // next report goes in after them.
    let state = xuncha_server::AppState::open(
        server.state.blob_dir.parent().expect("data dir"),
        xuncha_server::Config {
            database: xuncha_server::state::Database::Postgres(format!("{base}/{restored}")),
            ..xuncha_server::Config::default()
        },
    )
    .expect("restored server");
    let after = state.store.stats().expect("stats");
    assert_eq!(
        (after.cases, after.events, after.photos),
        (before.cases, before.events, before.photos)
    );
    let running = xuncha_server::RunningServer::start(state.clone()).expect("serve");
    let raw = reqwest::blocking::Client::new();
    let v: Value = raw
        .post(format!("{}/v1/auth/login", running.url))
        .json(&serde_json::json!({"user_id": "supervisor1", "password": "demo", "device_id": "restore-desk"}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    assert!(v["token"].is_string(), "users and passwords came back: {v}");
}
