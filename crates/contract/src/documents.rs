//! Document service (seed 002): templates, async render jobs, signed artifact links.

use serde::{Deserialize, Serialize};

/// How long a signed artifact link stays valid, in seconds.
pub const ARTIFACT_URL_TTL_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemplateDto {
    pub template_id: String,
    pub name: String,
    pub version: i64,
    /// The `{{name}}` placeholders the template fills from a job's parameters.
    pub parameters: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RenderJobIn {
    pub client_mutation_id: String,
    pub template_id: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub parameters: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RenderJobDto {
    pub render_job_id: String,
    pub client_mutation_id: String,
    pub template_id: String,
    pub template_version: i64,
    /// `queued` → `done` (or `failed`).
    pub status: String,
    pub created_at: String,
    pub completed_at: Option<String>,
    pub artifact_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLinkDto {
    pub artifact_id: String,
    /// Same-origin, signed and expiring; carries no PHI, only ids and the signature.
    pub url: String,
    pub expires_at: String,
}
