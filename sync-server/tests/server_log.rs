//! What the server's log says about a request, read from the real `xuncha-server` process's
//! output: every request runs in a span with its id (`x-request-id`, the caller's or a new
//! UUID, echoed on the response), and a refused operation is logged with that id, its op id and
//! its code, as plain text (colours only on a terminal).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{Actor, Op, OpBody};
use xuncha_core::workflow::Role;

#[test]
fn a_refused_push_is_in_the_log_with_its_request_id_op_id_and_code() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let data = tempfile::TempDir::new().expect("tmp");
    let log_path = data.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args([
            "demo",
            "--empty",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(data.path().join("server"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn server");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{url}/healthz"))
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }

    let login: Value = http
        .post(format!("{url}/v1/auth/login"))
        .json(&json!({"user_id": "inspector1", "password": "demo", "device_id": "log-test"}))
        .send()
        .expect("login")
        .json()
        .expect("login json");
    let token = login["token"].as_str().expect("token").to_string();
    // A comment on a case the server has never heard of: refused.
    let op = Op {
        id: Uuid::now_v7(),
        case_id: Uuid::now_v7(),
        device_id: "log-test".into(),
        actor: Actor {
            user_id: "inspector1".into(),
            role: Role::Inspector,
            unit_id: None,
        },
        hlc: Hlc::default(),
        device_time_ms: 0,
        body: OpBody::Comment {
            text: "没有这个案件".into(),
            photos: vec![],
        },
    };
    let resp = http
        .post(format!("{url}/v1/push"))
        .bearer_auth(&token)
        .header("x-request-id", "req-log-test-42")
        .json(&json!({ "ops": [op] }))
        .send()
        .expect("push");
    assert_eq!(
        resp.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("req-log-test-42"),
        "the caller's request id is echoed"
    );
    let answer: Value = resp.json().expect("push json");
    let code = answer["results"][0]["code"]
        .as_str()
        .expect("a refusal with a code")
        .to_string();
    // A request without an id gets one.
    let health = http.get(format!("{url}/healthz")).send().expect("healthz");
    let minted = health
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok());
    assert!(minted.is_some(), "a new request id is a UUID");

    // The line may take a moment to reach the file.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log_path).expect("read log");
        if let Some(l) = text.lines().find(|l| l.contains("operation refused")) {
            break l.to_string();
        }
        assert!(Instant::now() < deadline, "no refusal in the log:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !line.contains('\u{1b}'),
        "plain text in a file, no colours: {line:?}"
    );
    for part in ["req-log-test-42", &op.id.to_string(), &code, "inspector1"] {
        assert!(line.contains(part), "{part} missing from: {line}");
    }
}
