//! One connection of either backend, with the small rusqlite-like API the handlers use:
//! statements, rows, and nested transactions as savepoints.

use std::cell::Cell;

use super::{pg::PgConn, sqlite, value::Params, DbError, Row, Value};

enum Backend {
    Sqlite(rusqlite::Connection),
    Pg(PgConn),
}

/// A connection for the length of one [`Db::call`](super::Db::call).
pub struct Connection {
    backend: Backend,
    /// How many transactions and savepoints are open: the outermost is `BEGIN`, the rest
    /// are savepoints, the same on both backends.
    depth: Cell<u32>,
}

/// Which lock a transaction takes at once (SQLite only; PostgreSQL locks rows as it goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBehavior {
    Deferred,
    Immediate,
}

impl Connection {
    /// A private SQLite database in memory, for unit tests.
    pub fn open_in_memory() -> Result<Self, DbError> {
        Ok(Self::sqlite(rusqlite::Connection::open_in_memory()?))
    }

    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Self {
        Self::with(Backend::Sqlite(conn))
    }

    pub(crate) fn pg(conn: PgConn) -> Self {
        Self::with(Backend::Pg(conn))
    }

    fn with(backend: Backend) -> Self {
        Connection {
            backend,
            depth: Cell::new(0),
        }
    }

    /// No transaction is open on this connection.
    pub fn is_autocommit(&self) -> bool {
        self.depth.get() == 0
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Pg(_))
    }

    /// The rows a statement returns, each mapped by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let rows = self.rows(sql, params.into_values())?;
        rows.iter().map(|r| f(&Row::new(r))).collect()
    }

    fn rows(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Vec<Value>>, DbError> {
        match &self.backend {
            Backend::Sqlite(c) => sqlite::query(c, sql, &params),
            Backend::Pg(c) => c.query(sql, &params),
        }
    }

    /// The first row, mapped; [`DbError::NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let rows = self.rows(sql, params.into_values())?;
        let first = rows.first().ok_or(DbError::NoRows)?;
        f(&Row::new(first))
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize, DbError> {
        let params = params.into_values();
        match &self.backend {
            Backend::Sqlite(c) => sqlite::execute(c, sql, &params),
            Backend::Pg(c) => c.execute(sql, &params),
        }
    }

    /// Several statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Pg(c) => c.batch(sql),
        }
    }

    /// A statement to run later, for code written against `prepare` + `query_map`.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>, DbError> {
        Ok(Statement {
            conn: self,
            sql: sql.to_owned(),
        })
    }

    /// A transaction, or a savepoint inside one; rolled back when dropped uncommitted.
    pub fn savepoint(&self) -> Result<Savepoint<'_>, DbError> {
        self.begin(TransactionBehavior::Deferred)
    }

    pub fn transaction(&self) -> Result<Savepoint<'_>, DbError> {
        self.begin(TransactionBehavior::Deferred)
    }

    pub fn transaction_with_behavior(
        &self,
        behavior: TransactionBehavior,
    ) -> Result<Savepoint<'_>, DbError> {
        self.begin(behavior)
    }

    fn begin(&self, behavior: TransactionBehavior) -> Result<Savepoint<'_>, DbError> {
        let level = self.depth.get();
        let sql = match (level, behavior, self.is_postgres()) {
            (0, TransactionBehavior::Immediate, false) => "BEGIN IMMEDIATE".to_owned(),
            (0, _, _) => "BEGIN".to_owned(),
            (n, _, _) => format!("SAVEPOINT sp{n}"),
        };
        self.execute_batch(&sql)?;
        self.depth.set(level + 1);
        Ok(Savepoint {
            conn: self,
            level,
            open: true,
        })
    }
}

/// A prepared statement in name only: both backends cache the real one.
pub struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<std::vec::IntoIter<Result<T, DbError>>, DbError> {
        let rows = self.conn.query_map(&self.sql, params, f)?;
        Ok(rows.into_iter().map(Ok).collect::<Vec<_>>().into_iter())
    }
}

/// An open transaction (level 0) or savepoint; derefs to its connection.
pub struct Savepoint<'c> {
    conn: &'c Connection,
    level: u32,
    open: bool,
}

/// rusqlite's name for the outermost one.
pub type Transaction<'c> = Savepoint<'c>;

impl Savepoint<'_> {
    pub fn commit(mut self) -> Result<(), DbError> {
        self.open = false;
        self.conn.depth.set(self.level);
        let sql = match self.level {
            0 => "COMMIT".to_owned(),
            n => format!("RELEASE sp{n}"),
        };
        self.conn.execute_batch(&sql)
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.open = false;
        self.conn.depth.set(self.level);
        let sql = match self.level {
            0 => "ROLLBACK".to_owned(),
            n => format!("ROLLBACK TO sp{n}; RELEASE sp{n}"),
        };
        self.conn.execute_batch(&sql)
    }
}

impl std::ops::Deref for Savepoint<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(err) = self.rollback() {
                tracing::error!(%err, "could not roll back a transaction");
            }
        }
    }
}

/// `.optional()` on a single-row result, as in rusqlite.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>, DbError>;
}

impl<T> OptionalExtension<T> for Result<T, DbError> {
    fn optional(self) -> Result<Option<T>, DbError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
