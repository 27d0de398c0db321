//! What the screens show, derived from the local cache and the outbox: plain data with
//! plain methods, so the components stay thin.

use caresync_contract::comms::{MessageDto, ThreadDto, ThreadStatus};
use caresync_contract::ErrorCode;
use caresync_sync::order::{by_number, by_text, Direction};
use caresync_sync::{Action, Mutation, MutationState, ParkReason, RefusalCode};

use crate::platform::cache::PendingMessage;

/// What stands between a queued write and the server, as the screens tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The server answers: queued writes are on their way.
    Up,
    /// Offline, or the server cannot be reached.
    Down,
    /// The server answered with an error or not in time: the write is tried again later.
    Retry,
    /// The session was refused: nothing is sent until the user signs in again.
    SignIn,
}

/// Where a message stands, in the words the user reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent,
    Sending,
    WaitingForNetwork,
    /// The server had a problem or did not answer in time; the write is tried again.
    WaitingToRetry,
    /// The server refused the session: the write waits until the user signs in again.
    WaitingForSignIn,
    NotSent {
        reason: String,
        actions: Vec<Action>,
    },
    /// Handed over at a lock on a shared device: sealed to the server, sent from the
    /// device's own queue under the user's name.
    Sealed,
}

impl Delivery {
    pub fn label(&self) -> Option<String> {
        match self {
            Delivery::Sent => None,
            Delivery::Sending => Some("Sending…".into()),
            Delivery::WaitingForNetwork => Some("Waiting for network".into()),
            Delivery::WaitingToRetry => Some("Waiting to try again".into()),
            Delivery::WaitingForSignIn => Some("Waiting for you to sign in again".into()),
            Delivery::NotSent { reason, .. } => Some(format!("Not sent: {reason}")),
            Delivery::Sealed => Some("Sealed on this device, sending when it can".into()),
        }
    }

    /// Why a version-checked write no longer applies, from the server's current state.
    pub fn from_conflict(current: &serde_json::Value) -> String {
        match current.get("status").and_then(|s| s.as_str()) {
            Some(status) if !status.is_empty() => {
                format!(
                    "this was not applied: it is now {}",
                    status.replace('_', " ")
                )
            }
            _ => "this was not applied: the record changed on the server".to_owned(),
        }
    }

