//! The start page: sign in, or straight on to the messages.

use caresync_contract::auth::{DeviceClass, DeviceConfig};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::components::Redirect;

use crate::{
    app::{
        components::{CredentialFields, SignInButton},
        split::{self, SignInForm},
        use_host,
    },
    platform::device_class,
};

#[component]
pub fn Home() -> impl IntoView {
    let host = use_host();
    move || {
        if host.session.with(Option::is_some) {
            view! { <Redirect path=crate::app::use_entry().landing /> }.into_any()
        } else {
            view! { <SignIn /> }.into_any()
        }
    }
}

/// The sign-in form, shared by both apps.
#[component]
pub fn SignIn() -> impl IntoView {
    let host = use_host();
    let tenant = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // Off by default: a reload then asks for the password before anything is shown.
    let keep = RwSignal::new(false);
    let chosen_shared = RwSignal::new(device_class::remembered_shared());
    let policy = RwSignal::new(None::<DeviceConfig>);
    let shared = move || policy.with(|p| device_class::is_shared(p.as_ref(), chosen_shared.get()));
    let forced = move || {
        policy.with(|p| {
            p.as_ref()
                .is_some_and(|p| p.device_class != DeviceClass::Either)
        })
    };
    // The tenant's policy, once its name is typed: cached first, then from the server.
    let read_policy = move |_| {
        let t = tenant.get_untracked().trim().to_owned();
        if t.is_empty() {
            return;
        }
        policy.set(device_class::cached(&t));
        leptos::task::spawn_local(async move { policy.set(device_class::fetch(&t).await) });
    };
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (t, u, p) = (
            tenant.get_untracked(),
            username.get_untracked(),
            password.get_untracked(),
        );
        let (k, sh) = (keep.get_untracked(), shared());
        if !forced() {
            device_class::remember_shared(chosen_shared.get_untracked());
        }
        let form = SignInForm {
            tenant: t,
            username: u,
            password: p,
            keep: k,
            shared: sh,
        };
        leptos::task::spawn_local(async move {
            let signed_in = async move { (split::session().await?.sign_in)(host, form).await };
            if let Err(err) = signed_in.await {
                error.set(Some(err.to_string()));
            }
            busy.set(false);
        });
    };
    view! {
        <section class="page sign-in" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <Show when=move || host.farewell.with(Option::is_some)>
                <p class="notice" role="status">{move || host.farewell.get()}</p>
            </Show>
            <p>"Your messages stay on this device, so you can read and write them with no network."</p>
            <form on:submit=submit>
                <label for="tenant">"Tenant"</label>
                <input id="tenant" name="tenant" autocomplete="organization" required
                    prop:value=tenant on:input=move |ev| tenant.set(event_target_value(&ev))
                    on:change=read_policy />
                <CredentialFields prefix="" username=username password=password />
                <label class="check">
                    <input type="checkbox" name="shared" prop:checked=shared prop:disabled=forced
                        on:change=move |ev| chosen_shared.set(event_target_checked(&ev)) />
                    "Shared device (clinic kiosk or ward tablet)"
                </label>
                <Show when=forced>
                    <p class="hint">"Your organisation sets this for you."</p>
                </Show>
                <Show when=move || !shared()>
                    <label class="check">
                        <input type="checkbox" name="keep" prop:checked=keep
                            on:change=move |ev| keep.set(event_target_checked(&ev)) />
                        "Keep me signed in on this device"
                    </label>
                </Show>
                <SignInButton error=error busy=busy />
            </form>
        </section>
    }
}
