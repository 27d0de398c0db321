//! What the auth layer refuses, in its own terms; the HTTP edge (`crate::http::error`) gives
//! each kind its status code.

use caresync_contract::ErrorCode;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credential, or one that is not (or no longer) valid.
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    /// A valid credential that may not do this.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// The request's content is malformed.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
    /// Signing or hashing failed: the server's fault.
    #[error("{0}")]
    Internal(&'static str),
}

impl AuthError {
    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        AuthError::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        AuthError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        AuthError::Invalid {
            code,
            message: message.into(),
        }
    }
}
