//! One message in a conversation. The body is always rendered as text, never as markup.

use std::rc::Rc;

use caresync_sync::{Action, Resolution};
use leptos::prelude::*;

use crate::{
    app::model::{local_time, Delivery, MessageRow},
    platform::{session::SignedIn, writes},
};

#[component]
pub fn MessageItem(s: Rc<SignedIn>, thread: String, row: MessageRow) -> impl IntoView {
    let s = StoredValue::new_local(s);
    let problem = RwSignal::new(None::<String>);
    let actions = match &row.delivery {
        Delivery::NotSent { actions, .. } => actions.clone(),
        _ => Vec::new(),
    };
    let buttons = row.mutation.map(|id| {
        actions
            .into_iter()
            .filter_map(|action| {
                let (thread, body) = (thread.clone(), row.body.clone());
                let (label, class) = match action {
                    Action::ReopenThread => ("Reopen thread", ""),
                    Action::CopyText => ("Copy text", "secondary"),
                    Action::Discard => ("Discard", "secondary"),
                    Action::Retry => ("Retry", ""),
                    // Not offered for a message: it has no registry reference or attachment.
                    Action::RefetchRegistry | Action::RemoveAttachment => return None,
                };
                let run = move |_| {
                    let (s, thread, body) = (s.get_value(), thread.clone(), body.clone());
                    leptos::task::spawn_local(async move {
                        let outcome = match action {
                            Action::ReopenThread => {
                                match writes::reopen_thread(&s, &thread).await {
                                    Ok(()) => s
                                        .runtime
                                        .resolve(id, Resolution::Retry)
                                        .await
                                        .map_err(|e| e.to_string()),
                                    Err(writes::FetchError::Offline) => {
                                        Err("Reopening needs a connection.".into())
                                    }
                                    Err(writes::FetchError::SignIn) => {
                                        Err("Sign in again to reopen the conversation.".into())
                                    }
                                    Err(err) => {
                                        Err(format!("The thread could not be reopened: {err}"))
                                    }
                                }
                            }
                            Action::Retry => s
                                .runtime
                                .resolve(id, Resolution::Retry)
                                .await
                                .map_err(|e| e.to_string()),
                            Action::Discard => s
                                .runtime
                                .resolve(id, Resolution::Discard)
                                .await
                                .map_err(|e| e.to_string()),
                            Action::CopyText => copy(&body).await,
                            Action::RefetchRegistry | Action::RemoveAttachment => Ok(()),
                        };
                        problem.set(outcome.err());
                    });
                };
                Some(view! { <button type="button" class=class on:click=run>{label}</button> })
            })
            .collect_view()
    });
    let label = row.delivery.label();
    view! {
        <li class="message" class:mine=row.mine class:not-sent=matches!(row.delivery, Delivery::NotSent { .. })>
            <p class="message-meta">
                <span class="sender">{row.sender.clone()}</span>
                {row.sent_at.as_deref().map(|t| view! { <time datetime=t.to_owned()>{local_time(t)}</time> })}
            </p>
            <p class="message-body">{row.body.clone()}</p>
            {label.map(|l| view! { <p class="delivery">{l}</p> })}
            {buttons.map(|b| view! { <div class="actions">{b}</div> })}
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
        </li>
    }
}

async fn copy(text: &str) -> Result<(), String> {
    let clipboard = web_sys::window()
        .map(|w| w.navigator().clipboard())
        .ok_or("No clipboard here.")?;
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(drop)
        .map_err(|_| "The text could not be copied.".to_owned())
}
