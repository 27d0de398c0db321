//! Mounts the patient app, and holds the split points of the pages only it routes to.
//!
//! A split point lives in the binary whose shell it is cut from: defined in the library, the
//! ward board's build would link these pages too, and keep them in its shell (`app::split`).

use caresync::app::{
    mount,
    pages::{Appointments, Documents, Thread, Threads, Visits},
    patient_app,
    split::lazily,
    PatientPages,
};
use leptos::{lazy, prelude::*};

fn main() {
    console_error_panic_hook::set_once();
    mount(|| patient_app(PAGES));
}

const PAGES: PatientPages = PatientPages {
    threads: || lazily(threads),
    thread: || lazily(thread),
    appointments: || lazily(appointments),
    visits: || lazily(visits),
    documents: || lazily(documents),
};

#[lazy]
fn threads() -> AnyView {
    view! { <Threads /> }.into_any()
}

#[lazy]
fn thread() -> AnyView {
    view! { <Thread /> }.into_any()
}

#[lazy]
fn appointments() -> AnyView {
    view! { <Appointments /> }.into_any()
}

#[lazy]
fn visits() -> AnyView {
    view! { <Visits /> }.into_any()
}

#[lazy]
fn documents() -> AnyView {
    view! { <Documents /> }.into_any()
}
