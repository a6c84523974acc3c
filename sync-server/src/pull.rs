//! Building a pull page: the changes in the caller's scope after their cursor, written once over
//! [`PullTx`] (as pushing is over [`crate::apply::PushTx`]) so every backend sends the same
//! pages. The rules:
//!
//! - the caller's [`Reach`] (core's rule) decides: the city office gets every change; an area's
//!   supervisors the changes of cases that are, or just were, in their area or with its units;
//!   unit staff the changes of cases that are, or just were, their unit's; inspectors their own
//!   reports;
//! - a case that left the caller's scope comes as a removal; one that entered it (a unit's case
//!   dispatched to it, a case whose place moved into an area, in this window) comes whole, with
//!   every event;
//! - a page holds at most [`xuncha_core::limits::PULL_PAGE_CHANGES`] feed rows and about
//!   [`xuncha_core::limits::PULL_PAGE_BYTES`]: it ends just before the first change of the case
//!   that would pass it, and the cursor says so;
//! - the cursor never passes a change a reader could not see yet: the backend's
//!   [`PullTx::feed_end`] is the sequence below which every change is visible;
//! - a device catching up (`whole`: a fresh phone, or one that was) in a scope nothing leaves
//!   (supervisors and admins) gets whole cases in the order of their *last* change instead of
//!   the feed, so a case comes once however many times it changed ([`whole_cases_page`]).

use std::collections::HashSet;

use serde_json::value::RawValue;
use xuncha_core::scope::{CaseKeys, Reach};

use crate::store::{PageChange, PullPage, StoreResult, bad_stored_id};

/// One feed entry as stored.
pub struct FeedRow {
    /// Its sequence in the change feed.
    pub seq: i64,
    /// The case it changed.
    pub case_id: String,
    /// The case's unit before it (a unit's scope follows the case).
    pub unit_before: Option<String>,
    /// The case's area before it (an area's scope follows the case's place).
    pub area_before: Option<String>,
    /// The event's stored JSON.
    pub event: String,
}

/// A case as stored: its JSON document, the sequence of its last change and its scope keys.
pub struct StoredCase {
    /// The case document.
    pub doc: Box<RawValue>,
    /// Sequence of the last event the case reflects.
    pub seq: i64,
    /// Its unit.
    pub unit_id: Option<String>,
    /// Who reported it.
    pub reporter_id: String,
    /// The area of its place.
    pub area_id: Option<String>,
}

impl StoredCase {
    /// Its scope keys.
    pub fn keys(&self) -> CaseKeys<'_> {
        CaseKeys {
            unit_id: self.unit_id.as_deref(),
            reporter_id: &self.reporter_id,
            area_id: self.area_id.as_deref(),
        }
    }
}

