//! Health, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::state::AppState;

/// What `/healthz` says.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `error`.
    pub status: &'static str,
    /// The newest change-feed sequence (when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed_seq: Option<i64>,
    /// Why not (when not ok): `storage_unavailable`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `GET /healthz`: the server runs and its database answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "ok", body = Health),
              (status = 426, description = "`x-xuncha-protocol` names a version this server does not speak", body = xuncha_core::sync::protocol::ApiError),
              (status = 503, description = "the database does not answer", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    // One indexed read, whatever the size of the records (counting them took 170 ms at a
    // million cases, on every probe of a load balancer).
    match state.blocking(|s| s.feed_seq()).await {
        Ok(seq) => (
            axum::http::StatusCode::OK,
            Json(Health {
                status: "ok",
                feed_seq: Some(seq),
                code: None,
            }),
        ),
        Err(e) => (
            e.status,
            Json(Health {
                status: "error",
                feed_seq: None,
                code: Some(e.code),
            }),
        ),
    }
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "meta", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text exposition: requests, operations accepted and rejected by code, push/pull/upload latency, photo bytes, the process (a bearer token is asked only when the server was started with `--metrics-token`)", body = String, content_type = "text/plain"),
              (status = 401, description = "a metrics token is required", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Compared as hashes: the time taken does not tell how much of the token was right.
        use sha2::{Digest, Sha256};
        if Sha256::digest(given.as_bytes()) != Sha256::digest(token.as_bytes()) {
            return crate::error::ApiError::unauthorized(
                "metrics_token_required",
                "需要指标访问令牌",
                "a metrics token is required",
            )
            .into_response();
        }
    }
    if let Ok(c) = state.blocking(|s| s.outbox_counts()).await {
        let g = &state.metrics.notice_outbox;
        g.with_label_values(&["pending"]).set(c.pending as i64);
        g.with_label_values(&["sent"]).set(c.sent as i64);
        g.with_label_values(&["dead"]).set(c.dead as i64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// The OpenAPI document of `/v1`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Xuncha sync API", version = "1",
         description = "Offline-first inspection sync: devices push operations and pull the changes in their scope; photos go up in tus 1.0.0. Every response carries `x-server-time` (the server's clock, UTC ms) and `x-request-id` (the caller's, or a new UUID). Errors are JSON `{code, message, message_en}` with a stable `code`.",
         license(name = "Apache-2.0", identifier = "Apache-2.0")),
    servers((url = "/", description = "this server")),
    paths(
        crate::handlers::auth::login,
        crate::handlers::auth::logout,
        crate::handlers::sync::push,
        crate::handlers::sync::pull,
        crate::handlers::sync::reference,
        crate::handlers::notices::list,
        crate::handlers::notices::read,
        crate::handlers::rounds::tasks,
        crate::handlers::rounds::rounds,
        crate::handlers::rounds::round,
        crate::handlers::photos::create,
        crate::handlers::tus::options,
        crate::handlers::photos::status,
        crate::handlers::photos::append,
        crate::handlers::photos::terminate,
        crate::handlers::photos::download,
        crate::handlers::thumbnails::thumbnail,
        healthz,
        metrics,
    ),
    tags((name = "auth", description = "Signing a device in and out"),
         (name = "sync", description = "Pushing operations, pulling changes, reference data"),
         (name = "photos", description = "Uploading photos (tus 1.0.0) and reading them back"),
         (name = "notices", description = "A person's notices (dispatched, deadline near, overdue, urged, escalated) and their read state"),
         (name = "rounds", description = "Inspection rounds: a person's tasks (sites to check against the 测评 standard, cases to re-check; checks are submitted through /v1/push), and for supervisors the rounds with every task's result"),
         (name = "meta", description = "Health and metrics")),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /v1/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
