//! The queued write and its life: `pending → in_flight → done | parked | conflict`.

mod stored;

pub use stored::StoredStateError;

use caresync_contract::ErrorCode;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch. The engine never reads a clock; callers pass `now`.
pub type Millis = u64;

/// Stable identity of a write, set once at creation (UUID v7) and sent on every retry.
pub type ClientMutationId = uuid::Uuid;

/// The ordering key: writes in one lane reach the server in the order they were made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lane(pub String);

impl Lane {
    /// Every read receipt's lane starts so: stores find them by this range alone.
    pub const READ_RECEIPTS: &'static str = "read:";
    const THREAD: &'static str = "thread:";

    pub fn new(key: impl Into<String>) -> Self {
        Lane(key.into())
    }

    /// A conversation's messages keep their order in its lane.
    pub fn thread(thread_id: &str) -> Self {
        Lane(format!("{}{thread_id}", Self::THREAD))
    }

    /// The conversation this lane orders, if it is a thread's lane.
    pub fn thread_id(&self) -> Option<&str> {
        self.0.strip_prefix(Self::THREAD)
    }

    /// Read receipts for one message coalesce in their own lane.
    pub fn read_receipt(message_id: &str) -> Self {
        Lane(format!("{}{message_id}", Self::READ_RECEIPTS))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The aggregates the app writes; each has a [`crate::Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateKind {
    Message,
    ReadReceipt,
    AsyncVisit,
    VirtualSession,
    RenderJob,
    AuditEvent,
    BedStatus,
    MessageThread,
    Template,
    FacilityRegistry,
}

impl AggregateKind {
    /// Writes the app makes on the user's behalf (read receipts), which the user would not
    /// call "my changes": the header leaves them out and the Sync page counts them apart.
    pub fn is_housekeeping(self) -> bool {
        matches!(self, AggregateKind::ReadReceipt)
    }
}

/// What is sent: method, path and JSON body (which carries `clientMutationId`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: serde_json::Value,
}

/// The server's decision, kept so the UI can reconcile (e.g. `messageId`, `sentAt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub status: u16,
    pub body: serde_json::Value,
    pub at: Millis,
}

impl Receipt {
    /// Reconciles the optimistic record a write created: it takes the server's ids and
    /// timestamps (`messageId`, `sentAt`...), and keeps what the server did not send back.
    pub fn reconcile(&self, entity: &mut serde_json::Value) {
        if let (Some(local), Some(server)) = (entity.as_object_mut(), self.body.as_object()) {
            for (k, v) in server {
                local.insert(k.clone(), v.clone());
            }
        }
    }
}

/// What the user may do with a parked write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Retry,
    Discard,
    CopyText,
    ReopenThread,
    RefetchRegistry,
    /// Send it again without the attachment the server refused ([`ParkReason::attachment`]).
    RemoveAttachment,
}

/// Why the server refused: its status, its typed code, and its own words (which the app may
/// show when it has none better for the code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkReason {
    pub status: u16,
    pub code: RefusalCode,
    pub message: String,
    /// Which of the write's attachments the server refused, when it said (`attachmentIndex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<usize>,
}

/// The server's error code, typed; a code this build does not know is kept as it came.
/// On the wire and in storage it is the plain string (`"THREAD_ARCHIVED"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusalCode {
    Known(ErrorCode),
    Unknown(String),
}

impl RefusalCode {
    pub fn parse(code: &str) -> Self {
        serde_json::from_value(serde_json::Value::String(code.to_owned())).map_or_else(
            |_| RefusalCode::Unknown(code.to_owned()),
            RefusalCode::Known,
        )
    }

    pub fn as_str(&self) -> &str {
        match self {
            RefusalCode::Known(code) => code.as_str(),
            RefusalCode::Unknown(code) => code,
        }
    }

    pub fn is(&self, code: ErrorCode) -> bool {
        *self == RefusalCode::Known(code)
    }
}

impl From<ErrorCode> for RefusalCode {
    fn from(code: ErrorCode) -> Self {
        RefusalCode::Known(code)
    }
}

impl Serialize for RefusalCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RefusalCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(RefusalCode::parse(&text))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "snake_case",
    try_from = "stored::StoredState"
)]
pub enum MutationState {
    Pending,
    InFlight,
    Done {
        receipt: Receipt,
    },
    /// Refused for a reason the user must act on; blocks its lane until retried or discarded.
    Parked {
        reason: ParkReason,
        actions: Vec<Action>,
    },
    /// The server's state moved on and the write no longer applies; `payload` is that state
    /// (its `status` says what it is now). The app words it; the engine only keeps it.
    Conflict {
        payload: serde_json::Value,
    },
}

