//! Fault injection for tests, present only when the server starts with `CARESYNC_TEST_FAULTS=1`.
//!
//! Rules are set on `POST /__test/faults` (loopback callers only) and cleared with `DELETE`.
//! Each rule matches a method and a path pattern (`*` matches one segment) and fires `times`
//! times: fail before commit (500), commit then drop the response (connection reset), delay,
//! or 503 with `Retry-After`.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use caresync_contract::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::http::error::{parse_json, HttpError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    FailBeforeCommit,
    DropAfterCommit,
    Delay,
    Unavailable,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub method: String,
    pub path: String,
    pub mode: Mode,
    #[serde(default = "one")]
    pub times: u32,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub retry_after_secs: u64,
    /// Fires only this fraction of the matching requests (a load test's 20 %); every one
    /// when absent. A request the draw passes over goes on to the next matching rule.
    #[serde(default)]
    pub fraction: Option<f64>,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Faults {
    fn take(&self, method: &str, path: &str) -> Option<Rule> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let at = rules.iter().position(|r| {
            r.method.eq_ignore_ascii_case(method)
                && matches(&r.path, path)
                && r.fraction.is_none_or(|f| rand::random::<f64>() < f)
        })?;
        let rule = rules[at].clone();
        // A rule is spent once it has fired `times` times.
        if rule.times <= 1 {
            rules.remove(at);
        } else {
            rules[at].times -= 1;
        }
        Some(rule)
    }
}

fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len() && p.iter().zip(&s).all(|(a, b)| *a == "*" || a == b)
}

/// Test controls answer local callers only.
pub(crate) fn loopback_only(peer: &SocketAddr) -> Result<(), HttpError> {
    if peer.ip().is_loopback() {
        Ok(())
    } else {
        Err(HttpError::new(
            403,
            ErrorCode::Forbidden,
            "Test controls are used from loopback only.",
        ))
    }
}

pub async fn add_rule(
    State(faults): State<Faults>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Result<StatusCode, HttpError> {
    loopback_only(&peer)?;
    let rule: Rule = parse_json(&body)?;
    if rule.fraction.is_some_and(|f| !(0.0..=1.0).contains(&f)) {
        return Err(HttpError::new(
            400,
            ErrorCode::InvalidBody,
            "fraction is a share of the requests, from 0 to 1.",
        ));
    }
    faults
        .rules
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(rule);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn clear(
    State(faults): State<Faults>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Vec<Rule>>, HttpError> {
    loopback_only(&peer)?;
    // Answers with the rules that had not fired yet.
    let left = std::mem::take(&mut *faults.rules.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(Json(left))
}

/// Applies the first matching rule to a request.
pub async fn inject(State(faults): State<Faults>, req: Request, next: Next) -> Response {
    let Some(rule) = faults.take(req.method().as_str(), req.uri().path()) else {
        return next.run(req).await;
    };
    tracing::warn!(?rule.mode, path = %req.uri().path(), "injecting a fault");
    match rule.mode {
        Mode::FailBeforeCommit => HttpError::new(
            500,
            ErrorCode::Internal,
            "Injected fault: failed before commit.",
        )
        .into_response(),
        Mode::Unavailable => {
            let mut r = HttpError::new(
                503,
                ErrorCode::Unavailable,
                "Injected fault: try again later.",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&rule.retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Mode::Delay => {
            tokio::time::sleep(Duration::from_millis(rule.delay_ms)).await;
            next.run(req).await
        }
        Mode::DropAfterCommit => {
            let committed = next.run(req).await;
            let (parts, _) = committed.into_parts();
            // The handler has committed; the client gets headers, then a broken body.
            let broken = futures_util::stream::once(async {
                Err::<bytes::Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected",
                ))
            });
            Response::from_parts(parts, Body::from_stream(broken))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches(
            "/api/v1/threads/*/messages",
            "/api/v1/threads/abc/messages"
        ));
        assert!(!matches(
            "/api/v1/threads/*/messages",
            "/api/v1/threads/abc/reopen"
        ));
        assert!(!matches("/api/v1/threads/*", "/api/v1/threads/a/messages"));
    }
}
