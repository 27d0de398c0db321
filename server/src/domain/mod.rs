//! The services' rules: each module owns one service's reads and writes and their SQL through
//! the db layer. They take typed inputs (contract DTOs, the [`Caller`](crate::auth::Caller))
//! and answer typed DTOs or a [`DomainError`]; status codes and JSON bodies are the HTTP
//! edge's business (`crate::http`), so nothing here imports axum.

pub mod audit;
pub mod audit_chain;
pub mod comms;
pub mod dedupe;
pub mod device_policy;
pub mod document_binding;
pub mod documents;
pub mod error;
pub mod facility;
pub mod live;
pub mod registry;
pub mod reviews;
pub mod sessions;
pub mod virtual_care;

pub use error::DomainError;
