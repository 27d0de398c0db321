//! Registers the Workbox service worker (release builds only) and exposes its update state.

use leptos::prelude::*;

/// Whether a new version waits, and how to switch to it.
#[derive(Clone, Copy)]
pub struct AppUpdate {
    pub waiting: Signal<bool>,
    skip_waiting: StoredValue<Option<std::sync::Arc<dyn Fn() + Send + Sync>>>,
}

impl AppUpdate {
    /// Promotes the waiting worker; the page reloads when it takes control.
    pub fn reload(&self) {
        self.skip_waiting.with_value(|f| {
            if let Some(f) = f {
                f();
            }
        });
    }
}

/// The message the service worker (`scripts/sw/main.js`) listens for.
const SKIP_WAITING: &str = "SKIP_WAITING";

#[cfg(not(debug_assertions))]
pub fn use_app_update() -> AppUpdate {
    use leptos_use::{use_service_worker_with_options, UseServiceWorkerOptions};
    let sw = use_service_worker_with_options(
        UseServiceWorkerOptions::default()
            .script_url(crate::app::use_entry().path("sw.js"))
            .skip_waiting_message(SKIP_WAITING),
    );
    let skip = sw.skip_waiting;
    AppUpdate {
        waiting: sw.waiting,
        skip_waiting: StoredValue::new(Some(std::sync::Arc::new(move || skip()))),
    }
}

/// Debug builds run without a service worker so that a rebuild is always what the page runs.
#[cfg(debug_assertions)]
pub fn use_app_update() -> AppUpdate {
    let _ = SKIP_WAITING;
    AppUpdate {
        waiting: Signal::stored(false),
        skip_waiting: StoredValue::new(None),
    }
}
