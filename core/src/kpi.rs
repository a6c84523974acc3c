//! How units are measured (DOMAIN.md "How units are measured"): the published ratios per unit
//! for a period, deduction points with configurable weights, and the ranking. Computed from
//! cases and their timelines, so the console, the bulletin and any export agree.
//!
//! For a period `[from, to)` and a unit (the case's responsible unit):
//! - **due**: cases whose deadline falls in the period;
//! - **closed**: due cases now closed; **closed on time**: closed cases whose last
//!   rectification reached the server by the deadline (the unit's part; verification is not);
//! - **parked**: due cases now parked;
//! - 结案率 = closed / due; 按期结案率 = closed on time / (due − parked);
//!   返工率 = closed cases that were ever sent back / closed; 延期率 = dispatched cases with an
//!   extension granted / cases dispatched to the unit in the period;
//! - mean time to rectify: from the (last) dispatch to the last rectification, in hours;
//! - **overdue**: due cases the unit still holds unrectified (dispatched, in progress or asking
//!   to hand it back: [`Status::DEADLINE_RUNNING`]) (逾期未整改);
//! - deductions: each failed check (`verify_fail`) in the period costs `per_send_back`; a case
//!   failing three times or more costs `per_triple_fail` more; each overdue case costs
//!   `per_overdue` (unrectified problems weigh several times a send-back); each case dispatched
//!   to the unit in the period costs by who found it ([`Finder`]: the city's office
//!   `per_found_by_city`, a district's `per_found_by_district`, a street's
//!   `per_found_by_street`, a citizen nothing);
//! - the composite score (综合得分, 100 points, [`Weights`] configurable per city):
//!   `close_rate × 结案率 + on_time_rate × 按期结案率 +
//!   (no_rework × (1 − 返工率) + no_extension × (1 − 延期率)) × 结案率 − deductions`,
//!   at least 0. The quality points count in proportion to what was closed; a rate with
//!   nothing to measure counts as 100 % (结案率, 按期结案率) or 0 (返工率, 延期率). So a unit
//!   that closed nothing of what fell due scores 0, whatever the weights, and never ranks above
//!   one that closed everything on time (a tie at 0 goes to the higher 按期结案率);
//! - the ranking lists units with cases due first, then by score, then 按期结案率, then unit id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Case, Event};
use crate::workflow::{Action, Status};

/// The composite score's weights (DOMAIN.md "How units are measured"), configurable per city
/// in the reference data (`scoring`); the rate points add up to 100 by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Weights {
    /// Points for a 结案率 of 100 %.
    pub close_rate: f64,
    /// Points for a 按期结案率 of 100 %.
    pub on_time_rate: f64,
    /// Points for a 返工率 of 0.
    pub no_rework: f64,
    /// Points for a 延期率 of 0.
    pub no_extension: f64,
    /// Deducted per case sent back after a failed check.
    pub per_send_back: f64,
    /// Deducted once more per case failing a check three times or more.
    pub per_triple_fail: f64,
    /// Deducted per due case the unit still holds unrectified (逾期未整改).
    pub per_overdue: f64,
    /// Deducted each time a supervisor urged (催办) the unit on a case in the period.
    pub per_urge: f64,
    /// Deducted each time a case the unit holds was escalated (督办) in the period.
    pub per_escalation: f64,
    /// Deducted each time a closed case of the unit was reopened (复发: found again on a 回头看,
    /// or reopened by a supervisor) in the period.
    pub per_recurrence: f64,
    /// Deducted per case dispatched to the unit in the period that the city's own people found
    /// (an inspector or supervisor of the city level, or of no area).
    pub per_found_by_city: f64,
    /// The same, for a problem a district's (区/县) people found.
    pub per_found_by_district: f64,
    /// The same, for a problem found at a street (街道/乡镇) or below.
    pub per_found_by_street: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            close_rate: 30.0,
            on_time_rate: 40.0,
            no_rework: 15.0,
            no_extension: 15.0,
            per_send_back: 0.2,
            per_triple_fail: 0.5,
            per_overdue: 1.0,
            per_urge: 0.1,
            per_escalation: 0.5,
            per_recurrence: 1.0,
            per_found_by_city: 0.3,
            per_found_by_district: 0.2,
            per_found_by_street: 0.1,
        }
    }
}

