//! `GET /console/ranking?from=YYYY-MM-DD&to=YYYY-MM-DD`: units ranked for a period (Beijing
//! dates, `to` inclusive; default the last 7 days) by the rules of `xuncha_core::kpi`, site
//! coverage, and daily charts of new / closed / overdue cases drawn on the server as SVG.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashSet;
use xuncha_core::calendar::WorkCalendar;

use xuncha_core::area::AreaTree;
use xuncha_core::kpi::{CaseFacts, DayFlow, UnitScore, coverage_of, daily_flow_facts, rank_facts};
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope::{CaseKeys, Reach};

use super::filter::Period;
use super::i18n::{Lang, t};
use super::pages::{layout, unit_name};
use super::session::{Console, Session};
use super::time::{calendar, day, midnight_ms, today};
use crate::state::AppState;
use crate::store::Principal;
use crate::store::case_list::CaseFilter;

/// The period in a query string, and the area it is cut to (with everything below it).
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    area: Option<String>,
}

/// Which cases a period's figures are over: those the person's reach holds, cut to an area's
/// subtree when one is asked for.
pub struct PeriodScope {
    reach: Reach,
    cut: Option<HashSet<String>>,
    /// The area the figures are for (the cut, else the person's own area), if not the city.
    pub area: Option<String>,
}

impl PeriodScope {
    fn new(reach: Reach, cut: Option<&str>, tree: &AreaTree) -> PeriodScope {
        let cut = cut.map(str::trim).filter(|a| !a.is_empty());
        let area = cut.map(str::to_string).or(match &reach {
            Reach::Within { area, .. } => Some(area.clone()),
            _ => None,
        });
        PeriodScope {
            cut: cut.map(|a| tree.subtree(a)),
            reach,
            area,
        }
    }

    /// The office whose bulletin this is, for its 第N期 sequence: `""` for the city's (no area,
    /// or the tree's root), else the area — one the tree knows and the person's reach holds,
    /// so nobody takes numbers from another office's sequence or makes up one.
    pub fn office(&self, tree: &AreaTree) -> Result<String, (&'static str, &'static str)> {
        let Some(a) = self.area.as_deref() else {
            return Ok(String::new());
        };
        if tree.root() == Some(a) {
            return Ok(String::new());
        }
        if tree.get(a).is_none() {
            return Err(("没有这个区域。", "No such area."));
        }
        match &self.reach {
            Reach::Within { areas, .. } if !areas.contains(a) => Err((
                "该区域不在您的管辖范围内。",
                "That area is outside your reach.",
            )),
            _ => Ok(a.to_string()),
        }
    }

    /// Does a case of this unit, placed in this area, count?
    pub fn holds(&self, unit: Option<&str>, area: Option<&str>) -> bool {
        self.reach.sees(CaseKeys {
            unit_id: unit,
            reporter_id: "",
            area_id: area,
        }) && self
            .cut
            .as_ref()
            .is_none_or(|c| area.is_some_and(|a| c.contains(a)))
    }

    /// Does a round of this area count? A city-wide round counts only in the city's figures.
    pub fn holds_round(&self, round: &xuncha_core::round::Round) -> bool {
        match round.area_id.as_deref() {
            None => self.cut.is_none() && matches!(self.reach, Reach::Everything),
            Some(a) => self.holds(None, Some(a)),
        }
    }

    /// The areas whose units and sites are listed (none: the whole city's).
    fn areas(&self) -> Option<HashSet<String>> {
        let within = match &self.reach {
            Reach::Within { areas, .. } => Some(areas),
            _ => None,
        };
        match (&self.cut, within) {
            (Some(c), Some(w)) => Some(c.intersection(w).cloned().collect()),
            (Some(c), None) => Some(c.clone()),
            (None, Some(w)) => Some(w.clone()),
            (None, None) => None,
        }
    }

    /// The cases `who` may see, as a list filter (the overdue annex).
    pub fn case_filter(&self) -> Option<CaseFilter> {
        let mut f = CaseFilter::for_reach(&self.reach)?;
        if let Some(c) = &self.cut {
            let mut v: Vec<String> = c.iter().cloned().collect();
            v.sort();
            f.areas = Some(v);
        }
        Some(f)
    }
}

/// A ratio as a percentage, or a dash when there is nothing to divide.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// The ranking and the bulletin are for supervisors (and admins): a page saying so otherwise.
pub fn supervisors_only(lang: Lang, who: &Principal, session: &Session) -> Option<Response> {
    super::pages::office_only(
        lang,
        who,
        session,
        (
            "单位排名和督查通报仅督查人员可见。",
            "The unit ranking and the bulletin are for supervisors.",
        ),
    )
}

