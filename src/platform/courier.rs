//! The courier's mailbox (`caresync:courier`): waiting writes sealed to the server (HPKE),
//! which the service worker delivers on Background Sync while no page is open, the replay
//! credentials it sends them under, and the raw answers it got. The page seals, posts and
//! reads answers; the worker (`scripts/sw/courier.js`) only sends and writes answers back, so
//! it holds no key, reads no write, and decides nothing.

use std::collections::{HashMap, HashSet};

use caresync_contract::{
    paths,
    sync::{SealedEnvelope, SealingKey},
};
use caresync_sync::order::{by_number, Direction};
use caresync_sync::{Answer, Lane, Mutation};
use indexed_db_futures::{
    database::Database, prelude::*, transaction::TransactionMode, KeyPath, KeyRange,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::{
    idb::{from_js, to_js, StoreError},
    sealing::{seal_write, SealError},
};

pub const COURIER_DB: &str = "caresync:courier";
/// The worker opens the database without a version and gives up if it had to create it, so
/// this page is the only one that lays out the stores.
const VERSION: u32 = 1;
const PARCELS: &str = "parcels";
const BY_SCOPE_SEQ: &str = "scope_seq";
const CREDENTIALS: &str = "credentials";

/// One write as the worker may deliver it: its envelope, which only the server opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parcel {
    /// The write's clientMutationId.
    pub id: String,
    /// The outbox it mirrors: the sync tag's suffix ("{tenant}:{user}").
    pub scope: String,
    /// Whose replay credential sends it ("{tenant}/{user}").
    pub author: String,
    /// The worker sends a lane in order and stops it at the first answer that is not a
    /// success.
    pub lane: String,
    pub seq: u64,
    pub envelope: SealedEnvelope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<CourierAnswer>,
}

/// What the worker heard back, as it heard it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourierAnswer {
    pub status: u16,
    #[serde(default)]
    pub body: serde_json::Value,
    /// `Retry-After`, in seconds, when the server sent one.
    #[serde(default)]
    pub retry_after: Option<f64>,
    /// When it came (ms since the epoch, the device's clock).
    pub at: f64,
}

