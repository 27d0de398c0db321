//! The REST paths of the platform APIs, as the seeds name them.

pub const HEALTHZ: &str = "/healthz";
