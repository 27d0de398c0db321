//! The service worker as courier for this runtime's outbox: what waits is sealed into its
//! mailbox (on a commit made offline, after a pass that left writes waiting, and when the page
//! is hidden), and what it delivered while no page ran is taken back in and judged by the
//! engine before the next replay.

use std::{cell::Cell, collections::HashMap, rc::Rc};

use caresync_sync::{engine::Intake, AggregateKind, ClientMutationId, Millis};
use leptos::prelude::{GetUntracked as _, Set as _};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast as _, JsValue};

use super::{now_ms, RuntimeError, SyncRuntime};
use crate::platform::{
    courier::{author, parcels_for, Courier, CourierAnswer},
    device::{Device, DeviceError},
    idb::{self, StoreError},
    sealing::SealError,
    web_lock::with_lock,
};

const BACKGROUND_REPORT: &str = "backgroundReport";

#[derive(Debug, thiserror::Error)]
pub enum CourierError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the background delivery could not be arranged: {0}")]
    Register(String),
}

/// The courier of one runtime, where the browser offers Background Sync.
pub struct Background {
    courier: Courier,
    device: Device,
    /// A commit or a decision since the mailbox was last written: it may be behind.
    behind: Cell<bool>,
    /// The mailbox holds parcels of this outbox (so an emptied outbox must empty it too).
    posted: Cell<bool>,
}

/// What the service worker delivered while the app was closed, for the Sync page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackgroundReport {
    /// How many of each kind, in the order first seen.
    pub delivered: Vec<(AggregateKind, u32)>,
    /// When the last of them was answered (the device's clock).
    pub at: Millis,
}

impl BackgroundReport {
    fn add(&mut self, kind: AggregateKind, at: Millis) {
        match self.delivered.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.delivered.push((kind, 1)),
        }
        self.at = self.at.max(at);
    }
}

/// Whether this browser wakes a service worker when the network returns (Chromium does;
/// Firefox and Safari do not).
pub fn background_sync_available() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("SyncManager")).unwrap_or(false)
}

/// Asks the browser to fire `tag` at the service worker once it is online.
async fn register_sync(tag: &str) -> Result<(), CourierError> {
    let fail = |e: JsValue| CourierError::Register(format!("{e:?}"));
    let get = |target: &JsValue, name: &str| js_sys::Reflect::get(target, &JsValue::from_str(name));
    let container = get(
        &web_sys::window().map(JsValue::from).unwrap_or_default(),
        "navigator",
    )
    .and_then(|n| get(&n, "serviceWorker"))
    .map_err(fail)?;
    let method = |target: &JsValue, name: &str| -> Result<js_sys::Function, CourierError> {
        get(target, name)
            .map_err(fail)?
            .dyn_into()
            .map_err(|_| CourierError::Register(format!("no {name} here")))
    };
    let promise = method(&container, "getRegistration")?
        .call0(&container)
        .map_err(fail)?;
    let registration = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(fail)?;
    if registration.is_undefined() {
        return Err(CourierError::Register(
            "no service worker is installed".into(),
        ));
    }
    let sync = get(&registration, "sync").map_err(fail)?;
    let registered = method(&sync, "register")?
        .call1(&sync, &JsValue::from_str(tag))
        .map_err(fail)?;
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(registered))
        .await
        .map_err(fail)?;
    Ok(())
}

impl SyncRuntime {
    /// Lets the service worker deliver this outbox's waiting writes while no page is open,
    /// where the browser has Background Sync; elsewhere the app replays when it is open.
    pub fn carry_by(self: &Rc<Self>, courier: Courier, device: Device) {
        if !background_sync_available() {
            return;
        }
        *self.background.borrow_mut() = Some(Rc::new(Background {
            courier,
            device,
            behind: Cell::new(true),
            posted: Cell::new(true),
        }));
    }

    /// Whether writes waiting here are also sent with the app closed.
    pub fn carried(&self) -> bool {
        self.background.borrow().is_some()
    }

    fn mailbox_scope(&self) -> String {
        format!("{}:{}", self.scope.tenant, self.scope.user)
    }

    /// Something changed that the mailbox may not show yet.
    pub(super) fn mark_behind(&self) {
        if let Some(bg) = self.background.borrow().as_ref() {
            bg.behind.set(true);
        }
    }

