//! Sign-in and token refresh.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    pub tenant_id: String,
    pub username: String,
    pub password: String,
    /// This device's id (random, kept by the browser profile). With it, the answer carries
    /// the device's key share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// The longest device id the server accepts (a UUID is 36).
pub const DEVICE_ID_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub user_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub role: Role,
    /// For a sign-in with a `deviceId`: 32 random bytes (hex) the server made for this user
    /// on this device and keeps. The app wraps its local data key under them too, so a
    /// password changed on another device does not strand what this device holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key_share: Option<String>,
    /// For a sign-in with a `deviceId`: the credential that pushes this user's sealed writes
    /// from this device, and nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_credential: Option<ReplayCredential>,
    /// For a sign-in with a `deviceId`: this user's audit-chain key on this device (32 bytes,
    /// hex), for HMAC-SHA256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<String>,
    /// The last link of that chain the server acknowledged; the next event continues it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::audit::AuditHead>,
}

/// Good only for `POST /api/v1/sync/sealed` with envelopes of its user and tenant, from its
/// device; expires, and is revoked by "sign out everywhere" or the revoke route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReplayCredential {
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// How long a replay credential lives.
pub const REPLAY_CREDENTIAL_DAYS: i64 = 7;

/// Whether a tenant lets the user choose, or decides for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    Personal,
    Shared,
    Either,
}

/// `GET /api/v1/config?tenantId=`: a tenant's device policy (no PHI; public).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeviceConfig {
    pub tenant_id: String,
    pub device_class: DeviceClass,
    /// A shared device locks after this long with no input.
    pub idle_lock_seconds: u64,
    /// How long a rendered document may stay in the device's encrypted cache, to open and
    /// print offline, before it must be fetched again. Defaulted when absent, so a config
    /// kept from an older server still reads.
    #[serde(default = "default_document_cache_ttl")]
    pub document_cache_ttl_seconds: u64,
}

/// The document cache lifetime when nothing says otherwise: seven days.
pub const DEFAULT_DOCUMENT_CACHE_TTL_SECONDS: u64 = 7 * 24 * 3600;

fn default_document_cache_ttl() -> u64 {
    DEFAULT_DOCUMENT_CACHE_TTL_SECONDS
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Patient,
    WardStaff,
    Provider,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::WardStaff => "ward_staff",
            Role::Provider => "provider",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "patient" => Some(Role::Patient),
            "ward_staff" => Some(Role::WardStaff),
            "provider" => Some(Role::Provider),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_kept_from_before_the_document_cache_lifetime_still_reads() {
        let kept = r#"{"tenantId":"t","deviceClass":"shared","idleLockSeconds":60}"#;
        let config: DeviceConfig = serde_json::from_str(kept).expect("reads");
        assert_eq!(config.document_cache_ttl_seconds, 604_800);
        let wire = serde_json::to_value(&config).expect("serialises");
        assert_eq!(wire["documentCacheTtlSeconds"], 604_800);
    }
}
