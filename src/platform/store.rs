//! The local IndexedDB database: one per tenant and user, opened at a versioned schema.

use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode};
use serde::{de::DeserializeOwned, Serialize};

/// The schema version this build writes. Each upgrade step runs in order from the old version.
pub const SCHEMA_VERSION: u32 = 1;
const META: &str = "meta";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the local database: {0}")]
    Open(String),
    #[error("local database operation failed: {0}")]
    Op(String),
}

impl From<indexed_db_futures::error::Error> for StoreError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        StoreError::Op(e.to_string())
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

pub struct Store {
    db: Database,
}

impl Store {
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let db = Database::open(name)
            .with_version(SCHEMA_VERSION)
            .with_on_upgrade_needed(|event, db| {
                let old = event.old_version() as u32;
                if old < 1 {
                    db.create_object_store(META).build()?;
                }
                Ok(())
            })
            .await?;
        Ok(Self { db })
    }

    pub fn close(self) {
        self.db.close();
    }

    /// Writes one small record, committed durably before returning.
    pub async fn put_meta<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(META)?;
        store.put(value).with_key(key.to_owned()).serde()?.await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let tx = self.db.transaction(META).build()?;
        let store = tx.object_store(META)?;
        let value = store.get(key.to_owned()).serde()?.await?;
        Ok(value)
    }
}
