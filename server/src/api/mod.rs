//! The `/api` surface: reads per service, and every write through one [`dispatch`], whether it
//! arrives per resource or inside a sync push — same dedupe, same rules, same answer.

pub mod audit;
pub mod comms;
pub mod documents;
pub mod facility;
pub mod sync_push;
pub mod virtual_care;

use axum::{
    body::Bytes,
    extract::{OriginalUri, Path, Query, State},
    http::{HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};
use caresync_contract::ErrorCode;
use rusqlite::Connection;
use serde::Deserialize;

use crate::{
    auth::{self, Caller},
    error::{not_found, HttpError, Outcome},
    idempotency::{self, Write},
    AppState,
};

/// Routes relative to `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/threads", get(threads))
        .route(
            "/v1/threads/{thread_id}/messages",
            get(messages).post(write),
        )
        .route("/v1/threads/{thread_id}/reopen", post(reopen))
        .route("/v1/read", post(write))
        .route("/v1/audit-events", post(write))
        .route("/v1/virtual-care/async-visits", get(visits).post(write))
        .route(
            "/v1/virtual-care/async-visits/{visit_id}/attachments/{attachment_id}",
            get(attachment),
        )
        .route("/v1/virtual-care/sessions", get(sessions))
        .route("/v1/virtual-care/sessions/{session_id}", get(session))
        .route("/v1/virtual-care/sessions/{session_id}/cancel", post(write))
        .route("/v1/virtual-care/sessions/{session_id}/end", post(write))
        .route("/v1/virtual-care/sessions/{session_id}/admit", post(write))
        .route(
            "/v1/virtual-care/sessions/{session_id}/fallback",
            post(fallback),
        )
        .route("/v1/facility/beds/{bed_id}/status", put(write))
        .route("/v1/facility/beds/{bed_id}/housekeeping-status", put(write))
        .route("/v1/sync/push", post(sync_push::push))
        .route("/v1/sync/capabilities", get(sync_push::capabilities))
        .fallback(|| async { not_found("No such API route.") })
}

/// Every queued write the platform accepts, by method and path.
pub fn dispatch(
    conn: &Connection,
    caller: &Caller,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Outcome {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("POST", ["api", "v1", "threads", thread_id, "messages"]) => {
            comms::post_message(conn, caller, thread_id, body)
        }
        ("POST", ["api", "v1", "read"]) => comms::mark_read(conn, caller, body),
        ("POST", ["api", "v1", "audit-events"]) => audit::record(conn, caller, body),
        ("POST", ["v1", "documents", "render-jobs"]) => documents::create_job(conn, caller, body),
        ("POST", ["api", "v1", "virtual-care", "async-visits"]) => {
            virtual_care::submit_visit(conn, caller, body)
        }
        (
            "POST",
            ["api", "v1", "virtual-care", "sessions", id, action @ ("cancel" | "end" | "admit")],
        ) => virtual_care::act(conn, caller, id, action, body),
        ("PUT", ["api", "v1", "facility", "beds", bed_id, "status"]) => {
            facility::write_bed(conn, caller, bed_id, facility::BedField::Status, body)
        }
        ("PUT", ["api", "v1", "facility", "beds", bed_id, "housekeeping-status"]) => {
            facility::write_bed(conn, caller, bed_id, facility::BedField::Housekeeping, body)
        }
        _ => Err(not_found(format!("No write route {method} {path}."))),
    }
}

