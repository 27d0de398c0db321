//! The idle lock of a shared device: after the tenant's `idleLockSeconds` with no input, the
//! session locks (its waiting writes sealed and still sent, its key out of memory).

use leptos::prelude::*;
use leptos_use::{use_idle, UseIdleReturn};

use crate::{app::use_host, platform::device_class};

#[component]
pub fn IdleLock() -> impl IntoView {
    let host = use_host();
    let shared = move || host.session.with(|s| s.as_ref().is_some_and(|s| s.shared));
    view! {
        <Show when=shared>
            <IdleTimer />
        </Show>
    }
}

/// Made when a shared session begins, so it counts from then, with that tenant's limit.
#[component]
fn IdleTimer() -> impl IntoView {
    let host = use_host();
    let seconds = host.session.with_untracked(|s| {
        s.as_ref()
            .map_or(device_class::DEFAULT_IDLE_LOCK_SECONDS, |s| {
                device_class::idle_lock_seconds(&s.user.tenant_id)
            })
    });
    let UseIdleReturn { idle, .. } = use_idle(seconds.saturating_mul(1000));
    Effect::new(move |_| {
        if idle.get() {
            leptos::task::spawn_local(async move { host.lock().await });
        }
    });
}
