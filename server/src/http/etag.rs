//! Conditional GETs: a weak ETag on the answer, and `304 Not Modified` when the client sends
//! it back in `If-None-Match`, so clients revalidate cheaply.

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use sha2::{Digest, Sha256};

use super::error::{internal, HttpError};

/// A weak ETag over the value's JSON. A value that does not serialise is a logged 500.
pub fn digest_tag<T: serde::Serialize>(value: &T) -> Result<String, HttpError> {
    let json = serde_json::to_vec(value).map_err(|err| {
        tracing::error!(%err, "could not serialise an answer for its ETag");
        internal()
    })?;
    let hex: String = Sha256::digest(json)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("W/\"{hex}\""))
}

/// `304` with the tag when the request already holds it, else the body with the tag.
pub fn respond<T: serde::Serialize>(headers: &HeaderMap, tag: String, body: T) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    // The shell's header layer sets Cache-Control for every path; see `shell::cache_rule`.
    let etag = [(header::ETAG, tag)];
    if fresh {
        (StatusCode::NOT_MODIFIED, etag).into_response()
    } else {
        (etag, Json(body)).into_response()
    }
}
