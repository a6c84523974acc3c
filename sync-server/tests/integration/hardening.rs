//! Holes an attacker (or a broken phone) found, each tried over real HTTP against a real
//! server: over-long fields, clocks far ahead or malformed, absurd deadlines, a crowd of
//! reports at one spot. Each is refused with its own code and changes nothing, and an honest
//! phone keeps its whole outbox.

use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::hlc::{Hlc, HlcClock};
use xuncha_core::limits;
use xuncha_core::model::{Actor, Location, Op, OpBody, PhotoKind, PhotoRef};
use xuncha_core::store::NewReport;
use xuncha_core::sync::protocol::{OpStatus, PushResponse};

use crate::helpers::{Device, TestServer, now_ms};

const DAY: i64 = 86_400_000;

/// A raw client signed in as `user` on `device`.
pub struct Raw {
    pub url: String,
    pub token: String,
    pub device: String,
    pub actor: Actor,
    clock: HlcClock,
}

impl Raw {
    pub fn login(server: &TestServer, user: &str, device: &str) -> Raw {
        let v: Value = reqwest::blocking::Client::new()
            .post(format!("{}/v1/auth/login", server.url))
            .json(&json!({"user_id": user, "password": "demo", "device_id": device}))
            .send()
            .expect("login")
            .json()
            .expect("json");
        let user: xuncha_core::reference::User =
            serde_json::from_value(v["user"].clone()).expect("user");
        Raw {
            url: server.url.clone(),
            token: v["token"].as_str().expect("token").to_string(),
            device: device.to_string(),
            actor: Actor {
                user_id: user.id,
                role: user.role,
                unit_id: user.unit_id,
            },
            clock: HlcClock::new(7, Hlc::default()),
        }
    }

    /// An operation of this client, stamped now by the real clock.
    pub fn op(&mut self, case_id: Uuid, body: OpBody) -> Op {
        let now = now_ms();
        Op {
            id: Uuid::now_v7(),
            case_id,
            device_id: self.device.clone(),
            actor: self.actor.clone(),
            hlc: self.clock.tick(now as u64),
            device_time_ms: now,
            body,
        }
    }

    /// Push raw JSON; status and body.
    pub fn push_json(&self, body: String) -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("push");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    pub fn push(&self, ops: &[Op]) -> PushResponse {
        let (status, v) = self.push_json(json!({ "ops": ops }).to_string());
        assert_eq!(status, 200, "{v}");
        serde_json::from_value(v).expect("push response")
    }
}

pub fn report_body(lat: f64, lon: f64, description: String) -> OpBody {
    OpBody::Report {
        category: "0101".into(),
        description,
        location: Location {
            lat,
            lon,
            accuracy_m: Some(5.0),
            address: "演示路 1 号".into(),
        },
        site_id: None,
        grid_id: None,
        suggested_unit_id: None,
        campaign_id: None,
        undercover: false,
        photos: vec![PhotoRef {
            sha256: xuncha_core::store::sha256_hex(Uuid::new_v4().as_bytes()),
            kind: PhotoKind::Before,
            mime: "image/jpeg".into(),
            size: 1000,
            captured_at_ms: None,
            location: None,
        }],
    }
}

fn code(r: &PushResponse, i: usize) -> Option<&str> {
    r.results[i].code.as_deref()
}

