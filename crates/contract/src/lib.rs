//! The wire format shared by the PWA and the reference server: paths, DTOs, error bodies.
//!
//! One source of truth, so the client and the server cannot drift apart on a field name.

pub mod audit;
pub mod auth;
pub mod comms;
pub mod documents;
pub mod error;
pub mod facility;
pub mod paths;
pub mod sync;
pub mod virtual_care;

pub use error::{ApiError, ErrorCode};
