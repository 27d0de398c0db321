//! Browser tier: the fetch transport's token handling against the real reference server
//! (named in CARESYNC_TEST_API): one refresh for many waiting requests after a reload, and a
//! refused refresh that is final.

use std::{cell::Cell, rc::Rc};

use caresync::platform::transport::{CallError, FetchTransport, Reach, Tokens};
use caresync_sync::{transport::AuthError, Transport as _};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{api, login};

/// As after a reload: the refresh token was stored, the access token is gone.
fn reloaded(refresh: String) -> FetchTransport {
    FetchTransport::new(
        api(),
        Some(Tokens {
            access: String::new(),
            refresh,
            expires_in_ms: 0,
        }),
    )
}

#[wasm_bindgen_test]
async fn after_a_reload_many_requests_share_one_refresh() {
    let tokens = login("patient1").await;
    let transport = reloaded(tokens.refresh_token.clone());
    let (a, b, c) = futures::join!(
        transport.get("/api/v1/threads"),
        transport.get("/api/v1/threads"),
        transport.capabilities(),
    );
    assert_eq!(a.expect("a").status, 200);
    assert_eq!(b.expect("b").status, 200);
    assert!(c.expect("capabilities").expect("the server says").batch);
    // One refresh, then the three requests: none went out without a token, none got a 401.
    assert_eq!(transport.requests_sent(), 4);
    transport.authorize().await.expect("still usable");
    assert_eq!(
        transport.requests_sent(),
        4,
        "a usable token needs no refresh"
    );
}

#[wasm_bindgen_test]
async fn a_refused_refresh_is_final_and_sends_nothing_more() {
    let refused = Rc::new(Cell::new(0));
    let reach = Rc::new(Cell::new(Reach::Unknown));
    let transport = reloaded("not-a-refresh-token".into());
    {
        let mut hooks = transport.hooks();
        let count = refused.clone();
        hooks.refused = Some(Box::new(move || count.set(count.get() + 1)));
        let seen = reach.clone();
        hooks.reach = Some(Box::new(move |r| seen.set(r)));
    }
    let first = transport.get("/api/v1/threads").await;
    assert_eq!(first, Err(CallError::Auth(AuthError::SignInRequired)));
    assert_eq!(transport.requests_sent(), 1, "one refresh, refused");
    assert_eq!(refused.get(), 1, "the app was told to ask for a sign-in");
    assert!(
        matches!(reach.get(), Reach::Answered(_)),
        "the server did answer"
    );
    for _ in 0..5 {
        assert_eq!(transport.authorize().await, Err(AuthError::SignInRequired));
        assert!(transport.get("/api/v1/threads").await.is_err());
    }
    assert_eq!(
        transport.requests_sent(),
        1,
        "nothing retried a refused session"
    );
    assert!(transport.is_refused());
    // Signing in again (same user) makes the same transport usable at once.
    let tokens = login("patient1").await;
    transport.signed_in(Tokens::from(&tokens));
    let answer = transport.get("/api/v1/threads").await.expect("threads");
    assert_eq!(answer.status, 200);
    assert_eq!(transport.requests_sent(), 2);
}

#[wasm_bindgen_test]
async fn an_unreachable_server_backs_off_the_refresh() {
    // Nothing listens on port 9 of loopback: every refresh fails without an answer.
    let transport = FetchTransport::new(
        "http://127.0.0.1:9",
        Some(Tokens {
            access: String::new(),
            refresh: "whatever".into(),
            expires_in_ms: 0,
        }),
    );
    let first = transport.authorize().await;
    let Err(AuthError::Unreachable { retry_at }) = first else {
        panic!("expected a backoff, got {first:?}");
    };
    let now = js_sys::Date::now() as u64;
    assert!(retry_at >= now + 500, "the next refresh is not due at once");
    for _ in 0..5 {
        assert_eq!(
            transport.authorize().await,
            Err(AuthError::Unreachable { retry_at })
        );
    }
    assert_eq!(transport.requests_sent(), 1, "no refresh before its time");
    assert_eq!(transport.refresh_retry_at(), Some(retry_at));
}
