//! Planning, publishing and closing inspection rounds (issue 17; the rules are core's `round`,
//! the site checks that arrive in pushes `site_check.rs`). Written once for the console and the
//! tests, over [`ServerStore`].

use chrono::NaiveDate;
use uuid::Uuid;
use xuncha_core::Role;
use xuncha_core::reference::ReferenceIndex;
use xuncha_core::round::{self, Refusal, Round, RoundKind, Target, Task};
use xuncha_core::scope::Reach;
use xuncha_core::sync::protocol::OpStatus;

use crate::apply::PushRules;
use crate::store::{Principal, ServerStore};
use crate::watch::system_principal;

/// What a supervisor fills in to plan a site round (明查 or 暗访).
#[derive(Debug, Clone, PartialEq)]
pub struct SitePlan {
    /// The round's name.
    pub name: String,
    /// 明查 or 暗访.
    pub kind: RoundKind,
    /// The area it covers (none: the planner's own, or the city).
    pub area_id: Option<String>,
    /// Its period.
    pub starts_on: NaiveDate,
    /// Its last day.
    pub ends_on: NaiveDate,
    /// When its tasks are due (UTC ms).
    pub due_ms: i64,
    /// The on-site distance (none: [`round::DEFAULT_MAX_DISTANCE_M`]).
    pub max_distance_m: Option<f64>,
    /// The site types to check (none: every type).
    pub site_types: Vec<String>,
    /// A random sample of this many sites (none: every site that matches).
    pub sample: Option<usize>,
    /// The teams (user ids), given the sites in turn.
    pub teams: Vec<Vec<String>>,
}

/// Plan a site round as `who` at `now_ms`: the sites of the plan's types in its area (the
/// planner's reach at most), sampled when asked, shared out among the teams. Returns the round
/// and its tasks, kept.
pub fn plan_sites(
    store: &dyn ServerStore,
    who: &Principal,
    plan: SitePlan,
    now_ms: i64,
) -> xuncha_core::Result<(Round, Vec<Task>)> {
    if plan.kind == RoundKind::Recheck {
        return Err(xuncha_core::Error::InvalidField {
            field: "kind",
            reason: "a 回头看 round re-checks cases, not sites".into(),
        });
    }
    let (_, data) = store.reference()?;
    let index = store.reference_index();
    let area_id = plan.area_id.clone().or_else(|| who.user.area_id.clone());
    let areas = area_scope(&index, &who.reach(&index), area_id.as_deref())?;
    check_teams(&data.users, &plan.teams)?;
    let id = Uuid::now_v7();
    let sites = round::select_sites(
        &data.sites,
        &plan.site_types,
        |s| {
            areas
                .as_ref()
                .is_none_or(|set| s.area_id.as_ref().is_some_and(|a| set.contains(a)))
        },
        plan.sample,
        &id.to_string(),
    );
    let teams = round::share_out(sites.len(), &plan.teams);
    let tasks: Vec<Task> = sites
        .iter()
        .zip(teams)
        .map(|(s, team)| {
            let target = Target::Site {
                site_id: s.id.clone(),
            };
            Task {
                id: round::task_id(id, &target),
                round_id: id,
                target,
                team,
                result: None,
            }
        })
        .collect();
    let round = Round {
        id,
        name: plan.name.trim().to_string(),
        kind: plan.kind,
        area_id,
        starts_on: plan.starts_on,
        ends_on: plan.ends_on,
        due_ms: plan.due_ms,
        max_distance_m: plan
            .max_distance_m
            .filter(|d| d.is_finite() && *d > 0.0)
            .unwrap_or(round::DEFAULT_MAX_DISTANCE_M),
        planned_by: who.user.id.clone(),
        planned_ms: now_ms,
        published_ms: None,
        closed_ms: None,
    };
    keep(store, who, round, tasks)
}

/// What a supervisor fills in to plan a 回头看 round: which closed cases to re-check.
#[derive(Debug, Clone, PartialEq)]
pub struct RecheckPlan {
    /// The round's name.
    pub name: String,
    /// The area whose cases are re-checked (none: the planner's own, or the city).
    pub area_id: Option<String>,
    /// Its period.
    pub starts_on: NaiveDate,
    /// Its last day.
    pub ends_on: NaiveDate,
    /// When its tasks are due (UTC ms).
    pub due_ms: i64,
    /// Cases of categories starting with this (a 大类 `01`, a category `0101`).
    pub category_prefix: Option<String>,
    /// Cases this unit held.
    pub unit: Option<String>,
    /// Cases reported from this time …
    pub reported_from_ms: Option<i64>,
    /// … and before this one.
    pub reported_before_ms: Option<i64>,
    /// A random sample of this many cases (none: every case that matches).
    pub sample: Option<usize>,
    /// The teams (user ids), given the cases in turn.
    pub teams: Vec<Vec<String>>,
}

