//! Replay credentials: issued with every sign-in that names a device, good for one thing only —
//! pushing that user's sealed writes from that device (`Authorization: Replay <token>` on
//! `POST /api/v1/sync/sealed`). They are not access tokens and never pass as one; they expire
//! after [`REPLAY_CREDENTIAL_DAYS`] and are revoked by the revoke route or "sign out
//! everywhere", but not by a plain sign-out: a kiosk must still deliver what the last user
//! left sealed after they signed out.

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::{
    auth::{ReplayCredential, Role, DEVICE_ID_MAX, REPLAY_CREDENTIAL_DAYS},
    ErrorCode,
};
use rand::{rngs::OsRng, RngCore as _};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{hex, AuthError, Caller};
use crate::{
    time::{iso, now_ms},
    AppState,
};

const TOKEN_LEN: usize = 32;
const TTL_MS: i64 = REPLAY_CREDENTIAL_DAYS * 24 * 3600 * 1000;

/// Who a valid replay credential speaks for, and from which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayHolder {
    pub caller: Caller,
    pub device: String,
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// One refusal for every cause, so a caller cannot probe which tokens once existed.
pub fn refused() -> AuthError {
    AuthError::unauthorized(
        ErrorCode::ReplayRefused,
        "This replay credential is unknown, expired or revoked.",
    )
}

/// A new credential for `user` of `tenant` on `device`; only its hash is kept. The device's
/// earlier ones for that user are revoked: it keeps only the newest, so an older token found
/// on a disk image later pushes nothing.
pub(super) fn issue(
    conn: &Connection,
    user: &str,
    tenant: &str,
    device: &str,
) -> crate::db::Result<ReplayCredential> {
    let mut bytes = [0u8; TOKEN_LEN];
    OsRng.fill_bytes(&mut bytes);
    let token = hex(&bytes);
    let now = now_ms();
    let expires_at = now + TTL_MS;
    conn.execute(
        "UPDATE replay_credentials SET revoked_at = ?3 \
         WHERE user_id = ?1 AND device_id = ?2 AND revoked_at IS NULL",
        params![user, device, now],
    )?;
    conn.execute(
        "INSERT INTO replay_credentials (token_hash, user_id, tenant_id, device_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![token_hash(&token), user, tenant, device, now, expires_at],
    )?;
    Ok(ReplayCredential {
        token,
        expires_at: iso(expires_at),
    })
}

/// The holder of a presented token: it exists, has not expired and was not revoked. The role
/// is read from the users table now, not remembered from the sign-in.
pub fn check(conn: &Connection, token: &str) -> Result<ReplayHolder, AuthError> {
    let row: Option<(String, String, String, i64, bool, String)> = conn
        .query_row(
            "SELECT c.user_id, c.tenant_id, c.device_id, c.expires_at, c.revoked_at IS NOT NULL, u.role \
             FROM replay_credentials c JOIN users u ON u.id = c.user_id AND u.tenant_id = c.tenant_id \
             WHERE c.token_hash = ?1",
            [token_hash(token)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()?;
    let Some((user, tenant, device, expires_at, revoked, role)) = row else {
        return Err(refused());
    };
    if revoked || expires_at <= now_ms() {
        tracing::info!(%user, revoked, "replay credential refused");
        return Err(refused());
    }
    let role = Role::parse(&role).ok_or_else(refused)?;
    Ok(ReplayHolder {
        caller: Caller { tenant, user, role },
        device,
    })
}

/// Revokes `user`'s live credentials, on one device or all of them; answers how many.
pub fn revoke(conn: &Connection, user: &str, device: Option<&str>) -> crate::db::Result<usize> {
    conn.execute(
        "UPDATE replay_credentials SET revoked_at = ?3 \
         WHERE user_id = ?1 AND (CAST(?2 AS TEXT) IS NULL OR device_id = ?2) AND revoked_at IS NULL",
        params![user, device, now_ms()],
    )
}

/// The body of the revoke route; without it (or without `deviceId`), every device.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplayRevokeRequest {
    /// Only this device's credentials.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// `POST /api/v1/auth/replay-credentials/revoke`: the caller's replay credentials, of one device
/// or all, stop working. Sealed writes they would have pushed stay on their devices.
pub async fn revoke_devices(
    state: &AppState,
    caller: Caller,
    req: ReplayRevokeRequest,
) -> Result<(), AuthError> {
    if let Some(device) = &req.device_id {
        if device.is_empty() || device.len() > DEVICE_ID_MAX {
            return Err(AuthError::invalid(
                ErrorCode::InvalidBody,
                format!("deviceId must be 1 to {DEVICE_ID_MAX} characters"),
            ));
        }
    }
    let revoked = state
        .db
        .call(move |conn| revoke(conn, &caller.user, req.device_id.as_deref()))
        .await?;
    tracing::info!(revoked, "replay credentials revoked");
    Ok(())
}