impl MutationState {
    /// The stored names (the `state` tag), which stores index by.
    pub const PENDING: &'static str = "pending";
    pub const IN_FLIGHT: &'static str = "in_flight";
    pub const DONE: &'static str = "done";
    pub const PARKED: &'static str = "parked";
    pub const CONFLICT: &'static str = "conflict";
    /// Every state a write in the outbox can be in before it is done.
    pub const UNDECIDED: [&'static str; 4] =
        [Self::PENDING, Self::IN_FLIGHT, Self::PARKED, Self::CONFLICT];

    pub fn name(&self) -> &'static str {
        match self {
            MutationState::Pending => Self::PENDING,
            MutationState::InFlight => Self::IN_FLIGHT,
            MutationState::Done { .. } => Self::DONE,
            MutationState::Parked { .. } => Self::PARKED,
            MutationState::Conflict { .. } => Self::CONFLICT,
        }
    }

    /// Not yet decided by the server: queued or on the wire.
    pub fn is_waiting(&self) -> bool {
        matches!(self, MutationState::Pending | MutationState::InFlight)
    }

    /// Blocks its lane: the user has to decide before later writes may pass.
    pub fn is_blocking(&self) -> bool {
        matches!(
            self,
            MutationState::Parked { .. } | MutationState::Conflict { .. }
        )
    }
}

/// A write as the caller describes it, before the outbox numbers it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMutation {
    pub id: ClientMutationId,
    pub tenant: String,
    pub actor: String,
    pub kind: AggregateKind,
    pub lane: Lane,
    pub request: Request,
    /// Last-writer-wins writes with the same key coalesce while still unsent.
    pub coalesce_key: Option<String>,
    /// For version-checked writes: the aggregate's statuses in which the action still applies,
    /// and where to refetch it.
    pub versioned: Option<Versioned>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned {
    pub refetch_path: String,
    pub applies_in: Vec<String>,
}

/// One queued write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutation {
    pub id: ClientMutationId,
    pub tenant: String,
    pub actor: String,
    pub kind: AggregateKind,
    pub lane: Lane,
    /// Position within the lane; strictly increasing in creation order.
    pub seq: u64,
    pub request: Request,
    pub created_at: Millis,
    /// Sends that reached a decision point (answered or failed), for backoff.
    pub attempts: u32,
    pub next_attempt_at: Millis,
    pub coalesce_key: Option<String>,
    pub versioned: Option<Versioned>,
    /// The local record this write created (an optimistic message), reconciled on delivery.
    /// Set by the store when the write is committed with its entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_key: Option<String>,
    pub state: MutationState,
}

impl Mutation {
    /// May a newer last-writer-wins write with `key` replace this one? Only while it has
    /// never been sent: once attempted, the server may already hold it.
    pub fn may_coalesce(&self, key: &str) -> bool {
        self.state == MutationState::Pending
            && self.attempts == 0
            && self.coalesce_key.as_deref() == Some(key)
    }

    pub fn from_new(new: NewMutation, seq: u64, now: Millis) -> Self {
        Mutation {
            id: new.id,
            tenant: new.tenant,
            actor: new.actor,
            kind: new.kind,
            lane: new.lane,
            seq,
            request: new.request,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            coalesce_key: new.coalesce_key,
            versioned: new.versioned,
            entity_key: None,
            state: MutationState::Pending,
        }
    }

    /// The text a person wrote, if the write carries one (for "Copy text").
    pub fn user_text(&self) -> Option<&str> {
        let body = &self.request.body;
        ["body", "chiefComplaint"]
            .iter()
            .find_map(|k| body.get(k).and_then(|v| v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_state_names_are_the_serde_tags() {
        let receipt = Receipt {
            status: 201,
            body: serde_json::Value::Null,
            at: 0,
        };
        for state in [
            MutationState::Pending,
            MutationState::InFlight,
            MutationState::Done { receipt },
        ] {
            let stored = serde_json::to_value(&state).expect("serialise");
            assert_eq!(stored["state"], state.name());
        }
    }

    #[test]
    fn every_state_reads_back_as_it_was_stored() {
        let reason = ParkReason {
            status: 409,
            code: RefusalCode::parse("THREAD_ARCHIVED"),
            message: "archived".into(),
            attachment: Some(1),
        };
        for state in [
            MutationState::Pending,
            MutationState::InFlight,
            MutationState::Done {
                receipt: Receipt {
                    status: 201,
                    body: serde_json::json!({ "messageId": "m1" }),
                    at: 7,
                },
            },
            MutationState::Parked {
                reason,
                actions: vec![Action::Retry, Action::Discard],
            },
            MutationState::Conflict {
                payload: serde_json::json!({ "status": "cancelled" }),
            },
            MutationState::Conflict {
                payload: serde_json::Value::Null,
            },
        ] {
            let stored = serde_json::to_value(&state).expect("serialise");
            let back: MutationState = serde_json::from_value(stored).expect("read back");
            assert_eq!(back, state);
        }
    }

    #[test]
    fn a_state_unknown_or_missing_its_fields_is_refused_by_name() {
        for (stored, says) in [
            (serde_json::json!({ "state": "sent" }), "`sent`"),
            (serde_json::json!({ "state": "done" }), "`receipt`"),
            (
                serde_json::json!({ "state": "parked", "actions": [] }),
                "`reason`",
            ),
            (serde_json::json!({ "actions": [] }), "state"),
        ] {
            let err = serde_json::from_value::<MutationState>(stored).expect_err("refused");
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
