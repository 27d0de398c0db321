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
    Appointments, Documents, Home, NotFound, SignOut, SyncPage, Thread, Threads, Unlock, Visits,
    WardHome,
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

/// Which app this bundle is: the patient app at `/`, or the ward board for kiosk tablets at
/// `/ward/` (its own bundle, so the board does not weigh on every patient's phone). Pages both
/// share find their way home through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Where the app lives, with its trailing slash: its home and sign-in page.
    pub base: &'static str,
    /// Where a signed-in user lands.
    pub landing: &'static str,
}

pub const PATIENT: Entry = Entry {
    base: "/",
    landing: "/threads",
};
pub const WARD: Entry = Entry {
    base: "/ward/",
    landing: "/ward/",
};

impl Entry {
    /// A page of this app: `path("sync")` is `/sync` or `/ward/sync`.
    pub fn path(&self, page: &str) -> String {
        format!("{}{page}", self.base)
    }

    pub fn is_ward(&self) -> bool {
        *self == WARD
    }
}

pub fn use_entry() -> Entry {
    use_context::<Entry>().unwrap_or(PATIENT)
}

/// Mounts `app` on the page's body, then removes the static boot screen (`#boot` in the
/// index page), in the same task, so no frame is left with neither.
pub fn mount<V: IntoView + 'static>(app: fn() -> V) {
    leptos::mount::mount_to_body(app);
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
}

/// The patient app: messages, visits, appointments, documents.
#[component]
pub fn App() -> impl IntoView {
    frame(PATIENT, || {
        view! {
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/") view=Home />
                <Route path=path!("/threads") view=Threads />
                <Route path=path!("/threads/:id") view=Thread />
                <Route path=path!("/sync") view=SyncPage />
                <Route path=path!("/appointments") view=Appointments />
                <Route path=path!("/visits") view=Visits />
                <Route path=path!("/documents") view=Documents />
                <Route path=path!("/sign-out") view=SignOut />
            </Routes>
        }
        .into_any()
    })
}

/// The ward board for kiosk tablets, at `/ward/`.
#[component]
pub fn WardApp() -> impl IntoView {
    frame(WARD, || {
        view! {
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/ward") view=WardHome />
                <Route path=path!("/ward/sync") view=SyncPage />
                <Route path=path!("/ward/sign-out") view=SignOut />
            </Routes>
        }
        .into_any()
    })
}

/// What both apps share: the session host, the restore on reload, the header, the idle lock,
/// the update prompt, and `routes` once the user's data is open.
fn frame(entry: Entry, routes: fn() -> AnyView) -> impl IntoView {
    provide_context(entry);
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
    // The device comes first: a session restored before it would start without its escrow
    // and its courier (and send again what the service worker delivered meanwhile).
    leptos::task::spawn_local(async move {
        if let Some(device) = DeviceHandle::start().await {
            app_owner.with(|| device.sealed.start());
            host.device.set(Some(device));
        }
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
                        {routes()}
                    </Show>
                </Show>
            </main>
        </Router>
    }
}