impl Weights {
    /// Every weight a finite number, none negative.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let all = [
            self.close_rate,
            self.on_time_rate,
            self.no_rework,
            self.no_extension,
            self.per_send_back,
            self.per_triple_fail,
            self.per_overdue,
            self.per_urge,
            self.per_escalation,
            self.per_recurrence,
            self.per_found_by_city,
            self.per_found_by_district,
            self.per_found_by_street,
        ];
        if all
            .iter()
            .all(|w| w.is_finite() && *w >= 0.0 && *w <= 1_000.0)
        {
            Ok(())
        } else {
            Err("scoring weights must be numbers from 0 to 1000".into())
        }
    }

    /// The formula with these weights, as the ranking page and the bulletin state it (口径).
    pub fn formula(&self, lang: crate::Lang) -> String {
        let n = |x: f64| {
            let t = format!("{x:.2}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        match lang {
            crate::Lang::ZhCn => format!(
                "综合得分 = 结案率×{} + 按期结案率×{} + [(1−返工率)×{} + (1−延期率)×{}]×结案率 − 扣分（每次返工 {}，三次及以上返工的案件再扣 {}，每件逾期未整改 {}，每次被催办 {}，每次被督办 {}，每次复发 {}；本期派遣的问题按发现层级每件扣 市级 {}、区级 {}、街道级 {}，市民随手拍不扣），最低 0 分；无到期案件时结案率、按期结案率记 100%。排名先列本期有到期案件的单位，再依次按综合得分、按期结案率。",
                n(self.close_rate),
                n(self.on_time_rate),
                n(self.no_rework),
                n(self.no_extension),
                n(self.per_send_back),
                n(self.per_triple_fail),
                n(self.per_overdue),
                n(self.per_urge),
                n(self.per_escalation),
                n(self.per_recurrence),
                n(self.per_found_by_city),
                n(self.per_found_by_district),
                n(self.per_found_by_street)
            ),
            crate::Lang::En => format!(
                "Score = close rate × {} + on-time rate × {} + [(1 − rework rate) × {} + (1 − extension rate) × {}] × close rate − deductions ({} per send-back, {} more per case failing three times, {} per case overdue and unrectified, {} per urge, {} per escalation, {} per recurrence; per case dispatched in the period by who found it: {} city, {} district, {} street, none for a citizen's report), at least 0; with nothing due, the close and on-time rates count as 100 %. Units with cases due come first, then by score, then on-time rate.",
                n(self.close_rate),
                n(self.on_time_rate),
                n(self.no_rework),
                n(self.no_extension),
                n(self.per_send_back),
                n(self.per_triple_fail),
                n(self.per_overdue),
                n(self.per_urge),
                n(self.per_escalation),
                n(self.per_recurrence),
                n(self.per_found_by_city),
                n(self.per_found_by_district),
                n(self.per_found_by_street)
            ),
        }
    }
}

/// One unit's figures for a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitScore {
    /// The unit.
    pub unit_id: String,
    /// Cases due in the period.
    pub due: u32,
    /// Of those, closed.
    pub closed: u32,
    /// Of those, closed with the rectification in time.
    pub closed_on_time: u32,
    /// Due cases parked.
    pub parked: u32,
    /// Closed cases that were sent back at least once.
    pub reworked: u32,
    /// Cases dispatched to the unit in the period.
    pub dispatched: u32,
    /// Of those, with an extension granted.
    pub extended: u32,
    /// Mean hours from dispatch to rectification (None without rectifications).
    pub mean_hours_to_rectify: Option<f64>,
    /// Due cases the unit still holds unrectified (逾期未整改).
    pub overdue: u32,
    /// Times a supervisor urged the unit (被催办次数) in the period, on the cases it holds.
    pub urged: u32,
    /// Times a case the unit holds was escalated (被督办次数) in the period.
    pub escalated: u32,
    /// Times a closed case of the unit was reopened (复发) in the period.
    pub recurred: u32,
    /// Deduction points.
    pub deductions: f64,
    /// The composite score (综合得分, see the module).
    pub score: f64,
}

fn ratio(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

impl UnitScore {
    /// 结案率.
    pub fn close_rate(&self) -> Option<f64> {
        ratio(self.closed, self.due)
    }
    /// 按期结案率.
    pub fn on_time_rate(&self) -> Option<f64> {
        ratio(self.closed_on_time, self.due.saturating_sub(self.parked))
    }
    /// 返工率.
    pub fn rework_rate(&self) -> Option<f64> {
        ratio(self.reworked, self.closed)
    }
    /// 延期率.
    pub fn extension_rate(&self) -> Option<f64> {
        ratio(self.extended, self.dispatched)
    }
    /// The composite score with `w` (see the module); `rank_facts` keeps it in `score`.
    pub fn composite(&self, w: &Weights) -> f64 {
        let closed = self.close_rate().unwrap_or(1.0);
        let quality = w.no_rework * (1.0 - self.rework_rate().unwrap_or(0.0))
            + w.no_extension * (1.0 - self.extension_rate().unwrap_or(0.0));
        let points = w.close_rate * closed
            + w.on_time_rate * self.on_time_rate().unwrap_or(1.0)
            + quality * closed;
        (points - self.deductions).max(0.0)
    }
}

/// When an event took effect: the server's receipt time, or the device's for local events.
fn at(e: &Event) -> i64 {
    e.server_time_ms.unwrap_or(e.op.device_time_ms)
}

/// The actions the unit figures are made of.
pub const KPI_ACTIONS: [Action; 6] = [
    Action::Dispatch,
    Action::Rectify,
    Action::VerifyFail,
    Action::Urge,
    Action::Escalate,
    Action::Reopen,
];

/// Who found a problem, by the level of the area the reporter works for (DOMAIN.md: a problem
/// the city's campaign office found weighs more against the unit than one a district or a
/// street found). A person without an area works for the city; a citizen's report (市民随手拍)
/// costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finder {
    /// The city's own people (the tree's root, or no area).
    #[default]
    City,
    /// A district's (区/县).
    District,
    /// A street's (街道/乡镇) or a level below.
    Street,
    /// A citizen, through Open311.
    Citizen,
}

