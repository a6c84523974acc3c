//! Photos: resumable uploads with tus 1.0 core semantics (create with size and SHA-256, append
//! at an offset, ask the offset after a cut), checked against their hash and image type before
//! they are stored content-addressed; downloads only for callers who can see a case that uses
//! the photo.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use xuncha_core::scope;
use xuncha_core::store::{inspect_image, is_sha256_hex, sha256_hex};
use xuncha_core::sync::protocol::{CreateUpload, UPLOAD_OFFSET, UploadStatus};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::store::Principal;

fn check_sha(sha: &str) -> ApiResult<()> {
    if is_sha256_hex(sha) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_sha256",
            "照片标识必须是 64 位小写十六进制 SHA-256",
            "photo id must be a lowercase hex SHA-256",
        ))
    }
}

/// Where this device stands with a photo: held (and it may be told so), its own upload's
/// progress, or nothing.
async fn status_of(
    state: &AppState,
    who: &Principal,
    sha: &str,
) -> ApiResult<Option<UploadStatus>> {
    let (sha2, device, actor) = (sha.to_string(), who.device_id.clone(), who.actor());
    let (held, upload) = state
        .blocking(move |s| {
            Ok((
                s.photo_held_for(&sha2, &device, &actor)?,
                s.upload(&sha2, &device)?,
            ))
        })
        .await?;
    let sha256 = sha.to_string();
    Ok(match (held, upload) {
        (Some(size), _) => Some(UploadStatus {
            sha256,
            offset: size,
            size,
            complete: true,
        }),
        (None, Some(up)) => Some(UploadStatus {
            sha256,
            offset: up.received,
            size: up.size,
            complete: false,
        }),
        (None, None) => None,
    })
}

/// `POST /v1/uploads`: announce a photo; answers where to continue, or that it is held. A photo
/// is answered as held only to a device that sent its bytes or whose user sees a case showing
/// it; any other device sends the bytes (proof it has them), so the answer reveals nothing
/// about other people's photos.
#[utoipa::path(post, path = "/v1/uploads", tag = "photos",
    request_body(content = Object, description = "{sha256, size}"),
    responses((status = 201, description = "UploadStatus {sha256, offset, size, complete}", body = Object),
              (status = 200, description = "already held for this device", body = Object),
              (status = 413, description = "photo too large", body = Object),
              (status = 507, description = "the device's quota of photos no case uses is full (device_quota_exceeded)", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(req): ApiJson<CreateUpload>,
) -> ApiResult<Response> {
    check_sha(&req.sha256)?;
    if req.size == 0 || req.size > state.config.max_photo_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "photo_too_large",
            format!(
                "照片大小须在 1 字节到 {} 字节之间",
                state.config.max_photo_bytes
            ),
            format!(
                "photo size must be 1..={} bytes",
                state.config.max_photo_bytes
            ),
        ));
    }
    if let Some(st) = status_of(&state, &who, &req.sha256).await?
        && (st.complete || st.size == req.size)
    {
        let code = if st.complete {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((code, Json(st)).into_response());
    }
    let Some(_guard) = state.upload_lock(&req.sha256, &who.device_id) else {
        return Err(busy());
    };
    let d = who.device_id.clone();
    let held = state
        .blocking(move |s| s.device_unreferenced_bytes(&d))
        .await?;
    let quota = state.config.storage.device_quota_bytes;
    if held.saturating_add(req.size) > quota {
        tracing::warn!(device = %who.device_id, held, quota, "upload refused: device quota");
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "device_quota_exceeded",
            format!(
                "本设备已上传但未被任何案件使用的照片已达 {} MiB 上限，请先同步案件",
                quota / 1_048_576
            ),
            format!(
                "this device holds {} MiB of photos no case uses (the limit); sync its cases first",
                quota / 1_048_576
            ),
        ));
    }
    let (sha, device, size, now) = (
        req.sha256.clone(),
        who.device_id.clone(),
        req.size,
        state.now_ms(),
    );
    state
        .blocking(move |s| s.create_upload(&sha, &device, size, now))
        .await?;
    // A restart with another size: the pieces of the earlier attempt are not these bytes.
    state
        .blobs
        .delete_pieces(&req.sha256, &who.device_id, 0)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadStatus {
            sha256: req.sha256,
            offset: 0,
            size: req.size,
            complete: false,
        }),
    )
        .into_response())
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "upload_busy",
        "该照片正在上传中",
        "this photo is being uploaded by another request",
    )
}

/// `GET /v1/uploads/{sha256}`: the offset to resume from after a cut.
#[utoipa::path(get, path = "/v1/uploads/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo")),
    responses((status = 200, description = "UploadStatus", body = Object),
              (status = 404, description = "no such upload from this device", body = Object)))]
pub async fn status(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    match status_of(&state, &who, &sha).await? {
        Some(st) => Ok(([(UPLOAD_OFFSET, st.offset.to_string())], Json(st)).into_response()),
        None => Err(ApiError::not_found("上传任务", "upload")),
    }
}

