//! Tells the user a new version is waiting and lets them switch to it.

use leptos::prelude::*;

/// Shown only when a new service worker has installed and waits for the page's go-ahead.
#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let update = crate::platform::service_worker::use_app_update();
    view! {
        <Show when=move || update.waiting.get()>
            <div class="update-prompt" role="alert">
                <p>"A new version is available"</p>
                <button type="button" on:click=move |_| update.reload()>"Reload"</button>
            </div>
        </Show>
    }
}
