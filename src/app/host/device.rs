//! The device's own side of the app: its database, the runtime that sends its sealed
//! writes whoever is signed in, the service worker's mailbox, and its audit trail.

use std::rc::Rc;

use caresync_sync::{Config, OutboxStore as _};

use crate::platform::{
    courier::Courier,
    device::Device,
    outbox_store::IdbOutbox,
    runtime::{Scope, SyncRuntime},
    session::{self, SignedIn},
    transport::{FetchTransport, ReplayBook},
};

/// This device's own database and the runtime that sends its sealed writes, whoever is
/// signed in (or no one).
#[derive(Clone)]
pub struct DeviceHandle {
    pub device: Device,
    pub sealed: Rc<SyncRuntime>,
    book: ReplayBook,
    /// The service worker's mailbox, where the browser has Background Sync.
    pub(super) courier: Option<Courier>,
}

impl DeviceHandle {
    /// The ids of a user's writes waiting sealed on this device.
    pub async fn sealed_ids(&self, tenant: &str, user: &str) -> std::collections::HashSet<String> {
        self.sealed_of(tenant, user)
            .await
            .into_iter()
            .map(|m| m.id.to_string())
            .collect()
    }

    async fn sealed_of(&self, tenant: &str, user: &str) -> Vec<caresync_sync::Mutation> {
        match self.device.outbox().undecided().await {
            Ok(all) => all
                .into_iter()
                .filter(|m| m.tenant == tenant && m.actor == user)
                .collect(),
            Err(err) => {
                leptos::logging::warn!("{err}");
                Vec::new()
            }
        }
    }

    /// The user's lanes that still have writes sealed here: their later writes wait, so the
    /// server sees each lane in the order it was written.
    pub async fn held_lanes(
        &self,
        tenant: &str,
        user: &str,
    ) -> std::collections::HashSet<caresync_sync::Lane> {
        self.sealed_of(tenant, user)
            .await
            .iter()
            .filter_map(|m| crate::platform::sealing::original_lane(tenant, user, &m.lane))
            .collect()
    }

    /// Copies of writes the user's outbox no longer holds (delivered, or handed over) go.
    pub async fn prune_escrow(&self, s: &SignedIn) {
        // Sequences follow the clock (ms × 1000): a copy numbered from here on was committed
        // after the read below, and is kept whatever that read says.
        let before = crate::platform::transport::now_ms().saturating_mul(1000);
        let waiting = match s.runtime.store().undecided().await {
            Ok(list) => list.into_iter().map(|m| m.id).collect(),
            Err(err) => {
                leptos::logging::warn!("{err}");
                return;
            }
        };
        let (tenant, user) = (&s.user.tenant_id, &s.user.user_id);
        if let Err(err) = self
            .device
            .drop_escrow(tenant, user, &waiting, before)
            .await
        {
            leptos::logging::warn!("{err}");
        }
    }

    /// Opens the device database and starts its sealed outbox's replay.
    pub async fn start() -> Option<Self> {
        let device = match Device::open().await {
            Ok(d) => d,
            Err(err) => {
                leptos::logging::warn!("{err}");
                return None;
            }
        };
        let book = ReplayBook::default();
        let scope = Scope {
            tenant: "device".into(),
            user: "sealed".into(),
        };
        let sealed = SyncRuntime::new(
            IdbOutbox::new(device.vault().clone()),
            FetchTransport::for_sealed("", book.clone()),
            scope,
            Config::default(),
        );
        let courier = match Courier::open().await {
            Ok(courier) => Some(courier),
            Err(err) => {
                leptos::logging::warn!("writes will be sent only while the app is open: {err}");
                None
            }
        };
        if let Some(courier) = &courier {
            sealed.carry_by(courier.clone(), device.clone());
        }
        let handle = DeviceHandle {
            device,
            sealed,
            book,
            courier,
        };
        handle.reload_book().await;
        Some(handle)
    }

    /// The credentials changed (a sign-in here): writes parked because their author's
    /// credential was refused or missing go back in line, and the sealed outbox tries again.
    pub async fn reload_book(&self) {
        match self.device.credential_book().await {
            Ok(book) => *self.book.borrow_mut() = book,
            Err(err) => leptos::logging::warn!("{err}"),
        }
        let refused: Vec<_> = match self.device.outbox().blocked().await {
            Ok(list) => list
                .into_iter()
                .filter(|m| match &m.state {
                    caresync_sync::MutationState::Parked { reason, .. } => {
                        reason.code.as_str() == "REPLAY_REFUSED"
                            && self
                                .book
                                .borrow()
                                .contains_key(&(m.tenant.clone(), m.actor.clone()))
                    }
                    _ => false,
                })
                .map(|m| m.id)
                .collect(),
            Err(err) => {
                leptos::logging::warn!("{err}");
                Vec::new()
            }
        };
        for id in refused {
            if let Err(err) = self
                .sealed
                .resolve(id, caresync_sync::Resolution::Retry)
                .await
            {
                leptos::logging::warn!("a sealed change could not be retried: {err}");
            }
        }
        self.sealed.sync_now();
    }

    /// Raises an audit event for `user`, chained and sealed; a failure is said in the log
    /// (the event's absence then shows as a gap the server reports).
    pub async fn audit(&self, tenant: &str, user: &str, kind: &str, payload: serde_json::Value) {
        if let Err(err) = self.record(tenant, user, kind, payload).await {
            leptos::logging::warn!("an audit event could not be recorded: {err}");
        }
    }

    /// Records an audit event for `user` and starts sending it, or says why it could not.
    pub async fn record(
        &self,
        tenant: &str,
        user: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<(), AuditError> {
        let device_id = session::device_id().ok_or(AuditError::NoDeviceId)?;
        match self
            .device
            .audit(&device_id, tenant, user, kind, payload)
            .await?
        {
            true => {
                self.sealed.sync_now();
                Ok(())
            }
            false => Err(AuditError::NoChain),
        }
    }
}

/// Why an audit event could not be recorded on this device.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("this browser has no device id")]
    NoDeviceId,
    #[error("this device holds no audit trail for this person: sign in again online")]
    NoChain,
    #[error("this device's audit trail could not be written: {0}")]
    Device(#[from] crate::platform::device::DeviceError),
    #[error("this device's own storage is not open")]
    NoDevice,
}
