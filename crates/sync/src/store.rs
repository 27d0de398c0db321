//! Where the outbox lives. Implementations: [`crate::memory::MemoryOutbox`] here, IndexedDB
//! in the PWA. Every method is one atomic step; none loads the whole queue.

use std::collections::HashSet;

use crate::{
    events::Stats,
    model::{ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation},
};

/// What may be sent now, and when the next lane becomes due.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ready {
    /// Writes that may be sent now, oldest lane first, in lane order.
    pub writes: Vec<Mutation>,
    /// The earliest time a pending lane head that is not due yet becomes due. Only heads
    /// count: a write waiting behind a parked or in-flight head is not a reason to wake up.
    pub next_due: Option<Millis>,
}

/// What the ready rule reads of a queued entry: a store may decide on these alone (the
/// IndexedDB store does, before it decrypts the writes it claims).
pub trait Queued {
    fn seq(&self) -> u64;
    fn is_pending(&self) -> bool;
    fn due_at(&self) -> Millis;
}

impl Queued for Mutation {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn is_pending(&self) -> bool {
        self.state == MutationState::Pending
    }
    fn due_at(&self) -> Millis {
        self.next_attempt_at
    }
}

/// The rule every store applies to lane runs (each the first undecided entries of one lane,
/// in order): a lane is ready when its head is pending and due; its pending run follows the
/// head; lanes whose head is oldest go first; at most `total` in all. Returns the entries
/// that may go now and when the next head not yet due becomes due.
pub fn select_ready<Q: Queued>(
    runs: Vec<Vec<Q>>,
    now: Millis,
    total: usize,
) -> (Vec<Q>, Option<Millis>) {
    let next_due = runs
        .iter()
        .filter_map(|run| run.first())
        .filter(|head| head.is_pending() && head.due_at() > now)
        .map(Queued::due_at)
        .min();
    let mut runs: Vec<Vec<Q>> = runs
        .into_iter()
        .filter(|run| {
            run.first()
                .is_some_and(|head| head.is_pending() && head.due_at() <= now)
        })
        .collect();
    crate::order::by_number(&mut runs, crate::order::Direction::Ascending, |run| {
        run.first().map_or(u64::MAX, Queued::seq)
    });
    let writes = runs
        .into_iter()
        .flat_map(|run| run.into_iter().take_while(Queued::is_pending))
        .take(total)
        .collect();
    (writes, next_due)
}

/// [`select_ready`] over whole writes.
pub fn assemble_ready(runs: Vec<Vec<Mutation>>, now: Millis, total: usize) -> Ready {
    let (writes, next_due) = select_ready(runs, now, total);
    Ready { writes, next_due }
}

#[allow(async_fn_in_trait)]
pub trait OutboxStore {
    type Error: std::error::Error + 'static;
    /// The local record a write changes (a draft, an optimistic message), stored with it.
    type EntityChange;

    /// Commits the entity change and the new outbox entry in one transaction, numbering the
    /// entry after every earlier one.
    async fn append(
        &self,
        new: NewMutation,
        change: Option<Self::EntityChange>,
        now: Millis,
    ) -> Result<Mutation, Self::Error>;

    /// Removes and returns an entry of `lane` with this coalesce key that was never sent.
    async fn take_unsent(&self, lane: &Lane, key: &str) -> Result<Option<Mutation>, Self::Error>;

    async fn get(&self, id: ClientMutationId) -> Result<Option<Mutation>, Self::Error>;

    /// Saves new states for existing entries.
    async fn put(&self, mutations: &[Mutation]) -> Result<(), Self::Error>;

    /// Marks the candidates that are still pending as in flight (one more attempt) and
    /// returns those, in one transaction. A candidate that changed meanwhile (coalesced away
    /// by a newer write, say) is left alone and not sent.
    async fn claim(&self, candidates: &[Mutation]) -> Result<Vec<Mutation>, Self::Error>;

    /// Records each receipt (the entries are `Done`) and reconciles their entities, atomically.
    async fn complete(&self, mutations: &[Mutation]) -> Result<(), Self::Error>;

    /// Records deliveries, then claims what is ready (as [`OutboxStore::ready`] and
    /// [`OutboxStore::settle`] would, in that order); a store may do all of it in one
    /// transaction, reading each entry once.
    async fn claim_ready(
        &self,
        delivered: &[Mutation],
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, Self::Error> {
        self.complete(delivered).await?;
        let ready = self.ready(now, per_lane, total, exclude).await?;
        let writes = self.claim(&ready.writes).await?;
        Ok(Ready {
            writes,
            next_due: ready.next_due,
        })
    }

    /// Deletes the entry and the optimistic entity it created (user chose "Discard").
    async fn remove(&self, id: ClientMutationId) -> Result<(), Self::Error>;

    /// For each lane whose head is pending and due at `now` and not in `exclude`: up to
    /// `per_lane` consecutive pending entries from the head; `total` at most overall.
    async fn ready(
        &self,
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, Self::Error>;

    /// Crash recovery: entries left `in_flight` go back to `pending`. Returns how many.
    async fn reset_in_flight(&self) -> Result<usize, Self::Error>;

    /// Entries waiting for the user (parked or in conflict), oldest first.
    async fn blocked(&self) -> Result<Vec<Mutation>, Self::Error>;

    async fn stats(&self) -> Result<Stats, Self::Error>;

    /// Drops history no rule needs (the oldest receipts), so the store does not grow with
    /// every write ever sent. Called when an engine opens; the default keeps everything.
    async fn compact(&self) -> Result<(), Self::Error> {
        Ok(())
    }
}
