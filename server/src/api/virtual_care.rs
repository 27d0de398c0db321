//! Virtual care (seed 000): store-and-forward visits deduplicated by clientMutationId, and
//! session actions under an optimistic lock; a failed session falls back to messaging.

use base64::Engine as _;
use caresync_contract::{
    auth::Role,
    virtual_care::{
        AsyncVisitDto, AsyncVisitIn, AttachmentDto, SessionAction, SessionDto, MAX_ATTACHMENTS,
        MAX_ATTACHMENT_BYTES,
    },
    ErrorCode,
};
use rusqlite::{params, Connection, OptionalExtension as _, Row};

use crate::{
    auth::Caller,
    error::{from_value, invalid, not_found, require_uuid, HttpError, Outcome},
    time::{iso, now_ms},
};

fn visit_by_mutation(
    conn: &Connection,
    caller: &Caller,
    cmid: &str,
) -> Result<Option<AsyncVisitDto>, HttpError> {
    let found: Option<(String, String, String, String, i64)> = conn
        .query_row(
            "SELECT id, client_mutation_id, chief_complaint, status, created_at FROM async_visits \
             WHERE tenant_id = ?1 AND client_mutation_id = ?2",
            params![caller.tenant, cmid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    found
        .map(|(id, cmid, complaint, status, at)| visit_dto(conn, id, cmid, complaint, status, at))
        .transpose()
}

fn visit_dto(
    conn: &Connection,
    id: String,
    cmid: String,
    complaint: String,
    status: String,
    at: i64,
) -> Result<AsyncVisitDto, HttpError> {
    let mut stmt = conn.prepare("SELECT id, file_name, content_type, length(bytes) FROM visit_attachments WHERE visit_id = ?1 ORDER BY id")?;
    let attachments = stmt
        .query_map([&id], |r| {
            Ok(AttachmentDto {
                attachment_id: r.get(0)?,
                file_name: r.get(1)?,
                content_type: r.get(2)?,
                size: r.get::<_, i64>(3)? as usize,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(AsyncVisitDto {
        async_visit_id: id,
        client_mutation_id: cmid,
        chief_complaint: complaint,
        attachments,
        status,
        created_at: iso(at),
    })
}

/// Checks an attachment is the image it says it is, within the size limit.
fn decode_image(a: &caresync_contract::virtual_care::AttachmentIn) -> Result<Vec<u8>, HttpError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.data_base64.as_bytes())
        .map_err(|_| invalid(format!("{}: dataBase64 is not base64", a.file_name)))?;
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(HttpError::new(
            413,
            ErrorCode::PayloadTooLarge,
            format!(
                "{}: an image may be at most {} KiB",
                a.file_name,
                MAX_ATTACHMENT_BYTES / 1024
            ),
        ));
    }
    let matches = match a.content_type.as_str() {
        "image/png" => bytes.starts_with(&[0x89, b'P', b'N', b'G']),
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        _ => return Err(invalid("contentType must be image/png or image/jpeg")),
    };
    if !matches {
        return Err(invalid(format!(
            "{}: the data is not a {} image",
            a.file_name, a.content_type
        )));
    }
    if a.file_name.is_empty() || a.file_name.len() > 200 {
        return Err(invalid("fileName must be 1 to 200 characters"));
    }
    Ok(bytes)
}

/// `POST /api/v1/virtual-care/async-visits`: the first submission wins; a retry gets it back.
pub fn submit_visit(conn: &Connection, caller: &Caller, body: serde_json::Value) -> Outcome {
    let visit: AsyncVisitIn = from_value(body)?;
    require_uuid("clientMutationId", &visit.client_mutation_id)?;
    if caller.role != Role::Patient {
        return Err(HttpError::new(
            403,
            ErrorCode::Forbidden,
            "Async visits are submitted by patients.",
        ));
    }
    let complaint = visit.chief_complaint.trim();
    if complaint.is_empty() || complaint.chars().count() > 4_000 {
        return Err(invalid("chiefComplaint must be 1 to 4000 characters"));
    }
    if visit.attachments.len() > MAX_ATTACHMENTS {
        return Err(invalid(format!("at most {MAX_ATTACHMENTS} attachments")));
    }
    if let Some(existing) = visit_by_mutation(conn, caller, &visit.client_mutation_id)? {
        return Ok((201, serde_json::to_value(existing).unwrap_or_default()));
    }
    let images = visit
        .attachments
        .iter()
        .map(decode_image)
        .collect::<Result<Vec<_>, _>>()?;
    let id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO async_visits (id, tenant_id, patient_id, client_mutation_id, chief_complaint, status, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'submitted', ?6)",
        params![id, caller.tenant, caller.user, visit.client_mutation_id, complaint, now_ms()],
    )?;
    for (a, bytes) in visit.attachments.iter().zip(images) {
        conn.execute(
            "INSERT INTO visit_attachments (id, visit_id, file_name, content_type, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![uuid::Uuid::now_v7().to_string(), id, a.file_name, a.content_type, bytes],
        )?;
    }
    let created = visit_by_mutation(conn, caller, &visit.client_mutation_id)?
        .ok_or_else(|| not_found("The visit vanished."))?;
    Ok((201, serde_json::to_value(created).unwrap_or_default()))
}

pub fn list_visits(conn: &Connection, caller: &Caller) -> Result<Vec<AsyncVisitDto>, HttpError> {
    let mut stmt = conn.prepare(
        "SELECT id, client_mutation_id, chief_complaint, status, created_at FROM async_visits \
         WHERE tenant_id = ?1 AND patient_id = ?2 ORDER BY created_at DESC",
    )?;
    let rows: Vec<(String, String, String, String, i64)> = stmt
        .query_map(params![caller.tenant, caller.user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|(id, c, cc, s, at)| visit_dto(conn, id, c, cc, s, at))
        .collect()
}

/// An attachment's bytes, for the visit's own patient only.
pub fn attachment(
    conn: &Connection,
    caller: &Caller,
    visit: &str,
    attachment: &str,
) -> Result<(String, Vec<u8>), HttpError> {
    conn.query_row(
        "SELECT a.content_type, a.bytes FROM visit_attachments a JOIN async_visits v ON v.id = a.visit_id \
         WHERE a.id = ?1 AND v.id = ?2 AND v.tenant_id = ?3 AND v.patient_id = ?4",
        params![attachment, visit, caller.tenant, caller.user],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .ok_or_else(|| not_found("No such attachment."))
}

const SESSION_COLUMNS: &str =
    "id, status, version, scheduled_at, patient_id, provider_id, fallback_thread_id";

fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionDto> {
    Ok(SessionDto {
        session_id: r.get(0)?,
        status: r.get(1)?,
        version: r.get(2)?,
        scheduled_at: iso(r.get(3)?),
        patient_id: r.get(4)?,
        provider_id: r.get(5)?,
        fallback_thread_id: r.get(6)?,
    })
}

/// A session the caller takes part in; any other does not exist for them.
pub fn session(conn: &Connection, caller: &Caller, id: &str) -> Result<SessionDto, HttpError> {
    conn.query_row(
        &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1 AND tenant_id = ?2 AND (patient_id = ?3 OR provider_id = ?3)"),
        params![id, caller.tenant, caller.user],
        session_row,
    )
    .optional()?
    .ok_or_else(|| not_found("No such session."))
}

pub fn list_sessions(conn: &Connection, caller: &Caller) -> Result<Vec<SessionDto>, HttpError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = ?1 AND (patient_id = ?2 OR provider_id = ?2) ORDER BY scheduled_at"
    ))?;
    let rows = stmt.query_map(params![caller.tenant, caller.user], session_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `POST .../sessions/{id}/cancel|end|admit`: the version the client acted on must still be
/// current, or the answer says what it is now.
pub fn act(
    conn: &Connection,
    caller: &Caller,
    id: &str,
    action: &str,
    body: serde_json::Value,
) -> Outcome {
    let req: SessionAction = from_value(body)?;
    let current = session(conn, caller, id)?;
    if action == "admit" && caller.role != Role::Provider {
        return Err(HttpError::new(
            403,
            ErrorCode::Forbidden,
            "Only providers admit patients.",
        ));
    }
    let version = req
        .version
        .ok_or_else(|| invalid("version is required (in the body or as If-Match)"))?;
    if version != current.version {
        return Err(HttpError::new(
            409,
            ErrorCode::OptimisticLockConflict,
            "The session changed since you saw it.",
        )
        .with("currentVersion", current.version));
    }
    let next = match (action, current.status.as_str()) {
        ("cancel", "scheduled" | "waiting") => "cancelled",
        ("admit", "waiting") => "active",
        ("end", "active") => "ended",
        _ => {
            return Err(HttpError::new(
                409,
                ErrorCode::IllegalTransition,
                format!("A {} session cannot be {action}ed.", current.status),
            )
            .with("status", current.status.clone()))
        }
    };
    conn.execute(
        "UPDATE sessions SET status = ?1, version = version + 1, updated_at = ?2 WHERE id = ?3",
        params![next, now_ms(), id],
    )?;
    Ok((
        200,
        serde_json::to_value(session(conn, caller, id)?).unwrap_or_default(),
    ))
}

/// `POST .../sessions/{id}/fallback` (InitiateFallbackUseCase): a failed video visit
/// continues as an async messaging thread; asking twice gives the same thread.
pub fn fallback(conn: &Connection, caller: &Caller, id: &str) -> Result<SessionDto, HttpError> {
    let current = session(conn, caller, id)?;
    if current.status != "failed" {
        return Err(HttpError::new(
            409,
            ErrorCode::IllegalTransition,
            "Only a failed session falls back to messaging.",
        )
        .with("status", current.status));
    }
    if current.fallback_thread_id.is_some() {
        return Ok(current);
    }
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
        params![thread, now, id],
    )?;
    session(conn, caller, id)
}
