//! The embedded SQLite backend: the file in the data directory, its migrations, and
//! statements run through rusqlite's statement cache.

use std::path::Path;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite_migration::{Migrations, M};

use super::{DbError, Value};

/// Versioned migrations; append only. `PRAGMA user_version` records how far a file is.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up("CREATE TABLE server_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"),
        M::up(include_str!("../migrations.sql")),
        M::up(include_str!("../migrations_v3.sql")),
        M::up(include_str!("../migrations_v4.sql")),
        M::up(include_str!("../migrations_v5.sql")),
        M::up(include_str!("../migrations_v6.sql")),
        M::up(include_str!("../migrations_v7.sql")),
        M::up(include_str!("../migrations_v8.sql")),
        M::up(include_str!("../migrations_v9.sql")),
        M::up(include_str!("../migrations_v10.sql")),
        M::up(include_str!("../migrations_v11.sql")),
        M::up(include_str!("../migrations_v12.sql")),
    ])
}

/// Opens (creating) the database file in `data_dir` and brings it to the latest schema.
pub(crate) fn open(data_dir: &Path) -> Result<rusqlite::Connection, DbError> {
    std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
        path: data_dir.display().to_string(),
        source,
    })?;
    let mut conn = rusqlite::Connection::open(data_dir.join("caresync.sqlite3"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Another process (the load generator, an operator's sqlite3) may hold the lock briefly.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(256);
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

struct Param<'a>(&'a Value);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn bind(params: &[Value]) -> Vec<Param<'_>> {
    params.iter().map(Param).collect()
}

pub(crate) fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<usize, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    // A statement with RETURNING yields rows; execute would refuse it.
    if stmt.column_count() > 0 {
        let mut rows = stmt.query(rusqlite::params_from_iter(bind(params)))?;
        let mut n = 0;
        while rows.next()?.is_some() {
            n += 1;
        }
        return Ok(n);
    }
    Ok(stmt.execute(rusqlite::params_from_iter(bind(params)))?)
}

pub(crate) fn query(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(bind(params)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Int(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
            });
        }
        out.push(values);
    }
    Ok(out)
}

/// A UNIQUE or PRIMARY KEY constraint refused the write.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
