//! What every page that shows a user's data shares: it needs a session (else back to
//! sign-in), and it refreshes its list from the server whenever the browser is online,
//! trying again while that read fails.

use std::{cell::Cell, future::Future, pin::Pin, rc::Rc};

use caresync_sync::backoff::{Backoff, SplitMix64};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::{
    app::{use_host, use_online},
    platform::{session::SignedIn, writes::FetchError},
};

/// When a page's read is tried again after a transient failure: within 2 s at first, then
/// less often, never more than a minute apart (full jitter, as the outbox's writes).
const READ_RETRY: Backoff = Backoff {
    base_ms: 2_000,
    cap_ms: 60_000,
    min_ms: 500,
};

/// The page `page` renders for the signed-in user, or a redirect to sign-in.
pub fn require_session<V: IntoView + 'static>(
    page: impl Fn(Rc<SignedIn>) -> V + Send + Sync + 'static,
) -> impl IntoView {
    session_gate(Box::new(move |s| page(s).into_any()))
}

/// One concrete gate for every page: as a generic, its reactive view was compiled once per
/// page (about 14 KB of the shell's wasm).
///
/// The redirect is taken while the page is built: a lock or sign-out may run this closure
/// once more as the page is torn down, when the router's context is no longer reachable. A
/// locked session stays where it is: the Unlock screen covers it, and the page is the same
/// after unlocking.
fn session_gate(page: Box<dyn Fn(Rc<SignedIn>) -> AnyView + Send + Sync>) -> impl IntoView {
    let host = use_host();
    let navigate = use_navigate();
    let base = crate::app::use_entry().base;
    move || match host.session.get() {
        Some(s) => page(s),
        None => {
            if host.locked.with_untracked(Option::is_none) {
                navigate(base, Default::default());
            }
            ().into_any()
        }
    }
}

/// Stale-while-revalidate: each time the browser is online, `refresh` runs for the session
/// held in `held`; the page already shows the device's copy and re-reads when it changes.
/// A read that fails for a transient reason (a lost answer, a busy server) is tried again
/// with backoff while the page is open and the browser online: one lost answer must not
/// leave the page on an old or empty list until the next reconnect.
pub fn revalidate_when_online<F, Fut>(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    what: &'static str,
    refresh: F,
) where
    F: Fn(Rc<SignedIn>) -> Fut + 'static,
    Fut: Future<Output = Result<(), FetchError>> + 'static,
{
    let refresh: Rc<Refresh> = Rc::new(move |s| Box::pin(refresh(s)));
    retry_reads(held, what, refresh);
}

type Refresh = dyn Fn(Rc<SignedIn>) -> Pin<Box<dyn Future<Output = Result<(), FetchError>>>>;

/// The one concrete body of `revalidate_when_online`: as a generic, its retry loop was
/// compiled once per page.
fn retry_reads(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    what: &'static str,
    refresh: Rc<Refresh>,
) {
    let online = use_online();
    // Each time the browser comes online starts one chain of tries; an older chain stops.
    let chain = Rc::new(Cell::new(0u32));
    Effect::new(move |_| {
        if !online.get() {
            return;
        }
        let id = chain.get().wrapping_add(1);
        chain.set(id);
        let (refresh, chain) = (refresh.clone(), chain.clone());
        leptos::task::spawn_local(async move {
            let mut rng = SplitMix64(js_sys::Date::now().to_bits());
            let mut failed = 0;
            // The page may be gone (its values disposed) by the time a wait ends.
            while let Some(s) = held.try_get_value() {
                let Err(err) = refresh(s).await else { return };
                leptos::logging::warn!("{what} not refreshed: {err}");
                if !err.is_transient() {
                    return;
                }
                failed += 1;
                // At most READ_RETRY's cap (a minute): no Retry-After is passed.
                let wait = READ_RETRY.delay(failed, None, &mut rng) as u32;
                gloo_timers::future::TimeoutFuture::new(wait).await;
                if chain.get() != id || online.try_get_untracked() != Some(true) {
                    return;
                }
            }
        });
    });
}
