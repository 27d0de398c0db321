//! Open threads for the load accounts, made before a run: 1,000 devices of four people on one
//! thread each would all queue on that thread's row (each message moves its `updated_at`),
//! which measures one row lock, not the server. Real patients spread over many conversations.

use crate::LoadError;

/// Gives each (tenant, username) `per_author` more open threads, in SQLite or PostgreSQL.
pub async fn make(
    sqlite: Option<&std::path::Path>,
    database_url: Option<&str>,
    authors: &[(&str, &str)],
    per_author: usize,
) -> Result<(), LoadError> {
    let rows = rows(authors, per_author);
    if let Some(path) = sqlite {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let tx = conn.transaction()?;
        for (id, tenant, user, subject) in &rows {
            tx.execute(
                "INSERT INTO threads (id, tenant_id, subject, status, updated_at) VALUES (?1, ?2, ?3, 'open', ?4)",
                rusqlite::params![id, tenant, subject, crate::now_ms() as i64],
            )?;
            tx.execute(
                "INSERT INTO thread_members (thread_id, user_id) \
                 SELECT ?1, id FROM users WHERE tenant_id = ?2 AND username = ?3",
                rusqlite::params![id, tenant, user],
            )?;
        }
        tx.commit()?;
    } else if let Some(url) = database_url {
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let driver = tokio::spawn(connection);
        let tx = client.transaction().await?;
        let now = crate::now_ms() as i64;
        for (id, tenant, user, subject) in &rows {
            tx.execute(
                "INSERT INTO threads (id, tenant_id, subject, status, updated_at) VALUES ($1, $2, $3, 'open', $4)",
                &[id, tenant, subject, &now],
            )
            .await?;
            tx.execute(
                "INSERT INTO thread_members (thread_id, user_id) \
                 SELECT $1, id FROM users WHERE tenant_id = $2 AND username = $3",
                &[id, tenant, user],
            )
            .await?;
        }
        tx.commit().await?;
        drop(client);
        driver
            .await
            .map_err(|e| LoadError::Stuck(e.to_string()))??;
    }
    Ok(())
}

/// (thread id, tenant, username, subject) for each new thread.
fn rows(authors: &[(&str, &str)], per_author: usize) -> Vec<(String, String, String, String)> {
    authors
        .iter()
        .flat_map(|(tenant, user)| {
            (0..per_author).map(move |n| {
                (
                    uuid::Uuid::now_v7().to_string(),
                    (*tenant).to_owned(),
                    (*user).to_owned(),
                    format!("Load thread {n}"),
                )
            })
        })
        .collect()
}
