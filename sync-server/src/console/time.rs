//! The city's clock in the console: every date and time a page shows, and every date a filter
//! or a form reads, is in the time zone of the reference data's working calendar
//! ([`WorkCalendar`]), never a fixed offset.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use xuncha_core::calendar::WorkCalendar;

use crate::state::AppState;

/// The working calendar of the reference data the server holds now.
pub fn calendar(state: &AppState) -> WorkCalendar {
    state.store.reference_index().calendar.clone()
}

fn format(cal: &WorkCalendar, ms: i64, pattern: &str) -> String {
    cal.zone()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format(pattern).to_string())
        .unwrap_or_default()
}

/// A date as month-day, for chart axes.
pub fn day(cal: &WorkCalendar, ms: i64) -> String {
    format(cal, ms, "%m-%d")
}

/// A moment as people read it: month-day hour:minute.
pub fn when(cal: &WorkCalendar, ms: i64) -> String {
    format(cal, ms, "%m-%d %H:%M")
}

/// A moment as the value of a `datetime-local` field.
pub fn local_input(cal: &WorkCalendar, ms: i64) -> String {
    format(cal, ms, "%Y-%m-%dT%H:%M")
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, the city's wall clock) in UTC ms.
pub fn parse_local_input(cal: &WorkCalendar, v: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|t| t.and_local_timezone(cal.zone()).single())
        .map(|t| t.timestamp_millis())
}

/// The city's date at the server's `now_ms` (the server's clock, which tests may move).
pub fn today(cal: &WorkCalendar, now_ms: i64) -> NaiveDate {
    cal.local_date(now_ms)
}

/// The city's midnight starting `d`, in UTC ms.
pub fn midnight_ms(cal: &WorkCalendar, d: NaiveDate) -> i64 {
    cal.day_start_ms(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_s_offset_decides_dates_and_times() {
        let beijing = WorkCalendar::default();
        let utc = WorkCalendar {
            utc_offset_minutes: 0,
            ..WorkCalendar::default()
        };
        // 2026-12-05 20:30 UTC is already the 6th in Beijing.
        let ms = 1_796_502_600_000;
        assert_eq!(when(&beijing, ms), "12-06 04:30");
        assert_eq!(when(&utc, ms), "12-05 20:30");
        assert_eq!(day(&beijing, ms), "12-06");
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).expect("date");
        assert_eq!(midnight_ms(&beijing, d), 1_796_486_400_000);
        assert_eq!(midnight_ms(&utc, d), 1_796_515_200_000);
        assert_eq!(
            parse_local_input(&beijing, &local_input(&beijing, ms)),
            Some(ms)
        );
        assert_eq!(parse_local_input(&utc, "2026-12-05T20:30"), Some(ms));
        assert_eq!(parse_local_input(&utc, "tomorrow"), None);
    }
}
