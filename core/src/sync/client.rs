//! The device's sync client: sign in, then `sync()` = push pending operations in order, pull to
//! the end (rebasing pending work on the server's truth), refresh reference data; with progress,
//! cancellation, retries with backoff on network errors, and a clean stop on auth errors.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::reference::ReferenceData;
use crate::store::photos::{self, StagedPhoto};
use crate::store::{Session, Store};
use crate::sync::protocol::{
    ApiError, CLOCK_AHEAD, LoginRequest, LoginResponse, OpResult, OpStatus, PROTOCOL_HEADER,
    PROTOCOL_VERSION, PullResponse, PushResponse,
};

/// Tuning of [`Store::sync`].
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Operations per push.
    pub push_batch: usize,
    /// Changes per pull page.
    pub pull_limit: usize,
    /// Attempts per request on network errors.
    pub attempts: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Bytes per upload request (a cut loses at most the chunk in flight).
    pub upload_chunk: usize,
    /// Pull after pushing (false: only send what is pending, e.g. on a weak link).
    pub pull: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push_batch: crate::limits::OPS_PER_PUSH,
            pull_limit: 500,
            attempts: 5,
            backoff: Duration::from_millis(300),
            timeout: Duration::from_secs(60),
            upload_chunk: 512 * 1024,
            pull: true,
        }
    }
}

/// Where a sync is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Uploading photos.
    Photos,
    /// Sending pending operations.
    Push,
    /// Receiving changes.
    Pull,
    /// Finished.
    Done,
}

impl SyncPhase {
    /// Stable name (`photos`, `push`, `pull`, `done`).
    pub fn as_str(self) -> &'static str {
        match self {
            SyncPhase::Photos => "photos",
            SyncPhase::Push => "push",
            SyncPhase::Pull => "pull",
            SyncPhase::Done => "done",
        }
    }

    /// What the sync bar says.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        let (zh, en) = match self {
            SyncPhase::Photos => ("正在上传照片", "Uploading photos"),
            SyncPhase::Push => ("正在上传记录", "Sending records"),
            SyncPhase::Pull => ("正在接收更新", "Receiving updates"),
            SyncPhase::Done => ("同步完成", "Synced"),
        };
        lang.pick(zh, en)
    }
}

/// Progress report: `done` of `total` in `phase` (`total` 0 when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    /// Phase.
    pub phase: SyncPhase,
    /// Done so far.
    pub done: u64,
    /// Total, if known.
    pub total: u64,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Operations accepted by the server.
    pub accepted: u64,
    /// Operations the server refused (now in the rejection inbox).
    pub rejected: u64,
    /// Changes received.
    pub changes: u64,
    /// Photos uploaded.
    pub photos_uploaded: u64,
    /// Photos the server refused (kept on the device; see the log of the sync).
    pub photos_refused: u64,
    /// Photos the server was still receiving from an earlier, broken attempt (sent next sync).
    pub photos_deferred: u64,
    /// Reference data refreshed.
    pub reference_updated: bool,
    /// New notices received.
    pub notices: u64,
    /// Round tasks of the person still to do (after this sync).
    pub open_tasks: u64,
}

/// A small blocking HTTP client for the sync API.
pub(crate) struct Http {
    client: reqwest::blocking::Client,
    base: String,
    token: Option<String>,
    timeout: Duration,
}

/// One connection pool for the whole process: a blocking reqwest client owns a runtime thread,
/// and keeping connections alive makes a no-op sync one round trip.
fn shared_client() -> Result<reqwest::blocking::Client> {
    static CLIENT: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let c = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .gzip(true)
        .build()
        .map_err(|e| Error::Network(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| c).clone())
}

