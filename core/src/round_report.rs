//! A round's report (issue 17): the figures a 测评 publishes, from its tasks — every site's
//! 得分率, the rates per site type, per area and per responsible unit, the round's own, how many
//! sites were checked and how many of those checks were made away from the site, and for 回头看
//! the 整改率. Pure, so the console's page, its XLSX and the bulletin show the same numbers.
//!
//! A group's rate is its points over its points possible (as a 测评 totals its sites), over the
//! sites checked; a site not checked counts in the coverage, not in the rates.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::reference::{ReferenceIndex, Site};
use crate::round::{
    RecheckOutcome, Round, Target, Task, TaskState, cases_to_raise, on_site, raised_case_id,
    recheck_counts, task_score,
};
use crate::standard::{points_kept, rectification_rate, score_rate};

/// One site of a round.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    /// The task.
    pub task_id: Uuid,
    /// The site (its id when it is gone from the reference data).
    pub site_id: String,
    /// Its name.
    pub name: String,
    /// Its type.
    pub site_type: String,
    /// Its area.
    pub area_id: Option<String>,
    /// Its owner unit.
    pub unit_id: Option<String>,
    /// 待检查, 已检查 or 未检查.
    pub state: TaskState,
    /// Points, once checked.
    pub got: f64,
    /// Points possible.
    pub possible: f64,
    /// Who checked it.
    pub by: Option<String>,
    /// How far from the site the phone was.
    pub distance_m: Option<f64>,
    /// Within the round's distance.
    pub on_site: Option<bool>,
    /// The indicators that lost points, with the points lost, in checklist order.
    pub deductions: Vec<(String, f64)>,
    /// The cases it raised: indicator and case id.
    pub raised: Vec<(String, Uuid)>,
}

impl SiteRow {
    /// 得分率, once checked.
    pub fn rate(&self) -> Option<f64> {
        (self.state == TaskState::Done)
            .then(|| score_rate(self.got, self.possible))
            .flatten()
    }
}

/// The figures of a group of sites (a type, an area, a unit, the round).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// The group's key (a type, an area id, a unit id; empty for the round).
    pub key: String,
    /// Sites planned.
    pub planned: usize,
    /// Sites checked.
    pub checked: usize,
    /// Points of the checked sites.
    pub got: f64,
    /// Points possible of the checked sites.
    pub possible: f64,
}

impl Tally {
    /// 得分率: points over points possible of the checked sites.
    pub fn rate(&self) -> Option<f64> {
        score_rate(self.got, self.possible)
    }

    fn add(&mut self, row: &SiteRow) {
        self.planned += 1;
        if row.state == TaskState::Done {
            self.checked += 1;
            self.got += row.got;
            self.possible += row.possible;
        }
    }
}

/// One re-checked case of a 回头看 round.
#[derive(Debug, Clone, PartialEq)]
pub struct RecheckRow {
    /// The task.
    pub task_id: Uuid,
    /// The case.
    pub case_id: Uuid,
    /// 待检查, 已检查 or 未检查.
    pub state: TaskState,
    /// What was found.
    pub outcome: Option<RecheckOutcome>,
    /// Who re-checked it.
    pub by: Option<String>,
    /// How far from the case's place the phone was.
    pub distance_m: Option<f64>,
    /// Within the round's distance.
    pub on_site: Option<bool>,
}

/// A round's report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoundReport {
    /// Every site, in planning order.
    pub sites: Vec<SiteRow>,
    /// Per site type, best rate first.
    pub by_type: Vec<Tally>,
    /// Per area of the sites, best rate first.
    pub by_area: Vec<Tally>,
    /// Per owner unit of the sites, best rate first.
    pub by_unit: Vec<Tally>,
    /// The whole round.
    pub overall: Tally,
    /// Checks (and re-checks) made farther than the round's distance from their place.
    pub off_site: usize,
    /// Every re-check task (回头看), in planning order.
    pub rechecks: Vec<RecheckRow>,
    /// Re-checked cases.
    pub rechecked: u32,
    /// Of those, recurred.
    pub recurred: u32,
}

impl RoundReport {
    /// 整改率 of a 回头看 round: still fixed over re-checked.
    pub fn rectification_rate(&self) -> Option<f64> {
        rectification_rate(self.rechecked, self.recurred)
    }

    /// Tasks planned (sites and re-checks).
    pub fn planned(&self) -> usize {
        self.sites.len() + self.rechecks.len()
    }

    /// Tasks done.
    pub fn done(&self) -> usize {
        self.overall.checked + self.rechecked as usize
    }
}

