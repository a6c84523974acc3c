//! Notice delivery from the real `xuncha-server` process (issue 16): the demo city's week of
//! sample cases raises its notices (dispatches, urges, escalations, 临期 and 逾期) for four
//! channels — a signed webhook, a 企业微信 robot, a 钉钉 robot and an SMS gateway, all served by a
//! local receiver in this test — while the receiver fails (HTTP 500 and robot errors), stalls
//! past the send timeout, cuts connections, takes requests and cuts before answering, and the
//! server is killed with SIGKILL mid-delivery four times and restarted on its data folder. At the
//! end every event the server told its people has reached every channel, each (channel, id)
//! exactly once but for those the receiver took and never answered (sent again, as they must
//! be), the outbox is all sent with no dead letters, and every webhook request carried a valid
//! signature.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &str = "a test secret of some length";

/// How the receiver answers.
const OK: u8 = 0;
const FAIL: u8 = 1;
const STALL: u8 = 2;
const CUT: u8 = 3;
/// Take the request in whole, count it received, and cut the connection before answering: the
/// server cannot know it arrived, so it must send it again.
const SWALLOW: u8 = 4;

#[derive(Default)]
struct Received {
    /// (channel path, event id) → times received.
    ids: HashMap<(String, String), usize>,
    /// Received but never answered (the server must repeat these).
    swallowed: HashSet<(String, String)>,
    bad_signatures: usize,
}

/// A local HTTP receiver: answers each POST by `mode`, records what it received when it
/// answers 2xx (an answer the server never saw counts too: it is what a real receiver gets).
fn receiver(mode: Arc<AtomicU8>, got: Arc<Mutex<Received>>, requests: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (mode, got, requests) = (mode.clone(), got.clone(), requests.clone());
            std::thread::spawn(move || {
                let _ = answer(stream, &mode, &got, &requests);
            });
        }
    });
    port
}

fn answer(
    stream: TcpStream,
    mode: &AtomicU8,
    got: &Mutex<Received>,
    requests: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if path.is_empty() {
        // A connection the server opened and dropped (killed) before it sent anything.
        return Ok(());
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).to_string();
    requests.fetch_add(1, Ordering::SeqCst);
    let mut out = stream;
    match mode.load(Ordering::SeqCst) {
        FAIL => {
            // The robots answer 200 with an error code; the webhook and the gateway a 500.
            let reply = if path.starts_with("/hook") || path.starts_with("/sms") {
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_string()
            } else {
                let b = r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#;
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                    b.len()
                )
            };
            out.write_all(reply.as_bytes())?;
            return Ok(());
        }
        STALL => {
            std::thread::sleep(Duration::from_millis(1_500));
            return Ok(());
        }
        CUT => return Ok(()),
        _ => {}
    }
    let swallow = mode.load(Ordering::SeqCst) == SWALLOW;
    let id = if path.starts_with("/hook") {
        let ts = headers
            .get("x-xuncha-timestamp")
            .cloned()
            .unwrap_or_default();
        let sig = headers
            .get("x-xuncha-signature")
            .cloned()
            .unwrap_or_default();
        let want = xuncha_server::notices::channels::webhook_signature(
            SECRET,
            ts.parse().unwrap_or(-1),
            &body,
        );
        if sig != want {
            got.lock().expect("lock").bad_signatures += 1;
        }
        headers.get("x-xuncha-event").cloned().unwrap_or_default()
    } else if path.starts_with("/sms") {
        // The gateway's caller message id.
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        v["out_id"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("unreadable: {body}"))
    } else {
        // The robots' markdown (企业微信's `content`, 钉钉's `text`) ends with the event id.
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let markdown = v["markdown"]["content"]
            .as_str()
            .or(v["markdown"]["text"].as_str())
            .unwrap_or("");
        markdown
            .rsplit("编号 ")
            .next()
            .and_then(|s| s.split('<').next())
            .unwrap_or("")
            .to_string()
    };
    let channel = path
        .split('?')
        .next()
        .unwrap_or("")
        .trim_start_matches('/')
        .to_string();
    let mut got = got.lock().expect("lock");
    *got.ids.entry((channel.clone(), id.clone())).or_default() += 1;
    if swallow {
        got.swallowed.insert((channel, id));
        return Ok(());
    }
    drop(got);
    let b = r#"{"errcode":0,"errmsg":"ok"}"#;
    out.write_all(
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}", b.len())
            .as_bytes(),
    )?;
    Ok(())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// The demo server on `port` with these channels, each send given up after `timeout_ms`.