/// The daily charts cover at most this many days (the end of a longer period).
const MAX_CHART_DAYS: usize = 366;

/// Everything the ranking page and the bulletin show for a period.
pub struct PeriodData {
    pub period: Period,
    pub reference: ReferenceData,
    /// Whose cases, and the area they are cut to.
    pub scope: PeriodScope,
    pub ranked: Vec<UnitScore>,
    /// The areas right below the one the figures are for (the city's districts, a district's
    /// streets), each scored like a unit over the cases placed in it (`unit_id` is the area).
    pub areas: Vec<UnitScore>,
    /// (sites with a report in the period, all sites).
    pub coverage: (usize, usize),
    pub flow: Vec<DayFlow>,
}

/// Load and compute a period's figures: the facts from the store's SQL (a fixed number of
/// queries, over the cases that count in the period only), the figures by `kpi`.
pub async fn load_period(
    state: &AppState,
    who: &Principal,
    p: &PeriodQuery,
) -> Result<PeriodData, Response> {
    let cal = calendar(state);
    let index = state.store.reference_index();
    let tree = &index.areas;
    let scope = PeriodScope::new(state.reach(who), p.area.as_deref(), tree);
    let now = state.now_ms();
    let period = Period::parse(p.from.as_deref(), p.to.as_deref(), &cal, now);
    let (from_ms, to_ms) = period.range_ms(&cal);
    // Daily charts up to today, for the last year of the period at most.
    const DAY: i64 = 86_400_000;
    let chart_to = to_ms.min(midnight_ms(
        &cal,
        today(&cal, now) + chrono::Duration::days(1),
    ));
    let days = (((chart_to - from_ms).max(0) / DAY) as usize).min(MAX_CHART_DAYS);
    let chart_from = chart_to - days as i64 * DAY;
    let loaded = state
        .blocking(move |s| {
            Ok((
                s.reference()?.1,
                s.period_facts(from_ms, to_ms, chart_from, chart_to)?,
            ))
        })
        .await;
    let (reference, mut facts) = loaded.map_err(IntoResponse::into_response)?;
    facts
        .ranked
        .retain(|f| scope.holds(f.unit_id.as_deref(), f.area_id.as_deref()));
    facts
        .days
        .retain(|f| scope.holds(f.unit_id.as_deref(), f.area_id.as_deref()));
    let listed = scope.areas();
    let in_listed = |area: &Option<String>| match &listed {
        None => true,
        Some(set) => area.as_ref().is_some_and(|a| set.contains(a)),
    };
    let mut units: Vec<String> = reference
        .units
        .iter()
        .filter(|u| in_listed(&u.area_id))
        .map(|u| u.id.clone())
        .collect();
    if listed.is_none() {
        units.extend(facts.units.iter().cloned());
    }
    units.extend(facts.ranked.iter().filter_map(|f| f.unit_id.clone()));
    units.sort();
    units.dedup();
    let ranked = rank_facts(&units, &facts.ranked, from_ms, to_ms, &reference.scoring);
    let areas = compare_areas(
        tree,
        scope.area.as_deref(),
        &facts.ranked,
        from_ms,
        to_ms,
        &reference,
    );
    let sites: Vec<String> = reference
        .sites
        .iter()
        .filter(|s| in_listed(&s.area_id))
        .map(|s| s.id.clone())
        .collect();
    let reported: Vec<&str> = facts.sites.iter().map(String::as_str).collect();
    let coverage = coverage_of(&sites, &reported);
    let flow = daily_flow_facts(&facts.days, chart_from, days, DAY, now);
    Ok(PeriodData {
        period,
        reference,
        scope,
        ranked,
        areas,
        coverage,
        flow,
    })
}

/// The areas right below `base` (the city when none), each scored over the cases placed in
/// its subtree, best first, by core's ranking rules.
fn compare_areas(
    tree: &AreaTree,
    base: Option<&str>,
    facts: &[CaseFacts],
    from_ms: i64,
    to_ms: i64,
    reference: &ReferenceData,
) -> Vec<UnitScore> {
    let Some(base) = base.or(tree.root()) else {
        return Vec::new();
    };
    let children = tree.children(base).to_vec();
    if children.is_empty() {
        return Vec::new();
    }
    // Each case under the child of `base` its place lies in.
    let relabelled: Vec<CaseFacts> = facts
        .iter()
        .filter_map(|f| {
            let area = f.area_id.as_deref()?;
            let child = tree
                .ancestors(area)
                .into_iter()
                .find(|a| tree.parent(a) == Some(base))?;
            Some(CaseFacts {
                unit_id: Some(child.to_string()),
                ..f.clone()
            })
        })
        .collect();
    rank_facts(&children, &relabelled, from_ms, to_ms, &reference.scoring)
}

