//! Knocking at the real `xuncha-server` process from outside, as an attacker on the network
//! would: a flood of wrong sign-ins (its memory read from `/proc`), hundreds of slow sockets,
//! trickling bodies. The server stays small, answers `/healthz`, and lets a correct sign-in in.
//! Figures are printed (`cargo test -p xuncha-server --test abuse -- --nocapture`), not timed.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

mod common;

use common::Server;

/// A process's resident memory in KiB, from `/proc`.
fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One raw HTTP/1.1 request on its own connection; the status code (0 if the connection failed).
fn raw_post(port: u16, path: &str, body: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    match s.read_exact(&mut head) {
        Ok(()) => std::str::from_utf8(&head[9..12])
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        Err(_) => 0,
    }
}

#[test]
fn a_flood_of_wrong_sign_ins_stays_small_and_lets_a_correct_one_in() {
    let server = Server::start(&[], "warn");
    let before = rss_of(server.child.id());
    const FLOOD: usize = 1_000;
    let barrier = Arc::new(Barrier::new(FLOOD + 1));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Peak memory, sampled while the flood runs.
    let sampler = {
        let (pid, done) = (server.child.id(), done.clone());
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(rss_of(pid));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let flood: Vec<_> = (0..FLOOD)
        .map(|i| {
            let (barrier, port) = (barrier.clone(), server.port);
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let user = if i % 2 == 0 {
                        "supervisor1".to_string()
                    } else {
                        format!("nobody{i}")
                    };
                    let body = format!(
                        r#"{{"user_id":"{user}","password":"guess-{i}","device_id":"flood-{i}"}}"#
                    );
                    barrier.wait();
                    raw_post(port, "/v1/auth/login", &body)
                })
                .expect("thread")
        })
        .collect();
    barrier.wait();
    // Meanwhile an honest inspector signs in from another address.
    std::thread::sleep(Duration::from_millis(200));
    let honest = reqwest::blocking::Client::builder()
        .local_address("127.0.0.2".parse::<IpAddr>().expect("ip"))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let t = Instant::now();
    let ok = honest
        .post(format!("{}/v1/auth/login", server.url))
        .json(&serde_json::json!({"user_id": "inspector1", "password": "demo", "device_id": "honest"}))
        .send()
        .expect("honest sign-in");
    let honest_ms = t.elapsed().as_millis();
    assert_eq!(
        ok.status().as_u16(),
        200,
        "a correct sign-in gets in during the flood"
    );
    let mut statuses = std::collections::BTreeMap::new();
    for h in flood {
        *statuses.entry(h.join().expect("flood thread")).or_insert(0) += 1;
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let peak = sampler.join().expect("sampler");
    println!(
        "login flood: {FLOOD} concurrent wrong sign-ins; RSS before {} MiB, peak {} MiB; \
         correct sign-in during the flood: {honest_ms} ms; answers {statuses:?}",
        before / 1024,
        peak / 1024
    );
    assert!(
        statuses.keys().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&429).copied().unwrap_or(0) > 0,
        "throttled: {statuses:?}"
    );
    assert!(
        peak < before + 200 * 1024,
        "memory stays bounded: peak {peak} KiB"
    );

    // Throttled with a Retry-After, for the address and the account alike.
    let again = reqwest::blocking::Client::new()
        .post(format!("{}/v1/auth/login", server.url))
        .json(&serde_json::json!({"user_id": "supervisor1", "password": "x", "device_id": "d"}))
        .send()
        .expect("again");
    assert_eq!(again.status().as_u16(), 429);
    assert!(again.headers().contains_key("retry-after"));
    // Failures for one account slow it down from every address, even with the right password:
    // eight wrong guesses from 127.0.0.3 (waiting out each delay), then the right one from
    // 127.0.0.4 within the four seconds the eighth earned.
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .local_address(ip.parse::<IpAddr>().expect("ip"))
            .build()
            .expect("client")
    };
    let (guesser, owner) = (from("127.0.0.3"), from("127.0.0.4"));
    let sign_in = |c: &reqwest::blocking::Client, password: &str| {
        c.post(format!("{}/v1/auth/login", server.url))
            .json(&serde_json::json!({"user_id": "unit2", "password": password, "device_id": "d"}))
            .send()
            .expect("sign-in")
    };
    let mut wrong = 0;
    while wrong < 8 {
        let r = sign_in(&guesser, "guess-unit2");
        match r.status().as_u16() {
            401 => wrong += 1,
            429 => {
                let wait: u64 = r.headers()["retry-after"]
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .expect("Retry-After");
                std::thread::sleep(Duration::from_secs(wait));
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!(sign_in(&owner, "demo").status().as_u16(), 429);

    // Every refusal is counted, and logged with user and address but never the password.
    let metrics = reqwest::blocking::get(format!("{}/metrics", server.url))
        .and_then(|r| r.text())
        .expect("metrics");
    assert!(metrics.contains("xuncha_signin_refused_total{reason=\"wrong_credentials\"}"));
    assert!(metrics.contains("xuncha_signin_refused_total{reason=\"signin_throttled\"}"));
    let log = std::fs::read_to_string(&server.log).expect("log");
    assert!(log.contains("sign-in refused") && log.contains("supervisor1"));
    assert!(log.contains("127.0.0.1"));
    assert!(!log.contains("guess-"), "no password in the log");
}

/// A socket that opened a request and sends one header line every `every`.
fn slow_socket(port: u16) -> Option<TcpStream> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"POST /v1/push HTTP/1.1\r\nHost: x\r\n").ok()?;
    Some(s)
}

