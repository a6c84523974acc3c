//! What the ranking, the bulletin and the daily charts need for a period, read with a fixed
//! number of SQL queries over the columns kept beside each case and event, instead of every case
//! and timeline: the cases that count ([`CaseFacts::counts_in`], [`kpi::counts_in_days`]) with
//! their steps, the units that hold cases, and the sites reported at. The figures are computed
//! by `xuncha_core::kpi` from these facts, exactly as from whole timelines (a test holds the two
//! together). Written once for both backends: each supplies its placeholder and reads the rows.

use xuncha_core::kpi::{self, CaseFacts, DayFacts, KPI_ACTIONS};
use xuncha_core::workflow::{Action, Status};

/// Everything a period's pages need, read in one snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodFacts {
    /// Every unit some case is dispatched to (each gets a row in the ranking).
    pub units: Vec<String>,
    /// The cases that count in the ranking's period.
    pub ranked: Vec<CaseFacts>,
    /// Sites with a case reported in the period.
    pub sites: Vec<String>,
    /// The cases that count on some day of the charts' window.
    pub days: Vec<DayFacts>,
}

/// `'a', 'b'` of statuses or actions, from core's sets (SQL literals: names are fixed words).
fn names(items: impl Iterator<Item = &'static str>) -> String {
    items
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL of a period: `$1` and `$2` are the start and end of the ranking's period, or of the
/// charts' window in `day_cases` and `day_events`; [`for_sqlite`] turns the placeholders into
/// SQLite's.
pub struct PeriodSql {
    /// `unit_id`.
    pub units: String,
    /// `id, unit_id, status, deadline_ms, extension_count` of the ranking's cases.
    pub ranked_cases: String,
    /// `case_id, action, server_time_ms` of their steps, in feed order.
    pub ranked_steps: String,
    /// `site_id`.
    pub sites: String,
    /// `id, received_ms, deadline_ms` of the charts' cases.
    pub day_cases: String,
    /// `case_id, server_time_ms, action, to_status` of their events, in feed order.
    pub day_events: String,
    /// `doc` of the cases reported in the period at a site where more than one was, by site.
    pub repeats: String,
}

impl PeriodSql {
    /// The statements (PostgreSQL placeholders).
    pub fn new() -> PeriodSql {
        let steps = names(KPI_ACTIONS.iter().map(|a| a.as_str()));
        let running = names(Status::DEADLINE_RUNNING.iter().map(|s| s.as_str()));
        let ranked_ids = format!(
            "SELECT id FROM cases WHERE unit_id IS NOT NULL AND (
                 (deadline_ms >= $1 AND deadline_ms < $2)
                 OR id IN (SELECT case_id FROM events
                           WHERE server_time_ms >= $1 AND server_time_ms < $2
                             AND action IN ({steps})))"
        );
        let day_ids = format!(
            "SELECT id FROM cases WHERE (received_ms >= $1 AND received_ms < $2)
                 OR id IN (SELECT case_id FROM events
                           WHERE server_time_ms >= $1 AND server_time_ms < $2)
                 OR (deadline_ms < $2 AND status IN ({running}))"
        );
        PeriodSql {
            units: "SELECT DISTINCT unit_id FROM cases WHERE unit_id IS NOT NULL".into(),
            ranked_cases: format!(
                "SELECT id, unit_id, status, deadline_ms, extension_count FROM cases
                 WHERE id IN ({ranked_ids})"
            ),
            ranked_steps: format!(
                "SELECT case_id, action, server_time_ms FROM events
                 WHERE action IN ({steps}) AND case_id IN ({ranked_ids})
                 ORDER BY seq"
            ),
            sites: "SELECT DISTINCT site_id FROM cases
                    WHERE reported_ms >= $1 AND reported_ms < $2 AND site_id IS NOT NULL"
                .into(),
            day_cases: format!(
                "SELECT id, received_ms, deadline_ms FROM cases WHERE id IN ({day_ids})"
            ),
            day_events: format!(
                "SELECT case_id, server_time_ms, action, to_status FROM events
                 WHERE case_id IN ({day_ids}) ORDER BY seq"
            ),
            repeats: format!(
                "SELECT doc FROM cases
                 WHERE reported_ms >= $1 AND reported_ms < $2 AND site_id IN (
                     SELECT site_id FROM cases
                     WHERE reported_ms >= $1 AND reported_ms < $2 AND site_id IS NOT NULL
                     GROUP BY site_id HAVING COUNT(*) >= 2)
                 ORDER BY site_id, reported_ms, id LIMIT {}",
                xuncha_core::limits::EXPORT_ROWS
            ),
        }
    }
}

impl Default for PeriodSql {
    fn default() -> Self {
        Self::new()
    }
}

/// A statement with SQLite's numbered placeholders (`?1`) for PostgreSQL's (`$1`); the
/// statements hold no other `$`.
pub fn for_sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// A stored action or status that this code does not know: a damaged database.
fn unknown(what: &'static str, value: &str) -> xuncha_core::Error {
    xuncha_core::Error::InvalidField {
        field: what,
        reason: format!("stored value '{value}' is unknown"),
    }
}

/// A stored action.
pub fn action(s: &str) -> xuncha_core::Result<Action> {
    Action::parse(s).ok_or_else(|| unknown("action", s))
}

/// A stored status.
pub fn status(s: &str) -> xuncha_core::Result<Status> {
    Status::parse(s).ok_or_else(|| unknown("status", s))
}

/// Assemble the facts from the rows of the statements: cases by id, then their steps or events
/// (in feed order) attached to them.
pub struct Assemble {
    ranked: Vec<CaseFacts>,
    ranked_at: std::collections::HashMap<String, usize>,
    days: Vec<DayFacts>,
    days_at: std::collections::HashMap<String, usize>,
}

impl Assemble {
    /// Nothing yet.
    pub fn new() -> Assemble {
        Assemble {
            ranked: Vec::new(),
            ranked_at: std::collections::HashMap::new(),
            days: Vec::new(),
            days_at: std::collections::HashMap::new(),
        }
    }

    /// A row of `ranked_cases`.
    pub fn ranked_case(&mut self, id: String, facts: CaseFacts) {
        self.ranked_at.insert(id, self.ranked.len());
        self.ranked.push(facts);
    }

    /// A row of `ranked_steps`.
    pub fn ranked_step(&mut self, case_id: &str, step: kpi::Step) {
        if let Some(i) = self.ranked_at.get(case_id) {
            self.ranked[*i].steps.push(step);
        }
    }

    /// A row of `day_cases`.
    pub fn day_case(&mut self, id: String, facts: DayFacts) {
        self.days_at.insert(id, self.days.len());
        self.days.push(facts);
    }

    /// A row of `day_events`.
    pub fn day_event(&mut self, case_id: &str, event: (i64, Action, Status)) {
        if let Some(i) = self.days_at.get(case_id) {
            self.days[*i].events.push(event);
        }
    }

    /// The facts, with the units and sites.
    pub fn finish(self, units: Vec<String>, sites: Vec<String>) -> PeriodFacts {
        PeriodFacts {
            units,
            ranked: self.ranked,
            sites,
            days: self.days,
        }
    }
}

impl Default for Assemble {
    fn default() -> Self {
        Self::new()
    }
}
