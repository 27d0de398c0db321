//! Test fixtures, present only with `CARESYNC_TEST_FAULTS=1` and from loopback: a session in
//! any state for two users of a tenant. The end-to-end suite shares one server across its
//! tests and their retries; a test that consumes a session (cancels or admits it) makes its
//! own here instead of using up the demo ones, and no API route could make a `waiting` one.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::StatusCode,
    Json,
};
use caresync_contract::virtual_care::SessionDto;
use rusqlite::{params, Connection, OptionalExtension as _};
use serde::Deserialize;

use crate::{
    api::sessions,
    error::{invalid, parse_json, HttpError},
    faults::loopback_only,
    time::{now_ms, parse_iso},
    AppState,
};

const STATES: [&str; 6] = [
    "scheduled",
    "waiting",
    "active",
    "ended",
    "cancelled",
    "failed",
];

/// `POST /__test/sessions`: usernames, not ids, as a test knows them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSession {
    pub tenant_id: String,
    pub patient: String,
    pub provider: String,
    pub status: String,
    /// RFC 3339; an hour from now if absent.
    pub scheduled_at: Option<String>,
}

/// Creates the session (version 1) and answers it as its participants see it.
pub async fn create_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionDto>), HttpError> {
    loopback_only(&peer)?;
    let req: NewSession = parse_json(&body)?;
    if !STATES.contains(&req.status.as_str()) {
        return Err(invalid(format!("status must be one of {STATES:?}")));
    }
    let at = match &req.scheduled_at {
        Some(text) => parse_iso(text).ok_or_else(|| invalid("scheduledAt must be RFC 3339"))?,
        None => now_ms() + 3600 * 1000,
    };
    let created = state
        .db
        .call(move |conn| Ok(insert(conn, &req, at)))
        .await??;
    Ok((StatusCode::CREATED, Json(created)))
}

fn insert(conn: &Connection, req: &NewSession, at: i64) -> Result<SessionDto, HttpError> {
    let patient = user_id(conn, &req.tenant_id, &req.patient, "patient")?;
    let provider = user_id(conn, &req.tenant_id, &req.provider, "provider")?;
    let id = format!("ses-test-{}", uuid::Uuid::now_v7());
    conn.execute(
        "INSERT INTO sessions (id, tenant_id, patient_id, provider_id, status, version, scheduled_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
        params![id, req.tenant_id, patient, provider, req.status, at, now_ms()],
    )?;
    sessions::session_in_tenant(conn, &req.tenant_id, &id)
}

fn user_id(
    conn: &Connection,
    tenant: &str,
    username: &str,
    role: &str,
) -> Result<String, HttpError> {
    conn.query_row(
        "SELECT id FROM users WHERE tenant_id = ?1 AND username = ?2 AND role = ?3",
        params![tenant, username, role],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| invalid(format!("no {role} {username:?} in tenant {tenant:?}")))
}
