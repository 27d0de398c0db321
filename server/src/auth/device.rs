//! Device key shares: 32 random bytes per user and device, made at the first sign-in with a
//! device id and kept, so that the app can unwrap its local data key after the password was
//! changed on another device. A share is only ever handed out after a password check.

use rand::{rngs::OsRng, RngCore as _};
use rusqlite::{params, OptionalExtension as _};

use super::hex;
use crate::{error::HttpError, time::now_ms, AppState};

const SHARE_LEN: usize = 32;

/// The share of `user` on `device` (made now if this is the device's first sign-in), as hex.
pub(super) async fn share(
    state: &AppState,
    user: String,
    device: String,
) -> Result<String, HttpError> {
    let mut fresh = [0u8; SHARE_LEN];
    OsRng.fill_bytes(&mut fresh);
    let share = state
        .db
        .call(move |conn| {
            // Two sign-ins racing on one device both get the share that won.
            conn.execute(
                "INSERT OR IGNORE INTO device_key_shares (user_id, device_id, share, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![user, device, fresh.to_vec(), now_ms()],
            )?;
            let kept: Option<Vec<u8>> = conn
                .query_row(
                    "SELECT share FROM device_key_shares WHERE user_id = ?1 AND device_id = ?2",
                    params![user, device],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(kept)
        })
        .await?;
    share.map(|bytes| hex(&bytes)).ok_or_else(|| {
        HttpError::new(
            500,
            caresync_contract::ErrorCode::Internal,
            "no device share",
        )
    })
}