#[test]
fn over_long_fields_are_refused_on_the_phone_and_on_the_server() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    // The phone says so when the person saves, before anything is queued.
    let err = phone
        .store
        .report(NewReport {
            category: "0101".into(),
            description: "垃".repeat(limits::DESCRIPTION_CHARS + 1),
            location: Location {
                lat: 30.2552,
                lon: 120.1552,
                accuracy_m: Some(5.0),
                address: "演示路".into(),
            },
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![crate::helpers::photo(1)],
        })
        .expect_err("too long");
    assert_eq!(err.code(), "too_long");
    assert_eq!(phone.store.pending_count().expect("pending"), 0);

    // A crafted push of a 7 MB description, a 2,000-character comment and ten photos.
    let mut raw = Raw::login(&server, "inspector1", "crafted-1");
    let ok = raw.op(Uuid::now_v7(), report_body(30.2552, 120.1552, "ok".into()));
    let huge = raw.op(
        Uuid::now_v7(),
        report_body(30.2552, 120.1552, "x".repeat(7_000_000)),
    );
    let comment = raw.op(
        ok.case_id,
        OpBody::Comment {
            text: "评".repeat(2_000),
            photos: vec![],
        },
    );
    let mut many = report_body(30.2552, 120.1552, "photos".into());
    if let OpBody::Report { photos, .. } = &mut many {
        let one = photos[0].clone();
        *photos = vec![one; limits::PHOTOS_PER_OP + 1];
    }
    let many = raw.op(Uuid::now_v7(), many);
    let r = raw.push(&[ok.clone(), huge.clone(), comment, many.clone()]);
    assert_eq!(r.results[0].status, OpStatus::Accepted);
    assert_eq!(code(&r, 1), Some("too_long"));
    assert_eq!(code(&r, 2), Some("too_long"));
    assert_eq!(code(&r, 3), Some("too_many"));
    for refused in [huge.case_id, many.case_id] {
        assert!(server.state.store.case(refused).expect("read").is_none());
    }
    assert_eq!(
        server.state.store.timeline(ok.case_id).expect("tl").len(),
        1
    );

    // More operations in one push than allowed: the whole push is refused, with a code.
    let ops: Vec<Op> = (0..=limits::OPS_PER_PUSH)
        .map(|_| {
            raw.op(
                ok.case_id,
                OpBody::Comment {
                    text: "c".into(),
                    photos: vec![],
                },
            )
        })
        .collect();
    let (status, v) = raw.push_json(json!({ "ops": ops }).to_string());
    assert_eq!((status, v["code"].as_str()), (413, Some("too_many_ops")));
    assert_eq!(
        server.state.store.timeline(ok.case_id).expect("tl").len(),
        1
    );
}

#[test]
fn a_phone_three_days_fast_restamps_and_loses_nothing() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 3 * DAY);
    // Operations made before the phone learned how fast it is (as if it had never synced).
    phone
        .store
        .update_sync_state(|s| s.clock_skew_ms = 0)
        .expect("forget skew");
    let a = phone.report("0101", 11);
    let b = phone.report("0102", 12);
    phone.store.comment(a, "补充说明", vec![]).expect("comment");
    let report = phone.sync();
    assert_eq!(report.rejected, 0, "nothing refused for good");
    assert!(phone.store.rejections().expect("inbox").is_empty());
    assert_eq!(phone.store.pending_count().expect("pending"), 0);
    let now = now_ms();
    for id in [a, b] {
        let case = server
            .state
            .store
            .case(id)
            .expect("read")
            .expect("on the server");
        let ahead = case.updated_hlc.wall_ms as i64 - now;
        assert!(
            ahead < 60_000,
            "stamped by the corrected clock ({ahead} ms ahead)"
        );
    }
    assert_eq!(server.state.store.timeline(a).expect("tl").len(), 2);
    // Later operations are stamped right from the start.
    let c = phone.report("0101", 13);
    phone.sync();
    let case = server
        .state
        .store
        .case(c)
        .expect("read")
        .expect("on the server");
    assert!((case.reported_hlc.wall_ms as i64 - now_ms()).abs() < 60_000);
    assert!(
        case.reported_at_ms - now_ms() > 2 * DAY,
        "device time kept as it was"
    );
}

#[test]
fn a_stamp_far_ahead_is_refused_with_its_own_code_and_decided_again_later() {
    let server = TestServer::start();
    let mut raw = Raw::login(&server, "inspector1", "crafted-2");
    let mut op = raw.op(Uuid::now_v7(), report_body(30.26, 120.16, "未来".into()));
    let honest = op.hlc;
    op.hlc.wall_ms = (now_ms() + 400 * DAY) as u64;
    let r = raw.push(std::slice::from_ref(&op));
    assert_eq!(code(&r, 0), Some("clock_ahead"));
    assert!(server.state.store.case(op.case_id).expect("read").is_none());
    // The same operation re-stamped is decided afresh (the refusal was not kept as its answer).
    op.hlc = honest;
    let r = raw.push(std::slice::from_ref(&op));
    assert_eq!(r.results[0].status, OpStatus::Accepted);
}

#[test]
fn stamps_that_do_not_fit_the_format_are_refused_never_cut() {
    let server = TestServer::start();
    let mut raw = Raw::login(&server, "inspector1", "crafted-3");
    let op = raw.op(Uuid::now_v7(), report_body(30.26, 120.16, "13 位".into()));
    let good = op.hlc.encode();
    let body = json!({ "ops": [op] }).to_string();
    for bad in [
        format!("1{good}"),
        good.to_uppercase(),
        good[1..].to_string(),
    ] {
        let (status, v) = raw.push_json(body.replace(&good, &bad));
        assert_eq!(
            (status, v["code"].as_str()),
            (400, Some("malformed_json")),
            "{bad}"
        );
    }
    assert!(server.state.store.case(op.case_id).expect("read").is_none());
}

