//! Thin adapters over web platform APIs; the decisions live in `caresync-sync`.

pub mod audit;
pub mod auth;
pub mod cache;
pub mod crypto;
pub mod device;
pub mod device_class;
pub mod escrow;
pub mod idb;
pub mod keyring;
pub mod locked;
pub mod migrate;
pub mod online;
pub mod outbox_append;
pub mod outbox_claim;
mod outbox_rows;
pub mod outbox_store;
pub mod receipt_log;
pub mod runtime;
pub mod sealing;
pub mod service_worker;
pub mod session;
pub mod storage;
pub mod transport;
pub mod vault;
pub mod web_lock;
pub mod wipe;
pub mod writes;
