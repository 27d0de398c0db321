//! Virtual care on the device: the user's sessions (appointments), cached and revalidated,
//! and the actions on them, queued under the optimistic lock (`lww_version`): each carries
//! the version the screen showed, and a version conflict is refetched and reapplied while
//! the action still applies, or kept as a conflict the user sees.

use caresync_contract::virtual_care::SessionDto;
use caresync_sync::order::{by_text, Direction};
use caresync_sync::{model::Versioned, AggregateKind, Lane, NewMutation, Request};
use serde_json::json;

use super::{
    session::SignedIn,
    writes::{get_json, refreshed, revalidate_thread, FetchError},
};

const SESSIONS: &str = "/api/v1/virtual-care/sessions";
const PREFIX: &str = "session:";

fn session_path(id: &str) -> String {
    format!("{SESSIONS}/{id}")
}

/// One session's writes keep their order in its lane.
pub fn session_lane(id: &str) -> Lane {
    Lane::new(format!("{PREFIX}{id}"))
}

/// What the user can do to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAct {
    /// The patient (or the provider) cancels a scheduled session.
    Cancel,
    /// The provider lets a waiting patient in.
    Admit,
    /// The provider ends an active session.
    End,
    /// The provider moves a scheduled session (RFC 3339).
    Reschedule(String),
}

impl SessionAct {
    fn route(&self) -> &'static str {
        match self {
            SessionAct::Cancel => "cancel",
            SessionAct::Admit => "admit",
            SessionAct::End => "end",
            SessionAct::Reschedule(_) => "reschedule",
        }
    }

    /// The states in which the action still makes sense after a concurrent change (the
    /// server's own rule: a patient may leave the waiting room by cancelling).
    fn applies_in(&self) -> &'static [&'static str] {
        match self {
            SessionAct::Cancel => &["scheduled", "waiting"],
            SessionAct::Reschedule(_) => &["scheduled"],
            SessionAct::Admit => &["waiting"],
            SessionAct::End => &["active"],
        }
    }

    /// The screen's words for the action, as in "Not cancelled: …".
    pub fn past(&self) -> &'static str {
        match self {
            SessionAct::Cancel => "cancelled",
            SessionAct::Admit => "admitted",
            SessionAct::End => "ended",
            SessionAct::Reschedule(_) => "rescheduled",
        }
    }
}

/// The write for `act` on `session`, at the version the screen showed.
pub fn session_action(s: &SignedIn, session: &SessionDto, act: &SessionAct) -> NewMutation {
    let id = uuid::Uuid::now_v7();
    let mut body = json!({ "version": session.version, "clientMutationId": id.to_string() });
    if let (SessionAct::Reschedule(at), Some(obj)) = (act, body.as_object_mut()) {
        obj.insert("scheduledAt".into(), at.clone().into());
    }
    NewMutation {
        id,
        tenant: s.user.tenant_id.clone(),
        actor: s.user.user_id.clone(),
        kind: AggregateKind::VirtualSession,
        lane: session_lane(&session.session_id),
        request: Request {
            method: "POST".into(),
            path: format!("{}/{}", session_path(&session.session_id), act.route()),
            body,
        },
        coalesce_key: None,
        versioned: Some(Versioned {
            refetch_path: session_path(&session.session_id),
            applies_in: act.applies_in().iter().map(|s| (*s).to_owned()).collect(),
        }),
    }
}

/// The sessions as last seen, soonest first.
pub async fn cached_sessions(s: &SignedIn) -> Result<Vec<SessionDto>, FetchError> {
    let mut sessions: Vec<SessionDto> = s
        .cache
        .all(PREFIX)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    by_text(&mut sessions, Direction::Ascending, |s| &s.scheduled_at);
    Ok(sessions)
}

/// Stale-while-revalidate: the list is on screen from the cache; this refreshes it.
pub async fn revalidate_sessions(s: &SignedIn) -> Result<(), FetchError> {
    let sessions: Vec<SessionDto> = get_json(s, SESSIONS).await?;
    let records: Vec<(String, SessionDto)> = sessions
        .into_iter()
        .map(|x| (format!("{PREFIX}{}", x.session_id), x))
        .collect();
    s.cache
        .replace_all(PREFIX, &records)
        .await
        .map_err(|e| FetchError::Local(e.to_string()))?;
    refreshed(s).await
}

/// "Continue by message" on a failed session (online): the server opens a thread for it,
/// once, and answers with its id. The thread is then read onto the device, so the page that
/// opens next shows it; if that read fails, the thread page reads it again when it can.
pub async fn continue_by_message(s: &SignedIn, id: &str) -> Result<String, FetchError> {
    let thread = open_fallback(s, id).await?;
    if let Err(err) = revalidate_thread(s, &thread).await {
        leptos::logging::warn!("the new conversation was not read yet: {err}");
    }
    Ok(thread)
}

async fn open_fallback(s: &SignedIn, id: &str) -> Result<String, FetchError> {
    let answer = s
        .runtime
        .transport()
        .post(&format!("{}/fallback", session_path(id)), &json!({}))
        .await
        .map_err(FetchError::from)?;
    if !(200..300).contains(&answer.status) {
        return Err(FetchError::Status(answer.status));
    }
    answer
        .body
        .get("threadId")
        .or_else(|| answer.body.get("fallbackThreadId"))
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .ok_or_else(|| FetchError::Local("the server named no thread".into()))
}