#[test]
fn deadlines_outside_a_sane_window_are_refused() {
    let server = TestServer::start();
    let mut inspector = Raw::login(&server, "inspector1", "crafted-4");
    let mut office = Raw::login(&server, "supervisor1", "crafted-5");
    let report = inspector.op(Uuid::now_v7(), report_body(30.27, 120.17, "井盖".into()));
    let case = report.case_id;
    assert_eq!(
        inspector.push(&[report]).results[0].status,
        OpStatus::Accepted
    );
    let register = office.op(
        case,
        OpBody::Register {
            note: String::new(),
        },
    );
    assert_eq!(
        office.push(&[register]).results[0].status,
        OpStatus::Accepted
    );
    let now = now_ms();
    let dispatch = |d: i64| OpBody::Dispatch {
        unit_id: "u1".into(),
        deadline_ms: Some(d),
        note: String::new(),
    };
    let far = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .expect("date");
    for bad in [-1000, 0, now - DAY, far, i64::MAX] {
        let op = office.op(case, dispatch(bad));
        let r = office.push(&[op]);
        assert_eq!(code(&r, 0), Some("invalid_deadline"), "{bad}");
    }
    assert_eq!(
        server
            .state
            .store
            .case(case)
            .expect("read")
            .expect("case")
            .status,
        xuncha_core::Status::Registered
    );
    let op = office.op(case, dispatch(now + 3 * DAY));
    assert_eq!(office.push(&[op]).results[0].status, OpStatus::Accepted);
    // An extension request for a date far away is refused the same way.
    let mut unit = Raw::login(&server, "unit1", "crafted-6");
    let ask = unit.op(
        case,
        OpBody::RequestExtension {
            reason: "材料未到".into(),
            until_ms: Some(i64::MAX),
        },
    );
    assert_eq!(code(&unit.push(&[ask]), 0), Some("invalid_deadline"));
    // A sane one is pending, and the supervisor sees the date asked for before granting it.
    let until = now + 5 * DAY;
    let ask = unit.op(
        case,
        OpBody::RequestExtension {
            reason: "材料未到".into(),
            until_ms: Some(until),
        },
    );
    assert_eq!(unit.push(&[ask]).results[0].status, OpStatus::Accepted);
    let b = crate::console_kit::console(&server, "supervisor1");
    let (_, page) = crate::console_kit::get(&b, &server, &format!("/console/cases/{case}"));
    let asked = chrono::DateTime::from_timestamp_millis(until)
        .expect("time")
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("tz"))
        .format("%m-%d %H:%M")
        .to_string();
    assert!(
        page.contains("延期申请") && page.contains(&asked),
        "requested date shown"
    );
}

#[test]
fn probable_duplicates_stay_few_at_a_busy_spot() {
    let server = TestServer::start();
    let mut raw = Raw::login(&server, "inspector1", "crafted-7");
    let mut ids = Vec::new();
    for batch in 0..2 {
        let ops: Vec<Op> = (0..limits::OPS_PER_PUSH)
            .map(|i| {
                raw.op(
                    Uuid::now_v7(),
                    report_body(30.2552, 120.1552, format!("同一处 {:04}", batch * 1000 + i)),
                )
            })
            .collect();
        ids.extend(ops.iter().map(|o| o.case_id));
        let r = raw.push(&ops);
        assert!(r.results.iter().all(|x| x.status == OpStatus::Accepted));
    }
    let doc_len = |id: Uuid| {
        let c = server.state.store.case(id).expect("read").expect("case");
        assert!(
            c.probable_duplicates.len() <= 5,
            "{}",
            c.probable_duplicates.len()
        );
        serde_json::to_string(&c).expect("json").len()
    };
    let tenth = doc_len(ids[9]);
    let last = doc_len(ids[ids.len() - 1]);
    assert_eq!(last, tenth, "the 1,000th report costs what the 10th did");
    let first = server
        .state
        .store
        .case(ids[0])
        .expect("read")
        .expect("case");
    assert!(first.probable_duplicates.is_empty());
}

