//! Thin adapters over web platform APIs; the decisions live in `caresync-sync`.

pub mod online;
pub mod service_worker;
pub mod store;
