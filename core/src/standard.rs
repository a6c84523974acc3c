//! 测评标准 (issue 17, first step): the indicators a city checks its sites against, and how a
//! checklist filled in at a site scores — a pure function, the same on the phone and the server.
//!
//! Each indicator applies to some site types and is worth some points; its rule says how a
//! finding costs them:
//! - **pass/fail**: all the points, or none;
//! - **per occurrence**: each occurrence deducts a number of points, at most a cap (and never
//!   below zero);
//! - **quota** ("at least N per unit of X, −p per missing one"): a site with `units` of X must
//!   show ⌈N × units⌉; each one short deducts `p`, at most all the points.
//!
//! A site's 得分率 is its points over the points of the indicators that apply to it; a 回头看's
//! 整改率 is what is still fixed over what was re-checked.

use serde::{Deserialize, Serialize};

/// How an indicator's points are lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScoringRule {
    /// All the points, or none.
    PassFail,
    /// Each occurrence deducts `deduct`, at most `cap` in all.
    PerOccurrence {
        /// Points per occurrence.
        deduct: f64,
        /// The most one site loses on it.
        cap: f64,
    },
    /// At least `per_unit` per unit of something (`unit_label`: 辆公交车, 500 米道路 …); `deduct`
    /// for each one short.
    Quota {
        /// Required per unit.
        per_unit: f64,
        /// What a unit is, in words.
        unit_label: String,
        /// Points per missing one.
        deduct: f64,
    },
}

impl ScoringRule {
    /// The rule in words, as the console lists it and an office reads it
    /// (达标得分 / 每处扣 1 分，最多扣 3 分 / 每辆公交车应有 2 个，每缺 1 个扣 4 分).
    pub fn describe(&self, lang: crate::Lang) -> String {
        let n = |x: f64| {
            let t = format!("{x:.2}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        match (self, lang) {
            (ScoringRule::PassFail, crate::Lang::ZhCn) => "达标得分，不达标不得分".into(),
            (ScoringRule::PassFail, crate::Lang::En) => "all points if met, none if not".into(),
            (ScoringRule::PerOccurrence { deduct, cap }, crate::Lang::ZhCn) => {
                format!("每处扣 {} 分，最多扣 {} 分", n(*deduct), n(*cap))
            }
            (ScoringRule::PerOccurrence { deduct, cap }, crate::Lang::En) => {
                format!("−{} per occurrence, at most −{}", n(*deduct), n(*cap))
            }
            (
                ScoringRule::Quota {
                    per_unit,
                    unit_label,
                    deduct,
                },
                crate::Lang::ZhCn,
            ) => format!(
                "每{unit_label}应有 {} 个，每缺 1 个扣 {} 分",
                n(*per_unit),
                n(*deduct)
            ),
            (
                ScoringRule::Quota {
                    per_unit,
                    unit_label,
                    deduct,
                },
                crate::Lang::En,
            ) => format!(
                "at least {} per {unit_label}, −{} per missing one",
                n(*per_unit),
                n(*deduct)
            ),
        }
    }
}

/// Who may replace the city's standard: the city's administrators (the CLI's operator, or an
/// admin of the whole city in the console); a district's admin and supervisors read it.
pub fn may_import(role: crate::workflow::Role, reach: &crate::scope::Reach) -> bool {
    role == crate::workflow::Role::Admin && reach.is_everything()
}

/// One indicator of the standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicator {
    /// Its code, e.g. `3.2.1`.
    pub code: String,
    /// What is checked.
    pub text: String,
    /// The site types it applies to (农贸市场, 公交站台 …).
    pub site_types: Vec<String>,
    /// Its points.
    pub points: f64,
    /// How they are lost.
    pub rule: ScoringRule,
    /// A failure becomes a case of this category (none: scored only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// What an inspector recorded for one indicator at a site.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Met.
    Pass,
    /// Not met (pass/fail indicators).
    Fail,
    /// This many occurrences of the problem (per-occurrence indicators).
    Occurrences {
        /// How many.
        count: u32,
    },
    /// This many found, over this many units of X (quota indicators).
    Counted {
        /// How many were found.
        found: u32,
        /// How many units of X the site has (buses, 500 m of road …).
        units: f64,
    },
}

/// The points an indicator keeps with `finding`, from 0 to its points. A finding of another
/// kind than the rule's keeps none of them (it cannot be scored, so it is not passed).
pub fn points_kept(ind: &Indicator, finding: Finding) -> f64 {
    let full = ind.points.max(0.0);
    let kept = match (&ind.rule, finding) {
        (_, Finding::Pass) => full,
        (ScoringRule::PassFail, Finding::Fail) => 0.0,
        (ScoringRule::PerOccurrence { deduct, cap }, Finding::Occurrences { count }) => {
            full - (f64::from(count) * deduct.max(0.0)).min(cap.max(0.0))
        }
        (
            ScoringRule::Quota {
                per_unit, deduct, ..
            },
            Finding::Counted { found, units },
        ) => full - f64::from(missing(*per_unit, units, found)) * deduct.max(0.0),
        _ => 0.0,
    };
    kept.clamp(0.0, full)
}

