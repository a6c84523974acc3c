//! `XunchaClient`: one device store (a folder with its SQLite file and photos) and its sync
//! client. Calls block; the app calls them from a background thread. Every rule is the core's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;
use xuncha_core::Store;
use xuncha_core::model::CaseEdit;
use xuncha_core::round::RecheckOutcome;
use xuncha_core::standard::Finding;
use xuncha_core::store::{CaseQuery, CaseSort, NewReport, PhotoInput, PhotoSource};
use xuncha_core::sync::client::{SyncOptions, SyncPhase};
use xuncha_core::workflow::{Action, Offer};

use crate::actions::ActionFields;
use crate::error::{FfiResult, invalid};
use crate::types::*;

/// Told how a sync is going (`sync_phase_label` says the phase in words); `total` is 0 when
/// not known in advance (pull).
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, phase: SyncPhase, done: u64, total: u64);
}

/// Cancels a running sync from another thread (the sync returns a `Cancelled` error soon after;
/// what was already applied stays applied).
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken {
    flag: AtomicBool,
}

#[uniffi::export]
impl CancelToken {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(CancelToken::default())
    }

    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// The device: its store and its way to the server.
#[derive(uniffi::Object)]
pub struct XunchaClient {
    store: Store,
}

pub(crate) fn parse_id(id: &str) -> FfiResult<Uuid> {
    id.trim()
        .parse()
        .map_err(|_| invalid("case_id", format!("'{id}' is not a case id (UUID)")))
}

fn parse_task(id: &str) -> FfiResult<Uuid> {
    id.trim()
        .parse()
        .map_err(|_| invalid("task_id", format!("'{id}' is not a task id (UUID)")))
}

fn photo_input(p: NewPhoto) -> FfiResult<PhotoInput> {
    let source = match (p.path, p.bytes) {
        (Some(path), None) => PhotoSource::Path(path.into()),
        (None, Some(bytes)) => PhotoSource::Bytes(bytes),
        _ => {
            return Err(invalid(
                "photos",
                "a photo needs exactly one of a file path or bytes",
            ));
        }
    };
    Ok(PhotoInput {
        source,
        captured_at_ms: p.captured_at_ms,
        location: p.place.map(Into::into),
    })
}

fn photo_inputs(photos: Vec<NewPhoto>) -> FfiResult<Vec<PhotoInput>> {
    photos.into_iter().map(photo_input).collect()
}

fn session_info(s: xuncha_core::Session) -> SessionInfo {
    let a = s.actor();
    SessionInfo {
        user_id: a.user_id,
        role: a.role,
        unit_id: a.unit_id,
    }
}

#[uniffi::export]
impl XunchaClient {
    /// Open (or create) the store in the folder `dir` (the app's private files folder).
    #[uniffi::constructor]
    pub fn open(dir: String) -> FfiResult<Arc<Self>> {
        Ok(Arc::new(XunchaClient {
            store: Store::open(dir)?,
        }))
    }

    /// This device's id (made once, kept in the store).
    pub fn device_id(&self) -> String {
        self.store.device_id().to_string()
    }

    /// Sign in to a server with a password; pending operations of an earlier sign-in stay.
    pub fn sign_in(
        &self,
        server_url: String,
        user_id: String,
        password: String,
        device_name: String,
    ) -> FfiResult<SessionInfo> {
        Ok(session_info(self.store.sign_in_remote(
            &server_url,
            &user_id,
            &password,
            &device_name,
        )?))
    }

    /// Sign out (the server forgets the token when reachable; the outbox is kept).
    pub fn sign_out(&self) -> FfiResult<()> {
        Ok(self.store.sign_out_remote()?)
    }

    /// Who is signed in, if anyone.
    pub fn session(&self) -> Option<SessionInfo> {
        self.store.session().map(session_info)
    }

    /// The server this device syncs with, if set.
    pub fn server_url(&self) -> FfiResult<Option<String>> {
        Ok(self.store.sync_state()?.server_url)
    }

