//! The console's case lists (boards, exports) as SQL: a filter on the columns kept beside each
//! case document, counted and paged in deadline order (most overdue first). Written once for
//! both backends; each only supplies its placeholder syntax and binds the values.

use xuncha_core::scope::Reach;
use xuncha_core::workflow::Status;

/// Which cases a list holds. Empty or `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Any of these statuses (all when empty).
    pub statuses: Vec<Status>,
    /// Responsible unit.
    pub unit: Option<String>,
    /// Reported by this user.
    pub reporter: Option<String>,
    /// Category code or class prefix (`01` or `0101`).
    pub category_prefix: Option<String>,
    /// Grid (网格).
    pub grid: Option<String>,
    /// Campaign (专项行动).
    pub campaign: Option<String>,
    /// Reported at or after (UTC ms).
    pub reported_from_ms: Option<i64>,
    /// Reported before (UTC ms).
    pub reported_before_ms: Option<i64>,
    /// Deadline before (UTC ms): with the deadline-running statuses, the overdue cases.
    pub deadline_before_ms: Option<i64>,
    /// An area supervisor's scope: cases placed in one of `.0` or held by one of the units `.1`
    /// (core's `Reach::Within`).
    pub within: Option<(Vec<String>, Vec<String>)>,
    /// Placed in one of these areas (a cut by area: an area and its subtree).
    pub areas: Option<Vec<String>>,
    /// Escalated (督办) at least once.
    pub escalated: bool,
    /// Cases kept out by id (a sealed 暗访 round's, from the office's queue).
    pub excluded: Vec<String>,
    /// Only these cases, by id (the cases a person's 回头看 tasks re-check).
    pub only: Option<Vec<String>>,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlArg {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
}

/// The order of every list: by deadline (cases without one last), then by id, so pages never
/// overlap or skip. The same on both backends (their NULL orders differ).
pub const LIST_ORDER: &str = "ORDER BY COALESCE(deadline_ms, 9223372036854775807), id";

impl CaseFilter {
    /// Every case `reach` holds (core's rule as SQL); `None` when it holds none.
    pub fn for_reach(reach: &Reach) -> Option<CaseFilter> {
        let sorted = |set: &std::collections::HashSet<String>| {
            let mut v: Vec<String> = set.iter().cloned().collect();
            v.sort();
            v
        };
        Some(match reach {
            Reach::Everything => CaseFilter::default(),
            Reach::Within { areas, units, .. } => CaseFilter {
                within: Some((sorted(areas), sorted(units))),
                ..CaseFilter::default()
            },
            Reach::Unit(u) => CaseFilter {
                unit: Some(u.clone()),
                ..CaseFilter::default()
            },
            Reach::Reporter(r) => CaseFilter {
                reporter: Some(r.clone()),
                ..CaseFilter::default()
            },
            Reach::Nothing => return None,
        })
    }

