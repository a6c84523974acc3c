//! Cases on the device: recording operations (report, edit, comment, every workflow action) into
//! the outbox and the local view in one transaction, and reading lists, details and the outbox.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::photos::{self, PhotoInput, StagedPhoto};
use super::{Inner, Session, Store, begin, meta_set};
use crate::error::{Error, Result};
use crate::fold::{self, ApplyContext};
use crate::hlc::HlcClock;
use crate::model::{Case, CaseEdit, Event, Location, Op, OpBody, PhotoKind, PhotoRef};
use crate::reference::ReferenceIndex;
use crate::workflow::{Action, Offer, Status};

/// A new report, as the report screen fills it in.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Category code (大类2+小类2).
    pub category: String,
    /// What was seen.
    pub description: String,
    /// Where (WGS-84 + accuracy + address).
    pub location: Location,
    /// The 点位, if the inspector picked one (see [`Store::sites_near`] for suggestions).
    pub site_id: Option<String>,
    /// 专项行动.
    pub campaign_id: Option<String>,
    /// Found undercover (暗访).
    pub undercover: bool,
    /// Before-photos.
    pub photos: Vec<PhotoInput>,
}

/// How a case list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    /// Earliest deadline first; cases without a deadline last.
    #[default]
    Deadline,
    /// Most recently changed first.
    LastChange,
}

/// Filters and paging for [`Store::list_cases`]. Empty filters match everything.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaseQuery {
    /// Any of these statuses.
    #[serde(default)]
    pub statuses: Vec<Status>,
    /// Responsible unit.
    #[serde(default)]
    pub unit_id: Option<String>,
    /// Category code.
    #[serde(default)]
    pub category: Option<String>,
    /// Site.
    #[serde(default)]
    pub site_id: Option<String>,
    /// Reporter.
    #[serde(default)]
    pub reporter_id: Option<String>,
    /// Only overdue (`true`) or only not overdue (`false`).
    #[serde(default)]
    pub overdue: Option<bool>,
    /// Text contained in the description.
    #[serde(default)]
    pub text: Option<String>,
    /// Order.
    #[serde(default)]
    pub sort: CaseSort,
    /// Rows to skip.
    #[serde(default)]
    pub offset: u32,
    /// Page size (1..=500; 0 means 50).
    #[serde(default)]
    pub limit: u32,
}

/// A row of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseListItem {
    /// The case.
    pub case: Case,
    /// Derived: past deadline and not yet rectified.
    pub overdue: bool,
}

/// One page of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePage {
    /// The rows.
    pub items: Vec<CaseListItem>,
    /// True if a next page exists.
    pub has_more: bool,
}

/// A photo of a case, with where its bytes are on this device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePhoto {
    /// The photo as the operation named it.
    pub photo: PhotoRef,
    /// The operation that attached it.
    pub op_id: Uuid,
    /// Its file, if the bytes are on this device.
    pub path: Option<PathBuf>,
}

/// Everything the case screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    /// The case.
    pub case: Case,
    /// Derived overdue flag.
    pub overdue: bool,
    /// All photos, in timeline order.
    pub photos: Vec<CasePhoto>,
    /// The full timeline, oldest first.
    pub timeline: Vec<Event>,
    /// What the signed-in user may do now, each with what its form asks for.
    pub allowed_actions: Vec<Offer>,
}

/// An operation in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Order of creation on this device.
    pub seq: i64,
    /// The operation.
    pub op: Op,
}

/// Several operations in one transaction (bulk import, benchmarks, sync apply).
pub struct Batch<'a> {
    store: &'a Store,
    tx: Transaction<'a>,
    clock: HlcClock,
    refs: &'a ReferenceIndex,
    session: Option<&'a Session>,
    skew_ms: i64,
}

impl Batch<'_> {
    /// Record a report in this batch; the operation's `case_id` is the new case.
    pub fn report(&mut self, r: NewReport) -> Result<Op> {
        let (body, staged) = prepare_report(self.refs, r)?;
        self.record(Uuid::now_v7(), body, staged)
    }

    /// Record an action in this batch.
    pub fn act(&mut self, case_id: Uuid, body: OpBody, photos: Vec<PhotoInput>) -> Result<Op> {
        let staged = stage_all(photos)?;
        self.record(case_id, body, staged)
    }
}

