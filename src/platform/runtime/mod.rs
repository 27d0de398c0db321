//! The sync runtime: when to replay, which tab replays, and what the UI sees.
//!
//! Triggers: start, the `online` event, the page becoming visible, the backoff timer, a
//! manual "Sync now", and a short debounce after each enqueue. Only the tab holding the Web
//! Lock for this tenant and user replays; the others hear about changes on a
//! BroadcastChannel scoped the same way and refresh what they show. While the browser says
//! it is offline no pass runs at all, and no timer ever fires sooner than the backoff floor.

use std::{cell::RefCell, rc::Rc};

use caresync_sync::{
    drive, ClientMutationId, Config, Engine, EngineError, EnqueueError, Event, Millis, Mutation,
    NewMutation, OutboxStore, Resolution, Stats, SyncReport,
};
use futures::lock::Mutex;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;

mod background;
mod status;
mod triggers;
use triggers::next_wake;

pub use background::{background_sync_available, BackgroundReport, CourierError};
use status::reach_changed;
pub use status::SyncStatus;

use super::{
    idb::{self, StoreError},
    online::navigator_online,
    outbox_store::{EntityChange, IdbOutbox},
    transport::{FetchTransport, Reach},
    web_lock::{with_lock_if_available, LockError},
};

/// Whose data this is: one database, one lock, one channel per tenant and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub tenant: String,
    pub user: String,
}

