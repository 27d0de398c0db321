//! The start page: sign in, or straight on to the messages.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::components::Redirect;

use crate::{
    app::{
        components::{CredentialFields, SignInButton},
        use_host,
    },
    platform::session,
};

#[component]
pub fn Home() -> impl IntoView {
    let host = use_host();
    move || {
        if host.session.with(Option::is_some) {
            view! { <Redirect path="/threads" /> }.into_any()
        } else {
            view! { <SignIn /> }.into_any()
        }
    }
}

#[component]
fn SignIn() -> impl IntoView {
    let host = use_host();
    let tenant = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Off by default: a reload then asks for the password before anything is shown.
    let keep = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (t, u, p, k) = (
            tenant.get_untracked(),
            username.get_untracked(),
            password.get_untracked(),
            keep.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            match session::sign_in(t.trim(), u.trim(), &p, k).await {
                Ok(signed_in) => host.begin(signed_in),
                Err(err) => error.set(Some(err.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="page sign-in" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <p>"Your messages stay on this device, so you can read and write them with no network."</p>
            <form on:submit=submit>
                <label for="tenant">"Tenant"</label>
                <input id="tenant" name="tenant" autocomplete="organization" required
                    prop:value=tenant on:input=move |ev| tenant.set(event_target_value(&ev)) />
                <CredentialFields prefix="" username=username password=password />
                <label class="check">
                    <input type="checkbox" name="keep" prop:checked=keep
                        on:change=move |ev| keep.set(event_target_checked(&ev)) />
                    "Keep me signed in on this device"
                </label>
                <SignInButton error=error busy=busy />
            </form>
        </section>
    }
}
