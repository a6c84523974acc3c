//! Inspection rounds as the tests drive them (issue 17): the office's desk plans and closes
//! rounds through the real console's forms (session cookie, CSRF token) and reads them back
//! through `/v1/rounds`; a phone fills an open task's checklist (or re-check) with seeded
//! findings, a photo for each deduction, as a person would on the checklist screen.

use reqwest::blocking::Client;
use uuid::Uuid;
use xuncha_core::Store;
use xuncha_core::model::Op;
use xuncha_core::round::{RecheckOutcome, TaskState};
use xuncha_core::standard::{Finding, ScoringRule};
use xuncha_core::store::{IndicatorInput, PhotoInput, RecheckInput, SiteCheckInput};
use xuncha_core::sync::protocol::{RoundDetail, RoundList};

use crate::{Rng, jpeg_bytes};

/// A supervisor at the console, signed in through its form.
pub struct Desk {
    url: String,
    client: Client,
    csrf: String,
    token: String,
}

/// The value of the first `name="…" value="…"` field of a page.
fn field(page: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let at = page.find(&key)? + key.len();
    let rest = &page[at..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Desk {
    /// `user` (password `demo`) signed in at the console and the API of the server at `url`.
    pub fn sign_in(url: &str, user: &str) -> Result<Desk, String> {
        let client = Client::builder()
            .cookie_store(true)
            .build()
            .map_err(|e| e.to_string())?;
        let page = client
            .get(format!("{url}/console/login"))
            .send()
            .and_then(|r| r.text())
            .map_err(|e| e.to_string())?;
        let csrf = field(&page, "csrf").ok_or("no csrf on the sign-in page")?;
        let signed = client
            .post(format!("{url}/console/login"))
            .form(&[("user", user), ("password", "demo"), ("csrf", &csrf)])
            .send()
            .map_err(|e| e.to_string())?;
        if !signed.status().is_success() {
            return Err(format!("console sign-in: {}", signed.status()));
        }
        let page = client
            .get(format!("{url}/console/rounds"))
            .send()
            .and_then(|r| r.text())
            .map_err(|e| e.to_string())?;
        let csrf = field(&page, "csrf").ok_or("no csrf on the rounds page")?;
        let login: serde_json::Value = client
            .post(format!("{url}/v1/auth/login"))
            .json(&serde_json::json!({
                "user_id": user, "password": "demo", "device_id": format!("desk-{}", Uuid::new_v4())
            }))
            .send()
            .and_then(|r| r.json())
            .map_err(|e| e.to_string())?;
        let token = login["token"].as_str().ok_or("no token")?.to_string();
        Ok(Desk {
            url: url.to_string(),
            client,
            csrf,
            token,
        })
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<u16, String> {
        let mut pairs = vec![("csrf", self.csrf.as_str())];
        pairs.extend_from_slice(form);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .map(|r| r.status().as_u16())
            .map_err(|e| e.to_string())
    }

    /// Plan a round through the console's form: of `site_type` sites across the city, or (with
    /// `recheck`) a 回头看 of every closed case, for one-person teams of `members`. The status
    /// the console answered (200 after its redirect when planned, 400 when nothing matched).
    pub fn plan(
        &self,
        name: &str,
        recheck: bool,
        site_type: &str,
        members: &[&str],
    ) -> Result<u16, String> {
        let today = chrono::Utc::now().date_naive();
        let (from, due) = (
            today.to_string(),
            (today + chrono::Duration::days(7)).to_string(),
        );
        let mut form: Vec<(&str, &str)> = vec![
            ("name", name),
            ("from", &from),
            ("to", &due),
            ("due", &due),
            ("team_size", "1"),
        ];
        for m in members {
            form.push(("member", m));
        }
        if recheck {
            self.post("/console/rounds/recheck", &form)
        } else {
            form.push(("kind", "open"));
            form.push(("site_type", site_type));
            self.post("/console/rounds", &form)
        }
    }

    /// Close a round through its page's form; the status answered.
    pub fn close(&self, round: Uuid) -> Result<u16, String> {
        self.post(&format!("/console/rounds/{round}/close"), &[])
    }

    /// Every round the desk may see, with its tasks and their results (`/v1/rounds`).
    pub fn rounds(&self) -> Result<Vec<RoundDetail>, String> {
        let list: RoundList = self
            .client
            .get(format!("{}/v1/rounds", self.url))
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| e.to_string())?;
        list.rounds
            .iter()
            .map(|r| {
                self.client
                    .get(format!("{}/v1/rounds/{}", self.url, r.id))
                    .bearer_auth(&self.token)
                    .send()
                    .and_then(|r| r.json())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }
}

/// A phone fills one of its open tasks (the `pick`th), as its person would: a site's every
/// indicator with a seeded finding of the kind its rule asks for and a photo for each
/// deduction, or a re-check with a photo and a seeded outcome. The operation recorded; none
/// when the phone has no open task or its own rules refuse (a task it already submitted).
pub fn fill_open_task(store: &Store, pick: u64, rng: &mut Rng) -> Option<Op> {
    let open: Vec<_> = store
        .tasks(None)
        .ok()?
        .into_iter()
        .filter(|t| t.state == TaskState::Open)
        .collect();
    if open.is_empty() {
        return None;
    }
    let task = &open[(pick % open.len() as u64) as usize];
    let photo = |rng: &mut Rng| PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 2_000));
    if task.case.is_some() {
        let outcome = if rng.range(0, 3) == 0 {
            RecheckOutcome::Recurred
        } else {
            RecheckOutcome::Held
        };
        let input = RecheckInput {
            outcome,
            photos: vec![photo(rng)],
            position: None,
            note: String::new(),
        };
        return store.submit_recheck(task.task.id, input).ok();
    }
    let indicators = store
        .checklist(task.task.id)
        .ok()?
        .into_iter()
        .map(|ind| {
            let bad = rng.range(0, 3) == 0;
            let finding = match (&ind.rule, bad) {
                (_, false) => Finding::Pass,
                (ScoringRule::PassFail, true) => Finding::Fail,
                (ScoringRule::PerOccurrence { .. }, true) => Finding::Occurrences {
                    count: rng.range(1, 4) as u32,
                },
                (ScoringRule::Quota { .. }, true) => Finding::Counted {
                    found: rng.range(0, 2) as u32,
                    units: 1.0,
                },
            };
            IndicatorInput {
                code: ind.code,
                finding,
                note: String::new(),
                photos: if bad { vec![photo(rng)] } else { vec![] },
            }
        })
        .collect();
    let input = SiteCheckInput {
        indicators,
        position: task.place.as_ref().map(|p| xuncha_core::Location {
            lat: p.lat,
            lon: p.lon,
            accuracy_m: Some(10.0),
            address: String::new(),
        }),
        note: String::new(),
    };
    store.submit_check(task.task.id, input).ok()
}
