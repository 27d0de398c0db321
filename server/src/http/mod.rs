//! The HTTP edge: axum routers and handlers. Reads are routed here per service; every write is
//! routed from the one table in [`routes`], whether it arrives per resource or inside a sync
//! push — same dedupe, same rules, same answer.

pub mod app;
pub mod auth;
pub mod device_policy;
pub mod error;
pub mod etag;
pub mod facility;
pub mod faults;
pub mod fixtures;
pub mod idempotency;
pub mod openapi;
pub mod routes;
pub mod sealed;
pub mod shell;
pub mod stream;
pub mod sync_push;
mod writes;

use crate::db::Connection;
use axum::{
    extract::{DefaultBodyLimit, Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use crate::{
    auth::Caller,
    domain::{audit, comms, documents, sessions, virtual_care},
    http::error::{not_found, HttpError},
    AppState,
};

/// The largest async-visit submit: four photos at the limit, base64 (4/3 of their bytes),
/// with room for the complaint. Other per-resource writes keep the 1 MiB default.
pub const MAX_VISIT_BODY_BYTES: usize = 3 * 1024 * 1024;
/// A push may carry several visits with photos; the engine should split larger batches.
pub const MAX_PUSH_BODY_BYTES: usize = 16 * 1024 * 1024;
/// A sealed write is hex, twice its plaintext: room for one visit at the limit.
pub const MAX_SEALED_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Routes relative to `/api`.
pub fn routes() -> Router<AppState> {
    // Never compressed: an answer that carries tokens beside anything a caller chose would
    // let its compressed length give the tokens away (BREACH).
    let auth = Router::new()
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/auth/sessions/revoke", post(auth::revoke_all))
        .route(
            "/v1/auth/replay-credentials/revoke",
            post(auth::revoke_replay),
        );
    let reads = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/v1/config", get(device_policy::device_config))
        .route("/v1/threads", get(threads))
        .route("/v1/threads/{threadId}/messages", get(messages))
        .route("/v1/threads/{threadId}/reopen", post(reopen))
        .route("/v1/audit-events", get(audit_events))
        .route("/v1/virtual-care/async-visits", get(visits))
        .route(
            "/v1/virtual-care/async-visits/{visitId}/attachments/{attachmentId}",
            get(attachment),
        )
        .route("/v1/virtual-care/sessions", get(list_sessions))
        .route("/v1/virtual-care/sessions/{sessionId}", get(session))
        .route(
            "/v1/virtual-care/sessions/{sessionId}/fallback",
            post(fallback),
        )
        .route(
            "/v1/sync/push",
            post(sync_push::push).layer(DefaultBodyLimit::max(MAX_PUSH_BODY_BYTES)),
        )
        .route("/v1/sync/capabilities", get(sync_push::capabilities))
        .route(
            "/v1/sync/sealed",
            post(sealed::push_sealed).layer(DefaultBodyLimit::max(MAX_SEALED_BODY_BYTES)),
        );
    routes::with_write_routes(reads, "/api")
        .layer(compression())
        .merge(auth)
        .fallback(|| async { not_found("No such API route.") })
}

/// Large answers (lists, pages of messages, PDFs) go out in brotli or gzip as the client
/// asks; small ones and event streams as they are.
fn compression(
) -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::{
        predicate::SizeAbove, CompressionLayer, DefaultPredicate, Predicate as _,
    };
    CompressionLayer::new().compress_when(DefaultPredicate::new().and(SizeAbove::new(1024)))
}

#[utoipa::path(get, path = "/api/v1/threads", tag = "communication", responses((status = 200, body = [caresync_contract::comms::ThreadDto])), security(("bearer" = [])))]
async fn threads(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    answer(&state, move |c| comms::list_threads(c, &caller)).await
}

/// Routes relative to `/v1`: the document service, at the seed's paths.
pub fn document_routes() -> Router<AppState> {
    let reads = Router::new()
        .route("/documents/templates", get(templates))
        .route("/documents/render-jobs", get(render_jobs))
        .route("/documents/render-jobs/{jobId}", get(render_job))
        .route("/documents/artifacts/{artifactId}", get(artifact_link))
        .route("/documents/artifacts/{artifactId}/pdf", get(artifact_pdf));
    routes::with_write_routes(reads, "/v1")
        .layer(compression())
        .fallback(|| async { not_found("No such route.") })
}

#[utoipa::path(get, path = "/v1/documents/templates", tag = "documents", params(("If-None-Match" = Option<String>, Header)), responses((status = 200, description = "Published templates, with an ETag", body = [caresync_contract::documents::TemplateDto]), (status = 304, description = "Unchanged")), security(("bearer" = [])))]
async fn templates(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let list = state
        .db
        .call(move |conn| Ok(documents::templates(conn, &caller)))
        .await??;
    let tag = etag::digest_tag(&list)?;
    Ok(etag::respond(&headers, tag, list))
}

#[utoipa::path(get, path = "/v1/documents/render-jobs", tag = "documents", responses((status = 200, description = "The caller's own render jobs, newest first (at most 500)", body = [caresync_contract::documents::RenderJobDto])), security(("bearer" = [])))]
async fn render_jobs(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    answer(&state, move |c| documents::jobs(c, &caller)).await
}

#[utoipa::path(get, path = "/v1/documents/render-jobs/{jobId}", tag = "documents", params(("jobId" = String, Path)), responses((status = 200, body = caresync_contract::documents::RenderJobDto), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn render_job(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| documents::job(c, &caller, &id)).await
}

