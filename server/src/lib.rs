//! The caresync reference server: the platform's REST contracts on SQLite or PostgreSQL, plus
//! the PWA shell.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod http;
pub mod pdf;
pub mod relay;
pub mod sealing;
pub mod seed;
pub mod time;

use std::sync::Arc;

pub use config::Config;
pub use http::app::router;

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
    pub beds: domain::live::BedFeed,
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
        let beds = db.call(|c| domain::live::BedFeed::open(c)).await?;
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
            let mut every = tokio::time::interval(domain::live::POLL_EVERY);
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
