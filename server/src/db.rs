//! The SQLite database: opened in the data directory, migrated to the current schema.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the database worker stopped")]
    WorkerGone,
    #[error("demo data: {0}")]
    Seed(&'static str),
}

/// Versioned migrations; append only. `PRAGMA user_version` records how far a file is.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up("CREATE TABLE server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"),
        M::up(include_str!("migrations.sql")),
        M::up(include_str!("migrations_v3.sql")),
        M::up(include_str!("migrations_v4.sql")),
        M::up(include_str!("migrations_v5.sql")),
        M::up(include_str!("migrations_v6.sql")),
        M::up(include_str!("migrations_v7.sql")),
        M::up(include_str!("migrations_v8.sql")),
        M::up(include_str!("migrations_v9.sql")),
        M::up(include_str!("migrations_v10.sql")),
        M::up(include_str!("migrations_v11.sql")),
    ])
}

/// One connection behind a mutex; every call runs on the blocking pool.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(data_dir: &Path) -> Result<Self, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let mut conn = Connection::open(data_dir.join("caresync.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrations().to_latest(&mut conn)?;
        crate::seed::ensure_demo_data(&mut conn)?;
        crate::seed::ensure_facility_demo(&mut conn)?;
        crate::seed::ensure_ward_staff_demo(&mut conn)?;
        crate::seed::ensure_sessions_demo(&mut conn)?;
        crate::seed::ensure_templates_demo(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still sound.
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|_| DbError::WorkerGone)?
    }

    /// Runs `f` on the calling thread: for start-up work before the server takes requests.
    pub fn blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut guard = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    pub async fn schema_version(&self) -> Result<i64, DbError> {
        self.call(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }

    #[test]
    fn v6_gives_each_existing_refresh_token_a_family_of_its_own() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        conn.pragma_update(None, "foreign_keys", "ON")
            .expect("foreign keys");
        let m = migrations();
        m.to_version(&mut conn, 5).expect("migrate to v5");
        conn.execute_batch(
            "INSERT INTO tenants (id, name) VALUES ('t', 'T');
             INSERT INTO users (id, tenant_id, username, display_name, role, password_hash)
                 VALUES ('u', 't', 'u', 'U', 'patient', 'x');
             INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES ('h1', 'u', 99);",
        )
        .expect("a v5 session");
        m.to_latest(&mut conn).expect("migrate to v6");
        let row: (String, String, i64, Option<i64>, Option<i64>) = conn
            .query_row(
                "SELECT user_id, family_id, expires_at, rotated_at, revoked_at \
                 FROM refresh_tokens WHERE token_hash = 'h1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .expect("the token survives");
        assert_eq!(row, ("u".into(), "h1".into(), 99, None, None));
    }
}
