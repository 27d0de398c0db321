//! The header: product name and the connection state, in words.

use leptos::prelude::*;

#[component]
pub fn AppHeader(online: Signal<bool>) -> impl IntoView {
    let label = move || if online.get() { "Online" } else { "Offline" };
    view! {
        <header class="app-header">
            <a class="brand" href="/">"caresync"</a>
            <p class="connection" role="status" aria-live="polite"
                class:offline=move || !online.get()>
                <span class="dot" aria-hidden="true"></span>
                <span class="connection-label">{label}</span>
            </p>
        </header>
    }
}
