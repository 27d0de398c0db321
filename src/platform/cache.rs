//! The local copy of the user's threads and messages, drafts and read marks (IndexedDB).
//!
//! Keys sort the way screens read them: `message:{thread}:{sentAt}:{messageId}` lists a
//! thread in `(sentAt, messageId)` order; `pending:{thread}:{cmid}` holds a message the user
//! wrote that the server has not confirmed yet (its entity in the outbox transaction).
//! Keys hold only opaque ids and times; every value is sealed by the [`Vault`].

use std::future::Future;

use caresync_contract::comms::{MessageDto, ThreadDto};
use caresync_sync::order::{by_text, Direction};
use futures::future::try_join_all;
use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode, KeyRange};
use js_sys::Uint8Array;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};

use super::{
    idb::{StoreError, DRAFTS, ENTITIES},
    vault::{decode, decode_all, encode, Vault},
};

/// `(key, value)` pairs as the JSON a vault seals.
fn encode_all<'a, T: Serialize + 'a>(
    records: impl IntoIterator<Item = (&'a String, &'a T)>,
) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    records
        .into_iter()
        .map(|(key, value)| Ok((key.clone(), encode(value)?)))
        .collect()
}

pub fn thread_key(thread: &str) -> String {
    format!("thread:{thread}")
}

pub fn message_key(m: &MessageDto) -> String {
    format!("message:{}:{}:{}", m.thread_id, m.sent_at, m.message_id)
}

pub fn pending_key(thread: &str, cmid: &str) -> String {
    format!("pending:{thread}:{cmid}")
}

pub fn read_mark_key(message: &str) -> String {
    format!("readmark:{message}")
}

fn draft_key(thread: &str) -> String {
    format!("draft:{thread}")
}

/// A message the user wrote, shown at once and reconciled with the server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingMessage {
    pub client_mutation_id: String,
    pub thread_id: String,
    pub body: String,
    pub client_sent_at: String,
    /// Filled in from the server's answer on delivery.
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub sent_at: Option<String>,
}

/// Every key starting with `prefix`.
fn prefix_range(prefix: &str) -> KeyRange<JsValue> {
    KeyRange::Bound(
        JsValue::from_str(prefix),
        false,
        JsValue::from_str(&format!("{prefix}\u{ffff}")),
        false,
    )
}

#[derive(Clone)]
pub struct Cache {
    vault: Vault,
}

impl Cache {
    pub fn new(vault: Vault) -> Self {
        Cache { vault }
    }

    fn db(&self) -> &Database {
        self.vault.database()
    }

