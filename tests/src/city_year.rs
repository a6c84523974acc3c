//! A campaign year on a server, fast: `n` cases pushed straight into the store's group writer
//! (the path every phone's push takes) in the order they would have happened, with the server's
//! clock at each step. Most cases are registered, dispatched to the demo units, acknowledged,
//! rectified with an after-photo (by reference: no bytes) and closed; some fail a check once and
//! are reworked; the newest weeks' cases are still open, many of them overdue.

use uuid::Uuid;
use xuncha_core::hlc::Hlc;
use xuncha_core::model::{Actor, Op, OpBody, PhotoKind};
use xuncha_server::AppState;
use xuncha_server::group_commit::PushJob;
use xuncha_server::store::Principal;

use crate::{Rng, TAXONOMY, photo_ref, random_location};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// Cases whose steps are pushed together (each step of them one push), at most; fewer when
/// that would span more than a day (the server stamps a push with one time).
const CHUNK: usize = 500;

/// Someone of the demo city pushing from their own device.
struct Person {
    who: Principal,
    actor: Actor,
    counter: u32,
}

impl Person {
    fn new(state: &AppState, user: &str) -> xuncha_core::Result<Person> {
        let user = state
            .store
            .user(user)?
            .ok_or_else(|| xuncha_core::Error::NotFound {
                kind: "user",
                id: user.to_string(),
            })?
            .user;
        let actor = Actor {
            user_id: user.id.clone(),
            role: user.role,
            unit_id: user.unit_id.clone(),
        };
        Ok(Person {
            who: Principal {
                device_id: format!("year-{}", user.id),
                user,
            },
            actor,
            counter: 0,
        })
    }

    fn op(&mut self, case_id: Uuid, at_ms: i64, body: OpBody) -> Op {
        self.counter = self.counter.wrapping_add(1);
        Op {
            id: Uuid::now_v7(),
            case_id,
            device_id: self.who.device_id.clone(),
            actor: self.actor.clone(),
            hlc: Hlc {
                wall_ms: at_ms as u64,
                counter: self.counter,
                node: 7,
            },
            device_time_ms: at_ms,
            body,
        }
    }
}

/// Push `ops` (one step of a chunk, by one person) at server time `now_ms`.
fn push(state: &AppState, person: &Person, ops: &[Op], now_ms: i64) -> xuncha_core::Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let rules = state.config.push_rules;
    for chunk in ops.chunks(xuncha_core::limits::OPS_PER_PUSH) {
        let job = PushJob::new(&person.who, chunk, now_ms, &rules);
        for answer in state.store.push_group(&[job]) {
            let results = answer?;
            if let Some(r) = results.iter().find(|r| r.code.is_some()) {
                return Err(xuncha_core::Error::Network(format!(
                    "the year's {:?} was refused: {:?} {:?}",
                    ops[0].body.action(),
                    r.code,
                    r.reason
                )));
            }
        }
    }
    Ok(())
}

