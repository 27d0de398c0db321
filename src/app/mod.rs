//! The app frame: header with the sync status, the update prompt, and the routed pages.

pub mod components;
pub mod host;
pub mod model;
pub mod pages;

use std::rc::Rc;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::platform::locked::{self, Restored};
use components::{AppHeader, IdleLock, SignInAgain, UpdatePrompt};
pub use host::{DeviceHandle, Session, SessionHost};
use pages::{
    Appointments, Beds, Documents, Home, NotFound, SignOut, SyncPage, Thread, Threads, Unlock,
    Visits,
};

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
        farewell: RwSignal::new(None),
        device: RwSignal::new_local(None),
        app: StoredValue::new_local(Owner::current().unwrap_or_default()),
        current: StoredValue::new_local(None),
    };
    provide_context(host);
    // A reload (offline too) goes back to the last user's data: at once if they stay signed
    // in on this device, after their password otherwise.
    let restoring = RwSignal::new(true);
    // The device's sealed outbox goes out whoever is signed in, and while no one is.
    let app_owner = Owner::current().unwrap_or_default();
    leptos::task::spawn_local(async move {
        if let Some(device) = DeviceHandle::start().await {
            app_owner.with(|| device.sealed.start());
            host.device.set(Some(device));
        }
    });
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
            <IdleLock />
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
                            <Route path=path!("/appointments") view=Appointments />
                            <Route path=path!("/visits") view=Visits />
                            <Route path=path!("/documents") view=Documents />
                            <Route path=path!("/beds") view=Beds />
                            <Route path=path!("/sign-out") view=SignOut />
                        </Routes>
                    </Show>
                </Show>
            </main>
        </Router>
    }
}
