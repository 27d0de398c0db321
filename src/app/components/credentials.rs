//! The username and password fields and the submit row that every sign-in form shares.

use leptos::prelude::*;

/// "Username" and "Password", labelled; `prefix` keeps the ids unique on the page.
#[component]
pub fn CredentialFields(
    prefix: &'static str,
    username: RwSignal<String>,
    password: RwSignal<String>,
) -> impl IntoView {
    let (user_id, pass_id) = (format!("{prefix}username"), format!("{prefix}password"));
    view! {
        <label for=user_id.clone()>"Username"</label>
        <input id=user_id name="username" autocomplete="username" required
            prop:value=username on:input=move |ev| username.set(event_target_value(&ev)) />
        <label for=pass_id.clone()>"Password"</label>
        <input id=pass_id name="password" type="password" autocomplete="current-password" required
            prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
    }
}

/// The error in words (an alert), and "Sign in", which says so while it works.
#[component]
pub fn SignInButton(error: RwSignal<Option<String>>, busy: RwSignal<bool>) -> impl IntoView {
    view! {
        <Show when=move || error.with(Option::is_some)>
            <p class="error" role="alert">{move || error.get()}</p>
        </Show>
        <button type="submit" prop:disabled=busy>
            {move || if busy.get() { "Signing in…" } else { "Sign in" }}
        </button>
    }
}
