//! Mounts the caresync app; everything else lives in the library.

fn main() {
    console_error_panic_hook::set_once();
    caresync::app::mount(caresync::app::App);
}
