//! Sealing a database written before encryption (schema v3, plaintext) in place, at its
//! first unlock: every outbox entry, receipt, cached record, draft and session secret is
//! read, sealed, and written back in one transaction, so a crash leaves it all plaintext or
//! all sealed, never half. Pending writes keep their ids, lanes and sequence numbers.

use caresync_sync::Mutation;
use futures::future::try_join_all;
use indexed_db_futures::{
    database::Database,
    prelude::*,
    transaction::{TransactionDurability, TransactionMode, TransactionOptions},
};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};

use super::{
    idb::{from_js, StoreError, DRAFTS, ENTITIES, META, OUTBOX, RECEIPTS},
    outbox_rows::Row,
    session::{REFRESH_TOKEN, USERNAME},
    vault::Vault,
};

/// Written in the same transaction as the last sealed value: from then on nothing in the
/// database is plaintext. Its absence after a key exists means a sealing was cut short.
const SEALED_MARK: &str = "sealedFormat";
const SEALED_FORMAT: &str = "caresync/record/v1";

/// Whether `db` still needs [`seal_in_place`] (a first unlock, or one cut short).
pub async fn needs_sealing(db: &Database) -> Result<bool, StoreError> {
    let tx = db.transaction(META).build()?;
    let mark: Option<JsValue> = tx.object_store(META)?.get(SEALED_MARK).primitive()?.await?;
    Ok(mark.and_then(|m| m.as_string()).as_deref() != Some(SEALED_FORMAT))
}

/// The key-value stores whose every value is sealed whole.
const VALUE_STORES: [&str; 2] = [ENTITIES, DRAFTS];
/// The stores of outbox rows.
const ROW_STORES: [&str; 2] = [OUTBOX, RECEIPTS];
const SECRETS: [&str; 2] = [REFRESH_TOKEN, USERNAME];

/// Whether `db` holds anything written before encryption.
pub async fn holds_plaintext(db: &Database) -> Result<bool, StoreError> {
    let tx = db
        .transaction([OUTBOX, RECEIPTS, ENTITIES, DRAFTS, META])
        .build()?;
    for store in ROW_STORES.into_iter().chain(VALUE_STORES) {
        if tx.object_store(store)?.count().primitive()?.await? > 0 {
            return Ok(true);
        }
    }
    let meta = tx.object_store(META)?;
    for key in SECRETS {
        let found: Option<JsValue> = meta.get(key).primitive()?.await?;
        if found.is_some_and(|v| v.is_string()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A value to write back: store, key (none for rows, which carry theirs), sealed value.
struct Sealed {
    store: &'static str,
    key: Option<String>,
    value: JsValue,
}

/// Seals everything in `vault`'s database that is still plaintext. Returns how many values
/// were sealed.
pub async fn seal_in_place(vault: &Vault) -> Result<usize, StoreError> {
    let plain = read_plaintext(vault.database()).await?;
    let sealed = try_join_all(plain.into_iter().map(|(store, key, value)| async move {
        let value = if ROW_STORES.contains(&store) {
            let m: Mutation = from_js(value)?;
            Row::seal(vault, store, &m).await?.to_js()?
        } else {
            let key = key.as_deref().unwrap_or_default();
            let value: serde_json::Value = from_js(value)?;
            vault.seal(store, key, &value).await?.into()
        };
        Ok::<_, StoreError>(Sealed { store, key, value })
    }))
    .await?;
    let mut options = TransactionOptions::new();
    options.set_durability(TransactionDurability::Strict);
    let tx = vault
        .database()
        .transaction([OUTBOX, RECEIPTS, ENTITIES, DRAFTS, META])
        .with_mode(TransactionMode::Readwrite)
        .with_options(options)
        .build()?;
    tx.object_store(META)?
        .put(JsValue::from_str(SEALED_FORMAT))
        .with_key(SEALED_MARK)
        .primitive()?;
    for s in &sealed {
        let store = tx.object_store(s.store)?;
        match &s.key {
            Some(key) => {
                store
                    .put(s.value.clone())
                    .with_key(key.clone())
                    .primitive()?;
            }
            None => {
                store.put(s.value.clone()).primitive()?;
            }
        }
    }
    tx.commit().await?;
    Ok(sealed.len())
}

/// Every plaintext value: `(store, key, value)`, the key only where it is not in the value.
async fn read_plaintext(
    db: &Database,
) -> Result<Vec<(&'static str, Option<String>, JsValue)>, StoreError> {
    let tx = db
        .transaction([OUTBOX, RECEIPTS, ENTITIES, DRAFTS, META])
        .build()?;
    let mut plain = Vec::new();
    for store in ROW_STORES {
        for value in tx
            .object_store(store)?
            .get_all::<JsValue>()
            .primitive()?
            .await?
        {
            let value = value?;
            // A row already sealed carries its ciphertext in `sealed`.
            if !Reflect::has(&value, &"sealed".into()).unwrap_or(false) {
                plain.push((store, None, value));
            }
        }
    }
    for store in VALUE_STORES {
        let s = tx.object_store(store)?;
        let keys = s.get_all_keys::<String>().primitive()?.await?;
        let values = s.get_all::<JsValue>().primitive()?.await?;
        for (key, value) in keys.into_iter().zip(values) {
            let value = value?;
            if !value.is_instance_of::<Uint8Array>() {
                plain.push((store, Some(key?), value));
            }
        }
    }
    let meta = tx.object_store(META)?;
    for key in SECRETS {
        let found: Option<JsValue> = meta.get(key).primitive()?.await?;
        if let Some(value) = found.filter(JsValue::is_string) {
            plain.push((META, Some(key.to_owned()), value));
        }
    }
    Ok(plain)
}
