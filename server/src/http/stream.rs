//! The live ward board: Server-Sent Events of committed bed changes for a node and its subtree
//! (clients never talk to the broker, spine §6). Opened with a bearer token, or with a
//! single-use stream ticket, since a browser's EventSource cannot send a header and an access
//! token must never sit in a URL.
//!
//! Events: first `ready` (or `reset`: the gap since the client's last event cannot be
//! replayed, pull the snapshot again), then `bed` per change, each with its change sequence as
//! `id:`, and a `: keep-alive` comment every 15 s. A stream lasts no longer than an access
//! token; the client then opens a new one with a new ticket and `lastEventId=`.

use std::{
    collections::{HashSet, VecDeque},
    convert::Infallible,
    sync::Arc,
    time::Duration,
};

use crate::db::Connection;
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use caresync_contract::facility::{
    BedChangeEvent, StreamMark, StreamTicket, STREAM_KEEP_ALIVE_SECONDS,
};
use serde::Deserialize;
use tokio::{
    sync::broadcast::{error::RecvError, Receiver},
    time::Instant,
};

use crate::domain::{facility, registry};
use crate::{
    auth::{ticket, Caller},
    db::Db,
    domain::live::{self, Change},
    http::error::{not_found, HttpError},
    AppState,
};

/// The most changes a resuming stream replays; past that, the client pulls the snapshot.
const MAX_REPLAY: i64 = 1000;
/// How soon a browser reconnects a dropped stream.
const RETRY: Duration = Duration::from_secs(3);

#[utoipa::path(post, path = "/internal/edge/stream-ticket", tag = "facility",
    responses((status = 200, description = "Opens one live stream, once, within 60 s", body = StreamTicket),
        (status = 401, body = caresync_contract::ApiError), (status = 403, description = "Patients", body = caresync_contract::ApiError)),
    security(("bearer" = [])))]
