//! The outbox on IndexedDB. A write and its entity change commit in one transaction with
//! `durability: "strict"`; replay reads lane heads through indexes, never the whole queue.
//! Every write and entity is sealed by the [`Vault`] (see `outbox_rows` for the row).

use std::{
    cell::{Cell, RefCell},
    collections::{BTreeSet, HashSet},
    rc::Rc,
};

use caresync_sync::order::{by_number, Direction};
use caresync_sync::{
    store::select_ready, ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation,
    OutboxStore, Ready, Stats,
};
use indexed_db_futures::{
    database::Database,
    object_store::ObjectStore,
    prelude::*,
    transaction::{TransactionDurability, TransactionMode, TransactionOptions},
    KeyRange,
};
use wasm_bindgen::JsValue;

use super::{
    idb::{
        StoreError, BY_LANE, BY_LANE_SEQ, BY_STATE_CREATED, BY_STATE_DUE, ENTITIES, META, OUTBOX,
        RECEIPTS,
    },
    outbox_rows::{lane_runs, prefix, rows, Row},
    receipt_log,
    vault::Vault,
};

/// The local record a write creates or changes, stored under `key` in the entities store.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityChange {
    pub key: String,
    pub value: serde_json::Value,
}

#[derive(Clone)]
pub struct IdbOutbox {
    vault: Vault,
    /// The highest sequence this tab has written; read from disk by its first commit.
    last_seq: Rc<Cell<Option<u64>>>,
    /// The lanes with undecided entries, as far as this tab knows: a claim then reads their
    /// runs without walking the lane index first. `None` until the first walk.
    pub(super) lanes: Rc<RefCell<Option<BTreeSet<String>>>>,
}

pub(super) fn strict() -> TransactionOptions {
    let mut opts = TransactionOptions::new();
    opts.set_durability(TransactionDurability::Strict);
    opts
}

impl IdbOutbox {
    pub fn new(vault: Vault) -> Self {
        IdbOutbox {
            vault,
            last_seq: Rc::new(Cell::new(None)),
            lanes: Rc::new(RefCell::new(None)),
        }
    }

    pub fn database(&self) -> &Database {
        self.vault.database()
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Another tab may have opened lanes: the next claim walks the lane index again.
    pub fn forget_lanes(&self) {
        self.lanes.borrow_mut().take();
    }

    pub(super) fn note_lane(&self, lane: &Lane) {
        if let Some(lanes) = self.lanes.borrow_mut().as_mut() {
            lanes.insert(lane.as_str().to_owned());
        }
    }

    /// Records deliveries and claims candidates, in one transaction.
    async fn settle(
        &self,
        done: &[Mutation],
        next: &[Mutation],
    ) -> Result<Vec<Mutation>, StoreError> {
        if done.is_empty() && next.is_empty() {
            return Ok(Vec::new());
        }
        let deliveries = receipt_log::prepare(&self.vault, done).await?;
        // Relaxed durability on purpose: a completion or claim lost to a power cut leaves the
        // write pending, and its replay is answered from the server's dedupe table.
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES, RECEIPTS, META])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        // The claim reads go out first, so they overlap the completion writes.
        let mut reads = Vec::with_capacity(next.len());
        for c in next {
            reads.push(outbox.get::<JsValue, _, _>(c.id.to_string()).primitive()?);
        }
        receipt_log::record(&tx, &outbox, &deliveries).await?;
        let mut claimed = Vec::new();
        for (candidate, read) in next.iter().zip(reads) {
            let Some(found) = read.await? else { continue };
            // Only a write still pending is sent: one coalesced away meanwhile is not. Only
            // the clear state changes; a pending write's content changes only here, so the
            // candidate the caller holds is current and need not be opened again.
            let mut row = Row::from_js(found)?;
            if !row.is(MutationState::PENDING) {
                continue;
            }
            row.claim();
            outbox.put(row.to_js()?).primitive()?;
            let mut m = candidate.clone();
            m.state = MutationState::InFlight;
            m.attempts += 1;
            claimed.push(m);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// The next lane sequence. It must grow across tabs sharing this database without a read
    /// in the commit path, so it follows the clock (ms scaled by 1000, plus this tab's count)
    /// and never falls below what this tab has already used.
    pub(super) fn next_seq(&self, stored: u64, now: Millis) -> u64 {
        let last = self.last_seq.get().unwrap_or(stored).max(stored);
        let seq = (last + 1).max(now.saturating_mul(1000));
        self.last_seq.set(Some(seq));
        seq
    }

    /// The stored high-water mark, read only by this tab's first commit.
    pub(super) async fn stored_seq(&self, meta: &ObjectStore<'_>) -> Result<u64, StoreError> {
        if self.last_seq.get().is_some() {
            return Ok(0);
        }
        let last: Option<JsValue> = meta.get("seq").primitive()?.await?;
        Ok(last.and_then(|v| v.as_f64()).unwrap_or(0.0) as u64)
    }

    /// Undecided entries of one lane, in order.
    pub async fn lane(&self, lane: &str) -> Result<Vec<Mutation>, StoreError> {
        let tx = self.database().transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        let index = store.index(BY_LANE_SEQ)?;
        let found = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(lane))
            .primitive()?
            .await?;
        Row::open_all(&rows(found)?, &self.vault, OUTBOX).await
    }

