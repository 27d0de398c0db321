//! The per-resource write handler, and the OpenAPI operation of each queued-write route. Every
//! route goes through [`write`] and so through [`super::routes::dispatch`]: per resource or
//! inside a sync push, a write meets the same dedupe, rules and answers.

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, Method},
    response::{IntoResponse, Response},
};
use caresync_contract::{
    audit::{AuditEventDto, AuditEventIn},
    comms::{MessageDto, PostMessage, ReadReceiptDto, ReadRequest},
    documents::{RenderJobDto, RenderJobIn},
    facility::{BedStatusWrite, BedWriteResult, ReviewDecisionIn, ReviewDecisionResult},
    virtual_care::{AsyncVisitDto, AsyncVisitIn, RescheduleSession, SessionAction, SessionDto},
    ApiError, ErrorCode,
};

use crate::{
    auth::Caller,
    http::error::{respond, HttpError},
    http::idempotency::{self, Write},
    AppState,
};

/// The per-resource write handler: parse, then the shared dispatch under `Idempotency-Key`.
pub(super) async fn write(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (key, body) = match request(&headers, &body) {
        Ok(parsed) => parsed,
        Err(e) => return e.into_response(),
    };
    let path = uri.path().to_owned();
    let beds = state.beds.clone();
    let result = state
        .db
        .call(move |conn| {
            let write = Write {
                method: method.as_str(),
                path: &path,
                body: &body,
                key: key.as_deref(),
            };
            let outcome = idempotency::run(conn, &caller, &write, |c| {
                super::routes::dispatch(c, &caller, method.as_str(), &path, body.clone())
            });
            // Committed by now (or rolled back): the bed changes it made go to the live stream.
            beds.publish_committed(conn);
            Ok(outcome)
        })
        .await;
    respond(result.map_err(HttpError::from).and_then(|o| o))
}

/// The write's `Idempotency-Key` and JSON body. `If-Match: "3"` stands for `{"version": 3}`
/// on version-checked actions.
fn request(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Option<String>, serde_json::Value), HttpError> {
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k.to_owned()),
        Some(Err(_)) => {
            return Err(HttpError::new(
                400,
                ErrorCode::BadRequest,
                "Idempotency-Key must be visible ASCII.",
            ))
        }
    };
    let mut body: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        HttpError::new(
            400,
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    if let (Some(tag), Some(obj)) = (
        headers.get("if-match").and_then(|v| v.to_str().ok()),
        body.as_object_mut(),
    ) {
        let digits = tag.trim().trim_start_matches("W/").trim_matches('"');
        if let (Ok(version), false) = (digits.parse::<i64>(), obj.contains_key("version")) {
            obj.insert("version".into(), version.into());
        }
    }
    Ok((key, body))
}

/// One write route's OpenAPI operation. The route itself comes from the table in
/// [`super::routes`] and is served by [`write`]; this function exists only to carry the
/// annotation, and a test checks that the table and the document agree.
macro_rules! write_route {
    ($name:ident, #[$doc:meta]) => {
        #[$doc]
        #[allow(dead_code)]
        pub(super) fn $name() {}
    };
}

