//! The delivered writes' receipts: the newest are kept for inspection, older ones only
//! counted, so the database stops growing with every write ever sent.

use indexed_db_futures::{
    object_store::ObjectStore, prelude::*, transaction::TransactionMode, KeyRange,
};
use wasm_bindgen::JsValue;

use super::{
    idb::{self, StoreError, RECEIPTS},
    outbox_store::IdbOutbox,
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

/// Adds `n` receipts that were counted but not kept, inside the caller's transaction.
pub(super) async fn count_pruned(meta: &ObjectStore<'_>, n: usize) -> Result<(), StoreError> {
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
