//! The error body every API answers with: `{ statusCode, code, message, ... }`.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes. The string form is the `code` field on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotFound,
    BadRequest,
    Unauthorized,
    PayloadTooLarge,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// The documented error body. Extra fields (such as `currentVersion`) are flattened in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    pub status_code: u16,
    pub code: ErrorCode,
    pub message: String,
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
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
        assert_eq!(ErrorCode::NotFound.as_str(), "NOT_FOUND");
    }
}
