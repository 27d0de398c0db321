//! The data key of one local database (one tenant and user) and its wraps. The key is made
//! at the first sign-in on a device, kept on disk only wrapped (under the key derived from
//! the user's password), and unwrapped into memory at sign-in or unlock, offline too.

use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};
use web_sys::CryptoKey;

use super::{
    crypto::{self, CryptoError, Place},
    idb::{self, StoreError},
};

/// Where the wraps live in the database's meta store (no secret in the clear).
const KEYRING: &str = "keyring";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("Wrong password")]
    WrongPassword,
    #[error("this device holds no key for this account yet")]
    Missing,
    #[error(transparent)]
    Crypto(CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<CryptoError> for KeyringError {
    fn from(err: CryptoError) -> Self {
        match err {
            CryptoError::WrongPassword => KeyringError::WrongPassword,
            other => KeyringError::Crypto(other),
        }
    }
}

/// What is stored: the salt and iteration count of the password key, and the wrap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wraps {
    salt: Vec<u8>,
    iterations: u32,
    password: Vec<u8>,
}

/// The unlocked data key of one database. Dropping it forgets the key.
pub struct Keyring {
    database: String,
    key: CryptoKey,
}

impl Keyring {
    /// Whether this database already has a key (then the password unlocks it).
    pub async fn exists(db: &Database) -> Result<bool, KeyringError> {
        Ok(idb::get_meta::<Wraps>(db, KEYRING).await?.is_some())
    }

    /// A new random data key for `db`, wrapped under `password`.
    pub async fn create(db: &Database, password: &str) -> Result<Self, KeyringError> {
        Self::create_with(db, password, crypto::PBKDF2_ITERATIONS).await
    }

    /// As [`Keyring::create`], with another PBKDF2 iteration count (tests go lower).
    pub async fn create_with(
        db: &Database,
        password: &str,
        iterations: u32,
    ) -> Result<Self, KeyringError> {
        let key = crypto::generate_data_key().await?;
        let salt = crypto::random_bytes(crypto::SALT_LEN)?;
        let kek = crypto::password_key_with(password, &salt, iterations).await?;
        let wraps = Wraps {
            password: crypto::wrap(&key, &kek).await?,
            salt,
            iterations,
        };
        idb::put_meta(db, KEYRING, &wraps).await?;
        Ok(Keyring {
            database: db.name(),
            key,
        })
    }

    /// The data key back from the password, with no network.
    pub async fn unlock(db: &Database, password: &str) -> Result<Self, KeyringError> {
        let wraps: Wraps = idb::get_meta(db, KEYRING)
            .await?
            .ok_or(KeyringError::Missing)?;
        let kek = crypto::password_key_with(password, &wraps.salt, wraps.iterations).await?;
        let key = crypto::unwrap(&wraps.password, &kek).await?;
        Ok(Keyring {
            database: db.name(),
            key,
        })
    }

    /// A new password wraps the same key (a fresh salt): nothing sealed needs rewriting.
    pub async fn rewrap(&self, db: &Database, password: &str) -> Result<(), KeyringError> {
        let salt = crypto::random_bytes(crypto::SALT_LEN)?;
        let kek = crypto::password_key(password, &salt).await?;
        let wraps = Wraps {
            password: crypto::wrap(&self.key, &kek).await?,
            salt,
            iterations: crypto::PBKDF2_ITERATIONS,
        };
        Ok(idb::put_meta(db, KEYRING, &wraps).await?)
    }

    /// Seals a value for record `key` of `store` in this database.
    pub async fn seal(&self, store: &str, key: &str, plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crypto::seal(&self.key, self.place(store, key), plain).await
    }

    /// Opens a value sealed for exactly this record.
    pub async fn open(
        &self,
        store: &str,
        key: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        crypto::open(&self.key, self.place(store, key), sealed).await
    }

    fn place<'a>(&'a self, store: &'a str, key: &'a str) -> Place<'a> {
        Place {
            database: &self.database,
            store,
            key,
        }
    }
}
