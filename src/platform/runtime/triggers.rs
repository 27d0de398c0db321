//! When a runtime replays: its triggers (start, `online`, visibility, other tabs' notices,
//! the page going away), the debounce after a commit and the one backoff timer.

use std::rc::Rc;

use caresync_sync::{Millis, Stop, SyncReport};
use gloo_timers::callback::Timeout;
use leptos::prelude::*;

use super::{now_ms, Pass, SyncRuntime, FLOOR_MS};
use crate::platform::listen::{on_event, on_window, Channel};

impl SyncRuntime {
    /// Wire the triggers; call once, inside the app's reactive owner.
    pub fn start(self: &Rc<Self>) {
        let channel = Channel::open(&self.scope.key());
        let message = channel.message;
        // Each notice is unique so a repeated change still registers as new.
        let counter = Rc::new(std::cell::Cell::new(0u64));
        *self.notify.borrow_mut() = Some(Rc::new(move || {
            counter.set(counter.get() + 1);
            channel.post(&format!("changed:{}:{}", now_ms(), counter.get()));
        }));
        let this = self.clone();
        Effect::new(move |_| {
            if message.get().is_some() {
                // Another tab may have opened lanes this tab's store does not know of.
                this.store.forget_lanes();
                let this = this.clone();
                leptos::task::spawn_local(async move {
                    if let Err(err) = this.refresh_status().await {
                        leptos::logging::warn!("could not read the outbox: {err}");
                    }
                });
            }
        });
        let this = self.clone();
        on_window("online", move |_| this.sync_now());
        let this = self.clone();
        on_event(&document(), "visibilitychange", true, move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                this.sync_now();
            } else {
                this.hand_to_courier_soon();
            }
        });
        let this = self.clone();
        on_window("pagehide", move |_| {
            this.hand_to_courier_soon();
        });
        self.sync_now();
    }

    /// The page is going away: whatever the mailbox does not show yet is sealed for it now,
    /// within the little time the browser allows.
    fn hand_to_courier_soon(self: &Rc<Self>) {
        let this = self.clone();
        leptos::task::spawn_local(async move { this.hand_to_courier(false).await });
    }

    /// Replay after `ms`; a debounced call replaces the pending one.
    pub(super) fn schedule(self: &Rc<Self>, ms: u32, debounced: bool) {
        let this = self.clone();
        let timeout = Timeout::new(ms, move || this.sync_now());
        let slot = if debounced {
            &self.debounce
        } else {
            &self.timer
        };
        *slot.borrow_mut() = Some(timeout);
    }

    /// The one replay timer: set for `at` (never sooner than the floor), or cleared.
    pub(super) fn set_timer(self: &Rc<Self>, at: Option<Millis>) {
        let now = now_ms();
        let at = at.map(|at| at.max(now + FLOOR_MS));
        self.status.next_attempt.set(at);
        match at {
            Some(at) => {
                let wait = (at - now).min(10 * 60_000);
                self.schedule(u32::try_from(wait).unwrap_or(u32::MAX), false);
            }
            None => {
                self.timer.borrow_mut().take();
            }
        }
    }
}

/// When the next pass is due after this one: when the engine says (`poll_timeout`), never
/// while the session waits for the user; while another tab replays, a look later in case
/// that tab is gone.
pub(super) fn next_wake(pass: &Pass, now: Millis) -> Option<Millis> {
    match pass {
        Pass::Ran(SyncReport {
            stopped: Some(Stop::SignInRequired),
            ..
        })
        | Pass::Offline => None,
        Pass::Ran(report) => report.retry_at,
        Pass::Busy => Some(now + 30_000),
    }
}
