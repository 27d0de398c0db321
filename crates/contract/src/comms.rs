//! Communication service: threads, messages, read receipts (seed 004).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    Open,
    Archived,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ThreadDto {
    pub thread_id: String,
    pub subject: String,
    pub status: ThreadStatus,
    pub updated_at: String,
    pub last_message_at: Option<String>,
    pub unread_count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageDto {
    pub message_id: String,
    pub thread_id: String,
    pub sender_id: String,
    pub sender_name: String,
    pub body: String,
    pub sent_at: String,
    pub client_mutation_id: Option<String>,
    pub client_sent_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostMessage {
    pub client_mutation_id: String,
    pub body: String,
    /// Informational only: the server assigns `sentAt`.
    pub client_sent_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadRequest {
    pub message_ids: Vec<String>,
    pub read_at: String,
    pub client_mutation_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReadReceiptDto {
    pub message_id: String,
    pub user_id: String,
    pub read_at: String,
}

/// The longest message body the server accepts, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
