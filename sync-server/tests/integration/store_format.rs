//! What the SQLite store keeps and sends: pull pages built from stored JSON read exactly as the
//! protocol types say, and an older database is upgraded in place.

use xuncha_core::reference::User;
use xuncha_core::sync::protocol::{Change, PullResponse};
use xuncha_core::workflow::Role;
use xuncha_server::store::Principal;
use xuncha_server::store::sqlite::{DB_FILE, SqliteStore};

use crate::helpers::{Device, TestServer, now_ms};

#[test]
fn a_pull_page_of_stored_json_reads_exactly_as_the_protocol_types() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.report("0102", 2);
    phone.sync();
    let supervisor = Principal {
        user: User {
            id: "supervisor1".into(),
            name: "督查一组".into(),
            role: Role::Supervisor,
            unit_id: None,
            area_id: None,
        },
        device_id: "desk".into(),
    };
    // From the feed, and whole cases by their last change (a supervisor may catch up that way).
    for whole in [false, true] {
        let page = server
            .state
            .store
            .pull(&supervisor, 0, 100, whole, now_ms())
            .expect("pull");
        let sent = serde_json::to_value(&page).expect("page json");
        let typed: PullResponse =
            serde_json::from_value(sent.clone()).expect("a device decodes it");
        assert_eq!(
            serde_json::to_value(&typed).expect("typed json"),
            sent,
            "nothing lost or added between the stored JSON and the protocol types"
        );
        assert_eq!(typed.whole, whole);
        check_changes(&typed);
    }
}

fn check_changes(typed: &PullResponse) {
    assert_eq!(typed.changes.len(), 2);
    for change in &typed.changes {
        let Change::Upsert {
            case, seq, events, ..
        } = change
        else {
            panic!("expected upserts, got {change:?}");
        };
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].server_seq,
            Some(*seq),
            "events carry their sequence"
        );
        assert_eq!(events[0].op.case_id, case.id);
    }
}

#[test]
fn a_schema_1_database_is_upgraded_and_its_events_carry_their_sequence() {
    let dir = tempfile::TempDir::new().expect("tmp");
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("db");
        conn.execute_batch(include_str!("../../migrations/01_server.sql"))
            .expect("schema 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO events (seq, op_id, case_id, unit_before, unit_after, reporter_id,
                                 device_id, server_time_ms, event)
             VALUES (7, 'op', 'case', NULL, 'u1', 'inspector1', 'dev', 1, '{\"to_status\":\"submitted\"}')",
            [],
        )
        .expect("old event");
        conn.execute_batch(
            "INSERT INTO case_photos (sha256, case_id, op_id, kind) VALUES ('aa', 'case', 'op', 'before');
             INSERT INTO uploads (sha256, size, received, created_ms) VALUES ('bb', 10, 4, 5);
             INSERT INTO cases (id, status, reporter_id, category, lat, lon, received_ms, last_seq, doc)
             VALUES ('case', 'dispatched', 'inspector1', '0101', 30.0, 120.0, 1, 7,
                     '{\"deadline_ms\":99,\"grid_id\":\"g1\",\"campaign_id\":null,\"reported_at_ms\":5}');",
        )
        .expect("old photo and case rows");
    }
    let store = SqliteStore::open(dir.path()).expect("upgrade");
    drop(store);
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("db");
    let (version, seq_in_json, status): (i64, i64, String) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version),
                    json_extract(event, '$.server_seq'), json_extract(event, '$.to_status')
             FROM events WHERE seq = 7",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("row");
    assert_eq!(
        (version, seq_in_json, status.as_str()),
        (20, 7, "submitted")
    );
    // Schema 4 keeps what the boards filter and sort by beside the document, filled from it.
    let columns: (Option<i64>, Option<String>, Option<String>, i64) = conn
        .query_row(
            "SELECT deadline_ms, grid_id, campaign_id, reported_ms FROM cases WHERE id = 'case'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("case");
    assert_eq!(columns, (Some(99), Some("g1".into()), None, 5));
    // Schema 6 keeps each event's resulting status beside it, filled from its document.
    let to_status: String = conn
        .query_row("SELECT to_status FROM events WHERE seq = 7", [], |r| {
            r.get(0)
        })
        .expect("event");
    assert_eq!(to_status, "submitted");
    let index: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'events_by_unit_after'",
            [],
            |r| r.get(0),
        )
        .expect("index");
    assert!(index.contains("IS NOT NULL"), "{index}");
    // Schema 3: case photos from before stay open as they were; an old upload has no owner.
    let granted: i64 = conn
        .query_row(
            "SELECT granted FROM case_photos WHERE sha256 = 'aa'",
            [],
            |r| r.get(0),
        )
        .expect("photo row");
    assert_eq!(granted, 1);
    let (device, received): (String, i64) = conn
        .query_row(
            "SELECT device_id, received FROM uploads WHERE sha256 = 'bb'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("upload row");
    assert_eq!((device.as_str(), received), ("", 4));
}

#[test]
fn rounds_kept_before_schema_17_get_their_sealed_and_reported_columns() {
    use xuncha_core::round::{Round, RoundKind};
    let round = |name: &str, kind, published_ms, closed_ms| Round {
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        kind,
        area_id: None,
        starts_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        ends_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("date"),
        due_ms: 10,
        max_distance_m: 300.0,
        planned_by: "supervisor1".into(),
        planned_ms: 1,
        published_ms,
        closed_ms,
    };
    let rounds = [
        round("sealed", RoundKind::Covert, None, Some(50)),
        round("published late", RoundKind::Covert, Some(70), Some(50)),
        round("closed", RoundKind::Open, None, Some(60)),
        round("running", RoundKind::Recheck, None, None),
    ];
    let dir = tempfile::TempDir::new().expect("tmp");
    {
        // Schema 16, as the previous release left it, holding four rounds.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("db");
        xuncha_core::search::register(&conn).expect("functions");
        for sql in &xuncha_server::store::sqlite::MIGRATIONS[..16] {
            conn.execute_batch(sql).expect("migration");
        }
        conn.pragma_update(None, "user_version", 16)
            .expect("version");
        for r in &rounds {
            conn.execute(
                "INSERT INTO rounds (id, doc, planned_ms, closed_ms) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    r.id.to_string(),
                    serde_json::to_string(r).expect("doc"),
                    r.planned_ms,
                    r.closed_ms
                ],
            )
            .expect("round");
        }
    }
    drop(SqliteStore::open(dir.path()).expect("upgrade"));
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("db");
    for r in &rounds {
        let (sealed, reported): (bool, Option<i64>) = conn
            .query_row(
                "SELECT sealed, reported_ms FROM rounds WHERE id = ?1",
                [r.id.to_string()],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("row");
        assert_eq!(
            (sealed, reported),
            (r.sealed(), r.reported_ms()),
            "{}: as core says",
            r.name
        );
    }
}
