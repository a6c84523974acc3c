//! Service requests: citizen reports posted with an API key, and the citizen reports' public
//! state.

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeZone};
use serde_json::{Value, json};
use uuid::Uuid;
use xuncha_core::hlc::{Hlc, HlcClock};
use xuncha_core::model::{Case, Location, Op, OpBody, PhotoKind, PhotoRef};
use xuncha_core::reference::ReferenceData;
use xuncha_core::scope::CITIZEN_REPORTER;
use xuncha_core::store::sha256_hex;
use xuncha_core::sync::protocol::OpStatus;
use xuncha_core::workflow::Status;

use super::render::document;
use super::{Format, Open311Error, clients, split};
use crate::state::AppState;
use crate::store::case_list::CaseFilter;
use crate::store::{CitizenContact, CitizenReport, Principal};

/// The longest description: a phone's report's limit (GeoReport v2 allows 4,000; ours is less).
const MAX_DESCRIPTION: usize = xuncha_core::limits::DESCRIPTION_CHARS;
/// Longest name, e-mail, phone or address a citizen may give.
const MAX_FIELD: usize = 200;
/// Most requests one `GET requests` lists (the newest).
const MAX_LISTED: usize = 1000;
/// Most ids or service codes one `GET requests` may name.
const MAX_NAMED: usize = 100;
/// A date range may not span more than this (the standard's 90 days).
const MAX_RANGE_MS: i64 = 90 * 86_400_000;

/// Open311's status of a case: only open and closed (closed, rejected, duplicate → closed).
fn open311_status(s: Status) -> &'static str {
    if s.is_open() { "open" } else { "closed" }
}

/// A moment as W3C date-time on the city's clock.
fn w3c(r: &ReferenceData, ms: i64) -> Value {
    r.calendar
        .zone()
        .timestamp_millis_opt(ms)
        .single()
        .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)))
        .unwrap_or(Value::Null)
}

/// Open311 shows citizen reports only (never an inspector's case; never an undercover one).
fn is_published(c: &Case) -> bool {
    c.reporter_id == CITIZEN_REPORTER && !c.undercover
}

/// A citizen report as Open311 shows it: public fields only.
fn request_record(c: &Case, r: &ReferenceData) -> Value {
    let unit = c
        .unit_id
        .as_deref()
        .and_then(|u| r.units.iter().find(|x| x.id == u))
        .map(|u| u.name.clone());
    json!({
        "service_request_id": c.id.to_string(),
        "status": open311_status(c.status),
        "status_notes": c.status.label_zh(),
        "service_name": r.categories.iter().find(|k| k.code == c.category).map(|k| k.name.clone()),
        "service_code": c.category,
        "description": c.description,
        "agency_responsible": unit,
        "service_notice": Value::Null,
        "requested_datetime": w3c(r, c.server_received_at_ms.unwrap_or(c.reported_at_ms)),
        "updated_datetime": w3c(r, c.updated_at_ms),
        "expected_datetime": c.deadline_ms.map(|d| w3c(r, d)).unwrap_or(Value::Null),
        "address": c.location.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": c.location.lat,
        "long": c.location.lon,
        "media_url": Value::Null,
    })
}

/// The query of `GET requests`, as given (every value a comma-separated list).
#[derive(Debug, Default)]
struct ListQuery {
    ids: Vec<String>,
    codes: Vec<String>,
    start: Option<String>,
    end: Option<String>,
    status: Vec<String>,
}

impl ListQuery {
    fn parse(raw: Option<&str>) -> ListQuery {
        let mut q = ListQuery::default();
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match k.as_ref() {
                "service_request_id" => q.ids.extend(list(&v)),
                "service_code" => q.codes.extend(list(&v)),
                "start_date" => q.start = Some(v.into_owned()),
                "end_date" => q.end = Some(v.into_owned()),
                "status" => q.status.extend(list(&v)),
                _ => {}
            }
        }
        q
    }
}

fn date_ms(format: Format, name: &str, v: &str) -> Result<i64, Open311Error> {
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            Open311Error::bad(
                format,
                format!("{name} must be a W3C date-time such as 2026-12-01T00:00:00Z"),
            )
        })
}

