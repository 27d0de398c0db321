//! The header: product name, and the sync status in words — connection, waiting writes,
//! last sync — with "Sync now" and the account actions.

use leptos::prelude::*;

use crate::app::{model::local_time_ms, use_host, use_online};

#[component]
pub fn AppHeader() -> impl IntoView {
    let online = use_online();
    let host = use_host();
    let session = host.session;
    let status = move || {
        let signed_in = session.get();
        // "Online" means the server answered, not only that the browser has a network.
        let reach = signed_in.as_ref().map(|s| s.runtime.status.reach.get());
        let mut parts = vec![match (online.get(), reach) {
            (false, _) => "Offline".to_owned(),
            (true, None) => "Online".to_owned(),
            (true, Some(reach)) => reach.headline(),
        }];
        if let Some(s) = signed_in {
            let st = s.runtime.status;
            if st.sign_in.get() {
                parts.push("Signed out: sign in again to send".to_owned());
            }
            parts.push(match st.changes_waiting() {
                _ if !st.known.get() => "Checking for unsent changes…".to_owned(),
                0 => "All changes sent".to_owned(),
                1 => "1 change waiting".to_owned(),
                n => format!("{n} changes waiting"),
            });
            let blocked = st.blocked.with(Vec::len);
            if blocked > 0 {
                parts.push(format!("{blocked} need your attention"));
            }
            parts.push(match st.last_sync.get() {
                Some(at) => format!("Last sync {}", local_time_ms(at)),
                None => "Not synced yet".to_owned(),
            });
        }
        parts.join(" · ")
    };
    let sync_now = move |_| {
        if let Some(s) = session.get_untracked() {
            s.runtime.sync_now();
        }
    };
    let navigate = leptos_router::hooks::use_navigate();
    // A shared device first deals with what is unsent, then wipes (the sign-out page).
    let sign_out = move |_| {
        if host
            .session
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.shared))
        {
            navigate("/sign-out", Default::default());
        } else {
            host.end();
            navigate("/", Default::default());
        }
    };
    view! {
        <header class="app-header">
            <a class="brand" href="/">"caresync"</a>
            <p class="sync-status" role="status" aria-live="polite" class:offline=move || !online.get() || session.with(|s| s.as_ref().is_some_and(|s| s.runtime.status.reach.get().is_trouble()))>
                <span class="dot" aria-hidden="true"></span>
                <span>{status}</span>
            </p>
            <Show when=move || session.with(Option::is_some)>
                <nav class="account" aria-label="Account">
                    <a href="/threads">"Messages"</a>
                    <a href="/visits">"Visits"</a>
                    <a href="/appointments">"Appointments"</a>
                    <a href="/sync">"Sync status"</a>
                    <button type="button" on:click=sync_now>"Sync now"</button>
                    <button type="button" class="secondary" on:click=sign_out.clone()>"Sign out"</button>
                </nav>
            </Show>
        </header>
    }
}
