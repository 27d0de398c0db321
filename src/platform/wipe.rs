//! Wiping a user's readable data from a shared device: the key wraps go first
//! (crypto-shred: what is left is ciphertext no key opens), then the database itself.
//! Sealed writes are not here: they wait in the device's own database.

use futures::future::{select, Either};
use indexed_db_futures::database::Database;

use super::{
    keyring::{Keyring, KeyringError},
    session::forget_device,
};

/// How long the deletion may wait for other tabs to let go of the database; the data is
/// unreadable already, and the browser finishes the deletion when they close.
const DELETE_WAIT_MS: u32 = 3_000;

pub async fn wipe(db: Database) -> Result<(), KeyringError> {
    Keyring::shred(&db).await?;
    forget_device(&db).await;
    let name = db.name();
    db.close();
    let deletion = Database::delete_by_name(&name)
        .map_err(|e| KeyringError::Store(super::idb::StoreError::Open(e.to_string())))?;
    let timeout = gloo_timers::future::TimeoutFuture::new(DELETE_WAIT_MS);
    match select(Box::pin(deletion), timeout).await {
        Either::Left((Ok(()), _)) => Ok(()),
        Either::Left((Err(err), _)) => Err(KeyringError::Store(err.into())),
        Either::Right(_) => {
            leptos::logging::warn!(
                "another tab holds this database; it is deleted when that tab closes"
            );
            Ok(())
        }
    }
}
