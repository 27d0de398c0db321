//! Starts the reference server: reads the environment, opens SQLite, serves until Ctrl-C.

use caresync_server::{router, AppState, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "caresync-server stopped");
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Config(#[from] caresync_server::config::ConfigError),
    #[error(transparent)]
    Db(#[from] caresync_server::db::DbError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

async fn run() -> Result<(), StartError> {
    let config = Config::from_env()?;
    let addr = config.addr;
    let state = AppState::open(config).await?;
    let version = state.db.schema_version().await?;
    let backend = if state.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    tracing::info!(schema_version = version, backend, data = %state.config.data_dir.display(), "database ready");
    caresync_server::spawn_workers(&state);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    let local = listener.local_addr().map_err(StartError::Serve)?;
    // The one line scripts and people look for; printed, not logged, so it is always visible.
    println!("caresync is serving on http://{local}/");
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(StartError::Serve)?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