#[test]
fn console_answers_carry_security_headers_and_run_no_inline_script() {
    let server = TestServer::start_with(xuncha_server::Config {
        behind_tls: true,
        ..xuncha_server::Config::default()
    });
    let login = reqwest::blocking::get(format!("{}/console/login", server.url)).expect("page");
    let h = login.headers().clone();
    let csp = h["content-security-policy"].to_str().expect("csp");
    for part in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h["set-cookie"].to_str().expect("cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");

    let b = crate::console_kit::console(&server, "supervisor1");
    let (status, page) = crate::console_kit::get(&b, &server, "/console");
    assert_eq!(status, 200);
    assert!(
        !page.contains("onclick") && !page.contains("<script>"),
        "no inline script"
    );
    assert!(page.contains(r#"<script src="/console/console.js""#));
}

#[test]
fn a_phones_token_opens_no_console_page_and_a_session_pushes_nothing() {
    let server = TestServer::start();
    let phone = Raw::login(&server, "inspector1", "phone-tok");
    let b = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in ["/console", "/console/boards"] {
        let r = b
            .get(format!("{}{path}", server.url))
            .header("cookie", format!("xc_session={}", phone.token))
            .send()
            .expect("page");
        assert!(r.status().is_redirection(), "{path}: {}", r.status());
    }
    // A console session's token is not a bearer token for the phones' API.
    let b = crate::console_kit::browser();
    let page = b
        .get(format!("{}/console/login", server.url))
        .send()
        .expect("login page")
        .text()
        .expect("html");
    let csrf = crate::console_kit::field(&page, "csrf");
    let signed = b
        .post(format!("{}/console/login", server.url))
        .form(&[
            ("user", "supervisor1"),
            ("password", "demo"),
            ("csrf", &csrf),
        ])
        .send()
        .expect("sign in");
    let session = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("xc_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let pull = reqwest::blocking::Client::new()
        .get(format!("{}/v1/pull?cursor=0", server.url))
        .bearer_auth(&session)
        .send()
        .expect("pull");
    assert_eq!(pull.status(), 401);
    // Phones may not name a device as a console session.
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&json!({"user_id": "inspector1", "password": "demo", "device_id": "console-1234"}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 400);
}

#[test]
fn a_device_id_belongs_to_the_user_who_registered_it() {
    let server = TestServer::start();
    let login = |user: &str| {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/auth/login", server.url))
            .json(&json!({"user_id": user, "password": "demo", "device_id": "shared-id", "device_name": user}))
            .send()
            .expect("login")
    };
    assert_eq!(login("inspector1").status(), 200);
    let taken = login("inspector2");
    assert_eq!(taken.status(), 409);
    let v: Value = taken.json().expect("json");
    assert_eq!(v["code"], "device_taken");
    // Nothing changed: the device is still inspector1's, who signs in with it again.
    assert_eq!(login("inspector1").status(), 200);
}

#[test]
fn pull_pages_are_bounded_in_bytes_and_lose_nothing() {
    let server = TestServer::start();
    let mut raw = Raw::login(&server, "inspector1", "crafted-8");
    let long = "井".repeat(limits::DESCRIPTION_CHARS);
    let ops: Vec<Op> = (0..limits::OPS_PER_PUSH)
        .map(|i| {
            raw.op(
                Uuid::now_v7(),
                report_body(30.25 + i as f64 * 0.001, 120.15, long.clone()),
            )
        })
        .collect();
    let want: std::collections::HashSet<Uuid> = ops.iter().map(|o| o.case_id).collect();
    let r = raw.push(&ops);
    assert!(r.results.iter().all(|x| x.status == OpStatus::Accepted));
    let office = Raw::login(&server, "supervisor1", "crafted-9");
    let (mut cursor, mut got, mut largest) = (0i64, std::collections::HashSet::new(), 0);
    loop {
        let body = reqwest::blocking::Client::new()
            .get(format!("{}/v1/pull?cursor={cursor}&limit=1000", server.url))
            .bearer_auth(&office.token)
            .send()
            .expect("pull")
            .bytes()
            .expect("body");
        largest = largest.max(body.len());
        let page: xuncha_core::sync::protocol::PullResponse =
            serde_json::from_slice(&body).expect("page");
        for c in &page.changes {
            if let xuncha_core::sync::protocol::Change::Upsert { case, .. } = c {
                got.insert(case.id);
            }
        }
        assert!(page.cursor > cursor || !page.has_more, "progress");
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    println!("largest pull page: {largest} bytes");
    assert!(largest <= limits::PULL_PAGE_BYTES + 64 * 1024, "{largest}");
    assert_eq!(got, want, "every case arrives");
}
