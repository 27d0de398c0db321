//! Mounts the patient app, and holds the split points of the pages only it routes to.
//!
//! A split point lives in the binary whose shell it is cut from: defined in the library, the
//! ward board's build would link these pages too, and keep them in its shell (`app::split`).

use caresync::app::{
    mount,
    pages::{Appointments, Documents, Thread, Threads, Visits},
    patient_app,
    split::{lazily, preload, Unloaded},
    PatientPages,
};
use leptos::{prelude::*, wasm_split::wasm_split};

fn main() {
    console_error_panic_hook::set_once();
    mount(|| patient_app(PAGES));
    preload(async {
        preload_threads().await?;
        preload_thread().await?;
        preload_appointments().await?;
        preload_visits().await?;
        preload_documents().await
    });
}

const PAGES: PatientPages = PatientPages {
    threads: || lazily(threads),
    thread: || lazily(thread),
    appointments: || lazily(appointments),
    visits: || lazily(visits),
    documents: || lazily(documents),
};

#[wasm_split(caresync_threads, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_threads))]
fn threads() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <Threads /> }.into_any())
}

#[wasm_split(caresync_thread, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_thread))]
fn thread() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <Thread /> }.into_any())
}

#[wasm_split(caresync_appointments, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_appointments))]
fn appointments() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <Appointments /> }.into_any())
}

#[wasm_split(caresync_visits, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_visits))]
fn visits() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <Visits /> }.into_any())
}

#[wasm_split(caresync_documents, wasm_split_path = ::leptos::wasm_split, fallible, preload(preload_documents))]
fn documents() -> Result<fn() -> AnyView, Unloaded> {
    Ok(|| view! { <Documents /> }.into_any())
}
