//! A device syncing through a bad network: a fault-injecting TCP proxy of our own sits between
//! real device stores and a real server and drops, cuts, resets, stalls and duplicates requests on
//! a script. Proves that every operation still reaches the server exactly once, that a cut photo
//! upload resumes from the server's offset instead of starting again, and that a slow link does
//! not cost a retry, and that an upload whose connection died silently does not lock the photo
//! out (a product bug this suite found, fixed in the server and the client).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use uuid::Uuid;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput, sha256_hex};
use xuncha_core::sync::client::{SyncOptions, SyncReport};
use xuncha_core::{Error, Location, Store};
use xuncha_server::store::StoreStats;
use xuncha_server::{AppState, Config, RunningServer};
use xuncha_tests::jpeg_bytes;

use proxy::{Fault, Proxy};

/// A TCP proxy that applies a scripted fault to each HTTP/1.1 request passing through it.
///
/// Every request is forwarded on a connection of its own (`connection: close` is set on the
/// request and on the answer), so "this connection" and "this request" are the same thing and a
/// fault hits exactly one request even though the client pools connections.
mod proxy {
    use std::collections::VecDeque;
    use std::io::{self, Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    /// Longest the proxy waits on a socket before it gives up on a connection.
    const IO_TIMEOUT: Duration = Duration::from_secs(20);

    /// What happens to one request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// Forwarded and answered normally.
        Pass,
        /// The request and then its answer are each held this long (a slow round trip).
        Delay(Duration),
        /// Forwarded and answered by the server, but the answer is held this long before it is
        /// relayed (longer than the client's timeout: the client gives up on an applied request).
        StallResponse(Duration),
        /// The connection is closed (FIN) after the request was read; nothing reaches the server.
        DropRequest,
        /// The server gets the whole request and answers; the client gets a closed connection.
        /// The "push whose response was lost" case.
        DropResponse,
        /// The head and this per cent of the body reach the server, then both sides are cut.
        CutBody { percent: u64 },
        /// The head and this per cent of the body reach the server, then the client's link dies
        /// silently: the client's connection is reset, but the server's stays open, with no more
        /// bytes and no FIN, for `hold` (a phone that lost signal mid-upload).
        CutBodyAndHold { percent: u64, hold: Duration },
        /// The client's connection is reset (RST) before anything is forwarded.
        Reset,
        /// The server gets the whole request and answers; the client's connection is reset.
        ResetAfterForward,
        /// The request reaches the server twice, one copy after the other; the client gets the
        /// answer to the second copy (duplicated delivery: the server must recognise the replay).
        Duplicate,
        /// The request reaches the server twice at the same moment; the client gets the answer
        /// of the copy sent first.
        DuplicateRacing,
    }

