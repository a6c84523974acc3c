//! Access control as a table: every endpoint × every role × a case in and out of the caller's
//! scope. Unit staff never read, change or download anything of another unit; inspectors only
//! what they reported; a district's supervisor or administrator only their district's places and
//! units; a revoked
//! device or a disabled user is refused on the very next request.

use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{Op, OpBody};
use xuncha_core::sync::protocol::{OpStatus, PullResponse, PushResponse};

use crate::helpers::{Device, TestServer, now_ms, photo_bytes};

/// A signed-in caller: its device store and its bearer token.
struct Caller {
    user: &'static str,
    device: Device,
    token: String,
}

impl Caller {
    fn new(server: &TestServer, user: &'static str) -> Caller {
        let device = Device::signed_in(server, user, 0);
        let token = device
            .store
            .sync_state()
            .expect("state")
            .token
            .expect("token");
        Caller {
            user,
            device,
            token,
        }
    }

    /// An operation by this caller on `case`, made by hand (as a forged or stale device would),
    /// so it can name a case the device never received.
    fn op(&self, case: Uuid, body: OpBody) -> Op {
        Op {
            id: Uuid::now_v7(),
            case_id: case,
            device_id: self.device.store.device_id().to_string(),
            actor: self.device.store.session().expect("session").actor(),
            hlc: Hlc {
                wall_ms: now_ms() as u64,
                counter: 0,
                node: 1,
            },
            device_time_ms: now_ms(),
            body,
        }
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// Status and body of a GET; error bodies must carry a code.
fn get(server: &TestServer, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut rb = http().get(format!("{}{path}", server.url));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().expect("request");
    let status = resp.status().as_u16();
    let body = if resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
    {
        resp.json().expect("json body")
    } else {
        Value::Null
    };
    if status >= 400 {
        assert!(body["code"].is_string(), "{path}: {status} {body}");
    }
    (status, body)
}

fn push(server: &TestServer, caller: &Caller, op: &Op) -> (OpStatus, Option<String>) {
    let resp: PushResponse = http()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&caller.token)
        .json(&json!({ "ops": [op] }))
        .send()
        .expect("push")
        .json()
        .expect("push response");
    let r = &resp.results[0];
    (r.status, r.code.clone())
}

fn pulled_cases(server: &TestServer, caller: &Caller) -> Vec<Uuid> {
    let (status, body) = get(server, Some(&caller.token), "/v1/pull?cursor=0&limit=1000");
    assert_eq!(status, 200, "{}: {body}", caller.user);
    let page: PullResponse = serde_json::from_value(body).expect("page");
    page.changes
        .iter()
        .filter_map(|c| match c {
            xuncha_core::sync::protocol::Change::Upsert { case, .. } => Some(case.id),
            xuncha_core::sync::protocol::Change::Remove { .. } => None,
        })
        .collect()
}

fn dispatch(unit: &str) -> OpBody {
    OpBody::Dispatch {
        unit_id: unit.into(),
        deadline_ms: None,
        note: String::new(),
    }
}

#[test]
fn every_endpoint_by_every_role_in_and_out_of_scope() {
    let server = TestServer::start();
    // An administrator scoped to 上城区 (d2), as `create-user --area d2` makes one.
    crate::helpers::add_district_admin(&server);
    let users = [
        "inspector1",
        "inspector2",
        "supervisor1",
        "supervisor2",
        "admin",
        "admin2",
        "unit1",
        "unit2",
    ];
    let callers: Vec<Caller> = users.iter().map(|u| Caller::new(&server, u)).collect();
    let by = |u: &str| callers.iter().find(|c| c.user == u).expect("caller");

    // Case A: inspector1's, dispatched to unit 1. Case B: inspector2's, dispatched to unit 2.
    // Both in 西湖区. Case C: inspector1's in 上城区, dispatched to that district's unit 9.
    let a = by("inspector1").device.report("0101", 1);
    let b = by("inspector2").device.report("0503", 2);
    let c = by("inspector1").device.report_in_shangcheng("0105", 3);
    let photo_a = xuncha_core::store::sha256_hex(&photo_bytes(1));
    let photo_b = xuncha_core::store::sha256_hex(&photo_bytes(2));
    let photo_c = xuncha_core::store::sha256_hex(&photo_bytes(3));
    by("inspector1").device.sync();
    by("inspector2").device.sync();
    let sup = &by("supervisor1").device;
    sup.sync();
    for (case, unit) in [(a, "u1"), (b, "u2"), (c, "u9")] {
        sup.store
            .act(
                case,
                OpBody::Register {
                    note: String::new(),
                },
                vec![],
            )
            .expect("register");
        sup.store
            .act(case, dispatch(unit), vec![])
            .expect("dispatch");
    }
    sup.sync();

    // Who may see which case (DESIGN §1).
    let sees = |user: &str, case: Uuid| -> bool {
        match user {
            "supervisor1" | "admin" => true,
            "supervisor2" => case != c,
            "admin2" => case == c,
            "inspector1" => case == a || case == c,
            "inspector2" => case == b,
            "unit1" => case == a,
            "unit2" => case == b,
            other => panic!("no rule for {other}"),
        }
    };
    let mut checked = 0;
    for caller in &callers {
        let token = Some(caller.token.as_str());
        let pulled = pulled_cases(&server, caller);
        for (case, sha) in [(a, &photo_a), (b, &photo_b), (c, &photo_c)] {
            let visible = sees(caller.user, case);
            let name = [(a, "A"), (b, "B"), (c, "C")]
                .iter()
                .find(|(id, _)| *id == case)
                .map(|(_, n)| *n)
                .unwrap_or("?");
            let who = format!("{} on case {name}", caller.user);

            // Read: pull.
            assert_eq!(pulled.contains(&case), visible, "pull: {who}");
            // Download: photo and thumbnail (404 either way for the unseen: no existence leak).
            for path in [
                format!("/v1/photos/{sha}"),
                format!("/v1/photos/{sha}/thumb"),
            ] {
                let (status, body) = get(&server, token, &path);
                if visible {
                    assert_eq!(status, 200, "{path}: {who}");
                } else {
                    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
                }
            }
            // Change: a comment, and the unit's own action (acknowledge), pushed by hand.
            let events_before = server.state.store.stats().expect("stats").events;
            for body in [
                OpBody::Comment {
                    text: "越权测试".into(),
                    photos: vec![],
                },
                OpBody::Acknowledge {
                    note: String::new(),
                },
            ] {
                let kind = format!("{body:?}");
                let (status, code) = push(&server, caller, &caller.op(case, body));
                if visible {
                    assert_ne!(code.as_deref(), Some("not_in_scope"), "{kind}: {who}");
                } else {
                    assert_eq!(
                        (status, code.as_deref()),
                        (OpStatus::Rejected, Some("not_in_scope")),
                        "{kind}: {who}"
                    );
                }
                checked += 1;
            }
            if !visible {
                assert_eq!(
                    server.state.store.stats().expect("stats").events,
                    events_before,
                    "a refused op changes nothing: {who}"
                );
            }
            checked += 3;
        }
        // Reference data: every signed-in role.
        assert_eq!(get(&server, token, "/v1/reference").0, 200);
    }
    println!("access checks: {checked}");
    assert_eq!(checked, users.len() * 3 * 5);
}

#[test]
fn without_a_valid_token_nothing_is_served() {
    let server = TestServer::start();
    let phone = Caller::new(&server, "inspector1");
    let sha = "0".repeat(64);
    let guarded = [
        "/v1/pull".to_string(),
        "/v1/reference".to_string(),
        format!("/v1/photos/{sha}"),
        format!("/v1/photos/{sha}/thumb"),
        format!("/v1/uploads/{sha}"),
    ];
    for path in &guarded {
        for token in [None, Some("not-a-token"), Some("Bearer x")] {
            let (status, body) = get(&server, token, path);
            assert_eq!(status, 401, "{path} with {token:?}: {body}");
        }
    }
    for (path, body) in [
        ("/v1/push", json!({"ops": []})),
        ("/v1/uploads", json!({"sha256": sha, "size": 1})),
        ("/v1/auth/logout", json!({})),
    ] {
        let status = http()
            .post(format!("{}{path}", server.url))
            .json(&body)
            .send()
            .expect("post")
            .status()
            .as_u16();
        assert_eq!(status, 401, "{path}");
    }

    // Revoking the device stops its token on the very next request.
    assert_eq!(get(&server, Some(&phone.token), "/v1/pull").0, 200);
    assert!(
        server
            .state
            .store
            .revoke_device(phone.device.store.device_id())
            .expect("revoke")
    );
    let (status, body) = get(&server, Some(&phone.token), "/v1/pull");
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("device_revoked"))
    );
    // The device is told why, stops cleanly and keeps its outbox.
    phone.device.report("0101", 9);
    let err = phone.device.try_sync().expect_err("revoked");
    assert!(
        matches!(&err, xuncha_core::Error::Server { status: 403, code, .. } if code == "device_revoked"),
        "{err:?}"
    );
    assert_eq!(phone.device.store.pending_count().expect("pending"), 1);

    // Disabling a user stops all of that user's tokens at once.
    let other = Caller::new(&server, "unit2");
    assert!(
        server
            .state
            .store
            .set_disabled("unit2", true)
            .expect("disable")
    );
    let (status, body) = get(&server, Some(&other.token), "/v1/pull");
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("user_disabled"))
    );
}
