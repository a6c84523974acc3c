//! Working time: deadlines in working hours (h) and working days (d) on a city's calendar
//! (time zone, office hours, weekends, public holidays and 调休 make-up working days).
//!
//! Rule: `Nd` means N working days of working time, so a case dispatched on Friday 10:00 with
//! `2d` is due on Tuesday 10:00; `Nh` counts only the minutes inside office hours.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{
    Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
    Weekday,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A default time limit such as `4h` (working hours) or `2d` (working days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineSpec {
    /// Working hours.
    Hours(u32),
    /// Working days.
    Days(u32),
}

impl fmt::Display for DeadlineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadlineSpec::Hours(h) => write!(f, "{h}h"),
            DeadlineSpec::Days(d) => write!(f, "{d}d"),
        }
    }
}

impl FromStr for DeadlineSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let bad = || Error::InvalidField {
            field: "deadline",
            reason: format!("'{s}' is not like '4h' or '2d'"),
        };
        let (num, unit) = s.split_at(s.len().saturating_sub(1));
        let n: u32 = num.parse().map_err(|_| bad())?;
        if n > 3650 {
            return Err(bad());
        }
        match unit {
            "h" => Ok(DeadlineSpec::Hours(n)),
            "d" => Ok(DeadlineSpec::Days(n)),
            _ => Err(bad()),
        }
    }
}

#[cfg(feature = "openapi")]
crate::openapi::text_schema!(
    DeadlineSpec,
    "a time limit: working hours (`4h`) or working days (`2d`)",
    "^[0-9]{1,4}[hd]$",
    "2d"
);