impl Http {
    pub(crate) fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Self> {
        Ok(Http {
            client: shared_client()?,
            base: base.trim_end_matches('/').to_string(),
            token,
            timeout,
        })
    }

    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::blocking::RequestBuilder {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .timeout(self.timeout)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    /// Send and decode, mapping failures to the core's errors.
    pub(crate) fn send<R: DeserializeOwned>(
        &self,
        rb: reqwest::blocking::RequestBuilder,
    ) -> Result<R> {
        self.send_raw(rb)?
            .json::<R>()
            .map_err(|e| Error::Network(e.to_string()))
    }

    /// Send; a successful answer as it came (its headers to read), failures mapped to the
    /// core's errors.
    pub(crate) fn send_raw(
        &self,
        rb: reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::Response> {
        let resp = rb.send().map_err(|e| Error::Network(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body: Option<ApiError> = resp.json().ok();
        let wrong_password = body.as_ref().is_some_and(|b| b.code == "wrong_credentials");
        match status.as_u16() {
            // A wrong password at sign-in is the person's mistake, said as the server says it;
            // any other 401 means the token is no longer good: sign in again.
            401 if !wrong_password => Err(Error::AuthRequired),
            426 => Err(Error::ProtocolUnsupported),
            s if s >= 500 || s == 408 || s == 429 => Err(Error::Network(format!(
                "server answered {s}{}",
                body.map(|b| format!(": {}", b.code)).unwrap_or_default()
            ))),
            s => Err(match body {
                Some(b) => Error::Server {
                    status: s,
                    code: b.code,
                    message: b.message,
                    message_en: b.message_en,
                },
                None => Error::Server {
                    status: s,
                    code: "http_error".into(),
                    message: format!("HTTP {s}"),
                    message_en: format!("HTTP {s}"),
                },
            }),
        }
    }

    pub(crate) fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R> {
        self.send(self.request(reqwest::Method::POST, path).json(body))
    }

    pub(crate) fn post_raw_json<R: DeserializeOwned>(&self, path: &str, body: String) -> Result<R> {
        self.send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", "application/json")
                .body(body),
        )
    }

    pub(crate) fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R> {
        self.send(self.request(reqwest::Method::GET, path))
    }

    pub(crate) fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .map_err(|e| Error::Network(e.to_string()))?;
        match resp.status().as_u16() {
            200 => Ok(resp
                .bytes()
                .map_err(|e| Error::Network(e.to_string()))?
                .to_vec()),
            401 => Err(Error::AuthRequired),
            s if s >= 500 => Err(Error::Network(format!("server answered {s}"))),
            s => {
                let body: Option<ApiError> = resp.json().ok();
                Err(Error::Server {
                    status: s,
                    code: body.as_ref().map(|b| b.code.clone()).unwrap_or_default(),
                    message: body.as_ref().map(|b| b.message.clone()).unwrap_or_default(),
                    message_en: body.map(|b| b.message_en).unwrap_or_default(),
                })
            }
        }
    }
}

/// Sleep `wait`, waking early to honour a cancellation.
pub(crate) fn pause(wait: Duration, cancel: &AtomicBool) -> Result<()> {
    let until = std::time::Instant::now() + wait;
    while std::time::Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(20).min(wait));
    }
    Ok(())
}

/// Run `f` until it succeeds, fails with a non-network error, runs out of attempts, or the sync
/// is cancelled; waits `backoff · 2^n` between attempts.
pub(crate) fn with_retry<T>(
    opts: &SyncOptions,
    cancel: &AtomicBool,
    mut f: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut wait = opts.backoff;
    let mut attempt = 1;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        match f() {
            Err(Error::Network(e)) if attempt < opts.attempts => {
                log::warn!(
                    "network: {e}; attempt {attempt} of {}, next in {wait:?}",
                    opts.attempts
                );
                pause(wait, cancel)?;
                wait = wait.saturating_mul(2).min(Duration::from_secs(30));
                attempt += 1;
            }
            other => return other,
        }
    }
}