pub async fn ticket(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<StreamTicket>, HttpError> {
    ticket::staff_only(&caller)?;
    let ticket = state
        .db
        .call(move |c| Ok(ticket::issue(c, &caller)))
        .await??;
    Ok(Json(ticket))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamQuery {
    node_id: Option<String>,
    ticket: Option<String>,
    /// For a stream opened anew (EventSource sends `Last-Event-ID` only on its own reconnects).
    last_event_id: Option<String>,
}

#[utoipa::path(get, path = "/internal/edge/stream", tag = "facility",
    params(("nodeId" = Option<String>, Query, description = "Defaults to the caller's own node"),
        ("ticket" = Option<String>, Query, description = "A stream ticket, instead of the Authorization header"),
        ("lastEventId" = Option<String>, Query, description = "Resume after this change; the Last-Event-ID header wins"),
        ("Last-Event-ID" = Option<String>, Header)),
    responses((status = 200, description = "text/event-stream: `ready` or `reset` (StreamMark), then `bed` events (BedChangeEvent) with `id:` the change sequence; `: keep-alive` every 15 s", content_type = "text/event-stream", body = BedChangeEvent),
        (status = 401, description = "No bearer token, or a bad, used or expired ticket", body = caresync_contract::ApiError),
        (status = 403, body = caresync_contract::ApiError), (status = 404, body = caresync_contract::ApiError)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<StreamQuery>,
) -> Result<Response, HttpError> {
    let caller = match q.ticket {
        Some(given) => {
            state
                .db
                .call(move |c| Ok(ticket::redeem(c, &given)))
                .await??
        }
        None => super::auth::bearer_caller(&headers, &state.keys)?,
    };
    ticket::staff_only(&caller)?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.last_event_id);
    // Subscribed before reading where to start, so nothing committing in between is missed;
    // what both would deliver is sent once, by sequence.
    let rx = state.beds.subscribe();
    let tenant = caller.tenant.clone();
    let node = q.node_id;
    let opening = state
        .db
        .call(move |c| Ok(open(c, &caller, node, resume)))
        .await??;
    let live = Live {
        rx,
        db: state.db.clone(),
        tenant,
        node: opening.node,
        nodes: opening.nodes,
        sent: opening.sent,
        queue: opening.events.into(),
        until: Instant::now() + Duration::from_secs(state.keys.access_ttl_secs),
    };
    let events = futures_util::stream::unfold(live, Live::next);
    let keep_alive = KeepAlive::new()
        .interval(Duration::from_secs(STREAM_KEEP_ALIVE_SECONDS))
        .text("keep-alive");
    Ok(Sse::new(events).keep_alive(keep_alive).into_response())
}

/// Where a stream starts: its node's subtree, the events to send first, the last sequence
/// they cover.
struct Opening {
    node: String,
    nodes: HashSet<String>,
    events: Vec<Event>,
    sent: i64,
}

fn open(
    conn: &Connection,
    caller: &Caller,
    node: Option<String>,
    resume: Option<String>,
) -> Result<Opening, HttpError> {
    let node = match node.filter(|n| !n.is_empty()) {
        Some(n) => n,
        None => facility::home_node(conn, caller)?,
    };
    let nodes: HashSet<String> = registry::subtree(conn, &caller.tenant, &node)?
        .into_iter()
        .collect();
    if nodes.is_empty() {
        return Err(not_found("No such facility node."));
    }
    let latest = live::latest(conn)?;
    let mark = |seq: i64, reason: Option<&str>| StreamMark {
        node_id: node.clone(),
        seq,
        reason: reason.map(str::to_owned),
    };
    let mut events = Vec::new();
    match resume.map(|text| text.trim().parse::<i64>()) {
        None => events.extend(mark_event("ready", &mark(latest, None))),
        Some(Ok(after)) if (0..=latest).contains(&after) => {
            let missed = live::since(conn, &caller.tenant, after, MAX_REPLAY + 1)?;
            if missed.len() as i64 > MAX_REPLAY {
                let why = "More changes were missed than the stream replays.";
                events.extend(mark_event("reset", &mark(latest, Some(why))));
            } else {
                events.extend(mark_event("ready", &mark(after, None)));
                let ours = missed.iter().filter(|e| nodes.contains(&e.node_id));
                events.extend(ours.filter_map(bed_event));
            }
        }
        Some(_) => {
            let why = "The last event id is not one this server gave.";
            events.extend(mark_event("reset", &mark(latest, Some(why))));
        }
    }
    Ok(Opening {
        node,
        nodes,
        events,
        // Every change of the tenant up to `latest` is in `events` or not for this node.
        sent: latest,
    })
}

fn bed_event(change: &BedChangeEvent) -> Option<Event> {
    let event = Event::default().event("bed").id(change.seq.to_string());
    event
        .json_data(change)
        .map_err(|err| tracing::error!(%err, "could not encode a bed change"))
        .ok()
}

fn mark_event(kind: &str, mark: &StreamMark) -> Option<Event> {
    let event = Event::default()
        .event(kind)
        .id(mark.seq.to_string())
        .retry(RETRY);
    event
        .json_data(mark)
        .map_err(|err| tracing::error!(%err, "could not encode a stream mark"))
        .ok()
}

/// One open stream.
struct Live {
    rx: Receiver<Arc<Change>>,
    db: Db,
    tenant: String,
    node: String,
    nodes: HashSet<String>,
    /// The last sequence sent or passed over.
    sent: i64,
    queue: VecDeque<Event>,
    until: Instant,
}

impl Live {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some((Ok(event), self));
            }
            let received = tokio::select! {
                received = self.rx.recv() => received,
                () = tokio::time::sleep_until(self.until) => return None,
            };
            match received {
                Ok(change) => self.take(&change.tenant, &change.event),
                Err(RecvError::Lagged(_)) => {
                    if !self.catch_up().await {
                        return None;
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    fn take(&mut self, tenant: &str, change: &BedChangeEvent) {
        if change.seq <= self.sent {
            return;
        }
        self.sent = change.seq;
        if tenant == self.tenant && self.nodes.contains(&change.node_id) {
            self.queue.extend(bed_event(change));
        }
    }

    /// Fell behind the channel: reads what it missed from the table, or, past what a stream
    /// replays, tells the client to pull the snapshot. False if the stream must end.
    async fn catch_up(&mut self) -> bool {
        let (tenant, after) = (self.tenant.clone(), self.sent);
        let read = self
            .db
            .call(move |c| {
                Ok((
                    live::since(c, &tenant, after, MAX_REPLAY + 1)?,
                    live::latest(c)?,
                ))
            })
            .await;
        let (missed, latest) = match read {
            Ok(read) => read,
            Err(err) => {
                // The client reconnects with its last event id and resumes from the table.
                tracing::warn!(%err, "a live stream could not catch up; closing it");
                return false;
            }
        };
        if missed.len() as i64 > MAX_REPLAY {
            let mark = StreamMark {
                node_id: self.node.clone(),
                seq: latest,
                reason: Some("More changes were missed than the stream replays.".into()),
            };
            self.queue.extend(mark_event("reset", &mark));
        } else {
            let tenant = self.tenant.clone();
            for change in &missed {
                self.take(&tenant, change);
            }
        }
        self.sent = self.sent.max(latest);
        true
    }
}