#[utoipa::path(get, path = "/v1/documents/artifacts/{artifactId}", tag = "documents", params(("artifactId" = String, Path)), responses((status = 200, body = caresync_contract::documents::ArtifactLinkDto), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn artifact_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    let keys = state.keys.clone();
    answer(&state, move |c| documents::link(c, &caller, &keys, &id)).await
}

#[derive(Deserialize)]
struct Signed {
    expires: i64,
    signature: String,
}

/// No token here: the signature is the permission, and it expires.
#[utoipa::path(get, path = "/v1/documents/artifacts/{artifactId}/pdf", tag = "documents", params(("artifactId" = String, Path), ("expires" = i64, Query), ("signature" = String, Query)), responses((status = 200, description = "The PDF", content_type = "application/pdf"), (status = 403, description = "Invalid or expired link", body = caresync_contract::ApiError)))]
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
    let reads = Router::new()
        .route("/edge/snapshot", get(facility::snapshot))
        .route("/edge/reviews", get(facility::held_reviews))
        .route("/edge/stream-ticket", post(stream::ticket))
        .route("/edge/stream", get(stream::stream));
    routes::with_write_routes(reads, "/internal").fallback(|| async { not_found("No such route.") })
}

#[utoipa::path(get, path = "/api/v1/virtual-care/async-visits", tag = "virtual-care", responses((status = 200, body = [caresync_contract::virtual_care::AsyncVisitDto])), security(("bearer" = [])))]
async fn visits(State(state): State<AppState>, caller: Caller) -> Result<Response, HttpError> {
    answer(&state, move |c| virtual_care::list_visits(c, &caller)).await
}

#[utoipa::path(get, path = "/api/v1/virtual-care/async-visits/{visitId}/attachments/{attachmentId}", tag = "virtual-care", params(("visitId" = String, Path), ("attachmentId" = String, Path)), responses((status = 200, description = "The image", content_type = "image/png"), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/api/v1/virtual-care/sessions", tag = "virtual-care", responses((status = 200, body = [caresync_contract::virtual_care::SessionDto])), security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, HttpError> {
    answer(&state, move |c| sessions::list_sessions(c, &caller)).await
}

#[utoipa::path(get, path = "/api/v1/virtual-care/sessions/{sessionId}", tag = "virtual-care", params(("sessionId" = String, Path)), responses((status = 200, body = caresync_contract::virtual_care::SessionDto), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| sessions::session(c, &caller, &id)).await
}

#[utoipa::path(post, path = "/api/v1/virtual-care/sessions/{sessionId}/fallback", tag = "virtual-care", params(("sessionId" = String, Path)), responses((status = 200, description = "The session with its fallback thread", body = caresync_contract::virtual_care::SessionDto), (status = 409, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn fallback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| sessions::fallback(c, &caller, &id)).await
}

/// Runs a read (or an online action) on the database and answers with its JSON.
async fn answer<T: serde::Serialize + Send + 'static, E: Into<HttpError> + Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
) -> Result<Response, HttpError> {
    let value = state
        .db
        .call(move |conn| Ok(f(conn)))
        .await?
        .map_err(Into::into)?;
    Ok(Json(value).into_response())
}

#[derive(Deserialize)]
struct TypeQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(("type" = Option<String>, Query, description = "Only events of this type")), responses((status = 200, description = "The caller's own events, oldest first (at most 500)", body = [caresync_contract::audit::AuditEventDto])), security(("bearer" = [])))]
async fn audit_events(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<TypeQuery>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| {
        audit::list_own(c, &caller, q.kind.as_deref())
    })
    .await
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/threads/{threadId}/messages", tag = "communication", params(("threadId" = String, Path), ("after" = Option<String>, Query, description = "Only messages after this messageId")), responses((status = 200, description = "Ordered by (sentAt, messageId)", body = [caresync_contract::comms::MessageDto]), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
    Query(q): Query<AfterQuery>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| {
        comms::list_messages(c, &caller, &thread_id, q.after.as_deref())
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/threads/{threadId}/reopen", tag = "communication", params(("threadId" = String, Path)), responses((status = 200, body = caresync_contract::comms::ThreadDto), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    Path(thread_id): Path<String>,
) -> Result<Response, HttpError> {
    answer(&state, move |c| comms::reopen(c, &caller, &thread_id)).await
}
