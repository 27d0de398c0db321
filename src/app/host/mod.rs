//! Starts and ends sessions, locks them, and keeps the device's sealed outbox running.
//! Each session's replay triggers live under their own child of the app's reactive owner,
//! so they outlive the page that signed in and end at sign-out or lock.

use std::rc::Rc;

use leptos::prelude::*;

use crate::platform::{audit::kind, locked::Locked, session::SignedIn, wipe};

mod device;

pub use device::{AuditError, DeviceHandle};

/// The signed-in user's data and sync runtime, or nobody.
pub type Session = RwSignal<Option<Rc<SignedIn>>, LocalStorage>;

#[derive(Clone, Copy)]
pub struct SessionHost {
    pub session: Session,
    /// A database on this device waiting for its password (the Unlock screen).
    pub locked: RwSignal<Option<Rc<Locked>>, LocalStorage>,
    /// Said on the sign-in screen after a sign-out or a wipe.
    pub farewell: RwSignal<Option<String>>,
    pub device: RwSignal<Option<DeviceHandle>, LocalStorage>,
    /// Set once the app's start is over: the device opened (or could not be) and whatever
    /// this device restores is restored. A sign-in waits for it, to sign in with the device.
    pub opened: RwSignal<bool>,
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
