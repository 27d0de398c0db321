//! Replay credentials: issued at a sign-in with a device id, good only for pushing that user's
//! sealed writes, refused when expired, revoked, used for someone else, or used as a bearer.

mod common;

use common::{
    cmid, message,
    shared_device::{
        audit_event, push_sealed, seal_write, sealing_key, sign_in_on, DeviceSession, KIOSK, TABLET,
    },
    TestServer,
};
use serde_json::{json, Value};

fn assert_refused(status: u16, body: &Value, expected: u16) {
    assert_eq!(
        (status, &body["code"]),
        (expected, &json!("REPLAY_REFUSED")),
        "{body}"
    );
}

#[tokio::test]
async fn a_sign_in_on_a_device_hands_it_a_credential_an_audit_key_and_the_chain_head() {
    let srv = TestServer::start().await;
    let first = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let cred = &first.body["replayCredential"];
    let token = cred["token"].as_str().expect("token");
    assert_eq!(token.len(), 64, "32 bytes, hex");
    let expires = chrono::DateTime::parse_from_rfc3339(cred["expiresAt"].as_str().expect("at"))
        .expect("RFC 3339");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!(
        (7 * 24 - 1..=7 * 24).contains(&days),
        "seven days: {days} h"
    );
    assert_eq!(first.audit_key.len(), 32);
    assert_eq!(first.body["auditHead"], json!({"seq": 0, "mac": "genesis"}));

    let again = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    assert_eq!(again.audit_key, first.audit_key, "the audit key is kept");
    assert_ne!(
        again.replay, first.replay,
        "a fresh credential each sign-in"
    );
    let other_device = sign_in_on(&srv, "north-clinic", "patient1", TABLET).await;
    assert_ne!(other_device.audit_key, first.audit_key);
    let other_user = sign_in_on(&srv, "north-clinic", "nurse1", KIOSK).await;
    assert_ne!(other_user.audit_key, first.audit_key);

    let plain = srv.login("north-clinic", "patient1").await;
    let (_, caps) = srv
        .request("GET", "/api/v1/sync/capabilities", Some(&plain.token), None)
        .await;
    assert!(caps["sealing"].is_object());
    let stored: i64 = srv
        .sql(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM replay_credentials",
                caresync_server::params![],
                |r| r.get(0),
            )
        })
        .await;
    assert_eq!(stored, 4, "one per sign-in with a device");
    let leaked: i64 = srv
        .sql(move |c| {
            c.query_row(
                "SELECT COUNT(*) FROM replay_credentials WHERE token_hash = ?1",
                [first.replay],
                |r| r.get(0),
            )
        })
        .await;
    assert_eq!(leaked, 0, "the token itself is not stored");
}

#[tokio::test]
async fn a_credential_of_user_a_is_refused_for_an_envelope_of_user_b_or_another_tenant() {
    let srv = TestServer::start().await;
    let a = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let b = sign_in_on(&srv, "north-clinic", "dr-lee", KIOSK).await;
    let south = sign_in_on(&srv, "south-clinic", "patient2", KIOSK).await;
    let key = sealing_key(&srv, &a.session).await;
    let thread = srv
        .thread_id(&a.session, "Follow-up after your visit")
        .await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();

    let of_b = seal_write(&key, &b, "POST", &path, &message(&id, "as dr-lee"));
    let (status, body) = push_sealed(&srv, &a.replay, of_b).await;
    assert_refused(status, &body, 403);
    let of_south = seal_write(&key, &south, "POST", &path, &message(&id, "other tenant"));
    let (status, body) = push_sealed(&srv, &a.replay, of_south).await;
    assert_refused(status, &body, 403);
    // The other way round too: B's credential cannot push A's writes.
    let of_a = seal_write(&key, &a, "POST", &path, &message(&id, "as patient1"));
    let (status, body) = push_sealed(&srv, &b.replay, of_a).await;
    assert_refused(status, &body, 403);
    assert!(
        srv.messages(&a.session, &thread)
            .await
            .iter()
            .all(|m| m["clientMutationId"] != json!(id)),
        "nothing was written"
    );
}

#[tokio::test]
async fn expired_unknown_or_missing_credentials_are_refused() {
    let srv = TestServer::start().await;
    let a = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &a.session).await;
    let envelope = seal_write(
        &key,
        &a,
        "POST",
        "/api/v1/audit-events",
        &audit_event("probe"),
    );
    let (status, _) = push_sealed(&srv, &a.replay, envelope.clone()).await;
    assert_eq!(status, 201, "valid until it expires");

    srv.sql(|c| {
        c.execute(
            "UPDATE replay_credentials SET expires_at = expires_at - 8 * 86400000",
            caresync_server::params![],
        )
    })
    .await;
    let (status, body) = push_sealed(&srv, &a.replay, envelope.clone()).await;
    assert_refused(status, &body, 401);
    let (status, body) = push_sealed(&srv, &"ab".repeat(32), envelope.clone()).await;
    assert_refused(status, &body, 401);
    let (status, body) = srv
        .request("POST", "/api/v1/sync/sealed", None, Some(envelope))
        .await;
    assert_refused(status, &body, 401);
}

