//! Virtual care (seed 000): store-and-forward visits, and session actions under an
//! optimistic lock.

use serde::{Deserialize, Serialize};

/// The largest image one attachment may carry, decoded.
pub const MAX_ATTACHMENT_BYTES: usize = 512 * 1024;
/// Attachments per visit.
pub const MAX_ATTACHMENTS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttachmentIn {
    pub file_name: String,
    /// `image/png` or `image/jpeg`.
    pub content_type: String,
    pub data_base64: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AsyncVisitIn {
    pub client_mutation_id: String,
    pub chief_complaint: String,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentDto {
    pub attachment_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AsyncVisitDto {
    pub async_visit_id: String,
    pub client_mutation_id: String,
    pub chief_complaint: String,
    pub attachments: Vec<AttachmentDto>,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    pub session_id: String,
    /// scheduled → waiting → active → ended | cancelled | failed
    pub status: String,
    pub version: i64,
    pub scheduled_at: String,
    pub patient_id: String,
    pub provider_id: String,
    pub fallback_thread_id: Option<String>,
    /// The patient's display name (for the provider's list).
    #[serde(default)]
    pub patient_name: String,
    /// The provider's display name (for the patient's list).
    #[serde(default)]
    pub provider_name: String,
    /// Where "Join" goes: set only while the session is `waiting` or `active`.
    #[serde(default)]
    pub join_url: Option<String>,
}

/// `cancel`, `end` and `admit` carry the version the client acted on (or `If-Match`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionAction {
    pub version: Option<i64>,
    pub client_mutation_id: Option<String>,
}

/// `reschedule` (providers only): the version the provider saw (or `If-Match`) and the new
/// time. The session stays `scheduled` and its version goes up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RescheduleSession {
    pub version: Option<i64>,
    /// RFC 3339, e.g. `2026-11-24T09:30:00.000Z`.
    pub scheduled_at: String,
    pub client_mutation_id: Option<String>,
}
