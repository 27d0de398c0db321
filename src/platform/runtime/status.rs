//! What the UI sees of a runtime: its figures, its events and its reach, as signals.

use caresync_sync::{Event, Millis, Mutation};
use leptos::prelude::*;

use super::{BackgroundReport, Reach};

/// What the status line and the Sync page show; updated after every local change.
#[derive(Clone, Copy)]
pub struct SyncStatus {
    /// Writes not yet decided by the server.
    pub waiting: RwSignal<usize>,
    /// Of those, the ones made on the user's behalf (read receipts).
    pub housekeeping: RwSignal<usize>,
    /// False until the outbox has been read once: before that, "nothing waiting" is unknown.
    pub known: RwSignal<bool>,
    /// Parked and conflicting writes, waiting for the user.
    pub blocked: RwSignal<Vec<Mutation>>,
    pub last_sync: RwSignal<Option<Millis>>,
    pub syncing: RwSignal<bool>,
    /// Bumped whenever local data changed, in this tab or another: views re-read.
    pub revision: RwSignal<u64>,
    /// The engine's latest events in this tab (delivered, parked, conflict...), newest last.
    pub events: RwSignal<Vec<Event>>,
    /// What the last exchange said about reaching the server.
    pub reach: RwSignal<Reach>,
    /// The server refused the session: nothing is sent until the user signs in again.
    pub sign_in: RwSignal<bool>,
    /// When the replay timer fires next, if it is set.
    pub next_attempt: RwSignal<Option<Millis>>,
    /// What the service worker last delivered while the app was closed.
    pub background: RwSignal<Option<BackgroundReport>>,
}

impl SyncStatus {
    /// Waiting writes the user would call their own changes.
    pub fn changes_waiting(&self) -> usize {
        self.waiting.get().saturating_sub(self.housekeeping.get())
    }

    pub(super) fn new() -> Self {
        SyncStatus {
            waiting: RwSignal::new(0),
            housekeeping: RwSignal::new(0),
            known: RwSignal::new(false),
            blocked: RwSignal::new(Vec::new()),
            last_sync: RwSignal::new(None),
            syncing: RwSignal::new(false),
            revision: RwSignal::new(0),
            events: RwSignal::new(Vec::new()),
            reach: RwSignal::new(Reach::Unknown),
            sign_in: RwSignal::new(false),
            next_attempt: RwSignal::new(None),
            background: RwSignal::new(None),
        }
    }
}

/// Whether the connection the screen shows is out of date.
pub(super) fn reach_changed(shown: Reach, now: Reach) -> bool {
    let at = |r: Reach| match r {
        Reach::Answered(at) | Reach::TimedOut(at) | Reach::Failed(at) => Some(at),
        Reach::Troubled { at, .. } => Some(at),
        Reach::Unknown | Reach::Offline => None,
    };
    let same_kind = std::mem::discriminant(&shown) == std::mem::discriminant(&now)
        && !matches!((shown, now), (Reach::Troubled { status: a, .. }, Reach::Troubled { status: b, .. }) if a != b);
    match (same_kind, at(shown), at(now)) {
        (false, _, _) => true,
        (true, Some(before), Some(after)) => after.saturating_sub(before) >= 1_000,
        (true, _, _) => false,
    }
}
