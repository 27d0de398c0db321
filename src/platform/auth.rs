//! The session's tokens in the browser: the access token in memory, the refresh token in the
//! user's database, and one refresh at a time, paced by the engine's `AuthGate`.
//!
//! After a reload the access token is gone, so the first request refreshes first; every
//! request waiting meanwhile shares that one refresh. A refused refresh is final and says so
//! through [`SessionHooks::refused`]; a refresh that got no answer backs off.

use caresync_contract::{auth::TokenResponse, paths};
use caresync_sync::{transport::AuthError, AuthStep, Millis, NetError};
use gloo_net::http::Method;
use gloo_net::http::RequestBuilder;

use super::transport::{now_ms, FetchTransport};

/// The signed-in session's tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    /// Empty after a reload: it lived only in memory.
    pub access: String,
    pub refresh: String,
    pub expires_in_ms: Millis,
}

impl From<&TokenResponse> for Tokens {
    fn from(t: &TokenResponse) -> Self {
        Tokens {
            access: t.access_token.clone(),
            refresh: t.refresh_token.clone(),
            expires_in_ms: t.expires_in.saturating_mul(1000),
        }
    }
}

/// What the last exchange says about reaching the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Unknown,
    /// The browser itself says it is offline.
    Offline,
    /// The server answered (with anything but a server error) at this time.
    Answered(Millis),
    /// The server, or a gateway in front of it, answered with a server error (5xx).
    Troubled {
        at: Millis,
        status: u16,
    },
    /// The request was abandoned: no answer came in time.
    TimedOut(Millis),
    /// The connection failed at this time, while the browser said it was online.
    Failed(Millis),
}

impl Reach {
    /// The last exchange went wrong (not merely offline or not yet tried).
    pub fn is_trouble(self) -> bool {
        matches!(
            self,
            Reach::Troubled { .. } | Reach::TimedOut(_) | Reach::Failed(_)
        )
    }

    /// The header's word for the connection while the browser says it is online.
    pub fn headline(self) -> String {
        match self {
            Reach::Answered(_) => "Online".into(),
            Reach::Troubled { status, .. } => format!("Server problem (error {status})"),
            Reach::TimedOut(_) => "The server is not answering".into(),
            Reach::Failed(_) => "Can't reach the server".into(),
            Reach::Unknown | Reach::Offline => "Connecting…".into(),
        }
    }

    /// The same in a word or two, for a phone's one-line header.
    pub fn word(self) -> &'static str {
        match self {
            Reach::Answered(_) => "Online",
            Reach::Troubled { .. } => "Server problem",
            Reach::TimedOut(_) => "No answer",
            Reach::Failed(_) => "Can't reach server",
            Reach::Unknown | Reach::Offline => "Connecting…",
        }
    }
}

/// Reads the newest refresh token: another tab may have rotated it since this one read it.
pub type LatestRefresh = Box<dyn Fn() -> futures::future::LocalBoxFuture<'static, Option<String>>>;

/// Told of each new token pair.
pub type OnTokens = Box<dyn Fn(&Tokens)>;
/// Told that something happened.
pub type OnNotice = Box<dyn Fn()>;
/// Told what an exchange says about reaching the server.
pub type OnReach = Box<dyn Fn(Reach)>;

/// What the rest of the app hears from the session.
#[derive(Default)]
pub struct SessionHooks {
    /// Every new token pair, so the refresh token can be kept.
    pub refreshed: Option<OnTokens>,
    /// The server refused the refresh token: the user must sign in again.
    pub refused: Option<OnNotice>,
    pub latest_refresh: Option<LatestRefresh>,
    pub reach: Option<OnReach>,
}

impl FetchTransport {
    /// Where the session's news goes; each hook is set by whoever owns that part.
    pub fn hooks(&self) -> std::cell::RefMut<'_, SessionHooks> {
        self.hooks.borrow_mut()
    }

    pub fn is_refused(&self) -> bool {
        self.gate.borrow().is_refused()
    }

    /// While a refresh is backing off: when the next may go out.
    pub fn refresh_retry_at(&self) -> Option<Millis> {
        self.gate.borrow().retry_at(now_ms())
    }

    /// A new sign-in (also after a refusal): these tokens from now on.
    pub fn signed_in(&self, tokens: Tokens) {
        self.gate
            .borrow_mut()
            .accepted(now_ms(), tokens.expires_in_ms);
        *self.tokens.borrow_mut() = Some(tokens);
    }

    /// Sign-out: no token is kept in memory.
    pub fn forget(&self) {
        self.gate.borrow_mut().forget();
        *self.tokens.borrow_mut() = None;
    }

    /// A usable access token, refreshed first if need be. Callers that arrive during a
    /// refresh wait for it and then find the new token (or its failure) without a request.
    pub(super) async fn ensure_token(&self) -> Result<(), AuthError> {
        let _turn = self.turn.lock().await;
        let now = now_ms();
        let step = self.gate.borrow().step(now);
        match step {
            AuthStep::Send => Ok(()),
            AuthStep::SignIn => Err(AuthError::SignInRequired),
            AuthStep::Wait(retry_at) => Err(AuthError::Unreachable { retry_at }),
            AuthStep::Refresh => self.refresh(now).await,
        }
    }

    async fn refresh(&self, now: Millis) -> Result<(), AuthError> {
        let reading = self
            .hooks
            .borrow()
            .latest_refresh
            .as_ref()
            .map(|read| read());
        let latest = match reading {
            Some(fut) => fut.await,
            None => None,
        };
        let stored = latest.or_else(|| self.tokens.borrow().as_ref().map(|t| t.refresh.clone()));
        let Some(refresh) = stored.filter(|r| !r.is_empty()) else {
            return Err(self.refused());
        };
        let body = serde_json::json!({ "refreshToken": refresh }).to_string();
        let request = RequestBuilder::new(&self.url(paths::REFRESH)).method(Method::POST);
        let answer = self.call(request, Some(body)).await;
        match answer {
            Ok(a) if a.status == 200 => match serde_json::from_value::<TokenResponse>(a.body) {
                Ok(fresh) => {
                    let tokens = Tokens::from(&fresh);
                    if let Some(f) = self.hooks.borrow().refreshed.as_ref() {
                        f(&tokens);
                    }
                    self.signed_in(tokens);
                    Ok(())
                }
                Err(_) => Err(self.unanswered(now, None)),
            },
            Ok(a) if matches!(a.status, 400 | 401 | 403) => Err(self.refused()),
            Ok(a) => Err(self.unanswered(now, a.retry_after_ms)),
            Err(NetError::Offline | NetError::Timeout | NetError::Network(_)) => {
                Err(self.unanswered(now, None))
            }
        }
    }

    fn unanswered(&self, now: Millis, retry_after_ms: Option<u64>) -> AuthError {
        let retry_at =
            self.gate
                .borrow_mut()
                .failed(now, retry_after_ms, &mut *self.rng.borrow_mut());
        AuthError::Unreachable { retry_at }
    }

    fn refused(&self) -> AuthError {
        self.gate.borrow_mut().refused();
        if let Some(t) = self.tokens.borrow_mut().as_mut() {
            t.access.clear();
        }
        if let Some(f) = self.hooks.borrow().refused.as_ref() {
            f();
        }
        AuthError::SignInRequired
    }
}