impl Finder {
    /// The finder of a case reported by `reporter_id`, whose account names `reporter_area`
    /// (an area unknown to `tree` counts as the city's).
    pub fn of(
        reporter_id: &str,
        reporter_area: Option<&str>,
        tree: &crate::area::AreaTree,
    ) -> Finder {
        if reporter_id == crate::scope::CITIZEN_REPORTER {
            return Finder::Citizen;
        }
        match reporter_area.and_then(|a| tree.depth(a)) {
            None | Some(0) => Finder::City,
            Some(1) => Finder::District,
            Some(_) => Finder::Street,
        }
    }

    /// What a case so found costs its unit when dispatched.
    pub fn weight(self, w: &Weights) -> f64 {
        match self {
            Finder::City => w.per_found_by_city,
            Finder::District => w.per_found_by_district,
            Finder::Street => w.per_found_by_street,
            Finder::Citizen => 0.0,
        }
    }
}

/// One of a case's [`KPI_ACTIONS`] and when it took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Dispatch, rectify, verify_fail, urge or escalate.
    pub action: Action,
    /// When it took effect (server receipt).
    pub at_ms: i64,
}

/// What the unit figures need of one case: its state now, and its dispatches, rectifications
/// and failed checks in feed order. A store may read these from columns and one scan of the
/// feed, instead of every case and timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    /// Responsible unit.
    pub unit_id: Option<String>,
    /// The area of its place (a cut of the ranking by area, and its comparison of areas).
    pub area_id: Option<String>,
    /// Status now.
    pub status: Status,
    /// Deadline now.
    pub deadline_ms: Option<i64>,
    /// Extensions granted.
    pub extension_count: u32,
    /// Who found it.
    pub found_by: Finder,
    /// The case's [`KPI_ACTIONS`], in feed order.
    pub steps: Vec<Step>,
}

impl CaseFacts {
    /// The facts of a case with its timeline in feed order, found by `found_by`.
    pub fn of(case: &Case, timeline: &[Event], found_by: Finder) -> CaseFacts {
        CaseFacts {
            unit_id: case.unit_id.clone(),
            area_id: case.area_id.clone(),
            status: case.status,
            deadline_ms: case.deadline_ms,
            extension_count: case.extension_count,
            found_by,
            steps: timeline
                .iter()
                .filter(|e| KPI_ACTIONS.contains(&e.op.body.action()))
                .map(|e| Step {
                    action: e.op.body.action(),
                    at_ms: at(e),
                })
                .collect(),
        }
    }

    /// True if the case counts in `[from_ms, to_ms)`: it has a unit and its deadline or one of
    /// its steps falls in the period. Any other case adds nothing but its unit's (empty) row.
    pub fn counts_in(&self, from_ms: i64, to_ms: i64) -> bool {
        let in_period = |t: i64| t >= from_ms && t < to_ms;
        self.unit_id.is_some()
            && (self.deadline_ms.is_some_and(in_period)
                || self.steps.iter().any(|s| in_period(s.at_ms)))
    }
}

/// Figures per unit for `[from_ms, to_ms)`, ranked (best first). `units` lists units to show
/// even without cases; `cases` pairs each case with its timeline in feed order; `found_by`
/// says who found a case.
pub fn rank_units(
    units: &[String],
    cases: &[(Case, Vec<Event>)],
    found_by: &dyn Fn(&Case) -> Finder,
    from_ms: i64,
    to_ms: i64,
    weights: &Weights,
) -> Vec<UnitScore> {
    let facts: Vec<CaseFacts> = cases
        .iter()
        .map(|(c, t)| CaseFacts::of(c, t, found_by(c)))
        .collect();
    rank_facts(units, &facts, from_ms, to_ms, weights)
}

