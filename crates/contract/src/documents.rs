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
    /// The placeholders the person fills in, in order of first use: the request form's
    /// fields. A render job must carry a value for each.
    pub parameters: Vec<TemplateParameterDto>,
    /// The placeholders the server fills from the caller's record (their name, their last
    /// visit), by name. A render job that sends one of these is refused.
    pub bound: Vec<String>,
}

/// One field of a template's request form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemplateParameterDto {
    /// The key in a render job's `parameters`.
    pub name: String,
    /// What the form shows the person, e.g. "Unfit for work until".
    pub label: String,
    pub input_type: ParameterInput,
}

/// How a person enters a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParameterInput {
    /// Free text, one line, at most [`MAX_TEXT_PARAMETER_CHARS`] characters.
    Text,
    /// A plain calendar date, `YYYY-MM-DD` (what `<input type="date">` gives).
    Date,
}

/// The longest value the server takes for a text parameter, in characters.
pub const MAX_TEXT_PARAMETER_CHARS: usize = 500;

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
