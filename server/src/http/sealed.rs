//! `POST /api/v1/sync/sealed`: one sealed write, pushed under a replay credential. The server
//! opens the envelope, checks that it names the credential's tenant and user, and dispatches
//! the write exactly as a sync push would for that user: same dedupe (by clientMutationId),
//! same rules, same status and body. A kiosk can so deliver the last user's writes after they
//! signed out, under their authority, without anyone on it being able to read them.

use crate::db::Connection;
use axum::{
    body::Bytes,
    extract::State,
    http::{header::AUTHORIZATION, HeaderMap},
    response::Response,
};
use caresync_contract::{
    sync::{SealedEnvelope, SealedWrite},
    ErrorCode,
};

use crate::{
    auth::replay::{self, ReplayHolder},
    http::error::{parse_json, respond, HttpError, Outcome},
    http::idempotency::{self, Write},
    sealing, AppState,
};

/// The token of `Authorization: Replay <token>`; a bearer token or anything else is refused.
fn replay_token(headers: &HeaderMap) -> Result<String, HttpError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Replay "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| replay::refused().into())
}

fn unreadable(why: &str) -> HttpError {
    HttpError::new(
        422,
        ErrorCode::SealedUnreadable,
        format!("The sealed write cannot be opened: {why}."),
    )
}

#[utoipa::path(post, path = "/api/v1/sync/sealed", tag = "sync", request_body = SealedEnvelope,
    params(("Authorization" = String, Header, description = "`Replay <token>`: the replay credential issued at sign-in; a bearer token is refused")),
    responses((status = 200, description = "Inside the envelope is a SealedWrite; the answer is the one its own route gives (status and body), 2xx or the route's error"),
        (status = 401, description = "REPLAY_REFUSED: no replay credential, or an unknown, expired or revoked one", body = caresync_contract::ApiError),
        (status = 403, description = "REPLAY_REFUSED: the envelope names another tenant or user than the credential's", body = caresync_contract::ApiError),
        (status = 422, description = "SEALED_UNREADABLE: unknown key id, altered, or malformed", body = caresync_contract::ApiError)),
    security(("replay" = [])))]
pub async fn push_sealed(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = match replay_token(&headers) {
        Ok(token) => {
            let beds = state.beds.clone();
            state
                .db
                .call(move |conn| {
                    let outcome = deliver(conn, &token, &body);
                    // Committed by now: the bed changes it made go to the live stream.
                    beds.publish_committed(conn);
                    Ok(outcome)
                })
                .await
                .map_err(HttpError::from)
                .and_then(|o| o)
        }
        Err(e) => Err(e),
    };
    respond(outcome)
}

/// Credential first (a stranger learns nothing about keys or envelopes), then the envelope,
/// then the authority it claims, then the write itself.
fn deliver(conn: &mut Connection, token: &str, body: &[u8]) -> Outcome {
    let holder = replay::check(conn, token)?;
    let envelope: SealedEnvelope = parse_json(body)?;
    let write = open(conn, &envelope)?;
    if write.tenant_id != holder.caller.tenant || write.actor_id != holder.caller.user {
        tracing::warn!(user = %holder.caller.user, device = %holder.device, "sealed write names another author");
        return Err(HttpError::new(
            403,
            ErrorCode::ReplayRefused,
            "This replay credential cannot push writes of another user or tenant.",
        ));
    }
    let outcome = dispatch(conn, &holder, &write);
    let status = match &outcome {
        Ok((status, _)) => *status,
        Err(e) => e.status(),
    };
    // Counted like any request, never with its content.
    tracing::info!(user = %holder.caller.user, device = %holder.device, method = %write.method, status, "sealed write delivered");
    outcome
}

fn open(conn: &Connection, envelope: &SealedEnvelope) -> Result<SealedWrite, HttpError> {
    let plaintext = sealing::open(conn, envelope).map_err(|e| match e {
        sealing::UnsealError::Db(e) => HttpError::from(e),
        sealing::UnsealError::UnknownKey => unreadable("no sealing key has this key id"),
        other => {
            tracing::info!(err = %other, "sealed write does not open");
            unreadable("it is altered or malformed")
        }
    })?;
    serde_json::from_slice(&plaintext).map_err(|_| unreadable("its content is not a sealed write"))
}

/// As a sync push dispatches one mutation: keyed by its clientMutationId.
fn dispatch(conn: &mut Connection, holder: &ReplayHolder, write: &SealedWrite) -> Outcome {
    let caller = &holder.caller;
    let request = Write {
        method: &write.method,
        path: &write.path,
        body: &write.body,
        key: Some(&write.client_mutation_id),
    };
    idempotency::run(conn, caller, &request, |c| {
        super::routes::dispatch(c, caller, &write.method, &write.path, write.body.clone())
    })
}
