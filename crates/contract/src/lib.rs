//! The wire format shared by the PWA and the reference server: paths, error bodies and codes.
//!
//! One source of truth, so the client and the server cannot drift apart on a field name.

pub mod error;
pub mod paths;

pub use error::{ApiError, ErrorCode};
