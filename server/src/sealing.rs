//! The server's HPKE key pairs for sealed writes: one made at first start, more on rotation.
//! The newest unretired pair is the one published; every unretired pair still opens what was
//! sealed to it, so envelopes sealed before a rotation (and parked on a device for days) are
//! still delivered. Private keys live in the database, like the token secret.

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::sync::{SealedEnvelope, SealingKey};
use caresync_envelope::{from_hex, to_hex, EnvelopeError, Sealed, SUITE};
use rand_core::{OsRng, TryRngCore as _};

use crate::time::now_ms;

/// Why an envelope could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    #[error("no unretired sealing key has this key id")]
    UnknownKey,
    #[error("the envelope's fields are not hex")]
    NotHex,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
}

/// The published key, made now if the database has none yet.
pub fn ensure_current(conn: &Connection) -> crate::db::Result<SealingKey> {
    match current(conn)? {
        Some(key) => Ok(key),
        None => rotate(conn),
    }
}

/// The newest unretired key: the one devices should seal to.
pub fn current(conn: &Connection) -> crate::db::Result<Option<SealingKey>> {
    conn.query_row(
        // Key ids are UUIDv7, made in order: the id breaks a tie between two keys made in
        // the same millisecond.
        "SELECT key_id, public FROM sealing_keys WHERE retired_at IS NULL \
         ORDER BY created_at DESC, key_id DESC LIMIT 1",
        params![],
        |r| {
            let public: Vec<u8> = r.get(1)?;
            Ok(published(r.get(0)?, &public))
        },
    )
    .optional()
}

/// Makes a new key pair the current one. Older unretired keys keep opening envelopes.
pub fn rotate(conn: &Connection) -> crate::db::Result<SealingKey> {
    // The OS generator through rand_core 0.9, which the hpke crate takes.
    let (private, public) = caresync_envelope::generate(&mut OsRng.unwrap_err());
    let key_id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO sealing_keys (key_id, private, public, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key_id, private, public, now_ms()],
    )?;
    tracing::info!(%key_id, "new sealing key");
    Ok(published(key_id, &public))
}

/// Stops a key from opening anything; answers whether there was such an unretired key.
pub fn retire(conn: &Connection, key_id: &str) -> crate::db::Result<bool> {
    let changed = conn.execute(
        "UPDATE sealing_keys SET retired_at = ?2 WHERE key_id = ?1 AND retired_at IS NULL",
        params![key_id, now_ms()],
    )?;
    Ok(changed == 1)
}

/// Opens an envelope with the private key of its key id.
pub fn open(conn: &Connection, envelope: &SealedEnvelope) -> Result<Vec<u8>, UnsealError> {
    let private: Vec<u8> = conn
        .query_row(
            "SELECT private FROM sealing_keys WHERE key_id = ?1 AND retired_at IS NULL",
            [&envelope.key_id],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(UnsealError::UnknownKey)?;
    let sealed = Sealed {
        key_id: envelope.key_id.clone(),
        enc: from_hex(&envelope.enc).ok_or(UnsealError::NotHex)?,
        ciphertext: from_hex(&envelope.ciphertext).ok_or(UnsealError::NotHex)?,
    };
    Ok(caresync_envelope::open(&private, &sealed)?)
}

fn published(key_id: String, public: &[u8]) -> SealingKey {
    SealingKey {
        key_id,
        suite: SUITE.to_owned(),
        public_key: to_hex(public),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().expect("in-memory database");
        conn.execute_batch(
            "CREATE TABLE sealing_keys (key_id TEXT PRIMARY KEY, private BLOB NOT NULL, \
             public BLOB NOT NULL, created_at INTEGER NOT NULL, retired_at INTEGER) STRICT;",
        )
        .expect("table");
        conn
    }

    fn seal_to(key: &SealingKey, plaintext: &[u8]) -> SealedEnvelope {
        let public = from_hex(&key.public_key).expect("hex");
        let sealed =
            caresync_envelope::seal(&public, &key.key_id, plaintext, &mut OsRng.unwrap_err())
                .expect("seal");
        SealedEnvelope {
            key_id: sealed.key_id,
            enc: to_hex(&sealed.enc),
            ciphertext: to_hex(&sealed.ciphertext),
        }
    }

    #[test]
    fn rotation_publishes_a_new_key_and_the_old_one_still_opens_until_retired() {
        let conn = conn();
        let first = ensure_current(&conn).expect("first key");
        assert_eq!(ensure_current(&conn).expect("kept"), first);
        let envelope = seal_to(&first, b"bed 4: clean");
        let second = rotate(&conn).expect("rotate");
        assert_ne!(second.key_id, first.key_id);
        assert_eq!(current(&conn).expect("current"), Some(second));
        assert_eq!(open(&conn, &envelope).expect("opens"), b"bed 4: clean");
        assert!(retire(&conn, &first.key_id).expect("retire"));
        assert!(matches!(
            open(&conn, &envelope),
            Err(UnsealError::UnknownKey)
        ));
    }

    #[test]
    fn junk_never_opens() {
        let conn = conn();
        let key = ensure_current(&conn).expect("key");
        let mut envelope = seal_to(&key, b"x");
        envelope.enc = "zz".into();
        assert!(matches!(open(&conn, &envelope), Err(UnsealError::NotHex)));
        let mut envelope = seal_to(&key, b"x");
        let mut bytes = from_hex(&envelope.ciphertext).expect("hex");
        bytes[0] ^= 1;
        envelope.ciphertext = to_hex(&bytes);
        assert!(matches!(
            open(&conn, &envelope),
            Err(UnsealError::Envelope(_))
        ));
    }
}
