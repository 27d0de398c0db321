//! The load generator: simulated devices push queued writes, in lanes, through
//! `/api/v1/sync/push` and the per-resource route while the servers inject faults; then
//! the database and the JetStream stream are checked for exactly-once, lane order and one
//! event per committed write.

pub mod devices;
pub mod setup;
pub mod verify;

use std::time::Duration;

/// A load run's shape.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server instances; devices are spread over them, and retries go to the next one.
    pub bases: Vec<String>,
    pub devices: usize,
    pub writes: usize,
    /// The fraction of write requests that meet an injected fault, half `drop_after_commit`
    /// (committed, answer lost) and half `unavailable` (503, nothing done).
    pub faults: f64,
    /// Writes per sync push.
    pub batch: usize,
    /// How many requests are in flight at once.
    pub concurrency: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub writes: usize,
    pub requests: usize,
    pub faults_met: usize,
    pub elapsed: Duration,
    /// From a write's first send to its acknowledgement, retries included.
    pub p50: Duration,
    pub p99: Duration,
}

impl Report {
    pub fn writes_per_sec(&self) -> f64 {
        self.writes as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} writes in {:.1}s: {:.0} writes/s, p50 {:.1} ms, p99 {:.1} ms ({} requests, {} met a fault)",
            self.writes,
            self.elapsed.as_secs_f64(),
            self.writes_per_sec(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.requests,
            self.faults_met
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Setup(String),
    #[error("write {cmid} was refused: {status} {body}")]
    Refused {
        cmid: String,
        status: u16,
        body: String,
    },
    #[error("database: {0}")]
    Db(#[from] caresync_server::db::DbError),
    #[error("nats: {0}")]
    Nats(String),
    #[error("check failed: {0}")]
    Check(String),
}
