//! The page for an address the app does not know.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="nf-title">
            <h1 id="nf-title">"Page not found"</h1>
            <p><a href=crate::app::use_entry().base>"Go to the home page"</a></p>
        </section>
    }
}
