//! Virtual sessions (seed 000 §3–4): reads for their participants, lifecycle actions and the
//! provider's reschedule under an optimistic lock, and the fallback to messaging.

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    events::{self, Subject},
    params,
};
use caresync_contract::{
    auth::Role,
    virtual_care::{RescheduleSession, SessionAction, SessionDto},
    ErrorCode,
};

use crate::{
    auth::Caller,
    domain::DomainError,
    time::{iso, now_ms, parse_iso},
};

/// The realtime provider's join page. The video itself is out of this server's scope; the
/// link only has to be stable per session so the app can open it.
pub const JOIN_BASE_URL: &str = "https://video.caresync.invalid/join/";

const SESSION_SELECT: &str = "SELECT s.id, s.status, s.version, s.scheduled_at, s.patient_id, \
     s.provider_id, s.fallback_thread_id, p.display_name, d.display_name \
     FROM sessions s JOIN users p ON p.id = s.patient_id JOIN users d ON d.id = s.provider_id";

fn session_row(r: &Row<'_>) -> crate::db::Result<SessionDto> {
    let id: String = r.get(0)?;
    let status: String = r.get(1)?;
    // Only a session someone can be in has a room to join.
    let join_url =
        matches!(status.as_str(), "waiting" | "active").then(|| format!("{JOIN_BASE_URL}{id}"));
    Ok(SessionDto {
        session_id: id,
        status,
        version: r.get(2)?,
        scheduled_at: iso(r.get(3)?),
        patient_id: r.get(4)?,
        provider_id: r.get(5)?,
        fallback_thread_id: r.get(6)?,
        patient_name: r.get(7)?,
        provider_name: r.get(8)?,
        join_url,
    })
}

