//! The app frame: header with the sync status, the update prompt, and the routed pages.

pub mod components;
pub mod host;
pub mod model;
pub mod pages;
pub mod split;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use components::{AppHeader, IdleLock, SignInAgain, UpdatePrompt};
pub use host::{DeviceHandle, Session, SessionHost};
use pages::{Home, NotFound};
use split::session_view;

use crate::platform::locked;

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
pub fn mount<V: IntoView + 'static>(app: impl FnOnce() -> V + 'static) {
    leptos::mount::mount_to_body(app);
    if let Some(boot) = document().get_element_by_id("boot") {
        boot.remove();
    }
}

/// The patient app's pages after sign-in, each behind a split point of the patient binary
/// (`src/main.rs`; see `split` for why there).
#[derive(Clone, Copy)]
pub struct PatientPages {
    pub threads: fn() -> AnyView,
    pub thread: fn() -> AnyView,
    pub appointments: fn() -> AnyView,
    pub visits: fn() -> AnyView,
    pub documents: fn() -> AnyView,
}

/// The patient app: messages, visits, appointments, documents.
pub fn patient_app(pages: PatientPages) -> impl IntoView {
    frame(PATIENT, move || {
        view! {
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/") view=Home />
                <Route path=path!("/threads") view=pages.threads />
                <Route path=path!("/threads/:id") view=pages.thread />
                <Route path=path!("/sync") view=|| session_view(|s| s.sync_page) />
                <Route path=path!("/appointments") view=pages.appointments />
                <Route path=path!("/visits") view=pages.visits />
                <Route path=path!("/documents") view=pages.documents />
                <Route path=path!("/sign-out") view=|| session_view(|s| s.sign_out_page) />
            </Routes>
        }
        .into_any()
    })
}

/// The ward board for kiosk tablets, at `/ward/`; `board` is the ward binary's split point.
pub fn ward_app(board: fn() -> AnyView) -> impl IntoView {
    frame(WARD, move || {
        view! {
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/ward") view=board />
                <Route path=path!("/ward/sync") view=|| session_view(|s| s.sync_page) />
                <Route path=path!("/ward/sign-out") view=|| session_view(|s| s.sign_out_page) />
            </Routes>
        }
        .into_any()
    })
}

/// What both apps share: the session host, the restore on reload, the header, the idle lock,
/// the update prompt, and `routes` once the user's data is open.
fn frame(
    entry: Entry,
    routes: impl Fn() -> AnyView + Copy + Send + Sync + 'static,
) -> impl IntoView {
    provide_context(entry);
    let online = crate::platform::online::use_online();
    provide_context(Online(online));
    let host = SessionHost {
        session: RwSignal::new_local(None),
        locked: RwSignal::new_local(None),
        farewell: RwSignal::new(None),
        device: RwSignal::new_local(None),
        opened: RwSignal::new(false),
        app: StoredValue::new_local(Owner::current().unwrap_or_default()),
        current: StoredValue::new_local(None),
    };
    provide_context(host);
    // A reload (offline too) goes back to the last user's data: at once if they stay signed
    // in on this device, after their password otherwise.
    let restoring = RwSignal::new(locked::has_hint());
    // The device's sealed outbox goes out whoever is signed in, and while no one is.
    let app_owner = Owner::current().unwrap_or_default();
    // The device comes first: a session restored before it would start without its escrow
    // and its courier (and send again what the service worker delivered meanwhile).
    let start = async move {
        // Missing only when the shell came from the network and the rest cannot: signing
        // in tries again, and says so if it still cannot.
        if let Some(session) = split::session_or_log().await {
            (session.open_on_start)(host, app_owner).await;
        }
        host.opened.set(true);
        restoring.set(false);
    };
    // With nothing to restore the sign-in form is the first screen: the session's chunks
    // download once it is painted, not in its way.
    if restoring.get_untracked() {
        leptos::task::spawn_local(start);
    } else {
        split::when_idle(start);
    }
    let is_locked = move || host.locked.with(Option::is_some);
    view! {
        <Router>
            <AppHeader />
            <IdleLock />
            <UpdatePrompt />
            <main id="main">
                <SignInAgain />
                <Show when=move || !restoring.get() fallback=|| view! { <p class="page">"Opening your data…"</p> }>
                    <Show when=move || !is_locked() fallback=|| session_view(|s| s.unlock_page)>
                        {routes()}
                    </Show>
                </Show>
            </main>
        </Router>
    }
}