/// `GET requests`: the citizen reports by id (which overrides the rest), or by service codes,
/// a date range of at most 90 days (default the last 90) and status; newest first.
pub async fn list_requests(
    state: &AppState,
    format: Format,
    raw: Option<&str>,
) -> Result<Response, Open311Error> {
    let q = ListQuery::parse(raw);
    let api = |e: crate::error::ApiError| Open311Error::from_api(format, e);
    let reference = super::city_reference(state, format).await?;
    let mut cases: Vec<Case> = if !q.ids.is_empty() {
        let ids: Vec<Uuid> = q
            .ids
            .iter()
            .take(MAX_NAMED)
            .filter_map(|s| s.parse().ok())
            .collect();
        state
            .blocking(move |s| {
                let mut out = Vec::new();
                for id in ids {
                    out.extend(s.case(id)?);
                }
                Ok(out)
            })
            .await
            .map_err(api)?
            .into_iter()
            .filter(is_published)
            .collect()
    } else {
        let now = state.now_ms();
        let end = q
            .end
            .as_deref()
            .map(|v| date_ms(format, "end_date", v))
            .transpose()?;
        let start = q
            .start
            .as_deref()
            .map(|v| date_ms(format, "start_date", v))
            .transpose()?;
        let (start, end) = match (start, end) {
            (Some(s), Some(e)) => (s, e),
            (Some(s), None) => (s, s + MAX_RANGE_MS),
            (None, Some(e)) => (e - MAX_RANGE_MS, e),
            (None, None) => (now - MAX_RANGE_MS, now),
        };
        if end < start {
            return Err(Open311Error::bad(format, "end_date is before start_date"));
        }
        if end - start > MAX_RANGE_MS {
            return Err(Open311Error::bad(
                format,
                "start_date and end_date may not span more than 90 days",
            ));
        }
        let mut statuses: Vec<Status> = Vec::new();
        for s in &q.status {
            match s.to_ascii_lowercase().as_str() {
                "open" => statuses.extend_from_slice(Status::OPEN),
                "closed" => statuses.extend_from_slice(Status::FINISHED),
                other => {
                    return Err(Open311Error::bad(
                        format,
                        format!("status {other}: open or closed"),
                    ));
                }
            }
        }
        let filter = CaseFilter {
            statuses,
            reporter: Some(CITIZEN_REPORTER.to_string()),
            reported_from_ms: Some(start),
            reported_before_ms: Some(end.saturating_add(1)),
            ..CaseFilter::default()
        };
        // The newest first, in SQL; one query per service code named (each a category).
        let filters: Vec<CaseFilter> = if q.codes.is_empty() {
            vec![filter]
        } else {
            q.codes
                .iter()
                .take(MAX_NAMED)
                .map(|code| CaseFilter {
                    category_prefix: Some(code.clone()),
                    ..filter.clone()
                })
                .collect()
        };
        let codes = q.codes.clone();
        state
            .blocking(move |s| {
                let mut out = Vec::new();
                for f in &filters {
                    out.extend(s.newest_cases(f, MAX_LISTED)?);
                }
                Ok(out)
            })
            .await
            .map_err(api)?
            .into_iter()
            .filter(|c| is_published(c) && (codes.is_empty() || codes.contains(&c.category)))
            .collect()
    };
    cases.sort_by_key(|c| std::cmp::Reverse(c.reported_at_ms));
    cases.truncate(MAX_LISTED);
    let list: Vec<Value> = cases
        .iter()
        .map(|c| request_record(c, &reference))
        .collect();
    Ok(document(format, "service_requests", "request", &Value::Array(list)).into_response())
}

/// `GET requests/{id}`: one citizen report (a list of one, as the standard has it).
pub async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, Open311Error> {
    let (id, format) = split(&file)?;
    let missing = || Open311Error::not_found(format, format!("service request {id} not found"));
    let id: Uuid = id.parse().map_err(|_| missing())?;
    let case = state
        .blocking(move |s| s.case(id))
        .await
        .map_err(|e| Open311Error::from_api(format, e))?
        .filter(is_published)
        .ok_or_else(missing)?;
    let reference = super::city_reference(&state, format).await?;
    let list = Value::Array(vec![request_record(&case, &reference)]);
    Ok(document(format, "service_requests", "request", &list).into_response())
}

/// The fields of `POST requests` (urlencoded, or multipart with a `media` file).
#[derive(Debug, Default)]
struct PostForm {
    api_key: String,
    service_code: String,
    lat: String,
    long: String,
    address_string: String,
    description: String,
    media_url: String,
    contact: CitizenContact,
    media: Option<Vec<u8>>,
}

