//! Per-aggregate sync policy, as the seeds set it.

use crate::model::AggregateKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Retry until the server decides; duplicates are deduplicated by `clientMutationId`.
    AppendOnly,
    /// Last writer wins: unsent writes with the same key coalesce to the latest.
    Lww,
    /// Last writer wins with a version check: a stale version is refetched and reapplied.
    LwwVersion,
    /// The server is the only writer: never queued, the action needs a connection.
    ServerAuthoritative,
}

impl Policy {
    pub fn for_kind(kind: AggregateKind) -> Policy {
        use AggregateKind::*;
        match kind {
            Message | AsyncVisit | RenderJob | AuditEvent => Policy::AppendOnly,
            ReadReceipt | BedStatus => Policy::Lww,
            VirtualSession => Policy::LwwVersion,
            MessageThread | Template | FacilityRegistry => Policy::ServerAuthoritative,
        }
    }

    pub fn can_queue(self) -> bool {
        self != Policy::ServerAuthoritative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_tables_map_to_policies() {
        assert_eq!(Policy::for_kind(AggregateKind::Message), Policy::AppendOnly);
        assert_eq!(Policy::for_kind(AggregateKind::ReadReceipt), Policy::Lww);
        assert_eq!(
            Policy::for_kind(AggregateKind::VirtualSession),
            Policy::LwwVersion
        );
        assert!(!Policy::for_kind(AggregateKind::MessageThread).can_queue());
        assert!(Policy::for_kind(AggregateKind::BedStatus).can_queue());
    }
}
