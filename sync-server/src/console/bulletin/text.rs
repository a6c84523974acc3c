//! The bulletin's words: dates as an office writes them and the summary paragraphs (本期共发现
//! 问题N件，已整改N件…, the units at the bottom of the ranking, the sites where problems came back).

use chrono::{Datelike, NaiveDate};

use xuncha_core::round::{Round, RoundKind};
use xuncha_core::round_report::RoundReport;

use super::content::{RankRow, RepeatRow};

/// 2026年12月6日.
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// 2026年11月30日至12月6日 (the year once when both days are in it).
pub fn period_zh(from: NaiveDate, to: NaiveDate) -> String {
    if from.year() == to.year() {
        format!("{}至{}月{}日", date_zh(from), to.month(), to.day())
    } else {
        format!("{}至{}", date_zh(from), date_zh(to))
    }
}

/// 76.9% (one decimal), or 无 when there is nothing to divide.
pub fn pct_zh(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "无".into())
}

/// What the summary is written from.
pub struct Facts<'a> {
    pub office: &'a str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub issued_on: NaiveDate,
    /// Problems found (reported) in the period.
    pub found: u32,
    /// Cases closed (check passed) in the period.
    pub closed: u32,
    /// The ranking, best first (`kpi::rank_facts`' order).
    pub ranking: &'a [RankRow],
    /// Cases overdue and unrectified at the date of issue.
    pub overdue_total: u64,
    pub repeats: &'a [RepeatRow],
    /// (sites with a report in the period, all sites).
    pub coverage: (usize, usize),
    /// The areas right below the bulletin's (a city's districts), best first, named.
    pub areas: &'a [RankRow],
    /// The inspection rounds whose results came out in the period, with their reports.
    pub rounds: &'a [(Round, RoundReport)],
}

/// How many units a bulletin names at the bottom of the ranking.
const NAMED_AT_BOTTOM: usize = 3;
/// How many repeated sites the summary names (the annex lists them all).
const NAMED_SITES: usize = 5;

