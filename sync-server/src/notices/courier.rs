//! Delivering the outbox: each due row is claimed (its next try moved a lease ahead, so another
//! instance leaves it alone), sent, and marked sent on success. A failure — an error answer, a
//! refused connection, no answer within the configured time (10 s) — is tried again after a back-off
//! that doubles from the configured first wait (5 s) up to [`LAST_RETRY_MS`]; after [`MAX_ATTEMPTS`] the row
//! is a dead letter the console lists and can send again. A row is only marked sent after its
//! answer came, so a server killed mid-delivery sends it again: at least once per channel, and
//! receivers de-duplicate by the event id.

use std::sync::OnceLock;
use std::time::Duration;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::notice_records::Delivery;

use super::channels::{Request, request};

/// Rows claimed per round.
const CLAIM: usize = 32;
/// Rows sent at once.
const AT_ONCE: usize = 8;
/// The longest wait between retries.
pub const LAST_RETRY_MS: i64 = 3_600_000;
/// Attempts before a row is a dead letter.
pub const MAX_ATTEMPTS: u32 = 12;

/// The wait before the next try, after `attempts` failed ones: `first`, doubling each time.
pub fn backoff_ms(attempts: u32, first: i64) -> i64 {
    first
        .max(1)
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(30))
        .min(LAST_RETRY_MS)
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default()
    })
}

/// Send one request within `timeout`; `Err` says why it did not go through.
async fn send(req: &Request, timeout: Duration) -> Result<(), String> {
    let mut rb = client()
        .post(&req.url)
        .timeout(timeout)
        .header("Content-Type", &req.content_type)
        .body(req.body.clone());
    for (k, v) in &req.headers {
        rb = rb.header(k.as_str(), v.as_str());
    }
    let resp = rb.send().await.map_err(|e| {
        if e.is_timeout() {
            "no answer in time".to_string()
        } else if e.is_connect() {
            "could not connect".to_string()
        } else {
            "request failed".to_string()
        }
    })?;
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    if req.errcode_zero {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if v["errcode"].as_i64() != Some(0) {
            let msg: String = v["errmsg"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            return Err(format!("errcode {}: {msg}", v["errcode"]));
        }
    }
    Ok(())
}

/// Deliver one claimed row; what became of it.
async fn deliver(state: &AppState, d: Delivery, now_ms: i64) -> Result<bool, ApiError> {
    let notify = &state.config.notify;
    let cal = state.store.reference_index().calendar.clone();
    let outcome = match notify.channel(&d.channel) {
        None => Err("the channel is no longer configured".to_string()),
        Some(c) => match request(c, &d.message, &cal, &notify.public_url, now_ms) {
            // Not for this channel (its kinds changed since): nothing to send.
            None => Ok(()),
            Some(req) => send(&req, notify.send_timeout).await,
        },
    };
    let (event, channel) = (d.message.id, d.channel.clone());
    match outcome {
        Ok(()) => {
            state
                .blocking(move |s| s.delivery_sent(event, &channel, now_ms))
                .await?;
            Ok(true)
        }
        Err(why) => {
            let attempts = d.attempts + 1;
            let retry_at = (attempts < MAX_ATTEMPTS)
                .then(|| now_ms + backoff_ms(attempts, notify.first_retry_ms));
            tracing::warn!(event = %event, channel = %d.channel, attempts, error = %why,
                dead = retry_at.is_none(), "notice delivery failed");
            state
                .blocking(move |s| s.delivery_failed(event, &channel, &why, retry_at))
                .await?;
            Ok(false)
        }
    }
}

/// Deliver what is due at `now_ms`, a round of claims at a time; how many went through.
pub async fn deliver_due(state: &AppState, now_ms: i64) -> Result<usize, ApiError> {
    if state.config.notify.channels.is_empty() {
        return Ok(0);
    }
    // A claim holds its rows three times as long as a send may take: another instance leaves
    // them alone meanwhile, and a killed one's rows are free again soon after.
    let lease_ms = (state.config.notify.send_timeout.as_millis() as i64)
        .saturating_mul(3)
        .max(1_000);
    let mut sent = 0;
    loop {
        let claimed = state
            .blocking(move |s| s.claim_deliveries(now_ms, lease_ms, CLAIM))
            .await?;
        let n = claimed.len();
        let mut rest = claimed.into_iter();
        loop {
            let batch: Vec<Delivery> = rest.by_ref().take(AT_ONCE).collect();
            if batch.is_empty() {
                break;
            }
            let results = futures_util::future::join_all(
                batch.into_iter().map(|d| deliver(state, d, now_ms)),
            )
            .await;
            for r in results {
                if r? {
                    sent += 1;
                }
            }
        }
        if n < CLAIM {
            return Ok(sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1, 5_000), 5_000);
        assert_eq!(backoff_ms(2, 5_000), 10_000);
        assert_eq!(backoff_ms(3, 5_000), 20_000);
        assert_eq!(backoff_ms(11, 5_000), LAST_RETRY_MS);
        assert_eq!(backoff_ms(60, 5_000), LAST_RETRY_MS);
    }
}