impl PostForm {
    fn set(&mut self, name: &str, value: String) {
        match name {
            "api_key" => self.api_key = value,
            "service_code" => self.service_code = value,
            "lat" => self.lat = value,
            "long" => self.long = value,
            "address_string" => self.address_string = value,
            "description" => self.description = value,
            "media_url" => self.media_url = value,
            "first_name" => self.contact.first_name = value,
            "last_name" => self.contact.last_name = value,
            "email" => self.contact.email = value,
            "phone" => self.contact.phone = value,
            _ => {}
        }
    }

    async fn read(
        state: &AppState,
        req: Request,
        format: Format,
    ) -> Result<PostForm, Open311Error> {
        let bad_body = || {
            Open311Error::bad(
                format,
                format!(
                    "not a form (application/x-www-form-urlencoded or multipart/form-data), or larger than {} bytes",
                    state.config.max_body_bytes
                ),
            )
        };
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"multipart/"));
        let mut f = PostForm::default();
        if multipart {
            let mut parts = axum::extract::Multipart::from_request(req, state)
                .await
                .map_err(|_| bad_body())?;
            while let Some(field) = parts.next_field().await.map_err(|_| bad_body())? {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(|_| bad_body())?;
                if name == "media" {
                    if !bytes.is_empty() {
                        f.media = Some(bytes.to_vec());
                    }
                } else {
                    f.set(&name, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        } else {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|_| bad_body())?;
            for (k, v) in form_urlencoded::parse(&body) {
                f.set(&k, v.into_owned());
            }
        }
        Ok(f)
    }
}

