//! Photos: resumable uploads in tus 1.0.0 (create with the size and the SHA-256, append at an
//! offset, ask the offset after a cut, terminate; [`super::tus`] holds the protocol's surface),
//! checked against their hash and image type before they are stored content-addressed;
//! downloads only for callers who can see a case that uses the photo.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;

use xuncha_core::store::{inspect_image, is_sha256_hex, sha256_hex};
use xuncha_core::sync::protocol::{CreateUpload, UPLOAD_OFFSET, UploadStatus};

use super::tus;
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
    let (sha2, device, reach) = (sha.to_string(), who.device_id.clone(), state.reach(who));
    let (held, upload) = state
        .blocking(move |s| {
            Ok((
                s.photo_held_for(&sha2, &device, &reach)?,
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

/// `POST /v1/uploads`: announce a photo — tus creation (`Upload-Length`, and `Upload-Metadata`
/// with `sha256`), or `{sha256, size}` as JSON from an app that predates tus. Answers where to
/// continue, or that it is held. A photo is answered as held only to a device that sent its
/// bytes or whose user sees a case showing it; any other device sends the bytes (proof it has
/// them), so the answer reveals nothing about other people's photos.
#[utoipa::path(post, path = "/v1/uploads", tag = "photos", security(("bearer" = [])),
    params(("Tus-Resumable" = Option<String>, Header, description = "1.0.0: speak tus (another version gets 412)"),
           ("Upload-Length" = Option<u64>, Header, description = "tus creation: the photo's size in bytes"),
           ("Upload-Metadata" = Option<String>, Header, description = "tus creation: `sha256 <base64 of the hex SHA-256>`")),
    request_body(content = Option<CreateUpload>, description = "without tus headers: {sha256, size} as JSON"),
    responses((status = 201, description = "created, or this device's earlier upload of the photo (tus: `Location` and `Upload-Offset` headers, no body)", body = UploadStatus,
                headers(("Location" = String, description = "tus: the upload's URL"), ("Upload-Offset" = u64, description = "tus: bytes held so far"))),
              (status = 200, description = "JSON only: the photo is held already for this device", body = UploadStatus),
              (status = 400, description = "no size, no or a malformed SHA-256, malformed metadata", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 412, description = "unsupported Tus-Resumable version (header Tus-Version)", body = xuncha_core::sync::protocol::ApiError),
              (status = 413, description = "photo too large", body = xuncha_core::sync::protocol::ApiError),
              (status = 423, description = "another request of this device holds this upload (upload_busy)", body = xuncha_core::sync::protocol::ApiError),
              (status = 507, description = "the device's quota of photos no case uses is full (device_quota_exceeded)", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn create(
    State(state): State<AppState>,
    who: Principal,
    req: Request,
) -> ApiResult<Response> {
    if tus::is_tus(req.headers()) {
        let length = tus::upload_length(req.headers())?;
        let meta = tus::metadata(req.headers())?;
        let sha = meta.get("sha256").cloned().ok_or_else(|| {
            ApiError::bad_request(
                "missing_sha256",
                "Upload-Metadata 须含照片的 sha256（十六进制，base64 编码）",
                "Upload-Metadata must carry the photo's sha256 (hex, base64-encoded)",
            )
        })?;
        let st = announce(&state, &who, sha.trim().to_ascii_lowercase(), length).await?;
        return Ok((
            StatusCode::CREATED,
            [
                (header::LOCATION, format!("/v1/uploads/{}", st.sha256)),
                (
                    header::HeaderName::from_static(UPLOAD_OFFSET),
                    st.offset.to_string(),
                ),
            ],
        )
            .into_response());
    }
    let ApiJson(req) = ApiJson::<CreateUpload>::from_request(req, &state).await?;
    let st = announce(&state, &who, req.sha256, req.size).await?;
    let code = if st.complete {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((code, Json(st)).into_response())
}

/// Announce `sha256` of `size` bytes from `who`'s device: held already, this device's upload
/// of it so far, or a new one.
async fn announce(
    state: &AppState,
    who: &Principal,
    sha256: String,
    size: u64,
) -> ApiResult<UploadStatus> {
    check_sha(&sha256)?;
    if size == 0 || size > state.config.max_photo_bytes {
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
    if let Some(st) = status_of(state, who, &sha256).await?
        && (st.complete || st.size == size)
    {
        return settle(state, who, st).await;
    }
    let Some(_guard) = state.upload_lock(&sha256, &who.device_id) else {
        return Err(busy());
    };
    let d = who.device_id.clone();
    let held = state
        .blocking(move |s| s.device_unreferenced_bytes(&d))
        .await?;
    let quota = state.config.storage.device_quota_bytes;
    if held.saturating_add(size) > quota {
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
    let (sha, device, now) = (sha256.clone(), who.device_id.clone(), state.now_ms());
    state
        .blocking(move |s| s.create_upload(&sha, &device, size, now))
        .await?;
    // A restart with another size: the pieces of the earlier attempt are not these bytes.
    state
        .blobs
        .delete_pieces(&sha256, &who.device_id, 0)
        .await?;
    Ok(UploadStatus {
        sha256,
        offset: 0,
        size,
        complete: false,
    })
}

/// 423 Locked, as tus servers answer: another request of this device is sending this photo (or
/// a dead link still holds it until the idle timeout); the client waits and asks the offset.
/// An upload whose every byte came but whose photo was not stored (a crash in between) is
/// finished now: a client that sees the whole length as its offset is done and sends nothing
/// more.
async fn settle(state: &AppState, who: &Principal, st: UploadStatus) -> ApiResult<UploadStatus> {
    if st.complete || st.offset < st.size {
        return Ok(st);
    }
    let Some(_guard) = state.upload_lock(&st.sha256, &who.device_id) else {
        return Err(busy());
    };
    finish(state, &who.device_id, &st.sha256, st.size).await
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        "upload_busy",
        "该照片正在上传中，请稍后重试",
        "this photo is being uploaded by another request; try again shortly",
    )
    .retry_after(1)
}

/// `GET` or `HEAD /v1/uploads/{sha256}`: the offset to resume from after a cut, in
/// `Upload-Offset` and `Upload-Length` (never cached), and as JSON.
#[utoipa::path(get, path = "/v1/uploads/{sha256}", tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the photo, lowercase hex")),
    responses((status = 200, description = "where this device's upload stands (also as HEAD, which tus clients use)", body = UploadStatus,
                headers(("Upload-Offset" = u64, description = "bytes held"), ("Upload-Length" = u64, description = "the photo's size"), ("Cache-Control" = String, description = "no-store"))),
              (status = 400, description = "not a SHA-256", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such upload from this device", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn status(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    let st = match status_of(&state, &who, &sha).await? {
        Some(st) => Some(settle(&state, &who, st).await?),
        None => None,
    };
    match st {
        Some(st) => Ok((
            [
                (UPLOAD_OFFSET, st.offset.to_string()),
                (tus::UPLOAD_LENGTH, st.size.to_string()),
                (header::CACHE_CONTROL.as_str(), "no-store".to_string()),
            ],
            Json(st),
        )
            .into_response()),
        None => Err(ApiError::not_found("上传任务", "upload")),
    }
}

/// `PATCH /v1/uploads/{sha256}` with `Upload-Offset: N` and an
/// `application/offset+octet-stream` body: append bytes from offset N to this device's upload.
/// Bytes received before a cut are kept, so the next attempt resumes where this one stopped.
/// Answered 204 with the new `Upload-Offset` (tus), or 200 with UploadStatus (JSON, an app
/// that predates tus); the last bytes are checked against the hash and the image types first.
#[utoipa::path(patch, path = "/v1/uploads/{sha256}", tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the photo, lowercase hex"),
           ("Upload-Offset" = u64, Header, description = "byte offset of this piece: the server's offset"),
           ("Tus-Resumable" = Option<String>, Header, description = "1.0.0: speak tus (another version gets 412)")),
    request_body(content = PhotoBytes, content_type = "application/offset+octet-stream", description = "the photo's bytes from the offset on"),
    responses((status = 204, description = "tus: appended", headers(("Upload-Offset" = u64, description = "bytes held now"))),
              (status = 200, description = "without tus: where the upload stands", body = UploadStatus),
              (status = 400, description = "no Upload-Offset, more bytes than announced", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such upload from this device", body = xuncha_core::sync::protocol::ApiError),
              (status = 409, description = "offset mismatch: ask the offset and go on from there", body = xuncha_core::sync::protocol::ApiError),
              (status = 412, description = "unsupported Tus-Resumable version", body = xuncha_core::sync::protocol::ApiError),
              (status = 413, description = "more pixels than a phone makes (photo_too_many_pixels)", body = xuncha_core::sync::protocol::ApiError),
              (status = 415, description = "not application/offset+octet-stream (wrong_content_type), or not a whole JPEG/PNG/WebP/HEIC image (unsupported_photo_type, photo_damaged)", body = xuncha_core::sync::protocol::ApiError),
              (status = 422, description = "the bytes do not match the SHA-256 (hash_mismatch)", body = xuncha_core::sync::protocol::ApiError),
              (status = 423, description = "another request holds this upload (upload_busy): ask the offset and go on", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn append(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let tus = tus::is_tus(&headers);
    let timer = state
        .metrics
        .sync_seconds
        .with_label_values(&["upload"])
        .start_timer();
    let st = receive(&state, &who, sha, &headers, body).await?;
    timer.observe_duration();
    if tus {
        Ok((
            StatusCode::NO_CONTENT,
            [(UPLOAD_OFFSET, st.offset.to_string())],
        )
            .into_response())
    } else {
        Ok(Json(st).into_response())
    }
}

/// Receive a PATCH's bytes: where the upload stands after them.
async fn receive(
    state: &AppState,
    who: &Principal,
    sha: String,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<UploadStatus> {
    check_sha(&sha)?;
    tus::check_patch_type(headers)?;
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
    let Some(st) = status_of(state, who, &sha).await? else {
        return Err(ApiError::not_found("上传任务", "upload"));
    };
    // Held already (sent before, or by this device for a case it sees): nothing to append.
    if st.complete {
        return Ok(st);
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
        return finish(state, device, &sha, st.size).await;
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
        return Ok(UploadStatus {
            sha256: sha,
            offset: received,
            size: st.size,
            complete: false,
        });
    }
    finish(state, device, &sha, st.size).await
}

/// `DELETE /v1/uploads/{sha256}` (tus termination): drop this device's unfinished upload of the
/// photo and the bytes it sent. A photo already held stays held (other cases may show it).
#[utoipa::path(delete, path = "/v1/uploads/{sha256}", tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the photo, lowercase hex"), ("Tus-Resumable" = Option<String>, Header, description = "1.0.0: speak tus (another version gets 412)")),
    responses((status = 204, description = "terminated (or held already: nothing to drop)"),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such upload from this device", body = xuncha_core::sync::protocol::ApiError),
              (status = 423, description = "another request is sending it", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn terminate(
    State(state): State<AppState>,
    who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    let Some(st) = status_of(&state, &who, &sha).await? else {
        return Err(ApiError::not_found("上传任务", "upload"));
    };
    if !st.complete {
        let device = who.device_id.as_str();
        let Some(_guard) = state.upload_lock(&sha, device) else {
            return Err(busy());
        };
        state.blobs.delete_pieces(&sha, device, 0).await?;
        let (sha2, d) = (sha.clone(), device.to_string());
        state.blocking(move |s| s.forget_upload(&sha2, &d)).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A photo's bytes on the wire (a PATCH body, a download): binary in the OpenAPI document.
pub struct PhotoBytes;

impl utoipa::PartialSchema for PhotoBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for PhotoBytes {}

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
async fn finish(state: &AppState, device: &str, sha: &str, size: u64) -> ApiResult<UploadStatus> {
    let stored = |mime: &'static str| async move {
        let (sha2, d, now) = (sha.to_string(), device.to_string(), state.now_ms());
        state
            .blocking(move |s| s.photo_stored(&sha2, mime, size, &d, now))
            .await?;
        Ok::<_, ApiError>(UploadStatus {
            sha256: sha.to_string(),
            offset: size,
            size,
            complete: true,
        })
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
    let reach = state.reach(who);
    match found {
        Some((mime, cases)) if cases.iter().any(|c| reach.can_see(c)) => Ok(mime),
        _ => Err(hidden()),
    }
}

/// `GET /v1/photos/{sha256}`: the bytes, for callers who can see a case that uses the photo.
#[utoipa::path(get, path = "/v1/photos/{sha256}", tag = "photos", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "SHA-256 of the photo, lowercase hex")),
    responses((status = 200, description = "the photo's bytes (JPEG, PNG, WebP or HEIC)", body = PhotoBytes, content_type = "image/*"),
              (status = 400, description = "not a SHA-256", body = xuncha_core::sync::protocol::ApiError),
              (status = 401, description = "sign in again", body = xuncha_core::sync::protocol::ApiError),
              (status = 404, description = "no such photo, or not visible to you", body = xuncha_core::sync::protocol::ApiError)))]
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
