//! An in-memory model of the platform API with the faults a real network and server produce.
//!
//! It keeps `UNIQUE (tenant, clientMutationId)`: a duplicate returns the first answer and has
//! no second effect. Every effect is logged so the invariants can be checked afterwards.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, HashSet},
    rc::Rc,
};

use caresync_sync::{
    backoff::{RandomSource, SplitMix64},
    transport::AuthError,
    Answer, AuthStep, BatchOutcome, Capabilities, ClientMutationId, Lane, Millis, Mutation,
    NetError, Transport,
};
use serde_json::json;

use crate::model_auth::{ClientAuth, ServerAuth};

/// Per-request fault probabilities, in percent.
#[derive(Clone, Copy)]
pub struct Faults {
    pub lost_request: u64,
    pub lost_response: u64,
    pub server_error: u64,
    pub too_many: u64,
    pub timeout: u64,
    pub duplicate: u64,
    /// A refresh the server rotated, whose answer never came back.
    pub lost_refresh: u64,
}

impl Faults {
    pub const NONE: Faults = Faults {
        lost_request: 0,
        lost_response: 0,
        server_error: 0,
        too_many: 0,
        timeout: 0,
        duplicate: 0,
        lost_refresh: 0,
    };
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
    pub auth: ServerAuth,
    /// Requests answered from the dedupe table instead of being applied again.
    pub dedupe_hits: u64,
    /// Batch pushes that reached the server.
    pub pushes: u64,
}

pub struct ModelServer {
    pub state: RefCell<ServerState>,
    pub client: RefCell<ClientAuth>,
    pub now: Rc<Cell<Millis>>,
    pub offline: Cell<bool>,
    pub faults: Cell<Faults>,
    /// Requests that reached the network (auth included), for pace checks.
    pub requests: Cell<u64>,
    pub batch: bool,
    pub max_batch: usize,
    rng: RefCell<SplitMix64>,
}

impl ModelServer {
    /// A server the client has signed in to before: it holds a refresh token, and (as after
    /// a reload) no access token yet.
    pub fn new(seed: u64, faults: Faults, batch: bool, now: Rc<Cell<Millis>>) -> Self {
        let mut state = ServerState::default();
        let token = state.auth.login();
        ModelServer {
            state: RefCell::new(state),
            client: RefCell::new(ClientAuth::new(token, seed)),
            now,
            offline: Cell::new(false),
            faults: Cell::new(faults),
            requests: Cell::new(0),
            batch,
            max_batch: 8,
            rng: RefCell::new(SplitMix64(seed ^ 0x5eed)),
        }
    }

    /// The client holds a usable access token, as right after signing in.
    #[allow(dead_code)] // used by the outbox tests, which share this file
    pub fn sign_in(&self) {
        let mut s = self.state.borrow_mut();
        self.client
            .borrow_mut()
            .signed_in(&mut s.auth, self.now.get());
    }

    fn on_wire(&self) {
        self.requests.set(self.requests.get() + 1);
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
        self.client.borrow_mut().admitted(&self.state.borrow().auth)
    }

    /// One request over the faulty network.
    fn deliver(&self, m: &Mutation) -> Result<Answer, NetError> {
        self.on_wire();
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
    async fn capabilities(&self) -> Result<Option<Capabilities>, NetError> {
        self.on_wire();
        if self.offline.get() {
            return Err(NetError::Offline);
        }
        if self.chance(self.faults.get().server_error) {
            // The server answered 503: it said nothing about its upload paths.
            return Ok(None);
        }
        Ok(Some(Capabilities {
            batch: self.batch,
            max_batch: self.max_batch,
        }))
    }

    async fn send(&self, m: &Mutation) -> Result<Answer, NetError> {
        self.deliver(m)
    }

    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> {
        self.on_wire();
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
        self.state.borrow_mut().pushes += 1;
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
        self.on_wire();
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

    async fn authorize(&self) -> Result<(), AuthError> {
        if self.client.borrow().gate.step(self.now.get()) == AuthStep::Refresh {
            self.on_wire();
        }
        let network = if self.offline.get() {
            Err(NetError::Offline)
        } else if self.chance(self.faults.get().lost_request) {
            Err(NetError::Network("connection reset".into()))
        } else {
            Ok(!self.chance(self.faults.get().lost_refresh))
        };
        let now = self.now.get();
        let mut server = self.state.borrow_mut();
        self.client
            .borrow_mut()
            .authorize(&mut server.auth, now, network)
    }
}