/// How many short of a quota of `per_unit` per unit over `units` units when `found` were found.
pub fn missing(per_unit: f64, units: f64, found: u32) -> u32 {
    let required = (per_unit.max(0.0) * units.max(0.0)).ceil();
    let required = if required.is_finite() {
        required.min(f64::from(u32::MAX)) as u32
    } else {
        0
    };
    required.saturating_sub(found)
}

/// A site's points and the points possible, over the indicators that apply to its type and
/// what was recorded for them (an indicator left unrecorded counts as not met).
pub fn site_score(
    indicators: &[Indicator],
    site_type: &str,
    findings: &[(String, Finding)],
) -> (f64, f64) {
    indicators
        .iter()
        .filter(|i| i.site_types.iter().any(|t| t == site_type))
        .fold((0.0, 0.0), |(got, possible), ind| {
            let kept = findings
                .iter()
                .find(|(code, _)| *code == ind.code)
                .map(|(_, f)| points_kept(ind, *f))
                .unwrap_or(0.0);
            (got + kept, possible + ind.points.max(0.0))
        })
}

/// 得分率: points over points possible; none when nothing applies.
pub fn score_rate(got: f64, possible: f64) -> Option<f64> {
    (possible > 0.0).then(|| got / possible)
}

/// Check a standard: codes given and unique, text given, points and every rule's numbers finite
/// and not negative, at least one site type, and a case category (if any) among `categories`.
pub fn validate(indicators: &[Indicator], categories: &[&str]) -> Result<(), String> {
    let mut codes = std::collections::HashSet::new();
    for i in indicators {
        let bad = |why: &str| Err(format!("indicator {}: {why}", i.code));
        if i.code.trim().is_empty() || !codes.insert(i.code.as_str()) {
            return Err(format!(
                "indicator code '{}' is empty or listed twice",
                i.code
            ));
        }
        if i.text.trim().is_empty() || i.site_types.iter().all(|t| t.trim().is_empty()) {
            return bad("needs its text and at least one site type");
        }
        let numbers = match &i.rule {
            ScoringRule::PassFail => vec![i.points],
            ScoringRule::PerOccurrence { deduct, cap } => vec![i.points, *deduct, *cap],
            ScoringRule::Quota {
                per_unit, deduct, ..
            } => vec![i.points, *per_unit, *deduct],
        };
        if numbers
            .iter()
            .any(|n| !n.is_finite() || *n < 0.0 || *n > 1_000.0)
        {
            return bad("points, deductions, caps and quotas are numbers from 0 to 1000");
        }
        if let Some(c) = &i.category
            && !categories.contains(&c.as_str())
        {
            return bad(&format!("names an unknown category {c}"));
        }
    }
    Ok(())
}

