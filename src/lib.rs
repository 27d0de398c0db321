//! The caresync PWA: Leptos pages and components over thin web-platform adapters.

pub mod app;
pub mod platform;