/// The summary, one paragraph each: the period's work and figures; the units at the bottom of
/// the ranking (only when more units had cases due than it names); the repeated sites; what
/// is asked of the units.
pub fn summary(f: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    let due: u32 = f.ranking.iter().map(|r| r.score.due).sum();
    let closed_due: u32 = f.ranking.iter().map(|r| r.score.closed).sum();
    let on_time: u32 = f.ranking.iter().map(|r| r.score.closed_on_time).sum();
    let parked: u32 = f.ranking.iter().map(|r| r.score.parked).sum();
    let ratio = |n: u32, d: u32| (d > 0).then(|| n as f64 / d as f64);
    out.push(format!(
        "{}，{}对各责任单位的问题整改情况进行了督查。本期共发现问题{}件，已整改结案{}件；各单位本期应结案{}件，已结案{}件，结案率{}，按期结案率{}。截至{}，逾期未整改问题{}件。本期有问题上报的点位{}个，占全部{}个点位的{}。",
        period_zh(f.from, f.to),
        f.office,
        f.found,
        f.closed,
        due,
        closed_due,
        pct_zh(ratio(closed_due, due)),
        pct_zh(ratio(on_time, due.saturating_sub(parked))),
        date_zh(f.issued_on),
        f.overdue_total,
        f.coverage.0,
        f.coverage.1,
        pct_zh(ratio(f.coverage.0 as u32, f.coverage.1 as u32)),
    ));
    if !f.rounds.is_empty() {
        let lines: Vec<String> = f
            .rounds
            .iter()
            .map(|(round, r)| match round.kind {
                RoundKind::Recheck => format!(
                    "{}（{}）复查问题{}件，复发{}件，整改率{}",
                    round.name,
                    round.kind.label_zh(),
                    r.rechecked,
                    r.recurred,
                    pct_zh(r.rectification_rate())
                ),
                _ => format!(
                    "{}（{}）检查点位{}个（计划{}个），得分率{}，发现问题{}件",
                    round.name,
                    round.kind.label_zh(),
                    r.overall.checked,
                    r.sites.len(),
                    pct_zh(r.overall.rate()),
                    r.sites.iter().map(|s| s.raised.len()).sum::<usize>()
                ),
            })
            .collect();
        out.push(format!(
            "本期完成巡查轮次{}轮：{}。",
            f.rounds.len(),
            lines.join("；")
        ));
    }
    let areas_due: Vec<String> = f
        .areas
        .iter()
        .filter(|r| r.score.due > 0)
        .map(|r| {
            format!(
                "{}应结案{}件、结案率{}、综合得分{:.1}分",
                r.unit,
                r.score.due,
                pct_zh(r.score.close_rate()),
                r.score.score
            )
        })
        .collect();
    if !areas_due.is_empty() {
        out.push(format!("分区域看：{}。", areas_due.join("；")));
    }
    let with_due: Vec<&RankRow> = f.ranking.iter().filter(|r| r.score.due > 0).collect();
    if with_due.len() > NAMED_AT_BOTTOM {
        let bottom: Vec<String> = with_due
            .iter()
            .rev()
            .take(NAMED_AT_BOTTOM)
            .map(|r| {
                format!(
                    "{}（综合得分{:.1}分，逾期未整改{}件）",
                    r.unit, r.score.score, r.score.overdue
                )
            })
            .collect();
        out.push(format!(
            "综合得分排名后三位的单位是：{}。请上述单位认真查找原因，落实整改责任，限期整改到位。",
            bottom.join("、")
        ));
    }
    if f.repeats.is_empty() {
        out.push("本期未发现同一点位重复出现的问题。".into());
    } else {
        let named: Vec<String> = f
            .repeats
            .iter()
            .take(NAMED_SITES)
            .map(|r| format!("{}（{}次）", r.site, r.times))
            .collect();
        let more = if f.repeats.len() > NAMED_SITES {
            "等"
        } else {
            ""
        };
        out.push(format!(
            "同一点位重复发现问题的有{}处：{}{}。请属地单位加强长效管理，防止问题反弹。",
            f.repeats.len(),
            named.join("、"),
            more
        ));
    }
    out.push(
        "请各责任单位对照附件逐项整改，整改情况及时在系统中反馈；逾期未整改的问题将在下期通报中继续通报。"
            .into(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use xuncha_core::kpi::UnitScore;

    fn unit(name: &str, due: u32, closed: u32, score: f64) -> RankRow {
        RankRow {
            unit: name.into(),
            score: UnitScore {
                unit_id: name.into(),
                due,
                closed,
                closed_on_time: closed,
                score,
                ..UnitScore::default()
            },
        }
    }

    fn facts<'a>(ranking: &'a [RankRow], repeats: &'a [RepeatRow]) -> Facts<'a> {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        Facts {
            office: "示范市创城办",
            from: d("2026-11-30"),
            to: d("2026-12-06"),
            issued_on: d("2026-12-07"),
            found: 13,
            closed: 10,
            ranking,
            overdue_total: 2,
            repeats,
            coverage: (4, 40),
            areas: &[],
            rounds: &[],
        }
    }

    #[test]
    fn the_summary_states_the_figures_in_words() {
        let ranking = [
            unit("甲", 4, 4, 95.0),
            unit("乙", 4, 3, 80.0),
            unit("丙", 2, 1, 60.0),
            unit("丁", 3, 1, 40.0),
            unit("戊", 0, 0, 100.0),
        ];
        let repeats = [RepeatRow {
            site: "东门菜场".into(),
            address: String::new(),
            times: 3,
            open: 1,
            categories: "0101 暴露垃圾".into(),
        }];
        let s = summary(&facts(&ranking, &repeats));
        assert!(
            s[0].starts_with("2026年11月30日至12月6日，示范市创城办"),
            "{}",
            s[0]
        );
        assert!(
            s[0].contains("本期共发现问题13件，已整改结案10件"),
            "{}",
            s[0]
        );
        assert!(
            s[0].contains("应结案13件，已结案9件，结案率69.2%"),
            "{}",
            s[0]
        );
        assert!(
            s[0].contains("截至2026年12月7日，逾期未整改问题2件"),
            "{}",
            s[0]
        );
        assert!(s[0].contains("点位4个，占全部40个点位的10.0%"), "{}", s[0]);
        // The bottom three of the units with cases due, worst first; 戊 had nothing due.
        assert!(
            s[1].starts_with("综合得分排名后三位的单位是：丁（综合得分40.0分"),
            "{}",
            s[1]
        );
        assert!(s[1].contains("、丙（") && s[1].contains("、乙（") && !s[1].contains("戊"));
        assert!(
            s[2].contains("重复发现问题的有1处：东门菜场（3次）"),
            "{}",
            s[2]
        );
    }

    #[test]
    fn the_rounds_of_the_period_are_reported_in_one_paragraph() {
        use xuncha_core::round_report::Tally;
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let round = |name: &str, kind| Round {
            id: uuid::Uuid::nil(),
            name: name.into(),
            kind,
            area_id: None,
            starts_on: day,
            ends_on: day,
            due_ms: 0,
            max_distance_m: 300.0,
            planned_by: "s".into(),
            planned_ms: 0,
            published_ms: None,
            closed_ms: Some(1),
        };
        let sites = RoundReport {
            overall: Tally {
                key: String::new(),
                planned: 8,
                checked: 7,
                got: 162.0,
                possible: 175.0,
            },
            ..RoundReport::default()
        };
        let rechecks = RoundReport {
            rechecked: 230,
            recurred: 45,
            ..RoundReport::default()
        };
        let rounds = [
            (round("农贸市场测评", RoundKind::Open), sites),
            (round("回头看", RoundKind::Recheck), rechecks),
        ];
        let f = Facts {
            rounds: &rounds,
            ..facts(&[], &[])
        };
        let s = summary(&f);
        assert_eq!(
            s[1],
            "本期完成巡查轮次2轮：农贸市场测评（明查）检查点位7个（计划0个），得分率92.6%，发现问题0件；回头看（回头看）复查问题230件，复发45件，整改率80.4%。"
        );
    }

    #[test]
    fn nobody_is_named_at_the_bottom_of_a_short_ranking() {
        let ranking = [unit("甲", 1, 1, 100.0), unit("乙", 1, 0, 50.0)];
        let s = summary(&facts(&ranking, &[]));
        assert!(!s.iter().any(|p| p.contains("后三位")), "{s:?}");
        assert!(s.iter().any(|p| p == "本期未发现同一点位重复出现的问题。"));
        assert!(summary(&facts(&[], &[]))[0].contains("结案率无"));
    }

    #[test]
    fn the_districts_are_compared_in_one_paragraph() {
        let ranking = [unit("甲", 1, 1, 100.0)];
        let areas = [
            unit("西湖区", 4, 3, 90.0),
            unit("上城区", 2, 1, 70.0),
            unit("新区", 0, 0, 100.0),
        ];
        let s = summary(&Facts {
            areas: &areas,
            ..facts(&ranking, &[])
        });
        assert_eq!(
            s[1],
            "分区域看：西湖区应结案4件、结案率75.0%、综合得分90.0分；上城区应结案2件、结案率50.0%、综合得分70.0分。"
        );
    }
}
