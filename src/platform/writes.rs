//! The writes the app queues and the reads it revalidates, in the seeds' shapes.

use caresync_contract::{
    comms::{MessageDto, ThreadDto},
    paths,
};
use caresync_sync::{transport::AuthError, AggregateKind, Lane, NewMutation, Request};
use leptos::prelude::Update as _;
use serde_json::json;

use super::{
    cache::{pending_key, read_mark_key, PendingMessage},
    outbox_store::EntityChange,
    runtime::now_ms,
    session::SignedIn,
    transport::CallError,
};

pub fn iso_now() -> String {
    String::from(
        js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(now_ms() as f64)).to_iso_string(),
    )
}

/// A record created on this device (a visit, a document request): `POST path` with `body`,
/// append-only in a lane of its own (`{lane}:{id}`), and the pending record the screen shows
/// until the server lists it (`{record}{id}`); committed together by the runtime.
pub struct Creation<'a> {
    pub kind: AggregateKind,
    pub lane: &'a str,
    pub path: &'a str,
    pub record: &'a str,
}

impl Creation<'_> {
    pub fn write(
        &self,
        s: &SignedIn,
        id: uuid::Uuid,
        body: serde_json::Value,
        pending: serde_json::Value,
    ) -> (NewMutation, EntityChange) {
        let new = NewMutation {
            id,
            tenant: s.user.tenant_id.clone(),
            actor: s.user.user_id.clone(),
            kind: self.kind,
            lane: Lane::new(format!("{}:{id}", self.lane)),
            request: Request {
                method: "POST".into(),
                path: self.path.into(),
                body,
            },
            coalesce_key: None,
            versioned: None,
        };
        let change = EntityChange {
            key: format!("{}{id}", self.record),
            value: pending,
        };
        (new, change)
    }

    /// The pending records the server does not list yet (`listed`: the clientMutationIds it
    /// does), so a record is never shown twice.
    pub async fn unlisted<P: serde::de::DeserializeOwned>(
        &self,
        s: &SignedIn,
        listed: &[&str],
        id: impl Fn(&P) -> &str,
    ) -> Result<Vec<P>, FetchError> {
        let pending: Vec<P> = s
            .cache
            .all(self.record)
            .await
            .map_err(|e| FetchError::Local(e.to_string()))?;
        Ok(pending
            .into_iter()
            .filter(|p| !listed.contains(&id(p)))
            .collect())
    }

    /// Each pending record (by its clientMutationId) with the write behind it while queued.
    pub async fn with_queued<P>(
        &self,
        s: &SignedIn,
        pending: Vec<P>,
        id: impl Fn(&P) -> &str,
    ) -> Result<Vec<(P, Option<caresync_sync::Mutation>)>, FetchError> {
        let mut out = Vec::with_capacity(pending.len());
        for p in pending {
            let lane = format!("{}:{}", self.lane, id(&p));
            let queued = s
                .runtime
                .store()
                .lane(&lane)
                .await
                .map_err(|e| FetchError::Local(e.to_string()))?;
            out.push((p, queued.into_iter().next()));
        }
        Ok(out)
    }
}

/// A new message: append-only, in its thread's lane, shown at once as pending.
pub fn message(s: &SignedIn, thread: &str, body: &str) -> (NewMutation, EntityChange) {
    message_as(&s.user.tenant_id, &s.user.user_id, thread, body)
}

/// The same for a given tenant and author (tests and benchmarks write as a demo user).
pub fn message_as(
    tenant: &str,
    actor: &str,
    thread: &str,
    body: &str,
) -> (NewMutation, EntityChange) {
    let id = uuid::Uuid::now_v7();
    let client_sent_at = iso_now();
    let pending = PendingMessage {
        client_mutation_id: id.to_string(),
        thread_id: thread.to_owned(),
        body: body.to_owned(),
        client_sent_at: client_sent_at.clone(),
        message_id: None,
        sent_at: None,
    };
    let new = NewMutation {
        id,
        tenant: tenant.to_owned(),
        actor: actor.to_owned(),
        kind: AggregateKind::Message,
        lane: Lane::thread(thread),
        request: Request {
            method: "POST".into(),
            path: paths::thread_messages(thread),
            body: json!({ "clientMutationId": id, "body": body, "clientSentAt": client_sent_at }),
        },
        coalesce_key: None,
        versioned: None,
    };
    let change = EntityChange {
        key: pending_key(thread, &id.to_string()),
        value: serde_json::to_value(&pending).unwrap_or_default(),
    };
    (new, change)
}

