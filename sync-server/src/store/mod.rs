//! Server storage behind one trait, so a PostgreSQL backend can be added without touching the
//! handlers. Calls are blocking; handlers run them on tokio's blocking pool.

pub mod case_list;
pub mod notice_records;
pub mod period;
pub mod photo_records;
pub mod postgres;
mod postgres_notices;
pub mod postgres_photos;
mod postgres_rounds;
pub mod round_records;
pub mod sqlite;
mod sqlite_notices;
pub mod sqlite_photos;
mod sqlite_rounds;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;
use xuncha_core::model::{Actor, Case, Op};
use xuncha_core::reference::{ReferenceData, User};
use xuncha_core::scope::Reach;
use xuncha_core::sync::protocol::OpResult;

use crate::group_commit::PushJob;

/// Storage errors: core errors (including SQLite) or a conflict the caller should report.
pub type StoreResult<T> = Result<T, xuncha_core::Error>;

/// A user with what only the server knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The directory entry.
    pub user: User,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Disabled users cannot sign in and their tokens stop working.
    pub disabled: bool,
}

/// A device known to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Device id (made by the device).
    pub id: String,
    /// The user it was registered by.
    pub user_id: String,
    /// Name given at login.
    pub name: String,
    /// Revoked devices cannot sign in; their tokens stop working at once.
    pub revoked: bool,
}

/// A bearer token's owner, as resolved on every request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// User.
    pub user: User,
    /// Device.
    pub device_id: String,
    /// Expiry (UTC ms).
    pub expires_at_ms: i64,
    /// Token revoked (sign-out).
    pub revoked: bool,
    /// User disabled.
    pub user_disabled: bool,
    /// Device revoked.
    pub device_revoked: bool,
}

/// Who is calling: an authenticated user on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// The device.
    pub device_id: String,
}

impl Principal {
    /// The user as an actor of the workflow.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.id.clone(),
            role: self.user.role,
            unit_id: self.user.unit_id.clone(),
        }
    }

    /// Which cases this user sees, in the city's current areas (core's rule).
    pub fn reach(&self, index: &xuncha_core::reference::ReferenceIndex) -> Reach {
        Reach::of(&self.actor(), self.user.area_id.as_deref(), index)
    }
}

/// Counters for `/metrics` and tests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Cases.
    pub cases: u64,
    /// Events in the change feed.
    pub events: u64,
    /// Photos stored.
    pub photos: u64,
}

/// A stored id that does not parse (a damaged or hand-edited database).
/// Where a citizen report (市民随手拍) came from and how to reach its reporter: for supervisors'
/// eyes only, so it is kept beside the case, never in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitizenReport {
    /// The case it became.
    pub case_id: Uuid,
    /// The Open311 client (API key name) it came through.
    pub client: String,
    /// The reporter's contact as given.
    pub contact: CitizenContact,
    /// The photo's address, when the report named one.
    pub media_url: Option<String>,
    /// When it arrived.
    pub received_ms: i64,
}

/// A citizen's contact, every part optional (Open311's `first_name`, `last_name`, `email`,
/// `phone`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenContact {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub first_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub last_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone: String,
}

impl CitizenContact {
    /// True when the reporter left no way to reach them.
    pub fn is_empty(&self) -> bool {
        self.first_name.is_empty()
            && self.last_name.is_empty()
            && self.email.is_empty()
            && self.phone.is_empty()
    }
}

/// A bulletin's number and date of issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulletinIssue {
    /// The year it is numbered in.
    pub year: i32,
    /// 第N期 of that year.
    pub number: i64,
    /// When it was first issued.
    pub issued_ms: i64,
}

/// An Open311 client name that is taken already.
pub(crate) fn taken_client(name: &str) -> xuncha_core::Error {
    xuncha_core::Error::InvalidField {
        field: "name",
        reason: format!("an Open311 client named '{name}' exists already"),
    }
}

pub fn bad_stored_id(field: &'static str, value: &str) -> xuncha_core::Error {
    xuncha_core::Error::InvalidField {
        field,
        reason: format!("stored id '{value}' is not a UUID"),
    }
}

