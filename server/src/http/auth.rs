//! The auth routes and the `Caller` extractor: they parse the request, call the auth layer,
//! and answer its result (or its refusal, through `HttpError`).

use axum::{
    body::Bytes,
    extract::{FromRequestParts, State},
    http::{request::Parts, HeaderMap, StatusCode},
    Json,
};
use caresync_contract::auth::{LoginRequest, RefreshRequest, TokenResponse};

use super::error::{parse_json, HttpError};
use crate::{
    auth::{
        self,
        replay::{self, ReplayRevokeRequest},
        session, AuthError, Caller, Keys,
    },
    AppState,
};

/// The caller named by `Authorization: Bearer <access token>`.
pub fn bearer_caller(headers: &HeaderMap, keys: &Keys) -> Result<Caller, AuthError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(auth::unauthorized)?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(auth::unauthorized)?;
    keys.verify(token.trim())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        Ok(bearer_caller(&parts.headers, &state.keys)?)
    }
}

/// `POST /api/v1/auth/login`
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, responses((status = 200, body = TokenResponse), (status = 401, description = "INVALID_CREDENTIALS", body = caresync_contract::ApiError)))]
pub async fn login(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<TokenResponse>, HttpError> {
    let req: LoginRequest = parse_json(&body)?;
    Ok(Json(auth::login(&state, req).await?))
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token. Within the grace window the same
/// token always gets the same pair; after it, a second use revokes the session family.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest, responses((status = 200, body = TokenResponse), (status = 401, description = "UNAUTHORIZED, or REFRESH_TOKEN_REUSED when a spent token comes back after the grace window (the whole session family is then revoked)", body = caresync_contract::ApiError)))]
pub async fn refresh(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<TokenResponse>, HttpError> {
    let req: RefreshRequest = parse_json(&body)?;
    Ok(Json(session::refresh(&state, req).await?))
}

/// `POST /api/v1/auth/logout`: always 204, so the route cannot tell anyone whether a token
/// exists.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "The token's session family is revoked (also answered for an unknown token)"), (status = 400, body = caresync_contract::ApiError)))]
pub async fn logout(State(state): State<AppState>, body: Bytes) -> Result<StatusCode, HttpError> {
    let req: RefreshRequest = parse_json(&body)?;
    session::logout(&state, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/sessions/revoke`: "sign out everywhere".
#[utoipa::path(post, path = "/api/v1/auth/sessions/revoke", tag = "auth", responses((status = 204, description = "Every session family and replay credential of the caller is revoked"), (status = 401, body = caresync_contract::ApiError)), security(("bearer" = [])))]
pub async fn revoke_all(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, HttpError> {
    session::revoke_all(&state, caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/replay-credentials/revoke`: an empty body means every device.
#[utoipa::path(post, path = "/api/v1/auth/replay-credentials/revoke", tag = "auth",
    request_body(content = Option<ReplayRevokeRequest>, description = "Optional; without it, every device of the caller"),
    responses((status = 204, description = "Revoked"), (status = 400, body = caresync_contract::ApiError),
        (status = 401, body = caresync_contract::ApiError)),
    security(("bearer" = [])))]
pub async fn revoke_replay(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<StatusCode, HttpError> {
    let req: ReplayRevokeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRevokeRequest::default()
    } else {
        parse_json(&body)?
    };
    replay::revoke_devices(&state, caller, req).await?;
    Ok(StatusCode::NO_CONTENT)
}
