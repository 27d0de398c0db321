//! The REST paths of the platform APIs, as the seeds name them.

pub const HEALTHZ: &str = "/healthz";
pub const LOGIN: &str = "/api/v1/auth/login";
pub const REFRESH: &str = "/api/v1/auth/refresh";
/// Revokes the family of the refresh token in the body.
pub const LOGOUT: &str = "/api/v1/auth/logout";
/// Revokes every refresh-token family of the bearer: "sign out everywhere".
pub const SESSIONS_REVOKE: &str = "/api/v1/auth/sessions/revoke";
pub const THREADS: &str = "/api/v1/threads";
pub const READ: &str = "/api/v1/read";
pub const SYNC_PUSH: &str = "/api/v1/sync/push";
pub const SYNC_CAPABILITIES: &str = "/api/v1/sync/capabilities";
/// One sealed write, under a replay credential.
pub const SYNC_SEALED: &str = "/api/v1/sync/sealed";
/// A tenant's device policy (`?tenantId=`).
pub const CONFIG: &str = "/api/v1/config";
/// Revokes the caller's replay credentials (all devices, or `{deviceId}`).
pub const REPLAY_REVOKE: &str = "/api/v1/auth/replay-credentials/revoke";

pub fn thread_messages(thread_id: &str) -> String {
    format!("/api/v1/threads/{thread_id}/messages")
}

pub fn thread_reopen(thread_id: &str) -> String {
    format!("/api/v1/threads/{thread_id}/reopen")
}

pub const AUDIT_EVENTS: &str = "/api/v1/audit-events";
pub const EDGE_SNAPSHOT: &str = "/internal/edge/snapshot";
/// Held bed writes of a node and its subtree (`?nodeId=`).
pub const EDGE_REVIEWS: &str = "/internal/edge/reviews";
/// Live bed changes of a node and its subtree, as Server-Sent Events (`?nodeId=&ticket=`).
pub const EDGE_STREAM: &str = "/internal/edge/stream";
pub const EDGE_STREAM_TICKET: &str = "/internal/edge/stream-ticket";

pub fn edge_review_accept(review_id: &str) -> String {
    format!("/internal/edge/reviews/{review_id}/accept")
}

pub fn edge_review_reject(review_id: &str) -> String {
    format!("/internal/edge/reviews/{review_id}/reject")
}

pub fn bed_status(bed_id: &str) -> String {
    format!("/api/v1/facility/beds/{bed_id}/status")
}

pub fn bed_housekeeping(bed_id: &str) -> String {
    format!("/api/v1/facility/beds/{bed_id}/housekeeping-status")
}

pub const ASYNC_VISITS: &str = "/api/v1/virtual-care/async-visits";

/// `cancel`, `end`, `admit` or `reschedule` of one virtual-care session.
pub fn session_action(session_id: &str, action: &str) -> String {
    format!("/api/v1/virtual-care/sessions/{session_id}/{action}")
}

pub const RENDER_JOBS: &str = "/v1/documents/render-jobs";
