//! Browser events, intervals and broadcast channels that live exactly as long as the reactive
//! owner that set them up (a component, a session): each is held in the owner's arena, and
//! dropping it there removes the listener, clears the interval or closes the channel.

use gloo_events::{EventListener, EventListenerOptions};
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use wasm_bindgen::{JsCast as _, JsValue};

/// Calls `handler` for each `name` event on `target` while the current owner lives. A
/// `passive` listener promises not to cancel the event, so scrolling never waits for it.
pub fn on_event(
    target: &web_sys::EventTarget,
    name: &'static str,
    passive: bool,
    mut handler: impl FnMut(&web_sys::Event) + 'static,
) {
    let options = if passive {
        EventListenerOptions::default()
    } else {
        EventListenerOptions::enable_prevent_default()
    };
    let listener = EventListener::new_with_options(target, name, options, move |e| handler(e));
    StoredValue::new_local(listener);
}

/// As [`on_event`], on the window.
pub fn on_window(name: &'static str, handler: impl FnMut(&web_sys::Event) + 'static) {
    on_event(&window(), name, true, handler);
}

/// Calls `tick` every `ms` while the current owner lives.
pub fn every(tick: impl FnMut() + 'static, ms: u32) {
    StoredValue::new_local(Interval::new(ms, tick));
}

/// This tab's end of a `BroadcastChannel`: what other tabs post arrives in `message`.
#[derive(Clone, Copy)]
pub struct Channel {
    pub message: ReadSignal<Option<String>, LocalStorage>,
    port: StoredValue<Option<Port>, LocalStorage>,
}

struct Port(web_sys::BroadcastChannel);

impl Drop for Port {
    fn drop(&mut self) {
        self.0.close();
    }
}

impl Channel {
    /// Opens `name` while the current owner lives. A browser without `BroadcastChannel` gets
    /// a channel that carries nothing: each tab still works, it only hears no other tab.
    pub fn open(name: &str) -> Channel {
        let (message, set_message) = signal_local(None::<String>);
        let port = match web_sys::BroadcastChannel::new(name) {
            Ok(port) => {
                let listener = EventListener::new(&port, "message", move |event| {
                    let data = event
                        .dyn_ref::<web_sys::MessageEvent>()
                        .and_then(|m| m.data().as_string());
                    if data.is_some() {
                        set_message.set(data);
                    }
                });
                StoredValue::new_local(listener);
                Some(Port(port))
            }
            Err(err) => {
                leptos::logging::warn!("no BroadcastChannel here, other tabs go unheard: {err:?}");
                None
            }
        };
        Channel {
            message,
            port: StoredValue::new_local(port),
        }
    }

    /// Tells every other tab on the channel.
    pub fn post(&self, text: &str) {
        self.port.with_value(|port| {
            if let Some(Port(port)) = port {
                if let Err(err) = port.post_message(&JsValue::from_str(text)) {
                    leptos::logging::warn!("other tabs were not told: {err:?}");
                }
            }
        });
    }
}