/// The report of `round` with its `tasks`, over the reference data's sites and standard.
pub fn report(round: &Round, tasks: &[Task], index: &ReferenceIndex) -> RoundReport {
    let mut out = RoundReport::default();
    for t in tasks {
        let result = t.result.as_ref();
        let distance_m = result.and_then(|r| r.distance_m);
        let near = on_site(distance_m, round);
        if near == Some(false) {
            out.off_site += 1;
        }
        match &t.target {
            Target::Site { site_id } => out.sites.push(site_row(round, t, site_id, index)),
            Target::Case { case_id } => out.rechecks.push(RecheckRow {
                task_id: t.id,
                case_id: *case_id,
                state: t.state(round),
                outcome: result.and_then(|r| r.outcome),
                by: result.map(|r| r.by.clone()),
                distance_m,
                on_site: near,
            }),
        }
    }
    let group = |key: &dyn Fn(&SiteRow) -> String| -> Vec<Tally> {
        let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
        for row in &out.sites {
            let k = key(row);
            groups
                .entry(k.clone())
                .or_insert_with(|| Tally {
                    key: k,
                    ..Tally::default()
                })
                .add(row);
        }
        let mut v: Vec<Tally> = groups.into_values().collect();
        v.sort_by(|a, b| {
            b.rate()
                .unwrap_or(-1.0)
                .total_cmp(&a.rate().unwrap_or(-1.0))
                .then_with(|| a.key.cmp(&b.key))
        });
        v
    };
    out.by_type = group(&|r| r.site_type.clone());
    out.by_area = group(&|r| r.area_id.clone().unwrap_or_default());
    out.by_unit = group(&|r| r.unit_id.clone().unwrap_or_default());
    for row in &out.sites {
        out.overall.add(row);
    }
    (out.rechecked, out.recurred) = recheck_counts(tasks);
    out
}

fn site_row(round: &Round, t: &Task, site_id: &str, index: &ReferenceIndex) -> SiteRow {
    let site: Option<&Site> = index.site(site_id);
    let site_type = site.map(|s| s.kind.clone()).unwrap_or_default();
    let result = t.result.as_ref();
    let (got, possible) = match result {
        Some(r) => task_score(&index.standard, &site_type, &r.indicators),
        None => (0.0, task_score(&index.standard, &site_type, &[]).1),
    };
    let mut deductions = Vec::new();
    let mut raised = Vec::new();
    if let Some(r) = result {
        for c in &r.indicators {
            if let Some(ind) = index.standard.iter().find(|i| i.code == c.code) {
                let lost = ind.points.max(0.0) - points_kept(ind, c.finding);
                if lost > 0.0 {
                    deductions.push((c.code.clone(), lost));
                }
            }
        }
        raised = cases_to_raise(&index.standard, &r.indicators)
            .into_iter()
            .map(|(ind, _)| (ind.code.clone(), raised_case_id(t.id, &ind.code)))
            .collect();
    }
    SiteRow {
        task_id: t.id,
        site_id: site_id.to_string(),
        name: site
            .map(|s| s.name.clone())
            .unwrap_or_else(|| site_id.into()),
        site_type,
        area_id: site.and_then(|s| s.area_id.clone()),
        unit_id: site.and_then(|s| s.owner_unit_id.clone()),
        state: t.state(round),
        got,
        possible,
        by: result.map(|r| r.by.clone()),
        distance_m: result.and_then(|r| r.distance_m),
        on_site: on_site(result.and_then(|r| r.distance_m), round),
        deductions,
        raised,
    }
}