/// True once the server has closed `s` (a read gives EOF or an error).
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    let _ = s.set_read_timeout(Some(within));
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slow_sockets_are_cut_and_healthz_keeps_answering() {
    let server = Server::start(
        &[
            "--header-timeout-secs",
            "3",
            "--body-grace-secs",
            "2",
            "--body-min-rate",
            "1000",
        ],
        "warn",
    );
    let mut slow: Vec<TcpStream> = (0..500).filter_map(|_| slow_socket(server.port)).collect();
    assert!(slow.len() >= 490, "{} slow sockets opened", slow.len());
    // /healthz answers while they hang on.
    let client = reqwest::blocking::Client::new();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        let r = client
            .get(format!("{}/healthz", server.url))
            .send()
            .expect("healthz");
        assert!(r.status().is_success());
        worst = worst.max(t.elapsed());
    }
    println!(
        "/healthz with {} slow sockets open: worst of 20 {} ms",
        slow.len(),
        worst.as_millis()
    );
    // A header line every second keeps none of them alive past the header deadline.
    for _ in 0..2 {
        std::thread::sleep(Duration::from_secs(1));
        for s in &mut slow {
            let _ = s.write_all(b"X-Drip: 1\r\n");
        }
    }
    let mut cut = 0;
    for s in &mut slow {
        if closed_by_server(s, Duration::from_secs(5)) {
            cut += 1;
        }
    }
    assert_eq!(cut, slow.len(), "every slow head is cut");

    // An idle keep-alive connection is closed too.
    let mut idle = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).expect("answer");
    assert!(closed_by_server(&mut idle, Duration::from_secs(8)));

    // A body that trickles below the minimum rate is cut.
    let mut trickle = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    trickle
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
        )
        .expect("head");
    let t = Instant::now();
    let mut cut_after = None;
    while t.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(500));
        if trickle.write_all(b" ").is_err() {
            cut_after = Some(t.elapsed());
            break;
        }
        let _ = trickle.set_read_timeout(Some(Duration::from_millis(1)));
        let mut b = [0u8; 64];
        if trickle.read(&mut b).is_ok() {
            cut_after = Some(t.elapsed());
            break;
        }
    }
    let cut_after = cut_after.expect("a trickling body is cut");
    println!("trickling body cut after {} ms", cut_after.as_millis());
    assert!(
        Path::new(&server.log).exists(),
        "the server kept running and logging"
    );
    assert!(
        client
            .get(format!("{}/healthz", server.url))
            .send()
            .is_ok_and(|r| r.status().is_success())
    );
}
