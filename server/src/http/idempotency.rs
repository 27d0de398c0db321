//! `Idempotency-Key`: the same key and request within 24 h get the first success again; the
//! same key with a different request is refused. Each write runs inside its own savepoint, so
//! the effect and the remembered answer commit together or not at all. (A clientMutationId's
//! dedupe is the domain's: `crate::domain::dedupe`.)

use crate::{
    db::{Connection, OptionalExtension as _, Savepoint, Transaction},
    params,
};
use caresync_contract::ErrorCode;
use sha2::{Digest, Sha256};

use crate::{
    auth::Caller,
    http::error::{HttpError, Outcome},
    time::now_ms,
};

const WINDOW_MS: i64 = 24 * 3600 * 1000;
/// How often [`prune`] runs (see `spawn_workers`): an expired key already answers nothing, so
/// this only bounds how long its stored body (which may carry PHI) outlives the window.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
const MAX_KEY_LEN: usize = 200;

/// One write as it arrives, per resource or inside a sync push.
pub struct Write<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: &'a serde_json::Value,
    pub key: Option<&'a str>,
}

impl Write<'_> {
    fn fingerprint(&self) -> String {
        // serde_json's maps are sorted, so equal bodies print equally.
        let digest =
            Sha256::digest(format!("{} {}\n{}", self.method, self.path, self.body).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Forgets the answers of keys older than the 24 h window as of `now` (ms); returns how many.
pub fn prune(conn: &Connection, now: i64) -> crate::db::Result<usize> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        params![now - WINDOW_MS],
    )
}

/// Runs `apply` at most once per key, in its own transaction. A write that lost a race to
/// another connection for the same key is run once more, and so answered like a retry.
pub fn run(
    conn: &mut Connection,
    caller: &Caller,
    write: &Write<'_>,
    apply: impl Fn(&Connection) -> Outcome,
) -> Outcome {
    let mut outcome = settle(conn.savepoint()?, caller, write, &apply);
    if outcome.as_ref().is_err_and(HttpError::lost_race) {
        outcome = settle(conn.savepoint()?, caller, write, &apply);
    }
    after_refusal(conn, outcome)
}

/// The same, nested in a batch's transaction (the sync endpoint).
pub fn run_nested(
    tx: &mut Transaction<'_>,
    caller: &Caller,
    write: &Write<'_>,
    apply: impl Fn(&Connection) -> Outcome,
) -> Outcome {
    let mut outcome = settle(tx.savepoint()?, caller, write, &apply);
    // Read committed: the retry's statements see the row the other connection committed.
    if outcome.as_ref().is_err_and(HttpError::lost_race) {
        outcome = settle(tx.savepoint()?, caller, write, &apply);
    }
    after_refusal(tx, outcome)
}

/// A refusal may leave a record behind (a tamper alert) that its rolled-back savepoint must
/// not take with it: written here, after the rollback, on the same connection.
fn after_refusal(conn: &Connection, mut outcome: Outcome) -> Outcome {
    if let Some(write) = outcome.as_mut().err().and_then(HttpError::take_aftermath) {
        if let Err(err) = (write.0)(conn) {
            // The refusal itself still stands; losing its record is logged loudly.
            tracing::error!(%err, "could not record what a refused write leaves behind");
        }
    }
    outcome
}

/// Keeps the effect and the remembered answer together, or neither.
fn settle(
    sp: Savepoint<'_>,
    caller: &Caller,
    write: &Write<'_>,
    apply: impl Fn(&Connection) -> Outcome,
) -> Outcome {
    let outcome = run_in(&sp, caller, write, apply);
    if matches!(&outcome, Ok((status, _)) if (200..300).contains(status)) {
        sp.commit()?;
    }
    // Dropping an uncommitted savepoint rolls it back: a refusal leaves no trace.
    outcome
}

fn run_in(
    conn: &Connection,
    caller: &Caller,
    write: &Write<'_>,
    apply: impl Fn(&Connection) -> Outcome,
) -> Outcome {
    let Some(key) = write.key else {
        return apply(conn);
    };
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(HttpError::new(
            400,
            ErrorCode::BadRequest,
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters"),
        ));
    }
    let fingerprint = write.fingerprint();
    let seen: Option<(String, u16, String)> = conn
        .query_row(
            "SELECT fingerprint, status, body FROM idempotency_keys \
             WHERE tenant_id = ?1 AND user_id = ?2 AND key = ?3 AND created_at > ?4",
            params![caller.tenant, caller.user, key, now_ms() - WINDOW_MS],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((stored, status, body)) = seen {
        if stored != fingerprint {
            return Err(HttpError::new(
                422,
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was already used for a different request.",
            ));
        }
        let answer = serde_json::from_str(&body).map_err(|err| {
            tracing::error!(%err, "a remembered answer does not parse");
            crate::http::error::internal()
        })?;
        return Ok((status, answer));
    }
    let (status, body) = apply(conn)?;
    if (200..300).contains(&status) {
        conn.execute(
            "INSERT INTO idempotency_keys (tenant_id, user_id, key, fingerprint, status, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant_id, user_id, key) DO UPDATE SET \
             fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body, \
             created_at = excluded.created_at",
            params![caller.tenant, caller.user, key, fingerprint, status, body.to_string(), now_ms()],
        )?;
    }
    Ok((status, body))
}
