//! The app frame: header with the sync status, the update prompt, and the routed pages.

pub mod components;
pub mod model;
pub mod pages;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::platform::{
    locked::{self, Locked, Restored},
    session::SignedIn,
};
use components::{AppHeader, SignInAgain, UpdatePrompt};
use pages::{Home, NotFound, SyncPage, Thread, Threads, Unlock};

/// The signed-in user's data and sync runtime, or nobody.
pub type Session = RwSignal<Option<Rc<SignedIn>>, LocalStorage>;

/// Starts and ends sessions. Each session's replay triggers live under their own child of
/// the app's reactive owner, so they outlive the page that signed in and end at sign-out.
#[derive(Clone, Copy)]
pub struct SessionHost {
    pub session: Session,
    /// A database on this device waiting for its password (the Unlock screen).
    pub locked: RwSignal<Option<Rc<Locked>>, LocalStorage>,
    app: StoredValue<Owner, LocalStorage>,
    current: StoredValue<Option<Owner>, LocalStorage>,
}

impl SessionHost {
    pub fn begin(&self, signed_in: SignedIn) {
        let signed_in = Rc::new(signed_in);
        let owner = self.app.with_value(|app| app.with(Owner::new));
        owner.with(|| signed_in.runtime.start());
        self.current.set_value(Some(owner));
        self.locked.set(None);
        self.session.set(Some(signed_in));
    }

    pub fn end(&self) {
        if let Some(owner) = self.current.try_update_value(Option::take).flatten() {
            owner.cleanup();
        }
        if let Some(signed_in) = self.session.try_update(Option::take).flatten() {
            leptos::task::spawn_local(async move { signed_in.sign_out().await });
        }
    }
}

pub fn use_host() -> SessionHost {
    expect_context::<SessionHost>()
}

pub fn use_session() -> Session {
    use_host().session
}

/// The browser's connection state, shared by every screen.
#[derive(Clone, Copy)]
pub struct Online(pub Signal<bool>);

pub fn use_online() -> Signal<bool> {
    expect_context::<Online>().0
}

#[component]
pub fn App() -> impl IntoView {
    let online = crate::platform::online::use_online();
    provide_context(Online(online));
    let host = SessionHost {
        session: RwSignal::new_local(None),
        locked: RwSignal::new_local(None),
        app: StoredValue::new_local(Owner::current().unwrap_or_default()),
        current: StoredValue::new_local(None),
    };
    provide_context(host);
    // A reload (offline too) goes back to the last user's data: at once if they stay signed
    // in on this device, after their password otherwise.
    let restoring = RwSignal::new(true);
    leptos::task::spawn_local(async move {
        match locked::restore().await {
            Some(Restored::SignedIn(signed_in)) => host.begin(signed_in),
            Some(Restored::Locked(locked)) => host.locked.set(Some(Rc::new(locked))),
            None => {}
        }
        restoring.set(false);
    });
    let is_locked = move || host.locked.with(Option::is_some);
    view! {
        <Router>
            <AppHeader />
            <UpdatePrompt />
            <main id="main">
                <SignInAgain />
                <Show when=move || !restoring.get() fallback=|| view! { <p class="page">"Opening your data…"</p> }>
                    <Show when=move || !is_locked() fallback=|| view! { <Unlock /> }>
                        <Routes fallback=|| view! { <NotFound /> }>
                            <Route path=path!("/") view=Home />
                            <Route path=path!("/threads") view=Threads />
                            <Route path=path!("/threads/:id") view=Thread />
                            <Route path=path!("/sync") view=SyncPage />
                        </Routes>
                    </Show>
                </Show>
            </main>
        </Router>
    }
}
