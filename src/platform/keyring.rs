//! The data key of one local database (one tenant and user) and its wraps. The key is made
//! at the first sign-in on a device, kept on disk only wrapped (under the key derived from
//! the user's password), and unwrapped into memory at sign-in or unlock, offline too.

use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast as _;
use web_sys::CryptoKey;

use super::{
    crypto::{self, CryptoError, Place},
    idb::{self, StoreError},
};

/// Where the wraps live in the database's meta store (no secret in the clear).
const KEYRING: &str = "keyring";
/// The device's own key-encryption key, a non-extractable `CryptoKey` ("Keep me signed in").
const DEVICE_KEY: &str = "deviceKey";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("Wrong password")]
    WrongPassword,
    #[error("this device holds no key for this account yet")]
    Missing,
    /// The password the server accepts does not open this device's data, and neither does the
    /// device's key share: the data was locked on another device's terms.
    #[error("This device's saved data was locked with an earlier password and cannot be opened.")]
    Stranded,
    #[error("the server's device key share is malformed")]
    BadShare,
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

/// What is stored: the salt and iteration count of the password key, and the data key's
/// wraps: under the password key, the server's device share, and this device's own key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wraps {
    salt: Vec<u8>,
    iterations: u32,
    password: Vec<u8>,
    #[serde(default)]
    share: Option<Vec<u8>>,
    #[serde(default)]
    device: Option<Vec<u8>>,
}

impl Wraps {
    async fn under_password(
        key: &CryptoKey,
        password: &str,
        iterations: u32,
    ) -> Result<Self, KeyringError> {
        let salt = crypto::random_bytes(crypto::SALT_LEN)?;
        let kek = crypto::password_key_with(password, &salt, iterations).await?;
        Ok(Wraps {
            password: crypto::wrap(key, &kek).await?,
            salt,
            iterations,
            share: None,
            device: None,
        })
    }

    async fn read(db: &Database) -> Result<Option<Self>, KeyringError> {
        Ok(idb::get_meta(db, KEYRING).await?)
    }

    async fn write(&self, db: &Database) -> Result<(), KeyringError> {
        Ok(idb::put_meta(db, KEYRING, self).await?)
    }

    async fn open_with_password(&self, password: &str) -> Result<CryptoKey, KeyringError> {
        let kek = crypto::password_key_with(password, &self.salt, self.iterations).await?;
        Ok(crypto::unwrap(&self.password, &kek).await?)
    }
}

/// The unlocked data key of one database. Dropping it forgets the key.
pub struct Keyring {
    database: String,
    key: CryptoKey,
}

impl Keyring {
    /// Whether this database already has a key (then the password unlocks it).
    pub async fn exists(db: &Database) -> Result<bool, KeyringError> {
        Ok(Wraps::read(db).await?.is_some())
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
        Wraps::under_password(&key, password, iterations)
            .await?
            .write(db)
            .await?;
        Ok(Self::holding(db, key))
    }

    fn holding(db: &Database, key: CryptoKey) -> Self {
        Keyring {
            database: db.name(),
            key,
        }
    }

    /// The data key back from the password, with no network.
    pub async fn unlock(db: &Database, password: &str) -> Result<Self, KeyringError> {
        let wraps = Wraps::read(db).await?.ok_or(KeyringError::Missing)?;
        let key = wraps.open_with_password(password).await?;
        Ok(Self::holding(db, key))
    }

