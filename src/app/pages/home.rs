//! The home page: what caresync does for the person holding the device.

use leptos::prelude::*;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="home-title">
            <h1 id="home-title">"Welcome to caresync"</h1>
            <p>
                "Your messages to your care team are kept on this device, so you can read and "
                "write them with no network. Anything you write is sent as soon as you are back online."
            </p>
        </section>
    }
}