    /// An entity by key (an optimistic message, a draft).
    pub async fn entity(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let tx = self.database().transaction(ENTITIES).build()?;
        let found: Option<JsValue> = tx
            .object_store(ENTITIES)?
            .get(key.to_owned())
            .primitive()?
            .await?;
        match found {
            Some(value) => Ok(Some(self.vault.open_value(ENTITIES, key, &value).await?)),
            None => Ok(None),
        }
    }

    /// The rows in one state, oldest first, unopened.
    async fn rows_in(&self, state: &str) -> Result<Vec<Row>, StoreError> {
        let tx = self.database().transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        let index = store.index(BY_STATE_CREATED)?;
        let found = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(state))
            .primitive()?
            .await?;
        rows(found)
    }

    async fn by_state(&self, state: &str) -> Result<Vec<Mutation>, StoreError> {
        Row::open_all(&self.rows_in(state).await?, &self.vault, OUTBOX).await
    }

    /// Removes a write from this outbox and nothing else: its optimistic record stays on
    /// screen (a hand-over to the sealed outbox, which sends it under the same id).
    pub async fn forget(&self, id: ClientMutationId) -> Result<(), StoreError> {
        let tx = self
            .database()
            .transaction(OUTBOX)
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        tx.object_store(OUTBOX)?
            .delete(id.to_string())
            .primitive()?;
        tx.commit().await?;
        Ok(())
    }

    /// Every write the server has not decided yet, opened, in no particular order.
    pub async fn undecided(&self) -> Result<Vec<Mutation>, StoreError> {
        let mut all = Vec::new();
        for state in MutationState::UNDECIDED {
            all.extend(self.by_state(state).await?);
        }
        Ok(all)
    }

    /// The first pending entry of an index ordered by (state, some time).
    async fn first_pending(
        store: &ObjectStore<'_>,
        index: &str,
    ) -> Result<Option<Row>, StoreError> {
        let found = store
            .index(index)?
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(MutationState::PENDING))
            .with_limit(1)
            .primitive()?
            .await?;
        Ok(rows(found)?.into_iter().next())
    }
}

impl OutboxStore for IdbOutbox {
    type Error = StoreError;
    type EntityChange = EntityChange;

    async fn append(
        &self,
        new: NewMutation,
        change: Option<EntityChange>,
        now: Millis,
    ) -> Result<Mutation, StoreError> {
        self.append_with(new, change, None, now).await
    }

