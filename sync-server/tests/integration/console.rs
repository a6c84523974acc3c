//! The console over real HTTP with a cookie-keeping client: sign-in with CSRF, the review queue,
//! actions through the phones' op path, and bad input (forged forms, another unit's case, a stale
//! page) refused on the page with nothing changed.

use xuncha_core::Status;

use crate::console_kit::{act, browser, field, get, sign_in, status};
use crate::helpers::{Device, TestServer};

#[test]
fn a_supervisor_registers_and_dispatches_from_the_console_and_the_unit_receives_it() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let case = phone.report("0101", 1);
    phone.sync();

    // Not signed in: sent to the sign-in page. Wrong password: told so. No CSRF: refused.
    let anon = browser();
    let r = anon
        .get(format!("{}/console", server.url))
        .send()
        .expect("get");
    assert_eq!(r.status().as_u16(), 303);
    let (_, s, page) = sign_in(&server, "supervisor1", "wrong");
    assert_eq!(s, 401);
    assert!(page.contains("用户名或密码错误"), "{page}");
    let r = anon
        .post(format!("{}/console/login", server.url))
        .form(&[("user", "supervisor1"), ("password", "demo"), ("csrf", "x")])
        .send()
        .expect("post");
    assert_eq!(r.status().as_u16(), 403);
    let (_, s, page) = sign_in(&server, "inspector1", "demo");
    assert_eq!(s, 401, "inspectors use the phone app: {page}");

    let (b, s, _) = sign_in(&server, "supervisor1", "demo");
    assert_eq!(s, 303);
    let (s, queue) = get(&b, &server, "/console");
    assert_eq!(s, 200);
    assert!(
        queue.contains("测试案件 1"),
        "the phone's report is in the queue"
    );
    assert!(queue.contains("/v1/photos/"), "with its thumbnail");
    let (s, page) = get(&b, &server, &format!("/console/cases/{case}"));
    assert_eq!(s, 200);
    let csrf = field(&page, "csrf");
    let seen = field(&page, "seen");
    // The thumbnail is served to the console's session (a read; cookies never authorize writes).
    let sha = queue
        .split("/v1/photos/")
        .nth(1)
        .expect("img")
        .split(['/', '"'])
        .next()
        .expect("sha");
    assert_eq!(get(&b, &server, &format!("/v1/photos/{sha}/thumb")).0, 200);

    // A forged form (wrong CSRF) changes nothing.
    let (s, _) = act(
        &b,
        &server,
        case,
        &[("csrf", "forged"), ("seen", &seen), ("action", "register")],
    );
    assert_eq!(s, 403);
    assert_eq!(status(&server, case), Status::Submitted);
    // An action the table does not allow now (dispatch before registering): the reason, no change.
    let (s, page) = act(
        &b,
        &server,
        case,
        &[
            ("csrf", &csrf),
            ("seen", &seen),
            ("action", "dispatch"),
            ("unit_id", "u1"),
        ],
    );
    assert_eq!(s, 409, "{page}");
    assert_eq!(status(&server, case), Status::Submitted);

    let (s, page) = act(
        &b,
        &server,
        case,
        &[
            ("csrf", &csrf),
            ("seen", &seen),
            ("action", "register"),
            ("text", "属实"),
        ],
    );
    assert_eq!(s, 303, "{}", page.split("msg").nth(1).unwrap_or(&page));
    assert_eq!(status(&server, case), Status::Registered);
    // The page it was done from is now stale: a second action from it is refused.
    let (s, page) = act(
        &b,
        &server,
        case,
        &[
            ("csrf", &csrf),
            ("seen", &seen),
            ("action", "reject"),
            ("text", "x"),
        ],
    );
    assert_eq!(s, 409);
    assert!(page.contains("已被他人更新"), "{page}");
    assert_eq!(status(&server, case), Status::Registered);

    let (_, page) = get(&b, &server, &format!("/console/cases/{case}"));
    let seen = field(&page, "seen");
    let (s, _) = act(
        &b,
        &server,
        case,
        &[
            ("csrf", &csrf),
            ("seen", &seen),
            ("action", "dispatch"),
            ("unit_id", "u1"),
            ("text", "今日处理"),
        ],
    );
    assert_eq!(s, 303);
    assert_eq!(status(&server, case), Status::Dispatched);

    // The console's decision reaches the unit's phone like any other operation.
    let unit = Device::signed_in(&server, "unit1", 0);
    let detail = unit.store.case_detail(case).expect("the unit has the case");
    assert_eq!(detail.case.status, Status::Dispatched);
    assert_eq!(detail.timeline.len(), 3);

    // The ranking counts the dispatched case as due for unit 1 in a period holding its deadline.
    let (s, page) = get(
        &b,
        &server,
        "/console/ranking?from=2020-01-01&to=2099-12-31",
    );
    assert_eq!(s, 200);
    let row = page
        .split("data-unit=\"u1\"")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("a row for unit 1");
    assert!(
        row.contains("<td class=\"due\">1</td><td class=\"closed\">0</td>"),
        "due 1, closed 0: {row}"
    );
    assert!(
        page.contains("data-unit=\"u2\""),
        "units without cases are listed"
    );

    // The boards show it as dispatched; the CSV export has its row (Excel-readable Chinese).
    let (s, page) = get(&b, &server, "/console/boards?unit=u1");
    assert_eq!(s, 200);
    assert!(page.contains("测试案件 1"), "on the boards");
    let csv = b
        .get(format!("{}/console/export.csv?unit=u1", server.url))
        .send()
        .expect("csv")
        .bytes()
        .expect("bytes");
    let csv = String::from_utf8(csv.to_vec()).expect("utf-8");
    assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
    assert_eq!(csv.lines().count(), 2, "header + one case: {csv}");
    assert!(
        csv.contains("\"测试案件 1\"") && csv.contains("\"已派遣\""),
        "{csv}"
    );

    // Another unit's staff: the case does not exist for them, and acting on it changes nothing.
    let (b2, s, _) = sign_in(&server, "unit2", "demo");
    assert_eq!(s, 303);
    let (s, _) = get(&b2, &server, &format!("/console/cases/{case}"));
    assert_eq!(s, 404);
    let (_, q2) = get(&b2, &server, "/console");
    let csrf2 = field(&q2, "csrf");
    let (s, _) = act(
        &b2,
        &server,
        case,
        &[("csrf", &csrf2), ("seen", &seen), ("action", "acknowledge")],
    );
    assert_eq!(s, 404);
    assert_eq!(status(&server, case), Status::Dispatched);
    assert_eq!(
        get(&b2, &server, "/console/ranking").0,
        403,
        "the ranking is for supervisors"
    );
    let (_, boards2) = get(&b2, &server, "/console/boards?unit=u1");
    assert!(
        !boards2.contains("测试案件 1"),
        "unit 2's boards hold only unit 2's cases"
    );

    // Signing out revokes the session at once.
    let r = b
        .post(format!("{}/console/logout", server.url))
        .form(&[("csrf", &csrf)])
        .send()
        .expect("logout");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(get(&b, &server, "/console").0, 303);
}

