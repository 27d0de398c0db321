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
        let mut parts = vec![if online.get() {
            "Online".to_owned()
        } else {
            "Offline".to_owned()
        }];
        if let Some(s) = session.get() {
            let st = s.runtime.status;
            parts.push(match st.waiting.get() {
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
    let sign_out = move |_| {
        host.end();
        navigate("/", Default::default());
    };
    view! {
        <header class="app-header">
            <a class="brand" href="/">"caresync"</a>
            <p class="sync-status" role="status" aria-live="polite" class:offline=move || !online.get()>
                <span class="dot" aria-hidden="true"></span>
                <span>{status}</span>
            </p>
            <Show when=move || session.with(Option::is_some)>
                <nav class="account" aria-label="Account">
                    <a href="/threads">"Messages"</a>
                    <a href="/sync">"Sync status"</a>
                    <button type="button" on:click=sync_now>"Sync now"</button>
                    <button type="button" class="secondary" on:click=sign_out.clone()>"Sign out"</button>
                </nav>
            </Show>
        </header>
    }
}
