//! Refresh-token families: rotation that is idempotent within a grace window, reuse
//! detection, and revocation.
//!
//! A sign-in starts a family and every refresh rotates within it. A token is spent on first
//! use, but its successor is *derived* from it (an HMAC under a server key) and the access
//! token is signed at the rotation time, so a retry within the grace window — a response lost
//! on a flaky network, two tabs refreshing at once — gets the very same pair while the database
//! keeps only hashes. A spent token presented after the window means two parties hold it
//! (OAuth 2.0 Security BCP, refresh token replay): the whole family is revoked.

use crate::{
    db::{Connection, OptionalExtension as _, TransactionBehavior},
    params,
};
use caresync_contract::{
    auth::{RefreshRequest, Role, TokenResponse},
    ErrorCode,
};
use rand::{rngs::OsRng, RngCore as _};

use super::{hex, refresh_hash, AuthError, Caller, Keys};
use crate::{db::DbError, time::now_ms, AppState};

const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// Who a pair is issued to, as the response names them.
struct Holder {
    caller: Caller,
    display_name: String,
}

/// A refresh token's row, with its user.
struct TokenRow {
    user: String,
    family: String,
    expires_at: i64,
    rotated_at: Option<i64>,
    revoked: bool,
    tenant: String,
    role: String,
    display_name: String,
}

impl TokenRow {
    fn into_holder(self, role: Role) -> Holder {
        Holder {
            caller: Caller {
                tenant: self.tenant,
                user: self.user,
                role,
            },
            display_name: self.display_name,
        }
    }
}

/// What to do with a presented token, from its row alone.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Unknown, expired or revoked.
    Ended,
    /// Never used: rotate it now.
    First,
    /// Spent within the grace window: answer again with what it produced at `rotated_at`.
    Replay { rotated_at: i64 },
    /// Spent longer ago: someone else holds it too.
    Reused,
}

fn decide(row: &TokenRow, now: i64, grace_ms: i64) -> Decision {
    if row.revoked || row.expires_at <= now {
        return Decision::Ended;
    }
    match row.rotated_at {
        None => Decision::First,
        Some(at) if now - at < grace_ms => Decision::Replay { rotated_at: at },
        Some(_) => Decision::Reused,
    }
}

/// The outcome of one refresh, decided and written in one transaction.
enum Rotation {
    /// Answer with the successor pair issued at `rotated_at` (milliseconds).
    Issue {
        holder: Holder,
        rotated_at: i64,
    },
    /// The family is now revoked.
    Reused {
        user: String,
        family: String,
    },
    Ended,
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token. Within the grace window the same
/// token always gets the same pair; after it, a second use revokes the session family.
pub async fn refresh(state: &AppState, req: RefreshRequest) -> Result<TokenResponse, AuthError> {
    let successor = state.keys.successor(&req.refresh_token);
    let hash = refresh_hash(&req.refresh_token);
    let successor_hash = refresh_hash(&successor);
    let grace_ms =
        i64::try_from(state.config.refresh_grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let rotation = state
        .db
        .call(move |conn| rotate(conn, &hash, &successor_hash, grace_ms))
        .await?;
    match rotation {
        Rotation::Issue { holder, rotated_at } => {
            respond(&state.keys, holder, successor, rotated_at)
        }
        Rotation::Reused { user, family } => {
            // The family id is no secret, but a prefix is enough to find it; never log a token.
            let family = family.get(..8).unwrap_or(&family);
            tracing::warn!(
                %user,
                family,
                "refresh token reused after its grace window; session family revoked"
            );
            Err(AuthError::unauthorized(
                ErrorCode::RefreshTokenReused,
                "This session was ended because its refresh token was used twice; sign in again.",
            ))
        }
        Rotation::Ended => Err(AuthError::unauthorized(
            ErrorCode::Unauthorized,
            "The session has ended; sign in again.",
        )),
    }
}

/// Reads, decides and writes under one write transaction, so concurrent refreshes with the
/// same token serialise: the first rotates, the others see a replay and get the same pair.
fn rotate(
    conn: &mut Connection,
    hash: &str,
    successor_hash: &str,
    grace_ms: i64,
) -> Result<Rotation, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    let Some(row) = read_token(&tx, hash)? else {
        return Ok(Rotation::Ended);
    };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(Rotation::Ended);
    };
    let rotated_at = match decide(&row, now, grace_ms) {
        Decision::Ended => return Ok(Rotation::Ended),
        Decision::Reused => {
            revoke_family(&tx, &row.family, now)?;
            tx.commit()?;
            return Ok(Rotation::Reused {
                user: row.user,
                family: row.family,
            });
        }
        Decision::First => {
            tx.execute(
                "UPDATE refresh_tokens SET rotated_at = ?2 WHERE token_hash = ?1",
                params![hash, now],
            )?;
            now
        }
        Decision::Replay { rotated_at } => rotated_at,
    };
    // A replay finds the successor there already (perhaps spent itself) and leaves it alone.
    tx.execute(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![
            successor_hash,
            row.user,
            row.family,
            rotated_at + REFRESH_TTL_MS
        ],
    )?;
    tx.commit()?;
    Ok(Rotation::Issue {
        holder: row.into_holder(role),
        rotated_at,
    })
}

