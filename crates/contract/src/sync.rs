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
    /// The key sealed writes are sealed to (absent from servers that take none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing: Option<SealingKey>,
}

/// The server's current public key for sealed writes (HPKE, RFC 9180).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SealingKey {
    pub key_id: String,
    /// The HPKE suite, e.g. `DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/ChaCha20Poly1305`.
    pub suite: String,
    /// The public key, hex.
    pub public_key: String,
}

/// `POST /api/v1/sync/sealed` (under `Authorization: Replay <token>`): one sealed write.
/// Inside, after opening, is a [`SealedWrite`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedEnvelope {
    pub key_id: String,
    /// The HPKE encapsulated key, hex.
    pub enc: String,
    /// The ciphertext and tag, hex.
    pub ciphertext: String,
}

/// What a sealed envelope holds: the write, its author and their tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedWrite {
    pub tenant_id: String,
    pub actor_id: String,
    pub client_mutation_id: String,
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}
