//! The outbox on IndexedDB. A write and its entity change commit in one transaction with
//! `durability: "strict"`; replay reads lane heads through indexes, never the whole queue.

use std::collections::HashSet;

use caresync_sync::{
    ClientMutationId, Lane, Millis, Mutation, MutationState, NewMutation, OutboxStore, Ready, Stats,
};
use indexed_db_futures::{
    cursor::CursorDirection,
    database::Database,
    prelude::*,
    transaction::{TransactionDurability, TransactionMode, TransactionOptions},
    KeyRange,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::idb::{
    from_js, to_js, StoreError, BY_LANE, BY_LANE_SEQ, BY_STATE_CREATED, BY_STATE_DUE, ENTITIES,
    META, OUTBOX, RECEIPTS,
};

/// The largest integer IndexedDB keys and JS numbers hold exactly.
const MAX_KEY: f64 = 9_007_199_254_740_991.0;

/// The local record a write creates or changes, stored under `key` in the entities store.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityChange {
    pub key: String,
    pub value: serde_json::Value,
}

/// An outbox row: the engine's mutation plus where its entity lives, for reconciliation.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(flatten)]
    mutation: Mutation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entity_key: Option<String>,
}

#[derive(Clone)]
pub struct IdbOutbox {
    db: Database,
}

fn strict() -> TransactionOptions {
    let mut opts = TransactionOptions::new();
    opts.set_durability(TransactionDurability::Strict);
    opts
}

fn key2(a: &str, b: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(a), &JsValue::from_f64(b)).into()
}

/// Every key of a compound index whose first part is `first`.
fn prefix(first: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(key2(first, 0.0), false, key2(first, MAX_KEY), false)
}

fn rows(
    values: impl IntoIterator<Item = indexed_db_futures::Result<JsValue>>,
) -> Result<Vec<Row>, StoreError> {
    values.into_iter().map(|v| from_js::<Row>(v?)).collect()
}

impl IdbOutbox {
    pub fn new(db: Database) -> Self {
        IdbOutbox { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Undecided entries of one lane, in order.
    pub async fn lane(&self, lane: &str) -> Result<Vec<Mutation>, StoreError> {
        let tx = self.db.transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        let index = store.index(BY_LANE_SEQ)?;
        let found = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(lane))
            .primitive()?
            .await?;
        Ok(rows(found)?.into_iter().map(|r| r.mutation).collect())
    }

    /// An entity by key (an optimistic message, a draft).
    pub async fn entity(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let tx = self.db.transaction(ENTITIES).build()?;
        let found: Option<JsValue> = tx
            .object_store(ENTITIES)?
            .get(key.to_owned())
            .primitive()?
            .await?;
        found.map(from_js).transpose()
    }

    async fn by_state(&self, state: &str, limit: Option<u32>) -> Result<Vec<Mutation>, StoreError> {
        let tx = self.db.transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        let index = store.index(BY_STATE_CREATED)?;
        let query = index
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix(state));
        let found = match limit {
            Some(n) => query.with_limit(n).primitive()?.await?,
            None => query.primitive()?.await?,
        };
        Ok(rows(found)?.into_iter().map(|r| r.mutation).collect())
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
        let tx = self
            .db
            .transaction([OUTBOX, ENTITIES, META])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let meta = tx.object_store(META)?;
        let last: Option<JsValue> = meta.get("seq").primitive()?.await?;
        let seq = last.and_then(|v| v.as_f64()).unwrap_or(0.0) as u64 + 1;
        meta.put(JsValue::from_f64(seq as f64))
            .with_key("seq")
            .primitive()?;
        let mutation = Mutation::from_new(new, seq, now);
        let row = Row {
            mutation,
            entity_key: change.as_ref().map(|c| c.key.clone()),
        };
        tx.object_store(OUTBOX)?.add(to_js(&row)?).primitive()?;
        if let Some(change) = change {
            tx.object_store(ENTITIES)?
                .put(to_js(&change.value)?)
                .with_key(change.key)
                .primitive()?;
        }
        tx.commit().await?;
        Ok(row.mutation)
    }

    async fn take_unsent(&self, lane: &Lane, key: &str) -> Result<Option<Mutation>, StoreError> {
        let tx = self
            .db
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
        let unsent = rows(found)?.into_iter().find(|r| {
            r.mutation.state == MutationState::Pending
                && r.mutation.attempts == 0
                && r.mutation.coalesce_key.as_deref() == Some(key)
        });
        let Some(row) = unsent else { return Ok(None) };
        outbox.delete(row.mutation.id.to_string()).primitive()?;
        if let Some(entity) = &row.entity_key {
            tx.object_store(ENTITIES)?
                .delete(entity.clone())
                .primitive()?;
        }
        tx.commit().await?;
        Ok(Some(row.mutation))
    }

    async fn get(&self, id: ClientMutationId) -> Result<Option<Mutation>, StoreError> {
        let tx = self.db.transaction([OUTBOX, RECEIPTS]).build()?;
        for store in [OUTBOX, RECEIPTS] {
            let found: Option<JsValue> = tx
                .object_store(store)?
                .get(id.to_string())
                .primitive()?
                .await?;
            if let Some(v) = found {
                return Ok(Some(from_js::<Row>(v)?.mutation));
            }
        }
        Ok(None)
    }

