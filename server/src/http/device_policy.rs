//! `GET /api/v1/config?tenantId=`: a tenant's device policy — whether its users choose the
//! device class or the tenant decides, how soon a shared device locks, and how long a rendered
//! document may stay in a device's cache. Public (the sign-in
//! screen needs it before anyone signs in) and free of PHI, so the app may keep it and
//! revalidate it (`Cache-Control: no-cache` with an `ETag`).

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use caresync_contract::auth::DeviceConfig;
use serde::Deserialize;

use crate::{
    domain::device_policy::{class_name, device_class},
    http::error::{invalid, not_found, HttpError},
    AppState,
};

#[derive(Deserialize)]
pub(super) struct ConfigQuery {
    #[serde(rename = "tenantId")]
    tenant_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/config", tag = "auth",
    params(("tenantId" = String, Query), ("If-None-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant's device policy; Cache-Control: no-cache, with an ETag", body = DeviceConfig),
        (status = 304, description = "Unchanged"),
        (status = 400, body = caresync_contract::ApiError), (status = 404, description = "No such tenant", body = caresync_contract::ApiError)))]
pub(super) async fn device_config(
    State(state): State<AppState>,
    Query(q): Query<ConfigQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let tenant = q
        .tenant_id
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| invalid("tenantId is required"))?;
    let lookup = tenant.clone();
    let class = state
        .db
        .call(move |conn| device_class(conn, &lookup))
        .await?
        .ok_or_else(|| not_found("No such tenant."))?;
    let config = DeviceConfig {
        tenant_id: tenant,
        device_class: class,
        idle_lock_seconds: state.config.idle_lock_secs,
        document_cache_ttl_seconds: state.config.doc_ttl_secs,
    };
    // Every field but the tenant (which the URL names): a changed setting is never a 304.
    let tag = format!(
        "W/\"{}-{}-{}\"",
        class_name(config.device_class),
        config.idle_lock_seconds,
        config.document_cache_ttl_seconds
    );
    Ok(super::etag::respond(&headers, tag, config))
}
