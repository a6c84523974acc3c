//! The demo city's 测评 standard (issue 17): 30 indicators over six site types, after the
//! campaign checks of DOMAIN.md's site list — markets, back streets, main roads, old estates,
//! bus stops and school surroundings — each with its points, its rule and the category a
//! failure becomes.

use xuncha_core::standard::{Indicator, ScoringRule};

/// How an indicator of the table scores.
enum Rule {
    PassFail,
    /// Per occurrence: deduct, cap.
    Each(f64, f64),
    /// At least this many per unit of this; deduct per missing one.
    Quota(f64, &'static str, f64),
}

/// (code, text, site type, points, rule, category): a table, kept one indicator a line.
#[rustfmt::skip]
const TABLE: &[(&str, &str, &str, f64, Rule, &str)] = &[
    ("1.1", "市场内外环境整洁，无暴露垃圾、积存垃圾", "农贸市场", 5.0, Rule::Each(1.0, 5.0), "0101"),
    ("1.2", "设置公平秤，位置醒目、计量准确", "农贸市场", 3.0, Rule::PassFail, "0702"),
    ("1.3", "设置消费者投诉站，公示投诉电话", "农贸市场", 3.0, Rule::PassFail, "0702"),
    ("1.4", "经营户亮证亮照经营", "农贸市场", 3.0, Rule::Each(0.5, 3.0), "0702"),
    ("1.5", "无店外经营、占道经营", "农贸市场", 4.0, Rule::Each(1.0, 4.0), "0502"),
    ("1.6", "社会主义核心价值观公益广告每个市场不少于 2 处", "农贸市场", 4.0, Rule::Quota(2.0, "个市场", 2.0), "0701"),
    ("1.7", "消防通道畅通，无堆物占用", "农贸市场", 3.0, Rule::PassFail, "0703"),
    ("2.1", "路面平整，无坑洼、积水", "背街小巷", 3.0, Rule::Each(1.0, 3.0), "0402"),
    ("2.2", "无乱堆乱放、私搭乱建", "背街小巷", 4.0, Rule::Each(1.0, 4.0), "0105"),
    ("2.3", "无乱贴乱画、非法小广告", "背街小巷", 3.0, Rule::Each(0.5, 3.0), "0201"),
    ("2.4", "路灯完好，夜间亮灯", "背街小巷", 2.0, Rule::Each(0.5, 2.0), "0601"),
    ("2.5", "垃圾桶设置合理，无满溢", "背街小巷", 2.0, Rule::Each(0.5, 2.0), "0102"),
    ("2.6", "无飞线充电、缆线乱拉", "背街小巷", 3.0, Rule::Each(1.0, 3.0), "0403"),
    ("3.1", "公益广告每 500 米道路不少于 1 处", "主次干道", 6.0, Rule::Quota(1.0, "500 米道路", 2.0), "0701"),
    ("3.2", "机动车规范停放", "主次干道", 4.0, Rule::Each(0.5, 4.0), "0503"),
    ("3.3", "非机动车、共享单车有序停放", "主次干道", 3.0, Rule::Each(0.5, 3.0), "0504"),
    ("3.4", "人行道、盲道畅通完好", "主次干道", 4.0, Rule::Each(1.0, 4.0), "0603"),
    ("3.5", "无占道经营、流动摊贩", "主次干道", 4.0, Rule::Each(1.0, 4.0), "0501"),
    ("3.6", "道路清扫保洁到位，无遗撒", "主次干道", 3.0, Rule::Each(0.5, 3.0), "0104"),
    ("4.1", "小区内无暴露垃圾、卫生死角", "老旧小区", 4.0, Rule::Each(1.0, 4.0), "0103"),
    ("4.2", "垃圾分类收集设施齐全", "老旧小区", 2.0, Rule::PassFail, "0604"),
    ("4.3", "公益宣传栏每个小区不少于 1 处", "老旧小区", 2.0, Rule::Quota(1.0, "个小区", 2.0), "0701"),
    ("4.4", "绿地无脏乱，植被完好", "老旧小区", 2.0, Rule::Each(0.5, 2.0), "0605"),
    ("4.5", "消防通道畅通，无车辆、杂物占用", "老旧小区", 3.0, Rule::PassFail, "0703"),
    ("5.1", "站台设施完好、整洁", "公交站台", 3.0, Rule::PassFail, "0602"),
    ("5.2", "公益广告每辆公交车不少于 2 处", "公交站台", 8.0, Rule::Quota(2.0, "辆公交车", 4.0), "0701"),
    ("5.3", "站台周边非机动车有序停放", "公交站台", 2.0, Rule::Each(0.5, 2.0), "0504"),
    ("6.1", "校园周边 200 米内无流动摊贩", "校园周边", 4.0, Rule::Each(1.0, 4.0), "0501"),
    ("6.2", "无违规户外广告、破损招牌", "校园周边", 2.0, Rule::Each(1.0, 2.0), "0202"),
    ("6.3", "上下学时段交通秩序良好，机动车规范停放", "校园周边", 3.0, Rule::Each(0.5, 3.0), "0503"),
];

/// The demo city's standard.
pub fn demo_standard() -> Vec<Indicator> {
    TABLE
        .iter()
        .map(
            |(code, text, site_type, points, rule, category)| Indicator {
                code: (*code).into(),
                text: (*text).into(),
                site_types: vec![(*site_type).into()],
                points: *points,
                rule: match rule {
                    Rule::PassFail => ScoringRule::PassFail,
                    Rule::Each(deduct, cap) => ScoringRule::PerOccurrence {
                        deduct: *deduct,
                        cap: *cap,
                    },
                    Rule::Quota(per_unit, label, deduct) => ScoringRule::Quota {
                        per_unit: *per_unit,
                        unit_label: (*label).into(),
                        deduct: *deduct,
                    },
                },
                category: Some((*category).into()),
            },
        )
        .collect()
}
