//! How the outbox reaches the server: one request per write, or a batch to the sync endpoint.

use caresync_contract::sync::{
    SyncCapabilities, SyncMutation, SyncPushRequest, SyncPushResponse, SKIPPED_STATUS,
};

use crate::model::{Millis, Mutation};

/// An HTTP answer, reduced to what the engine decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After`, converted to milliseconds.
    pub retry_after_ms: Option<u64>,
    /// The body's validator (`ETag`), for a read revalidated later with `If-None-Match`.
    pub etag: Option<String>,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn new(status: u16, body: serde_json::Value) -> Self {
        Answer {
            status,
            retry_after_ms: None,
            etag: None,
            body,
        }
    }

    /// The documented error code (`{"code": "THREAD_ARCHIVED", ...}`), if any.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(|c| c.as_str())
    }
}

/// No answer at all: the request may or may not have reached the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("the device is offline")]
    Offline,
    #[error("the request timed out")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
}

/// The result of one mutation inside a batch push.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchOutcome {
    Answer(Answer),
    /// Not applied because an earlier write of the same lane in this batch failed.
    Skipped,
}

/// The sync push endpoint's request for `batch`, in order, each write in its lane.
pub fn push_request(batch: &[Mutation]) -> SyncPushRequest {
    SyncPushRequest {
        mutations: batch
            .iter()
            .map(|m| SyncMutation {
                client_mutation_id: m.id.to_string(),
                lane: m.lane.as_str().to_owned(),
                method: m.request.method.clone(),
                path: m.request.path.clone(),
                body: m.request.body.clone(),
            })
            .collect(),
    }
}

/// Each write's outcome from the sync push endpoint's `answer` to a batch of `len`: a refusal
/// of the whole push (401, 429, 5xx...) is every write's answer.
pub fn push_outcomes(len: usize, answer: Answer) -> Result<Vec<BatchOutcome>, NetError> {
    if answer.status != 200 {
        return Ok(vec![BatchOutcome::Answer(answer); len]);
    }
    let parsed: SyncPushResponse = serde_json::from_value(answer.body)
        .map_err(|e| NetError::Network(format!("unreadable push answer: {e}")))?;
    Ok(parsed
        .results
        .into_iter()
        .map(|r| {
            if r.status == SKIPPED_STATUS {
                BatchOutcome::Skipped
            } else {
                BatchOutcome::Answer(Answer::new(r.status, r.body))
            }
        })
        .collect())
}

impl Capabilities {
    /// What the server's answer to `GET /api/v1/sync/capabilities` says of its upload paths;
    /// `None` when it could not say (an error status, an older server).
    pub fn from_answer(answer: Answer) -> Option<Capabilities> {
        if answer.status != 200 {
            return None;
        }
        serde_json::from_value::<SyncCapabilities>(answer.body)
            .ok()
            .map(|c| Capabilities {
                batch: c.batch,
                max_batch: c.max_batch,
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// The server offers `POST /api/v1/sync/push`.
    pub batch: bool,
    pub max_batch: usize,
}

/// Why no usable access token is at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The server refused the refresh token: final until the user signs in again.
    #[error("the session has ended; sign in again")]
    SignInRequired,
    /// A refresh got no answer; the next one may go out at `retry_at`.
    #[error("the session could not be refreshed: no answer from the server")]
    Unreachable { retry_at: Millis },
}

/// Carries requests. Implementations add `Idempotency-Key: {clientMutationId}` and the
/// current bearer token to every write; the stored request never holds a token. A 401 to
/// any request marks the token it carried as unusable (see [`crate::auth::AuthGate`]).
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `Ok(None)`: the server answered but could not say (an error status, an older server);
    /// the engine replays per resource meanwhile and asks again later.
    async fn capabilities(&self) -> Result<Option<Capabilities>, NetError>;
    async fn send(&self, mutation: &Mutation) -> Result<Answer, NetError>;
    /// Answers come back in the order of `batch`.
    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError>;
    async fn fetch(&self, path: &str) -> Result<Answer, NetError>;
    /// Makes sure a usable access token is at hand, refreshing it first if need be (once,
    /// however many callers wait), within the [`crate::auth::AuthGate`]'s backoff.
    async fn authorize(&self) -> Result<(), AuthError>;
}
