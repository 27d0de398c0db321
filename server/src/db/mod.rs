//! The database: embedded SQLite by default, PostgreSQL when `CARESYNC_DATABASE_URL` names
//! one. Handlers see one [`Connection`] API for both, on the blocking pool.

mod conn;
mod pg;
mod sqlite;
mod value;

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

pub use conn::{
    Connection, OptionalExtension, Savepoint, Statement, Transaction, TransactionBehavior,
};
pub use value::{params_from_iter, FromValue, Params, Row, ToValue, Value};

/// A result whose error is [`DbError`], like `rusqlite::Result`.
pub type Result<T, E = DbError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("the database worker stopped")]
    WorkerGone,
    #[error("demo data: {0}")]
    Seed(&'static str),
    #[error("the query returned no rows")]
    NoRows,
    #[error("the row has no column {0}")]
    NoColumn(usize),
    #[error("column {column} is {found}, not {wanted}")]
    Type {
        column: usize,
        wanted: &'static str,
        found: String,
    },
    #[error("cannot encode a value: {0}")]
    Encode(String),
}

impl DbError {
    /// A UNIQUE constraint refused a write: on PostgreSQL, another instance (or connection)
    /// committed the same row first, and the write can be answered again from it.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(e) => sqlite::is_unique_violation(e),
            DbError::Postgres(e) => pg::is_unique_violation(e),
            _ => false,
        }
    }
}

/// Where the data lives: one SQLite connection behind a mutex, or a PostgreSQL pool.
#[derive(Clone)]
pub enum Db {
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(deadpool_postgres::Pool),
}

impl Db {
    /// `url` (a `postgres://` URL) picks PostgreSQL; without one, SQLite in `data_dir`.
    pub async fn open(data_dir: &Path, url: Option<&str>) -> Result<Self, DbError> {
        match url {
            Some(url) => {
                let pool = pg::pool(url)?;
                pg::migrate(&pool).await?;
                Ok(Db::Postgres(pool))
            }
            None => {
                let conn = sqlite::open(data_dir)?;
                Ok(Db::Sqlite(Arc::new(Mutex::new(Connection::sqlite(conn)))))
            }
        }
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        match self {
            Db::Sqlite(conn) => {
                let conn = conn.clone();
                tokio::task::spawn_blocking(move || {
                    // A panic while holding the lock poisons it; the connection is still sound.
                    let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    f(&mut guard)
                })
                .await
                .map_err(|_| DbError::WorkerGone)?
            }
            Db::Postgres(pool) => {
                let client = pg::checkout(pool).await?;
                let runtime = tokio::runtime::Handle::current();
                tokio::task::spawn_blocking(move || {
                    let mut conn = Connection::pg(pg::PgConn::new(client, runtime));
                    f(&mut conn)
                })
                .await
                .map_err(|_| DbError::WorkerGone)?
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.call(|c| c.query_row("SELECT 1", crate::params![], |_| Ok(())))
            .await
    }

    /// How far the schema is migrated (SQLite's `user_version`, or PostgreSQL's newest
    /// applied migration).
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        match self {
            Db::Sqlite(_) => {
                self.call(|c| c.query_row("PRAGMA user_version", crate::params![], |r| r.get(0)))
                    .await
            }
            Db::Postgres(pool) => pg::schema_version(pool).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(sqlite::migrations().validate().is_ok());
    }

    #[test]
    fn v6_gives_each_existing_refresh_token_a_family_of_its_own() {
        let mut conn = rusqlite::Connection::open_in_memory().expect("in-memory database");
        conn.pragma_update(None, "foreign_keys", "ON")
            .expect("foreign keys");
        let m = sqlite::migrations();
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
