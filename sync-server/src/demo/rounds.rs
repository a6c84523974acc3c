//! The demo city's inspection rounds (issue 17), seeded after its sample cases, each step
//! through the same paths as people's — planned as `supervisor1`, checked by the inspectors'
//! operations pushed from their own devices at the time they would have happened, closed:
//! - **上月农贸市场测评** (明查, finished): the eight markets, two one-person teams, seven
//!   checked with scores and the cases their failures raised, one left unchecked;
//! - **本月背街小巷暗访** (暗访, sealed): four back streets sampled, two checked — their cases
//!   held from the units until a supervisor publishes the round; one open for each inspector;
//! - **回头看** (in progress): the closed sample cases, one re-checked as still fixed, one left
//!   for `inspector1`'s phone.

use uuid::Uuid;
use xuncha_core::hlc::{Hlc, HlcClock};
use xuncha_core::model::{Location, Op, OpBody, PhotoKind, PhotoRef};
use xuncha_core::round::{CheckedIndicator, RecheckOutcome, RoundKind, Target, Task};
use xuncha_core::standard::Finding;
use xuncha_core::sync::protocol::OpStatus;

use super::scene::stored_scene;
use crate::error::ApiError;
use crate::rounds::{RecheckPlan, SitePlan, close, plan_rechecks, plan_sites};
use crate::state::AppState;
use crate::store::Principal;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// What each market was found to be, by indicator (1.1 … 1.7 of the demo standard), for the
/// seven markets checked: occurrences for the per-occurrence ones, pass/fail, and 公益广告
/// found against two per market.
const MARKETS: [[u32; 7]; 7] = [
    // 1.1 垃圾, 1.2 公平秤 (1 = fail), 1.3 投诉站, 1.4 亮证, 1.5 占道, 1.6 公益广告 found, 1.7 消防
    [0, 0, 0, 0, 1, 2, 0],
    [2, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 2, 0],
    [1, 1, 0, 0, 0, 2, 0],
    [0, 0, 0, 0, 0, 2, 0],
    [0, 0, 0, 0, 0, 2, 1],
    [0, 0, 0, 2, 0, 2, 0],
];

/// The findings of market `j` (a row of [`MARKETS`]) in the standard's terms.
fn market_findings(j: usize) -> Vec<(&'static str, Finding)> {
    let r = MARKETS[j];
    let fail = |v: u32| if v > 0 { Finding::Fail } else { Finding::Pass };
    vec![
        ("1.1", Finding::Occurrences { count: r[0] }),
        ("1.2", fail(r[1])),
        ("1.3", fail(r[2])),
        ("1.4", Finding::Occurrences { count: r[3] }),
        ("1.5", Finding::Occurrences { count: r[4] }),
        (
            "1.6",
            Finding::Counted {
                found: r[5],
                units: 1.0,
            },
        ),
        ("1.7", fail(r[6])),
    ]
}

/// A demo user's device for the rounds, with its own clock.
struct Phone {
    who: Principal,
    clock: HlcClock,
}

impl Phone {
    fn of(state: &AppState, user: &str, node: u64, now_ms: i64) -> Result<Phone, ApiError> {
        let record = state
            .store
            .user(user)?
            .ok_or_else(|| ApiError::internal(format!("demo user {user} is missing")))?;
        let device = format!("demo-rounds-{user}");
        state
            .store
            .register_device(&device, user, "演示数据", now_ms)?;
        Ok(Phone {
            who: Principal {
                user: record.user,
                device_id: device,
            },
            clock: HlcClock::new(node, Hlc::default()),
        })
    }

    /// Push `body` on `task` at `at`, as this phone; refused is an error (the demo is wrong).
    fn submit(
        &mut self,
        state: &AppState,
        task: Uuid,
        at: i64,
        body: OpBody,
    ) -> Result<(), ApiError> {
        for p in body.photos() {
            state
                .store
                .photo_stored(&p.sha256, &p.mime, p.size, &self.who.device_id, at)?;
        }
        let op = Op {
            id: Uuid::now_v7(),
            case_id: task,
            device_id: self.who.device_id.clone(),
            actor: self.who.actor(),
            hlc: self.clock.tick(at.max(0) as u64),
            device_time_ms: at,
            body,
        };
        let result = state
            .store
            .push(&self.who, &[op], at, &state.config.push_rules)?;
        match result.first() {
            Some(r) if r.status == OpStatus::Accepted => Ok(()),
            r => Err(ApiError::internal(format!(
                "demo round step refused: {r:?}"
            ))),
        }
    }
}

/// A drawn photo of the problem, stored like an upload.
fn photo(state: &AppState, seed: u32, at: i64, loc: &Location) -> Result<PhotoRef, ApiError> {
    stored_scene(state, true, seed, PhotoKind::Before, at, loc)
}

/// The check of a site task with `findings`, a photo for each deduction, made standing by the
/// site.
fn check_body(
    state: &AppState,
    task: &Task,
    findings: &[(&str, Finding)],
    at: i64,
    seed: u32,
) -> Result<OpBody, ApiError> {
    let index = state.store.reference_index();
    let Target::Site { site_id } = &task.target else {
        return Err(ApiError::internal("a site task"));
    };
    let site = index
        .site(site_id)
        .ok_or_else(|| ApiError::internal(format!("demo site {site_id}")))?;
    let at_site = Location {
        lat: site.lat + 0.0002,
        lon: site.lon,
        accuracy_m: Some(8.0),
        address: site.name.clone(),
    };
    let mut photos = Vec::new();
    let mut indicators = Vec::new();
    for (n, (code, finding)) in findings.iter().enumerate() {
        let ind = index
            .standard
            .iter()
            .find(|i| i.code == *code)
            .ok_or_else(|| ApiError::internal(format!("demo indicator {code}")))?;
        let mut hashes = Vec::new();
        if xuncha_core::round::deducts(ind, *finding) {
            let p = photo(state, seed * 10 + n as u32, at, &at_site)?;
            hashes.push(p.sha256.clone());
            photos.push(p);
        }
        indicators.push(CheckedIndicator {
            code: code.to_string(),
            finding: *finding,
            note: String::new(),
            photos: hashes,
        });
    }
    Ok(OpBody::CheckSite {
        indicators,
        photos,
        position: Some(at_site),
        note: String::new(),
    })
}

