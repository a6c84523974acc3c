//! Photos: resumable uploads with tus 1.0 core semantics (create with size and SHA-256, append
//! at an offset, ask the offset after a cut), checked against their hash and image type before
//! they are stored content-addressed; downloads only for callers who can see a case that uses
//! the photo.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;
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

/// Where a stored photo lives.
pub fn blob_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join(&sha[..2]).join(sha)
}

/// Where `device_id`'s bytes of an upload in progress are kept (one file per photo and device:
/// two devices sending the same photo never write into each other's file).
pub fn partial_path(dir: &Path, sha: &str, device_id: &str) -> PathBuf {
    let tag = &sha256_hex(device_id.as_bytes())[..16];
    dir.join("partial").join(format!("{sha}.{tag}"))
}

/// Where this device stands with a photo: held (and it may be told so), its own upload's
/// progress, or nothing.
async fn status_of(
    state: &AppState,
    who: &Principal,
    sha: &str,
) -> ApiResult<Option<UploadStatus>> {
    let (s, device, actor, sqlite) = (
        sha.to_string(),
        who.device_id.clone(),
        who.actor(),
        state.store.clone(),
    );
    let (held, upload) = tokio::task::spawn_blocking(move || {
        let held = sqlite.photo_held_for(&s, &device, &actor)?;
        let upload = sqlite.upload(&s, &device)?;
        Ok::<_, xuncha_core::Error>((held, upload))
    })
    .await
    .map_err(ApiError::internal)??;
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
    let (d, sqlite) = (who.device_id.clone(), state.store.clone());
    let held = tokio::task::spawn_blocking(move || sqlite.device_unreferenced_bytes(&d))
        .await
        .map_err(ApiError::internal)??;
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
    let sqlite = state.store.clone();
    tokio::task::spawn_blocking(move || sqlite.create_upload(&sha, &device, size, now))
        .await
        .map_err(ApiError::internal)??;
    let _ =
        tokio::fs::remove_file(partial_path(&state.blob_dir, &req.sha256, &who.device_id)).await;
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
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("上传位置不符：服务器已有 {} 字节", st.offset),
            format!("offset mismatch: the server holds {} bytes", st.offset),
        ));
    }
    let progress = |received: u64| {
        let (s, d, sqlite, now) = (
            sha.clone(),
            device.to_string(),
            state.store.clone(),
            state.now_ms(),
        );
        async move {
            tokio::task::spawn_blocking(move || sqlite.upload_progress(&s, &d, received, now))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
        }
    };
    let part = partial_path(&state.blob_dir, &sha, device);
    // Every byte is already here (a crash came between receiving them and storing the photo).
    if st.offset == st.size {
        return finish(&state, device, &sha, st.size).await;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)
        .await
        .map_err(ApiError::internal)?;
    let held = file.metadata().await.map_err(ApiError::internal)?.len();
    if held < st.offset {
        // The recorded progress is ahead of the bytes on disk (a crash between the two): go back
        // to what the file holds and let the phone resume from there. Never pad with zeros.
        progress(held).await?;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("上传位置不符：服务器已有 {held} 字节"),
            format!("offset mismatch: the server holds {held} bytes"),
        ));
    }
    // The partial file may hold bytes past the recorded offset from an earlier cut; cut it back.
    file.set_len(st.offset).await.map_err(ApiError::internal)?;
    let mut received = st.offset;
    let mut body = body;
    let mut too_much = false;
    let mut cut = false;
    loop {
        // A link that goes quiet is a cut too: keep what came, free the photo for a retry.
        let Ok(next) = tokio::time::timeout(state.config.upload_idle_timeout, body.frame()).await
        else {
            cut = true;
            break;
        };
        let Some(frame) = next else { break };
        let Ok(frame) = frame else {
            cut = true;
            break;
        };
        if let Ok(data) = frame.into_data() {
            if received + data.len() as u64 > st.size {
                too_much = true;
                break;
            }
            file.write_all(&data).await.map_err(ApiError::internal)?;
            received += data.len() as u64;
            state.metrics.blob_bytes_in.inc_by(data.len() as u64);
        }
    }
    file.sync_all().await.map_err(ApiError::internal)?;
    drop(file);
    progress(received).await?;
    if too_much {
        return Err(ApiError::bad_request(
            "too_many_bytes",
            "上传的字节数超过声明的大小",
            "more bytes than the announced size",
        ));
    }
    if cut || received < st.size {
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

/// Check a complete upload and hold it under its hash, recording `device` as a sender.
async fn finish(state: &AppState, device: &str, sha: &str, size: u64) -> ApiResult<Response> {
    let part = partial_path(&state.blob_dir, sha, device);
    let dest = blob_path(&state.blob_dir, sha);
    let stored = |mime: &'static str| async move {
        let (s, d, sqlite, now) = (
            sha.to_string(),
            device.to_string(),
            state.store.clone(),
            state.now_ms(),
        );
        tokio::task::spawn_blocking(move || sqlite.photo_stored(&s, mime, size, &d, now))
            .await
            .map_err(ApiError::internal)??;
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
    let bytes = match tokio::fs::read(&part).await {
        Ok(b) => b,
        Err(_) => {
            // This device's bytes were all received and its file is gone: it was renamed into
            // place and a crash came before it was recorded. The photo under its name is it.
            let existing = tokio::fs::read(&dest).await.map_err(ApiError::internal)?;
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
        }
    };
    let discard = || async {
        let _ = tokio::fs::remove_file(&part).await;
        let (s, d, sqlite) = (sha.to_string(), device.to_string(), state.store.clone());
        let _ = tokio::task::spawn_blocking(move || sqlite.forget_upload(&s, &d)).await;
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
    drop(bytes);
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
    if tokio::fs::metadata(&dest).await.is_ok() {
        // Held already (another device sent it first): this device proved it has the bytes.
        let _ = tokio::fs::remove_file(&part).await;
    } else {
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(ApiError::internal)?;
        }
        tokio::fs::rename(&part, &dest)
            .await
            .map_err(ApiError::internal)?;
    }
    stored(mime).await
}

/// Store a photo received whole from `device_id` (the console's browser upload): it is checked,
/// stored under its SHA-256 like an upload and recorded. Returns the hash and the type.
pub async fn store_whole(
    state: &AppState,
    device_id: &str,
    bytes: Vec<u8>,
) -> ApiResult<(String, &'static str)> {
    let (dir, sqlite, now) = (state.blob_dir.clone(), state.store.clone(), state.now_ms());
    let device = device_id.to_string();
    tokio::task::spawn_blocking(move || {
        store_whole_blocking(&dir, sqlite.as_ref(), &device, &bytes, now)
    })
    .await
    .map_err(ApiError::internal)?
}

/// [`store_whole`] on the calling thread (also used to seed the demo city's photos).
pub fn store_whole_blocking(
    blob_dir: &Path,
    records: &dyn crate::store::ServerStore,
    device_id: &str,
    bytes: &[u8],
    now_ms: i64,
) -> ApiResult<(String, &'static str)> {
    let sha = sha256_hex(bytes);
    let mime = inspect_image(bytes)
        .map_err(|p| ApiError::from(xuncha_core::Error::from(p)))?
        .mime;
    let dest = blob_path(blob_dir, &sha);
    if std::fs::metadata(&dest).is_err() {
        // Written beside the partial uploads, then renamed: a crash never leaves half a photo
        // under its name.
        let part = blob_dir.join("partial").join(format!("whole-{sha}"));
        for dir in [part.parent(), dest.parent()].into_iter().flatten() {
            std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
        }
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&part)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            std::fs::rename(&part, &dest)
        };
        write().map_err(ApiError::internal)?;
    }
    records.photo_stored(&sha, mime, bytes.len() as u64, device_id, now_ms)?;
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
    let (s, sqlite) = (sha.to_string(), state.store.clone());
    let found = tokio::task::spawn_blocking(move || sqlite.photo_with_cases(&s))
        .await
        .map_err(ApiError::internal)??;
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
    // Streamed from the file: many downloads at once cost a buffer each, not a photo each.
    let file = tokio::fs::File::open(blob_path(&state.blob_dir, &sha))
        .await
        .map_err(|_| hidden())?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    state.metrics.blob_bytes_out.inc_by(len);
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response())
}
