//! Refresh-token families: a retry within the grace window gets the same pair, a spent token
//! after it revokes the family, and sign-out revokes one family or all of a user's.

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::{json, Value};

async fn refresh(srv: &TestServer, token: &str) -> (u16, Value) {
    srv.request(
        "POST",
        "/api/v1/auth/refresh",
        None,
        Some(json!({"refreshToken": token})),
    )
    .await
}

/// The `(accessToken, refreshToken)` of a 200 answer.
fn pair(body: &Value) -> (String, String) {
    let field = |name: &str| {
        body[name]
            .as_str()
            .unwrap_or_else(|| panic!("{name} in {body}"))
            .to_owned()
    };
    (field("accessToken"), field("refreshToken"))
}

/// Refreshes and insists on a 200.
async fn rotated(srv: &TestServer, token: &str) -> (String, String) {
    let (status, body) = refresh(srv, token).await;
    assert_eq!(status, 200, "{body}");
    pair(&body)
}

fn assert_refused(answer: (u16, Value), code: &str, why: &str) {
    let (status, body) = answer;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some(code)),
        "{why}: {body}"
    );
    assert_eq!(body["statusCode"], 401, "{why}");
}

#[tokio::test]
async fn a_lost_refresh_response_is_answered_again_with_the_same_pair() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let (status, first) = refresh(&srv, &s.refresh).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["userId"], "usr-north-patient1");
    assert_eq!(first["tenantId"], "north-clinic");
    // The client never saw `first` and sends the same token again.
    let (status, retry) = refresh(&srv, &s.refresh).await;
    assert_eq!(status, 200, "{retry}");
    assert_eq!(pair(&retry), pair(&first));
    let (access, successor) = pair(&retry);
    assert_ne!(successor, s.refresh, "the token still rotates");
    assert_eq!(successor.len(), 64, "hex of an HMAC-SHA256");
    assert!(retry["expiresIn"]
        .as_u64()
        .is_some_and(|s| s > 0 && s <= 900));
    let (status, _) = srv
        .request("GET", "/api/v1/threads", Some(&access), None)
        .await;
    assert_eq!(status, 200, "the replayed access token works");
    let (_, next) = rotated(&srv, &successor).await;
    assert_ne!(next, successor, "the successor rotates too");
}

#[tokio::test]
async fn a_spent_token_after_the_grace_window_revokes_its_whole_family() {
    let srv = TestServer::start_with_grace(1).await;
    let s = srv.login("north-clinic", "patient1").await;
    let elsewhere = srv.login("north-clinic", "patient1").await;
    let (_, successor) = rotated(&srv, &s.refresh).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_refused(
        refresh(&srv, &s.refresh).await,
        "REFRESH_TOKEN_REUSED",
        "a replay after the window",
    );
    assert_refused(
        refresh(&srv, &successor).await,
        "UNAUTHORIZED",
        "the successor belongs to the revoked family",
    );
    assert_refused(
        refresh(&srv, &s.refresh).await,
        "UNAUTHORIZED",
        "once revoked, the family has simply ended",
    );
    rotated(&srv, &elsewhere.refresh).await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_get_the_same_pair() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let (a, b, c) = tokio::join!(
        refresh(&srv, &s.refresh),
        refresh(&srv, &s.refresh),
        refresh(&srv, &s.refresh),
    );
    for (status, body) in [&a, &b, &c] {
        assert_eq!(*status, 200, "{body}");
    }
    assert_eq!(pair(&a.1), pair(&b.1));
    assert_eq!(pair(&a.1), pair(&c.1));
    let (access, _) = pair(&a.1);
    let (status, _) = srv
        .request("GET", "/api/v1/threads", Some(&access), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_chain_rotates_and_an_old_link_within_the_window_replays_its_own_successor() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let t0 = s.refresh;
    let p1 = rotated(&srv, &t0).await;
    let p2 = rotated(&srv, &p1.1).await;
    let p3 = rotated(&srv, &p2.1).await;
    assert_ne!(p1.1, p2.1);
    assert_ne!(p2.1, p3.1);
    assert_eq!(
        rotated(&srv, &t0).await,
        p1,
        "t0 still answers with t1's pair"
    );
    assert_eq!(rotated(&srv, &p1.1).await, p2, "and t1 with t2's");
    let (status, _) = srv
        .request("GET", "/api/v1/threads", Some(&p3.0), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn logout_revokes_the_family_and_says_nothing_about_unknown_tokens() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let other = srv.login("north-clinic", "patient1").await;
    let (_, t1) = rotated(&srv, &s.refresh).await;
    let logout = |token: &str| {
        srv.request(
            "POST",
            "/api/v1/auth/logout",
            None,
            Some(json!({"refreshToken": token})),
        )
    };
    assert_eq!(logout(&t1).await, (204, json!("")));
    assert_refused(
        refresh(&srv, &t1).await,
        "UNAUTHORIZED",
        "the logged-out token",
    );
    assert_refused(
        refresh(&srv, &s.refresh).await,
        "UNAUTHORIZED",
        "its predecessor, even within the grace window",
    );
    assert_eq!(logout(&t1).await.0, 204, "again");
    assert_eq!(logout("no-such-token").await.0, 204, "not an oracle");
    rotated(&srv, &other.refresh).await;
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_family_of_the_caller_only() {
    let srv = TestServer::start().await;
    let phone = srv.login("north-clinic", "patient1").await;
    let laptop = srv.login("north-clinic", "patient1").await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (_, laptop_next) = rotated(&srv, &laptop.refresh).await;
    let (status, _) = srv
        .request("POST", "/api/v1/auth/sessions/revoke", None, None)
        .await;
    assert_eq!(status, 401, "it needs a bearer token");
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/auth/sessions/revoke",
            Some(&phone.token),
            None,
        )
        .await;
    assert_eq!((status, body), (204, json!("")));
    for (token, which) in [
        (&phone.refresh, "this device"),
        (&laptop.refresh, "another device, spent"),
        (&laptop_next, "another device, current"),
    ] {
        assert_refused(refresh(&srv, token).await, "UNAUTHORIZED", which);
    }
    let (_, nurse_next) = rotated(&srv, &nurse.refresh).await;
    assert_ne!(nurse_next, nurse.refresh, "another user's session lives on");
}

#[tokio::test]
async fn an_unknown_refresh_token_ends_the_session() {
    let srv = TestServer::start().await;
    let (status, body) = refresh(&srv, &"0".repeat(64)).await;
    assert_eq!(
        body,
        json!({"statusCode": 401, "code": "UNAUTHORIZED", "message": "The session has ended; sign in again."})
    );
    assert_eq!(status, 401);
    let (status, body) = srv
        .request("POST", "/api/v1/auth/refresh", None, Some(json!({})))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
}
