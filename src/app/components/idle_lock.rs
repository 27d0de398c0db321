//! The idle lock of a shared device: after the tenant's `idleLockSeconds` with no input, the
//! session locks (its waiting writes sealed and still sent, its key out of memory).
//!
//! One timer for the whole app, re-armed by any input and whenever a session begins or ends
//! (dropping the old `Timeout` cancels it), so a lock can never come from a session that is
//! already gone.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;

use crate::{
    app::{split, use_host},
    platform::{device_class, listen::on_event},
};

const INPUT: [&str; 6] = [
    "pointerdown",
    "pointermove",
    "keydown",
    "touchstart",
    "wheel",
    "scroll",
];

#[component]
pub fn IdleLock() -> impl IntoView {
    let host = use_host();
    let timer = StoredValue::new_local(None::<Timeout>);
    let arm = move || {
        let limit = host.session.with_untracked(|s| {
            s.as_ref()
                .filter(|s| s.shared)
                .map(|s| device_class::idle_lock_seconds(&s.user.tenant_id))
        });
        let next = limit.map(|secs| {
            let ms = u32::try_from(secs.saturating_mul(1000)).unwrap_or(u32::MAX);
            Timeout::new(ms, move || {
                leptos::task::spawn_local(async move {
                    if let Some(session) = split::session_or_log().await {
                        (session.lock)(host).await;
                    }
                });
            })
        });
        // The previous timer, replaced here, is dropped and so cancelled.
        timer.set_value(next);
    };
    for name in INPUT {
        on_event(&document(), name, true, move |_| arm());
    }
    Effect::new(move |_| {
        host.session.track();
        arm();
    });
}
