//! List thumbnails: each photo is decoded at most once, by at most
//! [`Config::thumbnail_decodes`](crate::state::Config::thumbnail_decodes) decodes at a time, each
//! within pixel and memory limits; the outcome is kept beside the photos ([`crate::blobs`]), a
//! small JPEG or a "cannot be decoded" mark, so a photo that fails costs one decode, not one per view.
//! A photo with no thumbnail (HEIC, which this server does not decode, or one that cannot be
//! decoded) gets a labelled SVG placeholder that says to open the original, never a broken image.

use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use xuncha_core::store::photo_format::HEIC;

use super::photos::{hidden, visible_photo};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::Principal;

/// Longest side of a list thumbnail, in pixels.
pub const THUMB_PX: u32 = 256;

/// Most memory one decode may take: a 50-megapixel photo fits; a larger one gets the
/// placeholder (its original is still there to open).
pub const DECODE_MAX_BYTES: u64 = 256 * 1024 * 1024;

/// How long a request waits for a decode slot before it is told to come back.
const DECODE_WAIT: Duration = Duration::from_secs(10);

/// Header naming why a placeholder was served instead of a thumbnail (`heic`, `undecodable`).
pub const PLACEHOLDER_HEADER: &str = "xuncha-thumbnail-placeholder";

/// Make a JPEG thumbnail of an image: None if it cannot be decoded here (e.g. HEIC), or if
/// decoding it would take more than [`DECODE_MAX_BYTES`] (a few hostile bytes must not cost
/// the server gigabytes).
pub fn make_thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(xuncha_core::limits::MAX_PHOTO_SIDE);
    limits.max_image_height = Some(xuncha_core::limits::MAX_PHOTO_SIDE);
    limits.max_alloc = Some(DECODE_MAX_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let thumb = img.thumbnail(THUMB_PX, THUMB_PX).into_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .ok()?;
    Some(out.into_inner())
}

/// Why there is no thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoThumb {
    Heic,
    Undecodable,
}

impl NoThumb {
    fn code(self) -> &'static str {
        match self {
            NoThumb::Heic => "heic",
            NoThumb::Undecodable => "undecodable",
        }
    }

    /// A 256x192 card: what the photo is, in zh-CN then English, and to open the original.
    fn svg(self) -> String {
        let (zh, en) = match self {
            NoThumb::Heic => ("HEIC 照片", "HEIC photo"),
            NoThumb::Undecodable => ("无法预览", "No preview"),
        };
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"256\" height=\"192\" \
             viewBox=\"0 0 256 192\" role=\"img\" aria-label=\"{zh} / {en}\">\
             <rect width=\"256\" height=\"192\" fill=\"#eceff1\" stroke=\"#90a4ae\"/>\
             <g font-family=\"sans-serif\" text-anchor=\"middle\" fill=\"#37474f\">\
             <text x=\"128\" y=\"84\" font-size=\"22\">{zh}</text>\
             <text x=\"128\" y=\"110\" font-size=\"14\">{en}</text>\
             <text x=\"128\" y=\"146\" font-size=\"13\">点开查看原图 · open the original</text>\
             </g></svg>"
        )
    }

    fn response(self) -> Response {
        (
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                // Opened on its own, the card is a document: it may run nothing.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
                (
                    header::HeaderName::from_static(PLACEHOLDER_HEADER),
                    self.code(),
                ),
            ],
            self.svg(),
        )
            .into_response()
    }
}

/// The thumbnail made earlier, or that it failed earlier; None if it was never tried.
async fn cached(state: &AppState, sha: &str) -> ApiResult<Option<Result<Vec<u8>, NoThumb>>> {
    Ok(state
        .blobs
        .thumb(sha)
        .await?
        .map(|t| t.map(|b| b.to_vec()).map_err(|()| NoThumb::Undecodable)))
}

/// Decode the photo once (waiting for a slot), remembering the outcome.
async fn decode(state: &AppState, sha: &str) -> ApiResult<Result<Vec<u8>, NoThumb>> {
    let busy = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "thumbnail_busy",
            "缩略图生成繁忙，请稍后再试",
            "thumbnails are busy; try again shortly",
        )
        .retry_after(2)
    };
    let Ok(Ok(_slot)) = tokio::time::timeout(DECODE_WAIT, state.decode_slots.acquire()).await
    else {
        return Err(busy());
    };
    // Another request (or instance) may have decoded it while this one waited.
    if let Some(done) = cached(state, sha).await? {
        return Ok(done);
    }
    let original = state.blobs.read_photo(sha).await?.ok_or_else(hidden)?;
    let outcome = tokio::task::spawn_blocking(move || make_thumbnail(&original))
        .await
        .map_err(ApiError::internal)?;
    let label = if outcome.is_some() { "ok" } else { "failed" };
    state
        .metrics
        .thumbnail_decodes
        .with_label_values(&[label])
        .inc();
    if outcome.is_none() {
        tracing::warn!(
            sha,
            "photo cannot be decoded for a thumbnail; placeholder kept"
        );
    }
    // Kept for the next view (a failure to keep it only costs a decode next time).
    if let Err(e) = state.blobs.put_thumb(sha, outcome.as_deref()).await {
        tracing::warn!(sha, error = %e, "thumbnail outcome not kept");
    }
    Ok(outcome.ok_or(NoThumb::Undecodable))
}

/// `GET /v1/photos/{sha256}/thumb`: a small JPEG for lists, or a labelled SVG placeholder when
/// the photo has none (HEIC, or bytes that cannot be decoded), for callers who can see a case
/// that uses the photo.
#[utoipa::path(get, path = "/v1/photos/{sha256}/thumb", tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the photo, lowercase hex")),
    responses((status = 200, description = "JPEG thumbnail, longest side 256 px; or, for HEIC and photos that cannot be decoded, an SVG placeholder with header `xuncha-thumbnail-placeholder: heic|undecodable`", body = crate::handlers::photos::PhotoBytes, content_type = "image/jpeg"),
              (status = 400, description = "not a SHA-256", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such photo, or not visible to you", body = xuncha_core::sync::protocol::ApiError),
              (status = 503, description = "every decode slot busy: retry after `Retry-After`", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    let mime = visible_photo(&state, &who, &sha).await?;
    if mime == HEIC {
        return Ok(NoThumb::Heic.response());
    }
    let outcome = match cached(&state, &sha).await? {
        Some(done) => done,
        None => decode(&state, &sha).await?,
    };
    match outcome {
        Ok(bytes) => {
            state.metrics.blob_bytes_out.inc_by(bytes.len() as u64);
            Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
        }
        Err(why) => Ok(why.response()),
    }
}
