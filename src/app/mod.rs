//! The app frame: header with live connection state, the update prompt, and the routed pages.

pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use components::{AppHeader, UpdatePrompt};
use pages::{Home, NotFound};

#[component]
pub fn App() -> impl IntoView {
    let online = crate::platform::online::use_online();
    view! {
        <Router>
            <AppHeader online=online />
            <UpdatePrompt />
            <main id="main">
                <Routes fallback=|| view! { <NotFound /> }>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}
