//! `POST /console/cases/{id}/rectify`: unit staff rectify from the browser with an after-photo
//! (multipart form). The photo is checked and stored like a phone's upload, then the rectify
//! operation goes through the same push path and transition table as a phone's.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use xuncha_core::model::{OpBody, PhotoKind, PhotoRef};

use super::act::{check_seen, push_one, refused};
use super::pages::{Lang, t};
use super::session::{Console, csrf_for, forged};
use crate::state::AppState;

pub async fn rectify(
    State(state): State<AppState>,
    Console { who, session, lang }: Console,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let Ok(case_id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, "no such case").into_response();
    };
    let refuse = |msg: String| refused(&state, lang, &who, &session, case_id, msg);
    let too_big = || {
        format!(
            "{} {} MB",
            t(
                lang,
                "表单无效或照片太大；照片上限",
                "Not a valid form, or the photo is too large; the limit is"
            ),
            state.config.max_body_bytes / (1024 * 1024)
        )
    };
    let Ok(mut form) = form else {
        return refuse(too_big()).await;
    };
    let (mut csrf, mut seen, mut text, mut photo) =
        (String::new(), String::new(), String::new(), None);
    loop {
        match form.next_field().await {
            Ok(None) => break,
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let Ok(bytes) = field.bytes().await else {
                    return refuse(too_big()).await;
                };
                match name.as_str() {
                    "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
                    "seen" => seen = String::from_utf8_lossy(&bytes).into_owned(),
                    "text" => text = String::from_utf8_lossy(&bytes).trim().to_string(),
                    "photo" if !bytes.is_empty() => photo = Some(bytes.to_vec()),
                    _ => {}
                }
            }
            Err(_) => return refuse(too_big()).await,
        }
    }
    if csrf != csrf_for(&session) {
        return forged(lang);
    }
    let current = match state.blocking(move |s| s.case(case_id)).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if let Err(m) = check_seen(current.as_ref(), &who, &seen, lang) {
        return refuse(m).await;
    }
    let Some(bytes) = photo else {
        return refuse(
            t(
                lang,
                "整改必须附整改后照片。",
                "A rectification needs an after-photo.",
            )
            .into(),
        )
        .await;
    };
    let size = bytes.len() as u64;
    let (sha256, mime) =
        match crate::handlers::photos::store_whole(&state, &who.device_id, bytes).await {
            Ok(x) => x,
            Err(e) => {
                let m = if lang == Lang::Zh {
                    e.message
                } else {
                    e.message_en
                };
                return refuse(m).await;
            }
        };
    let body = OpBody::Rectify {
        note: text,
        photos: vec![PhotoRef {
            sha256,
            kind: PhotoKind::After,
            mime: mime.to_string(),
            size,
            captured_at_ms: None,
            location: None,
        }],
    };
    push_one(&state, lang, &who, &session, current, case_id, body).await
}
