//! An in-memory model of the platform API with the faults a real network and server produce.
//!
//! It keeps `UNIQUE (tenant, clientMutationId)`: a duplicate returns the first answer and has
//! no second effect. Every effect is logged so the invariants can be checked afterwards.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, HashSet},
};

use caresync_sync::{
    backoff::{RandomSource, SplitMix64},
    transport::AuthError,
    Answer, BatchOutcome, Capabilities, ClientMutationId, Lane, Mutation, NetError, Transport,
};
use serde_json::json;

/// Per-request fault probabilities, in percent.
#[derive(Clone, Copy)]
pub struct Faults {
    pub lost_request: u64,
    pub lost_response: u64,
    pub server_error: u64,
    pub too_many: u64,
    pub timeout: u64,
    pub duplicate: u64,
}

#[derive(Clone)]
pub struct Session {
    pub status: &'static str,
    pub version: i64,
}

#[derive(Default)]
pub struct ServerState {
    /// Applied effects in arrival order: (mutation, lane).
    pub effects: Vec<(ClientMutationId, Lane)>,
    pub answers: HashMap<ClientMutationId, Answer>,
    pub archived: HashSet<String>,
    pub sessions: HashMap<String, Session>,
    pub read_at: HashMap<String, u64>,
    pub token_epoch: u64,
    /// Requests answered from the dedupe table instead of being applied again.
    pub dedupe_hits: u64,
}

pub struct ModelServer {
    pub state: RefCell<ServerState>,
    pub client_token: Cell<u64>,
    pub offline: Cell<bool>,
    pub faults: Cell<Faults>,
    pub batch: bool,
    pub max_batch: usize,
    rng: RefCell<SplitMix64>,
}

impl ModelServer {
    pub fn new(seed: u64, faults: Faults, batch: bool) -> Self {
        ModelServer {
            state: RefCell::new(ServerState::default()),
            client_token: Cell::new(0),
            offline: Cell::new(false),
            faults: Cell::new(faults),
            batch,
            max_batch: 8,
            rng: RefCell::new(SplitMix64(seed ^ 0x5eed)),
        }
    }

    fn chance(&self, percent: u64) -> bool {
        percent > 0 && self.rng.borrow_mut().up_to(99) < percent
    }

    /// The server's own handling of one write: dedupe, domain rules, effect.
    pub fn handle(&self, m: &Mutation) -> Answer {
        let mut s = self.state.borrow_mut();
        if let Some(first) = s.answers.get(&m.id).cloned() {
            s.dedupe_hits += 1;
            return first;
        }
        let path = m.request.path.as_str();
        let answer = if let Some(thread) = path
            .strip_prefix("/threads/")
            .and_then(|p| p.strip_suffix("/messages"))
        {
            if s.archived.contains(thread) {
                // A refusal is not an effect and is not remembered: after a reopen it succeeds.
                return Answer::new(
                    409,
                    json!({"statusCode": 409, "code": "THREAD_ARCHIVED", "message": "This conversation is archived."}),
                );
            }
            Answer::new(
                201,
                json!({"messageId": format!("m-{}", s.effects.len()), "sentAt": s.effects.len()}),
            )
        } else if path == "/read" {
            let msg = m.request.body["messageIds"][0]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let at = m.request.body["readAt"].as_u64().unwrap_or(0);
            let slot = s.read_at.entry(msg).or_insert(0);
            *slot = (*slot).max(at);
            Answer::new(200, json!([{"readAt": *slot}]))
        } else if let Some(id) = path
            .strip_prefix("/sessions/")
            .and_then(|p| p.strip_suffix("/cancel"))
        {
            let version = m.request.body["version"].as_i64().unwrap_or(-1);
            let Some(session) = s.sessions.get_mut(id) else {
                return Answer::new(
                    404,
                    json!({"statusCode": 404, "code": "NOT_FOUND", "message": "no session"}),
                );
            };
            if session.version != version {
                return Answer::new(
                    409,
                    json!({"statusCode": 409, "code": "OPTIMISTIC_LOCK_CONFLICT", "currentVersion": session.version}),
                );
            }
            if !matches!(session.status, "scheduled" | "waiting") {
                return Answer::new(
                    409,
                    json!({"statusCode": 409, "code": "ILLEGAL_TRANSITION", "message": "not cancellable"}),
                );
            }
            session.status = "cancelled";
            session.version += 1;
            Answer::new(
                200,
                json!({"status": "cancelled", "version": session.version}),
            )
        } else {
            return Answer::new(
                404,
                json!({"statusCode": 404, "code": "NOT_FOUND", "message": path}),
            );
        };
        s.effects.push((m.id, m.lane.clone()));
        s.answers.insert(m.id, answer.clone());
        answer
    }

