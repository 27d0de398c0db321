//! Facility service (seed 003): the edge snapshot and last-writer-wins bed status.

use serde::{Deserialize, Serialize};

/// How long an edge snapshot is good for, in seconds.
pub const SNAPSHOT_TTL_SECONDS: u64 = 300;
/// A bed write older than this (by `updatedAt`) is not applied but held for manual review.
pub const BED_WINDOW_SECONDS: i64 = 3600;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeDto {
    pub node_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LocationDto {
    pub location_id: String,
    pub node_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BedDto {
    pub bed_id: String,
    pub location_id: String,
    pub label: String,
    pub status: String,
    pub status_updated_at: String,
    pub housekeeping_status: String,
    pub housekeeping_updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    pub user_id: String,
    pub node_id: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SnapshotDto {
    pub node_id: String,
    pub generated_at: String,
    pub ttl_seconds: u64,
    /// The last bed change this snapshot includes: open the live stream with
    /// `lastEventId=` this to miss nothing in between. Absent from older servers.
    #[serde(default)]
    pub change_seq: i64,
    pub nodes: Vec<NodeDto>,
    pub locations: Vec<LocationDto>,
    pub beds: Vec<BedDto>,
    pub memberships: Vec<MembershipDto>,
}

/// A bed write from an edge device. `nodeId` and `locationId` are where the device's registry
/// put the bed; when given, the server checks them too and answers `409 STALE_REFERENCE` if
/// either no longer exists or no longer holds the bed (Fac §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BedStatusWrite {
    pub status: String,
    pub updated_at: String,
    pub client_mutation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_id: Option<String>,
}

/// A bed field written last-writer-wins, by its name in [`BedDto`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum BedField {
    Status,
    HousekeepingStatus,
}

impl BedField {
    pub fn as_str(self) -> &'static str {
        match self {
            BedField::Status => "status",
            BedField::HousekeepingStatus => "housekeepingStatus",
        }
    }
}

/// The `reference` of a `409 STALE_REFERENCE`: which id of the write the registry no longer
/// backs. The body also carries that id under its own name (`bedId`, `locationId`, `nodeId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum StaleReference {
    BedId,
    LocationId,
    NodeId,
}

/// Why a reference is stale: it is gone, or it no longer holds the bed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    Gone,
    DoesNotContainBed,
}

/// What happened to a bed write: the bed's winning state and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BedWriteResult {
    /// `applied`, `superseded` (a newer write had already won) or `manual_review`.
    pub outcome: String,
    pub message: String,
    pub bed: BedDto,
}

/// A bed write held for manual review (stamped more than [`BED_WINDOW_SECONDS`] before it
/// arrived), with the field as it stands now, for the reviewer to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BedReviewDto {
    pub review_id: String,
    pub bed_id: String,
    pub bed_label: String,
    pub location_id: String,
    pub node_id: String,
    pub field: BedField,
    /// The value the held write sets.
    pub value: String,
    /// When the change was made on the device (its `updatedAt`).
    pub updated_at: String,
    pub current_value: String,
    pub current_updated_at: String,
    pub submitted_by: String,
    pub submitted_by_name: String,
    /// When the server received and held the write.
    pub received_at: String,
}

/// The body of an accept or reject: nothing is needed (the review id is in the path and a
/// decision is idempotent by it); a queued one may carry its clientMutationId.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewDecisionIn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_mutation_id: Option<String>,
}

/// How a review was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Applied: it was still the latest change to its field.
    Accepted,
    /// Accepted, but a newer change to the field had already won: closed, not applied.
    Superseded,
    Rejected,
}

/// The answer to an accept or reject: how the review is closed (a review closed before says
/// so, whatever this request asked) and the bed as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewDecisionResult {
    pub review_id: String,
    pub decision: ReviewDecision,
    pub message: String,
    pub decided_by: String,
    pub decided_at: String,
    pub bed: BedDto,
}

/// How long a stream ticket may wait to be used, in seconds.
pub const STREAM_TICKET_SECONDS: i64 = 60;
/// The live stream sends a comment at least this often, so proxies keep it open.
pub const STREAM_KEEP_ALIVE_SECONDS: u64 = 15;

/// `POST /internal/edge/stream-ticket`: opens one live stream (`?ticket=`), once, within
/// [`STREAM_TICKET_SECONDS`]. A browser's EventSource cannot send an Authorization header,
/// and an access token must never be put in a URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamTicket {
    pub ticket: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// `event: bed`: one committed change to one bed field. Its `id:` line is `seq`, the change
/// sequence (increasing, never reused), which `Last-Event-ID` or `?lastEventId=` resumes after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BedChangeEvent {
    pub seq: i64,
    pub bed_id: String,
    pub node_id: String,
    pub location_id: String,
    pub field: BedField,
    pub value: String,
    pub updated_at: String,
    /// The whole bed right after this change.
    pub bed: BedDto,
}

/// `event: ready` (first on every stream) and `event: reset`: where the stream starts. After
/// a reset the gap since the client's last event cannot be replayed: pull the snapshot again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamMark {
    pub node_id: String,
    /// The last change sequence before the events that follow (also the event's `id:`).
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
