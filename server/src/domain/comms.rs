//! Communication service (seed 004): threads, append-only messages, last-writer-wins receipts.

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    params,
};
use caresync_contract::{
    comms::{
        MessageDto, PostMessage, ReadReceiptDto, ReadRequest, ThreadDto, ThreadStatus,
        MAX_MESSAGE_CHARS,
    },
    ErrorCode,
};

use serde_json::json;

use super::{
    dedupe::{self, Deduped},
    error::require_uuid,
    DomainError,
};
use crate::{
    auth::Caller,
    events::{self, Subject},
    time::{iso, now_ms, parse_iso},
};

const THREAD_COLUMNS: &str = "t.id, t.subject, t.status, t.updated_at, \
    (SELECT MAX(sent_at) FROM messages m WHERE m.thread_id = t.id), \
    (SELECT COUNT(*) FROM messages m WHERE m.thread_id = t.id AND m.sender_id != ?2 \
       AND NOT EXISTS (SELECT 1 FROM read_receipts r WHERE r.message_id = m.id AND r.user_id = ?2))";

fn thread_row(r: &Row<'_>) -> crate::db::Result<ThreadDto> {
    let status: String = r.get(2)?;
    Ok(ThreadDto {
        thread_id: r.get(0)?,
        subject: r.get(1)?,
        status: if status == "archived" {
            ThreadStatus::Archived
        } else {
            ThreadStatus::Open
        },
        updated_at: iso(r.get(3)?),
        last_message_at: r.get::<Option<i64>>(4)?.map(iso),
        unread_count: r.get(5)?,
    })
}

const MESSAGE_COLUMNS: &str = "m.id, m.thread_id, m.sender_id, u.display_name, m.body, m.sent_at, \
    m.client_mutation_id, m.client_sent_at";

fn message_row(r: &Row<'_>) -> crate::db::Result<MessageDto> {
    Ok(MessageDto {
        message_id: r.get(0)?,
        thread_id: r.get(1)?,
        sender_id: r.get(2)?,
        sender_name: r.get(3)?,
        body: r.get(4)?,
        sent_at: iso(r.get(5)?),
        client_mutation_id: r.get(6)?,
        client_sent_at: r.get(7)?,
    })
}

/// The caller's view of one thread; another tenant's or user's thread does not exist for them.
fn visible_thread(
    conn: &Connection,
    caller: &Caller,
    thread_id: &str,
) -> Result<ThreadDto, DomainError> {
    conn.query_row(
        &format!(
            "SELECT {THREAD_COLUMNS} FROM threads t JOIN thread_members tm ON tm.thread_id = t.id \
             WHERE t.id = ?1 AND tm.user_id = ?2 AND t.tenant_id = ?3"
        ),
        params![thread_id, caller.user, caller.tenant],
        thread_row,
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("No such thread."))
}

/// Just the status, for the write path (no per-thread counts).
fn thread_status(
    conn: &Connection,
    caller: &Caller,
    thread_id: &str,
) -> Result<ThreadStatus, DomainError> {
    let status: String = conn
        .query_row(
            "SELECT t.status FROM threads t JOIN thread_members tm ON tm.thread_id = t.id \
             WHERE t.id = ?1 AND tm.user_id = ?2 AND t.tenant_id = ?3",
            params![thread_id, caller.user, caller.tenant],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| DomainError::not_found("No such thread."))?;
    Ok(if status == "archived" {
        ThreadStatus::Archived
    } else {
        ThreadStatus::Open
    })
}

pub fn list_threads(conn: &Connection, caller: &Caller) -> Result<Vec<ThreadDto>, DomainError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {THREAD_COLUMNS} FROM threads t JOIN thread_members tm ON tm.thread_id = t.id \
         WHERE tm.user_id = ?2 AND t.tenant_id = ?1 ORDER BY t.updated_at DESC, t.id"
    ))?;
    let rows = stmt.query_map(params![caller.tenant, caller.user], thread_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Messages in `(sentAt, messageId)` order, optionally only those after a known message.
pub fn list_messages(
    conn: &Connection,
    caller: &Caller,
    thread_id: &str,
    after: Option<&str>,
) -> Result<Vec<MessageDto>, DomainError> {
    visible_thread(conn, caller, thread_id)?;
    let cursor: Option<(i64, String)> = match after {
        None => None,
        Some(id) => Some(
            conn.query_row(
                "SELECT sent_at, id FROM messages WHERE id = ?1 AND thread_id = ?2",
                params![id, thread_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| DomainError::invalid("`after` names no message of this thread"))?,
        ),
    };
    let (at, id) = cursor.unwrap_or((i64::MIN, String::new()));
    let mut stmt = conn.prepare(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id \
         WHERE m.thread_id = ?1 AND (m.sent_at, m.id) > (?2, ?3) ORDER BY m.sent_at, m.id"
    ))?;
    let rows = stmt.query_map(params![thread_id, at, id], message_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn message_by_mutation(
    conn: &Connection,
    caller: &Caller,
    cmid: &str,
) -> Result<Option<MessageDto>, DomainError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.sender_id \
                 WHERE m.tenant_id = ?1 AND m.client_mutation_id = ?2"
            ),
            params![caller.tenant, cmid],
            message_row,
        )
        .optional()?)
}

