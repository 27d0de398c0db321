//! The browser's connection state as a signal, kept live by `online` / `offline` events.

use leptos::prelude::*;
use leptos_use::use_event_listener;

pub fn use_online() -> Signal<bool> {
    let online = RwSignal::new(navigator_online());
    let _ = use_event_listener(window(), leptos::ev::online, move |_| online.set(true));
    let _ = use_event_listener(window(), leptos::ev::offline, move |_| online.set(false));
    online.into()
}

pub fn navigator_online() -> bool {
    // Browsers without the property are treated as online; a failed request will say otherwise.
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}
