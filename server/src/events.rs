//! Domain events through a transactional outbox: each committing write records its event in
//! `event_outbox` in the same transaction, so an event exists exactly when its write
//! committed. [`crate::relay`] publishes them to NATS JetStream. Payloads carry ids and
//! states only: message text, complaints and other PHI stay in their tables.

use serde_json::Value;

use crate::{
    db::{params_from_iter, Connection, DbError},
    params,
    time::now_ms,
};

/// Every subject the server publishes, one per kind of committed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    MessageSent,
    ReadReceiptRecorded,
    AsyncVisitSubmitted,
    SessionCancelled,
    SessionEnded,
    SessionAdmitted,
    RenderJobQueued,
    RenderJobCompleted,
    BedStatusChanged,
    BedHousekeepingChanged,
    AuditEventRecorded,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::MessageSent => "communication.message.sent",
            Subject::ReadReceiptRecorded => "communication.read_receipt.recorded",
            Subject::AsyncVisitSubmitted => "virtual_care.async_visit.submitted",
            Subject::SessionCancelled => "virtual_care.session.cancelled",
            Subject::SessionEnded => "virtual_care.session.ended",
            Subject::SessionAdmitted => "virtual_care.session.admitted",
            Subject::RenderJobQueued => "documents.render_job.queued",
            Subject::RenderJobCompleted => "documents.render_job.completed",
            Subject::BedStatusChanged => "facility.bed.status_changed",
            Subject::BedHousekeepingChanged => "facility.bed.housekeeping_changed",
            Subject::AuditEventRecorded => "audit.event.recorded",
        }
    }
}

/// The subject prefixes of the JetStream stream that carries them.
pub const STREAM_SUBJECTS: &[&str] = &[
    "communication.>",
    "virtual_care.>",
    "documents.>",
    "facility.>",
    "audit.>",
];

/// Records one event in the caller's transaction; returns its id (a UUIDv7, which is also
/// its `Nats-Msg-Id`). The payload gets `eventId`, `tenantId` and `occurredAt` added.
pub fn record(
    conn: &Connection,
    tenant: &str,
    subject: Subject,
    mut payload: Value,
) -> Result<String, DbError> {
    let id = uuid::Uuid::now_v7().to_string();
    let now = now_ms();
    if let Value::Object(fields) = &mut payload {
        fields.insert("eventId".into(), id.clone().into());
        fields.insert("tenantId".into(), tenant.into());
        fields.insert("occurredAt".into(), crate::time::iso(now).into());
    }
    conn.execute(
        "INSERT INTO event_outbox (id, tenant_id, subject, payload, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, tenant, subject.as_str(), payload.to_string(), now],
    )?;
    Ok(id)
}

/// One recorded event, as the relay reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub seq: i64,
    pub id: String,
    pub subject: String,
    pub payload: String,
}

/// Up to `limit` unpublished events, oldest first.
pub fn pending(conn: &Connection, limit: i64) -> Result<Vec<Pending>, DbError> {
    conn.query_map(
        "SELECT seq, id, subject, payload FROM event_outbox \
         WHERE published_at IS NULL ORDER BY seq LIMIT ?1",
        params![limit],
        |r| {
            Ok(Pending {
                seq: r.get(0)?,
                id: r.get(1)?,
                subject: r.get(2)?,
                payload: r.get(3)?,
            })
        },
    )
}

/// Marks events published, once JetStream has acknowledged them: one statement per
/// hundred, not a round trip each.
pub fn mark_published(conn: &Connection, ids: &[String]) -> Result<usize, DbError> {
    let tx = conn.transaction()?;
    let mut marked = 0;
    for chunk in ids.chunks(100) {
        // ?1 is the time; the ids follow as ?2, ?3, …
        let list: Vec<String> = (2..chunk.len() + 2).map(|n| format!("?{n}")).collect();
        let sql = format!(
            "UPDATE event_outbox SET published_at = ?1 WHERE published_at IS NULL AND id IN ({})",
            list.join(", ")
        );
        let mut values = params![now_ms()];
        values.extend(params_from_iter(chunk));
        marked += tx.execute(&sql, values)?;
    }
    tx.commit()?;
    Ok(marked)
}