/// "I have read this": last writer wins per message, so an unsent older one is replaced.
pub fn read_receipt(s: &SignedIn, message: &str) -> (NewMutation, EntityChange) {
    let id = uuid::Uuid::now_v7();
    let read_at = iso_now();
    let lane = Lane::read_receipt(message);
    let key = lane.as_str().to_owned();
    let new = NewMutation {
        id,
        tenant: s.user.tenant_id.clone(),
        actor: s.user.user_id.clone(),
        kind: AggregateKind::ReadReceipt,
        lane,
        request: Request {
            method: "POST".into(),
            path: paths::READ.into(),
            body: json!({ "clientMutationId": id, "messageIds": [message], "readAt": read_at }),
        },
        coalesce_key: Some(key),
        versioned: None,
    };
    let change = EntityChange {
        key: read_mark_key(message),
        value: json!({ "readAt": read_at }),
    };
    (new, change)
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("offline")]
    Offline,
    #[error("sign in again to continue")]
    SignIn,
    #[error("the server answered {0}")]
    Status(u16),
    #[error("{0}")]
    Local(String),
}

impl FetchError {
    /// Whether the same read may succeed if tried again later: the network, or a server that
    /// is busy or in trouble. Not a refused session, a refusal, or this device's own storage.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Offline => true,
            FetchError::Status(code) => caresync_sync::classify::is_retryable(*code),
            FetchError::SignIn | FetchError::Local(_) => false,
        }
    }
}

impl From<CallError> for FetchError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Auth(AuthError::SignInRequired) => FetchError::SignIn,
            CallError::Auth(AuthError::Unreachable { .. }) | CallError::Net(_) => {
                FetchError::Offline
            }
        }
    }
}

/// A GET whose 200 answer is read as `T`.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    s: &SignedIn,
    path: &str,
) -> Result<T, FetchError> {
    let answer = s
        .runtime
        .transport()
        .get(path)
        .await
        .map_err(FetchError::from)?;
    if answer.status != 200 {
        return Err(FetchError::Status(answer.status));
    }
    serde_json::from_value(answer.body).map_err(|e| FetchError::Local(e.to_string()))
}

/// After a list was refreshed from the server: the sync time moves and every view re-reads.
pub(super) async fn refreshed(s: &SignedIn) -> Result<(), FetchError> {
    s.runtime
        .mark_synced(now_ms())
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    s.runtime.status.revision.update(|r| *r += 1);
    Ok(())
}

/// Stale-while-revalidate: the list is already on screen from the cache; this refreshes it.
pub async fn revalidate_threads(s: &SignedIn) -> Result<(), FetchError> {
    let threads: Vec<ThreadDto> = get_json(s, paths::THREADS).await?;
    s.cache
        .store_threads(&threads)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    refreshed(s).await
}

pub async fn revalidate_thread(s: &SignedIn, thread: &str) -> Result<(), FetchError> {
    let messages: Vec<MessageDto> = get_json(s, &paths::thread_messages(thread)).await?;
    s.cache
        .store_messages(thread, &messages)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    revalidate_threads(s).await
}

/// An online action: the thread is open again on the server and in the cache.
pub async fn reopen_thread(s: &SignedIn, thread: &str) -> Result<(), FetchError> {
    let answer = s
        .runtime
        .transport()
        .post(&paths::thread_reopen(thread), &json!({}))
        .await
        .map_err(FetchError::from)?;
    if answer.status != 200 {
        return Err(FetchError::Status(answer.status));
    }
    let reopened: ThreadDto =
        serde_json::from_value(answer.body).map_err(|e| FetchError::Local(e.to_string()))?;
    s.cache
        .store_thread(&reopened)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    Ok(())
}

/// Opening a thread marks what others wrote as read, once per message, queued like any write.
pub async fn mark_read(s: &SignedIn, thread: &str, messages: &[MessageDto]) {
    let mut marked = 0;
    for m in messages.iter().filter(|m| m.sender_id != s.user.user_id) {
        if s.cache.is_read(&m.message_id).await.unwrap_or(true) {
            continue;
        }
        let (new, change) = read_receipt(s, &m.message_id);
        match s.runtime.enqueue(new, Some(change)).await {
            Ok(_) => marked += 1,
            Err(err) => leptos::logging::warn!("could not queue a read receipt: {err}"),
        }
    }
    if marked > 0 {
        if let Ok(Some(mut t)) = s.cache.thread(thread).await {
            t.unread_count = 0;
            if let Err(err) = s.cache.store_thread(&t).await {
                // Only the unread badge is stale; the receipts themselves are queued.
                leptos::logging::warn!("unread count not updated: {err}");
            }
        }
    }
}
