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
    NewMutation, OutboxStore, Resolution, Stats, Stop, SyncReport,
};
use futures::lock::Mutex;
use gloo_timers::callback::Timeout;
use leptos::prelude::*;

mod background;

pub use background::{background_sync_available, BackgroundReport, CourierError};

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

/// What the status line and the Sync page show; updated after every local change.
#[derive(Clone, Copy)]
pub struct SyncStatus {
    /// Writes not yet decided by the server.
    pub waiting: RwSignal<usize>,
    /// Of those, the ones made on the user's behalf (read receipts).
    pub housekeeping: RwSignal<usize>,
    /// False until the outbox has been read once: before that, "nothing waiting" is unknown.
    pub known: RwSignal<bool>,
    /// Parked and conflicting writes, waiting for the user.
    pub blocked: RwSignal<Vec<Mutation>>,
    pub last_sync: RwSignal<Option<Millis>>,
    pub syncing: RwSignal<bool>,
    /// Bumped whenever local data changed, in this tab or another: views re-read.
    pub revision: RwSignal<u64>,
    /// The engine's latest events in this tab (delivered, parked, conflict...), newest last.
    pub events: RwSignal<Vec<Event>>,
    /// What the last exchange said about reaching the server.
    pub reach: RwSignal<Reach>,
    /// The server refused the session: nothing is sent until the user signs in again.
    pub sign_in: RwSignal<bool>,
    /// When the replay timer fires next, if it is set.
    pub next_attempt: RwSignal<Option<Millis>>,
    /// What the service worker last delivered while the app was closed.
    pub background: RwSignal<Option<BackgroundReport>>,
}

impl SyncStatus {
    /// Waiting writes the user would call their own changes.
    pub fn changes_waiting(&self) -> usize {
        self.waiting.get().saturating_sub(self.housekeeping.get())
    }

    fn new() -> Self {
        SyncStatus {
            waiting: RwSignal::new(0),
            housekeeping: RwSignal::new(0),
            known: RwSignal::new(false),
            blocked: RwSignal::new(Vec::new()),
            last_sync: RwSignal::new(None),
            syncing: RwSignal::new(false),
            revision: RwSignal::new(0),
            events: RwSignal::new(Vec::new()),
            reach: RwSignal::new(Reach::Unknown),
            sign_in: RwSignal::new(false),
            next_attempt: RwSignal::new(None),
            background: RwSignal::new(None),
        }
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

    /// Wire the triggers; call once, inside the app's reactive owner.
    pub fn start(self: &Rc<Self>) {
        use codee::string::FromToStringCodec;
        use leptos_use::{use_broadcast_channel, use_event_listener, UseBroadcastChannelReturn};

        let UseBroadcastChannelReturn { message, post, .. } =
            use_broadcast_channel::<String, FromToStringCodec>(&self.scope.key());
        // Each notice is unique so a repeated change still registers as new.
        let counter = Rc::new(std::cell::Cell::new(0u64));
        *self.notify.borrow_mut() = Some(Rc::new(move || {
            counter.set(counter.get() + 1);
            post(&format!("changed:{}:{}", now_ms(), counter.get()));
        }));
        let this = self.clone();
        Effect::new(move |_| {
            if message.get().is_some() {
                // Another tab may have opened lanes this tab's store does not know of.
                this.store.forget_lanes();
                let this = this.clone();
                leptos::task::spawn_local(async move {
                    if let Err(err) = this.refresh_status().await {
                        leptos::logging::warn!("could not read the outbox: {err}");
                    }
                });
            }
        });
        let this = self.clone();
        let _ = use_event_listener(window(), leptos::ev::online, move |_| this.sync_now());
        let this = self.clone();
        let _ = use_event_listener(document(), leptos::ev::visibilitychange, move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                this.sync_now();
            } else {
                this.hand_to_courier_soon();
            }
        });
        let this = self.clone();
        let _ = use_event_listener(window(), leptos::ev::pagehide, move |_| {
            this.hand_to_courier_soon();
        });
        self.sync_now();
    }

    /// The page is going away: whatever the mailbox does not show yet is sealed for it now,
    /// within the little time the browser allows.
    fn hand_to_courier_soon(self: &Rc<Self>) {
        let this = self.clone();
        leptos::task::spawn_local(async move { this.hand_to_courier(false).await });
    }

    /// Replay after `ms`; a debounced call replaces the pending one.
    fn schedule(self: &Rc<Self>, ms: u32, debounced: bool) {
        let this = self.clone();
        let timeout = Timeout::new(ms, move || this.sync_now());
        let slot = if debounced {
            &self.debounce
        } else {
            &self.timer
        };
        *slot.borrow_mut() = Some(timeout);
    }

    /// The one replay timer: set for `at` (never sooner than the floor), or cleared.
    fn set_timer(self: &Rc<Self>, at: Option<Millis>) {
        let now = now_ms();
        let at = at.map(|at| at.max(now + FLOOR_MS));
        self.status.next_attempt.set(at);
        match at {
            Some(at) => {
                let wait = (at - now).min(10 * 60_000);
                self.schedule(u32::try_from(wait).unwrap_or(u32::MAX), false);
            }
            None => {
                self.timer.borrow_mut().take();
            }
        }
    }
}

/// When the next pass is due after this one: when the engine says (`poll_timeout`), never
/// while the session waits for the user; while another tab replays, a look later in case
/// that tab is gone.
fn next_wake(pass: &Pass, now: Millis) -> Option<Millis> {
    match pass {
        Pass::Ran(SyncReport {
            stopped: Some(Stop::SignInRequired),
            ..
        })
        | Pass::Offline => None,
        Pass::Ran(report) => report.retry_at,
        Pass::Busy => Some(now + 30_000),
    }
}

/// Whether the connection the screen shows is out of date.
fn reach_changed(shown: Reach, now: Reach) -> bool {
    let at = |r: Reach| match r {
        Reach::Answered(at) | Reach::TimedOut(at) | Reach::Failed(at) => Some(at),
        Reach::Troubled { at, .. } => Some(at),
        Reach::Unknown | Reach::Offline => None,
    };
    let same_kind = std::mem::discriminant(&shown) == std::mem::discriminant(&now)
        && !matches!((shown, now), (Reach::Troubled { status: a, .. }, Reach::Troubled { status: b, .. }) if a != b);
    match (same_kind, at(shown), at(now)) {
        (false, _, _) => true,
        (true, Some(before), Some(after)) => after.saturating_sub(before) >= 1_000,
        (true, _, _) => false,
    }
}
