//! The outbox's transport over `fetch` (gloo-net): per-resource REST or the batch endpoint.
//!
//! Every write carries `Idempotency-Key: {clientMutationId}` and the current bearer token,
//! added here at send time: the stored request never holds a token, so a refresh simply
//! rebuilds the headers.

use std::{cell::RefCell, rc::Rc};

use caresync_contract::{
    auth::TokenResponse,
    paths,
    sync::{SyncCapabilities, SyncMutation, SyncPushRequest, SyncPushResponse, SKIPPED_STATUS},
};
use caresync_sync::{
    transport::AuthError, Answer, BatchOutcome, Capabilities, Mutation, NetError, Transport,
};
use gloo_net::http::{Method, RequestBuilder, Response};
use std::cell::Cell;

/// How long one request may take before it is abandoned (and retried later).
pub const DEFAULT_TIMEOUT_MS: u32 = 15_000;

/// The signed-in session's tokens, shared by the transport and the UI.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl From<&TokenResponse> for Tokens {
    fn from(t: &TokenResponse) -> Self {
        Tokens {
            access: t.access_token.clone(),
            refresh: t.refresh_token.clone(),
        }
    }
}

/// Called with each rotated token pair.
type RefreshHook = Box<dyn Fn(&Tokens)>;
/// Reads the newest refresh token: another tab may have rotated it since this one read it.
type LatestRefresh = Box<dyn Fn() -> futures::future::LocalBoxFuture<'static, Option<String>>>;

pub struct FetchTransport {
    base: String,
    tokens: Rc<RefCell<Option<Tokens>>>,
    timeout_ms: u32,
    /// Requests put on the wire, for observability and the one-replayer test.
    sent: Cell<usize>,
    /// Told about every rotated token pair, so the refresh token can be kept.
    on_refresh: RefCell<Option<RefreshHook>>,
    latest_refresh: RefCell<Option<LatestRefresh>>,
}

impl FetchTransport {
    /// `base` is the API origin; empty means this page's origin.
    pub fn new(base: impl Into<String>, tokens: Rc<RefCell<Option<Tokens>>>) -> Self {
        FetchTransport {
            base: base.into(),
            tokens,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            sent: Cell::new(0),
            on_refresh: RefCell::new(None),
            latest_refresh: RefCell::new(None),
        }
    }

    pub fn latest_refresh(
        &self,
        f: impl Fn() -> futures::future::LocalBoxFuture<'static, Option<String>> + 'static,
    ) {
        *self.latest_refresh.borrow_mut() = Some(Box::new(f));
    }

    pub fn on_refresh(&self, f: impl Fn(&Tokens) + 'static) {
        *self.on_refresh.borrow_mut() = Some(Box::new(f));
    }

    /// GET with the session's token, refreshing it once on a 401.
    pub async fn get(&self, path: &str) -> Result<Answer, NetError> {
        self.refreshing(|| self.fetch(path)).await
    }

    /// An online action (not queued), with the same token handling.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, NetError> {
        self.refreshing(|| self.call(self.builder(Method::POST, path), Some(body.to_string())))
            .await
    }

    /// Sends, and on a 401 refreshes the token once and sends again.
    async fn refreshing<F, Fut>(&self, send: F) -> Result<Answer, NetError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Answer, NetError>>,
    {
        let answer = send().await?;
        if answer.status != 401 || self.refresh_auth().await.is_err() {
            return Ok(answer);
        }
        send().await
    }

    pub fn requests_sent(&self) -> usize {
        self.sent.get()
    }

    pub fn tokens(&self) -> Rc<RefCell<Option<Tokens>>> {
        self.tokens.clone()
    }

    fn builder(&self, method: Method, path: &str) -> RequestBuilder {
        let mut b = RequestBuilder::new(&format!("{}{path}", self.base)).method(method);
        if let Some(t) = self.tokens.borrow().as_ref() {
            b = b.header("Authorization", &format!("Bearer {}", t.access));
        }
        b
    }

    /// Sends with a timeout; a body that cannot be read counts as no answer at all.
    async fn call(
        &self,
        builder: RequestBuilder,
        body: Option<String>,
    ) -> Result<Answer, NetError> {
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
        let result = request.send().await;
        let answer = match result {
            Ok(response) => read(response).await,
            Err(err) => Err(classify_failure(&err.to_string())),
        };
        drop(timer);
        answer
    }
}