impl CourierAnswer {
    /// The route's own answer, for the engine; `None` when the courier was turned away before
    /// the write was looked at (its credential refused, the envelope unreadable): the page
    /// then sends the write itself.
    pub fn route_answer(&self) -> Option<Answer> {
        let code = self.body.get("code").and_then(|c| c.as_str());
        if matches!(code, Some("REPLAY_REFUSED" | "SEALED_UNREADABLE")) {
            return None;
        }
        let mut answer = Answer::new(self.status, self.body.clone());
        answer.retry_after_ms = self.retry_after.map(|s| (s.max(0.0) * 1000.0) as u64);
        Some(answer)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credential {
    author: String,
    token: String,
}

pub fn author(tenant: &str, user: &str) -> String {
    format!("{tenant}/{user}")
}

/// What the worker may carry of an outbox's undecided writes: each lane up to its first write
/// that waits for the user, in order, sealed to the server; nothing of the `held` lanes (whose
/// earlier writes wait in another queue: the worker would overtake them). A write already
/// sealed (a shared device's sealed outbox) goes as it is.
pub fn parcels_for(
    scope: &str,
    key: &SealingKey,
    undecided: &[Mutation],
    held: &HashSet<Lane>,
) -> Result<Vec<Parcel>, SealError> {
    let mut writes: Vec<&Mutation> = undecided.iter().collect();
    by_number(&mut writes, Direction::Ascending, |m| m.seq);
    let mut stopped: HashSet<&Lane> = held.iter().collect();
    let mut parcels = Vec::new();
    for m in writes {
        if stopped.contains(&m.lane) || !m.state.is_waiting() {
            stopped.insert(&m.lane);
            continue;
        }
        let body = if m.request.path == paths::SYNC_SEALED {
            m.request.body.clone()
        } else {
            seal_write(key, m)?.request.body
        };
        let envelope: SealedEnvelope =
            serde_json::from_value(body).map_err(|_| SealError::BadKey)?;
        parcels.push(Parcel {
            id: m.id.to_string(),
            scope: scope.to_owned(),
            author: author(&m.tenant, &m.actor),
            lane: m.lane.as_str().to_owned(),
            seq: m.seq,
            envelope,
            answer: None,
        });
    }
    Ok(parcels)
}

#[derive(Clone)]
pub struct Courier {
    db: Database,
}

impl Courier {
    pub async fn open() -> Result<Self, StoreError> {
        Self::open_named(COURIER_DB).await
    }

    /// As [`Courier::open`], under another name (tests keep theirs apart).
    pub async fn open_named(name: &str) -> Result<Self, StoreError> {
        let db = Database::open(name)
            .with_version(VERSION)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    let parcels = db
                        .create_object_store(PARCELS)
                        .with_key_path(KeyPath::One("id"))
                        .build()?;
                    parcels
                        .create_index(BY_SCOPE_SEQ, KeyPath::from(vec!["scope", "seq"]))
                        .build()?;
                    db.create_object_store(CREDENTIALS)
                        .with_key_path(KeyPath::One("author"))
                        .build()?;
                }
                Ok(())
            })
            .await?;
        Ok(Courier { db })
    }

    /// `scope`'s parcels become `parcels`, in one transaction: an answer the worker already
    /// wrote for a write still waiting is kept (taken in at the next pass), a parcel no longer
    /// waiting is dropped, and only the credentials of authors with parcels left are kept
    /// (`tokens` by author).
    pub async fn post(
        &self,
        scope: &str,
        parcels: Vec<Parcel>,
        tokens: &HashMap<String, String>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([PARCELS, CREDENTIALS])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(PARCELS)?;
        let mut kept: HashMap<String, Parcel> = read_scope(&store, scope)
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        for parcel in parcels {
            match kept.remove(&parcel.id) {
                Some(old) if old.answer.is_some() => continue,
                _ => {
                    store.put(to_js(&parcel)?).primitive()?;
                }
            }
        }
        // Not waiting any more: decided here already, so an answer the worker got for it
        // (the app was sending it too) tells nothing new.
        for gone in kept.into_values() {
            store.delete(gone.id).primitive()?;
        }
        let everyone: Vec<JsValue> = store
            .get_all()
            .primitive()?
            .await?
            .collect::<Result<_, _>>()?;
        let mut authors = HashSet::new();
        for value in everyone {
            authors.insert(from_js::<Parcel>(value)?.author);
        }
        let credentials = tx.object_store(CREDENTIALS)?;
        credentials.clear()?;
        for author in authors {
            if let Some(token) = tokens.get(&author) {
                let record = Credential {
                    author,
                    token: token.clone(),
                };
                credentials.put(to_js(&record)?).primitive()?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every parcel of `scope`, in order.
    pub async fn parcels(&self, scope: &str) -> Result<Vec<Parcel>, StoreError> {
        let tx = self.db.transaction(PARCELS).build()?;
        read_scope(&tx.object_store(PARCELS)?, scope).await
    }

    /// Forgets parcels whose answers were taken in.
    pub async fn remove(&self, ids: &[String]) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(PARCELS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(PARCELS)?;
        for id in ids {
            store.delete(id.as_str()).primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether a credential for `author` waits here (only while they have parcels).
    pub async fn has_credential(&self, author: &str) -> Result<bool, StoreError> {
        let tx = self.db.transaction(CREDENTIALS).build()?;
        let found: Option<JsValue> = tx
            .object_store(CREDENTIALS)?
            .get(author)
            .primitive()?
            .await?;
        Ok(found.is_some())
    }
}

async fn read_scope(
    store: &indexed_db_futures::object_store::ObjectStore<'_>,
    scope: &str,
) -> Result<Vec<Parcel>, StoreError> {
    let key = |seq: f64| -> JsValue {
        js_sys::Array::of2(&JsValue::from_str(scope), &JsValue::from_f64(seq)).into()
    };
    let range = KeyRange::Bound(key(0.0), false, key(super::outbox_rows::MAX_KEY), false);
    let values = store
        .index(BY_SCOPE_SEQ)?
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(range)
        .primitive()?
        .await?;
    values.map(|v| from_js(v?)).collect()
}