fn prepare_report(refs: &ReferenceIndex, r: NewReport) -> Result<(OpBody, Vec<StagedPhoto>)> {
    let category = r.category.trim().to_string();
    refs.category(&category)?;
    let at = r.location.point();
    at.validate()?;
    let placement = refs.locate(at);
    let site_owner = match &r.site_id {
        Some(s) => refs.site_owner(s)?.map(str::to_string),
        None => None,
    };
    let staged = stage_all(r.photos)?;
    Ok((
        OpBody::Report {
            category,
            description: r.description,
            location: r.location,
            site_id: r.site_id,
            grid_id: placement.as_ref().map(|p| p.grid_id.clone()),
            suggested_unit_id: site_owner.or_else(|| placement.and_then(|p| p.owner_unit_id)),
            campaign_id: r.campaign_id,
            undercover: r.undercover,
            photos: vec![],
        },
        staged,
    ))
}

pub(crate) fn stage_all(photos: Vec<PhotoInput>) -> Result<Vec<StagedPhoto>> {
    photos.into_iter().map(photos::stage).collect()
}

impl Store {
    /// Report a new case as the signed-in user; the returned operation's `case_id` is the new
    /// case.
    pub fn report(&self, r: NewReport) -> Result<Op> {
        self.batch(|b| b.report(r))
    }

    /// Apply a workflow action (or edit / comment) as the signed-in user. Photos are attached
    /// with the kind the action implies (after for rectify, verify for verification, other for
    /// comments). A missing deadline on dispatch, rework or reopen is the category default.
    pub fn act(&self, case_id: Uuid, body: OpBody, photos: Vec<PhotoInput>) -> Result<Op> {
        let action = body.action();
        let staged = stage_all(photos)?;
        let recorded = self.batch(|b| b.record(case_id, body, staged));
        match &recorded {
            Ok(op) => log::debug!("{action} on case {case_id} recorded as {}", op.id),
            Err(e) => log::info!("{action} on case {case_id} not taken: {}", e.code()),
        }
        recorded
    }

    /// Edit fields of a case.
    pub fn edit(&self, case_id: Uuid, changes: CaseEdit) -> Result<Op> {
        self.act(case_id, OpBody::Edit { changes }, vec![])
    }

    /// Comment on a case.
    pub fn comment(&self, case_id: Uuid, text: &str, photos: Vec<PhotoInput>) -> Result<Op> {
        self.act(
            case_id,
            OpBody::Comment {
                text: text.to_string(),
                photos: vec![],
            },
            photos,
        )
    }

