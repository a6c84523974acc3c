//! The HTTP API with raw requests: idempotent pushes, bad input of every kind, auth failures.

use serde_json::{Value, json};
use xuncha_core::sync::protocol::PushResponse;

use crate::helpers::{Device, TestServer};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

fn login(server: &TestServer, user: &str, device: &str) -> String {
    let v: Value = client()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&json!({"user_id": user, "password": "demo", "device_id": device}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    v["token"].as_str().expect("token").to_string()
}

/// Status and JSON body; every error must be `{code, message}`.
fn call(rb: reqwest::blocking::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().unwrap_or(Value::Null);
    if status >= 400 {
        assert!(
            body["code"].is_string() && body["message"].is_string(),
            "{status}: {body}"
        );
    }
    (status, body)
}

#[test]
fn the_same_batch_twice_changes_nothing_the_second_time() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.report("0102", 2);
    let ops = phone.store.pending_ops(100).expect("ops");
    let token = phone
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let push = || -> PushResponse {
        client()
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .json(&json!({"ops": ops}))
            .send()
            .expect("push")
            .json()
            .expect("json")
    };
    let first = push();
    let events_after_first = server.state.store.stats().expect("stats").events;
    let second = push();
    assert_eq!(
        first.results, second.results,
        "a replay returns the first result"
    );
    assert_eq!(
        server.state.store.stats().expect("stats").events,
        events_after_first
    );
    // The device never heard the first answer (lost response): its own sync replays harmlessly.
    let r = phone.sync();
    assert_eq!((r.accepted, r.rejected), (2, 0));
    assert_eq!(server.state.store.stats().expect("stats").cases, 2);
}

#[test]
fn bad_input_gets_a_coded_4xx_and_changes_nothing() {
    let server = TestServer::start();
    let token = login(&server, "unit2", "dev-u2");
    let url = |p: &str| format!("{}{p}", server.url);
    let before = server.state.store.stats().expect("stats");
    let c = client();

    let (s, b) = call(
        c.post(url("/v1/push"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{not json"),
    );
    assert_eq!((s, b["code"].as_str()), (400, Some("malformed_json")));
    let (s, b) = call(
        c.post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": [{"id": "x", "kind": "teleport"}]})),
    );
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some("malformed_json")),
        "unknown op kind"
    );
    let big = "x".repeat(9 * 1024 * 1024);
    let (s, b) = call(
        c.post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": [], "pad": big})),
    );
    assert_eq!((s, b["code"].as_str()), (413, Some("payload_too_large")));
    let (s, b) = call(c.get(url("/v1/pull?cursor=abc")).bearer_auth(&token));
    assert_eq!((s, b["code"].as_str()), (400, Some("malformed_query")));
    let (s, _) = call(c.get(url("/v1/pull?cursor=-5")).bearer_auth(&token));
    assert_eq!(s, 400);
    let (s, b) = call(c.get(url("/v1/../../etc/passwd")).bearer_auth(&token));
    assert!(s == 404 || s == 400, "{s} {b}");
    let (s, b) = call(c.get(url("/v1/pull")));
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(c.get(url("/v1/pull")).bearer_auth("forged"));
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthorized")));
    let (s, b) = call(
        c.get(url("/v1/pull"))
            .bearer_auth(&token)
            .header("x-xuncha-protocol", "99"),
    );
    assert_eq!((s, b["code"].as_str()), (426, Some("protocol_unsupported")));
    let (s, b) = call(
        c.post(url("/v1/auth/login"))
            .json(&json!({"user_id": "unit2", "password": "nope", "device_id": "d"})),
    );
    assert_eq!((s, b["code"].as_str()), (401, Some("wrong_credentials")));
    let (s, b) = call(c.delete(url("/v1/push")).bearer_auth(&token));
    assert_eq!((s, b["code"].as_str()), (405, Some("method_not_allowed")));

    // Well-formed ops that must be refused, each with a reason, nothing applied.
    let phone = Device::signed_in(&server, "inspector1", 0);
    let case = phone.report("0101", 1);
    phone.sync();
    let mut foreign = phone.store.pending_ops(1).expect("ops");
    assert!(foreign.is_empty());
    phone.store.comment(case, "x", vec![]).expect("comment");
    foreign = phone.store.pending_ops(1).expect("ops");
    // unit2 pushes the inspector's op: wrong device and actor.
    let (s, b) = call(
        c.post(url("/v1/push"))
            .bearer_auth(&token)
            .json(&json!({"ops": foreign})),
    );
    assert_eq!(s, 200);
    assert_eq!(b["results"][0]["status"], "rejected");
    assert_eq!(b["results"][0]["code"], "wrong_device");
    let after = server.state.store.stats().expect("stats");
    assert_eq!(
        after.events,
        before.events + 1,
        "only the inspector's report was applied"
    );
}

#[test]
fn health_metrics_and_openapi_are_served() {
    let server = TestServer::start();
    let (s, b) = call(client().get(format!("{}/healthz", server.url)));
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, b) = call(client().get(format!("{}/v1/openapi.json", server.url)));
    assert_eq!(s, 200);
    assert!(b["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in ["/v1/push", "/v1/pull", "/v1/auth/login", "/v1/reference"] {
        assert!(b["paths"][path].is_object(), "{path} documented");
    }
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 1);
    phone.sync();
    let text = client()
        .get(format!("{}/metrics", server.url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(text.contains("xuncha_ops_accepted_total 1"), "{text}");
    assert!(text.contains("xuncha_http_requests_total"));
}