    async fn take_unsent(&self, lane: &Lane, key: &str) -> Result<Option<Mutation>, StoreError> {
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let found = outbox
            .index(BY_LANE_SEQ)?
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(lane.as_str()))
            .primitive()?
            .await?;
        let unsent = rows(found)?.into_iter().find(|row| row.may_coalesce(key));
        let Some(row) = unsent else { return Ok(None) };
        outbox.delete(row.id.clone()).primitive()?;
        if let Some(entity) = &row.entity_key {
            tx.object_store(ENTITIES)?
                .delete(entity.clone())
                .primitive()?;
        }
        tx.commit().await?;
        Ok(Some(row.open(&self.vault, OUTBOX).await?))
    }

    async fn get(&self, id: ClientMutationId) -> Result<Option<Mutation>, StoreError> {
        let tx = self.database().transaction([OUTBOX, RECEIPTS]).build()?;
        for store in [OUTBOX, RECEIPTS] {
            let found: Option<JsValue> = tx
                .object_store(store)?
                .get(id.to_string())
                .primitive()?
                .await?;
            if let Some(v) = found {
                return Ok(Some(Row::from_js(v)?.open(&self.vault, store).await?));
            }
        }
        Ok(None)
    }

    async fn put(&self, updated: &[Mutation]) -> Result<(), StoreError> {
        if updated.is_empty() {
            return Ok(());
        }
        let sealed = Row::seal_all(&self.vault, OUTBOX, updated).await?;
        // State changes need not survive a power cut: a lost one is still pending, which is safe.
        let tx = self
            .database()
            .transaction(OUTBOX)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        for row in sealed {
            outbox.put(row.to_js()?).primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn claim(&self, candidates: &[Mutation]) -> Result<Vec<Mutation>, StoreError> {
        self.settle(&[], candidates).await
    }

    async fn complete(&self, done: &[Mutation]) -> Result<(), StoreError> {
        self.settle(done, &[]).await.map(drop)
    }

    async fn remove(&self, id: ClientMutationId) -> Result<(), StoreError> {
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let old: Option<JsValue> = outbox.get(id.to_string()).primitive()?.await?;
        if let Some(key) = old
            .map(Row::from_js)
            .transpose()?
            .and_then(|row| row.entity_key)
        {
            tx.object_store(ENTITIES)?.delete(key).primitive()?;
        }
        outbox.delete(id.to_string()).primitive()?;
        tx.commit().await?;
        Ok(())
    }

    async fn ready(
        &self,
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, StoreError> {
        let tx = self.database().transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        let runs = lane_runs(&store, per_lane, total, exclude, None).await?;
        let (ready, next_due) = select_ready(runs, now, total);
        let writes = Row::open_all(&ready, &self.vault, OUTBOX).await?;
        Ok(Ready { writes, next_due })
    }

    async fn claim_ready(
        &self,
        delivered: &[Mutation],
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, StoreError> {
        self.claim_ready_at_once(delivered, now, per_lane, total, exclude)
            .await
    }

    async fn compact(&self) -> Result<(), StoreError> {
        self.prune_receipts(super::receipt_log::RECEIPTS_KEPT)
            .await
            .map(drop)
    }

    async fn reset_in_flight(&self) -> Result<usize, StoreError> {
        // In flight carries no sealed detail: the clear state alone goes back to pending.
        let stuck = self.rows_in(MutationState::IN_FLIGHT).await?;
        let tx = self
            .database()
            .transaction(OUTBOX)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        for mut row in stuck.iter().cloned() {
            row.state.state = MutationState::PENDING.to_owned();
            outbox.put(row.to_js()?).primitive()?;
        }
        tx.commit().await?;
        Ok(stuck.len())
    }

    async fn blocked(&self) -> Result<Vec<Mutation>, StoreError> {
        let mut out = self.by_state(MutationState::PARKED).await?;
        out.extend(self.by_state(MutationState::CONFLICT).await?);
        by_number(&mut out, Direction::Ascending, |m| m.seq);
        Ok(out)
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let tx = self.database().transaction([OUTBOX, RECEIPTS]).build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let by_state = outbox.index(BY_STATE_CREATED)?;
        let mut counts = [0usize; 4];
        for (slot, state) in counts.iter_mut().zip(MutationState::UNDECIDED) {
            *slot = by_state
                .count()
                .with_query::<JsValue, _>(prefix(state))
                .primitive()?
                .await? as usize;
        }
        let oldest = Self::first_pending(&outbox, BY_STATE_CREATED).await?;
        let soonest = Self::first_pending(&outbox, BY_STATE_DUE).await?;
        let kept = tx.object_store(RECEIPTS)?.count().primitive()?.await? as usize;
        // Receipts coalesce per message, so this range stays as small as the unread count.
        let receipts = KeyRange::Bound(
            JsValue::from_str(Lane::READ_RECEIPTS),
            false,
            JsValue::from_str(&format!("{}\u{ffff}", Lane::READ_RECEIPTS)),
            false,
        );
        let found = outbox
            .index(BY_LANE)?
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(receipts)
            .primitive()?
            .await?;
        let housekeeping = rows(found)?
            .iter()
            .filter(|row| {
                row.kind.is_housekeeping()
                    && (row.is(MutationState::PENDING) || row.is(MutationState::IN_FLIGHT))
            })
            .count();
        let done = kept + self.receipts_pruned().await? as usize;
        Ok(Stats {
            pending: counts[0],
            in_flight: counts[1],
            parked: counts[2],
            conflict: counts[3],
            done,
            oldest_pending_created_at: oldest.map(|m| m.created_at),
            next_attempt_at: soonest.map(|m| m.next_attempt_at),
            last_success_at: None,
            housekeeping,
        })
    }
}