/// [`rank_units`] from the cases' facts.
pub fn rank_facts(
    units: &[String],
    cases: &[CaseFacts],
    from_ms: i64,
    to_ms: i64,
    weights: &Weights,
) -> Vec<UnitScore> {
    let in_period = |t: i64| t >= from_ms && t < to_ms;
    let mut by_unit: BTreeMap<String, UnitScore> = units
        .iter()
        .map(|u| {
            (
                u.clone(),
                UnitScore {
                    unit_id: u.clone(),
                    ..UnitScore::default()
                },
            )
        })
        .collect();
    let mut hours: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    for case in cases {
        let Some(unit) = &case.unit_id else { continue };
        let s = by_unit.entry(unit.clone()).or_insert_with(|| UnitScore {
            unit_id: unit.clone(),
            ..UnitScore::default()
        });
        let last = |a: Action| {
            case.steps
                .iter()
                .rev()
                .find(|e| e.action == a)
                .map(|e| e.at_ms)
        };
        let fails = case
            .steps
            .iter()
            .filter(|e| e.action == Action::VerifyFail)
            .count() as u32;
        let dispatch = last(Action::Dispatch);
        let rectify = last(Action::Rectify);
        if dispatch.is_some_and(in_period) {
            s.dispatched += 1;
            if case.extension_count > 0 {
                s.extended += 1;
            }
            s.deductions += case.found_by.weight(weights);
        }
        if let (Some(d), Some(r)) = (dispatch, rectify)
            && r >= d
            && in_period(r)
        {
            let h = hours.entry(unit.clone()).or_default();
            h.0 += (r - d) as f64 / 3_600_000.0;
            h.1 += 1;
        }
        if let Some(deadline) = case.deadline_ms
            && in_period(deadline)
        {
            s.due += 1;
            match case.status {
                Status::Closed => {
                    s.closed += 1;
                    if rectify.is_some_and(|r| r <= deadline) {
                        s.closed_on_time += 1;
                    }
                    if fails > 0 {
                        s.reworked += 1;
                    }
                }
                Status::Parked => s.parked += 1,
                _ => {}
            }
            if case.status.deadline_running() {
                s.overdue += 1;
                s.deductions += weights.per_overdue;
            }
        }
        // Deductions count the failed checks made in the period.
        let fails_in_period = case
            .steps
            .iter()
            .filter(|e| e.action == Action::VerifyFail && in_period(e.at_ms))
            .count() as f64;
        s.deductions += fails_in_period * weights.per_send_back;
        let urged = case
            .steps
            .iter()
            .filter(|e| e.action == Action::Urge && in_period(e.at_ms))
            .count() as u32;
        s.urged += urged;
        s.deductions += f64::from(urged) * weights.per_urge;
        let escalated = case
            .steps
            .iter()
            .filter(|e| e.action == Action::Escalate && in_period(e.at_ms))
            .count() as u32;
        s.escalated += escalated;
        s.deductions += f64::from(escalated) * weights.per_escalation;
        let recurred = case
            .steps
            .iter()
            .filter(|e| e.action == Action::Reopen && in_period(e.at_ms))
            .count() as u32;
        s.recurred += recurred;
        s.deductions += f64::from(recurred) * weights.per_recurrence;
        if fails >= 3 && fails_in_period > 0.0 {
            s.deductions += weights.per_triple_fail;
        }
    }
    for (unit, (sum, n)) in hours {
        if let Some(s) = by_unit.get_mut(&unit) {
            s.mean_hours_to_rectify = Some(sum / n as f64);
        }
    }
    let mut out: Vec<UnitScore> = by_unit.into_values().collect();
    for s in &mut out {
        s.score = s.composite(weights);
    }
    out.sort_by(|a, b| {
        (b.due > 0)
            .cmp(&(a.due > 0))
            .then(b.score.total_cmp(&a.score))
            .then(
                b.on_time_rate()
                    .unwrap_or(-1.0)
                    .total_cmp(&a.on_time_rate().unwrap_or(-1.0)),
            )
            .then(a.unit_id.cmp(&b.unit_id))
    });
    out
}

/// One day of the console's charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFlow {
    /// Start of the day (UTC ms of local midnight).
    pub day_start_ms: i64,
    /// Cases reported that day (by server receipt, else device time).
    pub new: u32,
    /// Checks passed (`verify_pass`) that day: closures.
    pub closed: u32,
    /// Cases overdue at the end of the day: the deadline had passed and the unit still had it
    /// (status then was dispatched, in progress or return requested), judged against the case's
    /// current deadline.
    pub overdue: u32,
}

/// What the daily charts need of one case: when it arrived, its deadline, and each of its
/// events as (when it took effect, action, status after it), in feed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFacts {
    /// Responsible unit.
    pub unit_id: Option<String>,
    /// The area of its place.
    pub area_id: Option<String>,
    /// Server receipt of the report (device time when not yet received).
    pub received_ms: i64,
    /// Deadline now.
    pub deadline_ms: Option<i64>,
    /// Every event: when, what, and the status it left the case in.
    pub events: Vec<(i64, Action, Status)>,
}

impl DayFacts {
    /// The facts of a case with its timeline in feed order.
    pub fn of(case: &Case, timeline: &[Event]) -> DayFacts {
        DayFacts {
            unit_id: case.unit_id.clone(),
            area_id: case.area_id.clone(),
            received_ms: case.server_received_at_ms.unwrap_or(case.reported_at_ms),
            deadline_ms: case.deadline_ms,
            events: timeline
                .iter()
                .map(|e| (at(e), e.op.body.action(), e.to_status))
                .collect(),
        }
    }

    /// The status after the events that took effect before `end_ms`; `None` if the case did
    /// not exist yet.
    fn status_at(&self, end_ms: i64) -> Option<Status> {
        self.events
            .iter()
            .rev()
            .find(|(t, ..)| *t < end_ms)
            .map(|(_, _, s)| *s)
    }
}

