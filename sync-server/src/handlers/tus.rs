//! tus 1.0.0 (<https://tus.io/protocols/resumable-upload>) on the photo uploads: the core
//! protocol with the `creation` and `termination` extensions, so stock clients (tus-js-client,
//! tus-java-client, tus-py-client…) upload and resume as they are.
//!
//! - An upload's URL is `/v1/uploads/{sha256}`; the photo's SHA-256 (lowercase hex) travels in
//!   `Upload-Metadata` as `sha256` (base64 of the hex, as the protocol encodes every value), and
//!   the bytes are checked against it and against the image types before they are kept.
//! - Every response of the upload routes carries `Tus-Resumable: 1.0.0`; a request that names
//!   another version is refused with 412 and `Tus-Version`.
//! - `OPTIONS /v1/uploads` is the discovery (no sign-in needed): version, extensions, size limit.
//! - A PATCH must be `application/offset+octet-stream` (415 otherwise) at the server's offset
//!   (409 otherwise) and is answered 204 with the new `Upload-Offset`; while another request of
//!   the same device holds the upload, 423 (a client waits and asks again with HEAD).
//!
//! Requests without `Tus-Resumable` (the app before it spoke tus) keep their JSON bodies.

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::error::ApiError;
use crate::state::AppState;

/// The protocol version spoken.
pub const VERSION: &str = "1.0.0";
/// The extensions offered.
pub const EXTENSIONS: &str = "creation,termination";
/// Header names (lowercase, as HTTP/2 and the `http` crate keep them).
pub const TUS_RESUMABLE: &str = "tus-resumable";
pub const TUS_VERSION: &str = "tus-version";
pub const TUS_EXTENSION: &str = "tus-extension";
pub const TUS_MAX_SIZE: &str = "tus-max-size";
pub const UPLOAD_LENGTH: &str = "upload-length";
pub const UPLOAD_METADATA: &str = "upload-metadata";
/// The content type of a PATCH body.
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// True if the request speaks tus (it names the protocol's version).
pub fn is_tus(headers: &HeaderMap) -> bool {
    headers.contains_key(TUS_RESUMABLE)
}

/// Around every upload route: refuse a version we do not speak (412), and say ours on every
/// answer, errors included.
pub async fn layer(req: Request, next: Next) -> Response {
    if req.method() != Method::OPTIONS
        && let Some(v) = req.headers().get(TUS_RESUMABLE)
        && v.as_bytes() != VERSION.as_bytes()
    {
        let mut r = ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            format!("不支持的 tus 版本；本服务器支持 {VERSION}"),
            format!("unsupported tus version; this server speaks {VERSION}"),
        )
        .into_response();
        r.headers_mut()
            .insert(TUS_VERSION, HeaderValue::from_static(VERSION));
        r.headers_mut()
            .insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
        return r;
    }
    let mut r = next.run(req).await;
    r.headers_mut()
        .insert(TUS_RESUMABLE, HeaderValue::from_static(VERSION));
    r
}

/// `OPTIONS /v1/uploads`: what this server offers.
#[utoipa::path(options, path = "/v1/uploads", tag = "photos", security(()),
    responses((status = 204, description = "tus discovery",
        headers(("Tus-Resumable" = String, description = "1.0.0"),
                ("Tus-Version" = String, description = "versions spoken: 1.0.0"),
                ("Tus-Extension" = String, description = "creation,termination"),
                ("Tus-Max-Size" = u64, description = "largest photo accepted, bytes"))),
              (status = 426, description = "`x-xuncha-protocol` names a version this server does not speak", body = xuncha_core::sync::protocol::ApiError)))]
pub async fn options(State(state): State<AppState>) -> Response {
    let max = state.config.max_photo_bytes.to_string();
    (
        StatusCode::NO_CONTENT,
        [
            (TUS_VERSION, VERSION.to_string()),
            (TUS_EXTENSION, EXTENSIONS.to_string()),
            (TUS_MAX_SIZE, max),
        ],
    )
        .into_response()
}

/// `Upload-Metadata`: `key base64value,key2 base64value2` (a key may come without a value).
/// Values that are not base64 or not UTF-8 are refused.
pub fn metadata(headers: &HeaderMap) -> Result<BTreeMap<String, String>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_metadata",
            "Upload-Metadata 格式不对：应为“键 base64值”，以逗号分隔",
            "Upload-Metadata must be comma-separated `key base64value` pairs",
        )
    };
    let Some(raw) = headers.get(UPLOAD_METADATA) else {
        return Ok(BTreeMap::new());
    };
    let raw = raw.to_str().map_err(|_| bad())?;
    let mut out = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().unwrap_or_default();
        let value = match parts.next().map(str::trim) {
            None | Some("") => String::new(),
            Some(v) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map_err(|_| bad())?;
                String::from_utf8(bytes).map_err(|_| bad())?
            }
        };
        let key_ok = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic());
        if !key_ok || out.insert(key.to_string(), value).is_some() {
            return Err(bad());
        }
    }
    Ok(out)
}

/// `Upload-Length` of a creation request.
pub fn upload_length(headers: &HeaderMap) -> Result<u64, ApiError> {
    headers
        .get(UPLOAD_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing_length",
                "缺少 Upload-Length 请求头（不支持延后声明大小）",
                "Upload-Length header required (deferred length is not supported)",
            )
        })
}

/// A PATCH body must be `application/offset+octet-stream`.
pub fn check_patch_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_OCTET_STREAM));
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong_content_type",
            format!("上传内容的类型须为 {OFFSET_OCTET_STREAM}"),
            format!("a PATCH body must be {OFFSET_OCTET_STREAM}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_decodes_pairs_and_refuses_garbage() {
        let mut h = HeaderMap::new();
        h.insert(
            UPLOAD_METADATA,
            HeaderValue::from_static("sha256 YWJj,filetype aW1hZ2UvanBlZw==,flag"),
        );
        let m = metadata(&h).expect("metadata");
        assert_eq!(m["sha256"], "abc");
        assert_eq!(m["filetype"], "image/jpeg");
        assert_eq!(m["flag"], "");
        for bad in ["sha256 !!!", "sha256 YWJj,sha256 YWJj", "sha256 YWJj extra"] {
            h.insert(UPLOAD_METADATA, HeaderValue::from_static(bad));
            assert!(metadata(&h).is_err(), "{bad}");
        }
    }
}
