//! The browser's connection state as a signal, kept live by `online` / `offline` events.

use leptos::prelude::*;

pub fn use_online() -> Signal<bool> {
    let online = RwSignal::new(navigator_online());
    super::listen::on_window("online", move |_| online.set(true));
    super::listen::on_window("offline", move |_| online.set(false));
    online.into()
}

pub fn navigator_online() -> bool {
    // Browsers without the property are treated as online; a failed request will say otherwise.
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}
