//! Writing a message: the draft is kept on the device as it is typed; Send is one local
//! transaction, and the outbox takes it from there.

use std::rc::Rc;

use leptos::{ev::SubmitEvent, prelude::*};

use crate::platform::{session::SignedIn, writes};

const DRAFT_NOT_SAVED: &str = "Your draft could not be saved on this device";

#[component]
pub fn Composer(s: Rc<SignedIn>, thread: String) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let (cache, id) = (s.cache.clone(), thread.clone());
    leptos::task::spawn_local(async move {
        if let Ok(draft) = cache.draft(&id).await {
            if text.get_untracked().is_empty() {
                text.set(draft);
            }
        }
    });
    let (cache, id) = (s.cache.clone(), thread.clone());
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        let (cache, id) = (cache.clone(), id.clone());
        leptos::task::spawn_local(async move {
            match cache.save_draft(&id, &value).await {
                Ok(()) => problem.update(|p| {
                    if p.as_deref().is_some_and(|p| p.starts_with(DRAFT_NOT_SAVED)) {
                        *p = None;
                    }
                }),
                Err(err) => problem.set(Some(format!("{DRAFT_NOT_SAVED}: {err}"))),
            }
        });
    };
    let s = StoredValue::new_local(s);
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = text.get_untracked();
        if body.trim().is_empty() {
            problem.set(Some("Write a message first.".into()));
            return;
        }
        problem.set(None);
        text.set(String::new());
        let (s, id) = (s.get_value(), thread.clone());
        leptos::task::spawn_local(async move {
            let (new, change) = writes::message(&s, &id, &body);
            match s.runtime.enqueue(new, Some(change)).await {
                Ok(_) => {
                    if let Err(err) = s.cache.save_draft(&id, "").await {
                        problem.set(Some(format!(
                            "Your message is queued, but its draft could not be cleared: {err}. \
                             Clear the box before writing again."
                        )));
                    }
                }
                Err(err) => {
                    // Nothing is lost: the text goes back into the box.
                    text.set(body);
                    problem.set(Some(format!(
                        "The message could not be saved on this device: {err}"
                    )));
                }
            }
        });
    };
    view! {
        <form class="composer" on:submit=send>
            <label for="composer-text">"Message"</label>
            <textarea id="composer-text" name="message" rows="3" prop:value=text on:input=on_input></textarea>
            <Show when=move || problem.with(Option::is_some)>
                <p class="error" role="alert">{move || problem.get()}</p>
            </Show>
            <button type="submit">"Send"</button>
        </form>
    }
}
