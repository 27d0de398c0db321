//! Turning failures into the documented error body `{statusCode, code, message}`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use caresync_contract::{ApiError, ErrorCode};

/// An error a handler returns; it renders as the documented JSON body.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0)).into_response()
    }
}

pub fn not_found(message: &str) -> HttpError {
    HttpError(ApiError::new(404, ErrorCode::NotFound, message))
}
