//! What a load run needs that the API does not make: open threads for the load users, so
//! that devices spread over many conversations as real patients would, rather than all
//! queueing on the one row of a single thread.

use caresync_server::{db::Db, params};

use crate::{devices::USERS, LoadError};

/// Gives each load user `per_user` more open threads.
pub async fn threads(db: &Db, per_user: usize) -> Result<(), LoadError> {
    db.call(move |c| {
        let tx = c.transaction()?;
        let now = caresync_server::time::now_ms();
        for (tenant, _, user) in USERS {
            for n in 0..per_user {
                let id = uuid::Uuid::now_v7().to_string();
                tx.execute(
                    "INSERT INTO threads (id, tenant_id, subject, status, updated_at) \
                     VALUES (?1, ?2, ?3, 'open', ?4)",
                    params![id, tenant, format!("Load thread {n}"), now],
                )?;
                tx.execute(
                    "INSERT INTO thread_members (thread_id, user_id) VALUES (?1, ?2)",
                    params![id, user],
                )?;
            }
        }
        tx.commit()
    })
    .await?;
    Ok(())
}