/// 回头看's 整改率: still fixed over re-checked; none when nothing was re-checked.
pub fn rectification_rate(rechecked: u32, still_open: u32) -> Option<f64> {
    (rechecked > 0).then(|| f64::from(rechecked.saturating_sub(still_open)) / f64::from(rechecked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_rule_reads_in_words_and_only_admins_replace_the_standard() {
        use crate::Lang::{En, ZhCn};
        let quota = ScoringRule::Quota {
            per_unit: 2.0,
            unit_label: "辆公交车".into(),
            deduct: 4.0,
        };
        assert_eq!(
            quota.describe(ZhCn),
            "每辆公交车应有 2 个，每缺 1 个扣 4 分"
        );
        assert_eq!(
            quota.describe(En),
            "at least 2 per 辆公交车, −4 per missing one"
        );
        let per = ScoringRule::PerOccurrence {
            deduct: 0.5,
            cap: 3.0,
        };
        assert_eq!(per.describe(ZhCn), "每处扣 0.5 分，最多扣 3 分");
        assert_eq!(
            ScoringRule::PassFail.describe(ZhCn),
            "达标得分，不达标不得分"
        );
        use crate::scope::Reach;
        use crate::workflow::Role;
        let district = Reach::Within {
            area: "d2".into(),
            areas: ["d2".to_string()].into(),
            units: Default::default(),
        };
        assert!(may_import(Role::Admin, &Reach::Everything));
        assert!(!may_import(Role::Admin, &district), "a district's admin");
        assert!(!may_import(Role::Supervisor, &Reach::Everything));
    }

    fn indicator(rule: ScoringRule, points: f64) -> Indicator {
        Indicator {
            code: "1".into(),
            text: "检查项".into(),
            site_types: vec!["公交站台".into()],
            points,
            rule,
            category: None,
        }
    }

    #[test]
    fn published_quotas_score_as_the_handbooks_say() {
        // At least 2 公益广告 per bus, −4 per missing one: 3 buses with 4 ads miss 2.
        let ads = indicator(
            ScoringRule::Quota {
                per_unit: 2.0,
                unit_label: "辆公交车".into(),
                deduct: 4.0,
            },
            20.0,
        );
        let kept = points_kept(
            &ads,
            Finding::Counted {
                found: 4,
                units: 3.0,
            },
        );
        assert_eq!(kept, 12.0);
        // 3 roads × 500 m, −2 per missing item: 1,500 m is 3 units; one item each, two found.
        let roads = indicator(
            ScoringRule::Quota {
                per_unit: 1.0,
                unit_label: "500 米道路".into(),
                deduct: 2.0,
            },
            10.0,
        );
        assert_eq!(
            points_kept(
                &roads,
                Finding::Counted {
                    found: 2,
                    units: 3.0
                }
            ),
            8.0
        );
        // 回头看: 230 re-checked, 45 still open → 80.43 %.
        let rate = rectification_rate(230, 45).expect("rate");
        assert_eq!(format!("{:.2}", rate * 100.0), "80.43");
        assert_eq!(rectification_rate(0, 0), None);
    }

    #[test]
    fn a_standard_is_checked_on_import() {
        let ok = indicator(ScoringRule::PassFail, 5.0);
        assert!(validate(std::slice::from_ref(&ok), &[]).is_ok());
        assert!(
            validate(&[ok.clone(), ok.clone()], &[]).is_err(),
            "a code twice"
        );
        let mut no_type = ok.clone();
        no_type.site_types.clear();
        assert!(validate(&[no_type], &[]).is_err());
        let negative = indicator(
            ScoringRule::PerOccurrence {
                deduct: -1.0,
                cap: 3.0,
            },
            5.0,
        );
        assert!(validate(&[negative], &[]).is_err());
        let mut case = ok.clone();
        case.category = Some("0602".into());
        assert!(validate(std::slice::from_ref(&case), &["0101"]).is_err());
        assert!(validate(&[case], &["0602"]).is_ok());
    }

    #[test]
    fn a_sites_rate_counts_only_what_applies_to_its_type() {
        let mut market = indicator(ScoringRule::PassFail, 5.0);
        market.code = "m".into();
        market.site_types = vec!["农贸市场".into()];
        let stop = indicator(
            ScoringRule::PerOccurrence {
                deduct: 1.0,
                cap: 3.0,
            },
            5.0,
        );
        let all = [market, stop];
        let (got, possible) = site_score(
            &all,
            "公交站台",
            &[("1".into(), Finding::Occurrences { count: 2 })],
        );
        assert_eq!((got, possible), (3.0, 5.0));
        assert_eq!(score_rate(got, possible), Some(0.6));
        // Unrecorded: not met.
        assert_eq!(site_score(&all, "农贸市场", &[]), (0.0, 5.0));
        assert_eq!(score_rate(0.0, 0.0), None);
    }

    fn rule() -> impl Strategy<Value = ScoringRule> {
        prop_oneof![
            Just(ScoringRule::PassFail),
            (0.0..10.0f64, 0.0..50.0f64)
                .prop_map(|(deduct, cap)| ScoringRule::PerOccurrence { deduct, cap }),
            (0.0..5.0f64, 0.0..10.0f64).prop_map(|(per_unit, deduct)| ScoringRule::Quota {
                per_unit,
                unit_label: "个".into(),
                deduct,
            }),
        ]
    }

    fn finding() -> impl Strategy<Value = Finding> {
        prop_oneof![
            Just(Finding::Pass),
            Just(Finding::Fail),
            (0u32..1000).prop_map(|count| Finding::Occurrences { count }),
            (0u32..1000, 0.0..100.0f64)
                .prop_map(|(found, units)| Finding::Counted { found, units }),
        ]
    }

    proptest! {
        /// Whatever the rule and the finding: between nothing and the full points, a pass keeps
        /// them all, and more problems never score better.
        #[test]
        fn points_stay_within_the_indicator(r in rule(), f in finding(), points in 0.0..100.0f64) {
            let ind = indicator(r.clone(), points);
            let kept = points_kept(&ind, f);
            prop_assert!((0.0..=points).contains(&kept));
            prop_assert_eq!(points_kept(&ind, Finding::Pass), points);
            match f {
                Finding::Occurrences { count } => {
                    let worse = points_kept(&ind, Finding::Occurrences { count: count + 1 });
                    prop_assert!(worse <= kept);
                }
                Finding::Counted { found, units } if found > 0 => {
                    let fewer = points_kept(&ind, Finding::Counted { found: found - 1, units });
                    prop_assert!(fewer <= kept);
                }
                _ => {}
            }
            if let ScoringRule::PerOccurrence { cap, .. } = r {
                let many = points_kept(&ind, Finding::Occurrences { count: u32::MAX });
                prop_assert!(many >= (points - cap.max(0.0)).max(0.0) - 1e-9);
            }
        }
    }
}
