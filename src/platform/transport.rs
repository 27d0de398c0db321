//! The outbox's transport over `fetch` (gloo-net): per-resource REST or the batch endpoint.
//!
//! Every write carries `Idempotency-Key: {clientMutationId}` and the current bearer token,
//! added here at send time: the stored request never holds a token, so a refresh simply
//! rebuilds the headers. The token itself is kept by [`super::auth`].

use std::cell::{Cell, RefCell};

use caresync_contract::paths;
use caresync_sync::{
    backoff::SplitMix64,
    transport::{push_outcomes, push_request, AuthError},
    Answer, AuthGate, BatchOutcome, Capabilities, Millis, Mutation, NetError, Transport,
};
use gloo_net::http::{Method, RequestBuilder, Response};

pub use super::auth::{Reach, SessionHooks, Tokens};

/// How long one request may take before it is abandoned (and retried later).
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;

/// Why an online call (not queued) got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// The replay credentials this device holds, by author (tenant, user): what sealed writes
/// go out under when their author is gone.
pub type ReplayBook = std::rc::Rc<RefCell<std::collections::HashMap<(String, String), String>>>;

pub struct FetchTransport {
    base: String,
    /// Set for the device's sealed outbox: every write goes out under its author's replay
    /// credential instead of a session's bearer token.
    replay: Option<ReplayBook>,
    pub(super) tokens: RefCell<Option<Tokens>>,
    pub(super) gate: RefCell<AuthGate>,
    /// One refresh at a time: later callers wait their turn and then find the new token.
    pub(super) turn: futures::lock::Mutex<()>,
    pub(super) rng: RefCell<SplitMix64>,
    pub(super) hooks: RefCell<SessionHooks>,
    timeout_ms: u32,
    /// Requests put on the wire, for observability and the one-replayer test.
    sent: Cell<usize>,
}

pub fn now_ms() -> Millis {
    js_sys::Date::now() as Millis
}

impl FetchTransport {
    /// `base` is the API origin; empty means this page's origin. Tokens without an access
    /// token (after a reload) make the first request refresh first.
    pub fn new(base: impl Into<String>, tokens: Option<Tokens>) -> Self {
        let mut gate = AuthGate::default();
        if let Some(t) = tokens.as_ref().filter(|t| !t.access.is_empty()) {
            gate.accepted(now_ms(), t.expires_in_ms);
        }
        FetchTransport {
            base: base.into(),
            replay: None,
            tokens: RefCell::new(tokens),
            gate: RefCell::new(gate),
            turn: futures::lock::Mutex::new(()),
            rng: RefCell::new(SplitMix64(
                (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64,
            )),
            hooks: RefCell::new(SessionHooks::default()),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            sent: Cell::new(0),
        }
    }

    /// The transport of the device's sealed outbox: no session, no reads, no batches; each
    /// write under its author's replay credential from `book`.
    pub fn for_sealed(base: impl Into<String>, book: ReplayBook) -> Self {
        let mut transport = Self::new(base, None);
        transport.replay = Some(book);
        transport
    }

    /// A sealed write under its author's credential. A refused credential (401) is final for
    /// the write, not a token to refresh: it is answered as 403, so the write is parked with
    /// the server's reason until its author signs in here again.
    async fn send_sealed(&self, book: &ReplayBook, m: &Mutation) -> Result<Answer, NetError> {
        let author = (m.tenant.clone(), m.actor.clone());
        let Some(token) = book.borrow().get(&author).cloned() else {
            return Ok(Answer::new(
                403,
                serde_json::json!({"code": "REPLAY_REFUSED", "message": "This device holds no credential for the author of this change; it waits for them to sign in here again."}),
            ));
        };
        let builder = self
            .builder(method(&m.request.method), &m.request.path)
            .header("Authorization", &format!("Replay {token}"))
            .header("Idempotency-Key", &m.id.to_string());
        let mut answer = self.call(builder, Some(m.request.body.to_string())).await?;
        if answer.status == 401 {
            answer.status = 403;
        }
        // Only what the engine decides on is kept: the server's answer may quote the write (a
        // message) or the current record (a conflict), and this device must not hold either.
        answer.body = match answer.body.get("code") {
            Some(code) => serde_json::json!({ "code": code }),
            None => serde_json::json!({}),
        };
        Ok(answer)
    }

    /// GET with the session's token, refreshing it first if need be, and once more on a 401.
    pub async fn get(&self, path: &str) -> Result<Answer, CallError> {
        self.authed(|| self.builder(Method::GET, path), None).await
    }

    /// GET revalidating what the device holds: `304` with no body when `etag` still matches.
    pub async fn get_if_none_match(
        &self,
        path: &str,
        etag: Option<&str>,
    ) -> Result<Answer, CallError> {
        let build = || match etag {
            Some(tag) => self.builder(Method::GET, path).header("If-None-Match", tag),
            None => self.builder(Method::GET, path),
        };
        self.authed(build, None).await
    }

    /// The bytes at a signed link (it carries its own authority, so no token goes with it):
    /// its status and body.
    pub async fn get_bytes(&self, url: &str) -> Result<(u16, Vec<u8>), NetError> {
        let builder = RequestBuilder::new(url).method(Method::GET);
        self.exchange(builder, None, |response| async move {
            let status = response.status();
            let bytes = response
                .binary()
                .await
                .map_err(|e| NetError::Network(format!("the answer was lost: {e}")))?;
            Ok((status, bytes))
        })
        .await
    }

    /// An online action (not queued), with the same token handling.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, CallError> {
        self.authed(|| self.builder(Method::POST, path), Some(body.to_string()))
            .await
    }