    /// The reason for a refusal, as the user should read it: the app's words for the codes
    /// it knows, the server's own words for the rest.
    pub fn from_park(reason: &ParkReason) -> String {
        // The server names the photo it refused and why, better than any general words.
        if reason.attachment.is_some() && !reason.message.trim().is_empty() {
            return reason.message.trim().trim_end_matches('.').to_owned();
        }
        let known = match &reason.code {
            RefusalCode::Known(code) => match code {
                ErrorCode::ThreadArchived => Some("this conversation is archived"),
                ErrorCode::OptimisticLockConflict => Some("the record changed on the server"),
                ErrorCode::IllegalTransition => Some("this is no longer possible"),
                ErrorCode::StaleReference => Some("it refers to something that no longer exists"),
                ErrorCode::PayloadTooLarge => Some("it is too large to send"),
                ErrorCode::Forbidden => Some("your account is not allowed to do this"),
                _ => None,
            },
            RefusalCode::Unknown(_) => None,
        };
        match known {
            Some(words) => words.to_owned(),
            None if !reason.message.trim().is_empty() => {
                reason.message.trim().trim_end_matches('.').to_owned()
            }
            None => "the server did not accept this change".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    /// Stable across reconciliation: the clientMutationId for the user's own messages.
    pub key: String,
    pub sender: String,
    pub body: String,
    pub sent_at: Option<String>,
    pub mine: bool,
    pub delivery: Delivery,
    /// The queued write behind a message the user wrote, while it is in the outbox.
    pub mutation: Option<caresync_sync::ClientMutationId>,
}

impl MessageRow {
    /// Server messages in `(sentAt, messageId)` order, then the user's own not yet on the
    /// server, in the order written. A confirmed message is never shown twice.
    pub fn list(
        server: Vec<MessageDto>,
        pending: Vec<PendingMessage>,
        outbox: &[Mutation],
        link: Link,
        me: &str,
    ) -> Vec<MessageRow> {
        let confirmed: std::collections::HashSet<&str> = server
            .iter()
            .filter_map(|m| m.client_mutation_id.as_deref())
            .collect();
        let mut rows: Vec<MessageRow> = server
            .iter()
            .map(|m| MessageRow {
                key: m
                    .client_mutation_id
                    .clone()
                    .unwrap_or_else(|| m.message_id.clone()),
                sender: if m.sender_id == me {
                    "You".into()
                } else {
                    m.sender_name.clone()
                },
                body: m.body.clone(),
                sent_at: Some(m.sent_at.clone()),
                mine: m.sender_id == me,
                delivery: Delivery::Sent,
                mutation: None,
            })
            .collect();
        let mut mine: Vec<(u64, MessageRow)> = pending
            .into_iter()
            .filter(|p| !confirmed.contains(p.client_mutation_id.as_str()))
            .map(|p| {
                let queued = outbox
                    .iter()
                    .find(|m| m.id.to_string() == p.client_mutation_id);
                let delivery = match queued.map(|m| &m.state) {
                    None | Some(MutationState::Done { .. }) => Delivery::Sent,
                    Some(MutationState::Parked { reason, actions }) => Delivery::NotSent {
                        reason: Delivery::from_park(reason),
                        actions: actions.clone(),
                    },
                    Some(MutationState::Conflict { payload }) => Delivery::NotSent {
                        reason: Delivery::from_conflict(payload),
                        actions: vec![Action::Discard],
                    },
                    Some(MutationState::InFlight) => Delivery::Sending,
                    Some(MutationState::Pending) => match link {
                        Link::Up => Delivery::Sending,
                        Link::Down => Delivery::WaitingForNetwork,
                        Link::Retry => Delivery::WaitingToRetry,
                        Link::SignIn => Delivery::WaitingForSignIn,
                    },
                };
                let order = queued.map_or(u64::MAX, |m| m.seq);
                let row = MessageRow {
                    key: p.client_mutation_id.clone(),
                    sender: "You".into(),
                    body: p.body,
                    sent_at: p.sent_at,
                    mine: true,
                    delivery,
                    mutation: queued.map(|m| m.id),
                };
                (order, row)
            })
            .collect();
        // Delivered ones (with a server time) join the timeline; the rest follow in order.
        by_number(&mut mine, Direction::Ascending, |(order, _)| *order);
        let (timed, untimed): (Vec<_>, Vec<_>) = mine
            .into_iter()
            .map(|(_, r)| r)
            .partition(|r| r.sent_at.is_some());
        rows.extend(timed);
        by_text(&mut rows, Direction::Ascending, |r| {
            r.sent_at.as_deref().unwrap_or_default()
        });
        rows.extend(untimed);
        rows
    }
}

/// A thread as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadRow {
    pub id: String,
    pub subject: String,
    pub archived: bool,
    pub last_activity: String,
    pub unread: u32,
}

impl From<&ThreadDto> for ThreadRow {
    fn from(t: &ThreadDto) -> Self {
        ThreadRow {
            id: t.thread_id.clone(),
            subject: t.subject.clone(),
            archived: t.status == ThreadStatus::Archived,
            last_activity: t
                .last_message_at
                .clone()
                .unwrap_or_else(|| t.updated_at.clone()),
            unread: t.unread_count,
        }
    }
}

/// A time the way this device's user reads it.
pub fn local_time(iso: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(iso));
    if date.get_time().is_nan() {
        return iso.to_owned();
    }
    String::from(date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}

pub fn local_time_ms(ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED))
}
