//! The shell's split points: what the apps load only once they need it.
//!
//! The shell (the main wasm module) holds what the first screen needs: the frame, the router
//! and the sign-in form. A split point (`wasm_split`) is cut out of it by `scripts/split.mjs`,
//! with everything only it reaches, into chunks fetched the first time it is called. Both
//! apps share one, the session: the engine, the vault, the sealed outbox and the screens
//! around them, reached through [`Session`]. Each app's pages are split points of its own
//! binary (`src/main.rs`, `src/bin/ward.rs`): a split point defined in the library is linked
//! into both apps, and one an app never calls stays whole in its shell.
//!
//! Every split point loads once the first screen is painted ([`preload`]), so the app works
//! offline as early as before; the service worker precaches every chunk too. A chunk that
//! cannot load (offline on a first visit) is an [`Unloaded`] error in words, never a panic.
//!
//! Split points are few on purpose: the splitter writes one chunk for each set of split
//! points that share code, so every split point multiplies the files.

use std::{future::Future, pin::Pin, rc::Rc};

use leptos::{
    prelude::*,
    wasm_split::{wasm_split, SplitLoaderError},
};

use super::{
    components::SignInAgainForm,
    host::{DeviceHandle, SessionHost},
    pages::{SignOut, SyncPage, Unlock},
};
use crate::platform::{
    locked::{self, Restored},
    session::{self, Credentials, SignInError, SignedIn},
};

/// A part of the app that has not downloaded (offline on a first visit, or a lost answer).
#[derive(Debug, Clone, thiserror::Error)]
#[error("This part of caresync has not downloaded yet. Check the connection, then try again.")]
pub struct Unloaded;

impl From<SplitLoaderError> for Unloaded {
    fn from(_: SplitLoaderError) -> Self {
        Unloaded
    }
}

impl From<Unloaded> for SignInError {
    fn from(_: Unloaded) -> Self {
        SignInError::NotDownloaded
    }
}

type Task<T> = Pin<Box<dyn Future<Output = T>>>;

/// What the session split point holds: everything after sign-in that both apps use.
#[derive(Clone, Copy)]
pub struct Session {
    /// At start: the device's sealed outbox, then the session this device restores.
    pub open_on_start: fn(SessionHost, Owner) -> Task<()>,
    pub sign_in: fn(SessionHost, SignInForm) -> Task<Result<(), SignInError>>,
    pub sync_now: fn(Rc<SignedIn>),
    /// Sign-out on a personal device.
    pub end: fn(SessionHost),
    /// The idle lock of a shared device.
    pub lock: fn(SessionHost) -> Task<()>,
    pub unlock_page: fn() -> AnyView,
    pub sync_page: fn() -> AnyView,
    pub sign_out_page: fn() -> AnyView,
    pub sign_in_again_form: fn() -> AnyView,
}

/// What the sign-in form holds when it is sent.
pub struct SignInForm {
    pub tenant: String,
    pub username: String,
    pub password: String,
    pub keep: bool,
    pub shared: bool,
}

/// The session split point, loaded on first use.
#[wasm_split(caresync_session, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_session))]
pub fn session() -> Result<Session, Unloaded> {
    Ok(Session {
        open_on_start: |host, app| Box::pin(open_on_start(host, app)),
        sign_in: |host, form| Box::pin(sign_in(host, form)),
        sync_now: |signed_in| signed_in.runtime.sync_now(),
        end: |host| host.end(),
        lock: |host| Box::pin(async move { host.lock().await }),
        unlock_page: || view! { <Unlock /> }.into_any(),
        sync_page: || view! { <SyncPage /> }.into_any(),
        sign_out_page: || view! { <SignOut /> }.into_any(),
        sign_in_again_form: || view! { <SignInAgainForm /> }.into_any(),
    })
}

/// The session split point for an action with no screen of its own to say it on: `None`, said
/// in the console, when it cannot download. The action is then not taken; nothing is lost.
pub async fn session_or_log() -> Option<Session> {
    session()
        .await
        .inspect_err(|err| leptos::logging::warn!("{err}"))
        .ok()
}

async fn open_on_start(host: SessionHost, app: Owner) {
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

async fn sign_in(host: SessionHost, form: SignInForm) -> Result<(), SignInError> {
    // The form shows before the start is over on a first visit: the device must be open
    // first, or this sign-in would go ahead without its escrow and courier.
    while !host.opened.get_untracked() {
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
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

/// Loads the session split point now, then `pages` (the app's own split points), so the app
/// works offline as soon as they have loaded.
pub fn preload(pages: impl Future<Output = Result<(), SplitLoaderError>> + 'static) {
    when_idle(async move {
        let loaded = match preload_session().await {
            Ok(()) => pages.await,
            Err(err) => Err(err),
        };
        if loaded.is_err() {
            leptos::logging::warn!("{Unloaded}");
        }
    });
}

/// Runs `task` once the page is idle: after the first screen is painted, so what downloads
/// for later does not hold it back.
pub fn when_idle(task: impl Future<Output = ()> + 'static) {
    let task = std::cell::Cell::new(Some(task));
    request_idle_callback(move || {
        if let Some(task) = task.take() {
            leptos::task::spawn_local(task);
        }
    });
}

/// A view behind a split point: `load` gives the function that builds it once its chunk has
/// loaded (at once when it has). Until then nothing shows; if it cannot load, that is said
/// in words with a way to try again.
///
/// The view is built here, synchronously, under this owner, not inside the load's future: a
/// view built in a `Suspend` keeps render effects that can outlive the signals they read, and
/// reading a disposed signal panics.
pub fn lazily<F, V>(load: V) -> AnyView
where
    V: Fn() -> F + Copy + Send + Sync + 'static,
    F: Future<Output = Result<fn() -> AnyView, Unloaded>> + 'static,
{
    let built = RwSignal::new_local(None::<Result<fn() -> AnyView, Unloaded>>);
    let fetch = move || {
        leptos::task::spawn_local(async move {
            // A no-op once the view is gone: `try_set` on a disposed signal.
            built.try_set(Some(load().await));
        });
    };
    fetch();
    let view = move || match built.get() {
        None => ().into_any(),
        Some(Ok(build)) => build(),
        Some(Err(err)) => view! {
            <div class="notice" role="alert">
                <p>{err.to_string()}</p>
                <button type="button" on:click=move |_| { built.set(None); fetch(); }>
                    "Try again"
                </button>
            </div>
        }
        .into_any(),
    };
    view.into_any()
}

/// One of the session split point's views, behind [`lazily`].
pub fn session_view(pick: fn(&Session) -> fn() -> AnyView) -> AnyView {
    lazily(move || async move { Ok(pick(&session().await?)) })
}