impl Scope {
    pub fn key(&self) -> String {
        format!("caresync:{}:{}", self.tenant, self.user)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Engine(#[from] EngineError<StoreError>),
    #[error(transparent)]
    Enqueue(#[from] EnqueueError<StoreError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    Ran(SyncReport),
    /// This tab or another is already replaying.
    Busy,
    /// The browser says it is offline: nothing was tried. The `online` event brings it back.
    Offline,
}

const LAST_SYNC: &str = "lastSync";
const DEBOUNCE_MS: u32 = 250;
/// No timer fires sooner than this, whatever the arithmetic says (the backoff floor).
const FLOOR_MS: Millis = 250;
/// How many recent engine events the UI can look back on.
const EVENTS_KEPT: usize = 100;

pub use super::transport::now_ms;

pub struct SyncRuntime {
    /// The tab's one engine: commits, user decisions and replay. The driver holds it only
    /// while it decides, never while a request is on the wire, so a commit never waits.
    engine: Mutex<Engine<IdbOutbox>>,
    store: IdbOutbox,
    transport: FetchTransport,
    scope: Scope,
    pub status: SyncStatus,
    notify: RefCell<Option<Rc<dyn Fn()>>>,
    timer: RefCell<Option<Timeout>>,
    debounce: RefCell<Option<Timeout>>,
    /// On a shared device: where each committed write also leaves a sealed copy (`escrow`).
    escrow: RefCell<Option<super::device::Device>>,
    /// Where the browser has Background Sync: the service worker delivers what waits here
    /// while no page is open (see `background`).
    background: RefCell<Option<Rc<background::Background>>>,
}

impl SyncRuntime {
    pub fn new(
        store: IdbOutbox,
        transport: FetchTransport,
        scope: Scope,
        config: Config,
    ) -> Rc<Self> {
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
        let status = SyncStatus::new();
        {
            let mut hooks = transport.hooks();
            // Every answer reports in: the screen hears of a change of kind, and of the
            // same kind at most once a second, not of every request of a replay.
            hooks.reach = Some(Box::new(move |r| {
                let shown = status.reach.get_untracked();
                if reach_changed(shown, r) {
                    status.reach.set(r);
                }
            }));
            let told = hooks.refused.take();
            hooks.refused = Some(Box::new(move || {
                status.sign_in.set(true);
                if let Some(f) = told.as_ref() {
                    f();
                }
            }));
        }
        Rc::new(SyncRuntime {
            engine: Mutex::new(Engine::new(store.clone(), config, seed)),
            store,
            transport,
            scope,
            status,
            notify: RefCell::new(None),
            timer: RefCell::new(None),
            debounce: RefCell::new(None),
            escrow: RefCell::new(None),
            background: RefCell::new(None),
        })
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn store(&self) -> &IdbOutbox {
        &self.store
    }

    pub fn transport(&self) -> &FetchTransport {
        &self.transport
    }

    /// Holds the lanes whose earlier writes wait sealed on this device (replacing the last
    /// holds); a lane let go is replayed at once.
    pub async fn hold_lanes(
        self: &Rc<Self>,
        lanes: std::collections::HashSet<caresync_sync::Lane>,
    ) {
        self.engine.lock().await.hold_lanes(lanes);
        self.sync_now();
    }

    /// Waits (up to 20 s) until nothing of this engine is on the wire, so a hand-over does
    /// not take a write whose answer is still coming.
    pub async fn quiesce(&self) {
        for _ in 0..200 {
            if !self.engine.lock().await.is_busy() {
                return;
            }
            gloo_timers::future::TimeoutFuture::new(100).await;
        }
    }

    /// On a shared device, every commit also leaves a sealed copy in `device` (see `escrow`).
    pub fn keep_copies_in(&self, device: super::device::Device) {
        *self.escrow.borrow_mut() = Some(device);
    }

    /// Commits a write (and its entity) locally, then replays soon.
    pub async fn enqueue(
        self: &Rc<Self>,
        new: NewMutation,
        change: Option<EntityChange>,
    ) -> Result<Mutation, RuntimeError> {
        let m = {
            let mut engine = self.engine.lock().await;
            let m = engine.enqueue(now_ms(), new, change).await?;
            self.publish(&mut engine);
            m
        };
        let escrow = self.escrow.borrow().clone();
        if let Some(device) = escrow {
            // Committed already; a copy that cannot be kept leaves the write as safe as on a
            // personal device, so it is said, not refused.
            if let Err(err) = device.escrow(&m).await {
                leptos::logging::warn!("no sealed copy of this change was kept: {err}");
            }
        }
        self.mark_behind();
        if !navigator_online() {
            // Sealed for the courier now: a tab the system kills fires no `pagehide`.
            let this = self.clone();
            leptos::task::spawn_local(async move { this.hand_to_courier(false).await });
        }
        self.changed().await;
        self.schedule(DEBOUNCE_MS, true);
        Ok(m)
    }

    /// The user's decision on a parked or conflicting write.
    pub async fn resolve(
        self: &Rc<Self>,
        id: ClientMutationId,
        resolution: Resolution,
    ) -> Result<(), RuntimeError> {
        let again = matches!(resolution, Resolution::Retry | Resolution::Amend(_));
        let amended = matches!(resolution, Resolution::Amend(_));
        let m = {
            let mut engine = self.engine.lock().await;
            engine.resolve(now_ms(), id, resolution).await?;
            self.publish(&mut engine);
            if amended {
                engine.store().get(id).await?
            } else {
                None
            }
        };
        // On a shared device the sealed copy must be the corrected write, or a release from
        // escrow would send what the server refused (same key: the old copy is replaced).
        let escrow = self.escrow.borrow().clone();
        if let (Some(device), Some(m)) = (escrow, m) {
            if let Err(err) = device.escrow(&m).await {
                leptos::logging::warn!("the sealed copy of this change was not updated: {err}");
            }
        }
        self.mark_behind();
        self.changed().await;
        if again {
            self.schedule(0, true);
        }
        Ok(())
    }

    /// One replay pass, if no other tab is replaying. Safe to call from any trigger.
    pub async fn pass(self: &Rc<Self>) -> Result<Pass, RuntimeError> {
        if !navigator_online() {
            self.status.reach.set(Reach::Offline);
            self.set_timer(None);
            self.hand_to_courier(false).await;
            return Ok(Pass::Offline);
        }
        if self.status.syncing.get_untracked() {
            return Ok(Pass::Busy);
        }
        self.status.syncing.set(true);
        let this = self.clone();
        let ran = with_lock_if_available(
            &format!("{}:replay", self.scope.key()),
            move || async move {
                // Holding the lock, nothing else is on the wire: leftovers are from a crash.
                this.engine.lock().await.recover().await?;
                let carried = this.take_in_courier_answers().await?;
                let mut report = drive(&this.engine, &this.transport, &now_ms).await?;
                report.delivered += carried;
                this.publish(&mut *this.engine.lock().await);
                Ok::<_, RuntimeError>(report)
            },
        )
        .await;
        self.status.syncing.set(false);
        let outcome = match ran? {
            None => Pass::Busy,
            Some(report) => {
                let report = report?;
                if report.delivered > 0 {
                    self.mark_synced(now_ms()).await?;
                }
                Pass::Ran(report)
            }
        };
        self.changed().await;
        if matches!(outcome, Pass::Ran(_)) {
            // What this pass left waiting (a send failed, or more came meanwhile) goes to the
            // courier; an outbox now empty empties its mailbox.
            self.hand_to_courier(true).await;
        }
        self.set_timer(next_wake(&outcome, now_ms()));
        Ok(outcome)
    }

    /// The user signed in again after a refusal: replay what waited.
    pub fn session_restored(self: &Rc<Self>) {
        self.status.sign_in.set(false);
        let this = self.clone();
        leptos::task::spawn_local(async move {
            this.engine.lock().await.signed_in();
            if let Err(err) = this.pass().await {
                leptos::logging::warn!("sync pass failed: {err}");
            }
        });
    }

    fn publish(&self, engine: &mut Engine<IdbOutbox>) {
        let fresh: Vec<Event> = std::iter::from_fn(|| engine.poll_event()).collect();
        if fresh.is_empty() {
            return;
        }
        self.status.events.update(|kept| {
            kept.extend(fresh);
            let excess = kept.len().saturating_sub(EVENTS_KEPT);
            kept.drain(..excess);
        });
    }

    /// Fire-and-forget pass for event handlers.
    pub fn sync_now(self: &Rc<Self>) {
        let this = self.clone();
        leptos::task::spawn_local(async move {
            if let Err(err) = this.pass().await {
                leptos::logging::warn!("sync pass failed: {err}");
            }
        });
    }

    /// Records a successful exchange with the server (a delivery or a fresh read).
    pub async fn mark_synced(&self, at: Millis) -> Result<(), RuntimeError> {
        idb::put_meta(self.store.database(), LAST_SYNC, &at).await?;
        self.status.last_sync.set(Some(at));
        Ok(())
    }

    /// Re-reads the figures the UI shows from the store, and returns them.
    pub async fn refresh_status(&self) -> Result<Stats, RuntimeError> {
        let stats = self.store.stats().await?;
        let blocked = self.store.blocked().await?;
        let last: Option<Millis> = idb::get_meta(self.store.database(), LAST_SYNC).await?;
        self.status.waiting.set(stats.waiting());
        self.status.housekeeping.set(stats.housekeeping);
        self.status.known.set(true);
        self.status.blocked.set(blocked);
        self.status.last_sync.set(last);
        self.read_background_report().await?;
        self.status.revision.update(|r| *r += 1);
        Ok(stats)
    }

    /// Local data changed: refresh our view and tell the other tabs.
    async fn changed(&self) -> Option<Stats> {
        let stats = self
            .refresh_status()
            .await
            .map_err(|err| leptos::logging::warn!("could not read the outbox: {err}"))
            .ok();
        let notify = self.notify.borrow().clone();
        if let Some(notify) = notify {
            notify();
        }
        stats
    }
}
