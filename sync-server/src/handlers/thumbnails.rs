//! List thumbnails: each photo is decoded at most once, by at most
//! [`Config::thumbnail_decodes`](crate::state::Config::thumbnail_decodes) decodes at a time, each
//! within pixel and memory limits; the outcome is kept on disk beside the photos, a small JPEG
//! or a "cannot be decoded" marker, so a photo that fails costs one decode, not one per view.
//! A photo with no thumbnail (HEIC, which this server does not decode, or one that cannot be
//! decoded) gets a labelled SVG placeholder that says to open the original, never a broken image.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use xuncha_core::store::photo_format::HEIC;

use super::photos::{blob_path, hidden, visible_photo};
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

fn thumb_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("thumbs").join(format!("{sha}.jpg"))
}

fn failed_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("thumbs").join(format!("{sha}.undecodable"))
}

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

/// Drop what was made for a photo that is gone.
pub fn forget(blob_dir: &Path, sha: &str) {
    let _ = std::fs::remove_file(thumb_path(blob_dir, sha));
    let _ = std::fs::remove_file(failed_path(blob_dir, sha));
}

/// The thumbnail made earlier, or that it failed earlier; None if it was never tried.
async fn cached(blob_dir: &Path, sha: &str) -> Option<Result<Vec<u8>, NoThumb>> {
    if let Ok(b) = tokio::fs::read(thumb_path(blob_dir, sha)).await {
        return Some(Ok(b));
    }
    if tokio::fs::metadata(failed_path(blob_dir, sha))
        .await
        .is_ok()
    {
        return Some(Err(NoThumb::Undecodable));
    }
    None
}

/// Keep the outcome of a decode (written aside, then renamed: a crash leaves no half file).
async fn remember(blob_dir: &Path, sha: &str, outcome: &Option<Vec<u8>>) {
    let dir = blob_dir.join("thumbs");
    let _ = tokio::fs::create_dir_all(&dir).await;
    let tmp = dir.join(format!(".{sha}.tmp"));
    let (bytes, dest): (&[u8], PathBuf) = match outcome {
        Some(t) => (t, thumb_path(blob_dir, sha)),
        None => (b"", failed_path(blob_dir, sha)),
    };
    if tokio::fs::write(&tmp, bytes).await.is_ok() {
        let _ = tokio::fs::rename(&tmp, &dest).await;
    }
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
    // Another request may have decoded it while this one waited.
    if let Some(done) = cached(&state.blob_dir, sha).await {
        return Ok(done);
    }
    let original = tokio::fs::read(blob_path(&state.blob_dir, sha))
        .await
        .map_err(|_| hidden())?;
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
    remember(&state.blob_dir, sha, &outcome).await;
    Ok(outcome.ok_or(NoThumb::Undecodable))
}

/// `GET /v1/photos/{sha256}/thumb`: a small JPEG for lists, or a labelled SVG placeholder when
/// the photo has none (HEIC, or bytes that cannot be decoded), for callers who can see a case
/// that uses the photo.
#[utoipa::path(get, path = "/v1/photos/{sha256}/thumb", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo")),
    responses((status = 200, description = "JPEG thumbnail, longest side 256 px; or, for HEIC and photos that cannot be decoded, an SVG placeholder with header `xuncha-thumbnail-placeholder: heic|undecodable`", content_type = "image/jpeg"),
              (status = 404, description = "no such photo, or not visible to you", body = Object),
              (status = 503, description = "every decode slot busy: retry after `Retry-After`", body = Object)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    let mime = visible_photo(&state, &who, &sha).await?;
    if mime == HEIC {
        return Ok(NoThumb::Heic.response());
    }
    let outcome = match cached(&state.blob_dir, &sha).await {
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