/// A bar chart of one series per day, as inline SVG (no chart library, nothing downloaded).
fn day_chart(
    lang: Lang,
    cal: &WorkCalendar,
    title: &str,
    color: &str,
    days: &[DayFlow],
    value: fn(&DayFlow) -> u32,
) -> Markup {
    let (w, h, pad) = (560.0_f64, 160.0_f64, 28.0_f64);
    let max = days.iter().map(value).max().unwrap_or(0).max(1) as f64;
    let n = days.len().max(1) as f64;
    let slot = (w - pad) / n;
    let bar = (slot * 0.7).max(1.0);
    let total: u32 = days.iter().map(value).sum();
    html! {
        figure.chart {
            figcaption { (title) " · " (t(lang, "合计", "total")) " " (total) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {w} {h}")) role="img" aria-label=(title) {
                line x1=(pad) y1=(h - 20.0) x2=(w) y2=(h - 20.0) stroke="#9aa5b1" {}
                text x="0" y="12" font-size="11" fill="#616e7c" { (max as u32) }
                @for (i, d) in days.iter().enumerate() {
                    @let v = value(d) as f64;
                    @let bh = (h - 40.0) * v / max;
                    @let x = pad + i as f64 * slot + (slot - bar) / 2.0;
                    rect x=(format!("{x:.1}")) y=(format!("{:.1}", h - 20.0 - bh)) width=(format!("{bar:.1}")) height=(format!("{bh:.1}")) fill=(color) {
                        title { (day(cal, d.day_start_ms)) ": " (v as u32) }
                    }
                    @if days.len() <= 14 || i % (days.len() / 7).max(1) == 0 {
                        text x=(format!("{:.1}", x + bar / 2.0)) y=(h - 6.0) font-size="10" text-anchor="middle" fill="#616e7c" { (day(cal, d.day_start_ms)) }
                    }
                }
            }
        }
    }
}