    impl Fault {
        /// A name per kind, for counting.
        pub fn kind(&self) -> &'static str {
            match self {
                Fault::Pass => "pass",
                Fault::Delay(_) => "delay",
                Fault::StallResponse(_) => "stall_response",
                Fault::DropRequest => "drop_request",
                Fault::DropResponse => "drop_response",
                Fault::CutBody { .. } => "cut_body",
                Fault::CutBodyAndHold { .. } => "cut_body_and_hold",
                Fault::Reset => "reset",
                Fault::ResetAfterForward => "reset_after_forward",
                Fault::Duplicate => "duplicate",
                Fault::DuplicateRacing => "duplicate_racing",
            }
        }
    }

    /// A fault that was applied.
    #[derive(Debug, Clone)]
    pub struct Injected {
        pub method: String,
        pub path: String,
        pub fault: Fault,
    }

    /// Faults for the next requests with this method whose path starts with `prefix`.
    struct Rule {
        method: &'static str,
        prefix: &'static str,
        faults: VecDeque<Fault>,
    }

    struct Shared {
        rules: Mutex<Vec<Rule>>,
        default: Mutex<Fault>,
        log: Mutex<Vec<Injected>>,
        problems: Mutex<Vec<String>>,
        upstream_bytes: AtomicU64,
        photo_bytes: AtomicU64,
        requests: AtomicU64,
        stop: AtomicBool,
    }

    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock()
            .expect("proxy state lock (a proxy thread panicked)")
    }

    /// A running proxy; stops accepting when dropped.
    pub struct Proxy {
        /// Base URL for clients, e.g. `http://127.0.0.1:41235`.
        pub url: String,
        addr: SocketAddr,
        shared: Arc<Shared>,
        thread: Option<JoinHandle<()>>,
    }

    impl Proxy {
        /// Listen on a free loopback port and forward to `upstream_url` (`http://host:port`).
        pub fn start(upstream_url: &str) -> Proxy {
            let upstream: SocketAddr = upstream_url
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .parse()
                .expect("upstream is http://ip:port");
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
            let addr = listener.local_addr().expect("proxy address");
            let shared = Arc::new(Shared {
                rules: Mutex::new(Vec::new()),
                default: Mutex::new(Fault::Pass),
                log: Mutex::new(Vec::new()),
                problems: Mutex::new(Vec::new()),
                upstream_bytes: AtomicU64::new(0),
                photo_bytes: AtomicU64::new(0),
                requests: AtomicU64::new(0),
                stop: AtomicBool::new(false),
            });
            let sh = shared.clone();
            let thread = std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if sh.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let sh = sh.clone();
                    std::thread::spawn(move || {
                        if let Err(e) = handle(conn, upstream, &sh) {
                            lock(&sh.problems).push(e.to_string());
                        }
                    });
                }
            });
            Proxy {
                url: format!("http://{addr}"),
                addr,
                shared,
                thread: Some(thread),
            }
        }

        /// The next requests `method path*` get these faults, in order (then the default).
        pub fn script(&self, method: &'static str, prefix: &'static str, faults: &[Fault]) {
            lock(&self.shared.rules).push(Rule {
                method,
                prefix,
                faults: faults.iter().copied().collect(),
            });
        }

        /// The fault for requests no script rule claims.
        pub fn set_default(&self, fault: Fault) {
            *lock(&self.shared.default) = fault;
        }

        /// Scripted faults not applied yet, as `(method prefix, fault)`.
        pub fn unused(&self) -> Vec<(String, Fault)> {
            lock(&self.shared.rules)
                .iter()
                .flat_map(|r| {
                    r.faults
                        .iter()
                        .map(|f| (format!("{} {}", r.method, r.prefix), *f))
                })
                .collect()
        }

        /// Every fault applied so far (not `Pass`).
        pub fn injected(&self) -> Vec<Injected> {
            lock(&self.shared.log).clone()
        }

        /// Problems of the proxy itself (unparseable requests, an unreachable server, …).
        pub fn problems(&self) -> Vec<String> {
            lock(&self.shared.problems).clone()
        }

        /// Body bytes of `PATCH /v1/uploads/…` forwarded to the server (photo bytes sent).
        pub fn photo_bytes_upstream(&self) -> u64 {
            self.shared.photo_bytes.load(Ordering::SeqCst)
        }

        /// All bytes forwarded to the server.
        pub fn bytes_upstream(&self) -> u64 {
            self.shared.upstream_bytes.load(Ordering::SeqCst)
        }

        /// Requests seen.
        pub fn requests(&self) -> u64 {
            self.shared.requests.load(Ordering::SeqCst)
        }
    }

    impl Drop for Proxy {
        fn drop(&mut self) {
            self.shared.stop.store(true, Ordering::SeqCst);
            // Wake the accept loop so it sees the flag.
            let _ = TcpStream::connect(self.addr);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    impl Shared {
        fn next_fault(&self, head: &Head) -> Fault {
            let scripted = lock(&self.rules).iter_mut().find_map(|r| {
                (r.method == head.method && head.path.starts_with(r.prefix))
                    .then(|| r.faults.pop_front())
                    .flatten()
            });
            let fault = scripted.unwrap_or_else(|| *lock(&self.default));
            if fault != Fault::Pass {
                lock(&self.log).push(Injected {
                    method: head.method.clone(),
                    path: head.path.clone(),
                    fault,
                });
            }
            fault
        }

        /// Open a connection to the server and send `head` + `body`.
        fn send(&self, upstream: SocketAddr, head: &Head, body: &[u8]) -> io::Result<TcpStream> {
            let mut up = TcpStream::connect(upstream)?;
            up.set_read_timeout(Some(IO_TIMEOUT))?;
            up.set_write_timeout(Some(IO_TIMEOUT))?;
            up.write_all(&head.forwarded)?;
            up.write_all(body)?;
            up.flush()?;
            self.upstream_bytes
                .fetch_add((head.forwarded.len() + body.len()) as u64, Ordering::SeqCst);
            if head.is_photo_upload() {
                self.photo_bytes
                    .fetch_add(body.len() as u64, Ordering::SeqCst);
            }
            Ok(up)
        }

        /// Send the request to the server and read its whole answer (it closes after it).
        fn exchange(&self, upstream: SocketAddr, head: &Head, body: &[u8]) -> io::Result<Vec<u8>> {
            let mut up = self.send(upstream, head, body)?;
            let mut answer = Vec::new();
            up.read_to_end(&mut answer)?;
            Ok(answer)
        }
    }

    /// A parsed request head.
    struct Head {
        method: String,
        path: String,
        /// Bytes of the head as received (through the blank line).
        len: usize,
        /// Content-Length of the body.
        body_len: usize,
        /// The head as forwarded: same headers, `connection: close`.
        forwarded: Vec<u8>,
    }

    impl Head {
        fn is_photo_upload(&self) -> bool {
            self.method == "PATCH" && self.path.starts_with("/v1/uploads/")
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn parse_head(raw: &[u8]) -> io::Result<Head> {
        let text =
            std::str::from_utf8(raw).map_err(|_| io::Error::other("request head is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let mut parts = first.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut forwarded = format!("{first}\r\n");
        let mut body_len = 0;
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| io::Error::other(format!("bad header line {line:?}")))?;
            match name.trim().to_ascii_lowercase().as_str() {
                "connection" | "keep-alive" => continue,
                "content-length" => {
                    body_len = value
                        .trim()
                        .parse()
                        .map_err(|_| io::Error::other(format!("bad content-length {value:?}")))?;
                }
                "transfer-encoding" => {
                    return Err(io::Error::other(
                        "chunked request bodies are not supported by this proxy",
                    ));
                }
                _ => {}
            }
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
        forwarded.push_str("connection: close\r\n\r\n");
        Ok(Head {
            method,
            path,
            len: raw.len(),
            body_len,
            forwarded: forwarded.into_bytes(),
        })
    }

    /// The server's answer with `connection: close`, so the client does not pool the connection.
    fn closing(answer: &[u8]) -> Vec<u8> {
        let Some(end) = find(answer, b"\r\n\r\n") else {
            return answer.to_vec();
        };
        let head = String::from_utf8_lossy(&answer[..end]);
        let mut out = String::new();
        for line in head.split("\r\n") {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&answer[end + 4..]);
        bytes
    }

    /// Wait until `len` bytes can be peeked (not consumed) from `s`; `None` if they do not come.
    fn peek_exact(s: &TcpStream, len: usize, within: Duration) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; len.max(1)];
        let deadline = Instant::now() + within;
        loop {
            let n = s.peek(&mut buf)?;
            if n >= len {
                buf.truncate(len);
                return Ok(Some(buf));
            }
            if n == 0 && len > 0 {
                return Ok(None); // closed
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Peek the request head (through the blank line) without consuming it; `None` if the client
    /// closed without sending one.
    fn peek_head(s: &TcpStream) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; 64 * 1024];
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let n = match s.peek(&mut buf) {
                Ok(n) => n,
                // A client that connected and went away without a request.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            if let Some(end) = find(&buf[..n], b"\r\n\r\n") {
                buf.truncate(end + 4);
                return Ok(Some(buf));
            }
            if n == buf.len() || Instant::now() > deadline {
                return Err(io::Error::other("no complete request head"));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Reset a connection: closing a socket whose receive queue still holds unread bytes makes
    /// the kernel answer with RST instead of FIN (RFC 2525 §2.17; Linux does this), which is how
    /// we get an RST without `SO_LINGER` (not settable from std without unsafe code).
    fn reset(client: TcpStream) {
        drop(client);
    }

    /// Relay an answer to the client and close its connection.
    fn relay(mut client: TcpStream, answer: &[u8]) {
        let _ = client.write_all(&closing(answer));
        let _ = client.flush();
        let _ = client.shutdown(Shutdown::Write);
        // Let the client read the answer before our side goes away.
        let mut sink = [0u8; 256];
        let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
        while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
    }

    fn handle(client: TcpStream, upstream: SocketAddr, sh: &Shared) -> io::Result<()> {
        let mut client = client;
        client.set_read_timeout(Some(IO_TIMEOUT))?;
        client.set_write_timeout(Some(IO_TIMEOUT))?;
        let Some(raw) = peek_head(&client)? else {
            return Ok(());
        };
        let head = parse_head(&raw)?;
        sh.requests.fetch_add(1, Ordering::SeqCst);
        let fault = sh.next_fault(&head);

        // The resets leave the request unread in the socket (that is what makes the RST).
        match fault {
            Fault::Reset => {
                reset(client);
                return Ok(());
            }
            Fault::ResetAfterForward => {
                let whole = head.len + head.body_len;
                let Some(request) = peek_exact(&client, whole, Duration::from_secs(5))? else {
                    reset(client);
                    return Err(io::Error::other(format!(
                        "{} {}: request of {whole} bytes too large to peek; reset before forwarding",
                        head.method, head.path
                    )));
                };
                let answer = sh.exchange(upstream, &head, &request[head.len..]);
                reset(client);
                return answer.map(|_| ());
            }
            _ => {}
        }

        let mut consumed = vec![0u8; head.len];
        client.read_exact(&mut consumed)?;

        if let Fault::CutBody { percent } = fault {
            let keep = (head.body_len as u64 * percent / 100) as usize;
            let mut body = vec![0u8; keep];
            client.read_exact(&mut body)?;
            let mut up = sh.send(upstream, &head, &body)?;
            // The server sees the body end early; wait until it has dealt with that.
            up.shutdown(Shutdown::Write)?;
            let mut answer = Vec::new();
            let _ = up.read_to_end(&mut answer);
            drop(up);
            reset(client); // the rest of the body is unread: the client sees a reset
            return Ok(());
        }
        if let Fault::CutBodyAndHold { percent, hold } = fault {
            let keep = (head.body_len as u64 * percent / 100) as usize;
            let mut body = vec![0u8; keep];
            client.read_exact(&mut body)?;
            let up = sh.send(upstream, &head, &body)?;
            reset(client);
            // Until `hold` is over or the proxy is dropped.
            let until = Instant::now() + hold;
            while Instant::now() < until && !sh.stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            drop(up);
            return Ok(());
        }

        let mut body = vec![0u8; head.body_len];
        client.read_exact(&mut body)?;
        match fault {
            Fault::DropRequest => {
                let _ = client.shutdown(Shutdown::Both);
            }
            Fault::DropResponse => {
                sh.exchange(upstream, &head, &body)?;
                let _ = client.shutdown(Shutdown::Both);
            }
            Fault::Delay(d) => {
                std::thread::sleep(d);
                let answer = sh.exchange(upstream, &head, &body)?;
                std::thread::sleep(d);
                relay(client, &answer);
            }
            Fault::StallResponse(d) => {
                let answer = sh.exchange(upstream, &head, &body)?;
                std::thread::sleep(d);
                relay(client, &answer);
            }
            Fault::Duplicate => {
                sh.exchange(upstream, &head, &body)?;
                let second = sh.exchange(upstream, &head, &body)?;
                relay(client, &second);
            }
            Fault::DuplicateRacing => {
                let (first, second) = std::thread::scope(|s| {
                    let a = s.spawn(|| sh.exchange(upstream, &head, &body));
                    let b = s.spawn(|| sh.exchange(upstream, &head, &body));
                    (a.join(), b.join())
                });
                let first = first.map_err(|_| io::Error::other("copy thread panicked"))??;
                second.map_err(|_| io::Error::other("copy thread panicked"))??;
                relay(client, &first);
            }
            Fault::Pass => {
                let answer = sh.exchange(upstream, &head, &body)?;
                relay(client, &answer);
            }
            Fault::Reset
            | Fault::ResetAfterForward
            | Fault::CutBody { .. }
            | Fault::CutBodyAndHold { .. } => {
                unreachable!("handled above")
            }
        }
        Ok(())
    }
}

/// A demo server (demo city, users with password `demo`) on a free port.
struct Server {
    state: AppState,
    running: RunningServer,
    _dir: TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_with(Config::default())
    }

    fn start_with(config: Config) -> Server {
        let dir = TempDir::new().expect("tmp");
        let state = AppState::open(dir.path(), config).expect("open server state");
        xuncha_server::demo::seed_demo(&state).expect("seed demo city");
        let running = RunningServer::start(state.clone()).expect("start server");
        Server {
            state,
            running,
            _dir: dir,
        }
    }

    fn stats(&self) -> StoreStats {
        self.state.store.stats().expect("server stats")
    }
}

/// A phone: a device store in its own folder, signed in to `url`.
struct Phone {
    store: Store,
    _dir: TempDir,
}

impl Phone {
    fn signed_in(url: &str, user: &str) -> Phone {
        let dir = TempDir::new().expect("tmp");
        let store = Store::open(dir.path()).expect("open device store");
        store
            .sign_in_remote(url, user, "demo", "network-faults phone")
            .expect("sign in");
        Phone { store, _dir: dir }
    }

    fn report(&self, n: u64, photo: Vec<u8>) -> xuncha_core::Op {
        self.store
            .report(NewReport {
                category: "0101".into(),
                description: format!("网络故障测试 {n}"),
                location: Location {
                    lat: 30.2552 + n as f64 * 0.0003,
                    lon: 120.1552,
                    accuracy_m: Some(5.0),
                    address: format!("演示路 {n} 号"),
                },
                site_id: None,
                campaign_id: None,
                undercover: false,
                photos: vec![PhotoInput::bytes(photo)],
            })
            .expect("report offline")
    }

    fn case_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .store
            .list_cases(&CaseQuery {
                limit: 500,
                ..CaseQuery::default()
            })
            .expect("list cases")
            .items
            .into_iter()
            .map(|i| i.case.id)
            .collect();
        ids.sort();
        ids
    }

    /// Op id → how many times it is in the timelines of the cases this phone holds.
    fn op_counts(&self) -> HashMap<Uuid, usize> {
        let mut counts = HashMap::new();
        for id in self.case_ids() {
            for e in self.store.case_detail(id).expect("case detail").timeline {
                *counts.entry(e.op.id).or_default() += 1;
            }
        }
        counts
    }
}

/// How a device got through: the report of the sync that succeeded, the errors before it.
struct Outcome {
    report: SyncReport,
    failed: Vec<String>,
    elapsed: Duration,
}

/// Sync until a sync returns Ok, as the app does: a sync may fail with a network error once its
/// retries are spent, and the device simply syncs again. Any other error fails the test.
fn sync_until_ok(store: &Store, opts: &SyncOptions, max_rounds: usize) -> Outcome {
    let started = Instant::now();
    let mut failed = Vec::new();
    for _ in 0..max_rounds {
        let round = Instant::now();
        let result = store.sync(opts, &mut |_| {}, &AtomicBool::new(false));
        assert!(
            round.elapsed() < Duration::from_secs(30),
            "one sync took {:?}: something hangs",
            round.elapsed()
        );
        match result {
            Ok(report) => {
                return Outcome {
                    report,
                    failed,
                    elapsed: started.elapsed(),
                };
            }
            Err(Error::Network(e)) => failed.push(e),
            Err(e) => panic!(
                "sync failed with a non-network error after {} network failures: {e:?} ({})",
                failed.len(),
                e.code()
            ),
        }
    }
    panic!("no sync succeeded in {max_rounds} rounds; errors: {failed:#?}")
}

fn fast_options() -> SyncOptions {
    SyncOptions {
        attempts: 3,
        backoff: Duration::from_millis(10),
        ..SyncOptions::default()
    }
}

fn count_kinds(proxy: &Proxy) -> BTreeMap<&'static str, usize> {
    let mut kinds = BTreeMap::new();
    for i in proxy.injected() {
        *kinds.entry(i.fault.kind()).or_default() += 1;
    }
    kinds
}

#[test]
fn ops_reach_the_server_exactly_once_through_every_fault() {
    const CASES: u64 = 30;
    const COMMENTS: u64 = 10;
    let server = Server::start();
    let proxy = Proxy::start(&server.running.url);
    let inspector = Phone::signed_in(&proxy.url, "inspector1");
    sync_until_ok(&inspector.store, &fast_options(), 1); // reference data, no faults yet
    let before = server.stats();

    // Offline: 30 reports with a photo each, and comments on ten of them.
    let mut made: Vec<Uuid> = Vec::new();
    let mut cases: Vec<Uuid> = Vec::new();
    for n in 0..CASES {
        let op = inspector.report(n, jpeg_bytes(n, 3_000 + n as usize));
        made.push(op.id);
        cases.push(op.case_id);
    }
    for (n, case) in cases.iter().take(COMMENTS as usize).enumerate() {
        let op = inspector
            .store
            .comment(*case, &format!("补充说明 {n}"), vec![])
            .expect("comment offline");
        made.push(op.id);
    }
    assert_eq!(
        inspector.store.pending_count().expect("pending"),
        CASES + COMMENTS
    );

    // Small batches and pages so there are many requests to hit; the timeout is short so a
    // stalled answer makes the client give up on a request the server has applied.
    let opts = SyncOptions {
        push_batch: 4,
        pull_limit: 5,
        timeout: Duration::from_millis(1500),
        ..fast_options()
    };
    let stall = Fault::StallResponse(Duration::from_millis(2000));
    let delay = Fault::Delay(Duration::from_millis(150));
    use Fault::*;
    // With 3 attempts per request, the last three push faults (and pull faults) in a row make a
    // whole sync fail after the server has applied the batch.
    proxy.script(
        "POST",
        "/v1/push",
        &[
            DropResponse,
            Pass,
            Duplicate,
            DropRequest,
            Reset,
            Pass,
            ResetAfterForward,
            CutBody { percent: 50 },
            delay,
            stall,
            DuplicateRacing,
            DropResponse,
            DropRequest,
            Reset,
        ],
    );
    proxy.script(
        "POST",
        "/v1/uploads",
        &[
            Reset,
            DropResponse,
            Duplicate,
            CutBody { percent: 50 },
            Pass,
            DropRequest,
        ],
    );
    proxy.script(
        "PATCH",
        "/v1/uploads/",
        &[
            CutBody { percent: 50 },
            Duplicate,
            DropResponse,
            Reset,
            ResetAfterForward,
            delay,
            CutBody { percent: 30 },
            Pass,
            DropRequest,
        ],
    );
    proxy.script("HEAD", "/v1/uploads/", &[DropResponse]);
    proxy.script(
        "GET",
        "/v1/pull",
        &[
            DropResponse,
            Duplicate,
            Reset,
            delay,
            CutBody { percent: 50 },
            ResetAfterForward,
            Pass,
            DropRequest,
            DropResponse,
            Reset,
        ],
    );

    let out = sync_until_ok(&inspector.store, &opts, 20);
    let kinds = count_kinds(&proxy);
    for i in proxy.injected() {
        println!("  {} {} ← {:?}", i.method, i.path, i.fault);
    }
    println!(
        "{} requests, {} faults {kinds:?}; {} failed syncs before one succeeded in {:?}: {:#?}",
        proxy.requests(),
        proxy.injected().len(),
        out.failed.len(),
        out.elapsed,
        out.failed
    );
    assert_eq!(proxy.problems(), Vec::<String>::new(), "the proxy itself");
    assert_eq!(proxy.unused(), vec![], "every scripted fault was applied");
    assert!(
        !out.failed.is_empty(),
        "the script makes at least one whole sync fail"
    );
    assert_eq!(out.report.photos_refused, 0, "{:?}", out.report);

    // The device: nothing pending, nothing rejected, every photo confirmed.
    assert_eq!(inspector.store.pending_count().expect("pending"), 0);
    assert!(inspector.store.outbox().expect("outbox").is_empty());
    assert!(inspector.store.rejections().expect("inbox").is_empty());
    assert!(
        inspector
            .store
            .photos_to_upload()
            .expect("photos")
            .is_empty()
    );

    // The server: 30 cases, one event per operation, 30 photos.
    let after = server.stats();
    assert_eq!(after.cases - before.cases, CASES, "cases on the server");
    assert_eq!(
        after.events - before.events,
        CASES + COMMENTS,
        "events: exactly one per operation"
    );
    assert_eq!(after.photos - before.photos, CASES, "photos on the server");
    for c in &cases {
        assert!(
            server.state.store.case(*c).expect("case").is_some(),
            "case {c} on the server"
        );
    }

    // A supervisor pulling directly from the server sees every operation exactly once, and the
    // same cases and timelines as the inspector's device.
    let supervisor = Phone::signed_in(&server.running.url, "supervisor1");
    sync_until_ok(&supervisor.store, &fast_options(), 1);
    let on_server = supervisor.op_counts();
    assert_eq!(on_server.len(), made.len(), "operations on the server");
    for op in &made {
        assert_eq!(on_server.get(op), Some(&1), "op {op} on the server");
    }
    let mut expected = cases.clone();
    expected.sort();
    assert_eq!(supervisor.case_ids(), expected);
    assert_eq!(inspector.case_ids(), expected);
    for c in &expected {
        let mine = inspector.store.case_detail(*c).expect("inspector's case");
        let theirs = supervisor.store.case_detail(*c).expect("supervisor's case");
        assert_eq!(mine.case, theirs.case, "case {c}");
        let seqs = |d: &xuncha_core::store::CaseDetail| -> Vec<(Uuid, Option<i64>)> {
            d.timeline.iter().map(|e| (e.op.id, e.server_seq)).collect()
        };
        assert_eq!(seqs(&mine), seqs(&theirs), "timeline of case {c}");
        assert!(mine.timeline.iter().all(|e| e.server_seq.is_some()));
    }
}

#[test]
fn a_cut_photo_upload_resumes_instead_of_restarting() {
    const SIZE: usize = 2_000_000;
    let server = Server::start();
    let proxy = Proxy::start(&server.running.url);
    let inspector = Phone::signed_in(&proxy.url, "inspector1");
    sync_until_ok(&inspector.store, &fast_options(), 1);

    let photo = jpeg_bytes(42, SIZE);
    let sha = sha256_hex(&photo);
    let case = inspector.report(1, photo.clone()).case_id;

    // The whole photo in one PATCH, so a cut at 50 % of the body is a cut at 50 % of the photo
    // and only the server keeping the bytes before the cut can save them.
    use Fault::*;
    proxy.script(
        "PATCH",
        "/v1/uploads/",
        &[
            // 0 → 1 MB arrive, then the link goes.
            CutBody { percent: 50 },
            // Two resets in a row spend the 2 attempts: this sync fails mid-upload.
            Reset,
            Reset,
            // The next sync resumes at 1 MB: half of the rest arrives, then a cut again.
            CutBody { percent: 50 },
            // The last 500 kB arrive and complete the photo, but the answer is lost.
            DropResponse,
        ],
    );
    let opts = SyncOptions {
        attempts: 2,
        upload_chunk: 4 * 1024 * 1024,
        ..fast_options()
    };
    let out = sync_until_ok(&inspector.store, &opts, 10);
    let sent = proxy.photo_bytes_upstream();
    println!(
        "photo {SIZE} bytes; {sent} photo bytes forwarded ({:.2}×), {} bytes upstream in all; \
         {} failed syncs {:?}; {:?}",
        sent as f64 / SIZE as f64,
        proxy.bytes_upstream(),
        out.failed.len(),
        out.failed,
        out.elapsed
    );
    assert_eq!(proxy.problems(), Vec::<String>::new(), "the proxy itself");
    assert_eq!(proxy.unused(), vec![], "every scripted fault was applied");
    assert_eq!(out.failed.len(), 1, "the two resets in a row fail one sync");
    assert_eq!(out.report.photos_refused, 0);
    assert!(
        inspector
            .store
            .photos_to_upload()
            .expect("photos")
            .is_empty(),
        "the device knows the photo is on the server"
    );
    // Restarting from zero after each cut would send 1 + 2 + 1 + 2 MB (3×); resuming sends the
    // photo once.
    assert!(
        (sent as f64) < 1.6 * SIZE as f64,
        "{sent} photo bytes sent for a {SIZE}-byte photo: the upload restarted"
    );
    assert_eq!(
        server.state.metrics.blob_bytes_in.get(),
        SIZE as u64,
        "the server received each photo byte once"
    );
    assert_eq!(server.stats().photos, 1);

    // A supervisor sees the case with the photo, and downloads exactly those bytes.
    let supervisor = Phone::signed_in(&server.running.url, "supervisor1");
    sync_until_ok(&supervisor.store, &fast_options(), 1);
    let detail = supervisor
        .store
        .case_detail(case)
        .expect("case on the server");
    let names: Vec<&str> = detail
        .photos
        .iter()
        .map(|p| p.photo.sha256.as_str())
        .collect();
    assert_eq!(names, vec![sha.as_str()], "the case references the photo");
    let file = supervisor.store.fetch_photo(&sha).expect("download photo");
    let downloaded = std::fs::read(file).expect("read downloaded photo");
    assert_eq!(sha256_hex(&downloaded), sha);
    assert!(downloaded == photo, "the server holds the exact bytes");
}

#[test]
fn a_slow_link_completes_without_a_retry() {
    const CASES: u64 = 5;
    let server = Server::start();
    let proxy = Proxy::start(&server.running.url);
    let inspector = Phone::signed_in(&proxy.url, "inspector1");
    sync_until_ok(&inspector.store, &fast_options(), 1);
    let before = server.stats();
    let ops: Vec<Uuid> = (0..CASES)
        .map(|n| inspector.report(n, jpeg_bytes(100 + n, 100_000)).id)
        .collect();

    // Every request and every answer held 100 ms; one attempt only, so any spurious timeout or
    // retry fails the sync.
    proxy.set_default(Fault::Delay(Duration::from_millis(100)));
    let opts = SyncOptions {
        attempts: 1,
        timeout: Duration::from_secs(3),
        upload_chunk: 40_000,
        ..fast_options()
    };
    let started = Instant::now();
    let report = inspector
        .store
        .sync(&opts, &mut |_| {}, &AtomicBool::new(false))
        .expect("a slow link is not a failure");
    let delayed = proxy.injected().len();
    println!(
        "{delayed} requests delayed 2 × 100 ms; sync took {:?}",
        started.elapsed()
    );
    assert_eq!((report.accepted, report.rejected), (CASES, 0));
    assert_eq!((report.photos_uploaded, report.photos_refused), (CASES, 0));
    // 1 push, then per photo a create and 3 chunks, then at least 1 pull.
    let at_least = 1 + CASES as usize * (1 + 3) + 1;
    assert!(delayed >= at_least, "{delayed} delayed requests");
    assert!(started.elapsed() >= Duration::from_millis(200) * delayed as u32);
    assert_eq!(inspector.store.pending_count().expect("pending"), 0);

    let after = server.stats();
    assert_eq!(after.cases - before.cases, CASES);
    assert_eq!(after.events - before.events, CASES);
    assert_eq!(after.photos - before.photos, CASES);
    let supervisor = Phone::signed_in(&server.running.url, "supervisor1");
    sync_until_ok(&supervisor.store, &fast_options(), 1);
    let on_server = supervisor.op_counts();
    for op in &ops {
        assert_eq!(on_server.get(op), Some(&1), "op {op} on the server");
    }
}

/// `GET /healthz` on a fresh connection through the proxy: the raw bytes back, or the error.
fn raw_healthz(proxy: &Proxy) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(proxy.url.trim_start_matches("http://"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: proxy\r\n\r\n")?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)?;
    Ok(answer)
}

#[test]
fn the_proxy_does_to_each_request_what_its_fault_says() {
    use std::io::ErrorKind;
    let server = Server::start();
    let proxy = Proxy::start(&server.running.url);
    let seen = || {
        server
            .state
            .metrics
            .requests
            .with_label_values(&["/healthz", "200"])
            .get()
    };
    use Fault::*;
    proxy.script(
        "GET",
        "/healthz",
        &[
            Reset,
            DropRequest,
            ResetAfterForward,
            DropResponse,
            Duplicate,
            DuplicateRacing,
            Pass,
        ],
    );
    // (what the client gets, how many copies the server answered)
    let mut got = Vec::new();
    for _ in 0..7 {
        let before = seen();
        let answer = raw_healthz(&proxy);
        // The server may count a request just after the proxy relayed its answer.
        std::thread::sleep(Duration::from_millis(50));
        let outcome = match answer {
            Err(e) if e.kind() == ErrorKind::ConnectionReset => "reset".to_string(),
            Err(e) => format!("error {e}"),
            Ok(b) if b.is_empty() => "closed".to_string(),
            Ok(b) => {
                let text = String::from_utf8_lossy(&b).to_ascii_lowercase();
                assert!(text.contains("connection: close"), "{text}");
                text.lines().next().unwrap_or_default().trim().to_string()
            }
        };
        got.push((outcome, seen() - before));
    }
    let ok = "http/1.1 200 ok".to_string();
    assert_eq!(
        got,
        vec![
            ("reset".to_string(), 0),
            ("closed".to_string(), 0),
            ("reset".to_string(), 1),
            ("closed".to_string(), 1),
            (ok.clone(), 2),
            (ok.clone(), 2),
            (ok, 1),
        ]
    );
    let applied: Vec<String> = proxy
        .injected()
        .iter()
        .map(|i| format!("{} {} {}", i.method, i.path, i.fault.kind()))
        .collect();
    assert_eq!(applied.len(), 6, "{applied:?}");
    assert!(applied.iter().all(|a| a.starts_with("GET /healthz ")));
    assert!(proxy.problems().is_empty(), "{:?}", proxy.problems());
}

/// A phone loses signal in the middle of a photo upload, so the server's side of that connection
/// stays open with no more bytes and no FIN (found by this suite: the server waited for the body
/// forever while holding the photo's upload lock, and the client counted the 409 `upload_busy`
/// as "refused"). Now the server treats a quiet upload as cut after `upload_idle_timeout` (2 s
/// here, 30 s by default) and the client waits for a busy photo instead of giving up on it.
#[test]
fn a_silently_dead_upload_does_not_lock_the_photo_out() {
    const SIZE: usize = 600_000;
    let server = Server::start_with(Config {
        upload_idle_timeout: Duration::from_secs(2),
        ..Config::default()
    });
    // Dropped before the server: that ends the held connection, so the server can shut down.
    let proxy = Proxy::start(&server.running.url);
    let inspector = Phone::signed_in(&proxy.url, "inspector1");
    sync_until_ok(&inspector.store, &fast_options(), 1);
    inspector.report(1, jpeg_bytes(7, SIZE));
    proxy.script(
        "PATCH",
        "/v1/uploads/",
        &[Fault::CutBodyAndHold {
            percent: 50,
            hold: Duration::from_secs(120),
        }],
    );
    let opts = SyncOptions {
        upload_chunk: 1024 * 1024,
        ..fast_options()
    };
    // The phone is back online and syncs every 200 ms for up to 20 s, while the dead
    // connection is still open on the server.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        match inspector
            .store
            .sync(&opts, &mut |_| {}, &AtomicBool::new(false))
        {
            Ok(r) => assert_eq!(
                r.photos_refused,
                0,
                "after {:?} the photo was counted as refused ({r:?}): the server answered 409 \
                 upload_busy because a dead connection still holds the upload",
                started.elapsed()
            ),
            Err(Error::Network(_)) => {}
            Err(e) => panic!("sync failed: {e:?}"),
        }
        if inspector
            .store
            .photos_to_upload()
            .expect("photos")
            .is_empty()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        inspector
            .store
            .photos_to_upload()
            .expect("photos")
            .is_empty(),
        "the photo is still not on the server after {:?} of syncing",
        started.elapsed()
    );
    assert_eq!(server.stats().photos, 1);
}
