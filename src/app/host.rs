//! Starts and ends sessions, locks them, and keeps the device's sealed outbox running.
//! Each session's replay triggers live under their own child of the app's reactive owner,
//! so they outlive the page that signed in and end at sign-out or lock.

use std::rc::Rc;

use caresync_sync::{Config, OutboxStore as _};
use leptos::prelude::*;

use crate::platform::{
    audit::kind,
    courier::Courier,
    device::Device,
    locked::Locked,
    outbox_store::IdbOutbox,
    runtime::{Scope, SyncRuntime},
    session::{self, SignedIn},
    transport::{FetchTransport, ReplayBook},
    wipe,
};

/// The signed-in user's data and sync runtime, or nobody.
pub type Session = RwSignal<Option<Rc<SignedIn>>, LocalStorage>;

/// This device's own database and the runtime that sends its sealed writes, whoever is
/// signed in (or no one).
#[derive(Clone)]
pub struct DeviceHandle {
    pub device: Device,
    pub sealed: Rc<SyncRuntime>,
    book: ReplayBook,
    /// The service worker's mailbox, where the browser has Background Sync.
    courier: Option<Courier>,
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

#[derive(Clone, Copy)]
pub struct SessionHost {
    pub session: Session,
    /// A database on this device waiting for its password (the Unlock screen).
    pub locked: RwSignal<Option<Rc<Locked>>, LocalStorage>,
    /// Said on the sign-in screen after a sign-out or a wipe.
    pub farewell: RwSignal<Option<String>>,
    pub device: RwSignal<Option<DeviceHandle>, LocalStorage>,
    pub(super) app: StoredValue<Owner, LocalStorage>,
    pub(super) current: StoredValue<Option<Owner>, LocalStorage>,
}

impl SessionHost {
    pub fn begin(&self, signed_in: SignedIn) {
        let signed_in = Rc::new(signed_in);
        let owner = self.app.with_value(|app| app.with(Owner::new));
        if let Some((courier, device)) = self
            .device
            .get_untracked()
            .and_then(|d| Some((d.courier?, d.device)))
        {
            signed_in.runtime.carry_by(courier, device);
        }
        match (signed_in.shared, self.device.get_untracked()) {
            // Replay starts once the lanes with writes still sealed here are held.
            (true, Some(device)) => {
                let (s, host, start) = (signed_in.clone(), *self, owner.clone());
                leptos::task::spawn_local(async move {
                    let lanes = device.held_lanes(&s.user.tenant_id, &s.user.user_id).await;
                    s.runtime.hold_lanes(lanes).await;
                    start.with(|| {
                        s.runtime.start();
                        host.hold_sealed_lanes(&s);
                    });
                });
            }
            _ => owner.with(|| signed_in.runtime.start()),
        }
        self.current.set_value(Some(owner));
        self.locked.set(None);
        self.farewell.set(None);
        let device = self.device.get_untracked();
        if let (Some(device), true) = (&device, signed_in.shared) {
            signed_in.runtime.keep_copies_in(device.device.clone());
        }
        self.session.set(Some(signed_in.clone()));
        if let Some(device) = device {
            leptos::task::spawn_local(async move {
                device.reload_book().await;
                if signed_in.shared {
                    device.prune_escrow(&signed_in).await;
                }
            });
        }
    }

    /// While the device's sealed outbox still holds earlier writes of this user's lanes, their
    /// later writes wait: looked at again whenever the sealed outbox changes.
    fn hold_sealed_lanes(&self, signed_in: &Rc<SignedIn>) {
        let device = self.device;
        let held = StoredValue::new_local(signed_in.clone());
        Effect::new(move |_| {
            let Some(d) = device.get() else { return };
            d.sealed.status.revision.track();
            let s = held.get_value();
            leptos::task::spawn_local(async move {
                let lanes = d.held_lanes(&s.user.tenant_id, &s.user.user_id).await;
                s.runtime.hold_lanes(lanes).await;
            });
        });
    }

    /// Stops the session's replay and takes it out of every screen.
    fn detach(&self) -> Option<Rc<SignedIn>> {
        if let Some(owner) = self.current.try_update_value(Option::take).flatten() {
            owner.cleanup();
        }
        self.session.try_update(Option::take).flatten()
    }

    /// Sign-out on a personal device: the sealed data stays for the user's next visit.
    pub fn end(&self) {
        if let Some(signed_in) = self.detach() {
            self.farewell.set(Some(
                "You are signed out. Your messages stay on this device, encrypted; sign in again to open them.".into(),
            ));
            leptos::task::spawn_local(async move { signed_in.sign_out().await });
        }
    }