impl Serialize for DeadlineSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeadlineSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Office hours within a day, e.g. `08:30-12:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct WorkWindow {
    /// Start, minutes after local midnight.
    pub start_min: u32,
    /// End, minutes after local midnight (exclusive, > start).
    pub end_min: u32,
}

impl TryFrom<String> for WorkWindow {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        let parse = |t: &str| -> Option<u32> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
        };
        let (a, b) = s
            .split_once('-')
            .ok_or(format!("'{s}' is not like 08:30-12:00"))?;
        match (parse(a), parse(b)) {
            (Some(start_min), Some(end_min)) if start_min < end_min => {
                Ok(WorkWindow { start_min, end_min })
            }
            _ => Err(format!("'{s}' is not like 08:30-12:00")),
        }
    }
}

impl From<WorkWindow> for String {
    fn from(w: WorkWindow) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            w.start_min / 60,
            w.start_min % 60,
            w.end_min / 60,
            w.end_min % 60
        )
    }
}

/// A city's working calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkCalendar {
    /// Offset of local time from UTC in minutes (Asia/Shanghai: +480, no daylight saving).
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    /// Office hours, in order, not overlapping.
    #[serde(default = "default_windows")]
    pub windows: Vec<WorkWindow>,
    /// Public holidays (dates off even if a weekday).
    #[serde(default)]
    pub holidays: BTreeSet<NaiveDate>,
    /// 调休: weekend dates that are working days.
    #[serde(default)]
    pub extra_workdays: BTreeSet<NaiveDate>,
}

fn default_offset() -> i32 {
    480
}

fn default_windows() -> Vec<WorkWindow> {
    vec![
        WorkWindow {
            start_min: 8 * 60 + 30,
            end_min: 12 * 60,
        },
        WorkWindow {
            start_min: 13 * 60 + 30,
            end_min: 18 * 60,
        },
    ]
}

impl Default for WorkCalendar {
    fn default() -> Self {
        WorkCalendar {
            utc_offset_minutes: default_offset(),
            windows: default_windows(),
            holidays: BTreeSet::new(),
            extra_workdays: BTreeSet::new(),
        }
    }
}

const MS_PER_MIN: i64 = 60_000;

impl WorkCalendar {
    /// Check that the calendar can compute deadlines at all.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: &str| Error::InvalidField {
            field: "calendar",
            reason: reason.to_string(),
        };
        if self.windows.is_empty() {
            return Err(bad("no office hours"));
        }
        if self
            .windows
            .windows(2)
            .any(|w| w[0].end_min > w[1].start_min)
        {
            return Err(bad("office hours overlap or are out of order"));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(bad("UTC offset out of range"));
        }
        Ok(())
    }

    /// Is this local date a working day?
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.extra_workdays.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// Working minutes in one working day.
    pub fn minutes_per_day(&self) -> u32 {
        self.windows.iter().map(|w| w.end_min - w.start_min).sum()
    }

    /// The city's clock as a time zone (its fixed offset from UTC; UTC if the offset is out of
    /// range, which [`WorkCalendar::validate`] refuses).
    pub fn zone(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_minutes * 60).unwrap_or(Utc.fix())
    }

    /// The city's date at `utc_ms`.
    pub fn local_date(&self, utc_ms: i64) -> NaiveDate {
        self.to_local(utc_ms).date()
    }

    /// The moment (UTC ms) the city's date `d` begins.
    pub fn day_start_ms(&self, d: NaiveDate) -> i64 {
        self.to_utc_ms(d.and_time(NaiveTime::MIN))
    }

    fn to_local(&self, utc_ms: i64) -> NaiveDateTime {
        let utc = Utc
            .timestamp_millis_opt(utc_ms)
            .single()
            .unwrap_or_default()
            .naive_utc();
        utc + Duration::minutes(i64::from(self.utc_offset_minutes))
    }

    fn to_utc_ms(&self, local: NaiveDateTime) -> i64 {
        (local - Duration::minutes(i64::from(self.utc_offset_minutes)))
            .and_utc()
            .timestamp_millis()
    }

    /// The moment (UTC ms) when `spec` of working time has passed after `start_ms`.
    pub fn add(&self, start_ms: i64, spec: DeadlineSpec) -> Result<i64> {
        self.validate()?;
        let mut remaining: i64 = match spec {
            DeadlineSpec::Hours(h) => i64::from(h) * 60 * MS_PER_MIN,
            DeadlineSpec::Days(d) => i64::from(d) * i64::from(self.minutes_per_day()) * MS_PER_MIN,
        };
        let local = self.to_local(start_ms);
        let mut date = local.date();
        let mut from_ms = i64::from(local.time().num_seconds_from_midnight_ms());
        // Ten years of calendar is far more than any time limit can need.
        for _ in 0..3660 {
            if self.is_working_day(date) {
                for w in &self.windows {
                    let ws = (i64::from(w.start_min) * MS_PER_MIN).max(from_ms);
                    let we = i64::from(w.end_min) * MS_PER_MIN;
                    if ws >= we {
                        continue;
                    }
                    if remaining <= we - ws {
                        let at =
                            date.and_time(NaiveTime::MIN) + Duration::milliseconds(ws + remaining);
                        return Ok(self.to_utc_ms(at));
                    }
                    remaining -= we - ws;
                }
            }
            date = date.succ_opt().ok_or(Error::InvalidField {
                field: "deadline",
                reason: "date out of range".into(),
            })?;
            from_ms = 0;
        }
        Err(Error::InvalidField {
            field: "calendar",
            reason: "no working time in ten years".into(),
        })
    }
}

trait MsOfDay {
    fn num_seconds_from_midnight_ms(&self) -> u32;
}

impl MsOfDay for NaiveTime {
    fn num_seconds_from_midnight_ms(&self) -> u32 {
        use chrono::Timelike;
        self.num_seconds_from_midnight() * 1000 + self.nanosecond() / 1_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC ms of a Shanghai local time.
    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
        let local = NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .expect("valid test date");
        (local - Duration::hours(8)).and_utc().timestamp_millis()
    }

    #[test]
    fn parse_specs() {
        assert_eq!(
            "4h".parse::<DeadlineSpec>().ok(),
            Some(DeadlineSpec::Hours(4))
        );
        assert_eq!(
            "20d".parse::<DeadlineSpec>().ok(),
            Some(DeadlineSpec::Days(20))
        );
        for bad in ["", "h", "4", "4w", "-1d", "99999d"] {
            assert!(bad.parse::<DeadlineSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn working_days_across_a_weekend() {
        let cal = WorkCalendar::default();
        // 2026-11-20 is a Friday.
        let fri_10 = sh(2026, 11, 20, 10, 0);
        assert_eq!(
            cal.add(fri_10, DeadlineSpec::Days(1)).ok(),
            Some(sh(2026, 11, 23, 10, 0))
        );
        assert_eq!(
            cal.add(fri_10, DeadlineSpec::Days(2)).ok(),
            Some(sh(2026, 11, 24, 10, 0))
        );
    }

    #[test]
    fn working_hours_skip_lunch_night_and_weekend() {
        let cal = WorkCalendar::default();
        // Friday 16:00 + 4h: 2h on Friday, 2h from Monday 08:30 → Monday 10:30.
        assert_eq!(
            cal.add(sh(2026, 11, 20, 16, 0), DeadlineSpec::Hours(4))
                .ok(),
            Some(sh(2026, 11, 23, 10, 30))
        );
        // Wednesday 11:00 + 2h: 1h before lunch, 1h after 13:30 → 14:30.
        assert_eq!(
            cal.add(sh(2026, 11, 18, 11, 0), DeadlineSpec::Hours(2))
                .ok(),
            Some(sh(2026, 11, 18, 14, 30))
        );
        // Reported on Saturday night: the clock starts Monday 08:30.
        assert_eq!(
            cal.add(sh(2026, 11, 21, 22, 0), DeadlineSpec::Hours(1))
                .ok(),
            Some(sh(2026, 11, 23, 9, 30))
        );
    }

    #[test]
    fn holidays_and_make_up_days() {
        let mut cal = WorkCalendar::default();
        let mon = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        let sat = NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        cal.holidays.insert(mon);
        cal.extra_workdays.insert(sat);
        // Friday 10:00 + 1d: Saturday is a make-up working day.
        assert_eq!(
            cal.add(sh(2026, 11, 20, 10, 0), DeadlineSpec::Days(1)).ok(),
            Some(sh(2026, 11, 21, 10, 0))
        );
        // Saturday 10:00 + 1d: Sunday off, Monday holiday → Tuesday.
        assert_eq!(
            cal.add(sh(2026, 11, 21, 10, 0), DeadlineSpec::Days(1)).ok(),
            Some(sh(2026, 11, 24, 10, 0))
        );
    }

    #[test]
    fn calendar_json_round_trip_and_validation() {
        let cal: WorkCalendar =
            serde_json::from_str(r#"{"windows":["09:00-17:00"],"holidays":["2026-10-01"]}"#)
                .expect("valid calendar json");
        assert_eq!(cal.minutes_per_day(), 480);
        assert_eq!(cal.utc_offset_minutes, 480);
        assert!(serde_json::from_str::<WorkCalendar>(r#"{"windows":["17:00-09:00"]}"#).is_err());
        let empty = WorkCalendar {
            windows: vec![],
            ..WorkCalendar::default()
        };
        assert!(empty.add(0, DeadlineSpec::Hours(1)).is_err());
    }
}