/// `POST /api/v1/threads/{threadId}/messages`: append-only, deduplicated by clientMutationId.
pub fn post_message(
    conn: &Connection,
    caller: &Caller,
    thread_id: &str,
    req: PostMessage,
) -> Result<MessageDto, DomainError> {
    require_uuid("clientMutationId", &req.client_mutation_id)?;
    if req.body.trim().is_empty() {
        return Err(DomainError::invalid("A message cannot be empty."));
    }
    if req.body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(DomainError::invalid(format!(
            "A message can be at most {MAX_MESSAGE_CHARS} characters."
        )));
    }
    let status = thread_status(conn, caller, thread_id)?;
    // The first submission wins; a retry gets the same message and the same status. Only
    // its sender's, though: another user's message is refused, not shown.
    if dedupe::claim(conn, caller, Deduped::Messages, &req.client_mutation_id)? {
        if let Some(existing) = message_by_mutation(conn, caller, &req.client_mutation_id)? {
            return Ok(existing);
        }
    }
    if status == ThreadStatus::Archived {
        return Err(DomainError::conflict(
            ErrorCode::ThreadArchived,
            "This conversation is archived.",
        ));
    }
    let now = now_ms();
    let id = uuid::Uuid::now_v7().to_string();
    conn.execute(
        "INSERT INTO messages (id, tenant_id, thread_id, sender_id, body, sent_at, client_mutation_id, client_sent_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, caller.tenant, thread_id, caller.user, req.body, now, req.client_mutation_id, req.client_sent_at],
    )?;
    conn.execute(
        "UPDATE threads SET updated_at = ?1 WHERE id = ?2",
        params![now, thread_id],
    )?;
    events::record(
        conn,
        &caller.tenant,
        Subject::MessageSent,
        json!({"messageId": id, "threadId": thread_id, "senderId": caller.user,
               "clientMutationId": req.client_mutation_id, "sentAt": iso(now)}),
    )?;
    message_by_mutation(conn, caller, &req.client_mutation_id)?
        .ok_or_else(|| DomainError::not_found("The message vanished after insert."))
}

/// `POST /api/v1/read`: per `(messageId, userId)` the latest `readAt` wins.
pub fn mark_read(
    conn: &Connection,
    caller: &Caller,
    req: ReadRequest,
) -> Result<Vec<ReadReceiptDto>, DomainError> {
    if let Some(id) = &req.client_mutation_id {
        require_uuid("clientMutationId", id)?;
    }
    let read_at = parse_iso(&req.read_at)
        .ok_or_else(|| DomainError::invalid("readAt must be an RFC 3339 time"))?;
    if req.message_ids.is_empty() || req.message_ids.len() > 500 {
        return Err(DomainError::invalid(
            "messageIds must name 1 to 500 messages",
        ));
    }
    req.message_ids
        .iter()
        .map(|message_id| read_one(conn, caller, message_id, read_at))
        .collect()
}

/// One receipt: the message must be visible to the caller; the later `readAt` wins.
fn read_one(
    conn: &Connection,
    caller: &Caller,
    message_id: &str,
    read_at: i64,
) -> Result<ReadReceiptDto, DomainError> {
    let visible: bool = conn
        .query_row(
            "SELECT 1 FROM messages m JOIN thread_members tm ON tm.thread_id = m.thread_id \
             WHERE m.id = ?1 AND m.tenant_id = ?2 AND tm.user_id = ?3",
            params![message_id, caller.tenant, caller.user],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if !visible {
        return Err(DomainError::not_found(format!(
            "No such message: {message_id}"
        )));
    }
    let before: Option<i64> = conn
        .query_row(
            "SELECT read_at FROM read_receipts WHERE message_id = ?1 AND user_id = ?2",
            params![message_id, caller.user],
            |r| r.get(0),
        )
        .optional()?;
    let winner: i64 = conn.query_row(
        "INSERT INTO read_receipts (message_id, user_id, read_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (message_id, user_id) DO UPDATE SET read_at = \
         CASE WHEN excluded.read_at > read_receipts.read_at THEN excluded.read_at ELSE read_receipts.read_at END \
         RETURNING read_at",
        params![message_id, caller.user, read_at],
        |r| r.get(0),
    )?;
    // Only a receipt that moved is news: a repeat or an older readAt changes nothing.
    if before.is_none_or(|at| winner > at) {
        events::record(
            conn,
            &caller.tenant,
            Subject::ReadReceiptRecorded,
            json!({"messageId": message_id, "userId": caller.user, "readAt": iso(winner)}),
        )?;
    }
    Ok(ReadReceiptDto {
        message_id: message_id.to_owned(),
        user_id: caller.user.clone(),
        read_at: iso(winner),
    })
}

/// `POST /api/v1/threads/{threadId}/reopen`: an online request; the thread is open again.
pub fn reopen(
    conn: &Connection,
    caller: &Caller,
    thread_id: &str,
) -> Result<ThreadDto, DomainError> {
    visible_thread(conn, caller, thread_id)?;
    conn.execute(
        "UPDATE threads SET status = 'open', updated_at = ?1 WHERE id = ?2",
        params![now_ms(), thread_id],
    )?;
    visible_thread(conn, caller, thread_id)
}