    /// Seals what waits (if the mailbox may be behind, or `always`) and asks the browser to
    /// wake the worker when online. A failure is logged: the app still sends the writes
    /// itself when it next runs.
    ///
    /// One post at a time per user, across tabs (a Web Lock): each replaces the whole scope,
    /// so one that read the outbox earlier must not land after a newer one.
    pub async fn hand_to_courier(self: &Rc<Self>, always: bool) {
        if self.background.borrow().is_none() {
            return;
        }
        let this = self.clone();
        let name = format!("{}:courier", self.scope.key());
        if let Err(err) = with_lock(&name, move || async move { this.post(always).await }).await {
            leptos::logging::warn!("{err}");
        }
    }

    async fn post(&self, always: bool) {
        let bg = self.background.borrow().clone();
        let Some(bg) = bg else { return };
        if !(always || bg.behind.get()) {
            return;
        }
        bg.behind.set(false);
        let started = now_ms();
        match self.post_parcels(&bg).await {
            Ok(0) => {}
            Ok(n) => leptos::logging::log!(
                "courier: {n} waiting writes sealed for background delivery in {} ms",
                now_ms().saturating_sub(started)
            ),
            Err(err) => {
                bg.behind.set(true);
                leptos::logging::warn!("{err}");
            }
        }
    }

    async fn post_parcels(&self, bg: &Background) -> Result<usize, CourierError> {
        // While the session waits for the user (refused, perhaps revoked with every replay
        // credential), nothing goes out behind their back either.
        let undecided = match self.status.sign_in.get_untracked() {
            true => Vec::new(),
            false => self.store.undecided().await?,
        };
        if undecided.is_empty() && !bg.posted.get() {
            return Ok(0);
        }
        let parcels = if undecided.is_empty() {
            Vec::new()
        } else {
            let key = bg.device.sealing_key().await?.ok_or(SealError::NoKey)?;
            let held = self.engine.lock().await.held_lanes().clone();
            parcels_for(&self.mailbox_scope(), &key, &undecided, &held)?
        };
        let tokens: HashMap<String, String> = bg
            .device
            .credential_book()
            .await?
            .into_iter()
            .map(|((tenant, user), token)| (author(&tenant, &user), token))
            .collect();
        let count = parcels.len();
        bg.courier
            .post(&self.mailbox_scope(), parcels, &tokens)
            .await?;
        bg.posted.set(count > 0);
        if count > 0 {
            register_sync(&format!("caresync-outbox:{}", self.mailbox_scope())).await?;
        }
        Ok(count)
    }

    /// Takes in the answers the worker got while no page ran this engine; call holding the
    /// replay lock, before replaying. Returns how many writes it had delivered.
    pub(super) async fn take_in_courier_answers(&self) -> Result<usize, RuntimeError> {
        let bg = self.background.borrow().clone();
        let Some(bg) = bg else { return Ok(0) };
        let answered: Vec<_> = bg
            .courier
            .parcels(&self.mailbox_scope())
            .await?
            .into_iter()
            .filter_map(|p| p.answer.clone().map(|a| (p, a)))
            .collect();
        if answered.is_empty() {
            return Ok(0);
        }
        let mut report = BackgroundReport::default();
        for (parcel, answer) in &answered {
            let (Ok(id), Some(route)) = (
                parcel.id.parse::<ClientMutationId>(),
                CourierAnswer::route_answer(answer),
            ) else {
                continue;
            };
            let intake = self
                .engine
                .lock()
                .await
                .handle_courier_answer(now_ms(), id, route)
                .await?;
            if let Intake::Delivered(kind) = intake {
                report.add(kind, answer.at as Millis);
            }
        }
        // The report is kept before the answers go and before the screen says "all sent": a
        // page closed or navigated away in between must not lose what the worker did.
        let delivered = report.delivered.iter().map(|(_, n)| *n as usize).sum();
        if delivered > 0 {
            idb::put_meta(self.store.database(), BACKGROUND_REPORT, &report).await?;
            self.status.background.set(Some(report));
        }
        let ids: Vec<String> = answered.into_iter().map(|(p, _)| p.id).collect();
        bg.courier.remove(&ids).await?;
        self.publish(&mut *self.engine.lock().await);
        Ok(delivered)
    }

    pub(super) async fn read_background_report(&self) -> Result<(), StoreError> {
        let report: Option<BackgroundReport> =
            idb::get_meta(self.store.database(), BACKGROUND_REPORT).await?;
        self.status.background.set(report);
        Ok(())
    }
}