/// Which feed entries a caller's pull reads.
#[derive(Debug, Clone, Copy)]
pub enum FeedScope<'a> {
    /// Every entry.
    All,
    /// Entries of cases that were in one of these areas, or with one of these units, before or
    /// after the change.
    Within {
        /// The areas.
        areas: &'a HashSet<String>,
        /// The units.
        units: &'a HashSet<String>,
    },
    /// Entries of cases that were this unit's before or after the change.
    Unit(&'a str),
    /// Entries of cases this user reported.
    Reporter(&'a str),
    /// None (a unit staff member without a unit).
    Nothing,
}

/// What a backend provides inside the one read snapshot of a pull.
pub trait PullTx {
    /// Up to `fetch` feed entries of `scope` after `cursor`, by sequence, none past
    /// [`PullTx::feed_end`].
    fn feed_after(
        &mut self,
        scope: FeedScope<'_>,
        cursor: i64,
        fetch: usize,
    ) -> StoreResult<Vec<FeedRow>>;
    /// The sequence below which (and at which) every change is visible to this reader.
    fn feed_end(&mut self) -> StoreResult<i64>;
    /// A case as stored.
    fn stored_case(&mut self, case_id: &str) -> StoreResult<Option<StoredCase>>;
    /// Up to `fetch` cases whose last change is in `after < seq <= upto`, by that sequence,
    /// with their ids.
    fn cases_after(
        &mut self,
        after: i64,
        upto: i64,
        fetch: usize,
    ) -> StoreResult<Vec<(String, StoredCase)>>;
    /// A case's events with `after < seq <= upto`, by sequence.
    fn events_of(
        &mut self,
        case_id: &str,
        after: i64,
        upto: i64,
    ) -> StoreResult<Vec<Box<RawValue>>>;
}

/// The page of changes in the scope of `reach` (the caller's) after `cursor` (see the module's
/// rules); `whole` asks for whole cases by their last change, which the page grants where the
/// scope allows ([`PullPage::whole`]).
pub fn pull_page(
    tx: &mut dyn PullTx,
    reach: &Reach,
    cursor: i64,
    limit: usize,
    whole: bool,
    reference_version: i64,
    now_ms: i64,
) -> StoreResult<PullPage> {
    let limit = limit.clamp(1, xuncha_core::limits::PULL_PAGE_CHANGES);
    let scope = match reach {
        Reach::Everything => FeedScope::All,
        Reach::Within { areas, units, .. } => FeedScope::Within { areas, units },
        Reach::Unit(unit) => FeedScope::Unit(unit),
        Reach::Reporter(user) => FeedScope::Reporter(user),
        Reach::Nothing => FeedScope::Nothing,
    };
    // Scopes a case enters and leaves (a reporter's never changes).
    let moving = matches!(reach, Reach::Within { .. } | Reach::Unit(_));
    if whole && matches!(scope, FeedScope::All) {
        return whole_cases_page(tx, cursor, limit, reference_version, now_ms);
    }
    let mut rows = tx.feed_after(scope, cursor, limit + 1)?;
    let mut has_more = rows.len() > limit;
    rows.truncate(limit);
    let mut page_end = match (has_more, rows.last()) {
        (true, Some(last)) => last.seq,
        _ => tx.feed_end()?,
    };
    // Cases in the order of their first change in this page.
    let mut seen = HashSet::new();
    let order: Vec<&str> = rows
        .iter()
        .map(|r| r.case_id.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    let mut changes = Vec::with_capacity(order.len());
    let mut bytes = 0;
    for case_id in order {
        let Some(case) = tx.stored_case(case_id)? else {
            continue;
        };
        if !reach.sees(case.keys()) {
            changes.push(PageChange::Remove {
                case_id: case_id
                    .parse()
                    .map_err(|_| bad_stored_id("case_id", case_id))?,
            });
            continue;
        }
        // A case that entered the scope in this window arrives whole.
        let full = moving
            && rows.iter().any(|r| {
                r.case_id == case_id
                    && !reach.sees(CaseKeys {
                        unit_id: r.unit_before.as_deref(),
                        reporter_id: &case.reporter_id,
                        area_id: r.area_before.as_deref(),
                    })
            });
        let events = if full {
            tx.events_of(case_id, 0, i64::MAX)?
        } else if moving {
            // Events made while the case was briefly elsewhere are not in the scoped rows;
            // take the case's whole window.
            tx.events_of(case_id, cursor, page_end)?
        } else {
            let mut evs = Vec::new();
            for r in rows.iter().filter(|r| r.case_id == case_id) {
                evs.push(RawValue::from_string(r.event.clone())?);
            }
            evs
        };
        let size = case.doc.get().len() + events.iter().map(|e| e.get().len()).sum::<usize>();
        if !changes.is_empty() && bytes + size > xuncha_core::limits::PULL_PAGE_BYTES {
            // The page is full: it ends just before this case's first change, where the next
            // page starts (a case already sent may come again; devices take it idempotently).
            if let Some(first) = rows.iter().find(|r| r.case_id == case_id) {
                page_end = first.seq - 1;
                has_more = true;
            }
            break;
        }
        bytes += size;
        changes.push(PageChange::Upsert {
            case: case.doc,
            seq: case.seq,
            events,
            full,
        });
    }
    Ok(PullPage {
        changes,
        cursor: page_end.max(cursor),
        has_more,
        whole: false,
        reference_version,
        server_time_ms: now_ms,
    })
}

/// A page of whole cases (every event) whose last change is after `cursor`, by that change,
/// none past the feed's visible end. The cursor is the last change of the page's last case: every
/// case whose last change is at or below it has come whole. A case that changes again later
/// has a later last change and comes again; an event committed late (a sequence below the
/// visible end of an earlier page) is impossible because the cursor never passes that end. So
/// when the last page (`has_more` false, cursor = the visible end) is applied, the device holds
/// every change up to the cursor and goes on with the feed from there.
fn whole_cases_page(
    tx: &mut dyn PullTx,
    cursor: i64,
    limit: usize,
    reference_version: i64,
    now_ms: i64,
) -> StoreResult<PullPage> {
    let end = tx.feed_end()?;
    let mut cases = tx.cases_after(cursor, end, limit + 1)?;
    let mut has_more = cases.len() > limit;
    cases.truncate(limit);
    let mut page_end = match (has_more, cases.last()) {
        (true, Some((_, last))) => last.seq,
        _ => end,
    };
    let mut changes = Vec::with_capacity(cases.len());
    let mut bytes = 0;
    let mut previous = cursor;
    for (case_id, case) in cases {
        let events = tx.events_of(&case_id, 0, case.seq)?;
        let size = case.doc.get().len() + events.iter().map(|e| e.get().len()).sum::<usize>();
        if !changes.is_empty() && bytes + size > xuncha_core::limits::PULL_PAGE_BYTES {
            // Full: the page ends with the case before this one.
            page_end = previous;
            has_more = true;
            break;
        }
        bytes += size;
        previous = case.seq;
        changes.push(PageChange::Upsert {
            case: case.doc,
            seq: case.seq,
            events,
            full: true,
        });
    }
    Ok(PullPage {
        changes,
        cursor: page_end.max(cursor),
        has_more,
        whole: true,
        reference_version,
        server_time_ms: now_ms,
    })
}
