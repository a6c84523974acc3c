//! A light phone for load runs: the same HTTP requests a phone's sync makes (sign-in, push of
//! its new operations, pull to the end of its feed), with no local database, so a thousand of
//! them fit on a small machine beside the server and the figures are the server's. Photos
//! travel by reference (their hashes), not as bytes.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;
use xuncha_core::hlc::{Hlc, HlcClock};
use xuncha_core::model::{Actor, Op, OpBody, PhotoKind};
use xuncha_core::sync::protocol::{Change, OpStatus, PullResponse, PushResponse};
use xuncha_core::workflow::Status;

use crate::{Rng, TAXONOMY, photo_ref, random_location};

/// A pull page as far as a light phone reads it.
#[derive(serde::Deserialize)]
struct LitePage {
    changes: Vec<LiteChange>,
    cursor: i64,
    has_more: bool,
    server_time_ms: i64,
}

#[derive(serde::Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
enum LiteChange {
    Upsert { case: LiteCase },
    Remove { case_id: Uuid },
}

#[derive(serde::Deserialize)]
struct LiteCase {
    id: Uuid,
    status: Status,
}

/// One phone, signed in.
pub struct LightPhone {
    base: String,
    token: String,
    device: String,
    actor: Actor,
    clock: HlcClock,
    cursor: i64,
    /// Status of each case this phone has seen, by the last pull.
    seen: HashMap<Uuid, Status>,
    http: reqwest::blocking::Client,
}

/// What one sync of a light phone did.
#[derive(Debug, Default, Clone)]
pub struct LightSync {
    /// Operations pushed, with the server's answer: accepted or refused (never lost).
    pub accepted: Vec<Uuid>,
    /// Refused operations (a race another phone won, say).
    pub refused: Vec<Uuid>,
    /// Changes pulled.
    pub changes: usize,
}

fn net(e: impl std::fmt::Display) -> xuncha_core::Error {
    xuncha_core::Error::Network(e.to_string())
}

impl LightPhone {
    /// A client for many light phones to share (one connection pool and one I/O thread, as
    /// opposed to a thread of its own per phone).
    pub fn client() -> xuncha_core::Result<reqwest::blocking::Client> {
        reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .pool_max_idle_per_host(2_000)
            .build()
            .map_err(net)
    }

