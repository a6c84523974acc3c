//! The signed-in person's round tasks on the device (issue 17; the rules are `crate::round`):
//! the list the server gives with every sync (replaced whole), ordered by distance from where
//! the phone stands, each site with its checklist; a site check or a re-check is decided here
//! by the same rules the server uses, recorded offline in the outbox, and pushed like any
//! operation — a refusal lands in the rejection inbox with the server's reason.

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::Store;
use super::cases::stage_all;
use super::photos::PhotoInput;
use crate::error::{Error, Result};
use crate::geo::{LatLon, distance_m};
use crate::model::{Case, Location, Op, OpBody, PhotoKind, PhotoRef};
use crate::round::{
    self, CheckedIndicator, RecheckOutcome, Round, Target, Task, TaskState, check_recheck,
    check_submission, checklist_of,
};
use crate::standard::{Finding, Indicator};
use crate::sync::protocol::TaskList;

/// One indicator as the checklist screen fills it in.
#[derive(Debug, Clone)]
pub struct IndicatorInput {
    /// The indicator's code.
    pub code: String,
    /// What was found.
    pub finding: Finding,
    /// A note.
    pub note: String,
    /// Its photos (at least one for a deduction).
    pub photos: Vec<PhotoInput>,
}

/// A site's checklist as the screen submits it.
#[derive(Debug, Clone, Default)]
pub struct SiteCheckInput {
    /// Every indicator of the site's type.
    pub indicators: Vec<IndicatorInput>,
    /// Where the phone stands.
    pub position: Option<Location>,
    /// A note on the visit.
    pub note: String,
}

/// A re-check as the screen submits it.
#[derive(Debug, Clone)]
pub struct RecheckInput {
    /// Still fixed, or recurred.
    pub outcome: RecheckOutcome,
    /// Photos of the place now (at least one).
    pub photos: Vec<PhotoInput>,
    /// Where the phone stands.
    pub position: Option<Location>,
    /// What was seen.
    pub note: String,
}

/// Where a task sends its team.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPlace {
    /// The site's name, or the case's number and category.
    pub name: String,
    /// The site's type, or the case's category code.
    pub kind: String,
    /// The address.
    pub address: String,
    /// Latitude (WGS-84).
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A task as "my sites today" shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskView {
    /// The task.
    pub task: Task,
    /// Its round.
    pub round: Round,
    /// 待检查, 已检查 (here or by the team) or 未检查.
    pub state: TaskState,
    /// Submitted from this device and not yet in the server's list.
    pub submitted_here: bool,
    /// Where to go.
    pub place: Option<TaskPlace>,
    /// How far that is from where the phone stands.
    pub distance_m: Option<f64>,
    /// For a 回头看 task, the case as it was.
    pub case: Option<Case>,
}

/// Replace the task list with the server's, in one transaction.
pub(crate) fn save_tasks(conn: &Connection, list: &TaskList) -> Result<()> {
    for table in ["rounds", "tasks", "task_cases"] {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    for r in &list.rounds {
        conn.prepare_cached("INSERT OR REPLACE INTO rounds (id, doc) VALUES (?1, ?2)")?
            .execute(params![r.id.to_string(), serde_json::to_string(r)?])?;
    }
    for (pos, t) in list.tasks.iter().enumerate() {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO tasks (id, round_id, pos, doc) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            t.id.to_string(),
            t.round_id.to_string(),
            pos as i64,
            serde_json::to_string(t)?
        ])?;
    }
    for c in &list.cases {
        conn.prepare_cached("INSERT OR REPLACE INTO task_cases (id, doc) VALUES (?1, ?2)")?
            .execute(params![c.id.to_string(), serde_json::to_string(c)?])?;
    }
    Ok(())
}

