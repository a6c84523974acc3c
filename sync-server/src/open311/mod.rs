//! Open311 GeoReport v2 at `/open311/v2/` (<https://wiki.open311.org/GeoReport_v2>), the API
//! that city-issue clients and civic tools speak, in JSON and XML by the path's suffix:
//!
//! - `discovery`, `services` (one per category) and `services/{code}`: open to anyone;
//! - `POST requests` with an API key an admin issued (`xuncha-server open311-key`): a citizen
//!   report (市民随手拍), which becomes a case reported by `scope::CITIZEN_REPORTER` in the
//!   office's review queue, with its photo sent in the request (`media`, multipart) or fetched
//!   from `media_url` on an allowed host only, and the reporter's contact kept beside the case
//!   for supervisors' eyes (`scope::can_see_reporter_contact`);
//! - `GET requests` (the standard filters) and `requests/{id}`: the citizen reports only, with
//!   their public fields (never the contact; inspectors' cases, undercover ones included, are
//!   not published). Statuses map as DOMAIN.md says: closed, rejected and duplicate → `closed`.
//!
//! Errors are Open311's list of `{code, description}` in the asked format: 400 for a bad field,
//! 403 without a valid key, 404 for an unknown service, request or format; never a 500 for bad
//! input, never a half-made case.

pub mod clients;
mod media;
mod render;
mod requests;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::AppState;
pub use render::Format;
use render::{document, error_list};

/// The routes under `/open311/v2/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/open311/v2/{file}",
            get(top_level).post(requests::post_request),
        )
        .route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(requests::one_request))
}

/// An answer in Open311's error format.
#[derive(Debug)]
pub struct Open311Error {
    status: StatusCode,
    description: String,
    format: Format,
    /// Seconds to wait (a rate limit's `Retry-After`).
    retry_after_s: Option<u64>,
}

/// The per-client limit of citizen reports (GCRA, `governor`).
pub type ClientLimiter = governor::DefaultKeyedRateLimiter<String>;

/// `per_hour` reports an hour per client (at least one), a tenth of them at once.
pub fn client_limiter(per_hour: u32) -> ClientLimiter {
    let per_hour = std::num::NonZeroU32::new(per_hour.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new((per_hour.get() / 10).max(1))
        .unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_hour(per_hour).allow_burst(burst))
}

/// May `client` post one more report now? `Err` says how long to wait (whole seconds, rounded
/// up, at least 1).
pub fn admit(limiter: &ClientLimiter, client: &str) -> Result<(), u64> {
    use governor::clock::Clock;
    limiter.check_key(&client.to_string()).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        (wait.as_secs_f64().ceil() as u64).max(1)
    })
}

impl Open311Error {
    fn new(status: StatusCode, format: Format, description: impl Into<String>) -> Self {
        Open311Error {
            status,
            description: description.into(),
            format,
            retry_after_s: None,
        }
    }
    /// `429`: the client posted more than its share; try again after `seconds`.
    fn too_many(format: Format, seconds: u64) -> Self {
        Open311Error {
            retry_after_s: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                format,
                format!("too many reports from this api_key; try again in {seconds} s"),
            )
        }
    }
    fn bad(format: Format, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format, description)
    }
    fn not_found(format: Format, description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, format, description)
    }
    fn from_api(format: Format, e: crate::error::ApiError) -> Self {
        let status = if e.status.is_server_error() {
            e.status
        } else {
            StatusCode::BAD_REQUEST
        };
        Self::new(status, format, format!("{}: {}", e.code, e.message_en))
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = error_list(self.status.as_u16(), &self.description);
        let mut r = (self.status, document(self.format, "errors", "error", &body)).into_response();
        if let Some(s) = self.retry_after_s
            && let Ok(v) = axum::http::HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    }
}

/// `name.json` or `name.xml` → (name, format); anything else is not an Open311 document.
fn split(file: &str) -> Result<(&str, Format), Open311Error> {
    let unknown = || {
        Open311Error::not_found(
            Format::Json,
            format!("{file}: not an Open311 document (name.json or name.xml)"),
        )
    };
    let (name, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
    let format = match ext {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => return Err(unknown()),
    };
    Ok((name, format))
}

/// `GET discovery`, `GET services`, `GET requests`.
async fn top_level(
    State(state): State<AppState>,
    Path(file): Path<String>,
    query: axum::extract::RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, Open311Error> {
    let (name, format) = split(&file)?;
    match name {
        "discovery" => discovery(&state, &headers, format).await,
        "services" => services(&state, format).await,
        "requests" => requests::list_requests(&state, format, query.0.as_deref()).await,
        _ => Err(Open311Error::not_found(
            format,
            format!("no document {name}"),
        )),
    }
}

/// Where this server is reached, as the client reached it.
fn base_url(headers: &axum::http::HeaderMap, behind_tls: bool) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    // Behind TLS (the proxy's setting, not a header anyone may send).
    let scheme = if behind_tls { "https" } else { "http" };
    format!("{scheme}://{host}/open311/v2")
}

/// The date this interface last changed (the discovery's `changeset`).
const CHANGESET: &str = "2026-12-06T00:00:00Z";

/// The city's reference data, read off the async runtime (a database read).
async fn city_reference(
    state: &AppState,
    format: Format,
) -> Result<xuncha_core::reference::ReferenceData, Open311Error> {
    state
        .blocking(|s| s.reference())
        .await
        .map(|(_, r)| r)
        .map_err(|e| Open311Error::from_api(format, e))
}

async fn discovery(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    format: Format,
) -> Result<Response, Open311Error> {
    let office = city_reference(state, format).await?.bulletin.office;
    let doc = json!({
        "changeset": CHANGESET,
        "contact": office,
        "key_service": "API keys for posting citizen reports are issued by the city's Xuncha administrator",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": base_url(headers, state.config.behind_tls),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }],
    });
    Ok(document(format, "discovery", "", &doc).into_response())
}

/// One service per category of the taxonomy.
async fn services(state: &AppState, format: Format) -> Result<Response, Open311Error> {
    let r = city_reference(state, format).await?;
    let list: Vec<Value> = r
        .categories
        .iter()
        .map(|c| {
            let class = r
                .classes
                .iter()
                .find(|k| c.code.starts_with(&k.code))
                .map(|k| k.name.clone())
                .unwrap_or_default();
            json!({
                "service_code": c.code,
                "service_name": c.name,
                "description": if c.name_en.is_empty() {
                    format!("{class} · {}", c.name)
                } else {
                    format!("{class} · {} ({})", c.name, c.name_en)
                },
                "metadata": false,
                "type": "realtime",
                "keywords": c.name_en,
                "group": class,
            })
        })
        .collect();
    Ok(document(format, "services", "service", &Value::Array(list)).into_response())
}

/// `GET services/{code}`: the definition of a known service (no extra attributes).
async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, Open311Error> {
    let (code, format) = split(&file)?;
    if state.store.reference_index().category(code).is_err() {
        return Err(Open311Error::not_found(
            format,
            format!("service_code {code} not found"),
        ));
    }
    let doc = json!({ "service_code": code, "attributes": [] });
    Ok(document(format, "service_definition", "", &doc).into_response())
}
