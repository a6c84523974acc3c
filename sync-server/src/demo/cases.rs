//! Sample cases for the demo city: a week of reports in every state of the lifecycle, so the
//! console shows a living city on first start (a queue with a probable duplicate, boards with
//! overdue cases, a ranking with figures, daily charts). Each step is an operation pushed through
//! the same path as a phone's (`ServerStore::push` → the transition table), by the demo user who
//! would take it, from that user's own device, at the time it would have happened; photos are
//! drawn street scenes stored like uploads.

use uuid::Uuid;
use xuncha_core::geo::LatLon;
use xuncha_core::hlc::{Hlc, HlcClock};
use xuncha_core::model::{Location, Op, OpBody, PhotoKind};
use xuncha_core::sync::protocol::OpStatus;

use super::city::TAXONOMY;
use super::scene::stored_scene;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Principal;

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// One planned step: when, by whom, on which case, what.
struct Step {
    at: i64,
    user: &'static str,
    case: Uuid,
    body: OpBody,
}

/// Seed the sample cases into a server with none; returns how many cases it made.
pub fn seed_cases(state: &AppState, now_ms: i64) -> Result<usize, ApiError> {
    if !state.store.cases(&[], None, 1)?.is_empty() {
        return Ok(0);
    }
    let (_, city) = state.store.reference()?;
    let index = state.store.reference_index();
    let photo = |dirty: bool, seed: u32, at: i64, loc: &Location| {
        let kind = if dirty {
            PhotoKind::Before
        } else {
            PhotoKind::After
        };
        stored_scene(state, dirty, seed, kind, at, loc)
    };
    let note = String::new;
    let mut steps: Vec<Step> = Vec::new();
    let mut made = 0;
    let mut parked = false;
    let mut urged_unit1 = false;
    for k in 0..16usize {
        // Case 15 is the same problem at the same place as case 14, reported by someone else.
        let like = if k == 15 { 14 } else { k };
        let (site_index, category) = (like, TAXONOMY[(like * 3) % TAXONOMY.len()].0);
        let Some(site) = city.sites.get(site_index) else {
            continue;
        };
        // Spread over the last week, some hours apart; the duplicate two hours after the original.
        // The earlier a report, the further back in its day: whatever the time of day, two
        // days' reports never share a date (a later one crosses midnight only if the earlier
        // ones did).
        let base = |k: i64| now_ms - (6 - k * 6 / 15) * DAY - 3 * HOUR - (15 - k) * 20 * MIN;
        let reported = if k == 15 {
            base(14) + 2 * HOUR
        } else {
            base(k as i64)
        };
        let loc = Location {
            lat: site.lat + 0.0001,
            lon: site.lon + 0.0001,
            accuracy_m: Some(6.0),
            address: format!("演示市{}门前", site.name),
        };
        let placement = index.locate(LatLon {
            lat: loc.lat,
            lon: loc.lon,
        });
        let name = TAXONOMY
            .iter()
            .find(|t| t.0 == category)
            .map(|t| t.1)
            .unwrap_or(category);
        let case = Uuid::now_v7();
        let unit = site.owner_unit_id.clone();
        steps.push(Step {
            at: reported,
            user: if k % 2 == 0 {
                "inspector1"
            } else {
                "inspector2"
            },
            case,
            body: OpBody::Report {
                category: category.to_string(),
                description: format!("{}：{}", site.name, name),
                location: loc.clone(),
                site_id: Some(site.id.clone()),
                grid_id: placement.as_ref().map(|p| p.grid_id.clone()),
                suggested_unit_id: unit.clone(),
                campaign_id: city.campaigns.first().map(|c| c.id.clone()),
                undercover: k % 4 == 3,
                photos: vec![photo(true, k as u32, reported, &loc)?],
            },
        });
        made += 1;
        let sup = |at: i64, body: OpBody| Step {
            at,
            user: "supervisor1",
            case,
            body,
        };
        match k {
            14 | 15 => continue, // waiting in the queue
            12 => {
                steps.push(sup(
                    reported + 30 * MIN,
                    OpBody::Reject {
                        reason: "不属于文明城市创建测评范围".into(),
                    },
                ));
                continue;
            }
            _ => {}
        }
        steps.push(sup(reported + 20 * MIN, OpBody::Register { note: note() }));
        let Some(unit) = unit.filter(|_| k != 13) else {
            continue; // registered, waiting for dispatch
        };
        let dispatched = reported + 40 * MIN;
        steps.push(sup(
            dispatched,
            OpBody::Dispatch {
                unit_id: unit.clone(),
                deadline_ms: Some(index.default_deadline(category, dispatched)?),
                note: "请按期整改并上传整改后照片".into(),
            },
        ));
        // Only units 1 and 2 have demo staff; the other units' cases stay dispatched.
        let staff = match unit.as_str() {
            "u1" => "unit1",
            "u2" => "unit2",
            _ => {
                // 催办: the office presses the units that have not acknowledged after a day.
                steps.push(sup(
                    dispatched + DAY,
                    OpBody::Urge {
                        reason: "派遣已满一天仍未签收，请立即签收整改并反馈".into(),
                    },
                ));
                if !parked {
                    // 挂账: one the office books as a long job for the boards.
                    parked = true;
                    steps.push(sup(
                        dispatched + DAY + HOUR,
                        OpBody::Park {
                            reason: "涉及多部门协调，列入挂账督办，按月报告进度".into(),
                        },
                    ));
                }
                continue;
            }
        };
        let by_unit = |at: i64, body: OpBody| Step {
            at,
            user: staff,
            case,
            body,
        };
        steps.push(by_unit(
            reported + 2 * HOUR,
            OpBody::Acknowledge { note: note() },
        ));
        if staff == "unit1" && !urged_unit1 {
            // unit1's morning has an urged case too.
            urged_unit1 = true;
            steps.push(sup(
                reported + 2 * HOUR + 30 * MIN,
                OpBody::Urge {
                    reason: "请加快整改进度，今日内反馈".into(),
                },
            ));
        }
        if k == 9 {
            // In progress, slowly: 西湖区's supervisor hands it up to the city office (督办).
            steps.push(Step {
                at: reported + DAY,
                user: "supervisor2",
                case,
                body: OpBody::Escalate {
                    reason: "整改进度缓慢，提请市创城办督办".into(),
                },
            });
            continue;
        }
        let rectified = reported + 3 * HOUR;
        steps.push(by_unit(
            rectified,
            OpBody::Rectify {
                note: "已清理完毕".into(),
                photos: vec![photo(false, k as u32, rectified, &loc)?],
            },
        ));
        if k == 8 {
            continue; // waiting for the check
        }
        let mut last = rectified;
        if k == 1 {
            let failed = reported + 5 * HOUR;
            steps.push(sup(
                failed,
                OpBody::VerifyFail {
                    reason: "复查仍有垃圾残留，整改不到位".into(),
                    deadline_ms: Some(index.default_deadline(category, failed)?),
                    photos: vec![],
                },
            ));
            steps.push(by_unit(failed + HOUR, OpBody::Acknowledge { note: note() }));
            last = failed + 3 * HOUR;
            steps.push(by_unit(
                last,
                OpBody::Rectify {
                    note: "已二次清理并冲洗地面".into(),
                    photos: vec![photo(false, 100 + k as u32, last, &loc)?],
                },
            ));
        }
        steps.push(sup(
            last + 20 * HOUR,
            OpBody::VerifyPass {
                note: "现场复查已整改到位".into(),
                photos: vec![],
            },
        ));
    }
    // Push in time order, each user from their own device with their own clock.
    steps.retain(|s| s.at <= now_ms);
    steps.sort_by_key(|s| s.at);
    let mut devices: Vec<(&str, Principal, HlcClock)> = Vec::new();
    for (n, user) in [
        "inspector1",
        "inspector2",
        "supervisor1",
        "unit1",
        "unit2",
        "supervisor2",
    ]
    .into_iter()
    .enumerate()
    {
        let Some(record) = state.store.user(user)? else {
            continue;
        };
        let device = format!("demo-seed-{user}");
        state
            .store
            .register_device(&device, user, "演示数据", now_ms)?;
        devices.push((
            user,
            Principal {
                user: record.user,
                device_id: device,
            },
            HlcClock::new(9_000 + n as u64, Hlc::default()),
        ));
    }
    for step in steps {
        let Some((_, who, clock)) = devices.iter_mut().find(|(u, ..)| *u == step.user) else {
            continue;
        };
        // The phone that names a photo is the one that sent its bytes.
        for p in step.body.photos() {
            state
                .store
                .photo_stored(&p.sha256, &p.mime, p.size, &who.device_id, step.at)?;
        }
        let op = Op {
            id: Uuid::now_v7(),
            case_id: step.case,
            device_id: who.device_id.clone(),
            actor: who.actor(),
            hlc: clock.tick(step.at.max(0) as u64),
            device_time_ms: step.at,
            body: step.body,
        };
        let result = state
            .store
            .push(who, &[op], step.at, &state.config.push_rules)?;
        if let Some(r) = result.first().filter(|r| r.status != OpStatus::Accepted) {
            return Err(ApiError::internal(format!(
                "demo case step refused: {:?} {:?}",
                r.code, r.reason
            )));
        }
    }
    settle(state, now_ms)?;
    Ok(made)
}

/// What the server owes once the demo's steps are in: the deadline watch's escalations (督办 of
/// the cases the units without demo staff left two working days past their deadlines, and
/// again after four), one level at a time as the watch would, then the notices all of it
/// raised (unit1 opens the demo with a list of them).
pub fn settle(state: &AppState, now_ms: i64) -> Result<(), ApiError> {
    for _ in 0..=xuncha_core::area::MAX_DEPTH {
        let owed = crate::watch::owed_escalations(state.store.as_ref(), now_ms)?;
        if owed.is_empty() {
            break;
        }
        state.store.push(
            &crate::watch::system_principal(),
            &owed,
            now_ms,
            &state.config.push_rules,
        )?;
    }
    let channels = state.config.notify.channel_ids();
    crate::notices::raise::feed_once(state.store.as_ref(), &channels, now_ms)?;
    crate::notices::raise::deadlines_once(state.store.as_ref(), &channels, now_ms)?;
    Ok(())
}