    /// The category tree (大类 → 小类) for the report screen.
    pub fn category_tree(&self) -> FfiResult<Vec<CategoryGroup>> {
        Ok(self
            .store
            .category_tree()?
            .into_iter()
            .map(|node| CategoryGroup {
                code: node.class.code,
                name: node.class.name,
                name_en: node.class.name_en,
                categories: node
                    .categories
                    .into_iter()
                    .map(|c| CategoryInfo {
                        code: c.code,
                        name: c.name,
                        name_en: c.name_en,
                        deadline: c.deadline.to_string(),
                        urgent: c.urgent,
                    })
                    .collect(),
            })
            .collect())
    }

    /// Responsible units.
    pub fn units(&self) -> FfiResult<Vec<UnitInfo>> {
        Ok(self
            .store
            .units()?
            .into_iter()
            .map(UnitInfo::from)
            .collect())
    }

    /// The units the signed-in person may dispatch to (a district's supervisor: the district's
    /// and the city-wide ones), for the dispatch form's picker.
    pub fn dispatch_units(&self) -> FfiResult<Vec<UnitInfo>> {
        Ok(self
            .store
            .dispatch_units()?
            .into_iter()
            .map(UnitInfo::from)
            .collect())
    }

    /// Sites within `radius_m` of a WGS-84 point, nearest first.
    pub fn sites_near(
        &self,
        lat: f64,
        lon: f64,
        radius_m: f64,
        limit: u32,
    ) -> FfiResult<Vec<SiteInfo>> {
        Ok(self
            .store
            .sites_near(lat, lon, radius_m, limit as usize)?
            .into_iter()
            .map(SiteInfo::from)
            .collect())
    }

    /// Report a case (works offline); returns the new case's id.
    pub fn report(&self, case: NewCase) -> FfiResult<String> {
        let op = self.store.report(NewReport {
            category: case.category,
            description: case.description,
            location: case.place.into(),
            site_id: case.site_id,
            campaign_id: case.campaign_id,
            undercover: case.undercover,
            photos: photo_inputs(case.photos)?,
        })?;
        Ok(op.case_id.to_string())
    }

    /// Change fields of a report (its reporter, until it is registered).
    pub fn edit(&self, case_id: String, changes: CaseChanges) -> FfiResult<()> {
        self.store.edit(
            parse_id(&case_id)?,
            CaseEdit {
                category: changes.category,
                description: changes.description,
                location: changes.place.map(Into::into),
                site_id: changes.site_id,
                campaign_id: changes.campaign_id,
            },
        )?;
        Ok(())
    }

    /// Take a workflow action with the inputs its offer asks for (and photos where it needs
    /// them); refused with a clear error, and nothing changed, if the signed-in person may not
    /// take it now or an input is missing.
    pub fn act(
        &self,
        case_id: String,
        action: Action,
        fields: ActionFields,
        photos: Vec<NewPhoto>,
    ) -> FfiResult<()> {
        self.store.act(
            parse_id(&case_id)?,
            fields.into_body(action)?,
            photo_inputs(photos)?,
        )?;
        Ok(())
    }

    /// The actions the signed-in person may take on the case now, each with the inputs its form
    /// asks for.
    pub fn allowed_actions(&self, case_id: String) -> FfiResult<Vec<Offer>> {
        Ok(self.store.case_detail(parse_id(&case_id)?)?.allowed_actions)
    }

    /// A page of cases on this device.
    pub fn list_cases(&self, filter: CaseFilter) -> FfiResult<CasePage> {
        let page = self.store.list_cases(&CaseQuery {
            statuses: filter.statuses,
            unit_id: filter.unit_id,
            category: filter.category,
            site_id: filter.site_id,
            reporter_id: filter.reporter_id,
            overdue: filter.overdue,
            text: filter.text,
            sort: if filter.newest_first {
                CaseSort::LastChange
            } else {
                CaseSort::Deadline
            },
            offset: filter.offset,
            limit: if filter.limit == 0 { 50 } else { filter.limit },
        })?;
        Ok(CasePage {
            items: page
                .items
                .into_iter()
                .map(|i| summary(i.case, i.overdue))
                .collect(),
            has_more: page.has_more,
        })
    }

