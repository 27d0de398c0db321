//! Everything waiting for the user: parked and conflicting writes, with reasons and actions.

use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::prelude::*;

use crate::app::{
    components::{
        require_session, resolve, BackgroundPanel, ConnectionPanel, SealedPanel, StoragePanel,
    },
    model::Delivery,
    use_host, use_session,
};

fn describe(m: &Mutation) -> (String, String) {
    let what = match m.kind {
        caresync_sync::AggregateKind::Message => "A message",
        caresync_sync::AggregateKind::ReadReceipt => "A read receipt",
        caresync_sync::AggregateKind::AsyncVisit => "A visit",
        caresync_sync::AggregateKind::VirtualSession => "A change to an appointment",
        _ => "A change",
    };
    let why = match &m.state {
        MutationState::Parked { reason, .. } => {
            format!("Not sent: {}", Delivery::from_park(reason))
        }
        MutationState::Conflict { payload } => {
            format!("Not sent: {}", Delivery::from_conflict(payload))
        }
        _ => String::new(),
    };
    (what.to_owned(), why)
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let session = use_session();
    let host = use_host();
    let problem = RwSignal::new(None::<String>);
    require_session(move |s| {
        let blocked = s.runtime.status.blocked;
        let list = move || {
            let rows = blocked.get();
            if rows.is_empty() {
                return view! { <p>"Nothing needs your attention. Every change has been sent or is on its way."</p> }.into_any();
            }
            view! {
                <ul class="blocked">
                    {rows.into_iter().map(|m| {
                        let (what, why) = describe(&m);
                        let text = m.user_text().map(str::to_owned);
                        let thread = m.lane.thread_id().map(str::to_owned);
                        let held = StoredValue::new(m.clone());
                        let can_retry = matches!(m.state, MutationState::Parked { .. });
                        view! {
                            <li class="blocked-item">
                                <p><strong>{what}</strong>" — "{why}</p>
                                {text.map(|t| view! { <p class="message-body">{t}</p> })}
                                <div class="actions">
                                    {thread.map(|t| view! { <a href=format!("/threads/{t}")>"Open the conversation"</a> })}
                                    {can_retry.then(|| view! {
                                        <button type="button" on:click=move |_| {
                                            let Some(s) = session.get_untracked() else { return };
                                            resolve(host, s, &held.get_value(), Resolution::Retry, problem);
                                        }>"Retry"</button>
                                    })}
                                    <button type="button" class="secondary" on:click=move |_| {
                                        let Some(s) = session.get_untracked() else { return };
                                        resolve(host, s, &held.get_value(), Resolution::Discard, problem);
                                    }>"Discard"</button>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        };
        view! {
            <section class="page" aria-labelledby="sync-title">
                <h1 id="sync-title">"Sync status"</h1>
                <ConnectionPanel />
                <StoragePanel />
                <h2>"Waiting for you"</h2>
                <Show when=move || problem.with(Option::is_some)>
                    <p class="error" role="alert">{move || problem.get()}</p>
                </Show>
                {list}
                <BackgroundPanel />
                <SealedPanel />
            </section>
        }
    })
}