async fn read(response: Response) -> Result<Answer, NetError> {
    let status = response.status();
    let retry_after_ms = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| secs.saturating_mul(1000));
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
    async fn capabilities(&self) -> Result<Capabilities, NetError> {
        // Through `get`: after an offline reload the first request has no access token yet.
        let answer = self.get(paths::SYNC_CAPABILITIES).await?;
        Ok(match answer.status {
            200 => match serde_json::from_value::<SyncCapabilities>(answer.body) {
                Ok(c) => Capabilities {
                    batch: c.batch,
                    max_batch: c.max_batch,
                },
                Err(_) => Capabilities {
                    batch: false,
                    max_batch: 1,
                },
            },
            // An older server without the endpoint, or an expired token: per resource works
            // either way, and its 401 goes through the engine's refresh.
            _ => Capabilities {
                batch: false,
                max_batch: 1,
            },
        })
    }

    async fn send(&self, m: &Mutation) -> Result<Answer, NetError> {
        let builder = self
            .builder(method(&m.request.method), &m.request.path)
            .header("Idempotency-Key", &m.id.to_string());
        self.call(builder, Some(m.request.body.to_string())).await
    }

    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> {
        let request = SyncPushRequest {
            mutations: batch
                .iter()
                .map(|m| SyncMutation {
                    client_mutation_id: m.id.to_string(),
                    lane: m.lane.as_str().to_owned(),
                    method: m.request.method.clone(),
                    path: m.request.path.clone(),
                    body: m.request.body.clone(),
                })
                .collect(),
        };
        let body = serde_json::to_string(&request).map_err(|e| NetError::Network(e.to_string()))?;
        let answer = self
            .call(self.builder(Method::POST, paths::SYNC_PUSH), Some(body))
            .await?;
        if answer.status != 200 {
            // The whole push was refused (401, 429, 5xx...): each write gets that answer.
            return Ok(batch
                .iter()
                .map(|_| BatchOutcome::Answer(answer.clone()))
                .collect());
        }
        let parsed: SyncPushResponse = serde_json::from_value(answer.body)
            .map_err(|e| NetError::Network(format!("unreadable push answer: {e}")))?;
        Ok(parsed
            .results
            .into_iter()
            .map(|r| {
                if r.status == SKIPPED_STATUS {
                    BatchOutcome::Skipped
                } else {
                    BatchOutcome::Answer(Answer::new(r.status, r.body))
                }
            })
            .collect())
    }

    async fn fetch(&self, path: &str) -> Result<Answer, NetError> {
        self.call(self.builder(Method::GET, path), None).await
    }

    async fn refresh_auth(&self) -> Result<(), AuthError> {
        let reading = self.latest_refresh.borrow().as_ref().map(|read| read());
        let latest = match reading {
            Some(fut) => fut.await,
            None => None,
        };
        let Some(refresh) =
            latest.or_else(|| self.tokens.borrow().as_ref().map(|t| t.refresh.clone()))
        else {
            return Err(AuthError::SignInRequired);
        };
        let body = serde_json::json!({ "refreshToken": refresh }).to_string();
        let answer = self
            .call(
                RequestBuilder::new(&format!("{}{}", self.base, paths::REFRESH))
                    .method(Method::POST),
                Some(body),
            )
            .await?;
        match answer.status {
            200 => {
                let fresh: TokenResponse = serde_json::from_value(answer.body)
                    .map_err(|e| AuthError::Net(NetError::Network(e.to_string())))?;
                let tokens = Tokens::from(&fresh);
                if let Some(f) = self.on_refresh.borrow().as_ref() {
                    f(&tokens);
                }
                *self.tokens.borrow_mut() = Some(tokens);
                Ok(())
            }
            401 | 403 => {
                *self.tokens.borrow_mut() = None;
                Err(AuthError::SignInRequired)
            }
            _ => Err(AuthError::Net(NetError::Network(format!(
                "refresh answered {}",
                answer.status
            )))),
        }
    }
}
