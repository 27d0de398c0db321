//! Keeps a ward board live while it is open and online: the node's stream of bed changes is
//! opened on connect (from the kept snapshot's last change, so nothing in between is missed),
//! reopened after a break (2 s, doubling to a minute while it keeps failing), and closed
//! offline or when the board goes. A gap the server cannot replay pulls the snapshot again.

use std::rc::Rc;

use leptos::prelude::*;

use crate::{
    app::use_online,
    platform::{
        session::SignedIn,
        ward,
        ward_live::{self, Live, LiveEvent},
    },
};

type Held = StoredValue<Rc<SignedIn>, LocalStorage>;

/// What one board holds of its stream.
#[derive(Clone, Copy)]
struct Stream {
    held: Held,
    live: StoredValue<Option<Live>, LocalStorage>,
    /// The last change seen, to resume from.
    last: StoredValue<Option<i64>>,
    online: Signal<bool>,
    /// Set while a stream is being opened: one at a time.
    opening: StoredValue<bool>,
    /// The pending reopen; dropping it cancels it (the board went, or a newer one is set).
    reopen: StoredValue<Option<gloo_timers::callback::Timeout>, LocalStorage>,
    /// Breaks in a row, for the backoff.
    failures: StoredValue<u32>,
}

const REOPEN_MS: u32 = 2_000;
const REOPEN_MAX_MS: u32 = 60_000;

/// Follows the node's live changes for as long as the calling component lives.
pub fn follow_live(held: Held) {
    let stream = Stream {
        held,
        live: StoredValue::new_local(None),
        last: StoredValue::new(None),
        online: use_online(),
        opening: StoredValue::new(false),
        reopen: StoredValue::new_local(None),
        failures: StoredValue::new(0),
    };
    Effect::new(move |_| {
        if stream.online.get() {
            stream.open();
        } else {
            stream.live.set_value(None);
        }
    });
    on_cleanup(move || {
        stream.reopen.try_set_value(None);
        stream.live.try_set_value(None);
    });
}

impl Stream {
    fn open(self) {
        // The board may have gone since this was scheduled: then there is nothing to open.
        let (Some(idle), Some(opening), Some(s)) = (
            self.live.try_with_value(Option::is_none),
            self.opening.try_get_value(),
            self.held.try_get_value(),
        ) else {
            return;
        };
        if !idle || opening || !self.online.try_get_untracked().unwrap_or(false) {
            return;
        }
        self.opening.set_value(true);
        let on: Rc<dyn Fn(LiveEvent)> = Rc::new(move |event| self.heard(event));
        leptos::task::spawn_local(async move {
            let after = match self.last.get_value() {
                Some(seq) => Some(seq),
                None => ward::kept(&s)
                    .await
                    .ok()
                    .flatten()
                    .map(|k| k.snapshot.change_seq),
            };
            let opened = ward_live::open(&s, after.and_then(|a| u64::try_from(a).ok()), on).await;
            self.opening.try_set_value(false);
            match opened {
                Ok(live) => {
                    self.live.try_set_value(Some(live));
                }
                Err(err) => {
                    leptos::logging::warn!("the live bed stream did not open: {err}");
                    self.reopen_later();
                }
            }
        });
    }

    /// After a break: the old stream is dropped outside its own handler, then reopened,
    /// later each time it keeps failing.
    fn reopen_later(self) {
        let Some(failures) = self.failures.try_get_value() else {
            return;
        };
        self.failures.set_value(failures.saturating_add(1));
        let wait = REOPEN_MS
            .saturating_mul(1 << failures.min(5))
            .min(REOPEN_MAX_MS);
        let timer = gloo_timers::callback::Timeout::new(wait, move || {
            if self.live.try_set_value(None).is_some() {
                return;
            }
            self.open();
        });
        self.reopen.try_set_value(Some(timer));
    }

    fn heard(self, event: LiveEvent) {
        let Some(s) = self.held.try_get_value() else {
            return;
        };
        match event {
            LiveEvent::Ready(seq) => {
                self.failures.set_value(0);
                self.last.set_value(i64::try_from(seq).ok());
            }
            LiveEvent::Bed(seq, bed) => {
                self.last.set_value(i64::try_from(seq).ok());
                leptos::task::spawn_local(async move {
                    match ward::apply(&s, &bed).await {
                        Ok(()) => s.runtime.status.revision.update(|r| *r += 1),
                        Err(err) => leptos::logging::warn!("a live bed change was not kept: {err}"),
                    }
                });
            }
            LiveEvent::Reset(seq) => {
                self.last.set_value(i64::try_from(seq).ok());
                leptos::task::spawn_local(async move {
                    if let Err(err) = ward::pull(&s).await {
                        leptos::logging::warn!("the bed registry was not pulled again: {err}");
                    }
                });
            }
            LiveEvent::Broken => self.reopen_later(),
        }
    }
}
