//! What a sign-in with a device id hands that device, after the password check and never
//! otherwise:
//! - the device key share: 32 random bytes per user and device, made at the first such
//!   sign-in and kept, so the app can unwrap its local data key after the password was
//!   changed on another device;
//! - the audit key: 32 random bytes per user and device, made and kept the same way, under
//!   which the device chains its audit events (HMAC-SHA256), with the head of that chain the
//!   server last acknowledged;
//! - a fresh replay credential (see [`super::replay`]).

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::{audit::AuditHead, auth::ReplayCredential};
use rand::{rngs::OsRng, RngCore as _};

use super::AuthError;
use super::{hex, replay, Caller};
use crate::{time::now_ms, AppState};

const SECRET_LEN: usize = 32;

/// Everything a sign-in gives its device.
pub(super) struct DeviceGrant {
    pub share: String,
    pub replay: ReplayCredential,
    pub audit_key: String,
    pub audit_head: AuditHead,
}

/// A user's audit key on a device and the chain head acknowledged so far.
#[derive(Debug, Clone)]
pub struct AuditKey {
    pub key: Vec<u8>,
    pub head: AuditHead,
}

fn random_secret() -> [u8; SECRET_LEN] {
    let mut bytes = [0u8; SECRET_LEN];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The grant of `caller` on `device`: kept secrets made now if this is its first sign-in, and
/// a new replay credential, all in one transaction.
pub(super) async fn grant(
    state: &AppState,
    caller: &Caller,
    device: String,
) -> Result<DeviceGrant, AuthError> {
    let (user, tenant) = (caller.user.clone(), caller.tenant.clone());
    let (fresh_share, fresh_audit) = (random_secret(), random_secret());
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            // Two sign-ins racing on one device both get the secrets that won.
            tx.execute(
                "INSERT INTO device_key_shares (user_id, device_id, share, created_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![user, device, fresh_share.to_vec(), now_ms()],
            )?;
            let share: Vec<u8> = tx.query_row(
                "SELECT share FROM device_key_shares WHERE user_id = ?1 AND device_id = ?2",
                params![user, device],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO audit_keys (user_id, device_id, key, created_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![user, device, fresh_audit.to_vec(), now_ms()],
            )?;
            let audit = audit_key(&tx, &user, &device)?.ok_or(crate::db::DbError::NoRows)?;
            let replay = replay::issue(&tx, &user, &tenant, &device)?;
            tx.commit()?;
            Ok(DeviceGrant {
                share: hex(&share),
                replay,
                audit_key: hex(&audit.key),
                audit_head: audit.head,
            })
        })
        .await
        .map_err(AuthError::from)
}

/// `user`'s audit key on `device`, if that device was ever signed in to with a device id.
pub fn audit_key(
    conn: &Connection,
    user: &str,
    device: &str,
) -> crate::db::Result<Option<AuditKey>> {
    conn.query_row(
        "SELECT key, head_seq, head_mac FROM audit_keys WHERE user_id = ?1 AND device_id = ?2",
        params![user, device],
        |r| {
            let seq: i64 = r.get(1)?;
            Ok(AuditKey {
                key: r.get(0)?,
                head: AuditHead {
                    seq: u64::try_from(seq).unwrap_or(0),
                    mac: r.get(2)?,
                },
            })
        },
    )
    .optional()
}
