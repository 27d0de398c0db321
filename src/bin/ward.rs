//! Mounts the ward board (the kiosk tablets' app at `/ward/`); everything else lives in the
//! library, shared with the patient app.

fn main() {
    console_error_panic_hook::set_once();
    caresync::app::mount(caresync::app::WardApp);
}
