//! Dedupe by clientMutationId: unique per tenant, but only its author is answered with what
//! it created ([`claim`]).

use crate::{
    auth::Caller,
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::ErrorCode;

use super::DomainError;

/// The tables whose rows are deduplicated by `(tenant_id, client_mutation_id)`, with the
/// column naming who wrote each row. A closed set, so no caller-chosen name reaches SQL.
#[derive(Debug, Clone, Copy)]
pub enum Deduped {
    Messages,
    AsyncVisits,
    RenderJobs,
    AuditEvents,
    BedUpdates,
}

impl Deduped {
    fn table_and_author(self) -> (&'static str, &'static str) {
        match self {
            Deduped::Messages => ("messages", "sender_id"),
            Deduped::AsyncVisits => ("async_visits", "patient_id"),
            Deduped::RenderJobs => ("render_jobs", "requester_id"),
            Deduped::AuditEvents => ("audit_events", "actor_id"),
            Deduped::BedUpdates => ("bed_updates", "actor_id"),
        }
    }
}

/// The refusal for a clientMutationId another user already wrote. It says nothing of that
/// write: the row may belong to a thread, patient or bed the caller cannot see.
pub fn mutation_id_conflict() -> DomainError {
    DomainError::conflict(
        ErrorCode::ClientMutationIdConflict,
        "This clientMutationId was already used by another user; send the write with a new one.",
    )
}

/// Checks a clientMutationId before its row is looked up: `Ok(false)` when the tenant has no
/// row with it, `Ok(true)` when the caller wrote it (a retry, to be answered as before), and
/// 409 `CLIENT_MUTATION_ID_CONFLICT` when someone else did. Dedupe is per tenant, so without
/// this a colliding (or guessed) id would hand one user another user's record.
pub fn claim(
    conn: &Connection,
    caller: &Caller,
    table: Deduped,
    cmid: &str,
) -> Result<bool, DomainError> {
    let (table, author) = table.table_and_author();
    let found: Option<String> = conn
        .query_row(
            &format!(
                "SELECT {author} FROM {table} WHERE tenant_id = ?1 AND client_mutation_id = ?2"
            ),
            params![caller.tenant, cmid],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        None => Ok(false),
        Some(author) if author == caller.user => Ok(true),
        Some(_) => Err(mutation_id_conflict()),
    }
}
