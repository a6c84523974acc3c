//! Notices on the server (issue 16; core's `notify` says what is worth telling whom):
//!
//! - [`raise`]: the notifier reads the change feed after its cursor and records the notices
//!   operations raise (dispatch, rework, urge, escalation); the deadline watch records 临期 and
//!   逾期 notices. Both record each person's copy and one outbox row per channel in one
//!   transaction, once by id.
//! - [`channels`]: the city's delivery channels (a generic webhook signed with HMAC-SHA256, the
//!   企业微信 group robot, the 钉钉 custom robot, an SMS gateway by HTTP template), from the file
//!   `--notify-channels` names, and what each receives.
//! - [`courier`]: delivers the outbox at least once per channel, with retries and back-off, and
//!   keeps what never went through as dead letters the console lists and retries.

pub mod channels;
pub mod courier;
pub mod raise;

use std::time::Duration;

use crate::state::AppState;

/// Raise from the feed and deliver every two seconds, until the runtime stops.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        loop {
            let now = state.now_ms();
            if let Err(e) = raise::from_feed(&state, now).await {
                tracing::warn!(code = %e.code, error = %e.message_en, "notifier failed; trying again");
            }
            if let Err(e) = courier::deliver_due(&state, now).await {
                tracing::warn!(code = %e.code, error = %e.message_en, "notice delivery failed; trying again");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
}