    async fn put(&self, mutations: &[Mutation]) -> Result<(), StoreError> {
        if mutations.is_empty() {
            return Ok(());
        }
        // State changes need not survive a power cut: a lost one is still pending, which is safe.
        let tx = self
            .db
            .transaction(OUTBOX)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        for m in mutations {
            let old: Option<JsValue> = outbox.get(m.id.to_string()).primitive()?.await?;
            let Some(old) = old else { continue };
            let entity_key = from_js::<Row>(old)?.entity_key;
            outbox
                .put(to_js(&Row {
                    mutation: m.clone(),
                    entity_key,
                })?)
                .primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn complete(&self, m: &Mutation) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([OUTBOX, ENTITIES, RECEIPTS])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let old: Option<JsValue> = outbox.get(m.id.to_string()).primitive()?.await?;
        let entity_key = old
            .map(from_js::<Row>)
            .transpose()?
            .and_then(|r| r.entity_key);
        if let (Some(key), MutationState::Done { receipt }) = (&entity_key, &m.state) {
            // Reconcile: the optimistic record takes the server's ids and timestamps.
            let entities = tx.object_store(ENTITIES)?;
            let found: Option<JsValue> = entities.get(key.clone()).primitive()?.await?;
            if let Some(found) = found {
                let mut entity: serde_json::Value = from_js(found)?;
                if let (Some(obj), Some(server)) =
                    (entity.as_object_mut(), receipt.body.as_object())
                {
                    for (k, v) in server {
                        obj.insert(k.clone(), v.clone());
                    }
                }
                entities
                    .put(to_js(&entity)?)
                    .with_key(key.clone())
                    .primitive()?;
            }
        }
        outbox.delete(m.id.to_string()).primitive()?;
        tx.object_store(RECEIPTS)?
            .put(to_js(&Row {
                mutation: m.clone(),
                entity_key,
            })?)
            .primitive()?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove(&self, id: ClientMutationId) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([OUTBOX, ENTITIES])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let old: Option<JsValue> = outbox.get(id.to_string()).primitive()?.await?;
        if let Some(key) = old
            .map(from_js::<Row>)
            .transpose()?
            .and_then(|r| r.entity_key)
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
        let tx = self.db.transaction(OUTBOX).build()?;
        let store = tx.object_store(OUTBOX)?;
        // Distinct lanes straight from the index: one key per lane, not one per entry.
        let mut lanes = Vec::new();
        if let Some(mut cursor) = store
            .index(BY_LANE)?
            .open_key_cursor()
            .with_direction(CursorDirection::Nextunique)
            .primitive()?
            .await?
        {
            while let Some(lane) = cursor.next_key::<String>().await? {
                if !exclude.contains(&Lane::new(lane.clone())) {
                    lanes.push(lane);
                }
            }
        }
        let by_lane = store.index(BY_LANE_SEQ)?;
        let mut runs = Vec::new();
        for lane in lanes {
            let limit = u32::try_from(per_lane).unwrap_or(u32::MAX).max(1);
            let found = by_lane
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(prefix(&lane))
                .with_limit(limit)
                .primitive()?
                .await?;
            let run: Vec<Mutation> = rows(found)?.into_iter().map(|r| r.mutation).collect();
            let due = run.first().is_some_and(|head| {
                head.state == MutationState::Pending && head.next_attempt_at <= now
            });
            if due {
                runs.push(run);
            }
        }
        runs.sort_by_key(|run| run.first().map_or(u64::MAX, |m| m.seq));
        let mut out = Vec::new();
        for run in runs {
            for m in run
                .into_iter()
                .take_while(|m| m.state == MutationState::Pending)
            {
                if out.len() >= total {
                    return Ok(out);
                }
                out.push(m);
            }
        }
        Ok(out)
    }

    async fn reset_in_flight(&self) -> Result<usize, StoreError> {
        let stuck = self.by_state("in_flight", None).await?;
        let n = stuck.len();
        let reset: Vec<Mutation> = stuck
            .into_iter()
            .map(|mut m| {
                m.state = MutationState::Pending;
                m
            })
            .collect();
        self.put(&reset).await?;
        Ok(n)
    }

    async fn blocked(&self) -> Result<Vec<Mutation>, StoreError> {
        let mut out = self.by_state("parked", None).await?;
        out.extend(self.by_state("conflict", None).await?);
        out.sort_by_key(|m| m.seq);
        Ok(out)
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let tx = self.db.transaction([OUTBOX, RECEIPTS]).build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let by_state = outbox.index(BY_STATE_CREATED)?;
        let mut counts = [0usize; 4];
        for (slot, state) in counts
            .iter_mut()
            .zip(["pending", "in_flight", "parked", "conflict"])
        {
            *slot = by_state
                .count()
                .with_query::<JsValue, _>(prefix(state))
                .primitive()?
                .await? as usize;
        }
        let first = |found: Vec<Row>| found.into_iter().next().map(|r| r.mutation);
        let oldest = first(rows(
            by_state
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(prefix("pending"))
                .with_limit(1)
                .primitive()?
                .await?,
        )?);
        let due_index = outbox.index(BY_STATE_DUE)?;
        let soonest = first(rows(
            due_index
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(prefix("pending"))
                .with_limit(1)
                .primitive()?
                .await?,
        )?);
        let done = tx.object_store(RECEIPTS)?.count().primitive()?.await? as usize;
        Ok(Stats {
            pending: counts[0],
            in_flight: counts[1],
            parked: counts[2],
            conflict: counts[3],
            done,
            oldest_pending_created_at: oldest.map(|m| m.created_at),
            next_attempt_at: soonest.map(|m| m.next_attempt_at),
            last_success_at: None,
        })
    }
}