impl Store {
    /// Sign in to a server with a password; stores the server URL and token on this device and
    /// makes the returned user the local session. Pending operations of an earlier sign-in stay.
    pub fn sign_in_remote(
        &self,
        server_url: &str,
        user_id: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Session> {
        let url = server_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::InvalidField {
                field: "server_url",
                reason: "must start with http:// or https://".into(),
            });
        }
        let http = Http::new(url, None, SyncOptions::default().timeout)?;
        let resp: LoginResponse = http.post(
            "/v1/auth/login",
            &LoginRequest {
                user_id: user_id.to_string(),
                password: password.to_string(),
                device_id: self.device_id().to_string(),
                device_name: device_name.to_string(),
            },
        )?;
        let session = Session::new(
            &resp.user.id,
            resp.user.role.as_str(),
            resp.user.unit_id.as_deref(),
        )?;
        let now = self.now_ms();
        self.update_sync_state(|st| {
            st.server_url = Some(url.to_string());
            st.token = Some(resp.token.clone());
            st.token_expires_at_ms = Some(resp.expires_at_ms);
            st.clock_skew_ms = resp.server_time_ms - now;
        })?;
        self.set_session_unchecked(&session)?;
        Ok(session)
    }

    /// Sign out: revoke the token on the server if reachable, forget it here. Pending operations
    /// are kept and go up after the next sign-in.
    pub fn sign_out_remote(&self) -> Result<()> {
        let st = self.sync_state()?;
        if let (Some(url), Some(token)) = (st.server_url, st.token) {
            let http = Http::new(&url, Some(token), Duration::from_secs(5))?;
            let _ = http
                .send::<serde_json::Value>(http.request(reqwest::Method::POST, "/v1/auth/logout"));
        }
        self.update_sync_state(|st| {
            st.token = None;
            st.token_expires_at_ms = None;
        })?;
        self.clear_session()
    }

    /// Pull pages until the server has no more; returns the server's reference-data version.
    ///
    /// A fresh device catches up on whole cases by their last change (`whole`, see the server's
    /// `pull` module), each case once however often it changed; then it follows the feed.
    /// Each page names the cursor of the next, so the next page is fetched on a second thread
    /// while this one is written (at most one page waits): on two cores a bootstrap overlaps the
    /// network and JSON decoding with the SQLite writes. Only applied pages move the stored
    /// cursor, so stopping anywhere (error, cancel, crash) re-pulls from the last applied page.
    fn pull_to_end(
        &self,
        http: &Http,
        opts: &SyncOptions,
        cancel: &AtomicBool,
        applied: &mut dyn FnMut(u64),
    ) -> Result<i64> {
        let state = self.sync_state()?;
        // A fresh device (or one stopped while catching up) asks for whole cases by their last
        // change, each once; the server says whether it granted that, page by page.
        let whole = state.cursor == 0 || state.catching_up;
        std::thread::scope(|s| {
            let (pages, next_page) = std::sync::mpsc::sync_channel::<Result<PullResponse>>(1);
            s.spawn(move || {
                let (mut cursor, mut whole) = (state.cursor, whole);
                loop {
                    let path = format!(
                        "/v1/pull?cursor={cursor}&limit={}{}",
                        opts.pull_limit.max(1),
                        if whole { "&whole=true" } else { "" }
                    );
                    let page: Result<PullResponse> = with_retry(opts, cancel, || http.get(&path));
                    let next = match &page {
                        Ok(p) if p.has_more => Some((p.cursor, p.whole)),
                        _ => None,
                    };
                    // A closed channel means the writer stopped (an error): stop fetching.
                    if pages.send(page).is_err() {
                        return;
                    }
                    match next {
                        Some(n) => (cursor, whole) = n,
                        None => return,
                    }
                }
            });
            loop {
                let page = next_page
                    .recv()
                    .map_err(|_| Error::Network("pull stopped".into()))??;
                self.apply_pull(&page)?;
                applied(page.changes.len() as u64);
                if !page.has_more {
                    return Ok(page.reference_version);
                }
            }
        })
    }

    /// Notices: this device's reads go up, then the person's new notices come down after the
    /// cursor; how many were new. A server without notices (404) is no error.
    fn sync_notices(&self, http: &Http, opts: &SyncOptions, cancel: &AtomicBool) -> Result<u64> {
        use super::protocol::{MarkRead, MarkReadAnswer, NoticePage};
        let absent = |e: &Error| matches!(e, Error::Server { status: 404, .. });
        loop {
            let ids = self.pending_reads(crate::limits::NOTICES_PER_READ)?;
            if ids.is_empty() {
                break;
            }
            let body = serde_json::to_string(&MarkRead { ids: ids.clone() })?;
            let sent: Result<MarkReadAnswer> = with_retry(opts, cancel, || {
                http.post_raw_json("/v1/notices/read", body.clone())
            });
            match sent {
                Ok(_) => self.reads_sent(&ids)?,
                Err(e) if absent(&e) => return Ok(0),
                Err(e) => return Err(e),
            }
        }
        let mut added = 0;
        loop {
            let after = self.sync_state()?.notice_cursor;
            let page: Result<NoticePage> = with_retry(opts, cancel, || {
                http.get(&format!("/v1/notices?after={after}"))
            });
            let page = match page {
                Ok(p) => p,
                Err(e) if absent(&e) => return Ok(added),
                Err(e) => return Err(e),
            };
            added += self.save_notices(&page.notices, page.cursor)?;
            if !page.has_more || page.notices.is_empty() {
                return Ok(added);
            }
        }
    }

    /// The person's round tasks, replacing the list held here; how many are still to do. A
    /// server without rounds (404) is no error.
    fn sync_tasks(&self, http: &Http, opts: &SyncOptions, cancel: &AtomicBool) -> Result<u64> {
        use super::protocol::TaskList;
        let list: Result<TaskList> = with_retry(opts, cancel, || http.get("/v1/tasks"));
        let list = match list {
            Ok(l) => l,
            Err(Error::Server { status: 404, .. }) => return Ok(0),
            Err(e) => return Err(e),
        };
        self.save_tasks(&list)?;
        Ok(self
            .tasks(None)?
            .iter()
            .filter(|t| t.state == crate::round::TaskState::Open)
            .count() as u64)
    }

    /// Push everything pending, pull everything new, refresh reference data.
    pub fn sync(
        &self,
        opts: &SyncOptions,
        progress: &mut dyn FnMut(SyncProgress),
        cancel: &AtomicBool,
    ) -> Result<SyncReport> {
        let st = self.sync_state()?;
        let url = st.server_url.clone().ok_or(Error::NotConfigured)?;
        let token = st.token.clone().ok_or(Error::AuthRequired)?;
        let http = Http::new(&url, Some(token), opts.timeout)?;
        let mut report = SyncReport::default();
        log::info!(
            "sync with {url}: {} operations waiting",
            self.pending_count()?
        );

        // Push, in order, in batches.
        let total = self.pending_count()?;
        let mut done = 0;
        let mut restamped = false;
        progress(SyncProgress {
            phase: SyncPhase::Push,
            done,
            total,
        });
        loop {
            let ops =
                self.pending_ops_json(opts.push_batch.clamp(1, crate::limits::OPS_PER_PUSH))?;
            if ops.is_empty() {
                break;
            }
            // `{"ops": [...]}` from the stored JSON of each operation (a PushRequest).
            let body = format!("{{\"ops\":[{}]}}", ops.join(","));
            let resp: PushResponse = with_retry(opts, cancel, || {
                http.post_raw_json("/v1/push", body.clone())
            })?;
            let clock_ahead = |r: &OpResult| r.code.as_deref() == Some(CLOCK_AHEAD);
            if !restamped && resp.results.iter().any(clock_ahead) {
                // Stamped before this device knew its clock is fast: stamp again by the
                // server's clock and push again (once per sync; a second refusal is final).
                restamped = true;
                let settled: Vec<OpResult> = resp
                    .results
                    .iter()
                    .filter(|r| !clock_ahead(r))
                    .cloned()
                    .collect();
                self.apply_push_results(&settled)?;
                self.restamp_pending(resp.server_time_ms)?;
                report.accepted += settled
                    .iter()
                    .filter(|r| r.status == OpStatus::Accepted)
                    .count() as u64;
                report.rejected += settled
                    .iter()
                    .filter(|r| r.status == OpStatus::Rejected)
                    .count() as u64;
                done += settled.len() as u64;
                continue;
            }
            self.apply_push_results(&resp.results)?;
            for r in &resp.results {
                match r.status {
                    OpStatus::Accepted => report.accepted += 1,
                    OpStatus::Rejected => {
                        report.rejected += 1;
                        log::warn!(
                            "operation {} on case {} refused: {} ({})",
                            r.op_id,
                            r.case_id,
                            r.code.as_deref().unwrap_or("rejected"),
                            r.reason.as_deref().unwrap_or("")
                        );
                    }
                }
            }
            done += resp.results.len() as u64;
            progress(SyncProgress {
                phase: SyncPhase::Push,
                done,
                total,
            });
            if resp.results.is_empty() {
                break;
            }
        }

        // Photos follow the operations that name them (DESIGN §4: text first on a weak link).
        let pending_photos = self.photos_to_upload()?;
        let total = pending_photos.len() as u64;
        progress(SyncProgress {
            phase: SyncPhase::Photos,
            done: 0,
            total,
        });
        for (i, (sha, size)) in pending_photos.iter().enumerate() {
            let file = photos::blob_path(self.photo_dir(), sha);
            match super::upload::upload_photo(&http, &file, sha, *size, opts, cancel) {
                Ok(()) => {
                    self.mark_photo_uploaded(sha)?;
                    report.photos_uploaded += 1;
                }
                // Still held by an earlier attempt that has not timed out: next sync.
                Err(Error::Server { code, .. }) if code == "upload_busy" => {
                    log::info!("photo {sha}: an earlier upload is still open; next sync");
                    report.photos_deferred += 1
                }
                // The server refused these bytes (hash or type): keep the photo, go on.
                Err(Error::Server { code, .. }) => {
                    log::warn!("photo {sha} refused by the server: {code}");
                    report.photos_refused += 1
                }
                Err(e) => return Err(e),
            }
            progress(SyncProgress {
                phase: SyncPhase::Photos,
                done: i as u64 + 1,
                total,
            });
        }

        if !opts.pull {
            progress(SyncProgress {
                phase: SyncPhase::Done,
                done: 1,
                total: 1,
            });
            return Ok(report);
        }

        // Pull to the end.
        let mut reference_version = st.reference_version;
        let server_reference = self.pull_to_end(&http, opts, cancel, &mut |changes| {
            report.changes += changes;
            progress(SyncProgress {
                phase: SyncPhase::Pull,
                done: report.changes,
                total: 0,
            });
        })?;

        // Reference data, when the server's changed.
        if server_reference != reference_version {
            #[derive(serde::Deserialize)]
            struct Versioned {
                version: i64,
                data: ReferenceData,
            }
            let r: Versioned = with_retry(opts, cancel, || http.get("/v1/reference"))?;
            self.load_reference(&r.data)?;
            reference_version = r.version;
            report.reference_updated = true;
        }
        report.notices = self.sync_notices(&http, opts, cancel)?;
        report.open_tasks = self.sync_tasks(&http, opts, cancel)?;
        let now = self.now_ms();
        self.update_sync_state(|s| {
            s.reference_version = reference_version;
            s.last_sync_at_ms = Some(now);
        })?;
        log::info!(
            "synced: {} accepted, {} refused, {} changes, {} photos sent",
            report.accepted,
            report.rejected,
            report.changes,
            report.photos_uploaded
        );
        progress(SyncProgress {
            phase: SyncPhase::Done,
            done: 1,
            total: 1,
        });
        Ok(report)
    }
}

