//! Audit events: append-only, deduplicated by clientMutationId.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditEventIn {
    pub client_mutation_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    pub payload: serde_json::Value,
    /// The client's integrity seal over its offline buffer (HMAC chain), kept as sent.
    #[serde(default)]
    pub integrity: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEventDto {
    pub audit_event_id: String,
    pub client_mutation_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    pub recorded_at: String,
    pub payload: serde_json::Value,
}
