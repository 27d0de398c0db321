//! How outbox rows are stored: what replay decides on in the clear (opaque id, kind, lane,
//! sequence, state, times), the write itself sealed. Lane runs and lane lists are read here
//! for the store and its claim step.

use std::collections::{BTreeSet, HashSet};

use caresync_sync::{
    model::Versioned, store::Queued, AggregateKind, Lane, Millis, Mutation, MutationState, Request,
};
use futures::future::try_join_all;
use indexed_db_futures::{
    cursor::CursorDirection, object_store::ObjectStore, prelude::*, KeyRange,
};
use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};

use super::{
    idb::{from_js, to_js, StoreError, BY_LANE, BY_LANE_SEQ},
    vault::{decode, Vault},
};

/// The largest integer IndexedDB keys and JS numbers hold exactly.
pub(super) const MAX_KEY: f64 = 9_007_199_254_740_991.0;

pub(super) fn key2(a: &str, b: f64) -> JsValue {
    js_sys::Array::of2(&JsValue::from_str(a), &JsValue::from_f64(b)).into()
}

/// Every key of a compound index whose first part is `first`.
pub(super) fn prefix(first: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(key2(first, 0.0), false, key2(first, MAX_KEY), false)
}

/// The stored state's name, which the indexes read (`state.state`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Tag {
    pub state: String,
}

/// One write as stored in the outbox or the receipts store. The clear fields are the truth
/// for what they hold: a claim flips `state` and `attempts` in place without sealing again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Row {
    pub id: String,
    pub kind: AggregateKind,
    pub lane: Lane,
    pub seq: u64,
    pub state: Tag,
    pub created_at: Millis,
    pub next_attempt_at: Millis,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coalesce_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_key: Option<String>,
    /// Stored as the `Uint8Array` itself, beside the JSON fields ([`Row::to_js`]).
    #[serde(skip, default = "no_bytes")]
    pub sealed: Uint8Array,
}

fn no_bytes() -> Uint8Array {
    Uint8Array::new_with_length(0)
}

/// The field that holds a row's sealed bytes.
const SEALED: &str = "sealed";

/// What a write says and who made it, and the detail of a decided state (the server's
/// receipt, its refusal, its current record): everything that may hold PHI.
#[derive(Serialize, Deserialize)]
struct Secret {
    tenant: String,
    actor: String,
    request: Request,
    versioned: Option<Versioned>,
    /// Only for states that carry detail; pending and in flight are the clear tag alone.
    #[serde(default)]
    decided: Option<MutationState>,
}

impl Row {
    /// Seals `m` for its record in `store`.
    pub async fn seal(vault: &Vault, store: &str, m: &Mutation) -> Result<Row, StoreError> {
        let id = m.id.to_string();
        let secret = Secret {
            tenant: m.tenant.clone(),
            actor: m.actor.clone(),
            request: m.request.clone(),
            versioned: m.versioned.clone(),
            decided: (!m.state.is_waiting()).then(|| m.state.clone()),
        };
        let sealed = vault.seal(store, &id, &secret).await?;
        Ok(Row {
            id,
            kind: m.kind,
            lane: m.lane.clone(),
            seq: m.seq,
            state: Tag {
                state: m.state.name().to_owned(),
            },
            created_at: m.created_at,
            next_attempt_at: m.next_attempt_at,
            attempts: m.attempts,
            coalesce_key: m.coalesce_key.clone(),
            entity_key: m.entity_key.clone(),
            sealed,
        })
    }

    /// Seals many writes at once.
    pub async fn seal_all(
        vault: &Vault,
        store: &str,
        writes: &[Mutation],
    ) -> Result<Vec<Row>, StoreError> {
        try_join_all(writes.iter().map(|m| Row::seal(vault, store, m))).await
    }

    /// The clear fields as a plain object, and the sealed bytes as they are.
    pub fn to_js(&self) -> Result<JsValue, StoreError> {
        let value = to_js(self)?;
        js_sys::Reflect::set(&value, &SEALED.into(), &self.sealed).map_err(StoreError::js)?;
        Ok(value)
    }

    pub fn from_js(value: JsValue) -> Result<Row, StoreError> {
        let sealed = js_sys::Reflect::get(&value, &SEALED.into())
            .ok()
            .and_then(|v| v.dyn_into::<Uint8Array>().ok())
            .ok_or(StoreError::NotSealed)?;
        // The object is this read's own copy: the bytes need not go through JSON.
        js_sys::Reflect::delete_property(value.unchecked_ref::<js_sys::Object>(), &SEALED.into())
            .map_err(StoreError::js)?;
        let mut row: Row = from_js(value)?;
        row.sealed = sealed;
        Ok(row)
    }

    pub fn is(&self, state: &str) -> bool {
        self.state.state == state
    }

    /// As [`Mutation::may_coalesce`], on the clear fields alone.
    pub fn may_coalesce(&self, key: &str) -> bool {
        self.is(MutationState::PENDING)
            && self.attempts == 0
            && self.coalesce_key.as_deref() == Some(key)
    }

    /// Claimed: on the wire, one more attempt.
    pub fn claim(&mut self) {
        self.state.state = MutationState::IN_FLIGHT.to_owned();
        self.attempts += 1;
    }

    /// The write back, from a row sealed for `store`.
    pub async fn open(&self, vault: &Vault, store: &str) -> Result<Mutation, StoreError> {
        self.with_secret(vault.open(store, &self.id, &self.sealed).await?)
    }

    /// The write from this row's clear fields and its opened secret.
    fn with_secret(&self, secret: Secret) -> Result<Mutation, StoreError> {
        let state = match self.state.state.as_str() {
            MutationState::PENDING => MutationState::Pending,
            MutationState::IN_FLIGHT => MutationState::InFlight,
            other => secret
                .decided
                .ok_or_else(|| StoreError::Decode(format!("a {other} write without its detail")))?,
        };
        let id = self
            .id
            .parse()
            .map_err(|_| StoreError::Decode(format!("not a write id: {}", self.id)))?;
        Ok(Mutation {
            id,
            tenant: secret.tenant,
            actor: secret.actor,
            kind: self.kind,
            lane: self.lane.clone(),
            seq: self.seq,
            request: secret.request,
            created_at: self.created_at,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            coalesce_key: self.coalesce_key.clone(),
            versioned: secret.versioned,
            entity_key: self.entity_key.clone(),
            state,
        })
    }

    /// Opens many rows of one store at once.
    pub async fn open_all(
        rows: &[Row],
        vault: &Vault,
        store: &str,
    ) -> Result<Vec<Mutation>, StoreError> {
        // The vault's one concurrent open, rather than a join of its own for rows.
        let sealed = rows
            .iter()
            .map(|row| (row.id.clone(), JsValue::from(row.sealed.clone())))
            .collect();
        let opened = vault.open_all_bytes(store, sealed).await?;
        rows.iter()
            .zip(opened)
            .map(|(row, plain)| row.with_secret(decode(&plain)?))
            .collect()
    }
}

impl Queued for Row {
    fn seq(&self) -> u64 {
        self.seq
    }
    fn is_pending(&self) -> bool {
        self.is(MutationState::PENDING)
    }
    fn due_at(&self) -> Millis {
        self.next_attempt_at
    }
}

pub(super) fn rows(
    values: impl IntoIterator<Item = indexed_db_futures::Result<JsValue>>,
) -> Result<Vec<Row>, StoreError> {
    values.into_iter().map(|v| Row::from_js(v?)).collect()
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
) -> Result<Vec<Vec<Row>>, StoreError> {
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
        runs.push(rows(read.await?)?);
    }
    Ok(runs)
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
