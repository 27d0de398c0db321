//! The local copy of the user's threads and messages, drafts and read marks (IndexedDB).
//!
//! Keys sort the way screens read them: `message:{thread}:{sentAt}:{messageId}` lists a
//! thread in `(sentAt, messageId)` order; `pending:{thread}:{cmid}` holds a message the user
//! wrote that the server has not confirmed yet (its entity in the outbox transaction).

use caresync_contract::comms::{MessageDto, ThreadDto};
use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode, KeyRange};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::idb::{from_js, to_js, StoreError, DRAFTS, ENTITIES};

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
    db: Database,
}

impl Cache {
    pub fn new(db: Database) -> Self {
        Cache { db }
    }

    async fn list<T: for<'de> Deserialize<'de>>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        let tx = self.db.transaction(ENTITIES).build()?;
        let store = tx.object_store(ENTITIES)?;
        let found = store
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(prefix_range(prefix))
            .primitive()?
            .await?;
        found.into_iter().map(|v| from_js::<T>(v?)).collect()
    }

    pub async fn threads(&self) -> Result<Vec<ThreadDto>, StoreError> {
        let mut threads: Vec<ThreadDto> = self.list("thread:").await?;
        threads.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        Ok(threads)
    }

    pub async fn thread(&self, id: &str) -> Result<Option<ThreadDto>, StoreError> {
        let tx = self.db.transaction(ENTITIES).build()?;
        let found: Option<JsValue> = tx
            .object_store(ENTITIES)?
            .get(thread_key(id))
            .primitive()?
            .await?;
        found.map(from_js).transpose()
    }

    pub async fn messages(&self, thread: &str) -> Result<Vec<MessageDto>, StoreError> {
        self.list(&format!("message:{thread}:")).await
    }

    pub async fn pending(&self, thread: &str) -> Result<Vec<PendingMessage>, StoreError> {
        self.list(&format!("pending:{thread}:")).await
    }

    /// Replaces the cached thread list with the server's (threads gone from it are removed).
    pub async fn store_threads(&self, threads: &[ThreadDto]) -> Result<(), StoreError> {
        let gone: Vec<String> = self
            .threads()
            .await?
            .into_iter()
            .filter(|o| threads.iter().all(|n| n.thread_id != o.thread_id))
            .map(|o| o.thread_id)
            .collect();
        self.write_threads(threads, &gone).await
    }

    /// Updates one thread (after a reopen, or a local unread count).
    pub async fn store_thread(&self, thread: &ThreadDto) -> Result<(), StoreError> {
        self.write_threads(std::slice::from_ref(thread), &[]).await
    }

    async fn write_threads(
        &self,
        threads: &[ThreadDto],
        gone: &[String],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(ENTITIES)?;
        for id in gone {
            store.delete(thread_key(id)).primitive()?;
        }
        for t in threads {
            store
                .put(to_js(t)?)
                .with_key(thread_key(&t.thread_id))
                .primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores the server's messages; a confirmed copy replaces the user's pending one.
    pub async fn store_messages(
        &self,
        thread: &str,
        messages: &[MessageDto],
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(ENTITIES)?;
        for m in messages {
            store.put(to_js(m)?).with_key(message_key(m)).primitive()?;
            if let Some(cmid) = &m.client_mutation_id {
                store.delete(pending_key(thread, cmid)).primitive()?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_read(&self, message: &str) -> Result<bool, StoreError> {
        let tx = self.db.transaction(ENTITIES).build()?;
        let found: Option<JsValue> = tx
            .object_store(ENTITIES)?
            .get(read_mark_key(message))
            .primitive()?
            .await?;
        Ok(found.is_some())
    }

    pub async fn draft(&self, thread: &str) -> Result<String, StoreError> {
        let tx = self.db.transaction(DRAFTS).build()?;
        let found: Option<JsValue> = tx
            .object_store(DRAFTS)?
            .get(draft_key(thread))
            .primitive()?
            .await?;
        Ok(found.and_then(|v| v.as_string()).unwrap_or_default())
    }

    /// Saved on every keystroke: a reload or a crash keeps what the user typed.
    pub async fn save_draft(&self, thread: &str, text: &str) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(DRAFTS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(DRAFTS)?;
        if text.is_empty() {
            store.delete(draft_key(thread)).primitive()?;
        } else {
            store
                .put(JsValue::from_str(text))
                .with_key(draft_key(thread))
                .primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }
}