/// New, closed and overdue cases for each of `days` days starting at `from_ms` (each
/// `day_ms` long; 86,400,000 for calendar days). Today counts as far as `now_ms`: nothing is
/// overdue in the future.
pub fn daily_flow(
    cases: &[(Case, Vec<Event>)],
    from_ms: i64,
    days: usize,
    day_ms: i64,
    now_ms: i64,
) -> Vec<DayFlow> {
    let facts: Vec<DayFacts> = cases.iter().map(|(c, t)| DayFacts::of(c, t)).collect();
    daily_flow_facts(&facts, from_ms, days, day_ms, now_ms)
}

/// True if a case can count on some day of `[from_ms, to_ms)`: reported, closed or overdue
/// then. A store loads only these: it arrived in the window, or it has a deadline before the
/// window's end and was not finished with before the window began (it is still with its unit,
/// or something happened to it since).
pub fn counts_in_days(f: &DayFacts, from_ms: i64, to_ms: i64) -> bool {
    (f.received_ms >= from_ms && f.received_ms < to_ms)
        || f.events.iter().any(|(t, ..)| *t >= from_ms && *t < to_ms)
        || (f.deadline_ms.is_some_and(|d| d < to_ms)
            && f.events
                .last()
                .is_some_and(|(_, _, s)| s.deadline_running()))
}

/// [`daily_flow`] from the cases' facts.
pub fn daily_flow_facts(
    cases: &[DayFacts],
    from_ms: i64,
    days: usize,
    day_ms: i64,
    now_ms: i64,
) -> Vec<DayFlow> {
    let mut out: Vec<DayFlow> = (0..days)
        .map(|i| DayFlow {
            day_start_ms: from_ms + i as i64 * day_ms,
            ..DayFlow::default()
        })
        .collect();
    let day_of = |t: i64| {
        (t >= from_ms && t < from_ms + days as i64 * day_ms)
            .then(|| ((t - from_ms) / day_ms) as usize)
    };
    for case in cases {
        if let Some(d) = day_of(case.received_ms) {
            out[d].new += 1;
        }
        for (t, action, _) in &case.events {
            if *action == Action::VerifyPass
                && let Some(d) = day_of(*t)
            {
                out[d].closed += 1;
            }
        }
        let Some(deadline) = case.deadline_ms else {
            continue;
        };
        for day in out.iter_mut() {
            let end = (day.day_start_ms + day_ms).min(now_ms);
            if end > day.day_start_ms
                && deadline < end
                && case.status_at(end).is_some_and(Status::deadline_running)
            {
                day.overdue += 1;
            }
        }
    }
    out
}

/// Site coverage for `[from_ms, to_ms)`: how many of `site_ids` had at least one case reported
/// at them in the period (a report is the trace an inspection leaves), and how many sites there
/// are.
pub fn site_coverage<'a>(
    site_ids: &[String],
    cases: impl IntoIterator<Item = &'a Case>,
    from_ms: i64,
    to_ms: i64,
) -> (usize, usize) {
    let seen: Vec<&str> = cases
        .into_iter()
        .filter(|c| (from_ms..to_ms).contains(&c.reported_at_ms))
        .filter_map(|c| c.site_id.as_deref())
        .collect();
    coverage_of(site_ids, &seen)
}

