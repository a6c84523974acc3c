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
/// charts' window in `days`; [`for_sqlite`] turns the placeholders into SQLite's.
pub struct PeriodSql {
    /// `unit_id`.
    pub units: String,
    /// `id, unit_id, status, deadline_ms, extension_count, action, server_time_ms, area_id,
    /// reporter_id, reporter_area`: each case that counts in the ranking's period with each of
    /// its steps (NULLs for a case without), by case and then in feed order; the reporter's area
    /// is the one kept on the case when it was reported (who found it, [`kpi::Finder`]).
    pub ranked: String,
    /// `site_id`.
    pub sites: String,
    /// `id, received_ms, deadline_ms, server_time_ms, action, to_status, unit_id, area_id`: each
    /// case that counts on some day of the charts' window with each of its events, by case and
    /// in feed order.
    pub days: String,
    /// `doc` of the cases reported in the period at a site where more than one was, by site.
    pub repeats: String,
}

impl PeriodSql {
    /// The statements (PostgreSQL placeholders). Each case's steps and events come from the
    /// index `events_by_case_facts` alone (SQLite migration 08, PostgreSQL 05), never from the
    /// event documents.
    pub fn new() -> PeriodSql {
        let steps = names(KPI_ACTIONS.iter().map(|a| a.as_str()));
        let running = Status::sql_list(Status::DEADLINE_RUNNING);
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
            // The few units, each found by one step down the index (a full scan of a million
            // cases otherwise).
            units: "WITH RECURSIVE u(unit_id) AS (
                        SELECT MIN(unit_id) FROM cases
                        UNION ALL
                        SELECT (SELECT MIN(c.unit_id) FROM cases c WHERE c.unit_id > u.unit_id)
                        FROM u WHERE u.unit_id IS NOT NULL)
                    SELECT unit_id FROM u WHERE unit_id IS NOT NULL"
                .into(),
            ranked: format!(
                "SELECT c.id, c.unit_id, c.status, c.deadline_ms, c.extension_count,
                        e.action, e.server_time_ms, c.area_id, c.reporter_id, c.reporter_area
                 FROM cases c LEFT JOIN events e ON e.case_id = c.id AND e.action IN ({steps})
                 WHERE c.id IN ({ranked_ids})
                 ORDER BY c.id, e.seq"
            ),
            sites: "SELECT DISTINCT site_id FROM cases
                    WHERE reported_ms >= $1 AND reported_ms < $2 AND site_id IS NOT NULL"
                .into(),
            days: format!(
                "SELECT c.id, c.received_ms, c.deadline_ms, e.server_time_ms, e.action, e.to_status,
                        c.unit_id, c.area_id
                 FROM cases c LEFT JOIN events e ON e.case_id = c.id
                 WHERE c.id IN ({day_ids})
                 ORDER BY c.id, e.seq"
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

/// Assemble the facts from the rows of `ranked` and `days`, which come by case (each case's
/// columns repeated on each of its rows) and then in feed order.
#[derive(Default)]
pub struct Assemble {
    ranked: Vec<CaseFacts>,
    ranked_last: Option<String>,
    days: Vec<DayFacts>,
    days_last: Option<String>,
}

impl Assemble {
    /// Nothing yet.
    pub fn new() -> Assemble {
        Assemble::default()
    }

    /// A row of `ranked`: case `id` (its facts made by `case` on its first row) and one of its
    /// steps, if it has any.
    pub fn ranked_row(
        &mut self,
        id: String,
        case: impl FnOnce() -> xuncha_core::Result<CaseFacts>,
        step: Option<kpi::Step>,
    ) -> xuncha_core::Result<()> {
        let facts = by_case(&mut self.ranked, &mut self.ranked_last, id, case)?;
        facts.steps.extend(step);
        Ok(())
    }

    /// A row of `days`: case `id` (its facts made by `case` on its first row) and one of its
    /// events, if it has any.
    pub fn day_row(
        &mut self,
        id: String,
        case: impl FnOnce() -> xuncha_core::Result<DayFacts>,
        event: Option<(i64, Action, Status)>,
    ) -> xuncha_core::Result<()> {
        let facts = by_case(&mut self.days, &mut self.days_last, id, case)?;
        facts.events.extend(event);
        Ok(())
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

/// The facts of case `id` in `list`: the last ones when the row is the same case as the one
/// before (rows come by case), else new ones made by `make`.
fn by_case<'a, F>(
    list: &'a mut Vec<F>,
    last: &mut Option<String>,
    id: String,
    make: impl FnOnce() -> xuncha_core::Result<F>,
) -> xuncha_core::Result<&'a mut F> {
    if last.as_deref() != Some(id.as_str()) || list.is_empty() {
        list.push(make()?);
        *last = Some(id);
    }
    list.last_mut()
        .ok_or_else(|| xuncha_core::Error::Database("no facts to add to".into()))
}