/// Plan a 回头看 round as `who` at `now_ms`: the closed cases of the plan's filters within the
/// planner's reach (and the plan's area), sampled when asked, shared out among the teams.
pub fn plan_rechecks(
    store: &dyn ServerStore,
    who: &Principal,
    plan: RecheckPlan,
    now_ms: i64,
) -> xuncha_core::Result<(Round, Vec<Task>)> {
    let (_, data) = store.reference()?;
    let index = store.reference_index();
    let reach = who.reach(&index);
    let area_id = plan.area_id.clone().or_else(|| who.user.area_id.clone());
    let areas = area_scope(&index, &reach, area_id.as_deref())?;
    check_teams(&data.users, &plan.teams)?;
    let Some(mut filter) = crate::store::case_list::CaseFilter::for_reach(&reach) else {
        return Err(Refusal::NotAllowed(round::RoundAction::Plan).into());
    };
    filter.statuses = vec![xuncha_core::Status::Closed];
    filter.category_prefix = plan.category_prefix.clone().filter(|c| !c.is_empty());
    filter.unit = plan.unit.clone().filter(|u| !u.is_empty());
    filter.reported_from_ms = plan.reported_from_ms;
    filter.reported_before_ms = plan.reported_before_ms;
    filter.areas = areas.map(|set| {
        let mut v: Vec<String> = set.into_iter().collect();
        v.sort();
        v
    });
    let candidates = store.list_cases(&filter, 0, xuncha_core::limits::TASKS_PER_ROUND * 10)?;
    let id = Uuid::now_v7();
    let chosen = round::sample(candidates, plan.sample, &id.to_string(), |c| {
        c.id.to_string()
    });
    let teams = round::share_out(chosen.len(), &plan.teams);
    let tasks = chosen
        .iter()
        .zip(teams)
        .map(|(c, team)| {
            let target = Target::Case { case_id: c.id };
            Task {
                id: round::task_id(id, &target),
                round_id: id,
                target,
                team,
                result: None,
            }
        })
        .collect();
    keep(
        store,
        who,
        Round {
            id,
            name: plan.name.trim().to_string(),
            kind: RoundKind::Recheck,
            area_id,
            starts_on: plan.starts_on,
            ends_on: plan.ends_on,
            due_ms: plan.due_ms,
            max_distance_m: round::DEFAULT_MAX_DISTANCE_M,
            planned_by: who.user.id.clone(),
            planned_ms: now_ms,
            published_ms: None,
            closed_ms: None,
        },
        tasks,
    )
}

/// Check a planned round and keep it.
fn keep(
    store: &dyn ServerStore,
    who: &Principal,
    round: Round,
    tasks: Vec<Task>,
) -> xuncha_core::Result<(Round, Vec<Task>)> {
    round::check_plan(
        who.user.role,
        &round.name,
        round.starts_on,
        round.ends_on,
        &tasks,
    )?;
    store.plan_round(&round, &tasks)?;
    tracing::info!(round = %round.id, kind = %round.kind, tasks = tasks.len(), by = %who.user.id,
        "round planned");
    Ok((round, tasks))
}

/// The areas a round covers: `area` and everything below it (none: the whole city), which must
/// lie within the planner's reach.
fn area_scope(
    index: &ReferenceIndex,
    reach: &Reach,
    area: Option<&str>,
) -> xuncha_core::Result<Option<std::collections::HashSet<String>>> {
    let Some(a) = area else {
        return match reach {
            Reach::Everything => Ok(None),
            _ => Err(Refusal::NotAllowed(round::RoundAction::Plan).into()),
        };
    };
    if index.areas.get(a).is_none() {
        return Err(xuncha_core::Error::NotFound {
            kind: "area",
            id: a.to_string(),
        });
    }
    let inside = match reach {
        Reach::Everything => true,
        Reach::Within { areas, .. } => areas.contains(a),
        _ => false,
    };
    if !inside {
        return Err(Refusal::NotAllowed(round::RoundAction::Plan).into());
    }
    Ok(Some(index.areas.subtree(a)))
}

/// Every team member is an inspector or a supervisor of the city's directory.
fn check_teams(
    users: &[xuncha_core::reference::User],
    teams: &[Vec<String>],
) -> xuncha_core::Result<()> {
    for member in teams.iter().flatten() {
        let known = users
            .iter()
            .any(|u| &u.id == member && matches!(u.role, Role::Inspector | Role::Supervisor));
        if !known {
            return Err(Refusal::NotAnInspector(member.clone()).into());
        }
    }
    Ok(())
}

