//! The engine's transport over HTTP (reqwest), for one simulated device: the same requests the
//! browser's `FetchTransport` makes, with each request's latency recorded.

use std::{
    cell::RefCell,
    rc::Rc,
    time::{Duration, Instant},
};

use caresync_contract::{auth::TokenResponse, paths};
use caresync_sync::{
    transport::{push_outcomes, push_request, AuthError},
    Answer, BatchOutcome, Capabilities, Mutation, NetError, Transport,
};
use serde_json::json;

/// Who a device signs in as.
#[derive(Debug, Clone)]
pub struct Account {
    pub tenant: String,
    pub username: String,
}

/// What every device's requests met on the wire.
#[derive(Debug, Default, Clone)]
pub struct Wire {
    /// Latencies of the requests answered, in microseconds.
    pub latencies: Vec<u64>,
    /// Answered 503 (the server's `unavailable` fault, or a real one).
    pub unavailable: usize,
    /// No answer at all (the `drop_after_commit` fault resets the connection).
    pub lost: usize,
}

pub type Latencies = Rc<RefCell<Wire>>;

pub struct HttpTransport {
    http: reqwest::Client,
    base: String,
    account: Account,
    token: RefCell<Option<String>>,
    latencies: Latencies,
}

impl HttpTransport {
    pub fn new(http: reqwest::Client, base: &str, account: Account, latencies: Latencies) -> Self {
        HttpTransport {
            http,
            base: base.trim_end_matches('/').to_owned(),
            account,
            token: RefCell::new(None),
            latencies,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
        key: Option<String>,
    ) -> Result<Answer, NetError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(30));
        if let Some(token) = self.token.borrow().as_ref() {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body);
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(err) => {
                self.latencies.borrow_mut().lost += 1;
                return Err(net(err));
            }
        };
        let status = response.status().as_u16();
        let retry_after_ms = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| s * 1000);
        let text = response.text().await.map_err(net)?;
        let mut wire = self.latencies.borrow_mut();
        wire.latencies.push(started.elapsed().as_micros() as u64);
        if status == 503 {
            wire.unavailable += 1;
        }
        drop(wire);
        let mut answer = Answer::new(status, serde_json::from_str(&text).unwrap_or_default());
        answer.retry_after_ms = retry_after_ms;
        Ok(answer)
    }
}

fn net(err: reqwest::Error) -> NetError {
    if err.is_timeout() {
        NetError::Timeout
    } else {
        NetError::Network(err.to_string())
    }
}

impl Transport for HttpTransport {
    async fn capabilities(&self) -> Result<Option<Capabilities>, NetError> {
        let answer = self
            .call(reqwest::Method::GET, paths::SYNC_CAPABILITIES, None, None)
            .await?;
        Ok(Capabilities::from_answer(answer))
    }

    async fn send(&self, m: &Mutation) -> Result<Answer, NetError> {
        let method = reqwest::Method::from_bytes(m.request.method.as_bytes())
            .map_err(|e| NetError::Network(e.to_string()))?;
        self.call(
            method,
            &m.request.path,
            Some(m.request.body.to_string()),
            Some(m.id.to_string()),
        )
        .await
    }

    async fn push(&self, batch: &[Mutation]) -> Result<Vec<BatchOutcome>, NetError> {
        let body = serde_json::to_string(&push_request(batch))
            .map_err(|e| NetError::Network(e.to_string()))?;
        let answer = self
            .call(reqwest::Method::POST, paths::SYNC_PUSH, Some(body), None)
            .await?;
        push_outcomes(batch.len(), answer)
    }

    async fn fetch(&self, path: &str) -> Result<Answer, NetError> {
        self.call(reqwest::Method::GET, path, None, None).await
    }

    /// A fresh sign-in whenever the engine asks (first, and after a 401): the load run is
    /// shorter than an access token's life, so it never refreshes.
    async fn authorize(&self) -> Result<(), AuthError> {
        let body = json!({
            "tenantId": self.account.tenant,
            "username": self.account.username,
            "password": "demo",
        });
        let unreachable = |_| AuthError::Unreachable {
            retry_at: crate::now_ms() + 1_000,
        };
        let response = self
            .http
            .post(format!("{}{}", self.base, paths::LOGIN))
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(AuthError::SignInRequired);
        }
        let tokens: TokenResponse = response.json().await.map_err(unreachable)?;
        *self.token.borrow_mut() = Some(tokens.access_token);
        Ok(())
    }
}