    fn authorised(&self) -> bool {
        self.client_token.get() >= self.state.borrow().token_epoch
    }

    /// One request over the faulty network.
    fn deliver(&self, m: &Mutation) -> Result<Answer, NetError> {
        if self.offline.get() {
            return Err(NetError::Offline);
        }
        let f = self.faults.get();
        if self.chance(f.lost_request) {
            return Err(NetError::Network("connection reset".into()));
        }
        if self.chance(f.server_error) {
            return Ok(Answer::new(
                503,
                json!({"statusCode": 503, "code": "UNAVAILABLE", "message": "busy"}),
            ));
        }
        if self.chance(f.too_many) {
            let mut a = Answer::new(
                429,
                json!({"statusCode": 429, "code": "RATE_LIMITED", "message": "slow down"}),
            );
            a.retry_after_ms = Some(2_000);
            return Ok(a);
        }
        if !self.authorised() {
            return Ok(Answer::new(
                401,
                json!({"statusCode": 401, "code": "UNAUTHORIZED", "message": "expired"}),
            ));
        }
        let answer = self.handle(m);
        if self.chance(f.duplicate) {
            // The network delivered the request twice; the server must not apply it twice.
            let again = self.handle(m);
            assert_eq!(
                again.status, answer.status,
                "a duplicate must get the first answer"
            );
        }
        if self.chance(f.lost_response) {
            return Err(NetError::Network("response lost after commit".into()));
        }
        if self.chance(f.timeout) {
            return Err(NetError::Timeout);
        }
        Ok(answer)
    }
}

impl Transport for ModelServer {
    async fn capabilities(&self) -> Result<Capabilities, NetError> {
        if self.offline.get() {
            return Err(NetError::Offline);
        }
        Ok(Capabilities {
            batch: self.batch,
            max_batch: self.max_batch,
        })
    }

    async fn send(&self, m: &Mutation) -> Result<Answer, NetError> {
        self.deliver(m)
    }

    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> {
        if self.offline.get() {
            return Err(NetError::Offline);
        }
        let f = self.faults.get();
        if self.chance(f.lost_request) {
            return Err(NetError::Network("connection reset".into()));
        }
        if !self.authorised() {
            let a = Answer::new(
                401,
                json!({"statusCode": 401, "code": "UNAUTHORIZED", "message": "expired"}),
            );
            return Ok(batch
                .iter()
                .map(|_| BatchOutcome::Answer(a.clone()))
                .collect());
        }
        let mut failed: HashSet<&Lane> = HashSet::new();
        let mut out = Vec::with_capacity(batch.len());
        for m in batch {
            if failed.contains(&m.lane) {
                out.push(BatchOutcome::Skipped);
                continue;
            }
            let a = self.handle(m);
            if !(200..300).contains(&a.status) {
                failed.insert(&m.lane);
            }
            out.push(BatchOutcome::Answer(a));
        }
        if self.chance(f.lost_response) || self.chance(f.timeout) {
            return Err(NetError::Timeout);
        }
        Ok(out)
    }

    async fn fetch(&self, path: &str) -> Result<Answer, NetError> {
        if self.offline.get() {
            return Err(NetError::Offline);
        }
        if self.chance(self.faults.get().lost_request) {
            return Err(NetError::Timeout);
        }
        let s = self.state.borrow();
        let id = path.trim_start_matches("/sessions/");
        Ok(match s.sessions.get(id) {
            Some(session) => Answer::new(
                200,
                json!({"status": session.status, "version": session.version}),
            ),
            None => Answer::new(
                404,
                json!({"statusCode": 404, "code": "NOT_FOUND", "message": "no session"}),
            ),
        })
    }

    async fn refresh_auth(&self) -> Result<(), AuthError> {
        if self.offline.get() {
            return Err(AuthError::Net(NetError::Offline));
        }
        self.client_token.set(self.state.borrow().token_epoch);
        Ok(())
    }
}
