//! Mounts the ward board (the kiosk tablets' app at `/ward/`), and holds the board's split
//! point; everything else lives in the library, shared with the patient app.

use caresync::app::{
    mount,
    pages::WardHome,
    split::{lazily, preload, Unloaded},
    ward_app,
};
use leptos::{prelude::*, wasm_split::wasm_split};

fn main() {
    console_error_panic_hook::set_once();
    mount(|| ward_app(|| lazily(board)));
    preload(preload_board());
}

#[wasm_split(caresync_board, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_board))]
fn board() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <WardHome /> }.into_any())
}
