//! What the server's log says about a request, read from the real `xuncha-server` process's
//! output: every request runs in a span with its id (`x-request-id`, the caller's or a new
//! UUID, echoed on the response), and a refused operation is logged once, where it is decided,
//! with that id, its op id, its case and case number, and its code — as plain text (colours only
//! on a terminal) or, with `--log-format json`, as one JSON object per line.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::Location;
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{Actor, Op, OpBody};
use xuncha_core::workflow::Role;

mod common;

use common::Server;

/// The server at the default level (`info`), with `extra` flags.
fn start(extra: &[&str]) -> Server {
    Server::start(extra, "info")
}

fn token(server: &Server, user: &str) -> String {
    let login: Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&json!({"user_id": user, "password": "demo", "device_id": format!("log-{user}")}))
        .send()
        .expect("login")
        .json()
        .expect("login json");
    login["token"].as_str().expect("token").to_string()
}

fn op(user: &str, role: Role, case_id: Uuid, body: OpBody) -> Op {
    Op {
        id: Uuid::now_v7(),
        case_id,
        device_id: format!("log-{user}"),
        actor: Actor {
            user_id: user.into(),
            role,
            unit_id: None,
        },
        hlc: Hlc::default(),
        device_time_ms: 0,
        body,
    }
}

fn push(server: &Server, token: &str, ops: &[Op], request_id: &str) -> Value {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(token)
        .header("x-request-id", request_id)
        .json(&json!({ "ops": ops }))
        .send()
        .expect("push");
    assert_eq!(
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some(request_id),
        "the caller's request id is echoed"
    );
    resp.json().expect("push json")
}

/// The log's lines that say `what`, once they have reached the file.
fn log_lines(server: &Server, what: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&server.log).expect("read log");
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains(what))
            .map(String::from)
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        assert!(Instant::now() < deadline, "no {what} in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An inspector's report, registered by a supervisor (so it has a case number), then an
/// inspector's dispatch of it — refused — pushed twice (the replay is answered, not logged).
/// The refused op, its case number and its code.
fn refuse_a_dispatch(server: &Server) -> (Op, String, String) {
    let inspector = token(server, "inspector1");
    let case_id = Uuid::now_v7();
    let report = op(
        "inspector1",
        Role::Inspector,
        case_id,
        OpBody::Report {
            category: "0101".into(),
            description: "日志测试".into(),
            location: Location {
                lat: 30.2552,
                lon: 120.1552,
                accuracy_m: Some(5.0),
                address: "演示路 1 号".into(),
            },
            site_id: None,
            grid_id: None,
            suggested_unit_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![],
        },
    );
    let a = push(server, &inspector, &[report], "req-report");
    assert_eq!(a["results"][0]["status"], "accepted", "{a}");
    let supervisor = token(server, "supervisor1");
    let register = op(
        "supervisor1",
        Role::Supervisor,
        case_id,
        OpBody::Register {
            note: String::new(),
        },
    );
    let a = push(server, &supervisor, &[register], "req-register");
    assert_eq!(a["results"][0]["status"], "accepted", "{a}");
    let case_no = reqwest::blocking::Client::new()
        .get(format!("{}/v1/pull?cursor=0", server.url))
        .bearer_auth(&supervisor)
        .send()
        .expect("pull")
        .text()
        .expect("pull text")
        .split("\"case_no\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a case number")
        .to_string();
    let dispatch = op(
        "inspector1",
        Role::Inspector,
        case_id,
        OpBody::Dispatch {
            unit_id: "u1".into(),
            deadline_ms: None,
            note: String::new(),
        },
    );
    let a = push(
        server,
        &inspector,
        std::slice::from_ref(&dispatch),
        "req-log-test-42",
    );
    let code = a["results"][0]["code"]
        .as_str()
        .expect("a refusal with a code")
        .to_string();
    push(
        server,
        &inspector,
        std::slice::from_ref(&dispatch),
        "req-log-test-43",
    );
    (dispatch, case_no, code)
}

#[test]
fn a_refused_push_is_in_the_log_with_its_request_id_op_id_case_number_and_code() {
    let server = start(&[]);
    let (op, case_no, code) = refuse_a_dispatch(&server);
    // A request without an id gets one.
    let health = reqwest::blocking::get(format!("{}/healthz", server.url)).expect("healthz");
    let minted = health
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    assert!(minted.is_some(), "a new request id is a UUID");

    let lines = log_lines(&server, "operation refused");
    assert_eq!(
        lines.len(),
        1,
        "logged once, not again on the replay: {lines:#?}"
    );
    let line = &lines[0];
    assert!(
        !line.contains('\u{1b}'),
        "plain text in a file, no colours: {line:?}"
    );
    for part in [
        "req-log-test-42",
        &op.id.to_string(),
        &op.case_id.to_string(),
        &case_no,
        &code,
        "inspector1",
    ] {
        assert!(line.contains(part), "{part} missing from: {line}");
    }
}

#[test]
fn the_log_can_be_json_lines_at_the_level_asked_for() {
    let server = start(&[
        "--log-format",
        "json",
        "--log",
        "info,xuncha_server::apply=debug",
    ]);
    let (op, case_no, code) = refuse_a_dispatch(&server);
    let lines = log_lines(&server, "operation refused");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let v: Value = serde_json::from_str(&lines[0]).expect("a JSON object per line");
    assert_eq!(v["level"], "WARN");
    let fields = &v["fields"];
    assert_eq!(fields["op"], op.id.to_string());
    assert_eq!(fields["case_no"], case_no);
    assert_eq!(fields["code"], code);
    // Its spans are on the line: the request's (with its id), the push's, the operation's.
    assert_eq!(v["span"]["name"], "apply", "{v}");
    let spans = v["spans"].as_array().expect("the span list");
    assert!(
        spans
            .iter()
            .any(|s| s["name"] == "request" && s["id"] == "req-log-test-42"),
        "{v}"
    );
    let text = std::fs::read_to_string(&server.log).expect("log");
    // The debug level asked for one module: the accepted operations are there too.
    let applied = log_lines(&server, "operation applied");
    assert!(applied.len() >= 2, "{applied:#?}");
    for l in text.lines() {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
    }
}
