//! What a bulletin says, gathered once for both formats.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use xuncha_core::calendar::WorkCalendar;
use xuncha_core::kpi::UnitScore;
use xuncha_core::limits::EXPORT_ROWS;
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;

use super::super::boards::Board;
use super::super::pages::{category_name, unit_name, user_name};
use super::super::ranking::{PeriodQuery, load_period};
use super::text;
use crate::state::AppState;
use crate::store::{BulletinIssue, Principal};

/// A unit's line in the ranking annex.
pub struct RankRow {
    /// The unit's name.
    pub unit: String,
    /// Its figures.
    pub score: UnitScore,
}

/// A case in the overdue annex, with its times on the city's wall clock.
pub struct OverdueRow {
    pub case_no: String,
    pub status: &'static str,
    pub category: String,
    pub description: String,
    pub address: String,
    pub unit: String,
    pub reporter: String,
    pub reported: Option<NaiveDateTime>,
    pub deadline: Option<NaiveDateTime>,
    /// Whole days past the deadline at the date of issue.
    pub days_late: i64,
}

impl OverdueRow {
    /// The text columns, in the annex's order (the two times and the days late follow).
    pub fn texts(&self) -> [String; 7] {
        [
            self.case_no.clone(),
            self.status.to_string(),
            self.category.clone(),
            self.description.clone(),
            self.address.clone(),
            self.unit.clone(),
            self.reporter.clone(),
        ]
    }
}

/// A site where problems were found more than once in the period.
pub struct RepeatRow {
    pub site: String,
    pub address: String,
    pub times: usize,
    pub open: usize,
    pub categories: String,
}

/// One bulletin: its heading, its words and its annexes.
pub struct Bulletin {
    /// The title above the number (settings), e.g. 创文督查通报.
    pub title: String,
    /// The issuing office (settings).
    pub office: String,
    /// 第N期 of its year.
    pub issue: BulletinIssue,
    /// The date of issue (the first download of this period's bulletin).
    pub issued_on: NaiveDate,
    /// The area it is about (a district's bulletin), none for the whole city.
    pub area: Option<String>,
    /// The period, both days included.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The summary, one paragraph per item.
    pub summary: Vec<String>,
    pub ranking: Vec<RankRow>,
    pub overdue: Vec<OverdueRow>,
    /// All cases overdue now (the annex lists at most [`EXPORT_ROWS`]).
    pub overdue_total: u64,
    pub repeats: Vec<RepeatRow>,
    /// How the composite score is computed, in words.
    pub formula: String,
}

/// A moment on the city's wall clock.
pub fn local(cal: &WorkCalendar, ms: i64) -> Option<NaiveDateTime> {
    cal.zone()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.naive_local())
}

