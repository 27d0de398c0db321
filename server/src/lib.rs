//! The caresync reference server: the platform's REST contracts on SQLite or PostgreSQL, plus
//! the PWA shell.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod faults;
pub mod fixtures;
pub mod http;
pub mod live;
pub mod pdf;
pub mod relay;
pub mod sealing;
pub mod seed;
pub mod shell;
pub mod time;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, Request},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use caresync_contract::ErrorCode;

pub use config::Config;
use http::error::HttpError;

/// The largest request body a route accepts unless it says otherwise (those that carry
/// photos: see [`http::MAX_VISIT_BODY_BYTES`] and its neighbours).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub keys: auth::Keys,
    pub config: Arc<Config>,
    /// Committed bed changes, for the live streams.
    pub beds: live::BedFeed,
}

impl AppState {
    pub async fn open(config: Config) -> Result<Self, db::DbError> {
        let db = db::Db::open(&config.data_dir, config.database_url.as_deref()).await?;
        if config.demo_data {
            db.call(seed::ensure_all).await?;
        }
        let ttl = config.access_ttl_secs;
        let keys = db.call(move |c| auth::Keys::load(c, ttl)).await?;
        // Devices seal to a published key before they ever push: there is always one.
        db.call(|c| sealing::ensure_current(c)).await?;
        let beds = db.call(|c| live::BedFeed::open(c)).await?;
        Ok(Self {
            db,
            keys,
            config: Arc::new(config),
            beds,
        })
    }

    /// Makes a new sealing key the published one; envelopes sealed to older unretired keys
    /// still open.
    pub async fn rotate_sealing_key(
        &self,
    ) -> Result<caresync_contract::sync::SealingKey, db::DbError> {
        self.db.call(|c| sealing::rotate(c)).await
    }
}

/// The whole HTTP surface: API routes first, then the app shell for everything else.
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(state: AppState) -> Router {
    let shell = shell::Shell::load(&state.config.dist_dir);
    let test_faults = state.config.test_faults;
    // Kept for the test controls, which exist only in test mode.
    let fixture_state = state.clone();
    let mut app = Router::new()
        .route(caresync_contract::paths::HEALTHZ, get(healthz))
        .nest("/api", with_json_errors(http::routes()))
        .nest("/internal", with_json_errors(http::internal_routes()))
        .nest("/v1", with_json_errors(http::document_routes()))
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

/// Background work: the document renderer picks up queued jobs, expired Idempotency-Key
/// answers are pruned once a minute (at once on start), and with `CARESYNC_NATS_URL` the
/// outbox relay publishes domain events; on PostgreSQL, bed changes committed by any
/// instance reach this one's live streams. Call once per server.
pub fn spawn_workers(state: &AppState) {
    if let Some(url) = &state.config.nats_url {
        relay::spawn(state.db.clone(), url.clone());
    }
    if state.db.is_postgres() {
        let (db, beds) = (state.db.clone(), state.beds.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(live::POLL_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let beds = beds.clone();
                let polled = db.call(move |c| {
                    beds.publish_committed(c);
                    Ok(())
                });
                if let Err(err) = polled.await {
                    tracing::warn!(%err, "could not look for bed changes; will retry");
                }
            }
        });
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(http::idempotency::PRUNE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match db
                .call(|c| http::idempotency::prune(c, time::now_ms()))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(keys = n, "pruned expired idempotency keys"),
                Err(err) => tracing::warn!(%err, "pruning idempotency keys failed; will retry"),
            }
        }
    });
    let db = state.db.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            match db.call(domain::documents::render_queued).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "rendered documents"),
                Err(err) => tracing::warn!(%err, "document rendering failed; will retry"),
            }
        }
    });
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
