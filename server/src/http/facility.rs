//! The facility reads at the HTTP edge: the edge snapshot and the list of held bed writes.

use axum::{
    extract::{Query, State},
    response::Response,
    Json,
};
use caresync_contract::facility::BedReviewDto;
use serde::Deserialize;

use super::{answer, error::HttpError};
use crate::{
    auth::Caller,
    domain::{facility, reviews},
    AppState,
};

#[derive(Deserialize)]
pub struct SnapshotQuery {
    #[serde(rename = "nodeId")]
    node_id: Option<String>,
}

#[utoipa::path(get, path = "/internal/edge/snapshot", tag = "facility", params(("nodeId" = Option<String>, Query, description = "Defaults to the caller's own node")), responses((status = 200, body = caresync_contract::facility::SnapshotDto), (status = 403, body = caresync_contract::ApiError), (status = 404, body = caresync_contract::ApiError)), security(("bearer" = [])))]
pub async fn snapshot(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SnapshotQuery>,
) -> Result<Response, HttpError> {
    let node = q.node_id.filter(|n| !n.is_empty());
    answer(&state, move |c| {
        facility::snapshot_of(c, &caller, node.as_deref())
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewsQuery {
    node_id: Option<String>,
}

#[utoipa::path(get, path = "/internal/edge/reviews", tag = "facility",
    params(("nodeId" = Option<String>, Query, description = "Defaults to the caller's own node")),
    responses((status = 200, description = "Open held bed writes on beds of the node and its subtree, oldest first (at most 500)", body = [BedReviewDto]),
        (status = 403, description = "FORBIDDEN: only ward managers and providers of the node", body = caresync_contract::ApiError),
        (status = 404, body = caresync_contract::ApiError)),
    security(("bearer" = [])))]
pub async fn held_reviews(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ReviewsQuery>,
) -> Result<Json<Vec<BedReviewDto>>, HttpError> {
    let reviews = state
        .db
        .call(move |c| Ok(reviews::list(c, &caller, q.node_id.as_deref())))
        .await??;
    Ok(Json(reviews))
}
