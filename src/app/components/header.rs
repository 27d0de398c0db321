//! The header: product name, the sync status in words (connection, waiting writes, last
//! sync), "Sync now" and the account actions, and the main navigation. On a phone it is one
//! line (the name and a short phrase whose tap shows the full status and the actions) and
//! the navigation is a tab bar at the bottom; wider screens show it all in one bar.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::{model::local_time_ms, split, use_entry, use_host, use_online};

/// What the header says, gathered once per change.
#[derive(Debug, Clone, PartialEq)]
struct Status {
    /// The connection in full, and in a word or two.
    connection: (String, &'static str),
    signed_in: bool,
    sign_in_again: bool,
    /// `None` until the outbox has been counted.
    waiting: Option<usize>,
    blocked: usize,
    last_sync: Option<String>,
    trouble: bool,
}

impl Status {
    /// The full line: "Offline · 3 changes waiting · Last sync 10:04".
    fn full(&self) -> String {
        if !self.signed_in {
            return self.connection.0.clone();
        }
        let mut parts = vec![self.connection.0.clone()];
        if self.sign_in_again {
            parts.push("Signed out: sign in again to send".to_owned());
        }
        parts.push(match self.waiting {
            None => "Checking for unsent changes…".to_owned(),
            Some(0) => "All changes sent".to_owned(),
            Some(1) => "1 change waiting".to_owned(),
            Some(n) => format!("{n} changes waiting"),
        });
        if self.blocked > 0 {
            parts.push(format!("{} need your attention", self.blocked));
        }
        parts.push(match &self.last_sync {
            Some(at) => format!("Last sync {at}"),
            None => "Not synced yet".to_owned(),
        });
        parts.join(" · ")
    }

    /// The phone's phrase: "Offline · 3 waiting", the most pressing thing first.
    fn short(&self) -> String {
        let word = self.connection.1;
        if !self.signed_in {
            return word.to_owned();
        }
        let what = match (self.sign_in_again, self.blocked, self.waiting) {
            (true, _, _) => "sign in again".to_owned(),
            (_, n, _) if n > 0 => format!("{n} need you"),
            (_, _, None) => "checking".to_owned(),
            (_, _, Some(0)) => "all sent".to_owned(),
            (_, _, Some(n)) => format!("{n} waiting"),
        };
        format!("{word} · {what}")
    }
}

#[component]
pub fn AppHeader() -> impl IntoView {
    let online = use_online();
    let host = use_host();
    let session = host.session;
    let status = Memo::new(move |_| {
        let signed_in = session.get();
        // "Online" means the server answered, not only that the browser has a network.
        let reach = signed_in.as_ref().map(|s| s.runtime.status.reach.get());
        let connection = match (online.get(), reach) {
            (false, _) => ("Offline".to_owned(), "Offline"),
            (true, None) => ("Online".to_owned(), "Online"),
            (true, Some(reach)) => (reach.headline(), reach.word()),
        };
        let st = signed_in.as_ref().map(|s| s.runtime.status);
        Status {
            connection,
            signed_in: st.is_some(),
            sign_in_again: st.is_some_and(|st| st.sign_in.get()),
            waiting: st.and_then(|st| st.known.get().then(|| st.changes_waiting())),
            blocked: st.map_or(0, |st| st.blocked.with(Vec::len)),
            last_sync: st.and_then(|st| st.last_sync.get()).map(local_time_ms),
            trouble: !online.get() || reach.is_some_and(|r| r.is_trouble()),
        }
    });
    let expanded = RwSignal::new(false);
    let signed_in = move || session.with(Option::is_some);
    let entry = use_entry();
    view! {
        <header class="app-header" class:expanded=expanded>
            <a class="brand" href=entry.base>{if entry.is_ward() { "caresync ward" } else { "caresync" }}</a>
            <button type="button" class="status-toggle" class:offline=move || status.with(|s| s.trouble)
                aria-expanded=move || expanded.get().to_string() aria-controls="status-details"
                on:click=move |_| expanded.update(|e| *e = !*e)>
                <span class="dot" aria-hidden="true"></span>
                {move || status.with(Status::short)}
            </button>
            // The panel closes once one of its links or actions has been used.
            <div id="status-details" class="status-details" on:click=move |ev| {
                let used = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                    .is_some_and(|el| el.closest("a, button").ok().flatten().is_some());
                if used { expanded.set(false); }
            }>
                <p class="sync-status" role="status" aria-live="polite" class:offline=move || status.with(|s| s.trouble)>
                    <span class="dot" aria-hidden="true"></span>
                    <span>{move || status.with(Status::full)}</span>
                </p>
                <Show when=signed_in>
                    <AccountActions />
                </Show>
            </div>
            <Show when=signed_in>
                <nav class="tabs" aria-label="Main">
                    {if entry.is_ward() {
                        view! {
                            <A href="/ward/" exact=true>"Beds"</A>
                            <A href="/ward/sync">"Sync status"</A>
                        }.into_any()
                    } else {
                        view! {
                            <A href="/threads">"Messages"</A>
                            <A href="/visits">"Visits"</A>
                            <A href="/appointments">"Appointments"</A>
                            <A href="/documents">"Documents"</A>
                            // On a phone this one moves to the status panel: the phrase is its summary.
                            <A href="/sync" attr:class="sync-link">"Sync status"</A>
                        }.into_any()
                    }}
                </nav>
            </Show>
        </header>
    }
}

/// "Sync now" and "Sign out".
#[component]
fn AccountActions() -> impl IntoView {
    let host = use_host();
    let sync_now = move |_| {
        if let Some(s) = host.session.get_untracked() {
            leptos::task::spawn_local(async move {
                if let Some(session) = split::session_or_log().await {
                    (session.sync_now)(s);
                }
            });
        }
    };
    let navigate = leptos_router::hooks::use_navigate();
    let entry = use_entry();
    // A shared device first deals with what is unsent, then wipes (the sign-out page).
    let sign_out = move |_| {
        if host
            .session
            .with_untracked(|s| s.as_ref().is_some_and(|s| s.shared))
        {
            navigate(&entry.path("sign-out"), Default::default());
        } else {
            // Ended before the sign-in page shows, or it would send a signed-in user on.
            let navigate = navigate.clone();
            leptos::task::spawn_local(async move {
                if let Some(session) = split::session_or_log().await {
                    (session.end)(host);
                    navigate(entry.base, Default::default());
                }
            });
        }
    };
    view! {
        <div class="account" role="group" aria-label="Account">
            <A href=entry.path("sync") attr:class="sync-link">"Sync status"</A>
            <button type="button" on:click=sync_now>"Sync now"</button>
            <button type="button" class="secondary" on:click=sign_out>"Sign out"</button>
        </div>
    }
}
