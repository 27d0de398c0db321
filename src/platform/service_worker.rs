//! Registers the Workbox service worker (release builds only) and exposes its update state.

use leptos::prelude::*;

/// Whether a new version waits, and how to switch to it.
#[derive(Clone, Copy)]
pub struct AppUpdate {
    pub waiting: Signal<bool>,
    registration: StoredValue<Option<web_sys::ServiceWorkerRegistration>, LocalStorage>,
}

impl AppUpdate {
    /// Promotes the waiting worker; the page reloads when it takes control.
    pub fn reload(&self) {
        self.registration.with_value(|registration| {
            let Some(worker) = registration.as_ref().and_then(|r| r.waiting()) else {
                leptos::logging::warn!("no new version is waiting");
                return;
            };
            if let Err(err) = worker.post_message(&SKIP_WAITING.into()) {
                leptos::logging::warn!("the new version was not told to take over: {err:?}");
            }
        });
    }
}

/// The message the service worker (`scripts/sw/main.js`) listens for.
const SKIP_WAITING: &str = "SKIP_WAITING";

/// Registers the worker, follows its updates (a new one installed and waiting shows the
/// "Reload" prompt) and reloads the page once a new worker has taken control.
#[cfg(not(debug_assertions))]
pub fn use_app_update() -> AppUpdate {
    use super::listen::on_event;

    let (waiting, set_waiting) = signal(false);
    let registration = StoredValue::new_local(None);
    let update = AppUpdate {
        waiting: waiting.into(),
        registration,
    };
    let Some(container) = web_sys::window().map(|w| w.navigator().service_worker()) else {
        return update;
    };
    on_event(&container, "controllerchange", true, |_| {
        if let Err(err) = window().location().reload() {
            leptos::logging::warn!("the page did not reload for the new version: {err:?}");
        }
    });
    let url = crate::app::use_entry().path("sw.js");
    leptos::task::spawn_local_scoped(async move {
        let registered = wasm_bindgen_futures::JsFuture::from(container.register(&url)).await;
        let found = match registered {
            Ok(found) => web_sys::ServiceWorkerRegistration::from(found),
            Err(err) => {
                leptos::logging::warn!("the service worker was not registered: {err:?}");
                return;
            }
        };
        // A worker waits only for an update: the first one on a page no worker controls yet
        // passes through "waiting" on its way to active, and must not flash the prompt.
        let check = {
            let (found, container) = (found.clone(), container.clone());
            move || set_waiting.set(found.waiting().is_some() && container.controller().is_some())
        };
        check();
        // A worker installing is followed until it waits: one the browser found before this
        // page registered (its `updatefound` already fired), and any found later. Listeners
        // made in an event callback belong to this owner, so they go with the app.
        let owner = Owner::current();
        let follow = move |registration: &web_sys::ServiceWorkerRegistration| {
            if let (Some(installing), Some(owner)) = (registration.installing(), owner.as_ref()) {
                let check = check.clone();
                owner.with(|| on_event(&installing, "statechange", true, move |_| check()));
            }
        };
        follow(&found);
        let followed = found.clone();
        on_event(&found, "updatefound", true, move |_| follow(&followed));
        registration.set_value(Some(found.clone()));
        // Offline the check fails, and the worker checks again at the next navigation.
        if let Ok(checked) = found.update() {
            if let Err(err) = wasm_bindgen_futures::JsFuture::from(checked).await {
                leptos::logging::debug_warn!("no check for a new version: {err:?}");
            }
        }
    });
    update
}

/// Debug builds run without a service worker so that a rebuild is always what the page runs.
#[cfg(debug_assertions)]
pub fn use_app_update() -> AppUpdate {
    let _ = SKIP_WAITING;
    AppUpdate {
        waiting: Signal::stored(false),
        registration: StoredValue::new_local(None),
    }
}
