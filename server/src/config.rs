//! Server settings, read from the environment with sensible defaults.

use std::{net::SocketAddr, path::PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    /// `CARESYNC_ADDR`, default `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// `CARESYNC_DATA`, default `./data`: where the SQLite database lives.
    pub data_dir: PathBuf,
    /// `CARESYNC_DIST`, default `./dist`: the built PWA.
    pub dist_dir: PathBuf,
    /// `CARESYNC_ACCESS_TTL_SECS`, default 900: access token lifetime (tests shorten it).
    pub access_ttl_secs: u64,
    /// `CARESYNC_REFRESH_GRACE_SECS`, default 60: how long a used refresh token still answers
    /// with the pair it produced (a lost response, two tabs) before a replay counts as theft.
    pub refresh_grace_secs: u64,
    /// `CARESYNC_IDLE_LOCK_SECS`, default 120: how long a shared device waits with no input
    /// before it locks, for every tenant (the e2e tests shorten it).
    pub idle_lock_secs: u64,
    /// `CARESYNC_DOC_TTL_SECS`, default 604800 (7 days): how long a device may keep a rendered
    /// document in its encrypted cache, for every tenant.
    pub doc_ttl_secs: u64,
    /// `CARESYNC_TEST_FAULTS=1` mounts the fault-injection endpoint. Never set in production.
    pub test_faults: bool,
    /// `CARESYNC_DATABASE_URL`: a `postgres://` URL puts the data in PostgreSQL instead of
    /// the SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// `CARESYNC_DEMO_DATA`, default on (`0` turns it off): the demo tenants, users, wards
    /// and templates are made on start when missing.
    pub demo_data: bool,
    /// `CARESYNC_NATS_URL`, e.g. `nats://127.0.0.1:4222`: domain events are published to
    /// JetStream there. Without it they wait in the outbox.
    pub nats_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("CARESYNC_ADDR={value:?} is not an address like 127.0.0.1:8080")]
    BadAddr { value: String },
    #[error("CARESYNC_ACCESS_TTL_SECS={value:?} is not a whole number of seconds")]
    BadTtl { value: String },
    #[error("CARESYNC_REFRESH_GRACE_SECS={value:?} is not a whole number of seconds")]
    BadGrace { value: String },
    #[error("CARESYNC_IDLE_LOCK_SECS={value:?} is not a whole number of seconds")]
    BadIdleLock { value: String },
    #[error("CARESYNC_DOC_TTL_SECS={value:?} is not a whole number of seconds")]
    BadDocTtl { value: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let addr_text =
            std::env::var("CARESYNC_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
        let addr = addr_text
            .parse()
            .map_err(|_| ConfigError::BadAddr { value: addr_text })?;
        let data_dir = std::env::var_os("CARESYNC_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("data"));
        let dist_dir = std::env::var_os("CARESYNC_DIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("dist"));
        let access_ttl_secs = match std::env::var("CARESYNC_ACCESS_TTL_SECS") {
            Ok(v) => v.parse().map_err(|_| ConfigError::BadTtl { value: v })?,
            Err(_) => 900,
        };
        let refresh_grace_secs = match std::env::var("CARESYNC_REFRESH_GRACE_SECS") {
            Ok(v) => v.parse().map_err(|_| ConfigError::BadGrace { value: v })?,
            Err(_) => 60,
        };
        let idle_lock_secs = match std::env::var("CARESYNC_IDLE_LOCK_SECS") {
            Ok(v) => v
                .parse()
                .map_err(|_| ConfigError::BadIdleLock { value: v })?,
            Err(_) => 120,
        };
        let doc_ttl_secs = match std::env::var("CARESYNC_DOC_TTL_SECS") {
            Ok(v) => v.parse().map_err(|_| ConfigError::BadDocTtl { value: v })?,
            Err(_) => caresync_contract::auth::DEFAULT_DOCUMENT_CACHE_TTL_SECONDS,
        };
        let test_faults = std::env::var("CARESYNC_TEST_FAULTS").is_ok_and(|v| v == "1");
        let database_url = std::env::var("CARESYNC_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let nats_url = std::env::var("CARESYNC_NATS_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let demo_data = std::env::var("CARESYNC_DEMO_DATA").map_or(true, |v| v != "0");
        Ok(Self {
            addr,
            data_dir,
            dist_dir,
            access_ttl_secs,
            refresh_grace_secs,
            idle_lock_secs,
            doc_ttl_secs,
            test_faults,
            database_url,
            demo_data,
            nats_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The only test that touches CARESYNC_DOC_TTL_SECS, so no other test sees it change.
    #[test]
    fn the_document_cache_lifetime_is_read_from_the_environment() {
        std::env::remove_var("CARESYNC_DOC_TTL_SECS");
        let default = Config::from_env().map(|c| c.doc_ttl_secs);
        assert_eq!(default.ok(), Some(604_800));
        std::env::set_var("CARESYNC_DOC_TTL_SECS", "3600");
        assert_eq!(Config::from_env().map(|c| c.doc_ttl_secs).ok(), Some(3600));
        std::env::set_var("CARESYNC_DOC_TTL_SECS", "a week");
        let refused = Config::from_env();
        std::env::remove_var("CARESYNC_DOC_TTL_SECS");
        assert!(matches!(refused, Err(ConfigError::BadDocTtl { .. })));
    }
}