    /// Sign-out on a shared device, after the pending writes were flushed, sealed or
    /// discarded: the user's readable data is destroyed.
    pub async fn end_and_wipe(&self) {
        let Some(signed_in) = self.detach() else {
            return;
        };
        // Whatever waited was handed over or discarded: the courier carries only the
        // device's sealed outbox from now on.
        signed_in.runtime.hand_to_courier(true).await;
        // Whatever waited was handed over or discarded: no copy may outlive that choice.
        if let Some(device) = self.device.get_untracked() {
            device.prune_escrow(&signed_in).await;
        }
        let user = signed_in.user.clone();
        signed_in.end_server_session().await;
        let db = signed_in.db().clone();
        drop(signed_in);
        self.audit_for(
            &user.tenant_id,
            &user.user_id,
            kind::WIPED,
            serde_json::json!({"reason": "sign_out"}),
        )
        .await;
        let said = match wipe::wipe(db).await {
            Ok(()) => {
                "You are signed out, and your data was removed from this shared device.".to_owned()
            }
            Err(err) => format!(
                "You are signed out, but this device's data could not be fully removed: {err}"
            ),
        };
        self.farewell.set(Some(said));
    }

    /// The idle lock: waiting writes are sealed into the device's outbox (they go on being
    /// sent), then the session and its key leave memory.
    pub async fn lock(&self) {
        let Some(signed_in) = self.session.get_untracked() else {
            return;
        };
        // The Locked screen goes up first: nothing of the user's stays on screen, and no page
        // sees "signed out" and navigates away, so unlocking returns to the same screen.
        let (user, db) = (signed_in.user.clone(), signed_in.db().clone());
        self.locked
            .set(Some(Rc::new(Locked::after_idle(user.clone(), db))));
        drop(self.detach());
        // Then, with the key still held here only, the waiting writes are sealed over once
        // nothing of theirs is on the wire.
        signed_in.runtime.quiesce().await;
        if let Some(device) = self.device.get_untracked() {
            match device.device.hand_over(signed_in.runtime.store()).await {
                Ok(_) => {
                    signed_in.runtime.hand_to_courier(true).await;
                    device.prune_escrow(&signed_in).await
                }
                Err(err) => {
                    leptos::logging::warn!("waiting changes could not be sealed at the lock: {err}")
                }
            }
            device.sealed.sync_now();
        }
        drop(signed_in);
        self.audit_for(
            &user.tenant_id,
            &user.user_id,
            kind::LOCKED,
            serde_json::json!({"reason": "idle"}),
        )
        .await;
    }

    /// Wipes a locked shared device's user data: after five wrong passwords, or "Sign out"
    /// on the Locked screen. The key is gone with the password, so what the user's outbox
    /// still holds goes out from the sealed copies kept at each commit. A write with no copy
    /// would be lost: "Sign out" then refuses (the user can unlock and decide), and the
    /// five-strike wipe says how many, in words and in the audit event.
    pub async fn wipe_locked(&self, reason: &str, said: &str) -> Result<(), String> {
        let Some(locked) = self.locked.get_untracked() else {
            return Ok(());
        };
        let user = locked.user.clone();
        let waiting = locked.waiting_ids().await.map_err(|e| e.to_string())?;
        let sealed = match self.device.get_untracked() {
            Some(device) => {
                let sealed = device
                    .device
                    .release_escrow(&user.tenant_id, &user.user_id)
                    .await
                    .map_err(|e| e.to_string())?;
                device.sealed.sync_now();
                sealed
            }
            None => Default::default(),
        };
        let lost = waiting.iter().filter(|id| !sealed.contains(id)).count();
        if lost > 0 && reason == "sign_out" {
            return Err(format!(
                "{lost} changes on this device have no sealed copy yet. Unlock, then sign out to keep or discard them."
            ));
        }
        self.locked.set(None);
        locked.clear_failures();
        let payload = serde_json::json!({"reason": reason, "waiting": waiting.len(), "lost": lost});
        self.audit_for(&user.tenant_id, &user.user_id, kind::WIPED, payload)
            .await;
        let db = locked.database().clone();
        drop(locked);
        let mut said = match wipe::wipe(db).await {
            Ok(()) => said.to_owned(),
            Err(err) => format!("The data could not be fully removed: {err}"),
        };
        if lost > 0 {
            said.push_str(&format!(
                " {lost} changes that had no sealed copy could not be kept."
            ));
        }
        self.farewell.set(Some(said));
        Ok(())
    }

    pub async fn audit_for(
        &self,
        tenant: &str,
        user: &str,
        kind: &str,
        payload: serde_json::Value,
    ) {
        if let Some(device) = self.device.get_untracked() {
            device.audit(tenant, user, kind, payload).await;
        }
    }

    /// As [`SessionHost::audit_for`], for an act that must not happen unrecorded.
    pub async fn record_for(
        &self,
        tenant: &str,
        user: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<(), AuditError> {
        let device = self.device.get_untracked().ok_or(AuditError::NoDevice)?;
        device.record(tenant, user, kind, payload).await
    }
}