/// The task and its round, as last synced.
fn load(conn: &Connection, task_id: Uuid) -> Result<(Round, Task)> {
    let row: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT r.doc, t.doc FROM tasks t JOIN rounds r ON r.id = t.round_id WHERE t.id = ?1",
        )?
        .query_row([task_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some((round, task)) = row else {
        return Err(Error::NotFound {
            kind: "task",
            id: task_id.to_string(),
        });
    };
    Ok((serde_json::from_str(&round)?, serde_json::from_str(&task)?))
}

/// The type of a site task's site (its checklist's key): `wrong_task` for a re-check,
/// `not_found` for a site gone from the reference data.
fn site_kind(refs: &crate::reference::ReferenceIndex, task: &Task) -> Result<String> {
    let Target::Site { site_id } = &task.target else {
        return Err(round::Refusal::WrongTask.into());
    };
    refs.site(site_id)
        .map(|s| s.kind.clone())
        .ok_or_else(|| Error::NotFound {
            kind: "site",
            id: site_id.clone(),
        })
}

/// A submission of this device for the task that the server's list does not show yet.
fn submitted_here(conn: &Connection, task_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM events WHERE case_id = ?1 AND action IN (?2, ?3) LIMIT 1")?
        .exists(params![
            task_id.to_string(),
            crate::Action::CheckSite.as_str(),
            crate::Action::Recheck.as_str()
        ])?)
}

