//! What every page that shows a user's data shares: it needs a session (else back to
//! sign-in), and it refreshes its list from the server whenever the browser is online.

use std::{future::Future, rc::Rc};

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::{
    app::{use_online, use_session},
    platform::{session::SignedIn, writes::FetchError},
};

/// The page `page` renders for the signed-in user, or a redirect to sign-in.
pub fn require_session<V: IntoView + 'static>(
    page: impl Fn(Rc<SignedIn>) -> V + Send + Sync + 'static,
) -> impl IntoView {
    session_gate(Box::new(move |s| page(s).into_any()))
}

/// One concrete gate for every page: as a generic, its reactive view was compiled once per
/// page (about 14 KB of the shell's wasm).
fn session_gate(page: Box<dyn Fn(Rc<SignedIn>) -> AnyView + Send + Sync>) -> impl IntoView {
    let session = use_session();
    move || match session.get() {
        Some(s) => page(s),
        None => view! { <Redirect path=crate::app::use_entry().base /> }.into_any(),
    }
}

/// Stale-while-revalidate: each time the browser is online, `refresh` runs for the session
/// held in `held`; the page already shows the device's copy and re-reads when it changes.
pub fn revalidate_when_online<F, Fut>(
    held: StoredValue<Rc<SignedIn>, LocalStorage>,
    what: &'static str,
    refresh: F,
) where
    F: Fn(Rc<SignedIn>) -> Fut + 'static,
    Fut: Future<Output = Result<(), FetchError>> + 'static,
{
    let online = use_online();
    Effect::new(move |_| {
        if online.get() {
            let run = refresh(held.get_value());
            leptos::task::spawn_local(async move {
                if let Err(err) = run.await {
                    leptos::logging::warn!("{what} not refreshed: {err}");
                }
            });
        }
    });
}