/// The forms come from the transition table's requirements: unit staff asking for more time get
/// a new-deadline field (the table requires one), and the request from the console succeeds.
#[test]
fn unit_staff_ask_for_more_time_from_the_console() {
    use chrono::TimeZone;
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let desk = Device::signed_in(&server, "supervisor1", 0);
    let case = phone.report("0101", 31);
    phone.sync();
    desk.sync();
    for body in [
        xuncha_core::OpBody::Register {
            note: String::new(),
        },
        xuncha_core::OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: None,
            note: String::new(),
        },
    ] {
        desk.store.act(case, body, vec![]).expect("action");
    }
    desk.sync();
    let deadline = server
        .state
        .store
        .case(case)
        .expect("case")
        .expect("exists")
        .deadline_ms
        .expect("a deadline");

    let b = crate::console_kit::console(&server, "unit1");
    let (s, page) = get(&b, &server, &format!("/console/cases/{case}"));
    assert_eq!(s, 200);
    let form = page
        .split("<form")
        .find(|f| f.contains("value=\"request_extension\""))
        .expect("an extension form");
    assert!(
        form.contains("name=\"until\""),
        "a new-deadline field: {form}"
    );
    assert!(!form.contains("name=\"unit_id\""), "no unit picker: {form}");
    let (csrf, seen) = (field(&page, "csrf"), field(&page, "seen"));
    let until_ms = deadline + 2 * 86_400_000;
    let until = chrono::FixedOffset::east_opt(8 * 3600)
        .expect("tz")
        .timestamp_millis_opt(until_ms)
        .single()
        .expect("time")
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let (s, page) = act(
        &b,
        &server,
        case,
        &[
            ("csrf", &csrf),
            ("seen", &seen),
            ("action", "request_extension"),
            ("text", "材料未到，需延期"),
            ("until", &until),
        ],
    );
    assert_eq!(s, 303, "{}", page.split("msg").nth(1).unwrap_or(&page));
    let asked = server
        .state
        .store
        .case(case)
        .expect("case")
        .expect("exists")
        .pending_extension
        .expect("an extension request");
    // The field has minutes; the request is for that minute.
    assert_eq!(asked.until_ms, until_ms - until_ms % 60_000);
    assert_eq!(asked.requested_by, "unit1");
}