impl Store {
    /// The person's tasks, nearest first from `at` (planning order without a position; done
    /// and missed ones after the open ones).
    pub fn tasks(&self, at: Option<LatLon>) -> Result<Vec<TaskView>> {
        let inner = self.lock();
        let conn = &inner.conn;
        let mut st = conn.prepare_cached(
            "SELECT r.doc, t.doc FROM tasks t JOIN rounds r ON r.id = t.round_id ORDER BY t.pos",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (round, task) in rows {
            let round: Round = serde_json::from_str(&round)?;
            let task: Task = serde_json::from_str(&task)?;
            let here = task.result.is_none() && submitted_here(conn, task.id)?;
            let state = if here {
                TaskState::Done
            } else {
                task.state(&round)
            };
            let (place, case) = match &task.target {
                Target::Site { site_id } => (
                    inner.refs.site(site_id).map(|s| TaskPlace {
                        name: s.name.clone(),
                        kind: s.kind.clone(),
                        address: s.address.clone(),
                        lat: s.lat,
                        lon: s.lon,
                    }),
                    None,
                ),
                Target::Case { case_id } => {
                    let doc: Option<String> = conn
                        .prepare_cached("SELECT doc FROM task_cases WHERE id = ?1")?
                        .query_row([case_id.to_string()], |r| r.get(0))
                        .ok();
                    let case: Option<Case> = doc.map(|d| serde_json::from_str(&d)).transpose()?;
                    let place = case.as_ref().map(|c| TaskPlace {
                        name: c.case_no.clone().unwrap_or_else(|| c.id.to_string()),
                        kind: c.category.clone(),
                        address: c.location.address.clone(),
                        lat: c.location.lat,
                        lon: c.location.lon,
                    });
                    (place, case)
                }
            };
            let distance = match (&place, at) {
                (Some(p), Some(at)) => Some(distance_m(
                    at,
                    LatLon {
                        lat: p.lat,
                        lon: p.lon,
                    },
                )),
                _ => None,
            };
            out.push(TaskView {
                task,
                round,
                state,
                submitted_here: here,
                place,
                distance_m: distance,
                case,
            });
        }
        out.sort_by(|a, b| {
            (a.state != TaskState::Open)
                .cmp(&(b.state != TaskState::Open))
                .then(
                    a.distance_m
                        .unwrap_or(f64::MAX)
                        .total_cmp(&b.distance_m.unwrap_or(f64::MAX)),
                )
        });
        Ok(out)
    }

    /// The checklist of a site task: the standard's indicators for its site's type.
    pub fn checklist(&self, task_id: Uuid) -> Result<Vec<Indicator>> {
        let inner = self.lock();
        let (_, task) = load(&inner.conn, task_id)?;
        let kind = site_kind(&inner.refs, &task)?;
        Ok(checklist_of(&inner.refs.standard, &kind).cloned().collect())
    }

    /// The points of a site task's checklist as filled in so far, and the points possible.
    pub fn checklist_score(
        &self,
        task_id: Uuid,
        findings: &[(String, Finding)],
    ) -> Result<(f64, f64)> {
        let inner = self.lock();
        let (_, task) = load(&inner.conn, task_id)?;
        let kind = site_kind(&inner.refs, &task)?;
        Ok(crate::standard::site_score(
            &inner.refs.standard,
            &kind,
            findings,
        ))
    }

    /// Submit a site's checklist (offline; pushed with the next sync): decided first by the
    /// same rules as the server's — every indicator recorded, each finding fitting its rule, a
    /// photo for every deduction, the task this person's team's and still open.
    pub fn submit_check(&self, task_id: Uuid, input: SiteCheckInput) -> Result<Op> {
        let mut staged_all = Vec::new();
        let mut indicators = Vec::with_capacity(input.indicators.len());
        let mut photos: Vec<PhotoRef> = Vec::new();
        for i in input.indicators {
            let staged = stage_all(i.photos)?;
            let hashes = staged.iter().map(|s| s.sha256.clone()).collect();
            for s in &staged {
                if !photos.iter().any(|p| p.sha256 == s.sha256) {
                    photos.push(PhotoRef {
                        sha256: s.sha256.clone(),
                        kind: PhotoKind::Before,
                        mime: s.mime.to_string(),
                        size: s.bytes.len() as u64,
                        captured_at_ms: s.captured_at_ms,
                        location: s.location.clone(),
                    });
                }
            }
            staged_all.extend(staged);
            indicators.push(CheckedIndicator {
                code: i.code,
                finding: i.finding,
                note: i.note,
                photos: hashes,
            });
        }
        self.batch(|b| {
            let (round, task) = load(b.tx(), task_id)?;
            let session = b.session()?.clone();
            let kind = site_kind(b.refs(), &task)?;
            if submitted_here(b.tx(), task_id)? {
                return Err(round::Refusal::TaskDone.into());
            }
            check_submission(
                &round,
                &task,
                &session.user_id,
                session.role,
                &b.refs().standard,
                &kind,
                &indicators,
                &photos,
            )?;
            let body = OpBody::CheckSite {
                indicators,
                photos,
                position: input.position,
                note: input.note,
            };
            b.record_submission(task_id, body, staged_all)
        })
    }

    /// Submit a 回头看 re-check (offline; pushed with the next sync), decided first by the same
    /// rules as the server's.
    pub fn submit_recheck(&self, task_id: Uuid, input: RecheckInput) -> Result<Op> {
        let staged = stage_all(input.photos)?;
        let photos: Vec<PhotoRef> = staged
            .iter()
            .map(|s| PhotoRef {
                sha256: s.sha256.clone(),
                kind: PhotoKind::Verify,
                mime: s.mime.to_string(),
                size: s.bytes.len() as u64,
                captured_at_ms: s.captured_at_ms,
                location: s.location.clone(),
            })
            .collect();
        self.batch(|b| {
            let (round, task) = load(b.tx(), task_id)?;
            let session = b.session()?.clone();
            if submitted_here(b.tx(), task_id)? {
                return Err(round::Refusal::TaskDone.into());
            }
            check_recheck(&round, &task, &session.user_id, session.role, &photos)?;
            let body = OpBody::Recheck {
                outcome: input.outcome,
                photos,
                position: input.position,
                note: input.note,
            };
            b.record_submission(task_id, body, staged)
        })
    }

    /// Replace the task list with the server's (what a sync does with `/v1/tasks`).
    pub fn save_tasks(&self, list: &TaskList) -> Result<()> {
        let mut inner = self.lock();
        let tx = super::begin(&mut inner.conn)?;
        save_tasks(&tx, list)?;
        tx.commit()?;
        Ok(())
    }
}
