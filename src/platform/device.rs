//! This device's own database (`caresync:device`): what outlives any one user's readable
//! data on a shared device. It holds the sealed outbox (writes sealed to the server, waiting
//! to go out under their author's replay credential), those credentials, each user's audit
//! chain, and the server's sealing key. Its values are sealed like every store (a data key
//! wrapped under a non-extractable key of this browser), and what matters most in it, the
//! writes, are HPKE envelopes this device cannot open at all.

use std::collections::HashMap;

use caresync_contract::{auth::ReplayCredential, sync::SealingKey};
use caresync_sync::order::{by_number, Direction};
use caresync_sync::{MutationState, NewMutation, OutboxStore as _};

use super::{
    crypto,
    idb::{self, StoreError},
    keyring::{Keyring, KeyringError},
    outbox_store::IdbOutbox,
    sealing::{seal_write, SealError},
    transport::now_ms,
    vault::Vault,
};

pub const DEVICE_DB: &str = "caresync:device";
const SEALING_KEY: &str = "sealingKey";

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("this device's own storage could not be opened: {0}")]
    Keyring(#[from] KeyringError),
    #[error("this device's own storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Seal(#[from] SealError),
}

impl From<indexed_db_futures::error::Error> for DeviceError {
    fn from(err: indexed_db_futures::error::Error) -> Self {
        DeviceError::Store(err.into())
    }
}

/// Where the replay credentials are kept (one sealed record for all authors).
const CREDENTIALS: &str = "replayCredentials";

/// One author's replay credential on this device.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Held {
    tenant: String,
    user: String,
    credential: ReplayCredential,
}

#[derive(Clone)]
pub struct Device {
    vault: Vault,
    /// One audit event at a time in this tab: each reads the chain head and writes the next.
    pub(super) chain: std::rc::Rc<futures::lock::Mutex<()>>,
}

impl Device {
    /// Opens (or makes) the device database and its key, with no password: the key is
    /// wrapped only under this browser's own non-extractable key.
    pub async fn open() -> Result<Self, DeviceError> {
        Self::open_named(DEVICE_DB).await
    }

    /// As [`Device::open`], under another name (tests keep theirs apart).
    pub async fn open_named(name: &str) -> Result<Self, DeviceError> {
        let db = idb::open(name).await?;
        let keyring = match Keyring::unlock_on_device(&db).await? {
            Some(keyring) => keyring,
            // A key exists but this browser's own key for it is gone: making a new one would
            // orphan every sealed write here, so it is said instead.
            None if Keyring::exists(&db).await? => {
                return Err(DeviceError::Keyring(KeyringError::Missing))
            }
            None => {
                // No one types this password: 32 random bytes, so one PBKDF2 round is enough
                // and the wrap under it is never used; the device wrap is the way in.
                let unused = crypto::random_bytes(32).map_err(KeyringError::Crypto)?;
                let keyring =
                    Keyring::create_with(&db, &caresync_envelope::to_hex(&unused), 1).await?;
                keyring.keep_on_device(&db).await?;
                keyring
            }
        };
        Ok(Device {
            vault: Vault::new(db, keyring),
            chain: Default::default(),
        })
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The sealed outbox.
    pub fn outbox(&self) -> IdbOutbox {
        IdbOutbox::new(self.vault.clone())
    }

    /// Keeps `user`'s replay credential (replacing an older one of theirs).
    pub async fn keep_credential(
        &self,
        tenant: &str,
        user: &str,
        credential: &ReplayCredential,
    ) -> Result<(), DeviceError> {
        let mut all: Vec<Held> = self.vault.get_meta(CREDENTIALS).await?.unwrap_or_default();
        all.retain(|h| !(h.tenant == tenant && h.user == user));
        all.push(Held {
            tenant: tenant.to_owned(),
            user: user.to_owned(),
            credential: credential.clone(),
        });
        Ok(self.vault.put_meta(CREDENTIALS, &all).await?)
    }

    /// Every author's credential this device holds, for the sealed outbox's transport.
    pub async fn credential_book(&self) -> Result<HashMap<(String, String), String>, DeviceError> {
        let all: Vec<Held> = self.vault.get_meta(CREDENTIALS).await?.unwrap_or_default();
        Ok(all
            .into_iter()
            .map(|h| ((h.tenant, h.user), h.credential.token))
            .collect())
    }

    pub async fn keep_sealing_key(&self, key: &SealingKey) -> Result<(), DeviceError> {
        Ok(self.vault.put_meta(SEALING_KEY, key).await?)
    }

    pub async fn sealing_key(&self) -> Result<Option<SealingKey>, DeviceError> {
        Ok(self.vault.get_meta(SEALING_KEY).await?)
    }

    /// Seals every write still waiting in a user's outbox (pending, parked or in conflict)
    /// into this device's sealed outbox, in order, and removes it from theirs (its optimistic
    /// record stays, shown as sealed). A write is added here before it leaves there: a crash
    /// in between leaves two copies with one id, and the server keeps one. Returns how many
    /// were sealed.
    pub async fn hand_over(&self, from: &IdbOutbox) -> Result<usize, DeviceError> {
        let key = self.sealing_key().await?.ok_or(SealError::NoKey)?;
        let mut waiting = from.undecided().await?;
        by_number(&mut waiting, Direction::Ascending, |m| m.seq);
        let sealed: Vec<NewMutation> = waiting
            .iter()
            .map(|m| seal_write(&key, m))
            .collect::<Result<_, _>>()?;
        self.outbox().append_many(sealed, now_ms()).await?;
        for m in &waiting {
            from.forget(m.id).await?;
        }
        Ok(waiting.len())
    }

    /// The authors with sealed writes waiting here.
    pub async fn authors(&self) -> Result<Vec<(String, String)>, DeviceError> {
        let mut authors: Vec<(String, String)> = self
            .outbox()
            .undecided()
            .await?
            .into_iter()
            .map(|m| (m.tenant, m.actor))
            .collect();
        authors.sort();
        authors.dedup();
        Ok(authors)
    }

    /// An author's sealed writes the server refused, with their reasons (shown to them).
    pub async fn parked_for(&self, tenant: &str, user: &str) -> Result<usize, DeviceError> {
        Ok(self
            .outbox()
            .blocked()
            .await?
            .iter()
            .filter(|m| m.tenant == tenant && m.actor == user)
            .filter(|m| matches!(m.state, MutationState::Parked { .. }))
            .count())
    }
}
