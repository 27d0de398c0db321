//! Appending to the IndexedDB outbox: one write with its entity change (and, for the audit
//! chain, a meta record) in one strict transaction, or many writes at once. Everything is
//! sealed before the transaction opens; the sequence is clear and set inside it.

use caresync_sync::{Millis, Mutation, NewMutation};
use indexed_db_futures::{prelude::*, transaction::TransactionMode};
use wasm_bindgen::JsValue;

use super::{
    idb::{StoreError, ENTITIES, META, OUTBOX},
    outbox_rows::Row,
    outbox_store::{strict, EntityChange, IdbOutbox},
};

impl IdbOutbox {
    /// Appends a write with its entity change and, in the same transaction, a sealed meta
    /// record (`(key, sealed value)`): the audit chain's head moves with its event, or not.
    pub async fn append_with(
        &self,
        new: NewMutation,
        change: Option<EntityChange>,
        meta_change: Option<(String, js_sys::Uint8Array)>,
        now: Millis,
    ) -> Result<Mutation, StoreError> {
        let mut mutation = Mutation::from_new(new, 0, now);
        mutation.entity_key = change.as_ref().map(|c| c.key.clone());
        // Both sealed before the transaction, at once; the sequence is clear and set inside.
        let entity = async {
            match &change {
                Some(c) => Ok(Some(self.vault().seal(ENTITIES, &c.key, &c.value).await?)),
                None => Ok::<_, StoreError>(None),
            }
        };
        let (mut row, entity) =
            futures::future::try_join(Row::seal(self.vault(), OUTBOX, &mutation), entity).await?;
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES, META])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let meta = tx.object_store(META)?;
        let stored = self.stored_seq(&meta).await?;
        let seq = self.next_seq(stored, now);
        meta.put(JsValue::from_f64(seq as f64))
            .with_key("seq")
            .primitive()?;
        if let Some((key, sealed)) = meta_change {
            meta.put(JsValue::from(sealed)).with_key(key).primitive()?;
        }
        mutation.seq = seq;
        row.seq = seq;
        self.note_lane(&mutation.lane);
        tx.object_store(OUTBOX)?.add(row.to_js()?).primitive()?;
        if let (Some(change), Some(sealed)) = (change, entity) {
            tx.object_store(ENTITIES)?
                .put(JsValue::from(sealed))
                .with_key(change.key)
                .primitive()?;
        }
        tx.commit().await?;
        Ok(mutation)
    }

    /// Queues many writes in one transaction (an import, or a benchmark's 10,000-entry
    /// backlog); each still gets its own sequence number in order.
    pub async fn append_many(
        &self,
        writes: Vec<NewMutation>,
        now: Millis,
    ) -> Result<usize, StoreError> {
        // Sealed before the transaction; the sequence is clear and set inside it.
        let unnumbered: Vec<Mutation> = writes
            .into_iter()
            .map(|new| Mutation::from_new(new, 0, now))
            .collect();
        let sealed = Row::seal_all(self.vault(), OUTBOX, &unnumbered).await?;
        let tx = self
            .database()
            .transaction([OUTBOX, META])
            .with_mode(TransactionMode::Readwrite)
            .with_options(strict())
            .build()?;
        let meta = tx.object_store(META)?;
        let stored = self.stored_seq(&meta).await?;
        let outbox = tx.object_store(OUTBOX)?;
        let n = sealed.len();
        let mut seq = stored;
        for mut row in sealed {
            seq = self.next_seq(stored, now);
            row.seq = seq;
            self.note_lane(&row.lane);
            outbox.add(row.to_js()?).primitive()?;
        }
        meta.put(JsValue::from_f64(seq as f64))
            .with_key("seq")
            .primitive()?;
        tx.commit().await?;
        Ok(n)
    }
}
