//! The caresync reference server: the platform's REST contracts on SQLite, plus the PWA shell.

pub mod config;
pub mod db;
pub mod error;
pub mod shell;

use std::sync::Arc;

use axum::{routing::get, Router};

pub use config::Config;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn open(config: Config) -> Result<Self, db::DbError> {
        let db = db::Db::open(&config.data_dir)?;
        Ok(Self {
            db,
            config: Arc::new(config),
        })
    }
}

/// The whole HTTP surface: API routes first, then the app shell for everything else.
pub fn router(state: AppState) -> Router {
    let shell = shell::Shell::load(&state.config.dist_dir);
    Router::new()
        .route(caresync_contract::paths::HEALTHZ, get(healthz))
        .nest("/api", api_routes())
        .with_state(state)
        .merge(shell.router())
        .layer(axum::middleware::from_fn_with_state(
            shell.csp(),
            shell::headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

fn api_routes() -> Router<AppState> {
    Router::new().fallback(|| async { error::not_found("no such API route") })
}

async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> &'static str {
    match state.db.ping().await {
        Ok(()) => "ok",
        Err(_) => "degraded",
    }
}
