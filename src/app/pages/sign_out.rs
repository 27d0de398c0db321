//! Signing out of a shared device: nothing waiting is lost silently and nothing readable
//! stays. Online, waiting changes are sent first, with progress; whatever is still unsent
//! (offline, or refused) is then either kept sealed and sent later under the user's replay
//! credential (the default) or, confirmed, discarded with an audit event that names how
//! many of which kinds, never their content. Then the user's data is wiped.

use std::{collections::BTreeMap, rc::Rc};

use caresync_sync::{Mutation, OutboxStore as _};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::{
    app::{use_host, SessionHost},
    platform::{audit::kind, runtime::Pass, session::SignedIn},
};

/// Passes tried while sending before giving up on what will not go.
const FLUSH_PASSES: usize = 5;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Sending(usize),
    Unsent(usize),
    ConfirmDiscard(usize),
    Wiping,
    Failed(String),
}

fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".into()
    } else {
        format!("{n} changes")
    }
}

#[component]
pub fn SignOut() -> impl IntoView {
    let host = use_host();
    let entry = crate::app::use_entry();
    let navigate = use_navigate();
    let step = RwSignal::new(Step::Sending(0));
    let Some(s) = host.session.get_untracked() else {
        navigate(entry.base, Default::default());
        return view! { <p class="page">"You are signed out."</p> }.into_any();
    };
    let go_home = {
        let navigate = navigate.clone();
        move || navigate(entry.base, Default::default())
    };
    {
        let (s, go_home) = (s.clone(), go_home.clone());
        leptos::task::spawn_local(async move {
            match flush(&s, step).await {
                // Only writes made on the user's behalf (read receipts) are left: they are
                // sealed like the rest, with no question the user would not understand.
                Ok(0) => match seal_unsent(host, &s).await {
                    Ok(()) => finish(host, step, go_home).await,
                    Err(err) => step.set(Step::Failed(err)),
                },
                Ok(n) => step.set(Step::Unsent(n)),
                Err(err) => step.set(Step::Failed(err)),
            }
        });
    }
    // Views need `Send` closures; the session stays on this thread, held here.
    let held = StoredValue::new_local(s);
    let keep = {
        let go_home = go_home.clone();
        move |_| {
            let (s, go_home) = (held.get_value(), go_home.clone());
            step.set(Step::Wiping);
            leptos::task::spawn_local(async move {
                match seal_unsent(host, &s).await {
                    Ok(()) => finish(host, step, go_home).await,
                    Err(err) => step.set(Step::Failed(err)),
                }
            });
        }
    };
    let discard = {
        let go_home = go_home.clone();
        move |_| {
            let (s, go_home) = (held.get_value(), go_home.clone());
            step.set(Step::Wiping);
            leptos::task::spawn_local(async move {
                match discard_unsent(host, &s).await {
                    Ok(()) => finish(host, step, go_home).await,
                    Err(err) => step.set(Step::Failed(err)),
                }
            });
        }
    };
    let stay = move |_| navigate(entry.landing, Default::default());
    view! {
        <section class="page sign-out" aria-labelledby="sign-out-title">
            <h1 id="sign-out-title">"Signing out"</h1>
            {move || match step.get() {
                Step::Sending(n) => view! {
                    <p role="status">{format!("Sending {}…", changes(n))}</p>
                }.into_any(),
                Step::Unsent(n) => view! {
                    <p role="status">{format!("{} not yet sent", changes(n))}</p>
                    <p>"They can stay on this device sealed, so that only the server can read them, and go out under your name when it is back online; or they can be discarded."</p>
                    <div class="actions">
                        <button type="button" autofocus on:click=keep.clone()>"Keep sealed and send later"</button>
                        <button type="button" class="secondary" on:click=move |_| step.set(Step::ConfirmDiscard(n))>"Discard them"</button>
                        <button type="button" class="secondary" on:click=stay.clone()>"Stay signed in"</button>
                    </div>
                }.into_any(),
                Step::ConfirmDiscard(n) => view! {
                    <p role="alert">{format!("Discard {}? They will never be sent, and this cannot be undone.", changes(n))}</p>
                    <div class="actions">
                        <button type="button" class="danger" on:click=discard.clone()>"Yes, discard them"</button>
                        <button type="button" class="secondary" on:click=move |_| step.set(Step::Unsent(n))>"Cancel"</button>
                    </div>
                }.into_any(),
                Step::Wiping => view! { <p role="status">"Removing your data from this device…"</p> }.into_any(),
                Step::Failed(err) => view! {
                    <p role="alert">{format!("Signing out stopped: {err}. Nothing was removed.")}</p>
                }.into_any(),
            }}
        </section>
    }
    .into_any()
}

/// The user's own changes among `writes` (not what the app queued for them).
fn own(writes: &[Mutation]) -> usize {
    writes.iter().filter(|m| !m.kind.is_housekeeping()).count()
}

/// Sends what can be sent; returns how many of the user's own changes are still undecided.
async fn flush(s: &Rc<SignedIn>, step: RwSignal<Step>) -> Result<usize, String> {
    for _ in 0..FLUSH_PASSES {
        let waiting = own(&unsent(s).await?);
        step.set(Step::Sending(waiting));
        let stats = s
            .runtime
            .refresh_status()
            .await
            .map_err(|e| e.to_string())?;
        if stats.pending + stats.in_flight == 0 {
            break;
        }
        match s.runtime.pass().await.map_err(|e| e.to_string())? {
            Pass::Ran(report) if report.delivered > 0 => continue,
            _ => break,
        }
    }
    Ok(own(&unsent(s).await?))
}

async fn unsent(s: &SignedIn) -> Result<Vec<Mutation>, String> {
    s.runtime
        .store()
        .undecided()
        .await
        .map_err(|e| e.to_string())
}

async fn seal_unsent(host: SessionHost, s: &SignedIn) -> Result<(), String> {
    let device = host
        .device
        .get_untracked()
        .ok_or("this device's own storage is not open")?;
    device
        .device
        .hand_over(s.runtime.store())
        .await
        .map_err(|e| e.to_string())?;
    device.sealed.sync_now();
    Ok(())
}

/// Removes every unsent write and records how many of which kinds went (never their text).
async fn discard_unsent(host: SessionHost, s: &SignedIn) -> Result<(), String> {
    let gone = unsent(s).await?;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for m in &gone {
        let name = serde_json::to_value(m.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *kinds.entry(name).or_default() += 1;
        s.runtime
            .store()
            .remove(m.id)
            .await
            .map_err(|e| e.to_string())?;
    }
    let payload = serde_json::json!({ "count": gone.len(), "kinds": kinds });
    host.audit_for(&s.user.tenant_id, &s.user.user_id, kind::DISCARDED, payload)
        .await;
    Ok(())
}

async fn finish(host: SessionHost, step: RwSignal<Step>, go_home: impl Fn()) {
    step.set(Step::Wiping);
    host.end_and_wipe().await;
    go_home();
}
