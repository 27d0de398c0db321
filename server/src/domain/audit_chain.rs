//! The tamper-evident audit chain: every chained event carries its device's sequence number,
//! the previous link's MAC and an HMAC-SHA256 under the audit key the server issued to this
//! user on that device. The server checks the MAC and that the event continues the head it
//! last acknowledged; anything else is refused with `422 AUDIT_CHAIN_BROKEN` and leaves a
//! tamper alert behind (never the payload).

use crate::{db::Connection, params};
use caresync_contract::{
    audit::{mac_input, AuditEventIn, AuditLink},
    auth::DEVICE_ID_MAX,
    ErrorCode,
};
use caresync_envelope::{from_hex, to_hex};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{
    auth::{device::audit_key, Caller},
    domain::DomainError,
    time::now_ms,
};

/// How a link fails to continue its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("no audit key was issued to this user on this device")]
    UnknownDevice,
    #[error("the MAC does not match the event")]
    Mac,
    #[error("the sequence skips events the server has not received")]
    Gap,
    #[error("the sequence is not after the last acknowledged event")]
    Stale,
    #[error("the previous MAC is not the last acknowledged one")]
    Fork,
}

impl Break {
    /// The name kept in the tamper alert.
    pub fn reason(self) -> &'static str {
        match self {
            Break::UnknownDevice => "unknown_device",
            Break::Mac => "mac",
            Break::Gap => "gap",
            Break::Stale => "stale",
            Break::Fork => "fork",
        }
    }
}

/// A link that checked out: what to advance the head to once the event is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub device: String,
    pub seq: i64,
    /// Lower-case hex: the form the next event's `prev` must take.
    pub mac: String,
}

/// Checks `link` against the caller's key and acknowledged head on its device.
pub fn verify(
    conn: &Connection,
    caller: &Caller,
    event: &AuditEventIn,
    link: &AuditLink,
) -> Result<Verified, DomainError> {
    if link.device_id.is_empty() || link.device_id.len() > DEVICE_ID_MAX {
        return Err(DomainError::invalid(format!(
            "chain.deviceId must be 1 to {DEVICE_ID_MAX} characters"
        )));
    }
    let Some(key) = audit_key(conn, &caller.user, &link.device_id)? else {
        return Err(refuse(caller, link, Break::UnknownDevice));
    };
    let Some(mac) = from_hex(&link.mac) else {
        return Err(refuse(caller, link, Break::Mac));
    };
    let mut expected = <Hmac<Sha256> as Mac>::new_from_slice(&key.key)
        .map_err(|_| refuse(caller, link, Break::Mac))?;
    expected.update(&mac_input(event, &link.device_id, link.seq, &link.prev));
    // verify_slice compares in constant time.
    if expected.verify_slice(&mac).is_err() {
        return Err(refuse(caller, link, Break::Mac));
    }
    let next = key.head.seq.saturating_add(1);
    let broken = if link.seq < next {
        Some(Break::Stale)
    } else if link.seq > next {
        Some(Break::Gap)
    } else if link.prev != key.head.mac {
        Some(Break::Fork)
    } else {
        None
    };
    if let Some(broken) = broken {
        return Err(refuse(caller, link, broken));
    }
    Ok(Verified {
        device: link.device_id.clone(),
        seq: i64::try_from(link.seq).map_err(|_| refuse(caller, link, Break::Gap))?,
        mac: to_hex(&mac),
    })
}

/// Moves the head on, in the transaction that stores the event. The head is matched too, so
/// a second writer that checked against the same head cannot also advance it.
pub fn advance(conn: &Connection, caller: &Caller, link: &Verified) -> Result<(), DomainError> {
    let moved = conn.execute(
        "UPDATE audit_keys SET head_seq = ?3, head_mac = ?4 \
         WHERE user_id = ?1 AND device_id = ?2 AND head_seq = ?3 - 1",
        params![caller.user, link.device, link.seq, link.mac],
    )?;
    if moved == 1 {
        Ok(())
    } else {
        // Not reachable while one connection serialises writes; refused rather than forked.
        Err(DomainError::unprocessable(
            ErrorCode::AuditChainBroken,
            "The audit chain moved on while this event was checked.",
        ))
    }
}

/// The refusal, logged without payload, with the tamper alert written after the rollback.
fn refuse(caller: &Caller, link: &AuditLink, broken: Break) -> DomainError {
    tracing::warn!(
        user = %caller.user,
        device = %link.device_id,
        seq = link.seq,
        reason = broken.reason(),
        "audit chain broken; tamper alert recorded"
    );
    let (tenant, user, device) = (
        caller.tenant.clone(),
        caller.user.clone(),
        link.device_id.clone(),
    );
    let seq = i64::try_from(link.seq).unwrap_or(i64::MAX);
    DomainError::unprocessable(
        ErrorCode::AuditChainBroken,
        format!("The audit chain is broken: {broken}."),
    )
    .with_aftermath(move |conn| {
        conn.execute(
            "INSERT INTO audit_tamper_alerts (tenant_id, user_id, device_id, seq, reason, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![tenant, user, device, seq, broken.reason(), now_ms()],
        )
        .map(drop)
    })
}
