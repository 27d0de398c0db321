//! Test fixtures, present only with `CARESYNC_TEST_FAULTS=1` and from loopback: a session in
//! any state for two users of a tenant. The end-to-end suite shares one server across its
//! tests and their retries; a test that consumes a session (cancels or admits it) makes its
//! own here instead of using up the demo ones, and no API route could make a `waiting` one.
//! Also a demo bed deleted and restored: no API route changes the registry, and a test makes
//! a bed disappear while a tablet is offline.

use std::net::SocketAddr;

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::StatusCode,
    Json,
};
use caresync_contract::{facility::BedDto, virtual_care::SessionDto};
use serde::Deserialize;

use crate::{
    domain::{facility, sessions},
    http::error::{invalid, not_found, parse_json, HttpError},
    http::faults::loopback_only,
    seed,
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
    Ok(sessions::session_in_tenant(conn, &req.tenant_id, &id)?)
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

/// `DELETE /__test/beds/{bedId}`: the bed leaves the registry (its history stays), so a write
/// naming it meets `409 STALE_REFERENCE`. 204, or 404 if there is no such bed.
pub async fn delete_bed(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(bed_id): Path<String>,
) -> Result<StatusCode, HttpError> {
    loopback_only(&peer)?;
    let deleted = state
        .db
        .call(move |conn| conn.execute("DELETE FROM beds WHERE id = ?1", params![bed_id]))
        .await?;
    if deleted == 0 {
        return Err(not_found("No such bed."));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /__test/beds/{bedId}/restore`: a demo bed back as first seeded (available, clean,
/// stamped two hours ago): 201 with it, or 200 with the bed as it stands if it is there.
pub async fn restore_bed(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(bed_id): Path<String>,
) -> Result<(StatusCode, Json<BedDto>), HttpError> {
    loopback_only(&peer)?;
    let demo = seed::DEMO_BEDS
        .iter()
        .find(|(id, _, _)| *id == bed_id)
        .ok_or_else(|| not_found("No demo bed has this id."))?;
    state
        .db
        .call(move |conn| Ok(restore(conn, demo)))
        .await?
        .map(|(status, bed)| (status, Json(bed)))
}

fn restore(conn: &Connection, demo: &seed::DemoBed) -> Result<(StatusCode, BedDto), HttpError> {
    if let Some(bed) = facility::bed(conn, seed::FACILITY_TENANT, demo.0)? {
        return Ok((StatusCode::OK, bed));
    }
    seed::insert_demo_bed(conn, demo, now_ms())?;
    let bed = facility::bed(conn, seed::FACILITY_TENANT, demo.0)?
        .ok_or_else(|| not_found("No such bed."))?;
    Ok((StatusCode::CREATED, bed))
}