    /// `WHERE …` (empty when nothing filters) with placeholders made by `placeholder(n)`
    /// (1-based), and the values to bind, in order.
    pub fn where_clause(&self, placeholder: impl Fn(usize) -> String) -> (String, Vec<SqlArg>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<SqlArg> = Vec::new();
        let bind = |v: SqlArg, args: &mut Vec<SqlArg>| {
            args.push(v);
            placeholder(args.len())
        };
        if !self.statuses.is_empty() {
            let marks: Vec<String> = self
                .statuses
                .iter()
                .map(|s| bind(SqlArg::Text(s.as_str().into()), &mut args))
                .collect();
            clauses.push(format!("status IN ({})", marks.join(", ")));
        }
        for (column, value) in [
            ("unit_id", &self.unit),
            ("reporter_id", &self.reporter),
            ("grid_id", &self.grid),
            ("campaign_id", &self.campaign),
        ] {
            if let Some(v) = value {
                let p = bind(SqlArg::Text(v.clone()), &mut args);
                clauses.push(format!("{column} = {p}"));
            }
        }
        let marks = |values: &[String], args: &mut Vec<SqlArg>| -> String {
            if values.is_empty() {
                // IN () is not SQL; NULL matches nothing.
                return "NULL".into();
            }
            values
                .iter()
                .map(|v| bind(SqlArg::Text(v.clone()), args))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some((areas, units)) = &self.within {
            let a = marks(areas, &mut args);
            let u = marks(units, &mut args);
            clauses.push(format!("(area_id IN ({a}) OR unit_id IN ({u}))"));
        }
        if let Some(areas) = &self.areas {
            let a = marks(areas, &mut args);
            clauses.push(format!("area_id IN ({a})"));
        }
        if self.escalated {
            clauses.push("escalations > 0".into());
        }
        if !self.excluded.is_empty() {
            let ids = marks(&self.excluded, &mut args);
            clauses.push(format!("id NOT IN ({ids})"));
        }
        if let Some(only) = &self.only {
            let ids = marks(only, &mut args);
            clauses.push(format!("id IN ({ids})"));
        }
        if let Some(prefix) = &self.category_prefix {
            let escaped: String = prefix
                .chars()
                .flat_map(|c| match c {
                    '!' | '%' | '_' => vec!['!', c],
                    c => vec![c],
                })
                .collect();
            let p = bind(SqlArg::Text(format!("{escaped}%")), &mut args);
            clauses.push(format!("category LIKE {p} ESCAPE '!'"));
        }
        for (test, value) in [
            ("reported_ms >=", self.reported_from_ms),
            ("reported_ms <", self.reported_before_ms),
            ("deadline_ms <", self.deadline_before_ms),
        ] {
            if let Some(v) = value {
                let p = bind(SqlArg::Int(v), &mut args);
                clauses.push(format!("{test} {p}"));
            }
        }
        if clauses.is_empty() {
            (String::new(), args)
        } else {
            (format!("WHERE {}", clauses.join(" AND ")), args)
        }
    }

    /// ` AND …` (empty when nothing filters), to follow a statement's own conditions, whose
    /// `taken` placeholders come first; the values to bind after the statement's own.
    pub fn and_clause(
        &self,
        taken: usize,
        placeholder: impl Fn(usize) -> String,
    ) -> (String, Vec<SqlArg>) {
        let (w, args) = self.where_clause(|n| placeholder(n + taken));
        match w.strip_prefix("WHERE ") {
            Some(conditions) => (format!(" AND {conditions}"), args),
            None => (String::new(), args),
        }
    }

    /// `SELECT COUNT(*)` of the filter.
    pub fn count_sql(&self, placeholder: impl Fn(usize) -> String) -> (String, Vec<SqlArg>) {
        let (w, args) = self.where_clause(placeholder);
        (format!("SELECT COUNT(*) FROM cases {w}"), args)
    }

    /// The documents of one page of the filter, in [`LIST_ORDER`].
    pub fn page_sql(
        &self,
        placeholder: impl Fn(usize) -> String,
        offset: u64,
        limit: usize,
    ) -> (String, Vec<SqlArg>) {
        let (w, args) = self.where_clause(placeholder);
        (
            format!(
                "SELECT doc FROM cases {w} {LIST_ORDER} LIMIT {} OFFSET {}",
                limit as u64, offset
            ),
            args,
        )
    }
}

impl CaseFilter {
    /// The documents of the newest `limit` cases of the filter, most recently received first.
    pub fn newest_sql(
        &self,
        placeholder: impl Fn(usize) -> String,
        limit: usize,
    ) -> (String, Vec<SqlArg>) {
        let (w, args) = self.where_clause(placeholder);
        (
            format!(
                "SELECT doc FROM cases {w} ORDER BY received_ms DESC, id DESC LIMIT {}",
                limit as u64
            ),
            args,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_binds_every_value_and_escapes_the_category_prefix() {
        let f = CaseFilter {
            statuses: vec![Status::Dispatched, Status::InProgress],
            unit: Some("u1".into()),
            category_prefix: Some("0_%".into()),
            deadline_before_ms: Some(5),
            ..CaseFilter::default()
        };
        let (sql, args) = f.where_clause(|n| format!("${n}"));
        assert_eq!(
            sql,
            "WHERE status IN ($1, $2) AND unit_id = $3 AND category LIKE $4 ESCAPE '!' \
             AND deadline_ms < $5"
        );
        assert_eq!(args[3], SqlArg::Text("0!_!%%".into()));
        assert_eq!(args[4], SqlArg::Int(5));
        assert_eq!(
            CaseFilter::default().where_clause(|n| format!("?{n}")).0,
            ""
        );
    }
}
