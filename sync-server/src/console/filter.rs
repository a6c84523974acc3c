//! What the boards and exports filter by (unit, category, area, campaign, report dates) and the
//! console's calendar: Beijing dates, periods as `[from, to)` in UTC ms.

use axum::response::{IntoResponse, Response};
use chrono::{Duration, FixedOffset, NaiveDate, TimeZone};
use serde::Deserialize;
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope;
use xuncha_core::workflow::{Role, Status};

use crate::state::AppState;
use crate::store::Principal;

/// Cases still with a unit or waiting for its check.
pub const OPEN: [Status; 4] = [
    Status::Dispatched,
    Status::InProgress,
    Status::ReturnRequested,
    Status::Rectified,
];

/// The boards' and exports' filter, from the query string; empty fields do not filter.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    /// Responsible unit id (ignored for unit staff: always their own).
    #[serde(default)]
    pub unit: String,
    /// Category code or class prefix ("01" or "0101").
    #[serde(default)]
    pub category: String,
    /// Area: the grid (网格) the case lies in.
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
    /// The test a case must pass (the unit is applied by the query itself); the filter's
    /// fields are read once, not once per case.
    pub fn matcher(&self) -> impl Fn(&Case) -> bool + use<> {
        let category = self.category.trim().to_string();
        let grid = self.grid.trim().to_string();
        let campaign = self.campaign.trim().to_string();
        let from = parse_date(&self.from).map(midnight_ms);
        let to = parse_date(&self.to).map(|d| midnight_ms(d + Duration::days(1)));
        move |c: &Case| {
            (category.is_empty() || c.category.starts_with(&category))
                && (grid.is_empty() || c.grid_id.as_deref() == Some(grid.as_str()))
                && (campaign.is_empty() || c.campaign_id.as_deref() == Some(campaign.as_str()))
                && from.is_none_or(|f| c.reported_at_ms >= f)
                && to.is_none_or(|t| c.reported_at_ms < t)
        }
    }

    /// The filter as a query string, for links to exports of the same cases.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("unit", self.unit.trim())
            .append_pair("category", self.category.trim())
            .append_pair("grid", self.grid.trim())
            .append_pair("campaign", self.campaign.trim())
            .append_pair("from", self.from.trim())
            .append_pair("to", self.to.trim())
            .finish()
    }
}

/// The open cases `who` may see that pass `f`, with the reference data to name things.
pub async fn open_cases(
    state: &AppState,
    who: &Principal,
    f: &Filter,
) -> Result<(Vec<Case>, ReferenceData), Response> {
    let unit = match who.user.role {
        Role::UnitStaff => who.user.unit_id.clone(),
        _ => Some(f.unit.trim().to_string()).filter(|u| !u.is_empty()),
    };
    let actor = who.actor();
    let keep = f.matcher();
    state
        .blocking(move |s| {
            let cases = s
                .cases(&OPEN, unit.as_deref(), 5_000)?
                .into_iter()
                .filter(|c| scope::can_see(&actor, c) && keep(c))
                .collect();
            Ok((cases, s.reference()?.1))
        })
        .await
        .map_err(IntoResponse::into_response)
}

/// China Standard Time: the campaign office's calendar.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or(FixedOffset::east_opt(0).expect("UTC"))
}

/// Today in Beijing.
pub fn today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&beijing()).date_naive()
}

/// Beijing midnight of `d`, in UTC ms.
pub fn midnight_ms(d: NaiveDate) -> i64 {
    beijing()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

/// A `YYYY-MM-DD` date, if it is one.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// A period of whole Beijing days, `to` inclusive.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// From query values; default: the 7 days up to today.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Period {
        let to = to.and_then(parse_date).unwrap_or_else(today);
        let from = from
            .and_then(parse_date)
            .filter(|f| *f <= to)
            .unwrap_or(to - Duration::days(6));
        Period { from, to }
    }

    /// `[from, to)` in UTC ms.
    pub fn range_ms(&self) -> (i64, i64) {
        (
            midnight_ms(self.from),
            midnight_ms(self.to + Duration::days(1)),
        )
    }
}