write_route!(post_message, #[utoipa::path(post, path = "/api/v1/threads/{threadId}/messages", tag = "communication",
    params(("threadId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = PostMessage,
    responses((status = 201, description = "Created; a duplicate clientMutationId returns the original", body = MessageDto),
        (status = 409, description = "THREAD_ARCHIVED", body = ApiError), (status = 404, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(mark_read, #[utoipa::path(post, path = "/api/v1/read", tag = "communication",
    request_body = ReadRequest,
    responses((status = 200, description = "The winning readAt per message (last writer wins)", body = [ReadReceiptDto]),
        (status = 404, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(record_audit, #[utoipa::path(post, path = "/api/v1/audit-events", tag = "audit",
    request_body = AuditEventIn,
    responses((status = 201, description = "Recorded; a duplicate returns the original", body = AuditEventDto), (status = 400, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(submit_visit, #[utoipa::path(post, path = "/api/v1/virtual-care/async-visits", tag = "virtual-care",
    request_body = AsyncVisitIn,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, description = "Submitted; a duplicate clientMutationId returns the original", body = AsyncVisitDto),
        (status = 400, description = "INVALID_BODY (also per photo: no fileName, not base64; with attachmentIndex and fileName)", body = ApiError),
        (status = 403, description = "FORBIDDEN: patients only", body = ApiError),
        (status = 413, description = "PAYLOAD_TOO_LARGE: a photo over 512 KiB (with attachmentIndex, fileName, size, maxBytes), or a body over 3 MiB", body = ApiError),
        (status = 415, description = "UNSUPPORTED_ATTACHMENT: a photo that is not PNG or JPEG, by its contentType or its bytes (with attachmentIndex, fileName)", body = ApiError)),
    security(("bearer" = [])))]);

write_route!(cancel_session, #[utoipa::path(post, path = "/api/v1/virtual-care/sessions/{sessionId}/cancel", tag = "virtual-care",
    params(("sessionId" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = SessionAction,
    responses((status = 200, body = SessionDto), (status = 409, description = "OPTIMISTIC_LOCK_CONFLICT (with currentVersion and status) or ILLEGAL_TRANSITION (with status)", body = ApiError)),
    security(("bearer" = [])))]);

write_route!(end_session, #[utoipa::path(post, path = "/api/v1/virtual-care/sessions/{sessionId}/end", tag = "virtual-care",
    params(("sessionId" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = SessionAction,
    responses((status = 200, body = SessionDto), (status = 409, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(admit_session, #[utoipa::path(post, path = "/api/v1/virtual-care/sessions/{sessionId}/admit", tag = "virtual-care",
    params(("sessionId" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body = SessionAction,
    responses((status = 200, body = SessionDto), (status = 403, description = "Only providers admit", body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(reschedule_session, #[utoipa::path(post, path = "/api/v1/virtual-care/sessions/{sessionId}/reschedule", tag = "virtual-care",
    params(("sessionId" = String, Path), ("If-Match" = Option<String>, Header), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RescheduleSession,
    responses((status = 200, description = "Still scheduled, at the new time, one version up", body = SessionDto),
        (status = 400, description = "INVALID_BODY: no version, or scheduledAt not RFC 3339", body = ApiError),
        (status = 403, description = "FORBIDDEN: only the session's provider reschedules", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "OPTIMISTIC_LOCK_CONFLICT (with currentVersion and status) or ILLEGAL_TRANSITION: not scheduled (with status)", body = ApiError)),
    security(("bearer" = [])))]);

write_route!(bed_status, #[utoipa::path(put, path = "/api/v1/facility/beds/{bedId}/status", tag = "facility",
    params(("bedId" = String, Path)),
    request_body = BedStatusWrite,
    responses((status = 200, description = "applied or superseded", body = BedWriteResult),
        (status = 202, description = "Older than one hour: held for manual review", body = BedWriteResult),
        (status = 409, description = "STALE_REFERENCE", body = ApiError), (status = 403, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(bed_housekeeping, #[utoipa::path(put, path = "/api/v1/facility/beds/{bedId}/housekeeping-status", tag = "facility",
    params(("bedId" = String, Path)),
    request_body = BedStatusWrite,
    responses((status = 200, body = BedWriteResult), (status = 202, body = BedWriteResult),
        (status = 409, description = "STALE_REFERENCE or ILLEGAL_TRANSITION", body = ApiError)),
    security(("bearer" = [])))]);

write_route!(create_render_job, #[utoipa::path(post, path = "/v1/documents/render-jobs", tag = "documents",
    request_body = RenderJobIn,
    responses((status = 202, description = "Queued; a duplicate returns the existing job", body = RenderJobDto),
        (status = 400, description = "INVALID_BODY, with `parameter`: one the server binds (patientName, visitDate, summary), one the template does not use, one missing, or one not of its input type", body = ApiError),
        (status = 404, body = ApiError)),
    security(("bearer" = [])))]);

write_route!(review_accept, #[utoipa::path(post, path = "/internal/edge/reviews/{reviewId}/accept", tag = "facility",
    params(("reviewId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReviewDecisionIn,
    responses((status = 200, description = "accepted (applied: still the latest for its field) or superseded (a newer change had won; closed, not applied). A review closed before answers how it was closed", body = ReviewDecisionResult),
        (status = 403, description = "FORBIDDEN: only ward managers and providers of the bed's node", body = ApiError),
        (status = 404, body = ApiError),
        (status = 409, description = "STALE_REFERENCE: the bed is gone; ILLEGAL_TRANSITION: the housekeeping state machine refuses it (the review stays open)", body = ApiError)),
    security(("bearer" = [])))]);

write_route!(review_reject, #[utoipa::path(post, path = "/internal/edge/reviews/{reviewId}/reject", tag = "facility",
    params(("reviewId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ReviewDecisionIn,
    responses((status = 200, description = "rejected; a review closed before answers how it was closed", body = ReviewDecisionResult),
        (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, description = "STALE_REFERENCE: the bed is gone", body = ApiError)),
    security(("bearer" = [])))]);
