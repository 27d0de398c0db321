//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and the
//! contract's types. Nothing here is written by hand but the list of operations.

use axum::Json;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "caresync reference API", version = "1",
         description = "The platform contracts caresync syncs with: communication, virtual care, documents, facility, audit, and the batch sync endpoint. Every error is {statusCode, code, message}."),
    paths(
        super::auth::login, super::auth::refresh, super::auth::logout,
        super::auth::revoke_all, super::auth::revoke_replay,
        super::device_policy::device_config,
        super::threads, super::messages, super::writes::post_message, super::reopen, super::writes::mark_read,
        super::sync_push::push, super::sync_push::capabilities, super::sealed::push_sealed,
        super::writes::record_audit, super::audit_events,
        super::visits, super::writes::submit_visit, super::attachment,
        super::list_sessions, super::session, super::writes::cancel_session, super::writes::end_session,
        super::writes::admit_session, super::writes::reschedule_session, super::fallback,
        super::templates, super::render_jobs, super::writes::create_render_job, super::render_job, super::artifact_link, super::artifact_pdf,
        super::facility::snapshot, super::writes::bed_status, super::writes::bed_housekeeping,
        super::facility::held_reviews, super::writes::review_accept, super::writes::review_reject,
        super::stream::ticket, super::stream::stream,
    ),
    components(schemas(caresync_contract::ApiError, caresync_contract::ErrorCode, caresync_contract::sync::SealedWrite,
        caresync_contract::facility::StreamMark, caresync_contract::facility::StaleReference, caresync_contract::facility::StaleReason)),
    modifiers(&Bearer),
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // Not an HTTP scheme OpenAPI knows: the literal header `Authorization: Replay <token>`.
        components.add_security_scheme(
            "replay",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`Replay <token>`: a replay credential from sign-in; pushes only its user's sealed writes",
            ))),
        );
    }
}

/// `GET /api/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
