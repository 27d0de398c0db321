//! The PostgreSQL backend: a deadpool of tokio-postgres clients, the same schema in
//! PostgreSQL's dialect, and statements written once with `?N` placeholders.

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::{
    error::SqlState,
    types::{to_sql_checked, IsNull, ToSql, Type},
    NoTls,
};

use super::{DbError, Value};

/// Versioned migrations, applied in order; append only. Each matches the SQLite schema in
/// meaning (INTEGER is BIGINT, BLOB is BYTEA).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("pg/001_schema.sql")),
    (2, include_str!("pg/002_event_outbox.sql")),
];

/// Serialises migrations between instances starting at once (any fixed number will do).
const MIGRATION_LOCK: i64 = 0x6361_7265_7379_6e63;

pub(crate) fn pool(url: &str) -> Result<Pool, DbError> {
    let config: tokio_postgres::Config = url.parse()?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(16)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

pub(crate) async fn checkout(pool: &Pool) -> Result<Object, DbError> {
    pool.get().await.map_err(|e| DbError::Pool(e.to_string()))
}

pub(crate) async fn migrate(pool: &Pool) -> Result<(), DbError> {
    let mut client = checkout(pool).await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)")
        .await?;
    let done: Option<i64> = tx
        .query_one("SELECT MAX(version) FROM schema_migrations", &[])
        .await?
        .try_get(0)?;
    for (version, sql) in MIGRATIONS {
        if done.is_some_and(|d| d >= *version) {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
    }
    Ok(tx.commit().await?)
}

pub(crate) async fn schema_version(pool: &Pool) -> Result<i64, DbError> {
    let client = checkout(pool).await?;
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// A pooled client used from a blocking thread: each call waits on the runtime.
pub(crate) struct PgConn {
    client: Object,
    runtime: Handle,
}

impl PgConn {
    pub(crate) fn new(client: Object, runtime: Handle) -> Self {
        PgConn { client, runtime }
    }

    pub(crate) fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, DbError> {
        let sql = placeholders(sql);
        self.runtime.block_on(async {
            let stmt = self.client.prepare_cached(&sql).await?;
            let rows = self.client.query(&stmt, &refs(params)).await?;
            rows.iter().map(read_row).collect()
        })
    }

    pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> Result<usize, DbError> {
        let sql = placeholders(sql);
        self.runtime.block_on(async {
            let stmt = self.client.prepare_cached(&sql).await?;
            let n = self.client.execute(&stmt, &refs(params)).await?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }

    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbError> {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .map_err(DbError::from)
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// `?N` (and a bare `?`, numbered in order) becomes `$N`; quoted text is left alone.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let (mut quoted, mut next) = (false, 1);
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                out.push('$');
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    while let Some(d) = chars.next_if(char::is_ascii_digit) {
                        out.push(d);
                    }
                } else {
                    out.push_str(&next.to_string());
                    next += 1;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

fn read_row(row: &tokio_postgres::Row) -> Result<Vec<Value>, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?.map(Value::Real)
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Bytes)
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(DbError::Type {
                column: i,
                wanted: "a supported column type",
                found: ty.name().to_owned(),
            });
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(values)
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    /// PostgreSQL infers each parameter's type from the statement; a value is written as
    /// that type, so one `Value::Int` serves an INT4 `LIMIT` and a BIGINT column alike.
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => int_to_sql(*i, ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Bytes(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn int_to_sql(i: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    if *ty == Type::INT4 {
        i32::try_from(i)?.to_sql(ty, out)
    } else if *ty == Type::INT2 {
        i16::try_from(i)?.to_sql(ty, out)
    } else if *ty == Type::BOOL {
        (i != 0).to_sql(ty, out)
    } else if *ty == Type::FLOAT8 {
        (i as f64).to_sql(ty, out)
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
        i.to_string().as_str().to_sql(ty, out)
    } else if *ty == Type::INT8 {
        i.to_sql(ty, out)
    } else {
        Err(format!("an integer parameter cannot be written as {ty}").into())
    }
}

pub(crate) fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            placeholders("SELECT '?' , x FROM t WHERE a = ?1 AND b IN (?, ?) AND c = ?12"),
            "SELECT '?' , x FROM t WHERE a = $1 AND b IN ($1, $2) AND c = $12"
        );
    }
}
