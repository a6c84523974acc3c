//! Health, metrics and the OpenAPI document.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::state::AppState;

/// `GET /healthz`: the server runs and its database answers.
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses((status = 200, description = "ok", body = Object)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    // One indexed read, whatever the size of the records (counting them took 170 ms at a
    // million cases, on every probe of a load balancer).
    match state.blocking(|s| s.feed_seq()).await {
        Ok(seq) => (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "feed_seq": seq})),
        ),
        Err(e) => (
            e.status,
            Json(serde_json::json!({"status": "error", "code": e.code})),
        ),
    }
}

/// `GET /metrics`: Prometheus text format.
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
         description = "Offline-first inspection sync: devices push operations and pull scoped changes. Every request may carry `x-xuncha-protocol: 1`; errors are JSON {code, message, message_en}."),
    paths(
        crate::handlers::auth::login,
        crate::handlers::auth::logout,
        crate::handlers::sync::push,
        crate::handlers::sync::pull,
        crate::handlers::sync::reference,
        crate::handlers::photos::create,
        crate::handlers::photos::status,
        crate::handlers::photos::append,
        crate::handlers::photos::terminate,
        crate::handlers::photos::download,
        crate::handlers::thumbnails::thumbnail,
        healthz,
    ),
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