    /// A case with its photos, timeline and the actions allowed now.
    pub fn case_detail(&self, case_id: String) -> FfiResult<CaseDetailInfo> {
        Ok(self.store.case_detail(parse_id(&case_id)?)?.into())
    }

    /// Fetch a photo's bytes from the server if this device does not hold them yet; returns the
    /// local file path.
    pub fn download_photo(&self, sha256: String) -> FfiResult<String> {
        Ok(path_text(&self.store.fetch_photo(&sha256)?))
    }

    /// Operations waiting to be sent, oldest first.
    pub fn outbox(&self) -> FfiResult<Vec<OutboxItem>> {
        Ok(self
            .store
            .outbox()?
            .into_iter()
            .map(|e| OutboxItem {
                op_id: e.op.id.to_string(),
                case_id: e.op.case_id.to_string(),
                action: e.op.body.action(),
                device_time_ms: e.op.device_time_ms,
            })
            .collect())
    }

    /// How many operations wait to be sent.
    pub fn pending_count(&self) -> FfiResult<u64> {
        Ok(self.store.pending_count()?)
    }

    /// The person's round tasks ("my sites today"): open ones first, nearest first from
    /// `here` when given.
    pub fn tasks(&self, here: Option<Place>) -> FfiResult<Vec<TaskInfo>> {
        let at = here.map(|p| xuncha_core::geo::LatLon {
            lat: p.lat,
            lon: p.lon,
        });
        Ok(self
            .store
            .tasks(at)?
            .into_iter()
            .map(TaskInfo::from)
            .collect())
    }

    /// A site task's checklist: the standard's indicators for its site's type.
    pub fn checklist(&self, task_id: String) -> FfiResult<Vec<IndicatorInfo>> {
        Ok(self
            .store
            .checklist(parse_task(&task_id)?)?
            .into_iter()
            .map(IndicatorInfo::from)
            .collect())
    }

    /// The points of a checklist as filled in so far (core's scoring; photos ignored).
    pub fn checklist_score(
        &self,
        task_id: String,
        entries: Vec<CheckEntry>,
    ) -> FfiResult<ChecklistScore> {
        let findings: Vec<(String, Finding)> =
            entries.into_iter().map(|e| (e.code, e.finding)).collect();
        let (points, possible) = self
            .store
            .checklist_score(parse_task(&task_id)?, &findings)?;
        Ok(ChecklistScore {
            points,
            possible,
            rate: xuncha_core::standard::score_rate(points, possible),
        })
    }

    /// Submit a site's checklist, offline too (pushed with the next sync); refused here by
    /// the server's own rules (every indicator, a fitting finding, a photo per deduction, the
    /// task open and the team's). Returns the operation's id.
    pub fn submit_check(
        &self,
        task_id: String,
        entries: Vec<CheckEntry>,
        here: Option<Place>,
        note: String,
    ) -> FfiResult<String> {
        let indicators = entries
            .into_iter()
            .map(|e| {
                Ok(xuncha_core::store::IndicatorInput {
                    code: e.code,
                    finding: e.finding,
                    note: e.note,
                    photos: photo_inputs(e.photos)?,
                })
            })
            .collect::<FfiResult<Vec<_>>>()?;
        let op = self.store.submit_check(
            parse_task(&task_id)?,
            xuncha_core::store::SiteCheckInput {
                indicators,
                position: here.map(Into::into),
                note,
            },
        )?;
        Ok(op.id.to_string())
    }