    async fn authed(
        &self,
        build: impl Fn() -> RequestBuilder,
        body: Option<String>,
    ) -> Result<Answer, CallError> {
        self.authorize().await?;
        let answer = self.call_authed(build(), body.clone()).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        self.authorize().await?;
        Ok(self.call_authed(build(), body).await?)
    }

    pub fn requests_sent(&self) -> usize {
        self.sent.get()
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn builder(&self, method: Method, path: &str) -> RequestBuilder {
        RequestBuilder::new(&self.url(path)).method(method)
    }

    /// Sends with the current access token; a 401 marks that token (not a newer one) unusable.
    async fn call_authed(
        &self,
        builder: RequestBuilder,
        body: Option<String>,
    ) -> Result<Answer, NetError> {
        let generation = self.gate.borrow().generation();
        let access = self.tokens.borrow().as_ref().map(|t| t.access.clone());
        let builder = match access.filter(|a| !a.is_empty()) {
            Some(a) => builder.header("Authorization", &format!("Bearer {a}")),
            None => builder,
        };
        let answer = self.call(builder, body).await?;
        if answer.status == 401 {
            self.gate.borrow_mut().rejected(generation);
        }
        Ok(answer)
    }

    /// Sends with a timeout; a body that cannot be read counts as no answer at all.
    pub(super) async fn call(
        &self,
        builder: RequestBuilder,
        body: Option<String>,
    ) -> Result<Answer, NetError> {
        self.exchange(builder, body, read).await
    }

    /// One request on the wire with a timeout that also covers reading the body with `read`;
    /// what it says about reaching the server is observed.
    async fn exchange<T, F, Fut>(
        &self,
        builder: RequestBuilder,
        body: Option<String>,
        read: F,
    ) -> Result<T, NetError>
    where
        F: FnOnce(Response) -> Fut,
        Fut: std::future::Future<Output = Result<T, NetError>>,
    {
        // While the browser says it is offline, nothing goes out: not a read, not a probe.
        if !super::online::navigator_online() {
            self.observe(Err(&NetError::Offline));
            return Err(NetError::Offline);
        }
        let controller = web_sys::AbortController::new()
            .map_err(|_| NetError::Network("no AbortController".into()))?;
        let builder = builder.abort_signal(Some(&controller.signal()));
        let request = match body {
            Some(b) => builder.header("Content-Type", "application/json").body(b),
            None => builder.build(),
        }
        .map_err(|e| NetError::Network(e.to_string()))?;
        let timer =
            gloo_timers::callback::Timeout::new(self.timeout_ms, move || controller.abort());
        self.sent.set(self.sent.get() + 1);
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let answer = read(response).await;
                self.observe(answer.as_ref().map(|_| status));
                answer
            }
            Err(err) => {
                let failure = classify_failure(&err.to_string());
                self.observe(Err(&failure));
                Err(failure)
            }
        };
        drop(timer);
        answer
    }

    /// What this exchange says about reaching the server, in the kind the user is told.
    fn observe(&self, answer: Result<u16, &NetError>) {
        let at = now_ms();
        let reach = match answer {
            Ok(status) if status >= 500 => Reach::Troubled { at, status },
            Ok(_) => Reach::Answered(at),
            Err(NetError::Offline) => Reach::Offline,
            Err(NetError::Timeout) => Reach::TimedOut(at),
            Err(NetError::Network(_)) => Reach::Failed(at),
        };
        if let Some(f) = self.hooks.borrow().reach.as_ref() {
            f(reach);
        }
    }
}

