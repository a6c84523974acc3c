//! What the boards and exports filter by (unit, category, area, campaign, report dates), and
//! periods of the city's whole days as `[from, to)` in UTC ms.

use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use xuncha_core::area::AreaTree;
use xuncha_core::calendar::WorkCalendar;
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope::Reach;
use xuncha_core::workflow::Status;

use super::time::{calendar, midnight_ms, today};
use crate::state::AppState;
use crate::store::Principal;
use crate::store::case_list::CaseFilter;
use xuncha_core::limits::EXPORT_ROWS;

/// The boards' and exports' filter, from the query string; empty fields do not filter.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    /// Responsible unit id (ignored for unit staff: always their own).
    #[serde(default)]
    pub unit: String,
    /// Category code or class prefix ("01" or "0101").
    #[serde(default)]
    pub category: String,
    /// Area (区/街道): cases placed in it or below it.
    #[serde(default)]
    pub area: String,
    /// The grid (网格) the case lies in.
    #[serde(default)]
    pub grid: String,
    /// Campaign (专项行动).
    #[serde(default)]
    pub campaign: String,
    /// Reported on or after this Beijing date (YYYY-MM-DD).
    #[serde(default)]
    pub from: String,
    /// Reported on or before this Beijing date.
    #[serde(default)]
    pub to: String,
}

impl Filter {
    /// The filter as a query string, for links to exports of the same cases.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("unit", self.unit.trim())
            .append_pair("category", self.category.trim())
            .append_pair("area", self.area.trim())
            .append_pair("grid", self.grid.trim())
            .append_pair("campaign", self.campaign.trim())
            .append_pair("from", self.from.trim())
            .append_pair("to", self.to.trim())
            .finish()
    }
}

impl Filter {
    /// The filter as SQL for someone of `reach`, over `statuses`: unit staff see their unit's
    /// cases, inspectors their own reports and an area's supervisors their area whatever the
    /// query says. `None` when nothing can match: the reach holds no case, or a field holds a
    /// control character, which no stored id or code has (and PostgreSQL refuses NUL in text).
    pub fn case_filter(
        &self,
        reach: &Reach,
        statuses: &[Status],
        cal: &WorkCalendar,
        areas: &AreaTree,
    ) -> Option<CaseFilter> {
        let fields = [
            &self.unit,
            &self.category,
            &self.area,
            &self.grid,
            &self.campaign,
        ];
        if fields.iter().any(|v| v.chars().any(char::is_control)) {
            return None;
        }
        let text = |s: &str| Some(s.trim().to_string()).filter(|v| !v.is_empty());
        let scoped = CaseFilter::for_reach(reach)?;
        let mut subtree: Vec<String> = text(&self.area)
            .map(|a| areas.subtree(&a).into_iter().collect())
            .unwrap_or_default();
        subtree.sort();
        Some(CaseFilter {
            statuses: statuses.to_vec(),
            unit: scoped.unit.clone().or_else(|| text(&self.unit)),
            category_prefix: text(&self.category),
            areas: text(&self.area).map(|_| subtree),
            grid: text(&self.grid),
            campaign: text(&self.campaign),
            reported_from_ms: parse_date(&self.from).map(|d| midnight_ms(cal, d)),
            reported_before_ms: parse_date(&self.to)
                .map(|d| midnight_ms(cal, d + Duration::days(1))),
            ..scoped
        })
    }
}

/// Every open case `who` may see that passes `f` (for the exports), with the reference data to
/// name things. More than [`EXPORT_ROWS`] is refused with a request to narrow the filter.
pub async fn open_cases(
    state: &AppState,
    who: &Principal,
    f: &Filter,
) -> Result<(Vec<Case>, ReferenceData), Response> {
    let reach = state.reach(who);
    let index = state.store.reference_index();
    let filter = f.case_filter(&reach, Status::OPEN, &calendar(state), &index.areas);
    let (cases, reference) = state
        .blocking(move |s| {
            let reference = s.reference()?.1;
            let Some(filter) = filter else {
                return Ok((None, reference));
            };
            if s.count_cases(&filter)? > EXPORT_ROWS as u64 {
                return Ok((Some(Err(())), reference));
            }
            let cases: Vec<Case> = s
                .list_cases(&filter, 0, EXPORT_ROWS)?
                .into_iter()
                .filter(|c| reach.can_see(c))
                .collect();
            Ok((Some(Ok(cases)), reference))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    match cases {
        None => Ok((Vec::new(), reference)),
        Some(Ok(cases)) => Ok((cases, reference)),
        Some(Err(())) => Err((
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "所选案件超过 {EXPORT_ROWS} 件，请按单位、类别或日期缩小范围后再导出 / \
                 more than {EXPORT_ROWS} cases selected: narrow the filter (unit, category, dates) \
                 and export again"
            ),
        )
            .into_response()),
    }
}

/// A `YYYY-MM-DD` date, if it is one.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// A period of the city's whole days, `to` inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// From query values; default: the 7 days up to today (at the server's `now_ms`).
    pub fn parse(from: Option<&str>, to: Option<&str>, cal: &WorkCalendar, now_ms: i64) -> Period {
        let to = to
            .and_then(parse_date)
            .unwrap_or_else(|| today(cal, now_ms));
        let from = from
            .and_then(parse_date)
            .filter(|f| *f <= to)
            .unwrap_or(to - Duration::days(6));
        Period { from, to }
    }

    /// `[from, to)` in UTC ms.
    pub fn range_ms(&self, cal: &WorkCalendar) -> (i64, i64) {
        (
            midnight_ms(cal, self.from),
            midnight_ms(cal, self.to + Duration::days(1)),
        )
    }
}