fn read_token(conn: &Connection, hash: &str) -> crate::db::Result<Option<TokenRow>> {
    const SQL: &str = "SELECT t.user_id, t.family_id, t.expires_at, t.rotated_at, \
         t.revoked_at IS NOT NULL, u.tenant_id, u.role, u.display_name \
         FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1";
    // SQLite's IMMEDIATE transaction already serialises refreshes; PostgreSQL's
    // connections run side by side, so the token's row is locked until the commit.
    let locked;
    let sql = if conn.is_postgres() {
        locked = format!("{SQL} FOR UPDATE OF t");
        locked.as_str()
    } else {
        SQL
    };
    conn.query_row(sql, [hash], |r| {
        Ok(TokenRow {
            user: r.get(0)?,
            family: r.get(1)?,
            expires_at: r.get(2)?,
            rotated_at: r.get(3)?,
            revoked: r.get(4)?,
            tenant: r.get(5)?,
            role: r.get(6)?,
            display_name: r.get(7)?,
        })
    })
    .optional()
}

fn revoke_family(conn: &Connection, family: &str, now: i64) -> crate::db::Result<usize> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL",
        params![family, now],
    )
}

/// Starts a new session family for a fresh sign-in.
pub(super) async fn start(
    state: &AppState,
    caller: Caller,
    display_name: String,
) -> Result<TokenResponse, AuthError> {
    let refresh_token = random_hex::<32>();
    let family = random_hex::<16>();
    let hash = refresh_hash(&refresh_token);
    let user = caller.user.clone();
    let issued = state
        .db
        .call(move |conn| {
            let now = now_ms();
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![hash, user, family, now + REFRESH_TTL_MS],
            )?;
            Ok(now)
        })
        .await?;
    let holder = Holder {
        caller,
        display_name,
    };
    respond(&state.keys, holder, refresh_token, issued)
}

fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// The pair for `holder`, with the access token signed at `issued_ms` so a replay matches.
fn respond(
    keys: &Keys,
    holder: Holder,
    refresh_token: String,
    issued_ms: i64,
) -> Result<TokenResponse, AuthError> {
    let iat = u64::try_from(issued_ms / 1000).unwrap_or(0);
    let access_token = keys.issue_at(&holder.caller, iat)?;
    // A replayed access token was signed up to a grace window ago: report its real lifetime.
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0).max(iat);
    Ok(TokenResponse {
        access_token,
        refresh_token,
        expires_in: (iat + keys.access_ttl_secs).saturating_sub(now),
        user_id: holder.caller.user,
        tenant_id: holder.caller.tenant,
        display_name: holder.display_name,
        role: holder.caller.role,
        device_key_share: None,
        replay_credential: None,
        audit_key: None,
        audit_head: None,
    })
}

/// `POST /api/v1/auth/logout`: ends the session family of the given refresh token. Always
/// 204, so the route cannot tell anyone whether a token exists.
pub async fn logout(state: &AppState, req: RefreshRequest) -> Result<(), AuthError> {
    let hash = refresh_hash(&req.refresh_token);
    state
        .db
        .call(move |conn| {
            // One statement, so a concurrent refresh cannot add a successor in between.
            conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ?2 WHERE revoked_at IS NULL AND family_id = \
                 (SELECT family_id FROM refresh_tokens WHERE token_hash = ?1)",
                params![hash, now_ms()],
            )?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// `POST /api/v1/auth/sessions/revoke`: "sign out everywhere" — every refresh-token family of
/// the caller ends, and so does every replay credential (sealed writes not yet pushed stay
/// on their devices). Access tokens already issued stay valid until they expire.
pub async fn revoke_all(state: &AppState, caller: Caller) -> Result<(), AuthError> {
    let (revoked, replay) = state
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            let revoked = tx.execute(
                "UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                params![caller.user, now_ms()],
            )?;
            let replay = super::replay::revoke(&tx, &caller.user, None)?;
            tx.commit()?;
            Ok((revoked, replay))
        })
        .await?;
    tracing::info!(revoked, replay, "signed out everywhere");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rotated_at: Option<i64>, revoked: bool) -> TokenRow {
        TokenRow {
            user: "u".into(),
            family: "f".into(),
            expires_at: 10_000,
            rotated_at,
            revoked,
            tenant: "t".into(),
            role: "patient".into(),
            display_name: "P".into(),
        }
    }

    #[test]
    fn a_token_is_replayed_only_inside_the_grace_window() {
        assert_eq!(decide(&row(None, false), 5_000, 1_000), Decision::First);
        assert_eq!(
            decide(&row(Some(4_001), false), 5_000, 1_000),
            Decision::Replay { rotated_at: 4_001 }
        );
        assert_eq!(
            decide(&row(Some(4_000), false), 5_000, 1_000),
            Decision::Reused
        );
        assert_eq!(decide(&row(Some(4_000), false), 5_000, 0), Decision::Reused);
    }

    #[test]
    fn revoked_or_expired_tokens_end_the_session_before_anything_else() {
        assert_eq!(decide(&row(None, true), 5_000, 1_000), Decision::Ended);
        assert_eq!(
            decide(&row(Some(4_000), true), 5_000, 1_000),
            Decision::Ended
        );
        assert_eq!(decide(&row(None, false), 10_000, 1_000), Decision::Ended);
    }
}
