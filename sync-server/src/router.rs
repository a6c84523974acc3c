//! Routes and the layers every request passes: a request id (`x-request-id`, kept if the
//! caller sent one, echoed on the response) and a tracing span carrying it, protocol version
//! check, server time header, request metrics, body limit, gzip, panic → JSON 500.

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use xuncha_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, SERVER_TIME_HEADER};

use crate::error::ApiError;
use crate::handlers::{auth, meta, notices, photos, rounds, sync, thumbnails, tus};
use crate::state::AppState;

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(meta::healthz))
        .route("/metrics", get(meta::metrics))
        .route("/v1/openapi.json", get(meta::openapi))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/push", post(sync::push))
        .route("/v1/pull", get(sync::pull))
        .route("/v1/reference", get(sync::reference))
        .route("/v1/notices", get(notices::list))
        .route("/v1/notices/read", post(notices::read))
        .route("/v1/tasks", get(rounds::tasks))
        .route("/v1/rounds", get(rounds::rounds))
        .route("/v1/rounds/{id}", get(rounds::round))
        .merge(
            Router::new()
                .route("/v1/uploads", post(photos::create).options(tus::options))
                .route(
                    "/v1/uploads/{sha256}",
                    get(photos::status)
                        .patch(photos::append)
                        .delete(photos::terminate),
                )
                .route_layer(middleware::from_fn(tus::layer)),
        )
        .route("/v1/photos/{sha256}", get(photos::download))
        .route("/v1/photos/{sha256}/thumb", get(thumbnails::thumbnail))
        .merge(crate::console::routes(state.clone()))
        .merge(crate::open311::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), around))
        .layer(RequestDecompressionLayer::new())
        // Fast gzip: most of the win on a 3G link for a fraction of the CPU of the default level.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("handler panicked").into_response()
        }))
        // Outermost last: the id is set first, the span carries it, the response echoes it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The span of one request: its id, method and path (not the query, which may name cases).
fn request_span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "没有这个接口",
        "no such endpoint",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "该接口不支持此请求方法",
        "method not allowed on this endpoint",
    )
}

/// Protocol check, server time on every answer, request counting.
async fn around(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let version = req
        .headers()
        .get(PROTOCOL_HEADER)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok()));
    let mut resp = match version {
        Some(Some(PROTOCOL_VERSION)) | None => next.run(req).await,
        Some(_) => ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "protocol_unsupported",
            "应用版本过旧或过新，服务器不支持其同步协议，请更新应用",
            format!("this server speaks sync protocol {PROTOCOL_VERSION}; update the app"),
        )
        .into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&state.now_ms().to_string()) {
        resp.headers_mut().insert(SERVER_TIME_HEADER, v);
    }
    state
        .metrics
        .requests
        .with_label_values(&[route.as_str(), resp.status().as_str()])
        .inc();
    resp
}