    /// Run several recordings in one transaction: all of them or none are written.
    pub fn batch<R>(&self, f: impl FnOnce(&mut Batch<'_>) -> Result<R>) -> Result<R> {
        let mut inner = self.lock();
        let Inner {
            conn,
            clock,
            session,
            refs,
            skew_ms,
        } = &mut *inner;
        let mut batch = Batch {
            store: self,
            tx: begin(conn)?,
            clock: clock.clone(),
            refs,
            session: session.as_ref(),
            skew_ms: *skew_ms,
        };
        let out = f(&mut batch)?;
        let Batch {
            tx, clock: after, ..
        } = batch;
        meta_set(&tx, "hlc", &after.last().encode())?;
        tx.commit()?;
        *clock = after;
        Ok(out)
    }

    /// A page of cases matching `q`.
    pub fn list_cases(&self, q: &CaseQuery) -> Result<CasePage> {
        let now = self.now_ms();
        let inner = self.lock();
        list_cases(&inner.conn, q, now)
    }

    /// The case with its photos, timeline and the actions the signed-in user may take.
    pub fn case_detail(&self, case_id: Uuid) -> Result<CaseDetail> {
        let now = self.now_ms();
        let inner = self.lock();
        let conn = &inner.conn;
        let case = load_case(conn, case_id)?.ok_or_else(|| not_found_case(case_id))?;
        let timeline = load_events(conn, case_id)?;
        let mut photos = Vec::new();
        for ev in &timeline {
            for p in ev.op.body.photos() {
                let path = photos::blob_path(&self.photo_dir, &p.sha256);
                photos.push(CasePhoto {
                    photo: p.clone(),
                    op_id: ev.op.id,
                    path: path.exists().then_some(path),
                });
            }
        }
        let allowed_actions = match &inner.session {
            Some(s) => fold::available_actions(&case, &s.actor())
                .into_iter()
                .map(|t| t.offer())
                .collect(),
            None => vec![],
        };
        Ok(CaseDetail {
            overdue: case.is_overdue(now),
            case,
            photos,
            timeline,
            allowed_actions,
        })
    }

    /// Recompute a case from its timeline (the fold of its events), without writing. The stored
    /// row must always equal this.
    pub fn recompute_case(&self, case_id: Uuid) -> Result<Case> {
        let inner = self.lock();
        let mut case: Option<Case> = None;
        for ev in load_events(&inner.conn, case_id)? {
            let ctx = ApplyContext {
                server_time_ms: ev.server_time_ms,
                case_no: ev.case_no.clone(),
                probable_duplicates: ev.probable_duplicates.clone(),
                deadline_horizon_ms: None,
            };
            case = Some(fold::apply(case.as_ref(), &ev.op, &ctx)?.0);
        }
        case.ok_or_else(|| not_found_case(case_id))
    }

    /// Every operation made on this device that the server has not confirmed, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let inner = self.lock();
        let floor = super::sync_state::outbox_floor(&inner.conn)?;
        let mut st = inner.conn.prepare(
            "SELECT local_seq, op FROM events WHERE local_seq >= ?1 AND pending = 1 ORDER BY local_seq",
        )?;
        let rows = st.query_map([floor], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, op) = row?;
            out.push(OutboxEntry {
                seq,
                op: serde_json::from_str(&op)?,
            });
        }
        Ok(out)
    }

    /// The file holding a photo's bytes on this device, if present.
    pub fn photo_path(&self, sha256: &str) -> Option<PathBuf> {
        if !photos::is_sha256_hex(sha256) {
            return None;
        }
        let p = photos::blob_path(&self.photo_dir, sha256);
        p.exists().then_some(p)
    }
}

fn not_found_case(id: Uuid) -> Error {
    Error::NotFound {
        kind: "case",
        id: id.to_string(),
    }
}

/// Check ids the body names against reference data and local cases.
fn check_references(conn: &Connection, refs: &ReferenceIndex, body: &OpBody) -> Result<()> {
    refs.check_op(body)?;
    if let OpBody::MarkDuplicate {
        duplicate_of: Some(target),
        ..
    } = body
        && load_case(conn, *target)?.is_none()
    {
        return Err(not_found_case(*target));
    }
    Ok(())
}

/// Fill in what the device decides for the person: default deadlines and the photos.
fn complete_body(
    refs: &ReferenceIndex,
    case: Option<&Case>,
    mut body: OpBody,
    staged: &[StagedPhoto],
    now: i64,
) -> Result<OpBody> {
    refs.complete_deadline(case, &mut body, now)?;
    let kind = PhotoKind::of_action(body.action());
    let refs = staged.iter().map(|s| PhotoRef {
        sha256: s.sha256.clone(),
        kind,
        mime: s.mime.to_string(),
        size: s.bytes.len() as u64,
        captured_at_ms: s.captured_at_ms,
        location: s.location.clone(),
    });
    body.attach_photos(refs.collect())?;
    Ok(body)
}