/// The ranking page.
pub async fn ranking(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Query(p): Query<PeriodQuery>,
) -> Response {
    if let Some(r) = supervisors_only(lang, &who, &session) {
        return r;
    }
    let data = match load_period(&state, &who, &p).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (from, to) = (data.period.from, data.period.to);
    let (inspected, sites) = data.coverage;
    let title = t(lang, "责任单位排名", "Unit ranking");
    let index = state.store.reference_index();
    let tree = &index.areas;
    let area_choices = super::areas::area_options(tree, &state.reach(&who), lang);
    let cut = p.area.clone().unwrap_or_default();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &from.to_string())
        .append_pair("to", &to.to_string())
        .append_pair("area", cut.trim())
        .finish();
    layout(lang, &who, &session, title, html! {
        h1 { (title) @if let Some(a) = &data.scope.area { " · " (tree.name(a, lang)) } }
        form.act method="get" action="/console/ranking" {
            label { (t(lang, "从", "From")) " " input type="date" name="from" value=(from.to_string()); }
            label { (t(lang, "到", "to")) " " input type="date" name="to" value=(to.to_string()); }
            @if !area_choices.is_empty() {
                select name="area" aria-label=(t(lang, "区域", "Area")) {
                    option value="" { (t(lang, "全部区域", "All areas")) }
                    @for (id, label) in &area_choices { option value=(id) selected[id == cut.trim()] { (label) } }
                }
            }
            button.primary type="submit" { (t(lang, "查询", "Show")) }
            a #bulletin href=(format!("/console/bulletin.xlsx?{query}")) { (t(lang, "下载督查通报 (Excel)", "Download bulletin (Excel)")) }
            " "
            a #bulletin-docx href=(format!("/console/bulletin.docx?{query}")) { (t(lang, "下载督查通报 (Word)", "Download bulletin (Word)")) }
        }
        div.scroll tabindex="0" role="region" aria-label=(t(lang, "单位排名（可横向滚动）", "Ranking (scrolls sideways)")) { table #ranking {
            tr {
                th { (t(lang, "名次", "Rank")) } th { (t(lang, "单位", "Unit")) }
                th { (t(lang, "应结案", "Due")) } th { (t(lang, "已结案", "Closed")) }
                th { "结案率" } th { "按期结案率" } th { "返工率" } th { "延期率" }
                th { (t(lang, "平均整改时长(小时)", "Mean hours to rectify")) }
                th { (t(lang, "逾期未整改", "Overdue")) }
                th { (t(lang, "被催办", "Urged")) }
                th { (t(lang, "被督办", "Escalated")) }
                th { (t(lang, "复发", "Recurred")) }
                th { (t(lang, "扣分", "Deductions")) } th { (t(lang, "综合得分", "Score")) }
            }
            @for (i, s) in data.ranked.iter().enumerate() {
                tr data-unit=(s.unit_id) {
                    td { (i + 1) } td { (unit_name(&data.reference, Some(&s.unit_id))) }
                    td.due { (s.due) } td.closed { (s.closed) }
                    td { (pct(s.close_rate())) } td { (pct(s.on_time_rate())) }
                    td { (pct(s.rework_rate())) } td { (pct(s.extension_rate())) }
                    td { (s.mean_hours_to_rectify.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into())) }
                    td.overdue { (s.overdue) }
                    td.urged { (s.urged) }
                    td.escalated { (s.escalated) }
                    td.recurred { (s.recurred) }
                    td { (format!("{:.1}", s.deductions)) } td.score { (format!("{:.1}", s.score)) }
                }
            }
        } }
        p.muted #scoring { (t(lang, "口径：应结案=期限落在期间内的案件；结案率=已结案/应结案；按期结案率=按期结案/(应结案−挂账)；返工率=曾被退回的已结案/已结案；延期率=获批延期/派遣；逾期未整改=到期仍在单位手中未整改的案件；被催办=期间内督查人员对单位所办案件的催办次数；被督办=期间内单位所办案件被提级督办的次数；复发=期间内单位已结案件被重新打开（回头看发现复发）的次数。",
            "Definitions: due = deadline in the period; close rate = closed/due; on-time = closed on time/(due − parked); rework = closed after a send-back/closed; extension = extended/dispatched; overdue = due and still unrectified with the unit; urged = times a supervisor urged the unit in the period; escalated = times a case the unit holds was escalated to the level above in the period; recurred = times a closed case of the unit was reopened (found again on a re-check) in the period.")) " " (data.reference.scoring.formula(lang)) }
        @if !data.areas.is_empty() {
            h2 { (t(lang, "区域对比", "Areas compared")) }
            div.scroll tabindex="0" role="region" aria-label=(t(lang, "区域对比（可横向滚动）", "Areas compared (scrolls sideways)")) { table #areas {
                tr {
                    th { (t(lang, "名次", "Rank")) } th { (t(lang, "区域", "Area")) }
                    th { (t(lang, "应结案", "Due")) } th { (t(lang, "已结案", "Closed")) }
                    th { "结案率" } th { "按期结案率" }
                    th { (t(lang, "逾期未整改", "Overdue")) } th { (t(lang, "被催办", "Urged")) }
                    th { (t(lang, "被督办", "Escalated")) }
                    th { (t(lang, "复发", "Recurred")) }
                    th { (t(lang, "综合得分", "Score")) }
                }
                @for (i, s) in data.areas.iter().enumerate() {
                    tr data-area=(s.unit_id) {
                        td { (i + 1) }
                        td { a href=(format!("/console/ranking?from={from}&to={to}&area={}", s.unit_id)) { (tree.name(&s.unit_id, lang)) } }
                        td.due { (s.due) } td.closed { (s.closed) }
                        td { (pct(s.close_rate())) } td { (pct(s.on_time_rate())) }
                        td.overdue { (s.overdue) } td.urged { (s.urged) }
                        td.escalated { (s.escalated) }
                        td.recurred { (s.recurred) }
                        td.score { (format!("{:.1}", s.score)) }
                    }
                }
            } }
        }
        div.card #coverage {
            h1 { (t(lang, "点位覆盖率", "Site coverage")) ": "
                (if sites == 0 { "—".to_string() } else { format!("{:.1}%", inspected as f64 * 100.0 / sites as f64) }) }
            p.muted { (inspected) " / " (sites) " " (t(lang, "个点位在期间内有巡查上报", "sites had an inspection report in the period")) }
        }
        div.charts.scroll tabindex="0" role="region" aria-label=(t(lang, "每日走势图", "Daily charts")) {
            (day_chart(lang, &data.reference.calendar, t(lang, "每日新增", "New per day"), "#1e88e5", &data.flow, |d| d.new))
            (day_chart(lang, &data.reference.calendar, t(lang, "每日结案", "Closed per day"), "#43a047", &data.flow, |d| d.closed))
            (day_chart(lang, &data.reference.calendar, t(lang, "每日日终逾期", "Overdue at day end"), "#b71c1c", &data.flow, |d| d.overdue))
        }
    })
    .into_response()
}