#[tokio::test]
async fn a_bearer_token_does_not_push_sealed_writes_and_a_replay_token_is_no_bearer() {
    let srv = TestServer::start().await;
    let a = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &a.session).await;
    let envelope = seal_write(
        &key,
        &a,
        "POST",
        "/api/v1/audit-events",
        &audit_event("probe"),
    );
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/sync/sealed",
            Some(&a.session.token),
            Some(envelope.clone()),
        )
        .await;
    assert_refused(status, &body, 401);
    let bearer_replay = format!("Bearer {}", a.replay);
    let (status, body) = srv
        .request_with(
            "POST",
            "/api/v1/sync/sealed",
            None,
            Some(envelope),
            &[("authorization", &bearer_replay)],
        )
        .await;
    assert_refused(status, &body, 401);

    for (method, path, body) in [
        ("GET", "/api/v1/threads", None),
        ("GET", "/api/v1/sync/capabilities", None),
        ("POST", "/api/v1/sync/push", Some(json!({"mutations": []}))),
        ("POST", "/api/v1/audit-events", Some(audit_event("x"))),
    ] {
        let (status, res) = srv
            .request(method, path, Some(&a.replay), body.clone())
            .await;
        assert_eq!(
            (status, &res["code"]),
            (401, &json!("UNAUTHORIZED")),
            "{path}: {res}"
        );
        let replay = format!("Replay {}", a.replay);
        let (status, _) = srv
            .request_with(method, path, None, body, &[("authorization", &replay)])
            .await;
        assert_eq!(status, 401, "{path} under Replay");
    }
}

async fn can_push(srv: &TestServer, who: &DeviceSession, key: &Value) -> bool {
    let envelope = seal_write(
        key,
        who,
        "POST",
        "/api/v1/audit-events",
        &audit_event("probe"),
    );
    let (status, body) = push_sealed(srv, &who.replay, envelope).await;
    match status {
        201 => true,
        401 => {
            assert_eq!(body["code"], "REPLAY_REFUSED");
            false
        }
        other => panic!("unexpected {other}: {body}"),
    }
}

#[tokio::test]
async fn revocation_ends_one_devices_credentials_or_all_of_the_callers() {
    let srv = TestServer::start().await;
    let kiosk = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let tablet = sign_in_on(&srv, "north-clinic", "patient1", TABLET).await;
    let nurse = sign_in_on(&srv, "north-clinic", "nurse1", KIOSK).await;
    let key = sealing_key(&srv, &kiosk.session).await;

    let revoke = "/api/v1/auth/replay-credentials/revoke";
    let (status, _) = srv
        .request(
            "POST",
            revoke,
            Some(&kiosk.session.token),
            Some(json!({"deviceId": KIOSK})),
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        !can_push(&srv, &kiosk, &key).await,
        "that device's credential ends"
    );
    assert!(
        can_push(&srv, &tablet, &key).await,
        "another device's does not"
    );
    assert!(
        can_push(&srv, &nurse, &key).await,
        "another user's does not"
    );

    let (status, _) = srv
        .request("POST", revoke, Some(&tablet.session.token), None)
        .await;
    assert_eq!(status, 204, "no body: every device");
    assert!(!can_push(&srv, &tablet, &key).await);
    assert!(can_push(&srv, &nurse, &key).await);
    let (status, body) = srv
        .request(
            "POST",
            revoke,
            Some(&nurse.session.token),
            Some(json!({"deviceId": 7})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = srv.request("POST", revoke, Some(&nurse.replay), None).await;
    assert_eq!(status, 401, "revoking takes a bearer token");
}

#[tokio::test]
async fn sign_out_keeps_the_credential_and_sign_out_everywhere_revokes_it() {
    let srv = TestServer::start().await;
    let nurse = sign_in_on(&srv, "north-clinic", "nurse1", KIOSK).await;
    let key = sealing_key(&srv, &nurse.session).await;
    // A plain sign-out keeps the credential: what the user left sealed must still go out.
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/auth/logout",
            None,
            Some(json!({"refreshToken": nurse.session.refresh})),
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        can_push(&srv, &nurse, &key).await,
        "sign-out is not revocation"
    );
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/auth/sessions/revoke",
            Some(&nurse.session.token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        !can_push(&srv, &nurse, &key).await,
        "sign out everywhere revokes it"
    );
}

#[tokio::test]
async fn a_new_sign_in_on_a_device_revokes_that_users_older_credentials_there_only() {
    let srv = TestServer::start().await;
    let first = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let elsewhere = sign_in_on(&srv, "north-clinic", "patient1", TABLET).await;
    let key = sealing_key(&srv, &first.session).await;
    assert!(can_push(&srv, &first, &key).await);
    let second = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    assert!(
        !can_push(&srv, &first, &key).await,
        "the device keeps only the newest; an older one found later pushes nothing"
    );
    assert!(can_push(&srv, &second, &key).await);
    assert!(
        can_push(&srv, &elsewhere, &key).await,
        "another device keeps its own"
    );
}
