//! The one error type of the FFI: a kind the app can act on, the stable code of `xuncha-core`
//! (and the server's own code when the server refused), and the message in zh-CN and English.

use xuncha_core::{Error, Lang};

/// What went wrong, grouped by what the app should do about it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum XunchaError {
    /// Bad input or an action not allowed now (show the message; nothing was changed).
    #[error("{code}: {detail}")]
    Invalid {
        code: String,
        detail: String,
        detail_en: String,
    },
    /// Sign in (again): no session or server set yet, or the server no longer accepts this
    /// device's token. Pending operations are kept.
    #[error("{code}: {detail}")]
    Auth {
        code: String,
        detail: String,
        detail_en: String,
    },
    /// No usable network now; try again later (nothing pending is lost).
    #[error("{code}: {detail}")]
    Network {
        code: String,
        detail: String,
        detail_en: String,
    },
    /// The server refused the request; `server_code` is its stable code (e.g. `device_revoked`).
    #[error("{code}: {detail}")]
    Server {
        code: String,
        server_code: String,
        status: u16,
        detail: String,
        detail_en: String,
    },
    /// The device's storage failed (disk full, corrupt file, newer schema).
    #[error("{code}: {detail}")]
    Storage {
        code: String,
        detail: String,
        detail_en: String,
    },
    /// The call was cancelled by the app.
    #[error("{code}: {detail}")]
    Cancelled {
        code: String,
        detail: String,
        detail_en: String,
    },
}

impl From<Error> for XunchaError {
    fn from(e: Error) -> Self {
        let code = e.code().to_string();
        let detail = e.message(Lang::ZhCn);
        let detail_en = e.message(Lang::En);
        match e {
            Error::Server {
                status,
                code: server_code,
                ..
            } => XunchaError::Server {
                code,
                server_code,
                status,
                detail,
                detail_en,
            },
            Error::AuthRequired | Error::NotSignedIn | Error::NotConfigured => XunchaError::Auth {
                code,
                detail,
                detail_en,
            },
            Error::Network(_) | Error::ProtocolUnsupported => XunchaError::Network {
                code,
                detail,
                detail_en,
            },
            Error::Storage(_)
            | Error::Migration(_)
            | Error::Database(_)
            | Error::StorageUnavailable(_)
            | Error::Io(_)
            | Error::Json(_)
            | Error::SchemaTooNew { .. } => XunchaError::Storage {
                code,
                detail,
                detail_en,
            },
            Error::Cancelled => XunchaError::Cancelled {
                code,
                detail,
                detail_en,
            },
            _ => XunchaError::Invalid {
                code,
                detail,
                detail_en,
            },
        }
    }
}

/// An input the FFI itself could not read (an id that is not a UUID, an unknown status name).
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> XunchaError {
    Error::InvalidField {
        field,
        reason: reason.into(),
    }
    .into()
}

pub(crate) type FfiResult<T> = Result<T, XunchaError>;
