//! The one table of queued-write routes: method, path pattern (from `caresync_contract::paths`)
//! and the domain call. The axum router, the sync push, the sealed push and the OpenAPI check
//! all read it, so a write route cannot exist in one of them and be missing from another.

use std::sync::LazyLock;

use axum::{
    extract::DefaultBodyLimit,
    routing::{on, MethodFilter},
    Router,
};
use caresync_contract::paths;

use super::{
    error::{from_value, not_found, to_json, HttpError, Outcome},
    writes,
};
use crate::{
    auth::Caller,
    db::Connection,
    domain::{audit, comms, documents, facility, reviews, sessions, virtual_care, DomainError},
    AppState,
};

/// The methods a queued write can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    Post,
    Put,
}

impl WriteMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMethod::Post => "POST",
            WriteMethod::Put => "PUT",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            WriteMethod::Post => MethodFilter::POST,
            WriteMethod::Put => MethodFilter::PUT,
        }
    }
}

/// Applies one write: the path's parameters in pattern order, then the JSON body.
type Apply = fn(&Connection, &Caller, &[&str], serde_json::Value) -> Outcome;

/// One queued-write route.
pub struct WriteRoute {
    pub method: WriteMethod,
    /// The path with `{name}` parameters, as the OpenAPI document spells it.
    pub pattern: String,
    /// A body limit above the default, for the routes that carry photos.
    body_limit: Option<usize>,
    apply: Apply,
}

impl WriteRoute {
    fn new(method: WriteMethod, pattern: String, apply: Apply) -> Self {
        WriteRoute {
            method,
            pattern,
            body_limit: None,
            apply,
        }
    }

    fn limit(self, bytes: usize) -> Self {
        WriteRoute {
            body_limit: Some(bytes),
            ..self
        }
    }

    /// The path's parameters when `path` is this route's, in pattern order.
    fn capture<'p>(&self, path: &'p str) -> Option<Vec<&'p str>> {
        let mut pattern = self.pattern.trim_start_matches('/').split('/');
        let mut segments = path.trim_start_matches('/').split('/');
        let mut params = Vec::new();
        loop {
            match (pattern.next(), segments.next()) {
                (None, None) => return Some(params),
                (Some(p), Some(s)) if p.starts_with('{') => params.push(s),
                (Some(p), Some(s)) if p == s => {}
                _ => return None,
            }
        }
    }
}

/// Every queued write the platform accepts.
pub fn write_routes() -> &'static [WriteRoute] {
    static TABLE: LazyLock<Vec<WriteRoute>> = LazyLock::new(table);
    &TABLE
}

fn table() -> Vec<WriteRoute> {
    use WriteMethod::{Post, Put};
    let session = |action| paths::session_action("{sessionId}", action);
    vec![
        WriteRoute::new(
            Post,
            paths::thread_messages("{threadId}"),
            |c, who, p, body| answer(201, comms::post_message(c, who, p[0], from_value(body)?)),
        ),
        WriteRoute::new(Post, paths::READ.into(), |c, who, _, body| {
            answer(200, comms::mark_read(c, who, from_value(body)?))
        }),
        WriteRoute::new(Post, paths::AUDIT_EVENTS.into(), |c, who, _, body| {
            answer(201, audit::record(c, who, from_value(body)?))
        }),
        WriteRoute::new(Post, paths::RENDER_JOBS.into(), |c, who, _, body| {
            answer(202, documents::create_job(c, who, from_value(body)?))
        }),
        WriteRoute::new(Post, paths::ASYNC_VISITS.into(), |c, who, _, body| {
            answer(201, virtual_care::submit_visit(c, who, from_value(body)?))
        })
        .limit(super::MAX_VISIT_BODY_BYTES),
        WriteRoute::new(Post, session("cancel"), |c, who, p, body| {
            answer(
                200,
                sessions::act(c, who, p[0], "cancel", from_value(body)?),
            )
        }),
        WriteRoute::new(Post, session("end"), |c, who, p, body| {
            answer(200, sessions::act(c, who, p[0], "end", from_value(body)?))
        }),
        WriteRoute::new(Post, session("admit"), |c, who, p, body| {
            answer(200, sessions::act(c, who, p[0], "admit", from_value(body)?))
        }),
        WriteRoute::new(Post, session("reschedule"), |c, who, p, body| {
            answer(200, sessions::reschedule(c, who, p[0], from_value(body)?))
        }),
        WriteRoute::new(Put, paths::bed_status("{bedId}"), |c, who, p, body| {
            write_bed(c, who, p[0], facility::BedField::Status, body)
        }),
        WriteRoute::new(
            Put,
            paths::bed_housekeeping("{bedId}"),
            |c, who, p, body| write_bed(c, who, p[0], facility::BedField::Housekeeping, body),
        ),
        WriteRoute::new(
            Post,
            paths::edge_review_accept("{reviewId}"),
            |c, who, p, body| answer(200, reviews::decide(c, who, p[0], true, from_value(body)?)),
        ),
        WriteRoute::new(
            Post,
            paths::edge_review_reject("{reviewId}"),
            |c, who, p, body| answer(200, reviews::decide(c, who, p[0], false, from_value(body)?)),
        ),
    ]
}

