//! The error body every API answers with: `{ statusCode, code, message, ... }`.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes. The string form is the `code` field on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotFound,
    BadRequest,
    MalformedJson,
    InvalidBody,
    Unauthorized,
    TokenExpired,
    /// A refresh token was presented again after its grace window: the session family is revoked.
    RefreshTokenReused,
    InvalidCredentials,
    Forbidden,
    PayloadTooLarge,
    /// An attachment that is not a PNG or JPEG image (by its declared type or by its bytes).
    UnsupportedAttachment,
    BatchTooLarge,
    ThreadArchived,
    OptimisticLockConflict,
    IllegalTransition,
    StaleReference,
    IdempotencyKeyReused,
    /// A clientMutationId the tenant already holds from another author: refused, never
    /// answered with that author's record.
    ClientMutationIdConflict,
    LaneBlocked,
    /// An audit chain whose MAC, sequence or link to the last acknowledged head is wrong.
    AuditChainBroken,
    /// A replay credential that is unknown, expired, revoked, or not the envelope's author's.
    ReplayRefused,
    /// A sealed write that does not open (unknown key id, altered, malformed).
    SealedUnreadable,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::MalformedJson => "MALFORMED_JSON",
            ErrorCode::InvalidBody => "INVALID_BODY",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::TokenExpired => "TOKEN_EXPIRED",
            ErrorCode::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedAttachment => "UNSUPPORTED_ATTACHMENT",
            ErrorCode::BatchTooLarge => "BATCH_TOO_LARGE",
            ErrorCode::ThreadArchived => "THREAD_ARCHIVED",
            ErrorCode::OptimisticLockConflict => "OPTIMISTIC_LOCK_CONFLICT",
            ErrorCode::IllegalTransition => "ILLEGAL_TRANSITION",
            ErrorCode::StaleReference => "STALE_REFERENCE",
            ErrorCode::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ErrorCode::ClientMutationIdConflict => "CLIENT_MUTATION_ID_CONFLICT",
            ErrorCode::LaneBlocked => "LANE_BLOCKED",
            ErrorCode::AuditChainBroken => "AUDIT_CHAIN_BROKEN",
            ErrorCode::ReplayRefused => "REPLAY_REFUSED",
            ErrorCode::SealedUnreadable => "SEALED_UNREADABLE",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// The documented error body. Extra fields (such as `currentVersion`) are flattened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub status_code: u16,
    pub code: ErrorCode,
    pub message: String,
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(status_code: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status_code,
            code,
            message: message.into(),
            extra: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_camel_case_with_upper_snake_code() {
        let body = serde_json::to_value(ApiError::new(404, ErrorCode::NotFound, "no such thread"))
            .expect("serialises");
        assert_eq!(
            body,
            serde_json::json!({"statusCode": 404, "code": "NOT_FOUND", "message": "no such thread"})
        );
        let conflict = ApiError::new(409, ErrorCode::OptimisticLockConflict, "stale")
            .with("currentVersion", 3);
        let body = serde_json::to_value(conflict).expect("serialises");
        assert_eq!(body["code"], "OPTIMISTIC_LOCK_CONFLICT");
        assert_eq!(body["currentVersion"], 3);
    }

    #[test]
    fn codes_round_trip_through_their_wire_names() {
        for code in [
            ErrorCode::ThreadArchived,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::ClientMutationIdConflict,
            ErrorCode::LaneBlocked,
            ErrorCode::RefreshTokenReused,
            ErrorCode::AuditChainBroken,
            ErrorCode::ReplayRefused,
            ErrorCode::SealedUnreadable,
            ErrorCode::UnsupportedAttachment,
        ] {
            let wire = serde_json::to_value(code).expect("serialises");
            assert_eq!(wire, code.as_str());
        }
    }
}
