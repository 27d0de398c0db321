//! How outbox rows are read and written in IndexedDB: lane runs, claims in place, receipts
//! and the reconciliation of optimistic records. Shared by the store and its claim step.

use std::collections::{BTreeSet, HashSet};

use caresync_sync::{Lane, Mutation, MutationState};
use indexed_db_futures::{
    cursor::CursorDirection, object_store::ObjectStore, prelude::*, transaction::Transaction,
    KeyRange,
};
use wasm_bindgen::JsValue;

use super::idb::{from_js, to_js, StoreError, BY_LANE, BY_LANE_SEQ, ENTITIES, META, RECEIPTS};

/// The largest integer IndexedDB keys and JS numbers hold exactly.
pub(super) const MAX_KEY: f64 = 9_007_199_254_740_991.0;

pub(super) fn key2(a: &str, b: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(a), &JsValue::from_f64(b)).into()
}

/// The optimistic record takes the server's ids and timestamps (`messageId`, `sentAt`).
pub(super) async fn reconcile(
    entities: &ObjectStore<'_>,
    key: &str,
    receipt: &caresync_sync::Receipt,
) -> Result<(), StoreError> {
    let found: Option<JsValue> = entities.get(key.to_owned()).primitive()?.await?;
    let Some(found) = found else { return Ok(()) };
    let mut entity: serde_json::Value = from_js(found)?;
    receipt.reconcile(&mut entity);
    entities
        .put(to_js(&entity)?)
        .with_key(key.to_owned())
        .primitive()?;
    Ok(())
}

/// Flips a stored pending row to in flight with one more attempt; false if it is not pending.
pub(super) fn mark_in_flight(row: &JsValue) -> Result<bool, StoreError> {
    use js_sys::Reflect;
    let err = |e: JsValue| StoreError::Decode(format!("{e:?}"));
    let state = Reflect::get(row, &"state".into()).map_err(err)?;
    if Reflect::get(&state, &"state".into())
        .map_err(err)?
        .as_string()
        .as_deref()
        != Some(MutationState::PENDING)
    {
        return Ok(false);
    }
    Reflect::set(&state, &"state".into(), &MutationState::IN_FLIGHT.into()).map_err(err)?;
    let attempts = Reflect::get(row, &"attempts".into())
        .map_err(err)?
        .as_f64()
        .unwrap_or(0.0);
    Reflect::set(row, &"attempts".into(), &JsValue::from_f64(attempts + 1.0)).map_err(err)?;
    Ok(true)
}

/// Every key of a compound index whose first part is `first`.
pub(super) fn prefix(first: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(key2(first, 0.0), false, key2(first, MAX_KEY), false)
}

pub(super) fn mutations(
    values: impl IntoIterator<Item = indexed_db_futures::Result<JsValue>>,
) -> Result<Vec<Mutation>, StoreError> {
    values
        .into_iter()
        .map(|v| from_js::<Mutation>(v?))
        .collect()
}

/// The first undecided entries (at most `per_lane`, and at most twice an even share of `total`)
/// of every lane not in `exclude`, in lane order:
/// distinct lanes straight from the index (one key per lane, not one per entry), then one
/// bounded read per lane, all in flight at once.
pub(super) async fn lane_runs(
    store: &ObjectStore<'_>,
    per_lane: usize,
    total: usize,
    exclude: &HashSet<Lane>,
    known: Option<&BTreeSet<String>>,
) -> Result<Vec<Vec<Mutation>>, StoreError> {
    let all = match known {
        Some(known) => known.iter().cloned().collect(),
        None => all_lanes(store).await?,
    };
    let lanes: Vec<String> = all
        .into_iter()
        .filter(|lane| !exclude.contains(&Lane::new(lane.clone())))
        .collect();
    let by_lane = store.index(BY_LANE_SEQ)?;
    // No lane is read deeper than twice its share of `total`: a claim then reads at most
    // about twice what it takes, however long the queue, so a long replay stays linear, and
    // a batch still takes whole runs of some lanes, leaving the others for the next push.
    let share = 2 * total.div_ceil(lanes.len().max(1));
    let limit = u32::try_from(per_lane.min(share))
        .unwrap_or(u32::MAX)
        .max(1);
    let mut reads = Vec::with_capacity(lanes.len());
    for lane in &lanes {
        reads.push(
            by_lane
                .get_all::<JsValue>()
                .with_query::<JsValue, _>(prefix(lane))
                .with_limit(limit)
                .primitive()?,
        );
    }
    let mut runs = Vec::with_capacity(reads.len());
    for read in reads {
        runs.push(mutations(read.await?)?);
    }
    Ok(runs)
}

/// Records deliveries in `tx`: the optimistic entity is reconciled, the entry leaves the
/// outbox, and the newest receipts are kept (the rest only counted).
pub(super) async fn record_done(
    tx: &Transaction<'_>,
    outbox: &ObjectStore<'_>,
    done: &[Mutation],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    let entities = tx.object_store(ENTITIES)?;
    let receipts = tx.object_store(RECEIPTS)?;
    let only_counted = done.len().saturating_sub(super::receipt_log::RECEIPTS_KEPT);
    for (i, m) in done.iter().enumerate() {
        if let (Some(key), MutationState::Done { receipt }) = (&m.entity_key, &m.state) {
            reconcile(&entities, key, receipt).await?;
        }
        outbox.delete(m.id.to_string()).primitive()?;
        if i >= only_counted {
            receipts.put(to_js(m)?).primitive()?;
        }
    }
    super::receipt_log::count_pruned(&tx.object_store(META)?, only_counted).await
}

/// Every lane with undecided entries: distinct keys straight from the lane index.
pub(super) async fn all_lanes(store: &ObjectStore<'_>) -> Result<BTreeSet<String>, StoreError> {
    let mut lanes = BTreeSet::new();
    if let Some(mut cursor) = store
        .index(BY_LANE)?
        .open_key_cursor()
        .with_direction(CursorDirection::Nextunique)
        .primitive()?
        .await?
    {
        while let Some(lane) = cursor.next_key::<String>().await? {
            lanes.insert(lane);
        }
    }
    Ok(lanes)
}