/// A domain answer as the route's status and JSON body.
fn answer<T: serde::Serialize>(status: u16, result: Result<T, DomainError>) -> Outcome {
    let value = result.map_err(HttpError::from)?;
    Ok((status, to_json(&value)?))
}

/// A bed write answers 202 when it was held for review. Only ward staff write beds, and a
/// write from anyone else is refused before its body is read.
fn write_bed(
    conn: &Connection,
    caller: &Caller,
    bed_id: &str,
    field: facility::BedField,
    body: serde_json::Value,
) -> Outcome {
    facility::ward_staff_only(caller).map_err(HttpError::from)?;
    let result = facility::write_bed(conn, caller, bed_id, field, from_value(body)?)
        .map_err(HttpError::from)?;
    let status = if facility::is_held(&result) { 202 } else { 200 };
    Ok((status, to_json(&result)?))
}

/// Applies a queued write by its method and path, whether it came per resource or queued.
pub fn dispatch(
    conn: &Connection,
    caller: &Caller,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> Outcome {
    for route in write_routes()
        .iter()
        .filter(|r| r.method.as_str() == method)
    {
        if let Some(params) = route.capture(path) {
            return (route.apply)(conn, caller, &params, body);
        }
    }
    Err(not_found(format!("No write route {method} {path}.")))
}

/// Adds the table's routes under `prefix` (where the router is nested) to `router`, each
/// served by the one per-resource write handler.
pub fn with_write_routes(mut router: Router<AppState>, prefix: &str) -> Router<AppState> {
    for route in write_routes() {
        let Some(path) = route.pattern.strip_prefix(prefix) else {
            continue;
        };
        let mut handler = on(route.method.filter(), writes::write);
        if let Some(bytes) = route.body_limit {
            handler = handler.layer(DefaultBodyLimit::max(bytes));
        }
        router = router.route(path, handler);
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::OpenApi as _;

    #[test]
    fn every_write_route_is_in_the_openapi_document() {
        let doc = super::super::openapi::ApiDoc::openapi();
        for route in write_routes() {
            let item = doc.paths.paths.get(&route.pattern);
            let documented = item.is_some_and(|item| match route.method {
                WriteMethod::Post => item.post.is_some(),
                WriteMethod::Put => item.put.is_some(),
            });
            assert!(
                documented,
                "{} {} is not documented",
                route.method.as_str(),
                route.pattern
            );
        }
    }

    #[test]
    fn a_path_matches_only_its_own_pattern() {
        fn post(path: &str) -> Vec<(&'static str, Vec<&str>)> {
            write_routes()
                .iter()
                .filter(|r| r.method == WriteMethod::Post)
                .filter_map(|r| r.capture(path).map(|p| (r.pattern.as_str(), p)))
                .collect()
        }
        assert_eq!(
            post("/api/v1/threads/t1/messages"),
            vec![("/api/v1/threads/{threadId}/messages", vec!["t1"])]
        );
        assert!(post("/api/v1/threads/t1/messages/x").is_empty());
        assert!(post("/api/v1/virtual-care/sessions/s1/pause").is_empty());
        assert_eq!(post("/internal/edge/reviews/r/reject").len(), 1);
    }
}
