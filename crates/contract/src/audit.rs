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
    /// The event's link in its device's tamper-evident chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<AuditLink>,
}

/// One link of a device's audit chain: HMAC-SHA256, under the key the server issued to this
/// user on this device, over [`mac_input`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditLink {
    pub device_id: String,
    /// 1 for the device's first event, then one more each time.
    pub seq: u64,
    /// The previous link's MAC (hex); the head's before the first event is [`GENESIS`].
    pub prev: String,
    pub mac: String,
}

/// Where a chain acknowledged so far ends: its last sequence and MAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditHead {
    pub seq: u64,
    pub mac: String,
}

/// The `prev` of a chain's first event.
pub const GENESIS: &str = "genesis";

/// The bytes the MAC covers: every field of the event and its place in the chain, each on
/// its own line, so nothing can be moved, dropped, reordered or replayed unnoticed.
pub fn mac_input(event: &AuditEventIn, device_id: &str, seq: u64, prev: &str) -> Vec<u8> {
    let payload = canonical(&event.payload);
    format!(
        "caresync/audit/v1\n{device_id}\n{seq}\n{prev}\n{}\n{}\n{}\n{payload}",
        event.client_mutation_id, event.kind, event.occurred_at
    )
    .into_bytes()
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

/// JSON with every object's keys in sorted order, whatever order the map kept: the device and
/// the server MAC the same bytes even if one of them preserves insertion order.
pub fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    let key = serde_json::Value::String(k.clone()).to_string();
                    format!("{key}:{}", canonical(&map[k]))
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        serde_json::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = serde_json::json!({"b": 1, "a": {"d": [ {"z": 1, "y": 2} ], "c": "x"}});
        assert_eq!(
            canonical(&v),
            r#"{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}"#
        );
    }
}