impl Store {
    /// The file of a photo, downloading it from the server first if this device does not hold
    /// it (the server checks that the signed-in user may see a case that uses it).
    pub fn fetch_photo(&self, sha256: &str) -> Result<std::path::PathBuf> {
        if !photos::is_sha256_hex(sha256) {
            return Err(Error::InvalidField {
                field: "sha256",
                reason: "not a lowercase hex SHA-256".into(),
            });
        }
        if let Some(p) = self.photo_path(sha256) {
            return Ok(p);
        }
        let st = self.sync_state()?;
        let url = st.server_url.ok_or(Error::NotConfigured)?;
        let token = st.token.ok_or(Error::AuthRequired)?;
        let http = Http::new(&url, Some(token), SyncOptions::default().timeout)?;
        let bytes = http.get_bytes(&format!("/v1/photos/{sha256}"))?;
        if photos::sha256_hex(&bytes) != sha256 {
            return Err(Error::Network(
                "downloaded photo does not match its hash".into(),
            ));
        }
        let mime = crate::store::sniff_image_type(&bytes).ok_or(Error::UnsupportedPhoto)?;
        let staged = StagedPhoto {
            bytes,
            sha256: sha256.to_string(),
            mime,
            captured_at_ms: None,
            location: None,
        };
        photos::write_blob(self.photo_dir(), &staged)
    }
}
