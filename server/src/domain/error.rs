//! What a domain rule refuses, in the domain's terms. The HTTP edge gives each kind its status
//! code and its `{statusCode, code, message}` body (`crate::http::error`), in one place.

use caresync_contract::ErrorCode;

use crate::db::{Connection, DbError};

/// Fields a refusal carries besides its message (`currentVersion`, `parameter`, …), for the
/// client to act on.
pub type Details = serde_json::Map<String, serde_json::Value>;

/// A record that must outlive the refusal it explains: the refused write's savepoint rolls
/// back, and this is written after it (a tamper alert, for one).
pub struct Aftermath(pub Box<AfterWrite>);

type AfterWrite = dyn FnOnce(&Connection) -> crate::db::Result<()> + Send;

impl std::fmt::Debug for Aftermath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Aftermath")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Absent, or not the caller's to see (the two are not told apart).
    #[error("{message}")]
    NotFound { message: String },
    /// The request breaks a rule of its content.
    #[error("{message}")]
    Invalid {
        code: ErrorCode,
        message: String,
        details: Details,
    },
    /// The caller may not do this.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    /// The state of the resource refuses it (archived, stale, moved on, taken).
    #[error("{message}")]
    Conflict {
        code: ErrorCode,
        message: String,
        details: Details,
    },
    /// A part of the request is over its limit.
    #[error("{message}")]
    TooLarge {
        code: ErrorCode,
        message: String,
        details: Details,
    },
    /// A part of the request is of a kind the service does not take.
    #[error("{message}")]
    Unsupported {
        code: ErrorCode,
        message: String,
        details: Details,
    },
    /// The request is well-formed but cannot be taken as it is (a broken chain, a reused key).
    #[error("{message}")]
    Unprocessable {
        code: ErrorCode,
        message: String,
        details: Details,
    },
    /// A refusal with a record to write once the refused write has rolled back.
    #[error("{error}")]
    WithAftermath {
        error: Box<DomainError>,
        aftermath: Aftermath,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    /// A value the domain had to write as JSON (a detail, a payload) does not serialise.
    #[error("could not serialise: {0}")]
    Serialise(#[from] serde_json::Error),
    /// The stored data breaks an invariant the code relies on: the server's fault.
    #[error("broken invariant: {0}")]
    Internal(&'static str),
}

impl DomainError {
    pub fn not_found(message: impl Into<String>) -> Self {
        DomainError::NotFound {
            message: message.into(),
        }
    }

    /// `INVALID_BODY`, the common refusal of a request's content.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::invalid_as(ErrorCode::InvalidBody, message)
    }

    pub fn invalid_as(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Invalid {
            code,
            message: message.into(),
            details: Details::new(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code: ErrorCode::Forbidden,
            message: message.into(),
        }
    }

    pub fn forbidden_as(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Forbidden {
            code,
            message: message.into(),
        }
    }

    pub fn too_large(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::TooLarge {
            code,
            message: message.into(),
            details: Details::new(),
        }
    }

    pub fn unsupported(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Unsupported {
            code,
            message: message.into(),
            details: Details::new(),
        }
    }

    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Unprocessable {
            code,
            message: message.into(),
            details: Details::new(),
        }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Conflict {
            code,
            message: message.into(),
            details: Details::new(),
        }
    }

    /// Adds a detail; kinds that carry none are returned unchanged.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        match &mut self {
            DomainError::Invalid { details, .. }
            | DomainError::Conflict { details, .. }
            | DomainError::TooLarge { details, .. }
            | DomainError::Unsupported { details, .. }
            | DomainError::Unprocessable { details, .. } => {
                details.insert(key.to_owned(), value.into());
            }
            DomainError::WithAftermath { error, .. } => {
                let inner = std::mem::replace(error.as_mut(), DomainError::not_found(""));
                **error = inner.with(key, value);
            }
            _ => {}
        }
        self
    }

    /// Attaches a write to make after the refused write is rolled back.
    pub fn with_aftermath(
        self,
        write: impl FnOnce(&Connection) -> crate::db::Result<()> + Send + 'static,
    ) -> Self {
        DomainError::WithAftermath {
            error: Box::new(self),
            aftermath: Aftermath(Box::new(write)),
        }
    }
}

/// A client-chosen id must be a UUID; anything else is refused before it reaches SQL.
pub fn require_uuid(field: &str, value: &str) -> Result<(), DomainError> {
    uuid::Uuid::parse_str(value)
        .map(drop)
        .map_err(|_| DomainError::invalid(format!("{field} must be a UUID")))
}