fn start(port: u16, data: &Path, channels: &Path, timeout_ms: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args(["demo", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .arg("--notify-channels")
        .arg(channels)
        .args([
            "--notify-timeout-ms",
            timeout_ms,
            "--notify-first-retry-ms",
            "100",
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::blocking::get(format!("http://127.0.0.1:{port}/healthz"))
            .is_ok_and(|r| r.status().is_success())
        {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start");
}

/// The outbox's gauge for `state` from `/metrics`.
fn outbox(port: u16, state: &str) -> Option<u64> {
    let text = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics"))
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(&format!("xuncha_notice_outbox{{state=\"{state}\"}}")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn every_notice_reaches_every_channel_through_failures_stalls_and_kills() {
    let mode = Arc::new(AtomicU8::new(FAIL));
    let got = Arc::new(Mutex::new(Received::default()));
    let requests = Arc::new(AtomicUsize::new(0));
    let rx = receiver(mode.clone(), got.clone(), requests.clone());
    let dir = tempfile::TempDir::new().expect("tmp");
    let channels = dir.path().join("channels.toml");
    std::fs::write(
        &channels,
        format!(
            r#"
[[channel]]
id = "hook"
kind = "webhook"
url = "http://127.0.0.1:{rx}/hook"
secret = "{SECRET}"

[[channel]]
id = "wecom"
kind = "wecom"
url = "http://127.0.0.1:{rx}/wecom?key=test"

[[channel]]
id = "ding"
kind = "dingtalk"
url = "http://127.0.0.1:{rx}/ding?access_token=test"
secret = "SECtest"

[[channel]]
id = "sms"
kind = "sms"
url = "http://127.0.0.1:{rx}/sms"
template = '{{"mobiles":"{{to}}","content":"{{text}}","out_id":"{{id}}"}}'
to = ["13800000000"]
"#
        ),
    )
    .expect("channels file");
    let data = dir.path().join("data");
    let port = free_port();
    let mut server = start(port, &data, &channels, "500");

    // Failing, then stalling past the send timeout, then cutting connections, then taking
    // requests and cutting before the answer; a kill in each.
    for (phase, m) in [FAIL, STALL, CUT, SWALLOW].into_iter().enumerate() {
        mode.store(m, Ordering::SeqCst);
        let seen = requests.load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(30);
        while requests.load(Ordering::SeqCst) < seen + 5 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            requests.load(Ordering::SeqCst) >= seen + 5,
            "deliveries were attempted in phase {phase}"
        );
        // SIGKILL mid-delivery (a stalled request is open now in the second phase).
        server.kill().expect("kill");
        server.wait().expect("wait");
        // The last restart is for the recovered receiver: a generous timeout there, so a
        // slow answer on a loaded machine is not taken for a lost one (and sent again).
        let timeout = if m == SWALLOW { "10000" } else { "500" };
        server = start(port, &data, &channels, timeout);
    }
    // Recovered: everything goes through.
    mode.store(OK, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (pending, sent, dead) = (
            outbox(port, "pending"),
            outbox(port, "sent"),
            outbox(port, "dead"),
        );
        if pending == Some(0) && sent.is_some_and(|s| s > 0) {
            assert_eq!(dead, Some(0), "no dead letters");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain: pending {pending:?} sent {sent:?} dead {dead:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill().expect("kill");
    server.wait().expect("wait");

    // The outbox as the server kept it, against what the receiver got.
    let db = rusqlite::Connection::open(data.join("xuncha-server.db")).expect("db");
    let expected: HashSet<(String, String)> = db
        .prepare("SELECT channel, event_id FROM outbox")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let states: Vec<String> = db
        .prepare("SELECT DISTINCT state FROM outbox")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(states, ["sent"], "every delivery sent");
    let events: HashSet<&String> = expected.iter().map(|(_, e)| e).collect();
    assert!(
        events.len() >= 20,
        "a week of the demo city raises its notices: {}",
        events.len()
    );
    let got = got.lock().expect("lock");
    let received: HashSet<(String, String)> = got.ids.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&received).collect();
    let stray: Vec<_> = received.difference(&expected).collect();
    assert!(
        missing.is_empty() && stray.is_empty(),
        "each (channel, event) received, and nothing else: missing {missing:?}, not in the outbox {stray:?}"
    );
    assert_eq!(got.bad_signatures, 0, "every webhook signed");
    // Once each, but for what the receiver took and never answered: the server could not know.
    let repeats: Vec<&(String, String)> = got
        .ids
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    assert!(!got.swallowed.is_empty(), "the swallow phase took some");
    for k in &repeats {
        assert!(
            got.swallowed.contains(*k),
            "{k:?} received twice, yet answered"
        );
    }
    for k in &got.swallowed {
        assert!(
            got.ids[k] >= 2,
            "{k:?} taken unanswered and never sent again"
        );
    }
    // Every event the server told its people went to every channel.
    let noticed: HashSet<String> = db
        .prepare("SELECT DISTINCT event_id FROM notices")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    for channel in ["hook", "wecom", "ding", "sms"] {
        let sent: HashSet<String> = expected
            .iter()
            .filter(|(c, _)| c == channel)
            .map(|(_, e)| e.clone())
            .collect();
        // (A channel also hears of cases of units with no account here: no person's copy.)
        let unsent: Vec<_> = noticed.difference(&sent).collect();
        assert!(
            unsent.is_empty(),
            "{channel}: every event told a person; not sent {unsent:?}"
        );
    }
    let repeats = repeats.len();
    println!(
        "notice delivery: {} events × 4 channels, {} requests, {} received more than once (de-duplicated by id)",
        events.len(),
        requests.load(Ordering::SeqCst),
        repeats
    );
}
