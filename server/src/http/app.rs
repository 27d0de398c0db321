//! The whole HTTP surface assembled: the API routers, the test-mode controls, the PWA shell
//! and the layers every response passes through.

use axum::{
    extract::{DefaultBodyLimit, Request},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use caresync_contract::ErrorCode;

use super::{error::HttpError, faults, fixtures, shell};
use crate::{AppState, MAX_BODY_BYTES};

/// The whole HTTP surface: API routes first, then the app shell for everything else.
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: AppState) -> Router {
    let shell = shell::Shell::load(&state.config.dist_dir);
    let test_faults = state.config.test_faults;
    // Kept for the test controls, which exist only in test mode.
    let fixture_state = state.clone();
    let mut app = Router::new()
        .route(caresync_contract::paths::HEALTHZ, get(healthz))
        .nest("/api", with_json_errors(super::routes()))
        .nest("/internal", with_json_errors(super::internal_routes()))
        .nest("/v1", with_json_errors(super::document_routes()))
        .with_state(state)
        .merge(shell.router());
    if test_faults {
        let faults = faults::Faults::default();
        let control = Router::new()
            .route(
                "/__test/faults",
                post(faults::add_rule).delete(faults::clear),
            )
            .with_state(faults.clone());
        app = app
            .layer(middleware::from_fn_with_state(faults, faults::inject))
            .merge(control)
            .merge(
                Router::new()
                    .route("/__test/sessions", post(fixtures::create_session))
                    .route(
                        "/__test/beds/{bed_id}",
                        axum::routing::delete(fixtures::delete_bed),
                    )
                    .route("/__test/beds/{bed_id}/restore", post(fixtures::restore_bed))
                    .with_state(fixture_state),
            )
            .layer(test_cors());
    }
    app.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(shell.csp(), shell::headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Test mode only: the browser test tier runs on its own loopback origin and calls this
/// server directly. Production serves the app from the same origin and needs no CORS.
fn test_cors() -> tower_http::cors::CorsLayer {
    use axum::http::{header, HeaderName, HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin: &HeaderValue, _| {
            let o = origin.as_bytes();
            o.starts_with(b"http://127.0.0.1:") || o.starts_with(b"http://localhost:")
        }))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            header::IF_MATCH,
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::RETRY_AFTER])
}

fn with_json_errors(routes: Router<AppState>) -> Router<AppState> {
    routes.layer(middleware::from_fn(json_errors))
}

/// Framework rejections (bad path parameter, body too large, wrong method) become the
/// documented error body too, so a client always gets `{statusCode, code, message}`.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() || is_json {
        return response;
    }
    let (code, message) = match status.as_u16() {
        404 => (ErrorCode::NotFound, "No such API route."),
        405 => (ErrorCode::BadRequest, "This method is not allowed here."),
        413 => (
            ErrorCode::PayloadTooLarge,
            "The request body is larger than this route accepts.",
        ),
        415 => (ErrorCode::BadRequest, "Send the body as application/json."),
        _ => (ErrorCode::BadRequest, "The request is malformed."),
    };
    HttpError::new(status.as_u16(), code, message).into_response()
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> &'static str {
    match state.db.ping().await {
        Ok(()) => "ok",
        Err(_) => "degraded",
    }
}