/// `PATCH /v1/uploads/{sha256}` with `Upload-Offset: N`: append bytes from offset N to this
/// device's upload. Bytes received before a cut are kept, so the next attempt resumes where
/// this one stopped.
#[utoipa::path(patch, path = "/v1/uploads/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo"),
           ("upload-offset" = u64, Header, description = "byte offset of this chunk")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 200, description = "UploadStatus", body = Object),
              (status = 409, description = "offset mismatch or upload busy", body = Object),
              (status = 413, description = "more pixels than a phone makes (photo_too_many_pixels)", body = Object),
              (status = 415, description = "not a whole JPEG/PNG/WebP/HEIC image (unsupported_photo_type, photo_damaged)", body = Object),
              (status = 422, description = "bytes do not match the SHA-256", body = Object)))]
pub async fn append(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    let offset: u64 = headers
        .get(UPLOAD_OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_offset",
                "缺少 Upload-Offset 请求头",
                "Upload-Offset header required",
            )
        })?;
    let Some(st) = status_of(&state, &who, &sha).await? else {
        return Err(ApiError::not_found("上传任务", "upload"));
    };
    if st.complete {
        return Ok(Json(st).into_response());
    }
    let device = who.device_id.as_str();
    let Some(_guard) = state.upload_lock(&sha, device) else {
        return Err(busy());
    };
    if offset != st.offset {
        return Err(offset_mismatch(st.offset));
    }
    let progress = |received: u64| {
        let (sha2, d, now) = (sha.clone(), device.to_string(), state.now_ms());
        state.blocking(move |s| s.upload_progress(&sha2, &d, received, now))
    };
    // Every byte is already here (a crash came between receiving them and storing the photo).
    if st.offset == st.size {
        return finish(&state, device, &sha, st.size).await;
    }
    let held = state.blobs.received(&sha, device).await?;
    if held < st.offset {
        // The recorded progress is ahead of the pieces kept (a crash between the two): go back
        // to what is kept and let the phone resume from there. Never pad with zeros.
        progress(held).await?;
        return Err(offset_mismatch(held));
    }
    // Pieces past the recorded offset (kept, then a crash before they were recorded) are
    // dropped: the phone sends those bytes again.
    if held > st.offset {
        state.blobs.delete_pieces(&sha, device, st.offset).await?;
    }
    let mut received = st.offset;
    let mut body = body;
    let mut piece: Vec<u8> = Vec::new();
    let mut outcome = Ok(());
    loop {
        // A link that goes quiet is a cut too: keep what came, free the photo for a retry.
        let Ok(next) = tokio::time::timeout(state.config.upload_idle_timeout, body.frame()).await
        else {
            break;
        };
        let Some(Ok(frame)) = next else { break };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if received + (piece.len() + data.len()) as u64 > st.size {
            outcome = Err(ApiError::bad_request(
                "too_many_bytes",
                "上传的字节数超过声明的大小",
                "more bytes than the announced size",
            ));
            break;
        }
        state.metrics.blob_bytes_in.inc_by(data.len() as u64);
        piece.extend_from_slice(&data);
        // Kept a piece at a time: memory stays bounded, and a cut loses at most one piece.
        if piece.len() >= PIECE_BYTES {
            let bytes = Bytes::from(std::mem::take(&mut piece));
            let len = bytes.len() as u64;
            state.blobs.put_piece(&sha, device, received, bytes).await?;
            received += len;
            progress(received).await?;
        }
    }
    if !piece.is_empty() {
        let len = piece.len() as u64;
        state
            .blobs
            .put_piece(&sha, device, received, Bytes::from(piece))
            .await?;
        received += len;
        progress(received).await?;
    }
    outcome?;
    if received < st.size {
        return Ok(Json(UploadStatus {
            sha256: sha,
            offset: received,
            size: st.size,
            complete: false,
        })
        .into_response());
    }
    finish(&state, device, &sha, st.size).await
}

/// Bytes of one kept piece of an upload (a body longer than this is kept in several).
pub const PIECE_BYTES: usize = 1024 * 1024;

fn offset_mismatch(held: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "offset_mismatch",
        format!("上传位置不符：服务器已有 {held} 字节"),
        format!("offset mismatch: the server holds {held} bytes"),
    )
}