async fn read(response: Response) -> Result<Answer, NetError> {
    let status = response.status();
    let retry_after_ms = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| secs.saturating_mul(1000));
    let etag = response.headers().get("etag");
    // A server that committed and then lost the connection fails here: the engine must treat
    // it as "no answer", and the retry is deduplicated by clientMutationId.
    let text = response
        .text()
        .await
        .map_err(|e| NetError::Network(format!("the answer was lost: {e}")))?;
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Ok(Answer {
        status,
        retry_after_ms,
        etag,
        body,
    })
}

fn classify_failure(message: &str) -> NetError {
    let offline = web_sys::window().is_some_and(|w| !w.navigator().on_line());
    if offline {
        NetError::Offline
    } else if message.contains("abort") {
        NetError::Timeout
    } else {
        NetError::Network(message.to_owned())
    }
}

fn method(name: &str) -> Method {
    match name {
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        "GET" => Method::GET,
        _ => Method::POST,
    }
}

impl Transport for FetchTransport {
    async fn capabilities(&self) -> Result<Option<Capabilities>, NetError> {
        if self.replay.is_some() {
            // Sealed writes go one by one to their own route.
            return Ok(Some(Capabilities {
                batch: false,
                max_batch: 1,
            }));
        }
        let answer = match self.get(paths::SYNC_CAPABILITIES).await {
            Ok(a) => a,
            Err(CallError::Net(e)) => return Err(e),
            // The engine asks for a token before it probes; losing it since is its business.
            Err(CallError::Auth(_)) => return Ok(None),
        };
        Ok(Capabilities::from_answer(answer))
    }

    async fn send(&self, m: &Mutation) -> Result<Answer, NetError> {
        if let Some(book) = &self.replay {
            return self.send_sealed(book, m).await;
        }
        let builder = self
            .builder(method(&m.request.method), &m.request.path)
            .header("Idempotency-Key", &m.id.to_string());
        self.call_authed(builder, Some(m.request.body.to_string()))
            .await
    }

    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> {
        if self.replay.is_some() {
            return Err(NetError::Network("sealed writes are not batched".into()));
        }
        let body = super::json::encode_str(&push_request(batch))
            .map_err(|e| NetError::Network(e.to_string()))?;
        let answer = self
            .call_authed(self.builder(Method::POST, paths::SYNC_PUSH), Some(body))
            .await?;
        push_outcomes(batch.len(), answer)
    }

    async fn fetch(&self, path: &str) -> Result<Answer, NetError> {
        if self.replay.is_some() {
            return Err(NetError::Network("the sealed outbox reads nothing".into()));
        }
        self.call_authed(self.builder(Method::GET, path), None)
            .await
    }

    async fn authorize(&self) -> Result<(), AuthError> {
        if self.replay.is_some() {
            return Ok(());
        }
        self.ensure_token().await
    }
}
