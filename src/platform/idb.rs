//! The local IndexedDB database: one per tenant and user, opened at a versioned schema.
//!
//! Each schema step runs in order from the version found on disk, so a device that skipped
//! releases upgrades through every step and keeps its pending writes.

use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode, KeyPath};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::JsValue;

/// The schema version this build writes. v4 changed no store or index: its values are sealed
/// (see `vault`), and the bump keeps an older build, which would write plaintext, out.
pub const SCHEMA_VERSION: u32 = 4;

pub const META: &str = "meta";
pub const OUTBOX: &str = "outbox";
pub const ENTITIES: &str = "entities";
pub const RECEIPTS: &str = "receipts";
pub const DRAFTS: &str = "drafts";

/// Outbox indexes: lane order, lane enumeration, and per-state figures.
pub const BY_LANE_SEQ: &str = "lane_seq";
pub const BY_LANE: &str = "lane";
pub const BY_STATE_CREATED: &str = "state_created";
pub const BY_STATE_DUE: &str = "state_due";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the local database: {0}")]
    Open(String),
    #[error("local database operation failed: {0}")]
    Op(String),
    #[error("a stored record could not be read: {0}")]
    Decode(String),
    /// The record does not open under this database's key: altered, or moved from elsewhere.
    #[error("{0}")]
    Sealed(#[from] super::crypto::CryptoError),
    #[error("a stored record is not encrypted, so it is not shown")]
    NotSealed,
}

impl From<indexed_db_futures::error::Error> for StoreError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        StoreError::Op(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Decode(e.to_string())
    }
}

impl StoreError {
    /// What a JS call into a stored value (JSON, `Reflect`) threw.
    pub fn js(thrown: JsValue) -> Self {
        StoreError::Decode(format!("{thrown:?}"))
    }
}

impl From<indexed_db_futures::error::OpenDbError> for StoreError {
    fn from(e: indexed_db_futures::error::OpenDbError) -> Self {
        StoreError::Open(e.to_string())
    }
}

/// The name of a user's database: tenants and users never share one.
pub fn database_name(tenant: &str, user: &str) -> String {
    format!("caresync:{tenant}:{user}")
}

/// Plain JS objects, so IndexedDB key paths reach nested fields: the value's JSON (the one
/// path of [`super::json`]), parsed by the browser.
///
/// An integer a JS number cannot hold exactly is refused, not stored rounded: a rounded
/// `u64` could not be read back, and would leave its whole store unreadable.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    let value = serde_json::to_value(value)?;
    if let Some(n) = inexact_in_js(&value) {
        return Err(StoreError::Decode(format!(
            "{n} is beyond what a JS number holds exactly"
        )));
    }
    js_sys::JSON::parse(&serde_json::to_string(&value)?).map_err(StoreError::js)
}

/// The first integer in `value` beyond ±(2^53 − 1), if any.
fn inexact_in_js(value: &serde_json::Value) -> Option<&serde_json::Number> {
    const EXACT: u64 = (1 << 53) - 1;
    match value {
        serde_json::Value::Number(n) => {
            let exact = n.as_u64().is_none_or(|u| u <= EXACT)
                && n.as_i64().is_none_or(|i| i.unsigned_abs() <= EXACT);
            (!exact).then_some(n)
        }
        serde_json::Value::Array(items) => items.iter().find_map(inexact_in_js),
        serde_json::Value::Object(fields) => fields.values().find_map(inexact_in_js),
        _ => None,
    }
}

/// A plain object read from a store, as `T`, through its JSON.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, StoreError> {
    let text = js_sys::JSON::stringify(&value)
        .map_err(StoreError::js)?
        .as_string()
        .ok_or_else(|| StoreError::Decode("a stored value has no JSON form".into()))?;
    Ok(super::json::decode_str(&text)?)
}

pub async fn open(name: &str) -> Result<Database, StoreError> {
    open_at(name, SCHEMA_VERSION).await
}

/// Opens at a given version; older versions exist only so migrations can be tested.
pub async fn open_at(name: &str, version: u32) -> Result<Database, StoreError> {
    let db = Database::open(name)
        .with_version(version)
        .with_on_upgrade_needed(move |event, db| {
            let old = event.old_version() as u32;
            if old < 1 {
                db.create_object_store(META).build()?;
            }
            if old < 2 && version >= 2 {
                let outbox = db
                    .create_object_store(OUTBOX)
                    .with_key_path(KeyPath::One("id"))
                    .build()?;
                outbox
                    .create_index(BY_LANE_SEQ, KeyPath::from(vec!["lane", "seq"]))
                    .build()?;
                outbox.create_index(BY_LANE, KeyPath::One("lane")).build()?;
                db.create_object_store(ENTITIES).build()?;
                db.create_object_store(RECEIPTS)
                    .with_key_path(KeyPath::One("id"))
                    .build()?;
            }
            if old < 3 && version >= 3 {
                // v3: per-state indexes for the status line, and composer drafts. The new
                // store hands us the upgrade transaction, in which the existing outbox (and
                // every entry already in it) gets its new indexes.
                let drafts = db.create_object_store(DRAFTS).build()?;
                let outbox = drafts.transaction().object_store(OUTBOX)?;
                outbox
                    .create_index(
                        BY_STATE_CREATED,
                        KeyPath::from(vec!["state.state", "createdAt"]),
                    )
                    .build()?;
                outbox
                    .create_index(
                        BY_STATE_DUE,
                        KeyPath::from(vec!["state.state", "nextAttemptAt"]),
                    )
                    .build()?;
            }
            Ok(())
        })
        .await?;
    Ok(db)
}

/// Small key-value records: counters, the last sync time.
pub async fn put_meta<T: Serialize>(db: &Database, key: &str, value: &T) -> Result<(), StoreError> {
    let tx = db
        .transaction(META)
        .with_mode(TransactionMode::Readwrite)
        .build()?;
    tx.object_store(META)?
        .put(to_js(value)?)
        .with_key(key.to_owned())
        .primitive()?
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_meta<T: DeserializeOwned>(
    db: &Database,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let tx = db.transaction(META).build()?;
    let value: Option<JsValue> = tx
        .object_store(META)?
        .get(key.to_owned())
        .primitive()?
        .await?;
    value.map(from_js).transpose()
}

/// A value stored as it is, by structured clone (a `CryptoKey`, which serde cannot carry).
pub async fn put_meta_raw(db: &Database, key: &str, value: &JsValue) -> Result<(), StoreError> {
    let tx = db
        .transaction(META)
        .with_mode(TransactionMode::Readwrite)
        .build()?;
    tx.object_store(META)?
        .put(value.clone())
        .with_key(key.to_owned())
        .primitive()?;
    tx.commit().await?;
    Ok(())
}

pub async fn get_meta_raw(db: &Database, key: &str) -> Result<Option<JsValue>, StoreError> {
    let tx = db.transaction(META).build()?;
    Ok(tx
        .object_store(META)?
        .get(key.to_owned())
        .primitive()?
        .await?)
}

pub async fn delete_meta(db: &Database, key: &str) -> Result<(), StoreError> {
    let tx = db
        .transaction(META)
        .with_mode(TransactionMode::Readwrite)
        .build()?;
    tx.object_store(META)?.delete(key.to_owned()).primitive()?;
    tx.commit().await?;
    Ok(())
}