    /// Sign in as `user` (password `demo`) on a new device.
    pub fn sign_in(
        http: &reqwest::blocking::Client,
        base: &str,
        user: &str,
        device: &str,
    ) -> xuncha_core::Result<LightPhone> {
        let http = http.clone();
        let resp = http
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({"user_id": user, "password": "demo", "device_id": device}))
            .send()
            .map_err(net)?;
        if !resp.status().is_success() {
            return Err(net(format!("sign-in of {user}: {}", resp.status())));
        }
        let v: serde_json::Value = resp.json().map_err(net)?;
        let user: xuncha_core::reference::User =
            serde_json::from_value(v["user"].clone()).map_err(net)?;
        let node = u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([1; 8]));
        Ok(LightPhone {
            base: base.to_string(),
            token: v["token"].as_str().unwrap_or_default().to_string(),
            device: device.to_string(),
            actor: Actor {
                user_id: user.id,
                role: user.role,
                unit_id: user.unit_id,
            },
            clock: HlcClock::new(node, Hlc::default()),
            cursor: 0,
            seen: HashMap::new(),
            http,
        })
    }

    fn op(&mut self, case_id: Uuid, body: OpBody) -> Op {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Op {
            id: Uuid::now_v7(),
            case_id,
            device_id: self.device.clone(),
            actor: self.actor.clone(),
            hlc: self.clock.tick(now as u64),
            device_time_ms: now,
            body,
        }
    }

    /// The operations of one round of this person's work, from what the last pull showed:
    /// inspectors report, supervisors register and dispatch what came in, unit staff take up
    /// and rectify what was dispatched to them.
    pub fn work(&mut self, rng: &mut Rng) -> Vec<Op> {
        use xuncha_core::workflow::Role;
        match self.actor.role {
            Role::Inspector => {
                let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
                let body = OpBody::Report {
                    category: code.into(),
                    description: name.into(),
                    location: random_location(rng),
                    site_id: None,
                    grid_id: None,
                    suggested_unit_id: None,
                    campaign_id: None,
                    undercover: false,
                    photos: vec![photo_ref(rng, PhotoKind::Before)],
                };
                vec![self.op(Uuid::now_v7(), body)]
            }
            Role::Supervisor | Role::Admin => {
                let new: Vec<Uuid> = self
                    .seen
                    .iter()
                    .filter(|(_, s)| **s == Status::Submitted)
                    .map(|(id, _)| *id)
                    .take(5)
                    .collect();
                let mut ops = Vec::new();
                for id in new {
                    self.seen.insert(id, Status::Dispatched);
                    ops.push(self.op(
                        id,
                        OpBody::Register {
                            note: String::new(),
                        },
                    ));
                    let unit = if rng.range(0, 2) == 0 { "u1" } else { "u2" };
                    ops.push(self.op(
                        id,
                        OpBody::Dispatch {
                            unit_id: unit.into(),
                            deadline_ms: None,
                            note: String::new(),
                        },
                    ));
                }
                ops
            }
            Role::UnitStaff => {
                let mine: Vec<Uuid> = self
                    .seen
                    .iter()
                    .filter(|(_, s)| **s == Status::Dispatched)
                    .map(|(id, _)| *id)
                    .take(3)
                    .collect();
                let mut ops = Vec::new();
                for id in mine {
                    self.seen.insert(id, Status::Rectified);
                    ops.push(self.op(
                        id,
                        OpBody::Acknowledge {
                            note: String::new(),
                        },
                    ));
                    let photo = photo_ref(rng, PhotoKind::After);
                    ops.push(self.op(
                        id,
                        OpBody::Rectify {
                            note: "已整改".into(),
                            photos: vec![photo],
                        },
                    ));
                }
                ops
            }
        }
    }

    /// Pull the whole feed from the start: how many events each operation has on the server.
    pub fn feed_op_counts(&mut self) -> xuncha_core::Result<HashMap<Uuid, usize>> {
        let mut counts: HashMap<Uuid, usize> = HashMap::new();
        let mut cursor = 0;
        loop {
            let resp = self
                .http
                .get(format!("{}/v1/pull?cursor={cursor}&limit=1000", self.base))
                .bearer_auth(&self.token)
                .send()
                .map_err(net)?;
            if !resp.status().is_success() {
                return Err(net(format!("pull: {}", resp.status())));
            }
            let page: PullResponse = resp.json().map_err(net)?;
            for c in &page.changes {
                if let Change::Upsert { events, full, .. } = c {
                    // A case seen again later sends only its newer events.
                    if *full {
                        for e in events {
                            *counts.entry(e.op.id).or_default() += 1;
                        }
                    } else {
                        for e in events {
                            counts.entry(e.op.id).or_insert(1);
                        }
                    }
                }
            }
            cursor = page.cursor;
            if !page.has_more {
                return Ok(counts);
            }
        }
    }

    /// One sync: push `ops`, then pull to the end of the feed.
    pub fn sync(&mut self, ops: &[Op]) -> xuncha_core::Result<LightSync> {
        let mut out = LightSync::default();
        if !ops.is_empty() {
            let resp = self
                .http
                .post(format!("{}/v1/push", self.base))
                .bearer_auth(&self.token)
                .json(&json!({ "ops": ops }))
                .send()
                .map_err(net)?;
            if !resp.status().is_success() {
                return Err(net(format!("push: {}", resp.status())));
            }
            let answer: PushResponse = resp.json().map_err(net)?;
            for r in answer.results {
                match r.status {
                    OpStatus::Accepted => out.accepted.push(r.op_id),
                    OpStatus::Rejected => out.refused.push(r.op_id),
                }
            }
        }
        loop {
            let resp = self
                .http
                .get(format!(
                    "{}/v1/pull?cursor={}&limit=500",
                    self.base, self.cursor
                ))
                .bearer_auth(&self.token)
                .send()
                .map_err(net)?;
            if !resp.status().is_success() {
                return Err(net(format!("pull: {}", resp.status())));
            }
            // Only what the phone acts on is decoded; the rest is skipped, not built.
            let page: LitePage = resp.json().map_err(net)?;
            out.changes += page.changes.len();
            for c in page.changes {
                match c {
                    LiteChange::Upsert { case } => {
                        self.seen.insert(case.id, case.status);
                    }
                    LiteChange::Remove { case_id } => {
                        self.seen.remove(&case_id);
                    }
                }
            }
            // The server's clock moves the phone's on, as a phone's pull does.
            let server = Hlc {
                wall_ms: page.server_time_ms.max(0) as u64,
                counter: 0,
                node: 0,
            };
            self.clock
                .observe(server, page.server_time_ms.max(0) as u64);
            self.cursor = page.cursor;
            if !page.has_more {
                return Ok(out);
            }
        }
    }
}