/// Seed the three rounds; returns how many.
pub fn seed_rounds(state: &AppState, now_ms: i64) -> Result<usize, ApiError> {
    if !state.store.rounds(1)?.is_empty() {
        return Ok(0);
    }
    let cal = state.store.reference_index().calendar.clone();
    let day = |ms: i64| cal.local_date(ms);
    let office = state
        .store
        .user("supervisor1")?
        .map(|u| Principal {
            user: u.user,
            device_id: "demo-console".into(),
        })
        .ok_or_else(|| ApiError::internal("demo user supervisor1 is missing"))?;
    let mut inspector1 = Phone::of(state, "inspector1", 9_101, now_ms)?;
    let mut inspector2 = Phone::of(state, "inspector2", 9_102, now_ms)?;
    let teams = vec![
        vec!["inspector1".to_string()],
        vec!["inspector2".to_string()],
    ];
    let store = state.store.as_ref();

    // 上月农贸市场测评: planned twelve days ago, checked ten days ago, closed six days ago.
    let planned = now_ms - 12 * DAY;
    let (markets, tasks) = plan_sites(
        store,
        &office,
        SitePlan {
            name: "农贸市场专项测评（明查）".into(),
            kind: RoundKind::Open,
            area_id: None,
            starts_on: day(planned + DAY),
            ends_on: day(planned + 3 * DAY),
            due_ms: planned + 3 * DAY,
            max_distance_m: None,
            site_types: vec!["农贸市场".into()],
            sample: None,
            teams: teams.clone(),
        },
        planned,
    )?;
    for (j, task) in tasks.iter().enumerate().take(MARKETS.len()) {
        let at = planned + 2 * DAY + j as i64 * HOUR;
        let body = check_body(state, task, &market_findings(j), at, 500 + j as u32)?;
        let phone = if task.team[0] == "inspector1" {
            &mut inspector1
        } else {
            &mut inspector2
        };
        phone.submit(state, task.id, at, body)?;
    }
    close(store, &office, markets.id, now_ms - 6 * DAY)?;

    // 本月背街小巷暗访: four back streets sampled two days ago, two checked yesterday.
    let planned = now_ms - 2 * DAY;
    let (_, tasks) = plan_sites(
        store,
        &office,
        SitePlan {
            name: "背街小巷暗访".into(),
            kind: RoundKind::Covert,
            area_id: None,
            starts_on: day(planned),
            ends_on: day(planned + 7 * DAY),
            due_ms: planned + 7 * DAY,
            max_distance_m: None,
            site_types: vec!["背街小巷".into()],
            sample: Some(4),
            teams: teams.clone(),
        },
        planned,
    )?;
    let street = |n: u32| -> Vec<(&'static str, Finding)> {
        vec![
            ("2.1", Finding::Occurrences { count: 0 }),
            ("2.2", Finding::Occurrences { count: n }),
            ("2.3", Finding::Occurrences { count: n + 1 }),
            ("2.4", Finding::Pass),
            ("2.5", Finding::Pass),
            ("2.6", Finding::Occurrences { count: 0 }),
        ]
    };
    for (j, task) in tasks.iter().enumerate().skip(1).take(2) {
        let at = now_ms - DAY + j as i64 * HOUR;
        let body = check_body(state, task, &street(j as u32 - 1), at, 700 + j as u32)?;
        let phone = if task.team[0] == "inspector1" {
            &mut inspector1
        } else {
            &mut inspector2
        };
        phone.submit(state, task.id, at, body)?;
    }

    // 回头看: the closed sample cases, planned this morning; one re-checked as still fixed.
    let planned = now_ms - 5 * HOUR;
    let (_, tasks) = plan_rechecks(
        store,
        &office,
        RecheckPlan {
            name: "上周问题回头看".into(),
            area_id: None,
            starts_on: day(planned),
            ends_on: day(planned + 3 * DAY),
            due_ms: planned + 3 * DAY,
            category_prefix: None,
            unit: None,
            reported_from_ms: Some(now_ms - 8 * DAY),
            reported_before_ms: None,
            sample: None,
            teams: vec![vec!["inspector1".to_string()]],
        },
        planned,
    )?;
    if let Some(task) = tasks.first()
        && let Target::Case { case_id } = task.target
        && let Some(case) = state.store.case(case_id)?
    {
        let at = now_ms - 2 * HOUR;
        let body = OpBody::Recheck {
            outcome: RecheckOutcome::Held,
            photos: vec![PhotoRef {
                kind: PhotoKind::Verify,
                ..photo(state, 900, at, &case.location)?
            }],
            position: Some(case.location.clone()),
            note: "现场干净整洁，未见反弹".into(),
        };
        inspector1.submit(state, task.id, at, body)?;
    }
    // What the watch owes the raised cases by now, and their notices.
    super::cases::settle(state, now_ms)?;
    Ok(3)
}