/// Push a year of `n` cases ending at `now_ms`, calling `progress(done)` after each chunk.
pub fn build_year(
    state: &AppState,
    n: usize,
    now_ms: i64,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> xuncha_core::Result<()> {
    let mut rng = Rng::new(seed);
    // The city's inspector finds most; a district's (西湖区) every third chunk.
    let mut inspectors = [
        Person::new(state, "inspector1")?,
        Person::new(state, "inspector2")?,
    ];
    let mut desk = Person::new(state, "supervisor1")?;
    let mut units = [Person::new(state, "unit1")?, Person::new(state, "unit2")?];
    let unit_ids: Vec<String> = units
        .iter()
        .map(|u| u.actor.unit_id.clone().unwrap_or_default())
        .collect();
    let start = now_ms - 365 * DAY;
    let step = (365 * DAY) / n.max(1) as i64;
    let chunk = (n / 365).clamp(1, CHUNK);
    let mut done = 0;
    while done < n {
        let count = chunk.min(n - done);
        let t0 = start + done as i64 * step;
        let t_last = t0 + count as i64 * step;
        let inspector = &mut inspectors[usize::from((done / chunk) % 3 == 2)];
        let ids: Vec<Uuid> = (0..count).map(|_| Uuid::now_v7()).collect();
        // Reports, spread over the chunk's hours.
        let reports: Vec<Op> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let (code, name, ..) = TAXONOMY[rng.range(0, TAXONOMY.len() as u64) as usize];
                let body = OpBody::Report {
                    category: code.into(),
                    description: format!("{name}：第 {} 件", done + i),
                    location: random_location(&mut rng),
                    site_id: Some(format!("s{}", rng.range(1, 41))),
                    grid_id: None,
                    suggested_unit_id: None,
                    campaign_id: None,
                    undercover: false,
                    photos: vec![photo_ref(&mut rng, PhotoKind::Before)],
                };
                inspector.op(*id, t0 + i as i64 * step, body)
            })
            .collect();
        push(state, inspector, &reports, t_last)?;
        // Registered and dispatched within the hour; a tenth are rejected at review.
        let t = t_last + HOUR;
        let mut desk_ops = Vec::new();
        let mut dispatched: Vec<(Uuid, usize)> = Vec::new();
        for id in &ids {
            if rng.range(0, 10) == 0 {
                desk_ops.push(desk.op(
                    *id,
                    t,
                    OpBody::Reject {
                        reason: "不属于巡查范围".into(),
                    },
                ));
                continue;
            }
            let unit = rng.range(0, units.len() as u64) as usize;
            desk_ops.push(desk.op(
                *id,
                t,
                OpBody::Register {
                    note: String::new(),
                },
            ));
            desk_ops.push(desk.op(
                *id,
                t,
                OpBody::Dispatch {
                    unit_id: unit_ids[unit].clone(),
                    deadline_ms: Some(t + rng.range(1, 5) as i64 * DAY),
                    note: String::new(),
                },
            ));
            dispatched.push((*id, unit));
        }
        push(state, &desk, &desk_ops, t)?;
        // Units work what is older than three weeks; the rest is still with them (and much of
        // it overdue by now).
        let worked: Vec<(Uuid, usize)> = if t + 21 * DAY < now_ms {
            dispatched
        } else {
            Vec::new()
        };
        let mut rework: Vec<(Uuid, usize)> = Vec::new();
        let mut closed_at = t;
        for round in 0..2 {
            let batch = if round == 0 { &worked } else { &rework };
            if batch.is_empty() {
                break;
            }
            let t_ack = closed_at + 2 * HOUR;
            let t_fix = t_ack + rng.range(12, 120) as i64 * HOUR;
            for (u, person) in units.iter_mut().enumerate() {
                let mine: Vec<Uuid> = batch
                    .iter()
                    .filter(|(_, x)| *x == u)
                    .map(|(id, _)| *id)
                    .collect();
                let ack: Vec<Op> = mine
                    .iter()
                    .map(|id| {
                        person.op(
                            *id,
                            t_ack,
                            OpBody::Acknowledge {
                                note: String::new(),
                            },
                        )
                    })
                    .collect();
                push(state, person, &ack, t_ack)?;
                let fix: Vec<Op> = mine
                    .iter()
                    .map(|id| {
                        let p = photo_ref(&mut rng, PhotoKind::After);
                        person.op(
                            *id,
                            t_fix,
                            OpBody::Rectify {
                                note: "已整改".into(),
                                photos: vec![p],
                            },
                        )
                    })
                    .collect();
                push(state, person, &fix, t_fix)?;
            }
            let t_check = t_fix + 6 * HOUR;
            let mut checks = Vec::new();
            let mut again = Vec::new();
            for (id, unit) in batch {
                if round == 0 && rng.range(0, 8) == 0 {
                    checks.push(desk.op(
                        *id,
                        t_check,
                        OpBody::VerifyFail {
                            reason: "仍有垃圾".into(),
                            deadline_ms: Some(t_check + 2 * DAY),
                            photos: vec![],
                        },
                    ));
                    again.push((*id, *unit));
                } else {
                    checks.push(desk.op(
                        *id,
                        t_check,
                        OpBody::VerifyPass {
                            note: String::new(),
                            photos: vec![],
                        },
                    ));
                }
            }
            push(state, &desk, &checks, t_check)?;
            rework = again;
            closed_at = t_check;
        }
        done += count;
        progress(done);
    }
    Ok(())
}
