//! Mounts the ward board (the kiosk tablets' app at `/ward/`), and holds the board's split
//! point; everything else lives in the library, shared with the patient app.

use caresync::app::{mount, pages::WardHome, split::lazily, ward_app};
use leptos::{lazy, prelude::*};

fn main() {
    console_error_panic_hook::set_once();
    mount(|| ward_app(|| lazily(board)));
}

#[lazy]
fn board() -> AnyView {
    view! { <WardHome /> }.into_any()
}
