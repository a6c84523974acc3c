//! The boards at scale: every overdue case is listed, most late first, page after page, with
//! its count — however many there are (the boards once stopped silently at the newest 5,000
//! open cases, so the most overdue vanished first).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use uuid::Uuid;
use xuncha_core::model::OpBody;
use xuncha_core::sync::protocol::OpStatus;

use crate::console_kit::{console, get};
use crate::hardening::{Raw, report_body};
use crate::helpers::{TestServer, now_ms};

const DAY: i64 = 24 * 3_600_000;

/// Push `ops` in pushes of at most 500, all accepted.
fn push_all(phone: &Raw, ops: &[xuncha_core::model::Op]) {
    for chunk in ops.chunks(xuncha_core::limits::OPS_PER_PUSH) {
        for r in phone.push(chunk).results {
            assert_eq!(r.status, OpStatus::Accepted, "{r:?}");
        }
    }
}

/// The case ids linked inside the card of `board` on a boards page.
fn ids_on_board(page: &str, board: &str) -> Vec<Uuid> {
    let card = page
        .split(&format!("id=\"{board}\""))
        .nth(1)
        .expect("the board's card")
        .split("class=\"card\"")
        .next()
        .unwrap_or_default();
    card.split("/console/cases/")
        .skip(1)
        .filter_map(|s| s.get(..36)?.parse().ok())
        .collect()
}

#[test]
fn the_boards_list_every_overdue_case_most_late_first_however_many() {
    let offset = Arc::new(AtomicI64::new(0));
    let server = TestServer::start_with_clock(xuncha_server::Config::default(), offset.clone());
    let mut inspector = Raw::login(&server, "inspector1", "boards-inspector");
    let mut supervisor = Raw::login(&server, "supervisor1", "boards-desk");
    // More overdue cases than the old silent cap, each a minute later due than the one before,
    // and a few dispatched cases not yet due.
    const OVERDUE: usize = 5_050;
    const NOT_DUE: usize = 3;
    let now = now_ms();
    let cases: Vec<Uuid> = (0..OVERDUE + NOT_DUE).map(|_| Uuid::now_v7()).collect();
    let reports: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(i, id)| {
            inspector.op(
                *id,
                report_body(30.2 + i as f64 * 1e-3, 120.1, format!("逾期看板 {i}")),
            )
        })
        .collect();
    push_all(&inspector, &reports);
    let mut desk = Vec::new();
    for (i, id) in cases.iter().enumerate() {
        let deadline = if i < OVERDUE {
            now + 3_600_000 + i as i64 * 60_000
        } else {
            now + 30 * DAY
        };
        desk.push(supervisor.op(
            *id,
            OpBody::Register {
                note: String::new(),
            },
        ));
        desk.push(supervisor.op(
            *id,
            OpBody::Dispatch {
                unit_id: "u1".into(),
                deadline_ms: Some(deadline),
                note: String::new(),
            },
        ));
    }
    push_all(&supervisor, &desk);
    // Four days on, the first OVERDUE cases are past their deadlines.
    offset.store(4 * DAY, Ordering::SeqCst);

    let b = console(&server, "supervisor1");
    let (s, first) = get(&b, &server, "/console/boards");
    assert_eq!(s, 200);
    assert!(
        first.contains(&format!("逾期（按逾期时长） ({OVERDUE})")),
        "the overdue board counts them all"
    );
    assert!(
        first.contains(&format!("已派遣 ({})", OVERDUE + NOT_DUE)),
        "the dispatched board counts every dispatched case"
    );
    let pages = OVERDUE.div_ceil(xuncha_core::limits::BOARD_PAGE);
    assert!(
        first.contains(&format!("第1 / {pages} 页")),
        "it says how many pages"
    );
    let mut listed = Vec::new();
    for page in 1..=pages {
        let (s, html) = get(
            &b,
            &server,
            &format!("/console/boards?board=overdue&page={page}"),
        );
        assert_eq!(s, 200);
        listed.extend(ids_on_board(&html, "overdue"));
    }
    assert_eq!(
        listed,
        cases[..OVERDUE].to_vec(),
        "every overdue case once, the most late first"
    );
    // A page past the end shows the last page, not nothing.
    let (_, beyond) = get(&b, &server, "/console/boards?board=overdue&page=999999");
    let last: HashSet<Uuid> = ids_on_board(&beyond, "overdue").into_iter().collect();
    assert!(last.contains(&cases[OVERDUE - 1]));

    // A unit's staff see their unit's boards only: unit 2 has none of them.
    let b2 = console(&server, "unit2");
    let (_, theirs) = get(&b2, &server, "/console/boards");
    assert!(
        theirs.contains("逾期（按逾期时长） (0)"),
        "unit 2 sees none"
    );
}