/// Check a complete upload and hold it under its hash, recording `device` as a sender. The
/// photo is written whole before it is recorded, and its pieces are dropped in between, so a
/// crash at any point leaves either the pieces or the photo to finish from.
async fn finish(state: &AppState, device: &str, sha: &str, size: u64) -> ApiResult<Response> {
    let stored = |mime: &'static str| async move {
        let (sha2, d, now) = (sha.to_string(), device.to_string(), state.now_ms());
        state
            .blocking(move |s| s.photo_stored(&sha2, mime, size, &d, now))
            .await?;
        Ok::<_, ApiError>(
            Json(UploadStatus {
                sha256: sha.to_string(),
                offset: size,
                size,
                complete: true,
            })
            .into_response(),
        )
    };
    let Some(bytes) = state.blobs.assemble(sha, device, size).await? else {
        // Every byte was received and the pieces are gone: they were put together and kept
        // under the photo's name, and a crash came before it was recorded. That photo is it.
        let existing =
            state.blobs.read_photo(sha).await?.ok_or_else(|| {
                ApiError::internal("an upload's pieces and its photo are both gone")
            })?;
        let want = sha.to_string();
        let mime = tokio::task::spawn_blocking(move || {
            (sha256_hex(&existing) == want)
                .then(|| inspect_image(&existing).ok().map(|i| i.mime))
                .flatten()
        })
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal("a held photo does not match its name"))?;
        return stored(mime).await;
    };
    let discard = || async {
        let _ = state.blobs.delete_pieces(sha, device, 0).await;
        let (sha2, d) = (sha.to_string(), device.to_string());
        let _ = state.blocking(move |s| s.forget_upload(&sha2, &d)).await;
    };
    // Hash and structure walk of up to 40 MB: off the async threads; the bytes go there and
    // come back rather than being copied.
    let (bytes, actual, checked) = tokio::task::spawn_blocking(move || {
        let actual = sha256_hex(&bytes);
        let checked = inspect_image(&bytes);
        (bytes, actual, checked)
    })
    .await
    .map_err(ApiError::internal)?;
    if actual != sha {
        discard().await;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            "照片内容与其 SHA-256 不符，已丢弃，请重新上传",
            "the bytes do not match the SHA-256; discarded, upload again",
        ));
    }
    let mime = match checked {
        Ok(info) => info.mime,
        Err(problem) => {
            // Whole and matching its hash, but not a photo: a phone retrying would send the same
            // bytes, so they are dropped and the reason given.
            discard().await;
            tracing::warn!(sha, ?problem, "upload refused: not a whole photo");
            return Err(xuncha_core::Error::from(problem).into());
        }
    };
    // Held already (another device sent it first): this device proved it has the bytes.
    if state.blobs.photo_size(sha).await? != Some(size) {
        state.blobs.put_photo(sha, Bytes::from(bytes)).await?;
    }
    state.blobs.delete_pieces(sha, device, 0).await?;
    stored(mime).await
}

/// Store a photo received whole from `device_id` (the console's browser upload, the demo
/// seed): it is checked, kept under its SHA-256 like an upload and recorded. Returns the hash
/// and the type.
pub async fn store_whole(
    state: &AppState,
    device_id: &str,
    bytes: Vec<u8>,
) -> ApiResult<(String, &'static str)> {
    let (bytes, sha, checked) = tokio::task::spawn_blocking(move || {
        let sha = sha256_hex(&bytes);
        let checked = inspect_image(&bytes);
        (bytes, sha, checked)
    })
    .await
    .map_err(ApiError::internal)?;
    let mime = checked
        .map_err(|p| ApiError::from(xuncha_core::Error::from(p)))?
        .mime;
    let size = bytes.len() as u64;
    if state.blobs.photo_size(&sha).await? != Some(size) {
        state.blobs.put_photo(&sha, Bytes::from(bytes)).await?;
    }
    let (sha2, d, now) = (sha.clone(), device_id.to_string(), state.now_ms());
    state
        .blocking(move |s| s.photo_stored(&sha2, mime, size, &d, now))
        .await?;
    Ok((sha, mime))
}

pub(crate) fn hidden() -> ApiError {
    ApiError::not_found("照片（或无权查看）", "photo (or not visible to you)")
}

/// The type of a stored photo, if the caller can see a case that uses it; 404 otherwise (the
/// same answer for "no such photo" and "not yours", so existence does not leak).
pub(crate) async fn visible_photo(
    state: &AppState,
    who: &Principal,
    sha: &str,
) -> ApiResult<String> {
    check_sha(sha)?;
    let sha2 = sha.to_string();
    let found = state.blocking(move |s| s.photo_with_cases(&sha2)).await?;
    let actor = who.actor();
    match found {
        Some((mime, cases)) if cases.iter().any(|c| scope::can_see(&actor, c)) => Ok(mime),
        _ => Err(hidden()),
    }
}

/// `GET /v1/photos/{sha256}`: the bytes, for callers who can see a case that uses the photo.
#[utoipa::path(get, path = "/v1/photos/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo")),
    responses((status = 200, description = "the image", content_type = "image/*"),
              (status = 404, description = "no such photo, or not visible to you", body = Object)))]
pub async fn download(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    let mime = visible_photo(&state, &who, &sha).await?;
    // Streamed from the store: many downloads at once cost a buffer each, not a photo each.
    let (len, stream) = state.blobs.photo_stream(&sha).await?.ok_or_else(hidden)?;
    state.metrics.blob_bytes_out.inc_by(len);
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