impl Batch<'_> {
    /// The one write path: validate, fold, write photo files, then write case, event, outbox and
    /// photo rows in the batch's transaction.
    fn record(&mut self, case_id: Uuid, body: OpBody, staged: Vec<StagedPhoto>) -> Result<Op> {
        let (store, tx, refs) = (self.store, &self.tx, self.refs);
        let session = self.session.ok_or(Error::NotSignedIn)?;
        let case = if body.action() == Action::Report {
            None
        } else {
            Some(load_case(tx, case_id)?.ok_or_else(|| not_found_case(case_id))?)
        };
        check_references(tx, refs, &body)?;
        let now = store.now_ms();
        let body = complete_body(refs, case.as_ref(), body, &staged, now)?;
        let mut next_clock = self.clock.clone();
        let op = Op {
            id: Uuid::now_v7(),
            case_id,
            device_id: store.device_id.clone(),
            actor: session.actor(),
            // The clock corrected by the server's (DESIGN §4); device_time_ms keeps its own.
            hlc: next_clock.tick(now.saturating_add(self.skew_ms).max(0) as u64),
            device_time_ms: now,
            body,
        };
        let (new_case, event) = fold::apply(case.as_ref(), &op, &ApplyContext::default())?;
        for s in &staged {
            photos::write_blob(&store.photo_dir, s)?;
        }
        if case.is_some() {
            keep_base(tx, case_id)?;
        }
        let op_json = serde_json::to_string(&op)?;
        let local_seq = insert_event(tx, &event, true, &op_json)?;
        let how = if case.is_none() {
            Write::Insert
        } else {
            Write::Update
        };
        save_case(tx, &new_case, local_seq, None, how)?;
        keep_photo_rows(tx, case_id, &op, &staged, now)?;
        self.clock = next_clock;
        Ok(op)
    }
}

/// The rows of the photos `op` names under `case_id` (the case, or a round's task): each held
/// photo once, and its place in the operation (for its upload and its eviction).
fn keep_photo_rows(
    tx: &Connection,
    case_id: Uuid,
    op: &Op,
    staged: &[StagedPhoto],
    now: i64,
) -> Result<()> {
    for r in op.body.photos() {
        let Some(s) = staged.iter().find(|s| s.sha256 == r.sha256) else {
            continue;
        };
        tx.prepare_cached(
            "INSERT OR IGNORE INTO photos (sha256, mime, size, added_at_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![s.sha256, s.mime, s.bytes.len() as i64, now])?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO case_photos (case_id, op_id, sha256, kind, captured_at_ms, lat, lon)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            case_id.to_string(),
            op.id.to_string(),
            r.sha256,
            r.kind.as_str(),
            r.captured_at_ms,
            r.location.as_ref().map(|l| l.lat),
            r.location.as_ref().map(|l| l.lon)
        ])?;
    }
    Ok(())
}

impl Batch<'_> {
    /// A round's submission (a site check, a re-check) with its photos, into the outbox under
    /// the task's id: no case changes here (the server raises or reopens cases, and the next
    /// pull brings them). `body` names its photos already; `staged` are their bytes.
    pub(crate) fn record_submission(
        &mut self,
        task_id: Uuid,
        body: OpBody,
        staged: Vec<StagedPhoto>,
    ) -> Result<Op> {
        let (store, tx) = (self.store, &self.tx);
        let session = self.session.ok_or(Error::NotSignedIn)?;
        crate::limits::check_body(&body)?;
        let now = store.now_ms();
        let mut next_clock = self.clock.clone();
        let op = Op {
            id: Uuid::now_v7(),
            case_id: task_id,
            device_id: store.device_id.clone(),
            actor: session.actor(),
            hlc: next_clock.tick(now.saturating_add(self.skew_ms).max(0) as u64),
            device_time_ms: now,
            body,
        };
        for s in &staged {
            photos::write_blob(&store.photo_dir, s)?;
        }
        // In the events table for its place in the outbox only: its case id is the task's, so
        // no case's timeline shows it, and it moves no status.
        tx.prepare_cached(
            "INSERT INTO events (op_id, case_id, action, to_status, pending, op)
             VALUES (?1, ?2, ?3, '', 1, ?4)",
        )?
        .execute(params![
            op.id.to_string(),
            task_id.to_string(),
            op.body.action().as_str(),
            serde_json::to_string(&op)?
        ])?;
        keep_photo_rows(tx, task_id, &op, &staged, now)?;
        self.clock = next_clock;
        Ok(op)
    }

    /// The transaction of this batch.
    pub(crate) fn tx(&self) -> &Transaction<'_> {
        &self.tx
    }

    /// The reference data of this batch.
    pub(crate) fn refs(&self) -> &ReferenceIndex {
        self.refs
    }

    /// Who is signed in.
    pub(crate) fn session(&self) -> Result<&Session> {
        self.session.ok_or(Error::NotSignedIn)
    }
}

