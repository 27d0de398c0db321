//! The prompt shown when the server refused the session: the same user signs in again, on
//! the same local data, and everything that waited is sent.

use leptos::{ev::SubmitEvent, prelude::*};

use super::{CredentialFields, SignInButton};
use crate::app::{split::session_view, use_session};

/// "Sign in again to send your N changes", in words.
pub fn reason(waiting: usize) -> String {
    match waiting {
        0 => "Your session has ended. Sign in again to keep your messages up to date.".into(),
        1 => "Sign in again to send your 1 change.".into(),
        n => format!("Sign in again to send your {n} changes."),
    }
}

#[component]
pub fn SignInAgain() -> impl IntoView {
    let session = use_session();
    let needed =
        move || session.with(|s| s.as_ref().is_some_and(|s| s.runtime.status.sign_in.get()));
    view! {
        <Show when=needed>
            {session_view(|s| s.sign_in_again_form)}
        </Show>
    }
}

#[component]
pub fn SignInAgainForm() -> impl IntoView {
    let session = use_session();
    let known = session.with_untracked(|s| s.as_ref().and_then(|s| s.username.clone()));
    let username = RwSignal::new(known.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let waiting =
        move || session.with(|s| s.as_ref().map_or(0, |s| s.runtime.status.changes_waiting()));
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(s) = session.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (u, p) = (username.get_untracked(), password.get_untracked());
        leptos::task::spawn_local(async move {
            match s.sign_in_again(u.trim(), &p).await {
                Ok(()) => password.set(String::new()),
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="sign-in-again" aria-labelledby="sign-in-again-title">
            <h2 id="sign-in-again-title">"Sign in again"</h2>
            <p>{move || reason(waiting())}</p>
            <p>"Nothing you wrote is lost: it stays on this device until it is sent."</p>
            <form on:submit=submit>
                <CredentialFields prefix="again-" username=username password=password />
                <SignInButton error=error busy=busy />
            </form>
        </section>
    }
}
