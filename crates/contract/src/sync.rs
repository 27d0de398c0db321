//! The dedicated sync endpoint: many queued writes in one request, each answered on its own.

use serde::{Deserialize, Serialize};

/// The most mutations one push may carry.
pub const MAX_BATCH: usize = 500;

/// The status of a mutation not applied because an earlier one of its lane failed.
pub const SKIPPED_STATUS: u16 = 424;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncMutation {
    pub client_mutation_id: String,
    pub lane: String,
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPushRequest {
    pub mutations: Vec<SyncMutation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    pub client_mutation_id: String,
    pub status: u16,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncPushResponse {
    pub results: Vec<SyncResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncCapabilities {
    pub batch: bool,
    pub max_batch: usize,
    pub push_path: String,
}