/// `POST requests`: a citizen report. Checked in order — the key (403), the service (404), the
/// place and the texts (400), the photo (400) — before anything is kept; then the contact is
/// kept beside the case, and the report is pushed as an operation through the same path as a
/// phone's, by the citizen reporter from the client's own device.
pub async fn post_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: axum::extract::RawQuery,
    req: Request,
) -> Result<Response, Open311Error> {
    let (name, format) = split(&file)?;
    if name != "requests" {
        return Err(Open311Error::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format,
            format!("{name} cannot be posted to"),
        ));
    }
    let mut f = PostForm::read(&state, req, format).await?;
    // Some clients send the key in the query string.
    if f.api_key.is_empty() {
        f.api_key = form_urlencoded::parse(query.0.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "api_key")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
    }
    let api = |e: crate::error::ApiError| Open311Error::from_api(format, e);
    let hash = sha256_hex(f.api_key.trim().as_bytes());
    let client = if f.api_key.trim().is_empty() {
        None
    } else {
        state
            .blocking(move |s| s.open311_client(&hash))
            .await
            .map_err(api)?
    };
    let Some(client) = client else {
        return Err(Open311Error::new(
            StatusCode::FORBIDDEN,
            format,
            "api_key is missing, unknown or revoked; ask the city's administrator for one",
        ));
    };
    if let Err(wait) = super::admit(&state.open311_limiter, &client) {
        tracing::warn!(client = %client, retry_after_s = wait, "open311 client over its rate");
        return Err(Open311Error::too_many(format, wait));
    }
    let index = state.store.reference_index();
    let code = f.service_code.trim().to_string();
    if code.is_empty() {
        return Err(Open311Error::bad(format, "service_code is required"));
    }
    if index.category(&code).is_err() {
        return Err(Open311Error::not_found(
            format,
            format!("service_code {code} not found"),
        ));
    }
    let number = |v: &str, name: &str, range: f64| -> Result<f64, Open311Error> {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && x.abs() <= range)
            .ok_or_else(|| {
                Open311Error::bad(
                    format,
                    format!("{name} is required here, in WGS-84 degrees (this city places every report by coordinates)"),
                )
            })
    };
    let lat = number(&f.lat, "lat", 90.0)?;
    let lon = number(&f.long, "long", 180.0)?;
    if f.description.chars().count() > MAX_DESCRIPTION {
        return Err(Open311Error::bad(
            format,
            format!("description is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    let c = &f.contact;
    for (name, v) in [
        ("address_string", &f.address_string),
        ("first_name", &c.first_name),
        ("last_name", &c.last_name),
        ("email", &c.email),
        ("phone", &c.phone),
        ("media_url", &f.media_url),
    ] {
        if v.chars().count() > MAX_FIELD || v.chars().any(char::is_control) {
            return Err(Open311Error::bad(
                format,
                format!("{name} is longer than {MAX_FIELD} characters or holds control characters"),
            ));
        }
    }
    // A citizen reports from inside the city: where the city has drawn its grids, a place
    // outside all of them is not its problem (inspectors, who may work across a border, are
    // not held to this).
    let placement = index.locate(xuncha_core::geo::LatLon { lat, lon });
    if placement.is_none() && index.has_grids() {
        return Err(Open311Error::bad(
            format,
            "lat/long are outside the city's grids",
        ));
    }
    let device = clients::device_of(&client);
    let now = state.now_ms();
    let location = Location {
        lat,
        lon,
        accuracy_m: None,
        address: f.address_string.trim().to_string(),
    };
    let mut body = OpBody::Report {
        category: code,
        description: f.description.trim().to_string(),
        location: location.clone(),
        site_id: None,
        grid_id: placement.as_ref().map(|p| p.grid_id.clone()),
        suggested_unit_id: placement.and_then(|p| p.owner_unit_id),
        campaign_id: None,
        undercover: false,
        photos: Vec::new(),
    };
    // The report's own rules (limits, category, campaign) before any photo or contact is
    // kept: what the push would refuse is refused here, with nothing left behind.
    xuncha_core::limits::check_body(&body)
        .and_then(|()| index.check_op(&body))
        .map_err(|e| Open311Error::bad(format, e.to_string()))?;
    let bytes = match (f.media.take(), f.media_url.trim()) {
        (Some(b), _) => Some(b),
        (None, "") => None,
        (None, url) => Some(
            super::media::fetch(&state, url)
                .await
                .map_err(|m| Open311Error::bad(format, m))?,
        ),
    };
    if let Some(b) = bytes {
        let size = b.len() as u64;
        // The client's device is held to the same quota of unnamed photos as a phone.
        let d = device.clone();
        let held = state
            .blocking(move |s| s.device_unreferenced_bytes(&d))
            .await
            .map_err(api)?;
        if held.saturating_add(size) > state.config.storage.device_quota_bytes {
            return Err(Open311Error::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format,
                "this client's photos waiting for a case fill its quota; try again later",
            ));
        }
        let (sha256, mime) = crate::handlers::photos::store_whole(&state, &device, b)
            .await
            .map_err(api)?;
        body.attach_photos(vec![PhotoRef {
            sha256,
            kind: PhotoKind::Before,
            mime: mime.to_string(),
            size,
            captured_at_ms: None,
            location: Some(location),
        }])
        .map_err(|e| Open311Error::bad(format, e.to_string()))?;
    }
    let case_id = Uuid::now_v7();
    let report = CitizenReport {
        case_id,
        client: client.clone(),
        contact: f.contact.clone(),
        media_url: Some(f.media_url.trim().to_string()).filter(|u| !u.is_empty()),
        received_ms: now,
    };
    let push_rules = state.config.push_rules;
    let result = state
        .blocking(move |s| {
            let user = s.user(CITIZEN_REPORTER)?.ok_or_else(|| {
                xuncha_core::Error::Database("the citizen reporter is missing".into())
            })?;
            let who = Principal {
                user: user.user,
                device_id: device.clone(),
            };
            // The contact first: if the push then fails, an unseen row is left, never a case
            // without its contact.
            s.save_citizen_report(&report)?;
            let op = Op {
                id: Uuid::now_v7(),
                case_id,
                device_id: device,
                actor: who.actor(),
                hlc: HlcClock::new(clients::HLC_NODE, Hlc::default()).tick(now.max(0) as u64),
                device_time_ms: now,
                body,
            };
            let pushed = s.push(&who, &[op], now, &push_rules);
            // Refused or failed: the contact goes too (the photo, named by no case, is collected
            // like any unnamed upload).
            if !pushed
                .as_ref()
                .is_ok_and(|r| r.first().is_some_and(|r| r.status == OpStatus::Accepted))
            {
                s.delete_citizen_report(case_id)?;
            }
            pushed
        })
        .await
        .map_err(api)?;
    match result.first() {
        Some(r) if r.status == OpStatus::Accepted => {
            tracing::info!(%case_id, client = %client, "open311 citizen report accepted");
            let answer = json!([{
                "service_request_id": case_id.to_string(),
                "service_notice": "已收到，将由督查人员审核后派遣处理 / received: the office reviews it, then dispatches it",
                "account_id": Value::Null,
            }]);
            Ok((
                StatusCode::CREATED,
                document(format, "service_requests", "request", &answer),
            )
                .into_response())
        }
        Some(r) => Err(Open311Error::bad(
            format,
            format!(
                "{}: {}",
                r.code.as_deref().unwrap_or("refused"),
                r.reason.as_deref().unwrap_or("the report was refused")
            ),
        )),
        None => Err(api(crate::error::ApiError::internal("no push answer"))),
    }
}