    /// Submit a 回头看 re-check with at least one photo of the place now, offline too.
    /// Returns the operation's id.
    pub fn submit_recheck(
        &self,
        task_id: String,
        outcome: RecheckOutcome,
        photos: Vec<NewPhoto>,
        here: Option<Place>,
        note: String,
    ) -> FfiResult<String> {
        let op = self.store.submit_recheck(
            parse_task(&task_id)?,
            xuncha_core::store::RecheckInput {
                outcome,
                photos: photo_inputs(photos)?,
                position: here.map(Into::into),
                note,
            },
        )?;
        Ok(op.id.to_string())
    }

    /// The person's notices, newest first (pulled with every sync).
    pub fn notices(&self, limit: u32) -> FfiResult<Vec<NoticeInfo>> {
        Ok(self
            .store
            .notices(limit as usize)?
            .into_iter()
            .map(NoticeInfo::from)
            .collect())
    }

    /// How many notices are unread (the count on the sync bar).
    pub fn unread_notices(&self) -> FfiResult<u64> {
        Ok(self.store.unread_notices()?)
    }

    /// Mark a notice read, offline too (the server hears of it on the next sync); false if it
    /// was read already or there is no such notice.
    pub fn mark_notice_read(&self, notice_id: String) -> FfiResult<bool> {
        let id = notice_id
            .trim()
            .parse()
            .map_err(|_| invalid("notice_id", format!("'{notice_id}' is not a notice id")))?;
        Ok(self.store.mark_notice_read(id)?)
    }

    /// Operations the server refused, newest first, with its reasons.
    pub fn rejections(&self) -> FfiResult<Vec<RejectionInfo>> {
        Ok(self
            .store
            .rejections()?
            .into_iter()
            .map(RejectionInfo::from)
            .collect())
    }

    /// Send what is pending, upload photos, receive what is new. Retries network errors with
    /// backoff; stops with an `Auth` error when the user must sign in again.
    pub fn sync(
        &self,
        listener: Option<Arc<dyn SyncListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> FfiResult<SyncSummary> {
        let never = AtomicBool::new(false);
        let flag = cancel.as_ref().map(|c| &c.flag).unwrap_or(&never);
        let mut progress = |p: xuncha_core::sync::client::SyncProgress| {
            if let Some(l) = &listener {
                l.on_progress(p.phase, p.done, p.total);
            }
        };
        Ok(self
            .store
            .sync(&SyncOptions::default(), &mut progress, flag)?
            .into())
    }
}

/// The limits every form enforces while the person types (the same ones the store checks on
/// save and the server on push).
#[uniffi::export]
pub fn input_limits() -> crate::types::InputLimits {
    crate::types::InputLimits {
        fields: xuncha_core::limits::FIELD_LIMITS
            .iter()
            .map(|l| crate::types::FieldLimit {
                field: l.field.to_string(),
                max_chars: u32::try_from(l.max_chars).unwrap_or(u32::MAX),
            })
            .collect(),
        photos_per_action: u32::try_from(xuncha_core::limits::PHOTOS_PER_OP).unwrap_or(u32::MAX),
    }
}

/// WGS-84 (GPS) → GCJ-02, for drawing on Chinese map tiles.
#[uniffi::export]
pub fn wgs84_to_gcj02(point: GeoPoint) -> GeoPoint {
    let g = xuncha_core::geo::wgs84_to_gcj02(xuncha_core::geo::LatLon {
        lat: point.lat,
        lon: point.lon,
    });
    GeoPoint {
        lat: g.lat,
        lon: g.lon,
    }
}

/// GCJ-02 → WGS-84 (a point picked on a Chinese map, back to GPS).
#[uniffi::export]
pub fn gcj02_to_wgs84(point: GeoPoint) -> GeoPoint {
    let w = xuncha_core::geo::gcj02_to_wgs84(xuncha_core::geo::LatLon {
        lat: point.lat,
        lon: point.lon,
    });
    GeoPoint {
        lat: w.lat,
        lon: w.lon,
    }
}
