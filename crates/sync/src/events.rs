//! What the engine tells the UI: a stream of events and a snapshot of the queue.

use crate::model::{ClientMutationId, Lane, Millis, ParkReason, Receipt};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Enqueued {
        id: ClientMutationId,
        lane: Lane,
    },
    /// An unsent last-writer-wins write was replaced by a newer one with the same key.
    Coalesced {
        replaced: ClientMutationId,
        by: ClientMutationId,
    },
    Delivered {
        id: ClientMutationId,
        receipt: Receipt,
    },
    RetryScheduled {
        id: ClientMutationId,
        at: Millis,
        attempts: u32,
    },
    Parked {
        id: ClientMutationId,
        reason: ParkReason,
    },
    /// A version-checked write was reapplied on the server's current version.
    Reapplied {
        id: ClientMutationId,
        version: i64,
    },
    /// A version-checked write no longer applies; it waits, visible, for the user.
    Conflict {
        id: ClientMutationId,
        /// What the aggregate is now, in the server's word (`"ended"`), if it said.
        status: Option<String>,
    },
    Discarded {
        id: ClientMutationId,
    },
    AuthRequired,
    SignInRequired,
}

/// Queue length per state and the figures a status line needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub pending: usize,
    pub in_flight: usize,
    pub parked: usize,
    pub conflict: usize,
    pub done: usize,
    pub oldest_pending_created_at: Option<Millis>,
    /// The earliest time a waiting write becomes due (for the backoff timer).
    pub next_attempt_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    /// Of the waiting writes, those the app made on the user's behalf (read receipts).
    pub housekeeping: usize,
}

impl Stats {
    /// Writes not yet decided by the server.
    pub fn waiting(&self) -> usize {
        self.pending + self.in_flight
    }

    /// Waiting writes the user would call their own changes.
    pub fn changes_waiting(&self) -> usize {
        self.waiting().saturating_sub(self.housekeeping)
    }

    pub fn oldest_pending_age(&self, now: Millis) -> Option<Millis> {
        self.oldest_pending_created_at
            .map(|t| now.saturating_sub(t))
    }
}
