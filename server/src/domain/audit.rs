//! Audit events: append-only; a duplicate clientMutationId gets the original back. Events that
//! carry a chain link are verified by [`audit_chain`] first.

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    params,
};
use caresync_contract::audit::{AuditEventDto, AuditEventIn};

use super::audit_chain;
use crate::{
    auth::Caller,
    domain::dedupe::{self, Deduped},
    domain::{error::require_uuid, DomainError},
    time::{iso, now_ms, parse_iso},
};

/// The columns every audit read selects: `id, client_mutation_id, type, occurred_at,
/// recorded_at, payload`.
const EVENT_COLUMNS: &str = "id, client_mutation_id, type, occurred_at, recorded_at, payload";

/// One event from a row of [`EVENT_COLUMNS`].
fn event_row(r: &Row<'_>) -> crate::db::Result<AuditEventDto> {
    Ok(AuditEventDto {
        audit_event_id: r.get(0)?,
        client_mutation_id: r.get(1)?,
        kind: r.get(2)?,
        occurred_at: iso(r.get(3)?),
        recorded_at: iso(r.get(4)?),
        payload: r.get_json(5)?,
    })
}

fn by_mutation(
    conn: &Connection,
    caller: &Caller,
    cmid: &str,
) -> Result<Option<AuditEventDto>, DomainError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM audit_events \
                 WHERE tenant_id = ?1 AND client_mutation_id = ?2"
            ),
            params![caller.tenant, cmid],
            event_row,
        )
        .optional()?)
}

/// Refuses an event whose fields are malformed, before any lookup.
fn validate(event: &AuditEventIn) -> Result<i64, DomainError> {
    require_uuid("clientMutationId", &event.client_mutation_id)?;
    let valid_type = !event.kind.is_empty()
        && event.kind.len() <= 100
        && event
            .kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !valid_type {
        return Err(DomainError::invalid(
            "type must be 1 to 100 characters of a-z, 0-9, '.', '_' or '-'",
        ));
    }
    let occurred_at = parse_iso(&event.occurred_at)
        .ok_or_else(|| DomainError::invalid("occurredAt must be an RFC 3339 time"))?;
    if !event.payload.is_object() {
        return Err(DomainError::invalid("payload must be a JSON object"));
    }
    Ok(occurred_at)
}

/// `POST /api/v1/audit-events`. A duplicate gets the original answer before any chain check,
/// so a retry of an acknowledged event is never taken for a replay.
pub fn record(
    conn: &Connection,
    caller: &Caller,
    event: AuditEventIn,
) -> Result<AuditEventDto, DomainError> {
    let occurred_at = validate(&event)?;
    // Only the event's own actor gets it back; another user's trail is not theirs to read.
    if dedupe::claim(
        conn,
        caller,
        Deduped::AuditEvents,
        &event.client_mutation_id,
    )? {
        if let Some(existing) = by_mutation(conn, caller, &event.client_mutation_id)? {
            return Ok(existing);
        }
    }
    // The MAC covers the event as sent, so it is checked before the payload is touched.
    let link = match &event.chain {
        Some(link) => Some(audit_chain::verify(conn, caller, &event, link)?),
        None => None,
    };
    let mut payload = event.payload;
    if let (Some(seal), Some(obj)) = (event.integrity, payload.as_object_mut()) {
        obj.insert("integrity".into(), seal.into());
    }
    let event_id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO audit_events (id, tenant_id, actor_id, client_mutation_id, type, occurred_at, payload, \
         recorded_at, chain_device_id, chain_seq, chain_mac) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            event_id,
            caller.tenant,
            caller.user,
            event.client_mutation_id,
            event.kind,
            occurred_at,
            payload.to_string(),
            now_ms(),
            link.as_ref().map(|l| l.device.as_str()),
            link.as_ref().map(|l| l.seq),
            link.as_ref().map(|l| l.mac.as_str()),
        ],
    )?;
    // Same savepoint as the insert: the head never moves for an event that was not stored.
    if let Some(link) = &link {
        audit_chain::advance(conn, caller, link)?;
    }
    // The audit payload may describe a record; only the event's identity goes out.
    crate::events::record(
        conn,
        &caller.tenant,
        crate::events::Subject::AuditEventRecorded,
        serde_json::json!({"auditEventId": event_id, "type": event.kind, "actorId": caller.user,
                           "clientMutationId": event.client_mutation_id}),
    )?;
    by_mutation(conn, caller, &event.client_mutation_id)?
        .ok_or_else(|| DomainError::invalid("the audit event vanished after insert"))
}

/// The caller's own events, oldest first, optionally of one `type`: what a user (or a test)
/// can check the device reported, without seeing anyone else's trail.
pub fn list_own(
    conn: &Connection,
    caller: &Caller,
    kind: Option<&str>,
) -> Result<Vec<AuditEventDto>, DomainError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events \
         WHERE tenant_id = ?1 AND actor_id = ?2 AND (CAST(?3 AS TEXT) IS NULL OR type = ?3) \
         ORDER BY recorded_at, id LIMIT 500"
    ))?;
    let rows = stmt.query_map(params![caller.tenant, caller.user, kind], event_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
