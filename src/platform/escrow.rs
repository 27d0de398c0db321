//! Escrow on a shared device: every write a user commits there is also sealed to the server
//! (HPKE) and kept, not sent, in the device's own database. Normally it is never needed: the
//! user's own outbox delivers the write, or hands it over sealed at a lock or sign-out, and
//! the copy is dropped. It is needed when the user's key is gone but their outbox is not
//! (a reload, then five wrong passwords): the copies are released into the sealed outbox
//! before the wipe. A copy of a write that did arrive is answered from the server's dedupe
//! table, so exactly-once holds either way.

use std::collections::HashSet;

use caresync_sync::{ClientMutationId, Mutation, NewMutation};
use indexed_db_futures::{prelude::*, transaction::TransactionMode, KeyRange};
use wasm_bindgen::JsValue;

use super::{
    device::{Device, DeviceError},
    idb::ENTITIES,
    sealing::{seal_write, SealError},
    transport::now_ms,
};

fn prefix(tenant: &str, user: &str) -> String {
    format!("escrow:{tenant}:{user}:")
}

/// Keys sort by the write's sequence, so a release keeps the order the user wrote in.
fn key(m: &Mutation) -> String {
    format!("{}{:020}:{}", prefix(&m.tenant, &m.actor), m.seq, m.id)
}

fn range(tenant: &str, user: &str) -> KeyRange<JsValue> {
    let p = prefix(tenant, user);
    KeyRange::Bound(
        JsValue::from_str(&p),
        false,
        JsValue::from_str(&format!("{p}\u{ffff}")),
        false,
    )
}

/// A sealed copy as kept: the write as it would be queued in the sealed outbox.
fn as_new(m: Mutation) -> NewMutation {
    NewMutation {
        id: m.id,
        tenant: m.tenant,
        actor: m.actor,
        kind: m.kind,
        lane: m.lane,
        request: m.request,
        coalesce_key: None,
        versioned: None,
    }
}

impl Device {
    /// Keeps a sealed copy of `m`, just committed by its author on this device.
    pub async fn escrow(&self, m: &Mutation) -> Result<(), DeviceError> {
        let key_pair = self.sealing_key().await?.ok_or(SealError::NoKey)?;
        let sealed = Mutation::from_new(seal_write(&key_pair, m)?, m.seq, now_ms());
        let name = key(m);
        let value = self.vault().seal(ENTITIES, &name, &sealed).await?;
        let tx = self
            .vault()
            .database()
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(ENTITIES)?
            .put(JsValue::from(value))
            .with_key(name)
            .primitive()?;
        tx.commit().await?;
        Ok(())
    }

    /// The copies kept for a user, in the order they wrote them.
    async fn escrowed(&self, tenant: &str, user: &str) -> Result<Vec<Mutation>, DeviceError> {
        let tx = self.vault().database().transaction(ENTITIES).build()?;
        let store = tx.object_store(ENTITIES)?;
        let keys = store
            .get_all_keys::<String>()
            .with_query::<JsValue, _>(range(tenant, user))
            .primitive()?;
        let values = store
            .get_all::<JsValue>()
            .with_query::<JsValue, _>(range(tenant, user))
            .primitive()?;
        let (keys, values) = (keys.await?, values.await?);
        let mut found = Vec::new();
        for (k, v) in keys.into_iter().zip(values) {
            let (k, v) = (k?, v?);
            found.push((k, v));
        }
        Ok(self.vault().open_all(ENTITIES, found).await?)
    }

    /// Drops a user's copies, except those of writes in `keep` (still waiting) and those
    /// numbered from `before` on (committed after `keep` was read, so not judged by it).
    pub async fn drop_escrow(
        &self,
        tenant: &str,
        user: &str,
        keep: &HashSet<ClientMutationId>,
        before: u64,
    ) -> Result<(), DeviceError> {
        let gone: Vec<String> = self
            .escrowed(tenant, user)
            .await?
            .iter()
            .filter(|m| m.seq < before && !keep.contains(&m.id))
            .map(key)
            .collect();
        let tx = self
            .vault()
            .database()
            .transaction(ENTITIES)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(ENTITIES)?;
        for k in gone {
            store.delete(k).primitive()?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's key is gone and their data is about to be: their copies join the sealed
    /// outbox, in order, and are sent under their replay credential. A copy whose write is
    /// there already (handed over before) is not queued twice. Returns the ids now sealed.
    pub async fn release_escrow(
        &self,
        tenant: &str,
        user: &str,
    ) -> Result<HashSet<ClientMutationId>, DeviceError> {
        let outbox = self.outbox();
        let mut sealed: HashSet<ClientMutationId> = outbox
            .undecided()
            .await?
            .into_iter()
            .filter(|m| m.tenant == tenant && m.actor == user)
            .map(|m| m.id)
            .collect();
        let copies: Vec<Mutation> = self
            .escrowed(tenant, user)
            .await?
            .into_iter()
            .filter(|m| !sealed.contains(&m.id))
            .collect();
        sealed.extend(copies.iter().map(|m| m.id));
        if !copies.is_empty() {
            let queued = copies.into_iter().map(as_new).collect();
            outbox.append_many(queued, now_ms()).await?;
        }
        self.drop_escrow(tenant, user, &HashSet::new(), u64::MAX)
            .await?;
        Ok(sealed)
    }
}
