//! Coming back after a reload, online or not: the last user's database is opened, and its
//! data key is unwrapped by this device's own key ("Keep me signed in") or, failing that,
//! by the password typed on the Unlock screen. Nothing here needs the network.

use indexed_db_futures::database::Database;

use super::{
    idb::{self, StoreError},
    keyring::{Keyring, KeyringError},
    migrate,
    session::{forget_device, local_storage, SignedIn, UserInfo, HINT},
    vault::Vault,
};

/// A database on this device whose key is not in memory: the Unlock screen's subject.
pub struct Locked {
    pub user: UserInfo,
    db: Database,
    /// False for a database written before encryption: the first unlock seals it in place.
    sealed: bool,
    /// A shared device: "Locked", and five wrong passwords in a row wipe.
    pub shared: bool,
}

/// What a reload finds.
pub enum Restored {
    SignedIn(SignedIn),
    Locked(Locked),
}

#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("Wrong password")]
    WrongPassword,
    #[error("This device could not open its local storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Keyring(KeyringError),
}

impl From<KeyringError> for UnlockError {
    fn from(err: KeyringError) -> Self {
        match err {
            KeyringError::WrongPassword => UnlockError::WrongPassword,
            KeyringError::Store(err) => UnlockError::Store(err),
            other => UnlockError::Keyring(other),
        }
    }
}

impl Locked {
    /// The password unwraps the data key, offline. A database from before encryption cannot
    /// check a password offline: the one typed becomes its password, and the first online
    /// sign-in adds the device share.
    pub async fn unlock(&self, password: &str) -> Result<SignedIn, UnlockError> {
        let keyring = if self.sealed {
            Keyring::unlock(&self.db, password).await?
        } else {
            Keyring::create(&self.db, password).await?
        };
        let vault = Vault::new(self.db.clone(), keyring);
        if migrate::needs_sealing(&self.db).await? {
            migrate::seal_in_place(&vault).await?;
        }
        Ok(SignedIn::resume(vault, self.user.clone(), self.shared).await?)
    }

    /// The screen of a signed-in user locked by idleness: their key has left memory.
    pub fn after_idle(user: UserInfo, db: Database) -> Self {
        Locked {
            user,
            db,
            sealed: true,
            shared: true,
        }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Where the count of wrong passwords in a row is kept: in the profile, so a reload does
    /// not start the count again (a number, not PHI).
    fn failures_key(&self) -> String {
        format!("caresync.unlock-failures:{}", self.user.database())
    }

    /// One more wrong password in a row; returns the count.
    pub fn record_failure(&self) -> u32 {
        let key = self.failures_key();
        let storage = local_storage();
        let before = storage
            .as_ref()
            .and_then(|s| s.get_item(&key).ok().flatten())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0);
        let now = before.saturating_add(1);
        if let Some(s) = storage {
            if s.set_item(&key, &now.to_string()).is_err() {
                leptos::logging::warn!("could not count the wrong password");
            }
        }
        now
    }

    pub fn clear_failures(&self) {
        if let Some(s) = local_storage() {
            if s.remove_item(&self.failures_key()).is_err() {
                leptos::logging::warn!("could not reset the count of wrong passwords");
            }
        }
    }

    /// The ids of the writes still in this user's own outbox, from the clear index alone (no
    /// key needed): what a wipe must not lose.
    pub async fn waiting_ids(
        &self,
    ) -> Result<std::collections::HashSet<caresync_sync::ClientMutationId>, StoreError> {
        use indexed_db_futures::prelude::*;
        let tx = self.db.transaction(idb::OUTBOX).build()?;
        let keys = tx
            .object_store(idb::OUTBOX)?
            .get_all_keys::<String>()
            .primitive()?
            .await?;
        let mut ids = std::collections::HashSet::new();
        for key in keys {
            if let Ok(id) = key?.parse() {
                ids.insert(id);
            }
        }
        Ok(ids)
    }

    /// "Sign out" on the Unlock screen: nothing is opened and nothing is deleted but the
    /// device wrap; the next sign-in on this device asks for the password again.
    pub async fn sign_out(&self) {
        forget_device(&self.db).await;
        self.db.clone().close();
    }
}

/// The last user's hint, which `restore` starts from.
fn hint() -> Option<String> {
    local_storage()?.get_item(HINT).ok()?
}

/// Whether a reload has anything to restore: without the hint `restore` finds nothing, so a
/// first visit shows the sign-in form at once instead of waiting for the session to load.
pub fn has_hint() -> bool {
    hint().is_some()
}

/// The user who last signed in here, with no network: signed in again at once if they chose
/// to stay signed in on this device, otherwise locked until they type their password.
pub async fn restore() -> Option<Restored> {
    let hint = hint()?;
    let user: UserInfo = super::json::decode_str(&hint).ok()?;
    let db = idb::open(&user.database()).await.ok()?;
    let sealed = Keyring::exists(&db).await.ok()?;
    let shared = super::device_class::is_shared(
        super::device_class::cached(&user.tenant_id).as_ref(),
        super::device_class::remembered_shared(),
    );
    if !sealed && !migrate::holds_plaintext(&db).await.ok()? {
        return None;
    }
    if sealed {
        match Keyring::unlock_on_device(&db).await {
            Ok(Some(keyring)) => {
                let vault = Vault::new(db.clone(), keyring);
                match SignedIn::resume(vault, user.clone(), shared).await {
                    Ok(signed_in) => return Some(Restored::SignedIn(signed_in)),
                    Err(err) => leptos::logging::warn!("could not reopen the session: {err}"),
                }
            }
            Ok(None) => {}
            Err(err) => leptos::logging::warn!("this device's key did not open its data: {err}"),
        }
    }
    Some(Restored::Locked(Locked {
        user,
        db,
        sealed,
        shared,
    }))
}