/// [`site_coverage`] from the sites reported at in the period.
pub fn coverage_of(site_ids: &[String], reported: &[&str]) -> (usize, usize) {
    let seen: std::collections::BTreeSet<&str> = reported.iter().copied().collect();
    let inspected = site_ids
        .iter()
        .filter(|s| seen.contains(s.as_str()))
        .count();
    (inspected, site_ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::{ApplyContext, apply};
    use crate::hlc::Hlc;
    use crate::model::{Actor, Location, Op, OpBody};
    use crate::workflow::Role;

    const H: i64 = 3_600_000;

    /// Build a case by folding `steps` (action body, server time) through the real fold.
    fn case(steps: &[(OpBody, Role, Option<&str>, i64)]) -> (Case, Vec<Event>) {
        let id = uuid::Uuid::now_v7();
        let mut current: Option<Case> = None;
        let mut timeline = Vec::new();
        for (i, (body, role, unit, t)) in steps.iter().enumerate() {
            let op = Op {
                id: uuid::Uuid::now_v7(),
                case_id: id,
                device_id: "d".into(),
                actor: Actor {
                    user_id: format!("{role}"),
                    role: *role,
                    unit_id: unit.map(str::to_string),
                },
                hlc: Hlc {
                    wall_ms: *t as u64,
                    counter: i as u32,
                    node: 1,
                },
                device_time_ms: *t,
                body: body.clone(),
            };
            let ctx = ApplyContext {
                server_time_ms: Some(*t),
                case_no: None,
                probable_duplicates: vec![],
                deadline_horizon_ms: None,
            };
            let (next, ev) = apply(current.as_ref(), &op, &ctx)
                .unwrap_or_else(|e| panic!("step {i} {body:?}: {e}"));
            current = Some(next);
            timeline.push(ev);
        }
        (current.expect("a case"), timeline)
    }

    fn report() -> (OpBody, Role, Option<&'static str>, i64) {
        (
            OpBody::Report {
                category: "0101".into(),
                description: String::new(),
                location: Location {
                    lat: 30.0,
                    lon: 120.0,
                    accuracy_m: None,
                    address: String::new(),
                },
                site_id: None,
                grid_id: None,
                suggested_unit_id: None,
                campaign_id: None,
                undercover: false,
                photos: vec![],
            },
            Role::Inspector,
            None,
            0,
        )
    }

    fn sup(body: OpBody, t: i64) -> (OpBody, Role, Option<&'static str>, i64) {
        (body, Role::Supervisor, None, t)
    }

    fn unit(body: OpBody, t: i64) -> (OpBody, Role, Option<&'static str>, i64) {
        (body, Role::UnitStaff, Some("u1"), t)
    }

    fn photo() -> Vec<crate::model::PhotoRef> {
        vec![crate::model::PhotoRef {
            sha256: "a".repeat(64),
            kind: crate::model::PhotoKind::After,
            mime: "image/jpeg".into(),
            size: 1,
            captured_at_ms: None,
            location: None,
        }]
    }

    /// Reported, registered at 1 h and dispatched to u1 at 2 h with `deadline`.
    fn dispatched(deadline: i64) -> Vec<(OpBody, Role, Option<&'static str>, i64)> {
        vec![
            report(),
            sup(
                OpBody::Register {
                    note: String::new(),
                },
                H,
            ),
            sup(
                OpBody::Dispatch {
                    unit_id: "u1".into(),
                    deadline_ms: Some(deadline),
                    note: String::new(),
                },
                2 * H,
            ),
        ]
    }

    fn lifecycle(rectify_at: i64, deadline: i64, fails: usize) -> (Case, Vec<Event>) {
        let mut steps = dispatched(deadline);
        steps.push(unit(
            OpBody::Acknowledge {
                note: String::new(),
            },
            3 * H,
        ));
        let mut t = rectify_at;
        for _ in 0..fails {
            steps.push(unit(
                OpBody::Rectify {
                    note: String::new(),
                    photos: photo(),
                },
                t,
            ));
            steps.push(sup(
                OpBody::VerifyFail {
                    reason: "不到位".into(),
                    deadline_ms: Some(deadline),
                    photos: vec![],
                },
                t + 1,
            ));
            steps.push(unit(
                OpBody::Acknowledge {
                    note: String::new(),
                },
                t + 2,
            ));
            t += 3;
        }
        steps.push(unit(
            OpBody::Rectify {
                note: String::new(),
                photos: photo(),
            },
            t,
        ));
        steps.push(sup(
            OpBody::VerifyPass {
                note: String::new(),
                photos: vec![],
            },
            t + H,
        ));
        case(&steps)
    }

    /// The ranking as if each case were a citizen's report: nothing weighed by who found it
    /// (that has its own test).
    fn rank(
        units: &[String],
        cases: &[(Case, Vec<Event>)],
        from_ms: i64,
        to_ms: i64,
        w: &Weights,
    ) -> Vec<UnitScore> {
        rank_units(units, cases, &|_| Finder::Citizen, from_ms, to_ms, w)
    }

    #[test]
    fn a_dispatched_case_costs_its_unit_by_the_level_of_who_found_it() {
        use crate::area::{Area, AreaTree};
        let area = |id: &str, parent: Option<&str>| Area {
            id: id.into(),
            name: id.into(),
            name_en: String::new(),
            parent_id: parent.map(String::from),
        };
        let tree = AreaTree::new(&[
            area("city", None),
            area("d1", Some("city")),
            area("s1", Some("d1")),
            area("c1", Some("s1")),
        ]);
        assert_eq!(Finder::of("x", None, &tree), Finder::City);
        assert_eq!(Finder::of("x", Some("city"), &tree), Finder::City);
        assert_eq!(Finder::of("x", Some("gone"), &tree), Finder::City);
        assert_eq!(Finder::of("x", Some("d1"), &tree), Finder::District);
        assert_eq!(Finder::of("x", Some("s1"), &tree), Finder::Street);
        assert_eq!(Finder::of("x", Some("c1"), &tree), Finder::Street);
        assert_eq!(
            Finder::of(crate::scope::CITIZEN_REPORTER, Some("d1"), &tree),
            Finder::Citizen
        );
        // DOMAIN.md's example: −0.3 by the city's office, −0.2 by a district, −0.1 lower.
        let day = 24 * H;
        let w = Weights::default();
        let deducted = |finder: Finder, from: i64, to: i64| {
            let cases = vec![case(&dispatched(10 * day))];
            rank_units(&[], &cases, &|_| finder, from, to, &w)[0].deductions
        };
        assert!((deducted(Finder::City, 0, day) - 0.3).abs() < 1e-9);
        assert!((deducted(Finder::District, 0, day) - 0.2).abs() < 1e-9);
        assert!((deducted(Finder::Street, 0, day) - 0.1).abs() < 1e-9);
        assert_eq!(deducted(Finder::Citizen, 0, day), 0.0);
        assert_eq!(
            deducted(Finder::City, day, 2 * day),
            0.0,
            "dispatched before"
        );
        assert!(
            w.formula(crate::Lang::ZhCn)
                .contains("按发现层级每件扣 市级 0.3、区级 0.2、街道级 0.1"),
            "{}",
            w.formula(crate::Lang::ZhCn)
        );
    }

    #[test]
    fn ratios_follow_the_published_definitions() {
        let day = 24 * H;
        let cases = vec![
            lifecycle(5 * H, day, 0),   // closed on time
            lifecycle(2 * day, day, 0), // closed late
            lifecycle(6 * H, day, 3),   // closed on time after three failed checks
            case(&[
                report(),
                sup(
                    OpBody::Register {
                        note: String::new(),
                    },
                    H,
                ),
            ]), // no unit
        ];
        let units = vec!["u1".to_string(), "u2".to_string()];
        let ranked = rank(&units, &cases, 0, 3 * day, &Weights::default());
        let u1 = ranked.iter().find(|s| s.unit_id == "u1").expect("u1");
        assert_eq!((u1.due, u1.closed, u1.closed_on_time), (3, 3, 2));
        assert_eq!((u1.reworked, u1.dispatched, u1.parked), (1, 3, 0));
        assert_eq!(u1.close_rate(), Some(1.0));
        assert!((u1.on_time_rate().expect("rate") - 2.0 / 3.0).abs() < 1e-9);
        assert!((u1.rework_rate().expect("rate") - 1.0 / 3.0).abs() < 1e-9);
        assert!((u1.deductions - (3.0 * 0.2 + 0.5)).abs() < 1e-9);
        assert!(u1.mean_hours_to_rectify.expect("hours") > 0.0);
        // A unit with no cases is listed, with no ratios, after those with figures.
        let u2 = ranked.last().expect("u2");
        assert_eq!(
            (u2.unit_id.as_str(), u2.due, u2.on_time_rate()),
            ("u2", 0, None)
        );
    }

    #[test]
    fn the_composite_ranks_a_unit_that_fixed_nothing_below_one_that_fixed_everything() {
        let day = 24 * H;
        // u1 closed all three on time, one after a failed check.
        let mut cases = vec![
            lifecycle(5 * H, day, 0),
            lifecycle(5 * H, day, 1),
            lifecycle(5 * H, day, 0),
        ];
        // u2 holds two cases past their deadline, untouched.
        for _ in 0..2 {
            let (mut c, t) = case(&[
                report(),
                sup(
                    OpBody::Register {
                        note: String::new(),
                    },
                    H,
                ),
                sup(
                    OpBody::Dispatch {
                        unit_id: "u2".into(),
                        deadline_ms: Some(day),
                        note: String::new(),
                    },
                    2 * H,
                ),
            ]);
            c.deadline_ms = Some(day);
            cases.push((c, t));
        }
        let units = vec!["u1".to_string(), "u2".to_string()];
        let w = Weights::default();
        let ranked = rank(&units, &cases, 0, 3 * day, &w);
        let (u1, u2) = (&ranked[0], &ranked[1]);
        assert_eq!((u1.unit_id.as_str(), u2.unit_id.as_str()), ("u1", "u2"));
        // u1: 30 + 40 + (15 × (1 − 1/3) + 15) × 1 − 0.2 for the send-back.
        assert!(
            (u1.score - (30.0 + 40.0 + 10.0 + 15.0 - 0.2)).abs() < 1e-9,
            "{u1:?}"
        );
        // u2: nothing closed, so no points; 2 overdue.
        assert_eq!((u2.due, u2.closed, u2.overdue), (2, 0, 2));
        assert_eq!(u2.score, 0.0, "{u2:?}");
        // However heavy the deductions, never above: at worst both are 0, and then the
        // on-time rate decides.
        let harsh = Weights {
            per_send_back: 1_000.0,
            ..Weights::default()
        };
        let ranked = rank(&units, &cases, 0, 3 * day, &harsh);
        assert_eq!(ranked[0].unit_id, "u1");
        assert!(
            w.formula(crate::Lang::ZhCn).contains("按期结案率×40"),
            "{}",
            w.formula(crate::Lang::ZhCn)
        );
        assert!(w.formula(crate::Lang::En).contains("on-time rate × 40"));
    }

    #[test]
    fn the_period_decides_what_is_due_and_what_is_deducted() {
        let day = 24 * H;
        let cases = vec![lifecycle(5 * H, 10 * day, 1)];
        let before = rank(&[], &cases, 0, day, &Weights::default());
        assert_eq!(before[0].due, 0, "deadline after the period");
        assert!(
            (before[0].deductions - 0.2).abs() < 1e-9,
            "the failed check was in it"
        );
        let later = rank(&[], &cases, 9 * day, 11 * day, &Weights::default());
        assert_eq!((later[0].due, later[0].closed_on_time), (1, 1));
        assert_eq!(later[0].deductions, 0.0);
    }

    #[test]
    fn each_urge_in_the_period_counts_against_the_unit_and_is_deducted() {
        let day = 24 * H;
        let urge = |t: i64| {
            sup(
                OpBody::Urge {
                    reason: "请今日内整改".into(),
                },
                t,
            )
        };
        let mut steps = dispatched(10 * day);
        steps.extend([urge(day + H), urge(2 * day + H), urge(12 * day)]);
        let cases = vec![case(&steps)];
        let w = Weights {
            per_urge: 0.5,
            ..Weights::default()
        };
        let first_week = rank(&[], &cases, 0, 7 * day, &w);
        assert_eq!(first_week[0].urged, 2, "two urges in the period");
        assert!((first_week[0].deductions - 1.0).abs() < 1e-9);
        let second = rank(&[], &cases, 11 * day, 14 * day, &w);
        assert_eq!(second[0].urged, 1);
        assert!(w.formula(crate::Lang::ZhCn).contains("每次被催办 0.5"));
    }

    #[test]
    fn each_escalation_in_the_period_counts_against_the_unit_and_is_deducted() {
        let day = 24 * H;
        let escalate = |t: i64| {
            sup(
                OpBody::Escalate {
                    reason: "逾期两天未整改，提级督办".into(),
                },
                t,
            )
        };
        let mut steps = dispatched(10 * day);
        steps.extend([escalate(3 * day), escalate(9 * day)]);
        let cases = vec![case(&steps)];
        let w = Weights::default();
        let week = rank(&[], &cases, 0, 7 * day, &w);
        assert_eq!((week[0].escalated, week[0].urged), (1, 0));
        assert!((week[0].deductions - w.per_escalation).abs() < 1e-9);
        assert_eq!(rank(&[], &cases, 0, 14 * day, &w)[0].escalated, 2);
        assert!(w.formula(crate::Lang::ZhCn).contains("每次被督办 0.5"));
    }

    #[test]
    fn each_recurrence_in_the_period_counts_against_the_unit_and_is_deducted() {
        let day = 24 * H;
        let mut steps = dispatched(10 * day);
        steps.push(unit(
            OpBody::Acknowledge {
                note: String::new(),
            },
            3 * H,
        ));
        steps.push(unit(
            OpBody::Rectify {
                note: String::new(),
                photos: photo(),
            },
            5 * H,
        ));
        steps.push(sup(
            OpBody::VerifyPass {
                note: String::new(),
                photos: vec![],
            },
            6 * H,
        ));
        steps.push(sup(
            OpBody::Reopen {
                reason: "回头看发现复发".into(),
                deadline_ms: Some(20 * day),
            },
            4 * day,
        ));
        let cases = vec![case(&steps)];
        let w = Weights::default();
        let week = rank(&[], &cases, 0, 7 * day, &w);
        assert_eq!(week[0].recurred, 1);
        assert!((week[0].deductions - w.per_recurrence).abs() < 1e-9);
        assert_eq!(rank(&[], &cases, 5 * day, 7 * day, &w)[0].recurred, 0);
        assert!(w.formula(crate::Lang::ZhCn).contains("每次复发 1"));
    }

    #[test]
    fn daily_flow_counts_new_closed_and_overdue_at_each_day_end() {
        let day = 24 * H;
        let cases = vec![lifecycle(5 * H, day, 0), lifecycle(2 * day, day, 0)];
        let flow = daily_flow(&cases, 0, 3, day, i64::MAX);
        let got: Vec<(u32, u32, u32)> = flow.iter().map(|d| (d.new, d.closed, d.overdue)).collect();
        // Both reported on day 0; the first closed on day 0; the second was late through day 1
        // (deadline = end of day 0, rectified on day 2) and closed on day 2.
        assert_eq!(got, vec![(2, 1, 0), (0, 0, 1), (0, 1, 0)]);
        assert_eq!(flow[2].day_start_ms, 2 * day);
        // Seen from the middle of day 1, the late case is overdue then; day 2 has not come.
        let early = daily_flow(&cases, 0, 3, day, day + H);
        assert_eq!(early[1].overdue, 1);
        assert_eq!(early[2].overdue, 0);
    }

    #[test]
    fn site_coverage_counts_sites_with_a_report_in_the_period() {
        let (mut a, _) = case(&[report()]);
        a.site_id = Some("s1".into());
        let mut b = a.clone();
        b.site_id = Some("s9".into()); // not a listed site
        let mut late = a.clone();
        late.site_id = Some("s2".into());
        late.reported_at_ms = 10 * H;
        let sites: Vec<String> = ["s1", "s2", "s3"].map(String::from).to_vec();
        assert_eq!(
            site_coverage(&sites, &[a.clone(), b.clone(), late.clone()], 0, H),
            (1, 3)
        );
        assert_eq!(site_coverage(&sites, &[a, b, late], 0, 11 * H), (2, 3));
    }
}