    /// Every record under `prefix`, in key order, opened.
    pub async fn all<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        decode_all(&self.all_bytes(prefix).await?)
    }

    /// The reads and the opening are here, once, rather than in every `all::<T>`.
    async fn all_bytes(&self, prefix: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let tx = self.db().transaction(ENTITIES).build()?;
        let store = tx.object_store(ENTITIES)?;
        let range = || prefix_range(prefix);
        let keys = store
            .get_all_keys::<String>()
            .with_query::<JsValue, _>(range())
            .primitive()?;
        let values = store
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range())
            .primitive()?;
        let (keys, values) = (keys.await?, values.await?);
        let found = keys
            .into_iter()
            .zip(values)
            .map(|(k, v)| Ok((k?, v?)))
            .collect::<Result<Vec<_>, indexed_db_futures::error::Error>>()?;
        self.vault.open_all_bytes(ENTITIES, found).await
    }

    /// One record as stored (sealed), if there is one.
    async fn read(&self, store: &str, key: &str) -> Result<Option<JsValue>, StoreError> {
        let tx = self.db().transaction(store).build()?;
        Ok(tx
            .object_store(store)?
            .get(key.to_owned())
            .primitive()?
            .await?)
    }

    /// One record, opened.
    async fn get<T: DeserializeOwned>(
        &self,
        store: &str,
        key: String,
    ) -> Result<Option<T>, StoreError> {
        self.get_bytes(store, &key)
            .await?
            .map(|plain| decode(&plain))
            .transpose()
    }

    async fn get_bytes(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.read(store, key).await? {
            Some(value) => Ok(Some(self.vault.open_value_bytes(store, key, &value).await?)),
            None => Ok(None),
        }
    }

    /// Sealed records put (`Some`) or removed (`None`), in one transaction of `store`.
    async fn write(
        &self,
        store: &str,
        records: Vec<(String, Option<Uint8Array>)>,
    ) -> Result<(), StoreError> {
        let tx = self
            .db()
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let object_store = tx.object_store(store)?;
        for (key, sealed) in records {
            match sealed {
                Some(sealed) => {
                    object_store
                        .put(JsValue::from(sealed))
                        .with_key(key)
                        .primitive()?;
                }
                None => {
                    object_store.delete(key).primitive()?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// `(key, value)` pairs encoded and sealed for `store`, all at once.
    async fn seal_all(
        &self,
        store: &str,
        records: Result<Vec<(String, Vec<u8>)>, StoreError>,
    ) -> Result<Vec<(String, JsValue)>, StoreError> {
        try_join_all(records?.into_iter().map(|(key, plain)| async move {
            let sealed = self.vault.seal_bytes(store, &key, &plain).await?;
            Ok::<_, StoreError>((key, JsValue::from(sealed)))
        }))
        .await
    }

    /// Replaces every record under `prefix` with `records` (`(key, value)`), in one
    /// transaction: a list from the server, whole (stale-while-revalidate).
    pub fn replace_all<'a, T: Serialize>(
        &'a self,
        prefix: &'a str,
        records: &[(String, T)],
    ) -> impl Future<Output = Result<(), StoreError>> + 'a {
        self.replace_all_encoded(prefix, encode_all(records.iter().map(|(k, v)| (k, v))))
    }

    async fn replace_all_encoded(
        &self,
        prefix: &str,
        records: Result<Vec<(String, Vec<u8>)>, StoreError>,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_all(ENTITIES, records).await?;
        let tx = self
            .db()
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(ENTITIES)?;
        store
            .delete::<JsValue, _>(prefix_range(prefix))
            .primitive()?;
        for (key, value) in sealed {
            store.put(value).with_key(key).primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn threads(&self) -> Result<Vec<ThreadDto>, StoreError> {
        let mut threads: Vec<ThreadDto> = self.all("thread:").await?;
        by_text(&mut threads, Direction::Descending, |t| &t.updated_at);
        Ok(threads)
    }

    pub async fn thread(&self, id: &str) -> Result<Option<ThreadDto>, StoreError> {
        self.get(ENTITIES, thread_key(id)).await
    }

    pub async fn messages(&self, thread: &str) -> Result<Vec<MessageDto>, StoreError> {
        self.all(&format!("message:{thread}:")).await
    }

    pub async fn pending(&self, thread: &str) -> Result<Vec<PendingMessage>, StoreError> {
        self.all(&format!("pending:{thread}:")).await
    }

    /// Replaces the cached thread list with the server's (threads gone from it are removed).
    pub async fn store_threads(&self, threads: &[ThreadDto]) -> Result<(), StoreError> {
        let records: Vec<(String, &ThreadDto)> = threads
            .iter()
            .map(|t| (thread_key(&t.thread_id), t))
            .collect();
        self.replace_all("thread:", &records).await
    }

    /// Updates one thread (after a reopen, or a local unread count).
    pub async fn store_thread(&self, thread: &ThreadDto) -> Result<(), StoreError> {
        let plain = encode(thread).map(Some);
        self.put_one(ENTITIES, &thread_key(&thread.thread_id), plain)
            .await
    }

    /// Stores the server's messages; a confirmed copy replaces the user's pending one.
    pub async fn store_messages(
        &self,
        thread: &str,
        messages: &[MessageDto],
    ) -> Result<(), StoreError> {
        let keys: Vec<String> = messages.iter().map(message_key).collect();
        let sealed = self
            .seal_all(ENTITIES, encode_all(keys.iter().zip(messages)))
            .await?;
        let tx = self
            .db()
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(ENTITIES)?;
        for (m, (key, value)) in messages.iter().zip(sealed) {
            store.put(value).with_key(key).primitive()?;
            if let Some(cmid) = &m.client_mutation_id {
                store.delete(pending_key(thread, cmid)).primitive()?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_read(&self, message: &str) -> Result<bool, StoreError> {
        Ok(self
            .read(ENTITIES, &read_mark_key(message))
            .await?
            .is_some())
    }

    pub async fn draft(&self, thread: &str) -> Result<String, StoreError> {
        Ok(self
            .draft_value::<String>(&draft_key(thread))
            .await?
            .unwrap_or_default())
    }

    /// Saved on every keystroke: a reload or a crash keeps what the user typed.
    pub async fn save_draft(&self, thread: &str, text: &str) -> Result<(), StoreError> {
        let text = (!text.is_empty()).then_some(text);
        self.save_draft_value(&draft_key(thread), text).await
    }

    /// Any draft by its key (a visit's complaint and photos, say).
    pub async fn draft_value<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get(DRAFTS, key.to_owned()).await
    }

    /// Saves a draft under `key`, sealed; `None` removes it.
    pub fn save_draft_value<'a, T: Serialize + ?Sized>(
        &'a self,
        key: &'a str,
        value: Option<&T>,
    ) -> impl Future<Output = Result<(), StoreError>> + 'a {
        self.put_one(DRAFTS, key, value.map(encode).transpose())
    }

    /// One record of the entities store, opened.
    pub async fn entity<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.get(ENTITIES, key.to_owned()).await
    }

    /// Keeps one record of the entities store, sealed; `None` removes it.
    pub fn put_entity<'a, T: Serialize + ?Sized>(
        &'a self,
        key: &'a str,
        value: Option<&T>,
    ) -> impl Future<Output = Result<(), StoreError>> + 'a {
        self.put_one(ENTITIES, key, value.map(encode).transpose())
    }

    /// Bytes (a PDF) and the record that describes them, sealed and written together: the
    /// record is never there without its bytes.
    pub fn put_with_bytes<'a, T: Serialize>(
        &'a self,
        (key, value): (&'a str, &T),
        bytes: (&'a str, &'a [u8]),
    ) -> impl Future<Output = Result<(), StoreError>> + 'a {
        self.put_encoded_with_bytes((key, encode(value)), bytes)
    }

    async fn put_encoded_with_bytes(
        &self,
        (key, plain): (&str, Result<Vec<u8>, StoreError>),
        (bytes_key, bytes): (&str, &[u8]),
    ) -> Result<(), StoreError> {
        let record = self.vault.seal_bytes(ENTITIES, key, &plain?).await?;
        let sealed = self.vault.seal_bytes(ENTITIES, bytes_key, bytes).await?;
        self.write(
            ENTITIES,
            vec![
                (bytes_key.to_owned(), Some(sealed)),
                (key.to_owned(), Some(record)),
            ],
        )
        .await
    }

    /// Bytes kept with [`Cache::put_with_bytes`], opened.
    pub async fn bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(value) = self.read(ENTITIES, key).await? else {
            return Ok(None);
        };
        let sealed = value.dyn_ref::<Uint8Array>().ok_or(StoreError::NotSealed)?;
        Ok(Some(self.vault.open_bytes(ENTITIES, key, sealed).await?))
    }

    /// Removes records of the entities store, together.
    pub async fn remove_entities(&self, keys: &[String]) -> Result<(), StoreError> {
        self.write(ENTITIES, keys.iter().map(|k| (k.clone(), None)).collect())
            .await
    }

    /// One encoded record of `store`, sealed, in its own transaction; `None` removes it.
    async fn put_one(
        &self,
        store: &str,
        key: &str,
        plain: Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<(), StoreError> {
        let sealed = match plain? {
            None => None,
            Some(plain) => Some(self.vault.seal_bytes(store, key, &plain).await?),
        };
        self.write(store, vec![(key.to_owned(), sealed)]).await
    }
}
