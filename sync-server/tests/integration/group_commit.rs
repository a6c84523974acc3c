//! Group commit: pushes that wait for the writer are committed together, and one push's storage
//! failure inside a group is rolled back alone (runs on both backends).

use std::collections::HashSet;

use uuid::Uuid;
use xuncha_core::sync::protocol::OpStatus;
use xuncha_server::group_commit::PushJob;
use xuncha_server::store::Principal;

use crate::hardening::{Raw, report_body};
use crate::helpers::{TestServer, metric, server_sql};

fn principal(server: &TestServer, raw: &Raw) -> Principal {
    let user = server
        .state
        .store
        .user(&raw.actor.user_id)
        .expect("user")
        .expect("known user")
        .user;
    Principal {
        user,
        device_id: raw.device.clone(),
    }
}

/// Make the database refuse, mid-transaction, any event of `case_id` (a storage failure inside
/// one push of a group).
fn fail_appends_of(server: &TestServer, case_id: Uuid) {
    match &server.state.config.database {
        xuncha_server::state::Database::Postgres(_) => {
            server_sql(
                server,
                &format!(
                    "CREATE FUNCTION refuse_case() RETURNS trigger AS $$
                     BEGIN IF NEW.case_id = '{case_id}' THEN RAISE EXCEPTION 'injected'; END IF;
                     RETURN NEW; END $$ LANGUAGE plpgsql"
                ),
            );
            server_sql(
                server,
                "CREATE TRIGGER refuse_case BEFORE INSERT ON events
                 FOR EACH ROW EXECUTE FUNCTION refuse_case()",
            );
        }
        xuncha_server::state::Database::DataFolder => {
            server_sql(
                server,
                &format!(
                    "CREATE TRIGGER refuse_case BEFORE INSERT ON events
                     WHEN NEW.case_id = '{case_id}' BEGIN SELECT RAISE(ABORT, 'injected'); END"
                ),
            );
        }
    }
}

#[test]
fn a_failed_push_inside_a_group_is_rolled_back_alone() {
    let server = TestServer::start();
    let mut phones: Vec<Raw> = (0..3)
        .map(|i| Raw::login(&server, "inspector1", &format!("group-{i}")))
        .collect();
    let cases: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let ops: Vec<Vec<xuncha_core::model::Op>> = phones
        .iter_mut()
        .zip(&cases)
        .enumerate()
        .map(|(i, (p, case))| {
            vec![p.op(
                *case,
                report_body(30.2552 + i as f64 * 0.01, 120.1552, format!("分组提交 {i}")),
            )]
        })
        .collect();
    fail_appends_of(&server, cases[1]);
    let who: Vec<Principal> = phones.iter().map(|p| principal(&server, p)).collect();
    let rules = server.state.config.push_rules;
    let now = crate::helpers::now_ms();
    let jobs: Vec<PushJob<'_>> = who
        .iter()
        .zip(&ops)
        .map(|(who, ops)| PushJob::new(who, ops, now, &rules))
        .collect();
    let answers = server.state.store.push_group(&jobs);
    assert_eq!(answers.len(), 3);
    assert!(
        answers[1].is_err(),
        "the failing push is answered with its failure"
    );
    for i in [0, 2] {
        let results = answers[i].as_ref().expect("the others are kept");
        assert_eq!(results[0].status, OpStatus::Accepted);
        assert!(server.state.store.case(cases[i]).expect("read").is_some());
    }
    assert!(
        server.state.store.case(cases[1]).expect("read").is_none(),
        "nothing of the failed push is kept"
    );
    // The sequences of the group are contiguous: the rolled-back push left no gap a cursor
    // would wait on, and a pull sees both cases.
    let seqs: Vec<i64> = [0, 2]
        .iter()
        .map(|&i| answers[i].as_ref().expect("kept")[0].seq.expect("seq"))
        .collect();
    assert_eq!(seqs[1], seqs[0] + 1, "{seqs:?}");
    // The device of the failed push tries again once the fault is gone, and is accepted.
    let drop = match server.state.config.database {
        xuncha_server::state::Database::Postgres(_) => "DROP TRIGGER refuse_case ON events",
        xuncha_server::state::Database::DataFolder => "DROP TRIGGER refuse_case",
    };
    server_sql(&server, drop);
    let again = phones[1].push(&ops[1]);
    assert_eq!(again.results[0].status, OpStatus::Accepted);
}

#[test]
fn the_same_operation_twice_in_one_group_is_applied_once() {
    let server = TestServer::start();
    let mut phone = Raw::login(&server, "inspector1", "group-twice");
    let op = phone.op(
        Uuid::now_v7(),
        report_body(30.2552, 120.1552, "重发".into()),
    );
    let ops = vec![op.clone()];
    let who = principal(&server, &phone);
    let rules = server.state.config.push_rules;
    let now = crate::helpers::now_ms();
    let job = PushJob::new(&who, &ops, now, &rules);
    let answers = server.state.store.push_group(&[job.clone(), job]);
    let first = answers[0].as_ref().expect("first")[0].clone();
    let second = answers[1].as_ref().expect("second")[0].clone();
    assert_eq!(first.status, OpStatus::Accepted);
    assert_eq!(first, second, "the retry gets the first answer");
    assert_eq!(
        server_sql(
            &server,
            &format!("SELECT COUNT(*) FROM events WHERE op_id = '{}'", op.id)
        ),
        1
    );
}

#[test]
fn every_push_from_many_phones_at_once_goes_through_the_group_writer() {
    let server = TestServer::start();
    const PHONES: usize = 12;
    const ROUNDS: usize = 5;
    let accepted: Vec<HashSet<Uuid>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PHONES)
            .map(|i| {
                let server = &server;
                s.spawn(move || {
                    let mut phone = Raw::login(server, "inspector1", &format!("many-{i}"));
                    let mut mine = HashSet::new();
                    for r in 0..ROUNDS {
                        let ops: Vec<_> = (0..10)
                            .map(|k| {
                                phone.op(
                                    Uuid::now_v7(),
                                    report_body(
                                        30.2 + (i * 100 + r * 10 + k) as f64 * 1e-4,
                                        120.1,
                                        format!("并发 {i}-{r}-{k}"),
                                    ),
                                )
                            })
                            .collect();
                        let resp = phone.push(&ops);
                        for (op, result) in ops.iter().zip(&resp.results) {
                            assert_eq!(result.op_id, op.id, "answers come back in order");
                            assert_eq!(result.status, OpStatus::Accepted, "{result:?}");
                            mine.insert(op.id);
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("phone"))
            .collect()
    });
    let total: usize = accepted.iter().map(HashSet::len).sum();
    assert_eq!(total, PHONES * ROUNDS * 10);
    assert_eq!(
        server_sql(
            &server,
            "SELECT COUNT(*) FROM events WHERE device_id LIKE 'many-%'"
        ) as usize,
        total,
        "each operation is in the feed once"
    );
    // Every push was committed by the writer (the sum counts pushes, the count commits).
    assert_eq!(
        metric(&server, "xuncha_push_group_size_sum") as usize,
        PHONES * ROUNDS
    );
    let commits = metric(&server, "xuncha_push_group_size_count") as usize;
    assert!((1..=PHONES * ROUNDS).contains(&commits), "{commits}");
}