impl Bulletin {
    /// Load a period's bulletin: the ranking's figures, the cases overdue now, the repeated
    /// sites, and the period's issue number (taken on the first load).
    pub async fn load(
        state: &AppState,
        who: &Principal,
        p: &PeriodQuery,
    ) -> Result<Bulletin, Response> {
        let data = load_period(state, who, p).await?;
        let now = state.now_ms();
        let r = &data.reference;
        let cal = &r.calendar;
        let (from_ms, to_ms) = data.period.range_ms(cal);
        // The cases overdue now that the person's reach (and the cut) holds.
        let overdue_filter = data
            .scope
            .case_filter()
            .map(|base| Board::Overdue.filter(&base, now));
        let (from, to) = (data.period.from, data.period.to);
        let (from_s, to_s) = (from.to_string(), to.to_string());
        // Numbered in the year of issue, as an office numbers what it sends out: each office
        // (the city's, or the area the bulletin is for) in its own sequence.
        let year = cal.local_date(now).year();
        let office = match data.scope.office(&state.store.reference_index().areas) {
            Ok(o) => o,
            Err((zh, en)) => {
                let said = format!("{zh} / {en}");
                return Err((axum::http::StatusCode::BAD_REQUEST, said).into_response());
            }
        };
        let loaded = state
            .blocking(move |s| {
                let (overdue, total) = match &overdue_filter {
                    Some(f) => (s.list_cases(f, 0, EXPORT_ROWS)?, s.count_cases(f)?),
                    None => (Vec::new(), 0),
                };
                // The rounds whose results came out in the period, with their reports.
                let index = s.reference_index();
                let rounds: Vec<_> = s
                    .rounds_reported(from_ms, to_ms)?
                    .into_iter()
                    .map(|(round, tasks)| {
                        let r = xuncha_core::round_report::report(&round, &tasks, &index);
                        (round, r)
                    })
                    .collect();
                Ok((
                    overdue,
                    total,
                    s.repeated_at_sites(from_ms, to_ms)?,
                    s.bulletin_issue(&office, &from_s, &to_s, year, now)?,
                    rounds,
                ))
            })
            .await;
        let (overdue, overdue_total, mut repeated, issue, mut rounds) =
            loaded.map_err(IntoResponse::into_response)?;
        rounds.retain(|(round, _)| data.scope.holds_round(round));
        repeated.retain(|c| data.scope.holds(c.unit_id.as_deref(), c.area_id.as_deref()));
        let issued_on = cal.local_date(issue.issued_ms);
        let ranking: Vec<RankRow> = data
            .ranked
            .iter()
            .map(|s| RankRow {
                unit: unit_name(r, Some(&s.unit_id)),
                score: s.clone(),
            })
            .collect();
        let overdue = overdue_rows(&overdue, r, issued_on);
        let repeats = repeat_rows(&repeated, r);
        let tree = xuncha_core::area::AreaTree::new(&r.areas);
        let areas: Vec<RankRow> = data
            .areas
            .iter()
            .map(|s| RankRow {
                unit: tree.name(&s.unit_id, xuncha_core::Lang::ZhCn),
                score: s.clone(),
            })
            .collect();
        let found: u32 = data.flow.iter().map(|d| d.new).sum();
        let closed: u32 = data.flow.iter().map(|d| d.closed).sum();
        let summary = text::summary(&text::Facts {
            office: &r.bulletin.office,
            from,
            to,
            issued_on,
            found,
            closed,
            ranking: &ranking,
            overdue_total,
            repeats: &repeats,
            coverage: data.coverage,
            areas: &areas,
            rounds: &rounds,
        });
        let area = data
            .scope
            .area
            .as_deref()
            .map(|a| tree.name(a, xuncha_core::Lang::ZhCn));
        Ok(Bulletin {
            title: r.bulletin.title.clone(),
            office: r.bulletin.office.clone(),
            issue,
            issued_on,
            area,
            from,
            to,
            summary,
            ranking,
            overdue,
            overdue_total,
            repeats,
            formula: r.scoring.formula(xuncha_core::Lang::ZhCn),
        })
    }

    /// `xuncha-bulletin-2026-11-30-2026-12-06.xlsx`.
    pub fn file_name(&self, ext: &str) -> String {
        format!("xuncha-bulletin-{}-{}.{ext}", self.from, self.to)
    }

    /// 2026年第12期.
    pub fn number(&self) -> String {
        format!("{}年第{}期", self.issue.year, self.issue.number)
    }

    /// The heading of the text: 关于2026年11月30日至12月6日问题整改情况的通报, with the area
    /// first for an area's bulletin (关于西湖区2026年…).
    pub fn heading(&self) -> String {
        format!(
            "关于{}{}问题整改情况的通报",
            self.area.as_deref().unwrap_or(""),
            text::period_zh(self.from, self.to)
        )
    }
}

fn overdue_rows(cases: &[Case], r: &ReferenceData, issued_on: NaiveDate) -> Vec<OverdueRow> {
    let cal = &r.calendar;
    cases
        .iter()
        .map(|c| OverdueRow {
            case_no: c.case_no.clone().unwrap_or_default(),
            status: c.status.label_zh(),
            category: category_name(r, &c.category),
            description: c.description.clone(),
            address: c.location.address.clone(),
            unit: unit_name(r, c.unit_id.as_deref()),
            reporter: user_name(r, &c.reporter_id),
            reported: local(cal, c.reported_at_ms),
            deadline: c.deadline_ms.and_then(|ms| local(cal, ms)),
            days_late: c
                .deadline_ms
                .map(|ms| (issued_on - cal.local_date(ms)).num_days().max(0))
                .unwrap_or(0),
        })
        .collect()
}

fn repeat_rows(cases: &[Case], r: &ReferenceData) -> Vec<RepeatRow> {
    let mut by_site: BTreeMap<&str, Vec<&Case>> = BTreeMap::new();
    for c in cases {
        if let Some(site) = c.site_id.as_deref() {
            by_site.entry(site).or_default().push(c);
        }
    }
    let mut rows: Vec<RepeatRow> = by_site
        .into_iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(site, cases)| {
            let s = r.sites.iter().find(|s| s.id == site);
            let mut kinds: Vec<String> = cases
                .iter()
                .map(|c| category_name(r, &c.category))
                .collect();
            kinds.sort();
            kinds.dedup();
            RepeatRow {
                site: s.map(|s| s.name.clone()).unwrap_or_else(|| site.into()),
                address: s.map(|s| s.address.clone()).unwrap_or_default(),
                times: cases.len(),
                open: cases.iter().filter(|c| c.status.is_open()).count(),
                categories: kinds.join("、"),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.times.cmp(&a.times).then_with(|| a.site.cmp(&b.site)));
    rows
}
