//! The one place failures become the documented error body `{statusCode, code, message}`: a
//! [`DomainError`] gets its status code here, and nowhere else.

use crate::db::Connection;
use crate::domain::{error::Aftermath, DomainError};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use caresync_contract::{ApiError, ErrorCode};

use crate::db::DbError;

/// An error a handler returns; it renders as the documented JSON body.
/// The flag marks a write that lost a race for a UNIQUE key (see [`HttpError::lost_race`]).
pub struct HttpError(pub ApiError, Option<Aftermath>, bool);

impl std::fmt::Debug for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HttpError")
            .field(&self.0)
            .field(&self.1.as_ref().map(|_| "aftermath"))
            .finish()
    }
}

pub type Outcome = Result<(u16, serde_json::Value), HttpError>;

impl HttpError {
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        HttpError(ApiError::new(status, code, message), None, false)
    }

    pub fn with(self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        HttpError(self.0.with(key, value), self.1, self.2)
    }

    /// Attaches a write to make after the refused write is rolled back.
    pub fn with_aftermath(
        self,
        write: impl FnOnce(&Connection) -> crate::db::Result<()> + Send + 'static,
    ) -> Self {
        HttpError(self.0, Some(Aftermath(Box::new(write))), self.2)
    }

    /// Takes the attached write, if any, to run on the connection the refusal rolled back on.
    pub fn take_aftermath(&mut self) -> Option<Aftermath> {
        self.1.take()
    }

    /// Another connection committed the same UNIQUE key (a clientMutationId, an
    /// Idempotency-Key) while this write ran: run again, it finds that row and answers from it.
    pub fn lost_race(&self) -> bool {
        self.2
    }

    pub fn status(&self) -> u16 {
        self.0.status_code
    }

    /// The error body as JSON, for a sync push result. Should it not serialise, the result
    /// still says the server failed rather than carrying a `null` body.
    pub fn body(&self) -> serde_json::Value {
        to_json(&self.0).unwrap_or_else(|_| {
            serde_json::json!({
                "statusCode": 500,
                "code": ErrorCode::Internal.as_str(),
                "message": INTERNAL_MESSAGE,
            })
        })
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

/// A write's answer as a response: its status and JSON body, or the error body.
pub fn respond(outcome: Outcome) -> Response {
    match outcome {
        Ok((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

const INTERNAL_MESSAGE: &str = "The server could not complete the request.";

/// The server's own failure; its cause is logged where it happened, not sent.
pub fn internal() -> HttpError {
    HttpError::new(500, ErrorCode::Internal, INTERNAL_MESSAGE)
}

/// An answer as JSON. A value that does not serialise is the server's fault: a logged 500,
/// never a `null` body that a client would take for the resource.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, HttpError> {
    serde_json::to_value(value).map_err(|err| {
        tracing::error!(%err, what = std::any::type_name::<T>(), "could not serialise an answer");
        internal()
    })
}

impl From<DbError> for HttpError {
    fn from(err: DbError) -> Self {
        if err.is_unique_violation() {
            tracing::info!(%err, "a concurrent write committed the same key first");
            let HttpError(body, aftermath, _) = internal();
            return HttpError(body, aftermath, true);
        }
        tracing::error!(%err, "database failure");
        internal()
    }
}

impl From<DomainError> for HttpError {
    fn from(err: DomainError) -> Self {
        let (status, code, message, details) = match err {
            DomainError::Db(err) => return err.into(),
            DomainError::Serialise(err) => {
                tracing::error!(%err, "could not serialise part of an answer");
                return internal();
            }
            DomainError::Internal(what) => {
                tracing::error!(what, "a broken invariant refused a request");
                return internal();
            }
            DomainError::WithAftermath { error, aftermath } => {
                let HttpError(body, _, race) = HttpError::from(*error);
                return HttpError(body, Some(aftermath), race);
            }
            DomainError::NotFound { message } => {
                return HttpError::new(404, ErrorCode::NotFound, message)
            }
            DomainError::Forbidden { code, message } => return HttpError::new(403, code, message),
            DomainError::Invalid {
                code,
                message,
                details,
            } => (400, code, message, details),
            DomainError::Conflict {
                code,
                message,
                details,
            } => (409, code, message, details),
            DomainError::TooLarge {
                code,
                message,
                details,
            } => (413, code, message, details),
            DomainError::Unsupported {
                code,
                message,
                details,
            } => (415, code, message, details),
            DomainError::Unprocessable {
                code,
                message,
                details,
            } => (422, code, message, details),
        };
        details
            .into_iter()
            .fold(HttpError::new(status, code, message), |e, (k, v)| {
                e.with(&k, v)
            })
    }
}

impl From<crate::auth::AuthError> for HttpError {
    fn from(err: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match err {
            AuthError::Unauthorized { code, message } => HttpError::new(401, code, message),
            AuthError::Forbidden { code, message } => HttpError::new(403, code, message),
            AuthError::Invalid { code, message } => HttpError::new(400, code, message),
            AuthError::Db(err) => err.into(),
            AuthError::Internal(what) => {
                tracing::error!(what, "auth failed on the server's side");
                internal()
            }
        }
    }
}

pub fn not_found(message: impl Into<String>) -> HttpError {
    HttpError::new(404, ErrorCode::NotFound, message)
}

pub fn invalid(message: impl Into<String>) -> HttpError {
    HttpError::new(400, ErrorCode::InvalidBody, message)
}

/// Parses a JSON body into a typed request, with a clear 400 for each way it can be wrong.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, HttpError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        HttpError::new(
            400,
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    from_value(value)
}

pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, HttpError> {
    serde_json::from_value(value)
        .map_err(|e| invalid(format!("The body does not match the schema: {e}")))
}

/// A client-chosen id must be a UUID; anything else is refused before it reaches SQL.
pub fn require_uuid(field: &str, value: &str) -> Result<(), HttpError> {
    uuid::Uuid::parse_str(value)
        .map(drop)
        .map_err(|_| invalid(format!("{field} must be a UUID")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_that_does_not_serialise_is_a_500_not_a_null_body() {
        // JSON object keys must be strings: a map keyed by pairs cannot be written.
        let unwritable = std::collections::BTreeMap::from([((1, 2), "x")]);
        let err = to_json(&unwritable).expect_err("pairs are not JSON keys");
        assert_eq!(
            (err.status(), err.body()),
            (
                500,
                serde_json::json!({"statusCode": 500, "code": "INTERNAL", "message": INTERNAL_MESSAGE})
            )
        );
        assert_eq!(to_json(&[1, 2]).ok(), Some(serde_json::json!([1, 2])));
    }

    #[test]
    fn each_domain_refusal_has_one_status_and_keeps_its_details() {
        let cases = [
            (DomainError::not_found("gone"), 404, "NOT_FOUND"),
            (DomainError::invalid("bad"), 400, "INVALID_BODY"),
            (DomainError::forbidden("no"), 403, "FORBIDDEN"),
            (
                DomainError::conflict(ErrorCode::ThreadArchived, "archived"),
                409,
                "THREAD_ARCHIVED",
            ),
            (
                DomainError::too_large(ErrorCode::PayloadTooLarge, "big"),
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (
                DomainError::unsupported(ErrorCode::UnsupportedAttachment, "gif"),
                415,
                "UNSUPPORTED_ATTACHMENT",
            ),
            (
                DomainError::unprocessable(ErrorCode::AuditChainBroken, "fork"),
                422,
                "AUDIT_CHAIN_BROKEN",
            ),
            (DomainError::Internal("broken"), 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            let body = HttpError::from(err).body();
            assert_eq!(
                (body["statusCode"].as_u64(), body["code"].as_str()),
                (Some(status), Some(code))
            );
        }
        let detailed = HttpError::from(
            DomainError::conflict(ErrorCode::OptimisticLockConflict, "moved")
                .with("currentVersion", 3),
        );
        assert_eq!(detailed.body()["currentVersion"], 3);
        // A domain-side serialisation failure is the server's, never a null body.
        let unwritable = std::collections::BTreeMap::from([((1, 2), "x")]);
        let err = serde_json::to_value(unwritable).expect_err("pairs are not JSON keys");
        assert_eq!(HttpError::from(DomainError::from(err)).status(), 500);
    }
}
