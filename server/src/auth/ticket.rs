//! Stream tickets: a browser's EventSource cannot send a header and an access token must
//! never sit in a URL, so a signed-in staff member trades theirs for a single-use ticket.

use caresync_contract::{
    auth::Role,
    facility::{StreamTicket, STREAM_TICKET_SECONDS},
    ErrorCode,
};
use rand::{rngs::OsRng, RngCore as _};
use sha2::{Digest, Sha256};

use super::{hex, AuthError, Caller};
use crate::{
    db::{Connection, OptionalExtension as _},
    params,
    time::{iso, now_ms},
};

/// The ward board is for staff, whichever way the stream is opened.
pub fn staff_only(caller: &Caller) -> Result<(), AuthError> {
    if caller.role == Role::Patient {
        Err(AuthError::forbidden(
            ErrorCode::Forbidden,
            "The ward board is for staff.",
        ))
    } else {
        Ok(())
    }
}

fn ticket_refused() -> AuthError {
    AuthError::unauthorized(
        ErrorCode::Unauthorized,
        "This stream ticket is unknown, used or expired: ask for a new one.",
    )
}

fn ticket_hash(ticket: &str) -> String {
    hex(&Sha256::digest(
        format!("stream-ticket:{ticket}").as_bytes(),
    ))
}

/// A single-use ticket that opens one stream within its lifetime; only its hash is kept.
pub fn issue(conn: &Connection, caller: &Caller) -> Result<StreamTicket, AuthError> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let ticket = hex(&bytes);
    let now = now_ms();
    let expires_at = now + STREAM_TICKET_SECONDS * 1000;
    conn.execute(
        "DELETE FROM stream_tickets WHERE expires_at <= ?1",
        params![now],
    )?;
    conn.execute(
        "INSERT INTO stream_tickets (ticket_hash, tenant_id, user_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![ticket_hash(&ticket), caller.tenant, caller.user, expires_at],
    )?;
    Ok(StreamTicket {
        ticket,
        expires_at: iso(expires_at),
    })
}

/// Uses a ticket up (even a late one) and answers who it was issued to, with their role now.
pub fn redeem(conn: &Connection, ticket: &str) -> Result<Caller, AuthError> {
    let row: Option<(String, String, i64)> = conn
        .query_row(
            "DELETE FROM stream_tickets WHERE ticket_hash = ?1 RETURNING tenant_id, user_id, expires_at",
            params![ticket_hash(ticket)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (tenant, user) = match row {
        Some((tenant, user, expires_at)) if expires_at > now_ms() => (tenant, user),
        _ => return Err(ticket_refused()),
    };
    let role: Option<String> = conn
        .query_row(
            "SELECT role FROM users WHERE id = ?1 AND tenant_id = ?2",
            params![user, tenant],
            |r| r.get(0),
        )
        .optional()?;
    let role = role
        .as_deref()
        .and_then(Role::parse)
        .ok_or_else(ticket_refused)?;
    Ok(Caller { tenant, user, role })
}