/// Everything the HTTP layer needs from storage.
pub trait ServerStore:
    photo_records::PhotoRecords
    + notice_records::NoticeRecords
    + round_records::RoundRecords
    + Send
    + Sync
    + 'static
{
    /// A user by id.
    fn user(&self, id: &str) -> StoreResult<Option<UserRecord>>;
    /// Create a user (fails with `case_exists`-style conflict if the id is taken).
    fn create_user(&self, user: &User, password_hash: &str) -> StoreResult<()>;
    /// Change a password and revoke the user's tokens.
    fn set_password(&self, user_id: &str, password_hash: &str) -> StoreResult<bool>;
    /// Disable or enable a user.
    fn set_disabled(&self, user_id: &str, disabled: bool) -> StoreResult<bool>;
    /// Register (or refresh) a device for a user at login. A device registered by another user
    /// is left as it is and returned as it is (the caller refuses the sign-in).
    fn register_device(
        &self,
        device_id: &str,
        user_id: &str,
        name: &str,
        now_ms: i64,
    ) -> StoreResult<DeviceRecord>;
    /// Revoke a device: its tokens stop working at once.
    fn revoke_device(&self, device_id: &str) -> StoreResult<bool>;
    /// Store a token by its hash.
    fn insert_token(
        &self,
        token_hash: &str,
        user_id: &str,
        device_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    /// Resolve a token hash.
    fn token(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>>;
    /// Revoke one token (sign-out).
    fn revoke_token(&self, token_hash: &str) -> StoreResult<()>;
    /// The reference data and its version.
    fn reference(&self) -> StoreResult<(i64, ReferenceData)>;
    /// Replace the reference data (and the users directory entries it lists, without passwords);
    /// returns the new version.
    fn set_reference(&self, data: &ReferenceData) -> StoreResult<i64>;
    /// Apply several devices' pushes in one transaction with one commit, each under its own
    /// savepoint: one answer per push, in order ([`crate::group_commit`]). A push whose storage
    /// work fails is rolled back alone; a failed commit fails them all.
    fn push_group(&self, jobs: &[PushJob<'_>]) -> Vec<StoreResult<Vec<OpResult>>>;
    /// Apply a device's ordered batch of operations on its own; one result per operation.
    fn push(
        &self,
        who: &Principal,
        ops: &[Op],
        now_ms: i64,
        rules: &crate::apply::PushRules,
    ) -> StoreResult<Vec<OpResult>> {
        let job = PushJob::new(who, ops, now_ms, rules);
        self.push_group(&[job]).pop().unwrap_or_else(|| {
            Err(xuncha_core::Error::Database(
                "a push group gave no answer".into(),
            ))
        })
    }
    /// Changes in the caller's scope after `cursor` (whole cases by their last change when
    /// `whole` asks and the scope allows: [`crate::pull`]).
    fn pull(
        &self,
        who: &Principal,
        cursor: i64,
        limit: usize,
        whole: bool,
        now_ms: i64,
    ) -> StoreResult<PullPage>;
    /// A case by id, regardless of scope (callers check scope).
    fn case(&self, id: uuid::Uuid) -> StoreResult<Option<Case>>;
    /// Cases in any of `statuses` (all when empty), of `unit` when given, most recently received
    /// first, at most `limit` (callers check scope).
    fn cases(
        &self,
        statuses: &[xuncha_core::workflow::Status],
        unit: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Case>>;
    /// How many cases pass `filter` ([`case_list`]).
    fn count_cases(&self, filter: &case_list::CaseFilter) -> StoreResult<u64>;
    /// One page of the cases that pass `filter`, most overdue first ([`case_list::LIST_ORDER`]).
    fn list_cases(
        &self,
        filter: &case_list::CaseFilter,
        offset: u64,
        limit: usize,
    ) -> StoreResult<Vec<Case>>;
    /// Cases of the reference's categories in any of `statuses` (all when empty) within about
    /// `radius_m` of any of the points `at` (bounding boxes: callers measure the real distance),
    /// each case once, at most `limit` per point, in one query (callers check scope).
    fn cases_near(
        &self,
        at: &[xuncha_core::geo::LatLon],
        radius_m: f64,
        statuses: &[xuncha_core::workflow::Status],
        limit: usize,
    ) -> StoreResult<Vec<Case>>;
    /// The first photo of each of `cases` that has one (the first photo of its earliest event
    /// with photos), in one query.
    fn first_photos(&self, cases: &[Uuid]) -> StoreResult<HashMap<Uuid, String>>;
    /// Cases within `scope` (a person's reach, [`case_list::CaseFilter::for_reach`]) whose number
    /// or id is `text`, or whose description or address contains it; exact matches first, then
    /// the most recently received, at most `limit`.
    fn search_cases(
        &self,
        text: &str,
        scope: &case_list::CaseFilter,
        limit: usize,
    ) -> StoreResult<Vec<Case>>;
    /// The facts of the ranking's period `[from_ms, to_ms)` and of the charts' window
    /// `[days_from_ms, days_to_ms)`, in one snapshot ([`period`]).
    fn period_facts(
        &self,
        from_ms: i64,
        to_ms: i64,
        days_from_ms: i64,
        days_to_ms: i64,
    ) -> StoreResult<period::PeriodFacts>;
    /// The cases reported in `[from_ms, to_ms)` at a site where more than one was, by site (at
    /// most [`xuncha_core::limits::EXPORT_ROWS`]).
    fn repeated_at_sites(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Case>>;
    /// The bulletin issue (第N期) of `office` (the area the bulletin is for, `""` for the city)
    /// for the period `from`..=`to` (city dates, YYYY-MM-DD): the one it was given the first
    /// time, else that office's next number of `year`, issued at `now_ms`.
    fn bulletin_issue(
        &self,
        office: &str,
        from: &str,
        to: &str,
        year: i32,
        now_ms: i64,
    ) -> StoreResult<BulletinIssue>;
    /// Open311: keep a new API key's SHA-256 for a client: a new name, or one whose key was
    /// revoked (a new key replaces it); refused while the name holds a working key.
    fn create_open311_key(&self, name: &str, hash: &str, now_ms: i64) -> StoreResult<()>;
    /// Open311: the client a key's SHA-256 belongs to, unless the key was revoked.
    fn open311_client(&self, hash: &str) -> StoreResult<Option<String>>;
    /// Open311: revoke a client's key; false if there is no such client.
    fn revoke_open311_key(&self, name: &str) -> StoreResult<bool>;
    /// Open311: the clients with their keys' state, by name (name, created, revoked).
    fn open311_clients(&self) -> StoreResult<Vec<(String, i64, bool)>>;
    /// Keep a citizen report's client and contact (written before its case is pushed; a retry
    /// replaces it).
    fn save_citizen_report(&self, report: &CitizenReport) -> StoreResult<()>;
    /// Forget a citizen report whose case was refused.
    fn delete_citizen_report(&self, case_id: Uuid) -> StoreResult<()>;
    /// The newest `limit` cases of `filter`, most recently received first (callers check scope).
    fn newest_cases(&self, filter: &case_list::CaseFilter, limit: usize) -> StoreResult<Vec<Case>>;
    /// A citizen report's client and contact.
    fn citizen_report(&self, case_id: Uuid) -> StoreResult<Option<CitizenReport>>;
    /// Every case with its timeline in feed order (what the period's facts are checked against).
    fn cases_with_timelines(&self) -> StoreResult<Vec<(Case, Vec<xuncha_core::model::Event>)>>;
    /// The reference data's index (categories, calendar, units) as push validation uses it.
    fn reference_index(&self) -> std::sync::Arc<xuncha_core::reference::ReferenceIndex>;
    /// A case's timeline, in feed order.
    fn timeline(&self, id: uuid::Uuid) -> StoreResult<Vec<xuncha_core::model::Event>>;
    /// Counters (counting every row: not for a health probe).
    fn stats(&self) -> StoreResult<StoreStats>;
    /// The newest sequence of the change feed (0 when empty): one indexed read, for health
    /// probes.
    fn feed_seq(&self) -> StoreResult<i64>;
    /// Bytes the records take on disk (the SQLite file with its WAL, or the PostgreSQL
    /// database).
    fn database_bytes(&self) -> StoreResult<u64>;
}

/// A pull page built from the stored JSON of cases and events, sent without decoding and
/// re-encoding them. It serializes exactly as [`xuncha_core::sync::protocol::PullResponse`],
/// which is what devices decode (a test holds the two together).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PullPage {
    /// Changes in the caller's scope after the cursor.
    pub changes: Vec<PageChange>,
    /// Cursor to send next time.
    pub cursor: i64,
    /// True if more pages follow now.
    pub has_more: bool,
    /// The page holds whole cases by their last change (asked for with `whole`, granted in
    /// scopes nothing leaves): while `has_more`, ask for the next page the same way.
    pub whole: bool,
    /// Version of the reference data.
    pub reference_version: i64,
    /// Server clock.
    pub server_time_ms: i64,
}

/// One change of a [`PullPage`], as [`xuncha_core::sync::protocol::Change`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum PageChange {
    /// The case as stored now, with timeline events (all of them when `full`).
    Upsert {
        /// The case document.
        #[schema(value_type = xuncha_core::model::Case)]
        case: Box<RawValue>,
        /// Feed sequence of the last event the case reflects.
        seq: i64,
        /// Event documents, by sequence (each carries its `server_seq`).
        #[schema(value_type = Vec<xuncha_core::model::Event>)]
        events: Vec<Box<RawValue>>,
        /// The case just entered the caller's scope.
        full: bool,
    },
    /// The case left the caller's scope.
    Remove {
        /// The case.
        case_id: Uuid,
    },
}

/// Where to look for cases within `radius_m` of any of the points `at` (the index prefilter of
/// `cases_near`): for each point, each row of grid cells its box covers, as
/// `(first_cell, last_cell, lat_lo, lat_hi, lon_lo, lon_hi)`, the box a little larger than the
/// circle.
pub(crate) fn near_boxes(
    at: &[xuncha_core::geo::LatLon],
    radius_m: f64,
) -> Vec<(i64, i64, f64, f64, f64, f64)> {
    at.iter()
        .flat_map(|p| {
            let (lo, hi) = xuncha_core::geo::bounding_box(*p, radius_m * 1.01);
            xuncha_core::geo::cell_ranges(lo, hi)
                .into_iter()
                .map(move |(first, last)| (first, last, lo.lat, hi.lat, lo.lon, hi.lon))
        })
        .collect()
}

/// The first photo of `event`, if it has any.
pub(crate) fn first_photo_of(event: &xuncha_core::model::Event) -> Option<String> {
    event.op.body.photos().first().map(|p| p.sha256.clone())
}

/// A case's place as stored in columns: `(id, site_id, lat, lon, area_id)`.
pub(crate) type PlaceRow = (String, Option<String>, f64, f64, Option<String>);

/// The cases whose area differs under `index` (new reference data, areas redrawn), with their
/// new area: both backends re-place their cases with it when the reference data is replaced,
/// so console lists, exports and scope checks follow the new tree at once.
pub(crate) fn area_changes(
    index: &xuncha_core::reference::ReferenceIndex,
    rows: Vec<PlaceRow>,
) -> Vec<(String, Option<String>)> {
    rows.into_iter()
        .filter_map(|(id, site, lat, lon, area)| {
            let now = index.area_of_place(site.as_deref(), xuncha_core::geo::LatLon { lat, lon });
            (now != area).then_some((id, now))
        })
        .collect()
}

/// A stored case document with its area replaced.
pub(crate) fn with_area(doc: &str, area: Option<&str>) -> StoreResult<String> {
    let mut case: Case = serde_json::from_str(doc)?;
    case.area_id = area.map(str::to_string);
    Ok(serde_json::to_string(&case)?)
}
