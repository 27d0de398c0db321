//! The Sync page's account of the connection and of the storage that holds unsent writes.

use leptos::prelude::*;

use crate::{
    app::{model::local_time_ms, use_online, use_session},
    platform::{storage, transport::Reach},
};

/// The connection in words: when the server last answered or an attempt failed, and when
/// the next attempt is due.
#[component]
pub fn ConnectionPanel() -> impl IntoView {
    let session = use_session();
    let online = use_online();
    let lines = move || {
        let Some(s) = session.get() else {
            return Vec::new();
        };
        let st = s.runtime.status;
        let mut lines = Vec::new();
        if !online.get() {
            lines.push("This device is offline. Changes are sent when it reconnects.".to_owned());
        } else {
            match st.reach.get() {
                Reach::Answered(at) => lines.push(format!(
                    "The server last answered at {}.",
                    local_time_ms(at)
                )),
                Reach::Troubled { at, status } => lines.push(format!(
                    "The server answered with an error ({status}) at {}. Changes wait and are tried again.",
                    local_time_ms(at)
                )),
                Reach::TimedOut(at) => lines.push(format!(
                    "The server did not answer in time: the last attempt was abandoned at {}.",
                    local_time_ms(at)
                )),
                Reach::Failed(at) => lines.push(format!(
                    "Can't reach the server: the last attempt failed at {}.",
                    local_time_ms(at)
                )),
                Reach::Unknown | Reach::Offline => {
                    lines.push("Not in touch with the server yet.".to_owned())
                }
            }
        }
        match st.housekeeping.get() {
            0 => {}
            1 => lines.push("1 read receipt is waiting to be sent.".to_owned()),
            n => lines.push(format!("{n} read receipts are waiting to be sent.")),
        }
        if st.sign_in.get() {
            lines.push("Sending is paused until you sign in again.".to_owned());
        } else if let Some(at) = st.next_attempt.get() {
            lines.push(format!("Next attempt at {}.", local_time_ms(at)));
        }
        lines
    };
    view! {
        <section aria-labelledby="connection-title">
            <h2 id="connection-title">"Connection"</h2>
            {move || lines().into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
        </section>
    }
}

/// Whether the browser keeps this app's data, and what is at risk if it does not.
#[component]
pub fn StoragePanel() -> impl IntoView {
    let session = use_session();
    let state = LocalResource::new(storage::state);
    let waiting =
        move || session.with(|s| s.as_ref().map_or(0, |s| s.runtime.status.changes_waiting()));
    let words = move || {
        let st = state.get()?;
        let mut lines = vec![match st.persisted {
            Some(true) => "Protected: the browser will not clear this app's data to free up space.".to_owned(),
            Some(false) => "Not protected: the browser may clear this app's data when the device runs low on space.".to_owned(),
            None => "This browser does not say whether it keeps this app's data.".to_owned(),
        }];
        if let Some(usage) = st.usage_words() {
            lines.push(format!("Using {usage} of storage."));
        }
        let n = waiting();
        if st.persisted != Some(true) && n > 0 {
            let what = if n == 1 {
                "1 change is".to_owned()
            } else {
                format!("{n} changes are")
            };
            lines.push(format!(
                "{what} waiting to be sent. If you close the app for days, the browser may delete them. \
                 To keep them, install caresync (\"Install app\" or \"Add to Home Screen\" in the browser menu), \
                 or go online so they can be sent."
            ));
        }
        Some(lines)
    };
    view! {
        <section aria-labelledby="storage-title">
            <h2 id="storage-title">"Storage on this device"</h2>
            <Transition fallback=|| view! { <p>"Checking storage…"</p> }>
                {move || words().map(|lines| view! { <div>{lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}</div> })}
            </Transition>
        </section>
    }
}