/// The cases a round's checks raised so far, with their tasks' sites: the failed indicators
/// with a category of every submitted task (ids made by core, so nothing is stored twice).
pub fn raised_cases(index: &ReferenceIndex, tasks: &[Task]) -> Vec<(Uuid, String, String)> {
    let mut out = Vec::new();
    for t in tasks {
        let (Some(result), Target::Site { site_id }) = (&t.result, &t.target) else {
            continue;
        };
        for (ind, _) in round::cases_to_raise(&index.standard, &result.indicators) {
            out.push((
                round::raised_case_id(t.id, &ind.code),
                ind.category.clone().unwrap_or_default(),
                site_id.clone(),
            ));
        }
    }
    out
}

/// A case a sealed 暗访 round holds, with the keys of its site (its area, the unit it will go
/// to), so an office counts only what is in its reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldCase {
    /// The case.
    pub id: Uuid,
    /// The site's area.
    pub area_id: Option<String>,
    /// The site's owner (the unit it is dispatched to once the round is published).
    pub unit_id: Option<String>,
}

impl HeldCase {
    /// Does `reach` hold it (core's rule, on the keys it will have)?
    pub fn in_reach(&self, reach: &xuncha_core::scope::Reach, inspector: &str) -> bool {
        reach.sees(xuncha_core::scope::CaseKeys {
            unit_id: self.unit_id.as_deref(),
            reporter_id: inspector,
            area_id: self.area_id.as_deref(),
        })
    }
}

/// The cases sealed 暗访 rounds hold from the units (raised, waiting for the round to be
/// published): the office's queue leaves them out, since nobody may dispatch them yet. One
/// indexed read of the sealed rounds and their tasks.
pub fn held_cases(store: &dyn ServerStore) -> xuncha_core::Result<Vec<HeldCase>> {
    let index = store.reference_index();
    let mut out = Vec::new();
    for (_, tasks) in store.sealed_rounds()? {
        for (id, _, site_id) in raised_cases(&index, &tasks) {
            let site = index.site(&site_id);
            out.push(HeldCase {
                id,
                area_id: site.and_then(|s| s.area_id.clone()),
                unit_id: site.and_then(|s| s.owner_unit_id.clone()),
            });
        }
    }
    Ok(out)
}

/// Publish a sealed 暗访 round as `who`: it is unsealed and every case its checks raised that
/// is still waiting is dispatched to its site's owner at once. Publishing a round published
/// before dispatches what is still waiting (after a crash between the two) and refuses
/// nothing else. Returns how many cases were dispatched.
pub fn publish(
    store: &dyn ServerStore,
    who: &Principal,
    round_id: Uuid,
    now_ms: i64,
    rules: &PushRules,
) -> xuncha_core::Result<usize> {
    let Some((mut round, tasks)) = store.round(round_id)? else {
        return Err(xuncha_core::Error::NotFound {
            kind: "round",
            id: round_id.to_string(),
        });
    };
    if round.sealed() {
        round.check_publish(who.user.role)?;
        round.published_ms = Some(now_ms);
        store.save_round(&round)?;
        tracing::info!(round = %round.id, by = %who.user.id, "round published");
    } else if !round::may(who.user.role, round::RoundAction::Publish) {
        return Err(Refusal::NotAllowed(round::RoundAction::Publish).into());
    }
    let index = store.reference_index();
    let mut ops = Vec::new();
    for (case_id, category, site_id) in raised_cases(&index, &tasks) {
        let waiting = store
            .case(case_id)?
            .is_some_and(|c| c.status == xuncha_core::Status::Registered && c.unit_id.is_none());
        if let (true, Some(site)) = (waiting, index.site(&site_id))
            && let Some(op) =
                crate::round_checks::dispatch_op(case_id, &category, site, &index, now_ms)
        {
            ops.push(op);
        }
    }
    let mut dispatched = 0;
    for chunk in ops.chunks(xuncha_core::limits::OPS_PER_PUSH) {
        for r in store.push(&system_principal(), chunk, now_ms, rules)? {
            match r.status {
                OpStatus::Accepted => dispatched += 1,
                _ => tracing::warn!(case = %r.case_id, code = ?r.code, reason = ?r.reason,
                    "a published round's case was not dispatched"),
            }
        }
    }
    Ok(dispatched)
}

/// Close a round as `who`: no more submissions; tasks left open become 未检查.
pub fn close(
    store: &dyn ServerStore,
    who: &Principal,
    round_id: Uuid,
    now_ms: i64,
) -> xuncha_core::Result<Round> {
    let Some((mut round, _)) = store.round(round_id)? else {
        return Err(xuncha_core::Error::NotFound {
            kind: "round",
            id: round_id.to_string(),
        });
    };
    round.check_close(who.user.role)?;
    round.closed_ms = Some(now_ms);
    store.save_round(&round)?;
    tracing::info!(round = %round.id, by = %who.user.id, "round closed");
    Ok(round)
}
