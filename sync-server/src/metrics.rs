//! Prometheus metrics: requests, operations accepted/rejected, push/pull/upload latency, photo
//! bytes, and the process itself (resident memory, open files, CPU: `process_*`, Linux).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route and status.
    pub requests: IntCounterVec,
    /// Operations accepted.
    pub ops_accepted: IntCounter,
    /// Operations rejected, by code.
    pub ops_rejected: IntCounterVec,
    /// Handling time by `op`: `push`, `pull`, `upload` (one PATCH of photo bytes).
    pub sync_seconds: HistogramVec,
    /// Photo bytes received.
    pub blob_bytes_in: IntCounter,
    /// Photo bytes served.
    pub blob_bytes_out: IntCounter,
    /// Sign-ins refused, by reason (wrong_credentials, user_disabled, signin_throttled,
    /// signin_locked, signin_busy, too_long).
    pub signin_refused: IntCounterVec,
    /// Connections closed on arrival because the cap was reached.
    pub connections_refused: IntCounter,
    /// Thumbnail decodes, by outcome (ok, failed): each photo is decoded at most once.
    pub thumbnail_decodes: IntCounterVec,
    /// Pushes per committed group ([`crate::group_commit`]): the sample count is the number of
    /// commits, the sum the number of pushes.
    pub push_group_size: Histogram,
    /// The notice outbox by state (pending, sent, dead), read at each scrape.
    pub notice_outbox: IntGaugeVec,
}

impl Metrics {
    /// Register all metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        let notice_outbox = IntGaugeVec::new(
            Opts::new(
                "xuncha_notice_outbox",
                "Notice deliveries by state: pending, sent, dead (dead letters)",
            ),
            &["state"],
        )
        .expect("static metric definition");
        let _ = registry.register(Box::new(notice_outbox.clone()));
        let requests = IntCounterVec::new(
            Opts::new("xuncha_http_requests_total", "HTTP requests"),
            &["route", "status"],
        )
        .expect("static metric definition");
        let ops_accepted = IntCounter::new("xuncha_ops_accepted_total", "Operations accepted")
            .expect("static metric definition");
        let ops_rejected = IntCounterVec::new(
            Opts::new("xuncha_ops_rejected_total", "Operations rejected"),
            &["code"],
        )
        .expect("static metric definition");
        let sync_seconds = HistogramVec::new(
            HistogramOpts::new(
                "xuncha_sync_seconds",
                "Time to handle a push, a pull or an upload's PATCH",
            ),
            &["op"],
        )
        .expect("static metric definition");
        let blob_bytes_in = IntCounter::new("xuncha_blob_bytes_in_total", "Photo bytes received")
            .expect("static metric definition");
        let blob_bytes_out = IntCounter::new("xuncha_blob_bytes_out_total", "Photo bytes served")
            .expect("static metric definition");
        let signin_refused = IntCounterVec::new(
            Opts::new("xuncha_signin_refused_total", "Sign-ins refused"),
            &["reason"],
        )
        .expect("static metric definition");
        let connections_refused = IntCounter::new(
            "xuncha_connections_refused_total",
            "Connections closed on arrival: too many open",
        )
        .expect("static metric definition");
        let thumbnail_decodes = IntCounterVec::new(
            Opts::new(
                "xuncha_thumbnail_decodes_total",
                "Photos decoded into thumbnails",
            ),
            &["outcome"],
        )
        .expect("static metric definition");
        let push_group_size = Histogram::with_opts(
            HistogramOpts::new(
                "xuncha_push_group_size",
                "Pushes committed together in one transaction",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
        )
        .expect("static metric definition");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ops_accepted.clone()),
            Box::new(ops_rejected.clone()),
            Box::new(sync_seconds.clone()),
            Box::new(blob_bytes_in.clone()),
            Box::new(blob_bytes_out.clone()),
            Box::new(signin_refused.clone()),
            Box::new(connections_refused.clone()),
            Box::new(thumbnail_decodes.clone()),
            Box::new(push_group_size.clone()),
        ] {
            // Names are constants and unique: registration cannot fail.
            let _ = registry.register(c);
        }
        // Resident memory, virtual memory, open and maximum file descriptors, CPU seconds,
        // threads, start time (read from /proc on Linux; nothing elsewhere).
        #[cfg(target_os = "linux")]
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        Metrics {
            registry,
            requests,
            ops_accepted,
            ops_rejected,
            sync_seconds,
            blob_bytes_in,
            blob_bytes_out,
            signin_refused,
            connections_refused,
            thumbnail_decodes,
            push_group_size,
            notice_outbox,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
