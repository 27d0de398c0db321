//! The encrypted record layer: every value that may hold PHI passes through a [`Vault`] on
//! its way into IndexedDB and back. A value is JSON sealed with AES-256-GCM (WebCrypto)
//! under the database's data key, bound to its place (database, store, record key), and
//! stored as a `Uint8Array`. Keys and indexes stay in the clear and hold only opaque ids,
//! lanes, states and times.
//!
//! WebCrypto is asynchronous and an IndexedDB transaction commits as soon as it waits on
//! anything else, so stores seal before they open a transaction and open after it ends.

use std::{future::Future, rc::Rc};

use futures::future::try_join_all;
use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode};
use js_sys::Uint8Array;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};

use super::{
    idb::{self, StoreError, META},
    keyring::Keyring,
};

/// One open database and its unlocked data key. Cloning shares both; dropping the last
/// clone forgets the key.
#[derive(Clone)]
pub struct Vault {
    db: Database,
    keyring: Rc<Keyring>,
}

impl Vault {
    pub fn new(db: Database, keyring: Keyring) -> Self {
        Vault {
            db,
            keyring: Rc::new(keyring),
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// `value` as JSON, sealed for record `key` of `store`.
    ///
    /// Only the encoding is generic: the returned future is [`Vault::seal_encoded`]'s, one
    /// function for every `T` (the size budget, docs/benchmarks.md).
    pub fn seal<'a, T: Serialize + ?Sized>(
        &'a self,
        store: &'a str,
        key: &'a str,
        value: &T,
    ) -> impl Future<Output = Result<Uint8Array, StoreError>> + 'a {
        self.seal_encoded(store, key, encode(value))
    }

    async fn seal_encoded(
        &self,
        store: &str,
        key: &str,
        plain: Result<Vec<u8>, StoreError>,
    ) -> Result<Uint8Array, StoreError> {
        self.seal_bytes(store, key, &plain?).await
    }

    /// Bytes as they are (a PDF), sealed for record `key` of `store`.
    pub async fn seal_bytes(
        &self,
        store: &str,
        key: &str,
        plain: &[u8],
    ) -> Result<Uint8Array, StoreError> {
        let sealed = self
            .keyring
            .seal(store, key, plain)
            .await
            .map_err(StoreError::Sealed)?;
        Ok(Uint8Array::from(sealed.as_slice()))
    }

    /// A value sealed for exactly this record, back as `T`.
    pub async fn open<T: DeserializeOwned>(
        &self,
        store: &str,
        key: &str,
        sealed: &Uint8Array,
    ) -> Result<T, StoreError> {
        decode(&self.open_bytes(store, key, sealed).await?)
    }

    /// Bytes sealed for exactly this record.
    pub async fn open_bytes(
        &self,
        store: &str,
        key: &str,
        sealed: &Uint8Array,
    ) -> Result<Vec<u8>, StoreError> {
        self.keyring
            .open(store, key, &sealed.to_vec())
            .await
            .map_err(StoreError::Sealed)
    }

    /// As [`Vault::open_bytes`], for a value read straight from a store.
    pub async fn open_value_bytes(
        &self,
        store: &str,
        key: &str,
        value: &JsValue,
    ) -> Result<Vec<u8>, StoreError> {
        let sealed = value.dyn_ref::<Uint8Array>().ok_or(StoreError::NotSealed)?;
        self.open_bytes(store, key, sealed).await
    }

    /// As [`Vault::open`], for a value read straight from a store.
    pub async fn open_value<T: DeserializeOwned>(
        &self,
        store: &str,
        key: &str,
        value: &JsValue,
    ) -> Result<T, StoreError> {
        decode(&self.open_value_bytes(store, key, value).await?)
    }

    /// Opens many `(key, value)` pairs of one store at once (WebCrypto runs them in parallel).
    pub async fn open_all<T: DeserializeOwned>(
        &self,
        store: &str,
        found: Vec<(String, JsValue)>,
    ) -> Result<Vec<T>, StoreError> {
        decode_all(&self.open_all_bytes(store, found).await?)
    }

    /// The join is here, once, rather than in every `open_all::<T>`.
    pub async fn open_all_bytes(
        &self,
        store: &str,
        found: Vec<(String, JsValue)>,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        try_join_all(
            found
                .iter()
                .map(|(key, value)| self.open_value_bytes(store, key, value)),
        )
        .await
    }

    /// Seals a small secret (the refresh token) into the meta store.
    pub fn put_meta<'a, T: Serialize + ?Sized>(
        &'a self,
        key: &'a str,
        value: &T,
    ) -> impl Future<Output = Result<(), StoreError>> + 'a {
        self.put_meta_encoded(key, encode(value))
    }

    async fn put_meta_encoded(
        &self,
        key: &str,
        plain: Result<Vec<u8>, StoreError>,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_bytes(META, key, &plain?).await?;
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(META)?
            .put(JsValue::from(sealed))
            .with_key(key.to_owned())
            .primitive()?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.get_meta_bytes(key)
            .await?
            .map(|plain| decode(&plain))
            .transpose()
    }

    async fn get_meta_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.transaction(META).build()?;
        let found: Option<JsValue> = tx
            .object_store(META)?
            .get(key.to_owned())
            .primitive()?
            .await?;
        match found {
            Some(value) if !value.is_null() => {
                Ok(Some(self.open_value_bytes(META, key, &value).await?))
            }
            _ => Ok(None),
        }
    }

    pub async fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        idb::delete_meta(&self.db, key).await
    }
}

/// `value` as the JSON a vault seals.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    Ok(super::json::encode(value)?)
}

/// JSON a vault opened, as `T`.
pub fn decode<T: DeserializeOwned>(plain: &[u8]) -> Result<T, StoreError> {
    Ok(super::json::decode(plain)?)
}

/// Each opened value as `T`, in order.
pub fn decode_all<T: DeserializeOwned>(plain: &[Vec<u8>]) -> Result<Vec<T>, StoreError> {
    plain.iter().map(|p| decode(p)).collect()
}
