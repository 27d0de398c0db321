//! The shell's split points: what both apps load only when it is first needed.
//!
//! The shell (the main wasm module) holds what the first screen needs: the frame, the router
//! and the sign-in form. Each `#[lazy]` function here is cut out of it by `scripts/split.mjs`
//! with everything only it reaches, into chunks fetched the first time it is called: the
//! signed-in session (the engine, the vault, the sealed outbox) and the screens after sign-in.
//! The service worker precaches every chunk, so a split point costs no network offline.
//!
//! A split point defined in the library is kept by both apps' builds (its export is), so
//! only what both apps call lives here. A page only one app routes to is its binary's own
//! split point (`src/main.rs`, `src/bin/ward.rs`): had it lived here, the other app would
//! link it and, never calling it, keep it in its shell.
//!
//! Without splitting (`cargo test`, the browser tier) a split point is a plain async call.

use std::{future::Future, rc::Rc};

use leptos::{__reexports::send_wrapper::SendWrapper, lazy, prelude::*};

use super::{
    components::SignInAgainForm,
    host::{DeviceHandle, SessionHost},
    pages::{SignOut, SyncPage, Unlock},
};
use crate::platform::{
    locked::{self, Restored},
    session::{self, Credentials, SignInError, SignedIn},
};

/// A view behind a split point: nothing until its chunk has loaded (at once when cached),
/// then the view.
pub fn lazily<F: Future<Output = AnyView> + 'static>(view: fn() -> F) -> AnyView {
    // The chunk's future is not `Send`; the app has one thread.
    let load = move || Suspend::new(SendWrapper::new(view()));
    view! { <Suspense fallback=|| ()>{load}</Suspense> }.into_any()
}

/// At start: the device's sealed outbox, then the session this device restores, if any.
#[lazy]
pub async fn open_on_start(host: SessionHost, app: Owner) {
    if let Some(device) = DeviceHandle::start().await {
        app.with(|| device.sealed.start());
        host.device.set(Some(device));
    }
    match locked::restore().await {
        Some(Restored::SignedIn(signed_in)) => host.begin(signed_in),
        Some(Restored::Locked(locked)) => host.locked.set(Some(Rc::new(locked))),
        None => {}
    }
}

/// What the sign-in form holds when it is sent.
pub struct SignInForm {
    pub tenant: String,
    pub username: String,
    pub password: String,
    pub keep: bool,
    pub shared: bool,
}

/// Signs in with what the form holds and begins the session.
#[lazy]
pub async fn sign_in(host: SessionHost, form: SignInForm) -> Result<(), SignInError> {
    let device = host.device.get_untracked();
    let credentials = Credentials {
        tenant: form.tenant.trim(),
        username: form.username.trim(),
        password: &form.password,
        keep: form.keep,
        shared: form.shared,
    };
    let signed_in = session::sign_in(credentials, device.as_ref().map(|d| &d.device)).await?;
    host.begin(signed_in);
    Ok(())
}

/// "Sync now".
#[lazy]
pub fn sync_now(signed_in: Rc<SignedIn>) {
    signed_in.runtime.sync_now();
}

/// Sign-out on a personal device (`SessionHost::end`).
#[lazy]
pub fn end_session(host: SessionHost) {
    host.end();
}

/// The idle lock of a shared device (`SessionHost::lock`).
#[lazy]
pub async fn lock_session(host: SessionHost) {
    host.lock().await;
}

#[lazy]
pub fn unlock_page() -> AnyView {
    view! { <Unlock /> }.into_any()
}

#[lazy]
pub fn sync_page() -> AnyView {
    view! { <SyncPage /> }.into_any()
}

#[lazy]
pub fn sign_out_page() -> AnyView {
    view! { <SignOut /> }.into_any()
}

#[lazy]
pub fn sign_in_again_form() -> AnyView {
    view! { <SignInAgainForm /> }.into_any()
}
