//! An in-memory [`OutboxStore`] for native tests and the deterministic simulation.

use std::{
    cell::RefCell,
    collections::{BTreeMap, HashMap, HashSet},
    convert::Infallible,
};

use crate::{
    events::Stats,
    model::{ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation},
    store::{assemble_ready, OutboxStore, Ready},
};

#[derive(Default)]
struct Inner {
    entries: HashMap<ClientMutationId, Mutation>,
    /// Undecided entries (not done) per lane, by sequence.
    lanes: BTreeMap<Lane, BTreeMap<u64, ClientMutationId>>,
    /// The entity each write created, keyed by its mutation (e.g. an optimistic message).
    entities: HashMap<ClientMutationId, serde_json::Value>,
    next_seq: u64,
}

/// Survives a simulated crash: the simulation drops the [`crate::Outbox`] and reopens this.
#[derive(Default)]
pub struct MemoryOutbox {
    inner: RefCell<Inner>,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn all(&self) -> Vec<Mutation> {
        let mut all: Vec<Mutation> = self.inner.borrow().entries.values().cloned().collect();
        all.sort_by_key(|m| m.seq);
        all
    }

    pub fn entity(&self, id: ClientMutationId) -> Option<serde_json::Value> {
        self.inner.borrow().entities.get(&id).cloned()
    }

    fn complete_one(&self, mutation: &Mutation) {
        let mut inner = self.inner.borrow_mut();
        if let Some(seqs) = inner.lanes.get_mut(&mutation.lane) {
            seqs.remove(&mutation.seq);
        }
        if let (MutationState::Done { receipt }, Some(entity)) =
            (&mutation.state, inner.entities.get_mut(&mutation.id))
        {
            receipt.reconcile(entity);
        }
        inner.entries.insert(mutation.id, mutation.clone());
    }
}

impl OutboxStore for MemoryOutbox {
    type Error = Infallible;
    type EntityChange = serde_json::Value;

    async fn append(
        &self,
        new: NewMutation,
        change: Option<serde_json::Value>,
        now: Millis,
    ) -> Result<Mutation, Infallible> {
        let mut inner = self.inner.borrow_mut();
        inner.next_seq += 1;
        let mut m = Mutation::from_new(new, inner.next_seq, now);
        m.entity_key = change.as_ref().map(|_| m.id.to_string());
        inner
            .lanes
            .entry(m.lane.clone())
            .or_default()
            .insert(m.seq, m.id);
        if let Some(entity) = change {
            inner.entities.insert(m.id, entity);
        }
        inner.entries.insert(m.id, m.clone());
        Ok(m)
    }

    async fn take_unsent(&self, lane: &Lane, key: &str) -> Result<Option<Mutation>, Infallible> {
        let mut inner = self.inner.borrow_mut();
        let found = inner.lanes.get(lane).and_then(|seqs| {
            seqs.values()
                .copied()
                .find(|id| inner.entries.get(id).is_some_and(|m| m.may_coalesce(key)))
        });
        let Some(id) = found else { return Ok(None) };
        let m = inner.entries.remove(&id);
        if let Some(m) = &m {
            if let Some(seqs) = inner.lanes.get_mut(lane) {
                seqs.remove(&m.seq);
            }
            inner.entities.remove(&id);
        }
        Ok(m)
    }

    async fn get(&self, id: ClientMutationId) -> Result<Option<Mutation>, Infallible> {
        Ok(self.inner.borrow().entries.get(&id).cloned())
    }

    async fn put(&self, mutations: &[Mutation]) -> Result<(), Infallible> {
        let mut inner = self.inner.borrow_mut();
        for m in mutations {
            if inner.entries.contains_key(&m.id) {
                inner.entries.insert(m.id, m.clone());
            }
        }
        Ok(())
    }

    async fn claim(&self, candidates: &[Mutation]) -> Result<Vec<Mutation>, Infallible> {
        let mut inner = self.inner.borrow_mut();
        let mut claimed = Vec::with_capacity(candidates.len());
        for c in candidates {
            if let Some(m) = inner.entries.get_mut(&c.id) {
                if m.state == MutationState::Pending {
                    m.state = MutationState::InFlight;
                    m.attempts += 1;
                    claimed.push(m.clone());
                }
            }
        }
        Ok(claimed)
    }

    async fn complete(&self, mutations: &[Mutation]) -> Result<(), Infallible> {
        for m in mutations {
            self.complete_one(m);
        }
        Ok(())
    }

    async fn remove(&self, id: ClientMutationId) -> Result<(), Infallible> {
        let mut inner = self.inner.borrow_mut();
        if let Some(m) = inner.entries.remove(&id) {
            if let Some(seqs) = inner.lanes.get_mut(&m.lane) {
                seqs.remove(&m.seq);
            }
        }
        inner.entities.remove(&id);
        Ok(())
    }

    async fn ready(
        &self,
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, Infallible> {
        let inner = self.inner.borrow();
        let runs = inner
            .lanes
            .iter()
            .filter(|(lane, _)| !exclude.contains(*lane))
            .map(|(_, seqs)| {
                seqs.values()
                    .take(per_lane.max(1))
                    .filter_map(|id| inner.entries.get(id).cloned())
                    .collect()
            })
            .collect();
        Ok(assemble_ready(runs, now, total))
    }

    async fn reset_in_flight(&self) -> Result<usize, Infallible> {
        let mut inner = self.inner.borrow_mut();
        let mut n = 0;
        for m in inner.entries.values_mut() {
            if m.state == MutationState::InFlight {
                m.state = MutationState::Pending;
                n += 1;
            }
        }
        Ok(n)
    }

    async fn blocked(&self) -> Result<Vec<Mutation>, Infallible> {
        let mut out: Vec<Mutation> = self
            .inner
            .borrow()
            .entries
            .values()
            .filter(|m| m.state.is_blocking())
            .cloned()
            .collect();
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    async fn stats(&self) -> Result<Stats, Infallible> {
        let inner = self.inner.borrow();
        let mut s = Stats::default();
        for m in inner.entries.values() {
            if m.kind.is_housekeeping() && m.state.is_waiting() {
                s.housekeeping += 1;
            }
            match &m.state {
                MutationState::Pending => {
                    s.pending += 1;
                    s.oldest_pending_created_at = Some(
                        s.oldest_pending_created_at
                            .map_or(m.created_at, |t| t.min(m.created_at)),
                    );
                    s.next_attempt_at = Some(
                        s.next_attempt_at
                            .map_or(m.next_attempt_at, |t| t.min(m.next_attempt_at)),
                    );
                }
                MutationState::InFlight => s.in_flight += 1,
                MutationState::Done { .. } => s.done += 1,
                MutationState::Parked { .. } => s.parked += 1,
                MutationState::Conflict { .. } => s.conflict += 1,
            }
        }
        Ok(s)
    }
}