/// Append an event to the timeline (and, if pending, to the outbox); returns its local_seq.
pub(crate) fn insert_event(
    conn: &Connection,
    ev: &Event,
    pending: bool,
    op_json: &str,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO events (op_id, case_id, action, from_status, to_status,
                             server_time_ms, case_no, pending, op, server_seq, dups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        &*ev.op.id.hyphenated().encode_lower(&mut [0u8; 36]),
        &*ev.op.case_id.hyphenated().encode_lower(&mut [0u8; 36]),
        ev.op.body.action().as_str(),
        ev.from_status.map(|s| s.as_str()),
        ev.to_status.as_str(),
        ev.server_time_ms,
        ev.case_no,
        pending,
        op_json,
        ev.server_seq,
        dups_json(&ev.probable_duplicates)?
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Server annotations as stored in `events.dups` (NULL when there are none).
pub(crate) fn dups_json(dups: &[Uuid]) -> Result<Option<String>> {
    Ok(if dups.is_empty() {
        None
    } else {
        Some(serde_json::to_string(dups)?)
    })
}

/// Parse `events.dups`.
pub(crate) fn parse_dups(json: Option<String>) -> Vec<Uuid> {
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

/// How [`save_case`] writes the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// A new case (the common report path: a plain insert).
    Insert,
    /// A case known to exist.
    Update,
    /// Either (pulls, rebases).
    Upsert,
}

/// Before the first local operation on a case the server sent: keep the server's version (the
/// view, which holds no local work yet) as the base the operations are replayed on. A case with
/// a base already, or one the server never sent, is left alone.
fn keep_base(conn: &Connection, case_id: Uuid) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO base_cases (id, seq, doc)
         SELECT id, server_seq, doc FROM cases WHERE id = ?1 AND server_seq IS NOT NULL",
    )?
    .execute([&*case_id.hyphenated().encode_lower(&mut [0u8; 36])])?;
    Ok(())
}

/// Write the local view of a case; `changed_seq` is the local_seq of the event that changed it,
/// `server_seq` the feed sequence of the server's version when the view is exactly that (no
/// local work), else None.
pub(crate) fn save_case(
    conn: &Connection,
    c: &Case,
    changed_seq: i64,
    server_seq: Option<i64>,
    how: Write,
) -> Result<()> {
    let sql = match how {
        Write::Insert => {
            "INSERT INTO cases (status, category, unit_id, site_id, reporter_id, deadline_ms, due_sort,
                                changed_seq, description, doc, id, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        }
        Write::Update => {
            "UPDATE cases SET status = ?1, category = ?2, unit_id = ?3, site_id = ?4, reporter_id = ?5,
                    deadline_ms = ?6, due_sort = ?7, changed_seq = ?8, description = ?9, doc = ?10,
                    server_seq = ?12
             WHERE id = ?11"
        }
        Write::Upsert => {
            "INSERT INTO cases (status, category, unit_id, site_id, reporter_id, deadline_ms, due_sort,
                                changed_seq, description, doc, id, server_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(id) DO UPDATE SET status = excluded.status, category = excluded.category,
                unit_id = excluded.unit_id, site_id = excluded.site_id,
                reporter_id = excluded.reporter_id, deadline_ms = excluded.deadline_ms,
                due_sort = excluded.due_sort, changed_seq = excluded.changed_seq,
                description = excluded.description, doc = excluded.doc,
                server_seq = excluded.server_seq"
        }
    };
    conn.prepare_cached(sql)?.execute(params![
        c.status.as_str(),
        c.category,
        c.unit_id,
        c.site_id,
        c.reporter_id,
        c.deadline_ms,
        c.deadline_ms.unwrap_or(i64::MAX),
        changed_seq,
        c.description,
        serde_json::to_string(c)?,
        &*c.id.hyphenated().encode_lower(&mut [0u8; 36]),
        server_seq,
    ])?;
    crate::search::index_case(
        conn,
        c.id.hyphenated().encode_lower(&mut [0u8; 36]),
        &crate::search::case_text(c),
    )?;
    Ok(())
}

