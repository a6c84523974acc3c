//! The one error type of the HTTP API: a status, a stable code and a message in zh-CN and
//! English, always answered as JSON `{code, message, message_en}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use xuncha_core::Lang;
use xuncha_core::sync::protocol::ApiError as ApiErrorBody;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: String,
    /// zh-CN message.
    pub message: String,
    /// English message.
    pub message_en: String,
    /// Seconds the client should wait before trying again (`Retry-After`).
    pub retry_after_s: Option<u64>,
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with both messages.
    pub fn new(
        status: StatusCode,
        code: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: zh.into(),
            message_en: en.into(),
            retry_after_s: None,
        }
    }

    /// The same error, telling the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// 401: no valid token.
    pub fn unauthorized(code: &str, zh: &str, en: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, zh, en)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, zh, en)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, zh, en)
    }

    /// 404.
    pub fn not_found(what_zh: &str, what_en: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("找不到{what_zh}"),
            format!("{what_en} not found"),
        )
    }

    /// 500: something on our side; details go to the log, not to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试",
            "internal server error, please retry later",
        )
    }
}

impl From<xuncha_core::Error> for ApiError {
    fn from(e: xuncha_core::Error) -> Self {
        use xuncha_core::Error as E;
        let status = match &e {
            E::Storage(_) | E::Migration(_) | E::Io(_) | E::Database(_) => {
                return ApiError::internal(&e);
            }
            E::StorageUnavailable(what) => {
                tracing::warn!(%what, "storage unavailable");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "存储暂时不可用，请稍后重试",
                    "storage is unavailable right now; try again shortly",
                )
                .retry_after(5);
            }
            E::NotFound { .. } => StatusCode::NOT_FOUND,
            E::NotInScope { .. } => StatusCode::FORBIDDEN,
            E::CaseExists(_) => StatusCode::CONFLICT,
            E::IllegalTransition { .. } | E::RequirementMissing { .. } => StatusCode::CONFLICT,
            E::UnsupportedPhoto | E::PhotoDamaged(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            E::PhotoTooManyPixels { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError {
            status,
            code: e.code().to_string(),
            message: e.message(Lang::ZhCn),
            message_en: e.message(Lang::En),
            retry_after_s: None,
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            code: self.code,
            message: self.message,
            message_en: self.message_en,
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        resp
    }
}
