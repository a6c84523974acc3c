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

fn partial_path(dir: &Path, sha: &str) -> PathBuf {
    dir.join("partial").join(sha)
}

async fn status_of(state: &AppState, sha: &str) -> ApiResult<Option<UploadStatus>> {
    let s = sha.to_string();
    let sqlite = state.sqlite.clone();
    let row = tokio::task::spawn_blocking(move || sqlite.upload_state(&s))
        .await
        .map_err(ApiError::internal)??;
    Ok(row.map(|(size, received, complete)| UploadStatus {
        sha256: sha.to_string(),
        offset: if complete { size } else { received },
        size,
        complete,
    }))
}

/// `POST /v1/uploads`: announce a photo; answers where to continue (or that it is stored).
#[utoipa::path(post, path = "/v1/uploads", tag = "photos",
    request_body(content = Object, description = "{sha256, size}"),
    responses((status = 201, description = "UploadStatus {sha256, offset, size, complete}", body = Object),
              (status = 200, description = "already stored", body = Object),
              (status = 413, description = "photo too large", body = Object)))]
pub async fn create(
    State(state): State<AppState>,
    _who: Principal,
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
    if let Some(st) = status_of(&state, &req.sha256).await?
        && (st.complete || st.size == req.size)
    {
        let code = if st.complete {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((code, Json(st)).into_response());
    }
    let (sha, size, now) = (req.sha256.clone(), req.size, state.now_ms());
    let sqlite = state.sqlite.clone();
    tokio::task::spawn_blocking(move || sqlite.create_upload(&sha, size, now))
        .await
        .map_err(ApiError::internal)??;
    let _ = tokio::fs::remove_file(partial_path(&state.blob_dir, &req.sha256)).await;
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

/// `GET /v1/uploads/{sha256}`: the offset to resume from after a cut.
#[utoipa::path(get, path = "/v1/uploads/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo")),
    responses((status = 200, description = "UploadStatus", body = Object),
              (status = 404, description = "no such upload", body = Object)))]
pub async fn status(
    State(state): State<AppState>,
    _who: Principal,
    UrlPath(sha): UrlPath<String>,
) -> ApiResult<Response> {
    check_sha(&sha)?;
    match status_of(&state, &sha).await? {
        Some(st) => Ok(([(UPLOAD_OFFSET, st.offset.to_string())], Json(st)).into_response()),
        None => Err(ApiError::not_found("上传任务", "upload")),
    }
}

/// `PATCH /v1/uploads/{sha256}` with `Upload-Offset: N`: append bytes from offset N. Bytes
/// received before a cut are kept, so the next attempt resumes where this one stopped.
#[utoipa::path(patch, path = "/v1/uploads/{sha256}", tag = "photos",
    params(("sha256" = String, Path, description = "SHA-256 of the photo"),
           ("upload-offset" = u64, Header, description = "byte offset of this chunk")),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 200, description = "UploadStatus", body = Object),
              (status = 409, description = "offset mismatch or upload busy", body = Object),
              (status = 415, description = "not a JPEG/PNG/WebP/HEIC image", body = Object),
              (status = 422, description = "bytes do not match the SHA-256", body = Object)))]
pub async fn append(
    State(state): State<AppState>,
    _who: Principal,
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
    let Some(st) = status_of(&state, &sha).await? else {
        return Err(ApiError::not_found("上传任务", "upload"));
    };
    if st.complete {
        return Ok(Json(st).into_response());
    }
    let Some(_guard) = state.upload_lock(&sha) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload_busy",
            "该照片正在上传中",
            "this photo is being uploaded by another request",
        ));
    };
    if offset != st.offset {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            format!("上传位置不符：服务器已有 {} 字节", st.offset),
            format!("offset mismatch: the server holds {} bytes", st.offset),
        ));
    }
    // Every byte is already here (a crash came between receiving them and storing the photo).
    if st.offset == st.size {
        return finish(&state, &sha, st.size).await;
    }
    let part = partial_path(&state.blob_dir, &sha);
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
        let (s2, sqlite) = (sha.clone(), state.sqlite.clone());
        tokio::task::spawn_blocking(move || sqlite.upload_progress(&s2, held))
            .await
            .map_err(ApiError::internal)??;
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
    let (s2, sqlite) = (sha.clone(), state.sqlite.clone());
    tokio::task::spawn_blocking(move || sqlite.upload_progress(&s2, received))
        .await
        .map_err(ApiError::internal)??;
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
    finish(&state, &sha, st.size).await
}

/// Check a complete upload and store it under its hash.
async fn finish(state: &AppState, sha: &str, size: u64) -> ApiResult<Response> {
    let part = partial_path(&state.blob_dir, sha);
    let dest = blob_path(&state.blob_dir, sha);
    let stored = |mime: &'static str| async move {
        let (s, sqlite, now) = (sha.to_string(), state.sqlite.clone(), state.now_ms());
        tokio::task::spawn_blocking(move || sqlite.photo_stored(&s, mime, size, now))
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
    // Stored under its name already, but not recorded (a crash between the two): record it.
    if let Ok(existing) = tokio::fs::read(&dest).await {
        let want = sha.to_string();
        let mime = tokio::task::spawn_blocking(move || {
            (sha256_hex(&existing) == want)
                .then(|| inspect_image(&existing).ok().map(|i| i.mime))
                .flatten()
        })
        .await
        .map_err(ApiError::internal)?;
        if let Some(mime) = mime {
            let _ = tokio::fs::remove_file(&part).await;
            return stored(mime).await;
        }
    }
    let bytes = tokio::fs::read(&part).await.map_err(ApiError::internal)?;
    let discard = || async {
        let _ = tokio::fs::remove_file(&part).await;
        let (s, sqlite) = (sha.to_string(), state.sqlite.clone());
        let _ = tokio::task::spawn_blocking(move || sqlite.forget_upload(&s)).await;
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
    drop(bytes);
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(ApiError::internal)?;
    }
    tokio::fs::rename(&part, &dest)
        .await
        .map_err(ApiError::internal)?;
    stored(mime).await
}

/// Store a photo received whole (the console's browser upload): its type is checked, it is
/// stored under its SHA-256 like an upload and recorded. Returns the hash and the type.
pub async fn store_whole(state: &AppState, bytes: Vec<u8>) -> ApiResult<(String, &'static str)> {
    let (dir, sqlite, now) = (state.blob_dir.clone(), state.sqlite.clone(), state.now_ms());
    tokio::task::spawn_blocking(move || store_whole_blocking(&dir, &sqlite, &bytes, now))
        .await
        .map_err(ApiError::internal)?
}

/// [`store_whole`] on the calling thread (also used to seed the demo city's photos).
pub fn store_whole_blocking(
    blob_dir: &Path,
    sqlite: &crate::store::sqlite::SqliteStore,
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
    sqlite.photo_stored(&sha, mime, bytes.len() as u64, now_ms)?;
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
    let (s, sqlite) = (sha.to_string(), state.sqlite.clone());
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
    let bytes = tokio::fs::read(blob_path(&state.blob_dir, &sha))
        .await
        .map_err(|_| hidden())?;
    state.metrics.blob_bytes_out.inc_by(bytes.len() as u64);
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}