pub(crate) fn load_case(conn: &Connection, id: Uuid) -> Result<Option<Case>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM cases WHERE id = ?1")?
        .query_row([&*id.hyphenated().encode_lower(&mut [0u8; 36])], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(match doc {
        Some(d) => Some(serde_json::from_str(&d)?),
        None => None,
    })
}

pub(crate) fn load_events(conn: &Connection, case_id: Uuid) -> Result<Vec<Event>> {
    let mut st = conn.prepare_cached(
        "SELECT op, from_status, to_status, server_time_ms, case_no, server_seq, dups FROM events
         WHERE case_id = ?1 ORDER BY server_seq IS NULL, server_seq, local_seq",
    )?;
    let rows = st.query_map([case_id.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<i64>>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (op, from, to, server_time_ms, case_no, server_seq, dups) = row?;
        out.push(Event {
            op: serde_json::from_str(&op)?,
            from_status: from.as_deref().and_then(Status::parse),
            to_status: Status::parse(&to).unwrap_or(Status::Submitted),
            server_time_ms,
            case_no,
            server_seq,
            probable_duplicates: parse_dups(dups),
        });
    }
    Ok(out)
}

fn list_cases(conn: &Connection, q: &CaseQuery, now: i64) -> Result<CasePage> {
    let mut sql = String::from("SELECT doc FROM cases WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if !q.statuses.is_empty() {
        sql.push_str(" AND status IN (");
        for (i, s) in q.statuses.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            arg(&mut sql, "?", s.as_str().to_string().into());
        }
        sql.push(')');
    }
    if let Some(u) = &q.unit_id {
        arg(&mut sql, " AND unit_id = ?", u.clone().into());
    }
    if let Some(c) = &q.category {
        arg(&mut sql, " AND category = ?", c.clone().into());
    }
    if let Some(s) = &q.site_id {
        arg(&mut sql, " AND site_id = ?", s.clone().into());
    }
    if let Some(r) = &q.reporter_id {
        arg(&mut sql, " AND reporter_id = ?", r.clone().into());
    }
    if let Some(overdue) = q.overdue {
        let running = Status::DEADLINE_RUNNING
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let cond = format!("(status IN ({running}) AND deadline_ms < ?)");
        if overdue {
            arg(&mut sql, &format!(" AND {cond}"), now.into());
        } else {
            arg(&mut sql, &format!(" AND NOT {cond}"), now.into());
        }
    }
    if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // The index narrows to the candidates (crate::search); the substring test confirms.
        if let Some(m) = crate::search::match_query(t) {
            arg(
                &mut sql,
                " AND id IN (SELECT k.case_id FROM case_search s
                             JOIN case_search_keys k ON k.key = s.rowid
                             WHERE case_search MATCH ?)",
                m.into(),
            );
        }
        arg(
            &mut sql,
            " AND (description LIKE ? ESCAPE '\\'
                   OR json_extract(doc, '$.location.address') LIKE ? ESCAPE '\\')",
            crate::search::like_pattern(t).into(),
        );
    }
    sql.push_str(match q.sort {
        CaseSort::Deadline => " ORDER BY due_sort, rowid",
        CaseSort::LastChange => " ORDER BY changed_seq DESC",
    });
    let limit = match q.limit {
        0 => 50,
        n => n.min(500),
    };
    sql.push_str(&format!(" LIMIT {} OFFSET {}", limit + 1, q.offset));
    let mut st = conn.prepare_cached(&sql)?;
    let mut items = Vec::new();
    let mut rows = st.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let doc: String = r.get(0)?;
        let case: Case = serde_json::from_str(&doc)?;
        items.push(CaseListItem {
            overdue: case.is_overdue(now),
            case,
        });
    }
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Ok(CasePage { items, has_more })
}