/// The sites no round checked between `from` and `to` (inclusive days): `checked` lists each
/// round's period with the sites it checked. 测评 expects every site visited in a period.
pub fn unvisited<'a>(
    sites: &'a [Site],
    checked: &[(chrono::NaiveDate, chrono::NaiveDate, Vec<String>)],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Vec<&'a Site> {
    let seen: std::collections::HashSet<&str> = checked
        .iter()
        .filter(|(start, end, _)| *start <= to && *end >= from)
        .flat_map(|(_, _, ids)| ids.iter().map(String::as_str))
        .collect();
    sites
        .iter()
        .filter(|s| !seen.contains(s.id.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use crate::round::{CheckedIndicator, RoundKind, TaskResult, task_id};
    use crate::standard::{Finding, Indicator, ScoringRule};
    use chrono::NaiveDate;

    fn index() -> ReferenceIndex {
        let site = |id: &str, kind: &str, area: &str, unit: &str| Site {
            id: id.into(),
            name: format!("点位{id}"),
            kind: kind.into(),
            lat: 30.0,
            lon: 120.0,
            address: String::new(),
            owner_unit_id: Some(unit.into()),
            area_id: Some(area.into()),
        };
        let ind = |code: &str, kind: &str, points: f64, rule| Indicator {
            code: code.into(),
            text: code.into(),
            site_types: vec![kind.into()],
            points,
            rule,
            category: Some("0101".into()),
        };
        ReferenceIndex::new(&ReferenceData {
            sites: vec![
                site("a", "公交站台", "d1", "u1"),
                site("b", "公交站台", "d2", "u2"),
                site("c", "农贸市场", "d1", "u1"),
            ],
            standard: vec![
                ind("5.1", "公交站台", 3.0, ScoringRule::PassFail),
                ind(
                    "5.2",
                    "公交站台",
                    8.0,
                    ScoringRule::Quota {
                        per_unit: 2.0,
                        unit_label: "辆公交车".into(),
                        deduct: 4.0,
                    },
                ),
                ind(
                    "1.1",
                    "农贸市场",
                    5.0,
                    ScoringRule::PerOccurrence {
                        deduct: 1.0,
                        cap: 5.0,
                    },
                ),
            ],
            ..ReferenceData::default()
        })
    }

    fn done(round: &Round, site: &str, list: Vec<(&str, Finding)>, distance: f64) -> Task {
        let target = Target::Site {
            site_id: site.into(),
        };
        Task {
            id: task_id(round.id, &target),
            round_id: round.id,
            target,
            team: vec!["i1".into()],
            result: Some(TaskResult {
                op_id: Uuid::nil(),
                by: "i1".into(),
                checked_at_ms: 0,
                received_ms: 0,
                position: None,
                distance_m: Some(distance),
                indicators: list
                    .into_iter()
                    .map(|(code, finding)| CheckedIndicator {
                        code: code.into(),
                        finding,
                        note: String::new(),
                        photos: vec![],
                    })
                    .collect(),
                photos: vec![],
                outcome: None,
                note: String::new(),
            }),
        }
    }

    #[test]
    fn the_report_adds_up_as_a_hand_computation_does() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let round = Round {
            id: Uuid::nil(),
            name: "测评".into(),
            kind: RoundKind::Open,
            area_id: None,
            starts_on: day,
            ends_on: day,
            due_ms: 0,
            max_distance_m: 300.0,
            planned_by: "s".into(),
            planned_ms: 0,
            published_ms: None,
            closed_ms: None,
        };
        // a: 5.1 failed (0 of 3), one bus with one 公益广告 (8 − 4 = 4 of 8): 4 of 11, on site.
        // b: all met: 11 of 11, 900 m away (off site).
        // c: not checked yet (5 possible, not counted in the rates).
        let tasks = vec![
            done(
                &round,
                "a",
                vec![
                    ("5.1", Finding::Fail),
                    (
                        "5.2",
                        Finding::Counted {
                            found: 1,
                            units: 1.0,
                        },
                    ),
                ],
                40.0,
            ),
            done(
                &round,
                "b",
                vec![("5.1", Finding::Pass), ("5.2", Finding::Pass)],
                900.0,
            ),
            Task {
                result: None,
                ..done(&round, "c", vec![], 0.0)
            },
        ];
        let r = report(&round, &tasks, &index());
        assert_eq!((r.planned(), r.done(), r.off_site), (3, 2, 1));
        assert_eq!(r.sites[0].rate(), Some(4.0 / 11.0));
        assert_eq!(
            r.sites[0].deductions,
            [("5.1".to_string(), 3.0), ("5.2".to_string(), 4.0)]
        );
        assert_eq!(r.sites[0].raised.len(), 2);
        assert_eq!(r.sites[2].state, TaskState::Open);
        assert_eq!(r.sites[2].rate(), None);
        // The round: 15 of 22.
        assert_eq!((r.overall.got, r.overall.possible), (15.0, 22.0));
        assert_eq!(r.overall.rate(), Some(15.0 / 22.0));
        // Per area: d2 (11/11) before d1 (4/11, one of two sites checked).
        let areas: Vec<(&str, usize, usize, Option<f64>)> = r
            .by_area
            .iter()
            .map(|t| (t.key.as_str(), t.planned, t.checked, t.rate()))
            .collect();
        assert_eq!(
            areas,
            [("d2", 1, 1, Some(1.0)), ("d1", 2, 1, Some(4.0 / 11.0))]
        );
        assert_eq!(r.by_unit[0].key, "u2");
        let types: Vec<&str> = r.by_type.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            types,
            ["公交站台", "农贸市场"],
            "a type with no check comes last"
        );
        let sites = index();
        let all: Vec<Site> = ["a", "b", "c"]
            .iter()
            .filter_map(|id| sites.site(id).cloned())
            .collect();
        let left = unvisited(&all, &[(day, day, vec!["a".into(), "b".into()])], day, day);
        assert_eq!(
            left.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(
            unvisited(
                &all,
                &[(day, day, vec!["a".into()])],
                day.succ_opt().expect("day"),
                day.succ_opt().expect("day")
            )
            .len(),
            3
        );
    }
}
