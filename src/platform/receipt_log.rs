//! Deliveries: the receipts of delivered writes (the newest kept for inspection, older ones
//! only counted, so the database stops growing with every write ever sent) and the
//! optimistic records they reconcile.

use caresync_sync::{Mutation, MutationState};
use futures::future::try_join_all;
use indexed_db_futures::{
    object_store::ObjectStore,
    prelude::*,
    transaction::{Transaction, TransactionMode},
    KeyRange,
};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast as _, JsValue};

use super::{
    idb::{self, StoreError, ENTITIES, META, RECEIPTS},
    outbox_rows::Row,
    outbox_store::IdbOutbox,
    vault::Vault,
};

/// How many receipts a device keeps: enough to look into what was sent lately.
pub const RECEIPTS_KEPT: usize = 100;
/// How many receipts were dropped so far: the delivered count stays true.
const PRUNED: &str = "receiptsPruned";

impl IdbOutbox {
    /// Deletes the oldest receipts beyond `keep` (receipt keys are UUID v7, so key order is
    /// time order) and adds them to the pruned count. Returns how many went.
    pub async fn prune_receipts(&self, keep: usize) -> Result<usize, StoreError> {
        let tx = self
            .database()
            .transaction(RECEIPTS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let receipts = tx.object_store(RECEIPTS)?;
        let count = receipts.count().primitive()?.await? as usize;
        let excess = count.saturating_sub(keep);
        if excess == 0 {
            return Ok(0);
        }
        let keys = receipts
            .get_all_keys::<JsValue>()
            .with_limit(u32::try_from(excess).unwrap_or(u32::MAX))
            .primitive()?
            .await?;
        let Some(newest_to_go) = keys.into_iter().last() else {
            return Ok(0);
        };
        receipts
            .delete::<JsValue, _>(KeyRange::UpperBound(newest_to_go?, false))
            .primitive()?;
        tx.commit().await?;
        let before = self.receipts_pruned().await?;
        idb::put_meta(self.database(), PRUNED, &(before + excess as u64)).await?;
        Ok(excess)
    }

    /// Receipts dropped so far.
    pub async fn receipts_pruned(&self) -> Result<u64, StoreError> {
        Ok(idb::get_meta(self.database(), PRUNED).await?.unwrap_or(0))
    }
}

/// A delivery made ready to record before its transaction opens (sealing cannot wait inside
/// one): the receipt sealed for the receipts store, and the optimistic record it reconciles,
/// sealed anew, with the ciphertext it replaces.
pub(super) struct Delivery {
    id: String,
    receipt: Option<Row>,
    entity: Option<Reconciled>,
}

struct Reconciled {
    key: String,
    before: Vec<u8>,
    after: Uint8Array,
}

/// Seals the receipts to keep and reconciles the optimistic records of `done`.
pub(super) async fn prepare(vault: &Vault, done: &[Mutation]) -> Result<Vec<Delivery>, StoreError> {
    if done.is_empty() {
        return Ok(Vec::new());
    }
    let kept_from = done.len().saturating_sub(RECEIPTS_KEPT);
    let entities = read_entities(vault, done).await?;
    try_join_all(
        done.iter()
            .zip(entities)
            .enumerate()
            .map(|(i, (m, found))| async move {
                let receipt = if i >= kept_from {
                    Some(Row::seal(vault, RECEIPTS, m).await?)
                } else {
                    None
                };
                let entity = match (found, &m.state) {
                    (Some((key, before)), MutationState::Done { receipt }) => {
                        let mut value: serde_json::Value =
                            vault.open(ENTITIES, &key, &before).await?;
                        receipt.reconcile(&mut value);
                        let after = vault.seal(ENTITIES, &key, &value).await?;
                        Some(Reconciled {
                            key,
                            before: before.to_vec(),
                            after,
                        })
                    }
                    _ => None,
                };
                Ok(Delivery {
                    id: m.id.to_string(),
                    receipt,
                    entity,
                })
            }),
    )
    .await
}

/// The stored optimistic record of each write that has one, in one read.
async fn read_entities(
    vault: &Vault,
    done: &[Mutation],
) -> Result<Vec<Option<(String, Uint8Array)>>, StoreError> {
    let tx = vault.database().transaction(ENTITIES).build()?;
    let store = tx.object_store(ENTITIES)?;
    let mut reads = Vec::with_capacity(done.len());
    for m in done {
        reads.push(match &m.entity_key {
            Some(key) => Some((
                key.clone(),
                store.get::<JsValue, _, _>(key.clone()).primitive()?,
            )),
            None => None,
        });
    }
    let mut found = Vec::with_capacity(reads.len());
    for read in reads {
        found.push(match read {
            Some((key, read)) => read
                .await?
                .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                .map(|sealed| (key, sealed)),
            None => None,
        });
    }
    Ok(found)
}

/// Records prepared deliveries in `tx`: the optimistic record is reconciled (unless it
/// changed since it was read), the entry leaves the outbox, and the newest receipts are kept
/// (the rest only counted).
pub(super) async fn record(
    tx: &Transaction<'_>,
    outbox: &ObjectStore<'_>,
    deliveries: &[Delivery],
) -> Result<(), StoreError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let entities = tx.object_store(ENTITIES)?;
    let receipts = tx.object_store(RECEIPTS)?;
    let mut only_counted = 0;
    for d in deliveries {
        if let Some(e) = &d.entity {
            let now: Option<JsValue> = entities.get(e.key.clone()).primitive()?.await?;
            let unchanged = now
                .and_then(|v| v.dyn_into::<Uint8Array>().ok())
                .is_some_and(|v| v.to_vec() == e.before);
            if unchanged {
                entities
                    .put(JsValue::from(e.after.clone()))
                    .with_key(e.key.clone())
                    .primitive()?;
            }
        }
        outbox.delete(d.id.clone()).primitive()?;
        match &d.receipt {
            Some(row) => {
                receipts.put(row.to_js()?).primitive()?;
            }
            None => only_counted += 1,
        }
    }
    count_pruned(&tx.object_store(META)?, only_counted).await
}

/// Adds `n` receipts that were counted but not kept, inside the caller's transaction.
async fn count_pruned(meta: &ObjectStore<'_>, n: usize) -> Result<(), StoreError> {
    if n == 0 {
        return Ok(());
    }
    let before: Option<JsValue> = meta.get(PRUNED).primitive()?.await?;
    let before = before.and_then(|v| v.as_f64()).unwrap_or(0.0);
    meta.put(JsValue::from_f64(before + n as f64))
        .with_key(PRUNED)
        .primitive()?;
    Ok(())
}