    /// At an online sign-in, where the server has just accepted `password` and handed over
    /// this device's `share`: a database without a key gets one; otherwise the password opens
    /// it, or, when the password was changed on another device, the share does and the
    /// password wrap is renewed. The share wrap is (re)written either way.
    pub async fn sign_in(
        db: &Database,
        password: &str,
        share: Option<&str>,
    ) -> Result<Self, KeyringError> {
        let share = share.map(decode_hex).transpose()?;
        let Some(wraps) = Wraps::read(db).await? else {
            let made = Self::create(db, password).await?;
            if let Some(share) = &share {
                made.wrap_under_share(db, share).await?;
            }
            return Ok(made);
        };
        let keyring = match wraps.open_with_password(password).await {
            Ok(key) => Self::holding(db, key),
            Err(KeyringError::WrongPassword) => {
                let (Some(share), Some(wrapped)) = (&share, &wraps.share) else {
                    return Err(KeyringError::Stranded);
                };
                let kek = crypto::import_wrapping_key(share).await?;
                let key = crypto::unwrap(wrapped, &kek)
                    .await
                    .map_err(|_| KeyringError::Stranded)?;
                let keyring = Self::holding(db, key);
                keyring.rewrap(db, password).await?;
                keyring
            }
            Err(other) => return Err(other),
        };
        if let Some(share) = &share {
            keyring.wrap_under_share(db, share).await?;
        }
        Ok(keyring)
    }

    async fn wrap_under_share(&self, db: &Database, share: &[u8]) -> Result<(), KeyringError> {
        let kek = crypto::import_wrapping_key(share).await?;
        let wrapped = crypto::wrap(&self.key, &kek).await?;
        let mut wraps = Wraps::read(db).await?.ok_or(KeyringError::Missing)?;
        wraps.share = Some(wrapped);
        wraps.write(db).await
    }

    /// A new password wraps the same key (a fresh salt): nothing sealed needs rewriting.
    pub async fn rewrap(&self, db: &Database, password: &str) -> Result<(), KeyringError> {
        let fresh = Wraps::under_password(&self.key, password, crypto::PBKDF2_ITERATIONS).await?;
        let wraps = match Wraps::read(db).await? {
            Some(old) => Wraps {
                share: old.share,
                device: old.device,
                ..fresh
            },
            None => fresh,
        };
        wraps.write(db).await
    }

    /// "Keep me signed in on this device": a third wrap, under a key that never leaves this
    /// browser, so a reload opens the data without the password.
    pub async fn keep_on_device(&self, db: &Database) -> Result<(), KeyringError> {
        let kek = crypto::generate_device_key().await?;
        let wrapped = crypto::wrap(&self.key, &kek).await?;
        let mut wraps = Wraps::read(db).await?.ok_or(KeyringError::Missing)?;
        wraps.device = Some(wrapped);
        idb::put_meta_raw(db, DEVICE_KEY, &kek.into()).await?;
        wraps.write(db).await
    }

    /// The data key from this device's own wrap, if the user chose to stay signed in here.
    pub async fn unlock_on_device(db: &Database) -> Result<Option<Self>, KeyringError> {
        let Some(wrapped) = Wraps::read(db).await?.and_then(|w| w.device) else {
            return Ok(None);
        };
        let Some(kek) = idb::get_meta_raw(db, DEVICE_KEY).await? else {
            return Ok(None);
        };
        let key = crypto::unwrap(&wrapped, &kek.unchecked_into()).await?;
        Ok(Some(Self::holding(db, key)))
    }

    /// Signing out: the device wrap and its key go, so only the password opens the data again.
    pub async fn forget_device(db: &Database) -> Result<(), KeyringError> {
        if let Some(mut wraps) = Wraps::read(db).await? {
            wraps.device = None;
            wraps.write(db).await?;
        }
        Ok(idb::delete_meta(db, DEVICE_KEY).await?)
    }

    /// Crypto-shred: every wrap of the data key goes, so nothing sealed in `db` can be read
    /// again by anyone, before the stores themselves are deleted.
    pub async fn shred(db: &Database) -> Result<(), KeyringError> {
        idb::delete_meta(db, KEYRING).await?;
        Ok(idb::delete_meta(db, DEVICE_KEY).await?)
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

/// The share as the server sends it: 32 bytes in hex.
fn decode_hex(text: &str) -> Result<Vec<u8>, KeyringError> {
    if text.len() != 64 {
        return Err(KeyringError::BadShare);
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or(KeyringError::BadShare)
        })
        .collect()
}