/// A session the caller takes part in; any other does not exist for them.
pub fn session(conn: &Connection, caller: &Caller, id: &str) -> Result<SessionDto, DomainError> {
    conn.query_row(
        &format!("{SESSION_SELECT} WHERE s.id = ?1 AND s.tenant_id = ?2 AND (s.patient_id = ?3 OR s.provider_id = ?3)"),
        params![id, caller.tenant, caller.user],
        session_row,
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such session."))
}

/// A session by id in a tenant, whoever asks: for set-up that has no caller (test fixtures).
pub fn session_in_tenant(
    conn: &Connection,
    tenant: &str,
    id: &str,
) -> Result<SessionDto, DomainError> {
    conn.query_row(
        &format!("{SESSION_SELECT} WHERE s.id = ?1 AND s.tenant_id = ?2"),
        params![id, tenant],
        session_row,
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such session."))
}

/// The caller's sessions as patient or as provider, soonest first.
pub fn list_sessions(conn: &Connection, caller: &Caller) -> Result<Vec<SessionDto>, DomainError> {
    let mut stmt = conn.prepare(&format!(
        "{SESSION_SELECT} WHERE s.tenant_id = ?1 AND (s.patient_id = ?2 OR s.provider_id = ?2) \
         ORDER BY s.scheduled_at, s.id"
    ))?;
    let rows = stmt.query_map(params![caller.tenant, caller.user], session_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The version the client acted on must still be current.
fn check_version(current: &SessionDto, version: Option<i64>) -> Result<(), DomainError> {
    let version = version
        .ok_or_else(|| DomainError::invalid("version is required (in the body or as If-Match)"))?;
    if version == current.version {
        Ok(())
    } else {
        Err(conflict(current))
    }
}

/// The conflict names the current version and status, so a client can tell "reapply" from
/// "no longer applies" without waiting for its refetch.
fn conflict(current: &SessionDto) -> DomainError {
    DomainError::conflict(
        ErrorCode::OptimisticLockConflict,
        "The session changed since you saw it.",
    )
    .with("currentVersion", current.version)
    .with("status", current.status.clone())
}

fn illegal(current: &SessionDto, message: String) -> DomainError {
    DomainError::conflict(ErrorCode::IllegalTransition, message)
        .with("status", current.status.clone())
}

fn forbidden(message: &str) -> DomainError {
    DomainError::forbidden_as(ErrorCode::Forbidden, message)
}

/// Applies a change checked at `version`. The `version = ?` guard keeps the lock honest
/// even if two writers ever got past the check together.
fn bump(
    conn: &Connection,
    caller: &Caller,
    id: &str,
    version: i64,
    set: Change,
) -> Result<SessionDto, DomainError> {
    let now = now_ms();
    let changed = match set {
        Change::Status(next) => conn.execute(
            "UPDATE sessions SET status = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3 AND version = ?4",
            params![next, now, id, version],
        )?,
        Change::ScheduledAt(at) => conn.execute(
            "UPDATE sessions SET scheduled_at = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3 AND version = ?4",
            params![at, now, id, version],
        )?,
    };
    let after = session(conn, caller, id)?;
    if changed == 0 {
        return Err(conflict(&after));
    }
    let subject = match set {
        Change::Status("cancelled") => Some(Subject::SessionCancelled),
        Change::Status("ended") => Some(Subject::SessionEnded),
        Change::Status("active") => Some(Subject::SessionAdmitted),
        _ => None,
    };
    if let Some(subject) = subject {
        events::record(
            conn,
            &caller.tenant,
            subject,
            serde_json::json!({"sessionId": id, "status": after.status, "version": after.version,
                               "actorId": caller.user}),
        )?;
    }
    Ok(after)
}

#[derive(Clone, Copy)]
enum Change {
    Status(&'static str),
    ScheduledAt(i64),
}

/// `POST .../sessions/{id}/cancel|end|admit`: the version the client acted on must still be
/// current, or the answer says what it is now.
pub fn act(
    conn: &Connection,
    caller: &Caller,
    id: &str,
    action: &str,
    req: SessionAction,
) -> Result<SessionDto, DomainError> {
    let current = session(conn, caller, id)?;
    if action == "admit" && caller.role != Role::Provider {
        return Err(forbidden("Only providers admit patients."));
    }
    check_version(&current, req.version)?;
    let next = match (action, current.status.as_str()) {
        ("cancel", "scheduled" | "waiting") => "cancelled",
        ("admit", "waiting") => "active",
        ("end", "active") => "ended",
        _ => {
            let done = match action {
                "admit" => "admitted",
                "cancel" => "cancelled",
                _ => "ended",
            };
            let message = format!("A {} session cannot be {done}.", current.status);
            return Err(illegal(&current, message));
        }
    };
    bump(conn, caller, id, current.version, Change::Status(next))
}

/// `POST .../sessions/{id}/reschedule`: the session's own provider moves a scheduled session
/// to a new time. It stays scheduled and its version goes up, so a patient's cancel queued
/// against the old version is refetched and reapplied, not silently applied to a stale view.
pub fn reschedule(
    conn: &Connection,
    caller: &Caller,
    id: &str,
    req: RescheduleSession,
) -> Result<SessionDto, DomainError> {
    let at = parse_iso(&req.scheduled_at)
        .ok_or_else(|| DomainError::invalid("scheduledAt must be an RFC 3339 date-time"))?;
    let current = session(conn, caller, id)?;
    if caller.role != Role::Provider || current.provider_id != caller.user {
        return Err(forbidden("Only the session's provider reschedules it."));
    }
    check_version(&current, req.version)?;
    if current.status != "scheduled" {
        let message = format!("A {} session cannot be rescheduled.", current.status);
        return Err(illegal(&current, message));
    }
    bump(conn, caller, id, current.version, Change::ScheduledAt(at))
}

/// `POST .../sessions/{id}/fallback` (InitiateFallbackUseCase): a failed video visit
/// continues as an async messaging thread; asking twice gives the same thread.
pub fn fallback(
    conn: &mut Connection,
    caller: &Caller,
    id: &str,
) -> Result<SessionDto, DomainError> {
    let current = session(conn, caller, id)?;
    if current.status != "failed" {
        return Err(illegal(
            &current,
            "Only a failed session falls back to messaging.".to_owned(),
        ));
    }
    if current.fallback_thread_id.is_some() {
        return Ok(current);
    }
    // Thread, members, first message and the link commit together: a half-made thread
    // would otherwise be orphaned and the next attempt would make another.
    let tx = conn.transaction()?;
    open_fallback_thread(&tx, caller, &current)?;
    tx.commit()?;
    session(conn, caller, id)
}

fn open_fallback_thread(
    conn: &Connection,
    caller: &Caller,
    current: &SessionDto,
) -> Result<(), DomainError> {
    let now = now_ms();
    let thread = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO threads (id, tenant_id, subject, status, updated_at) VALUES (?1, ?2, 'Your video visit: continue by message', 'open', ?3)",
        params![thread, caller.tenant, now],
    )?;
    for member in [&current.patient_id, &current.provider_id] {
        conn.execute(
            "INSERT INTO thread_members (thread_id, user_id) VALUES (?1, ?2)",
            params![thread, member],
        )?;
    }
    conn.execute(
        "INSERT INTO messages (id, tenant_id, thread_id, sender_id, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            uuid::Uuid::now_v7().to_string(),
            caller.tenant,
            thread,
            current.provider_id,
            "Our video visit could not continue. You can write to us here and we will answer.",
            now
        ],
    )?;
    conn.execute(
        "UPDATE sessions SET fallback_thread_id = ?1, updated_at = ?2 WHERE id = ?3",
        params![thread, now, current.session_id],
    )?;
    Ok(())
}
