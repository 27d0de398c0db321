//! The signed-in user's writes sealed on this device (handed over at an earlier lock or
//! sign-out): how many still wait, and those the server refused, each with its reason. Their
//! text cannot be shown: only the server can open them.

use caresync_sync::{Mutation, MutationState, Resolution};
use leptos::prelude::*;

use crate::app::{model::Delivery, use_host};

fn refusal(m: &Mutation) -> Option<String> {
    match &m.state {
        MutationState::Parked { reason, .. } => Some(Delivery::from_park(reason)),
        MutationState::Conflict { payload } => Some(Delivery::from_conflict(payload)),
        _ => None,
    }
}

#[component]
pub fn SealedPanel() -> impl IntoView {
    let host = use_host();
    let problem = RwSignal::new(None::<String>);
    let mine = LocalResource::new(move || {
        let device = host.device.get();
        let session = host.session.get();
        // Read again whenever the sealed outbox changes.
        if let Some(d) = device.as_ref() {
            d.sealed.status.revision.track();
        }
        async move {
            let (Some(device), Some(s)) = (device, session) else {
                return Vec::new();
            };
            let all = device.device.outbox().undecided().await.unwrap_or_default();
            all.into_iter()
                .filter(|m| m.tenant == s.user.tenant_id && m.actor == s.user.user_id)
                .collect::<Vec<_>>()
        }
    });
    let discard = move |id| {
        let Some(device) = host.device.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            problem.set(
                device
                    .sealed
                    .resolve(id, Resolution::Discard)
                    .await
                    .err()
                    .map(|e| format!("This sealed change could not be removed: {e}")),
            );
        });
    };
    view! {
        <Transition fallback=|| ()>
            {move || mine.get().map(|mine| {
                if mine.is_empty() {
                    return ().into_any();
                }
                let waiting = mine.iter().filter(|m| m.state.is_waiting()).count();
                // An audit event is not the user's to drop: its chain would break there.
                let refused: Vec<(caresync_sync::ClientMutationId, String)> = mine
                    .iter()
                    .filter(|m| m.kind != caresync_sync::AggregateKind::AuditEvent)
                    .filter_map(|m| refusal(m).map(|why| (m.id, why)))
                    .collect();
                view! {
                    <div>
                    <h2>"Sealed on this device"</h2>
                    <p>{format!("{waiting} of your changes from an earlier session are sealed here and on their way. Only the server can read them.")}</p>
                    <Show when=move || problem.with(Option::is_some)>
                        <p class="error" role="alert">{move || problem.get()}</p>
                    </Show>
                    <ul class="blocked">
                        {refused.into_iter().map(|(id, why)| view! {
                            <li class="blocked-item">
                                <p><strong>"A sealed change"</strong>" — Not sent: "{why}</p>
                                <button type="button" class="secondary" on:click=move |_| discard(id)>"Discard"</button>
                            </li>
                        }).collect_view()}
                    </ul>
                    </div>
                }.into_any()
            })}
        </Transition>
    }
}
