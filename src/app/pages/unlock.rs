//! The Unlock screen: this device holds the last user's data, sealed, and their password
//! opens it, with no network. "Sign out" leaves it sealed for their next sign-in. On a shared
//! device it is the "Locked" screen: five wrong passwords in a row wipe that user's data.

use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    app::use_host,
    platform::{audit::kind, locked::UnlockError},
};

/// Wrong passwords in a row that wipe a shared device's locked data.
const WIPE_AFTER: u32 = 5;

#[component]
pub fn Unlock() -> impl IntoView {
    let host = use_host();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(locked) = host.locked.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let typed = password.get_untracked();
        leptos::task::spawn_local(async move {
            match locked.unlock(&typed).await {
                Ok(signed_in) => {
                    locked.clear_failures();
                    host.begin(signed_in);
                }
                Err(err) => {
                    password.set(String::new());
                    error.set(Some(err.to_string()));
                    if matches!(err, UnlockError::WrongPassword) && locked.shared {
                        let failures = locked.record_failure();
                        let user = &locked.user;
                        let payload = serde_json::json!({ "failures": failures });
                        host.audit_for(
                            &user.tenant_id,
                            &user.user_id,
                            kind::UNLOCK_FAILED,
                            payload,
                        )
                        .await;
                        if failures >= WIPE_AFTER {
                            let wiped = host.wipe_locked("failed_unlocks", "Five wrong passwords: this account's data was removed from this device. Changes it was still sending are sealed and still go out.").await;
                            if let Err(err) = wiped {
                                error.set(Some(err));
                            }
                        } else {
                            error.set(Some(format!(
                                "Wrong password. {} more and this account's data is removed from this device.",
                                WIPE_AFTER - failures
                            )));
                        }
                    }
                }
            }
            busy.set(false);
        });
    };
    let sign_out = move |_| {
        let Some(locked) = host.locked.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            if !locked.shared {
                host.locked.set(None);
                locked.sign_out().await;
                return;
            }
            // A shared device wipes at sign-out; its writes go out from their sealed copies.
            let wiped = host
                .wipe_locked(
                    "sign_out",
                    "You are signed out, and your data was removed from this shared device.",
                )
                .await;
            if let Err(err) = wiped {
                error.set(Some(err));
            }
        });
    };
    let shared = move || host.locked.with(|l| l.as_ref().is_some_and(|l| l.shared));
    view! {
        <section class="page unlock" aria-labelledby="unlock-title">
            <h1 id="unlock-title">{move || if shared() { "Locked" } else { "Unlock" }}</h1>
            <p>"Your messages on this device are locked. Enter your password to open them; this works with no network."</p>
            <form on:submit=submit>
                <label for="unlock-password">"Password"</label>
                <input id="unlock-password" name="password" type="password"
                    autocomplete="current-password" required
                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
                <Show when=move || error.with(Option::is_some)>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <p class="status" aria-live="polite">
                    {move || busy.get().then_some("Unlocking…")}
                </p>
                <div class="actions">
                    <button type="submit" prop:disabled=busy>"Unlock"</button>
                    <button type="button" class="secondary" on:click=sign_out>"Sign out"</button>
                </div>
            </form>
        </section>
    }
}
