//! `POST /api/v1/sync/push`: a batch of queued writes, each dispatched exactly as its own route
//! would be, in order. Once a lane's write fails, its later writes in the batch are not applied
//! and say so (424 `LANE_BLOCKED`), so lane order holds.

use std::collections::HashSet;

use axum::{body::Bytes, extract::State, Json};
use caresync_contract::{
    sync::{
        SyncCapabilities, SyncMutation, SyncPushRequest, SyncPushResponse, SyncResult, MAX_BATCH,
        SKIPPED_STATUS,
    },
    ErrorCode,
};

use crate::{
    auth::Caller,
    db::{Connection, DbError},
    http::error::{parse_json, HttpError},
    http::idempotency::{self, Write},
    AppState,
};

/// Also publishes the current sealing key: devices seal to it, and keep what they sealed to
/// an older key (it still opens until that key is retired).
#[utoipa::path(get, path = "/api/v1/sync/capabilities", tag = "sync", responses((status = 200, body = SyncCapabilities)), security(("bearer" = [])))]
pub async fn capabilities(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<SyncCapabilities>, HttpError> {
    let sealing = state.db.call(|conn| crate::sealing::current(conn)).await?;
    Ok(Json(SyncCapabilities {
        batch: true,
        max_batch: MAX_BATCH,
        push_path: caresync_contract::paths::SYNC_PUSH.to_owned(),
        sealing,
    }))
}

#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync", request_body = SyncPushRequest, responses((status = 200, description = "One result per mutation, in order; 424 LANE_BLOCKED after a failure in the same lane", body = SyncPushResponse), (status = 413, description = "BATCH_TOO_LARGE", body = caresync_contract::ApiError)), security(("bearer" = [])))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<SyncPushResponse>, HttpError> {
    let req: SyncPushRequest = parse_json(&body)?;
    if req.mutations.len() > MAX_BATCH {
        return Err(HttpError::new(
            413,
            ErrorCode::BatchTooLarge,
            format!(
                "A push carries at most {MAX_BATCH} mutations; this one has {}.",
                req.mutations.len()
            ),
        ));
    }
    let beds = state.beds.clone();
    let results = state
        .db
        .call(move |conn| {
            let results = apply(conn, &caller, req.mutations)?;
            // The batch's bed changes have committed: to the live stream with them.
            beds.publish_committed(conn);
            Ok(results)
        })
        .await?;
    Ok(Json(SyncPushResponse { results }))
}

/// One transaction for the batch (one disk sync), one savepoint per write, in order.
fn apply(
    conn: &mut Connection,
    caller: &Caller,
    mutations: Vec<SyncMutation>,
) -> Result<Vec<SyncResult>, DbError> {
    let mut tx = conn.transaction()?;
    let mut blocked: HashSet<String> = HashSet::new();
    let mut results = Vec::with_capacity(mutations.len());
    for m in mutations {
        if blocked.contains(&m.lane) {
            let skipped = HttpError::new(
                SKIPPED_STATUS,
                ErrorCode::LaneBlocked,
                "Not applied: an earlier write of this lane did not succeed.",
            );
            results.push(SyncResult {
                client_mutation_id: m.client_mutation_id,
                status: SKIPPED_STATUS,
                body: skipped.body(),
            });
            continue;
        }
        let write = Write {
            method: &m.method,
            path: &m.path,
            body: &m.body,
            key: Some(&m.client_mutation_id),
        };
        let outcome = idempotency::run_nested(&mut tx, caller, &write, |c| {
            super::routes::dispatch(c, caller, &m.method, &m.path, m.body.clone())
        });
        let (status, body) = outcome.unwrap_or_else(|e| (e.status(), e.body()));
        if !(200..300).contains(&status) {
            blocked.insert(m.lane.clone());
        }
        results.push(SyncResult {
            client_mutation_id: m.client_mutation_id,
            status,
            body,
        });
    }
    tx.commit()?;
    Ok(results)
}