/// The per-resource write handler: parse, then the shared dispatch under `Idempotency-Key`.
async fn write(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k.to_owned()),
        Some(Err(_)) => {
            return HttpError::new(
                400,
                ErrorCode::BadRequest,
                "Idempotency-Key must be visible ASCII.",
            )
            .into_response()
        }
    };
    let mut body: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return HttpError::new(
                400,
                ErrorCode::MalformedJson,
                format!("The body is not valid JSON: {e}"),
            )
            .into_response()
        }
    };
    // `If-Match: "3"` stands for `{"version": 3}` on version-checked actions.
    if let (Some(tag), Some(obj)) = (
        headers.get("if-match").and_then(|v| v.to_str().ok()),
        body.as_object_mut(),
    ) {
        let digits = tag.trim().trim_start_matches("W/").trim_matches('"');
        if let (Ok(version), false) = (digits.parse::<i64>(), obj.contains_key("version")) {
            obj.insert("version".into(), version.into());
        }
    }
    let path = uri.path().to_owned();
    let result = state
        .db
        .call(move |conn| {
            let write = Write {
                method: method.as_str(),
                path: &path,
                body: &body,
                key: key.as_deref(),
            };
            Ok(idempotency::run(conn, &caller, &write, |c| {
                dispatch(c, &caller, method.as_str(), &path, body.clone())
            }))
        })
        .await;
    match result.map_err(HttpError::from).and_then(|o| o) {
        Ok((status, body)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            Json(body),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn threads(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| Ok(comms::list_threads(conn, &caller)))
        .await??;
    Ok(Json(list).into_response())
}

/// Routes relative to `/v1`: the document service, at the seed's paths.
pub fn document_routes() -> Router<AppState> {
    Router::new()
        .route("/documents/templates", get(templates))
        .route("/documents/render-jobs", post(write))
        .route("/documents/render-jobs/{job_id}", get(render_job))
        .route("/documents/artifacts/{artifact_id}", get(artifact_link))
        .route("/documents/artifacts/{artifact_id}/pdf", get(artifact_pdf))
        .fallback(|| async { not_found("No such route.") })
}

async fn templates(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| Ok(documents::templates(conn, &caller)))
        .await??;
    let tag = documents::etag(&list);
    let fresh = headers
        .get(axum::http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let etag = [(axum::http::header::ETAG, tag)];
    Ok(if fresh {
        (StatusCode::NOT_MODIFIED, etag).into_response()
    } else {
        (etag, Json(list)).into_response()
    })
}

async fn render_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let job = state
        .db
        .call(move |conn| Ok(documents::job(conn, &caller, &id)))
        .await??;
    Ok(Json(job).into_response())
}

async fn artifact_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let keys = state.keys.clone();
    let link = state
        .db
        .call(move |conn| Ok(documents::link(conn, &caller, &keys, &id)))
        .await??;
    Ok(Json(link).into_response())
}

#[derive(Deserialize)]
struct Signed {
    expires: i64,
    signature: String,
}

/// No token here: the signature is the permission, and it expires.
async fn artifact_pdf(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Signed>,
) -> Result<Response, HttpError> {
    let keys = state.keys.clone();
    let bytes = state
        .db
        .call(move |conn| Ok(documents::pdf(conn, &keys, &id, q.expires, &q.signature)))
        .await??;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "inline; filename=\"document.pdf\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Routes relative to `/internal`: what edge devices pull.
pub fn internal_routes() -> Router<AppState> {
    Router::new()
        .route("/edge/snapshot", get(snapshot))
        .fallback(|| async { not_found("No such route.") })
}

#[derive(Deserialize)]
struct SnapshotQuery {
    #[serde(rename = "nodeId")]
    node_id: Option<String>,
}

async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SnapshotQuery>,
) -> Result<Response, HttpError> {
    if caller.role == caresync_contract::auth::Role::Patient {
        return Err(HttpError::new(
            403,
            ErrorCode::Forbidden,
            "The facility registry is for staff.",
        ));
    }
    let node = q
        .node_id
        .filter(|n| !n.is_empty())
        .ok_or_else(|| crate::error::invalid("nodeId is required"))?;
    let snap = state
        .db
        .call(move |conn| Ok(facility::snapshot(conn, &caller, &node)))
        .await??;
    Ok(Json(snap).into_response())
}

async fn visits(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| Ok(virtual_care::list_visits(conn, &caller)))
        .await??;
    Ok(Json(list).into_response())
}

async fn attachment(
    State(state): State<AppState>,
    caller: Caller,
    Path((visit, attachment)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let (content_type, bytes) = state
        .db
        .call(move |conn| Ok(virtual_care::attachment(conn, &caller, &visit, &attachment)))
        .await??;
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response())
}

async fn sessions(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| Ok(virtual_care::list_sessions(conn, &caller)))
        .await??;
    Ok(Json(list).into_response())
}

async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let one = state
        .db
        .call(move |conn| Ok(virtual_care::session(conn, &caller, &id)))
        .await??;
    Ok(Json(one).into_response())
}

async fn fallback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let one = state
        .db
        .call(move |conn| Ok(virtual_care::fallback(conn, &caller, &id)))
        .await??;
    Ok(Json(one).into_response())
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<String>,
}

async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
    Query(q): Query<AfterQuery>,
) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| {
            Ok(comms::list_messages(
                conn,
                &caller,
                &thread_id,
                q.after.as_deref(),
            ))
        })
        .await??;
    Ok(Json(list).into_response())
}

async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
) -> Result<Response, HttpError> {
    let thread = state
        .db
        .call(move |conn| Ok(comms::reopen(conn, &caller, &thread_id)))
        .await??;
    Ok(Json(thread).into_response())
}
