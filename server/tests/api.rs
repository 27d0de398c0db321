//! The reference API against a real server and SQLite: one test per rule of the contract.

mod common;

use common::{cmid, message, TestServer};
use serde_json::json;

#[tokio::test]
async fn sign_in_needs_the_right_password_and_every_route_a_token() {
    let srv = TestServer::start().await;
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenantId": "north-clinic", "username": "patient1", "password": "nope"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenantId": "south-clinic", "username": "patient1", "password": "demo"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INVALID_CREDENTIALS")),
        "users belong to one tenant"
    );
    for (method, path) in [
        ("GET", "/api/v1/threads"),
        ("POST", "/api/v1/read"),
        ("POST", "/api/v1/sync/push"),
        ("GET", "/api/v1/sync/capabilities"),
    ] {
        let (status, body) = srv.request(method, path, None, Some(json!({}))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("UNAUTHORIZED")),
            "{method} {path}"
        );
        let (status, _) = srv
            .request(method, path, Some("not-a-token"), Some(json!({})))
            .await;
        assert_eq!(status, 401);
    }
    let s = srv.login("north-clinic", "patient1").await;
    assert_eq!(s.user_id, "usr-north-patient1");
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_refresh_token_rotates_idempotently() {
    let srv = TestServer::start_with(1, false).await;
    let s = srv.login("north-clinic", "patient1").await;
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let (status, body) = srv
        .request("GET", "/api/v1/threads", Some(&s.token), None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("TOKEN_EXPIRED"))
    );
    let (status, fresh) = srv
        .request(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(status, 200, "{fresh}");
    let token = fresh["accessToken"].as_str().expect("token");
    let (status, _) = srv
        .request("GET", "/api/v1/threads", Some(token), None)
        .await;
    assert_eq!(status, 200);
    let (status, again) = srv
        .request(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refreshToken": s.refresh})),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (&again["accessToken"], &again["refreshToken"]),
        (&fresh["accessToken"], &fresh["refreshToken"]),
        "within the grace window a spent refresh token answers with the pair it produced"
    );
    assert_ne!(
        fresh["refreshToken"],
        s.refresh.as_str(),
        "refresh tokens rotate"
    );
}

#[tokio::test]
async fn the_demo_patient_has_open_and_archived_threads_with_ordered_messages() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let threads = srv.threads(&s).await;
    let statuses: Vec<_> = threads
        .iter()
        .map(|t| t["status"].as_str().unwrap_or(""))
        .collect();
    assert!(
        statuses.contains(&"open") && statuses.contains(&"archived"),
        "{threads:?}"
    );
    let open = srv.thread_id(&s, "Follow-up after your visit").await;
    let msgs = srv.messages(&s, &open).await;
    assert_eq!(msgs.len(), 3);
    let keys: Vec<(String, String)> = msgs
        .iter()
        .map(|m| {
            (
                m["sentAt"].as_str().unwrap_or("").to_owned(),
                m["messageId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "ordered by (sentAt, messageId)");
    let after = msgs[0]["messageId"].as_str().expect("id");
    let (status, rest) = srv
        .request(
            "GET",
            &format!("/api/v1/threads/{open}/messages?after={after}"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(rest.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_message_is_created_once_per_client_mutation_id() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let id = cmid();
    let path = format!("/api/v1/threads/{thread}/messages");
    let (status, first) = srv
        .request(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&id, "<b>hi</b> & bye")),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["body"], "<b>hi</b> & bye");
    assert_eq!(first["senderId"], "usr-north-patient1");
    assert_eq!(first["clientMutationId"], id.as_str());
    assert!(first["messageId"].is_string() && first["sentAt"].is_string());
    let (status, again) = srv
        .request(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&id, "<b>hi</b> & bye")),
        )
        .await;
    assert_eq!(
        (status, &again),
        (201, &first),
        "a duplicate gets the original, same status"
    );
    assert_eq!(srv.messages(&s, &thread).await.len(), 4);
}

#[tokio::test]
async fn an_archived_thread_refuses_messages_until_reopened() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Prescription renewal").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let (status, body) = srv
        .request(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&id, "one more thing")),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"statusCode": 409, "code": "THREAD_ARCHIVED", "message": "This conversation is archived."})
    );
    let (status, reopened) = srv
        .request(
            "POST",
            &format!("/api/v1/threads/{thread}/reopen"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!((status, reopened["status"].as_str()), (200, Some("open")));
    let (status, _) = srv
        .request(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&id, "one more thing")),
        )
        .await;
    assert_eq!(status, 201, "the same write succeeds after the reopen");
}

#[tokio::test]
async fn read_receipts_converge_to_the_latest_read_time() {
    // The seed's example: A reads m1, m2 at 10:00; B reads m2, m3 at 10:05.
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let ids: Vec<String> = srv
        .messages(&s, &thread)
        .await
        .iter()
        .map(|m| m["messageId"].as_str().unwrap_or("").to_owned())
        .collect();
    let (m1, m2, m3) = (&ids[0], &ids[1], &ids[2]);
    let (status, a) = srv
        .request(
            "POST",
            "/api/v1/read",
            Some(&s.token),
            Some(json!({"messageIds": [m1, m2], "readAt": "2026-11-22T10:00:00Z"})),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let (_, b) = srv
        .request(
            "POST",
            "/api/v1/read",
            Some(&s.token),
            Some(json!({"messageIds": [m2, m3], "readAt": "2026-11-22T10:05:00Z"})),
        )
        .await;
    assert_eq!(b[0]["readAt"], "2026-11-22T10:05:00.000Z");
    // Device A's late replay does not move m2 back.
    let (_, late) = srv
        .request(
            "POST",
            "/api/v1/read",
            Some(&s.token),
            Some(json!({"messageIds": [m1, m2], "readAt": "2026-11-22T10:00:00Z"})),
        )
        .await;
    assert_eq!(
        late[0],
        json!({"messageId": m1, "userId": "usr-north-patient1", "readAt": "2026-11-22T10:00:00.000Z"})
    );
    assert_eq!(late[1]["readAt"], "2026-11-22T10:05:00.000Z");
    let unread = srv
        .threads(&s)
        .await
        .iter()
        .find(|t| t["threadId"] == thread.as_str())
        .map(|t| t["unreadCount"].clone());
    assert_eq!(unread, Some(json!(0)));
}

#[tokio::test]
async fn tenants_and_users_never_see_each_others_data() {
    let srv = TestServer::start().await;
    let north = srv.login("north-clinic", "patient1").await;
    let south = srv.login("south-clinic", "patient2").await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let north_thread = srv.thread_id(&north, "Follow-up after your visit").await;
    let south_thread = srv.thread_id(&south, "Lab results").await;
    let north_msg = srv.messages(&north, &north_thread).await[0]["messageId"]
        .as_str()
        .expect("id")
        .to_owned();
    for (who, thread, msg) in [
        (&south, &north_thread, &north_msg),
        (&nurse, &north_thread, &north_msg),
    ] {
        let (status, _) = srv
            .request(
                "GET",
                &format!("/api/v1/threads/{thread}/messages"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = srv
            .request(
                "POST",
                &format!("/api/v1/threads/{thread}/messages"),
                Some(&who.token),
                Some(message(&cmid(), "sneaky")),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = srv
            .request(
                "POST",
                "/api/v1/read",
                Some(&who.token),
                Some(json!({"messageIds": [msg], "readAt": "2026-11-22T10:00:00Z"})),
            )
            .await;
        assert_eq!(status, 404);
        let (status, _) = srv
            .request(
                "POST",
                &format!("/api/v1/threads/{thread}/reopen"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(status, 404);
    }
    let (status, _) = srv
        .request(
            "GET",
            &format!("/api/v1/threads/{south_thread}/messages"),
            Some(&north.token),
            None,
        )
        .await;
    assert_eq!(status, 404, "and the other way round");
    assert!(srv
        .threads(&south)
        .await
        .iter()
        .all(|t| t["threadId"] != north_thread.as_str()));
    assert!(srv.threads(&nurse).await.is_empty());
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let key = cmid();
    let headers = [("Idempotency-Key", key.as_str())];
    let (status, first) = srv
        .request_with(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&key, "first")),
            &headers,
        )
        .await;
    assert_eq!(status, 201);
    let (status, again) = srv
        .request_with(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&key, "first")),
            &headers,
        )
        .await;
    assert_eq!((status, again), (201, first));
    let (status, body) = srv
        .request_with(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&cmid(), "different")),
            &headers,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    assert_eq!(srv.messages(&s, &thread).await.len(), 4);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_never_a_5xx() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "MALFORMED_JSON"),
        (
            br#"{"clientMutationId": 5, "body": "x"}"#.to_vec(),
            400,
            "INVALID_BODY",
        ),
        (
            br#"{"clientMutationId": "not-a-uuid", "body": "x"}"#.to_vec(),
            400,
            "INVALID_BODY",
        ),
        (
            format!(
                r#"{{"clientMutationId": "{}", "body": "x", "admin": true}}"#,
                cmid()
            )
            .into_bytes(),
            400,
            "INVALID_BODY",
        ),
        (
            format!(r#"{{"clientMutationId": "{}", "body": "   "}}"#, cmid()).into_bytes(),
            400,
            "INVALID_BODY",
        ),
        (
            format!(
                r#"{{"clientMutationId": "{}", "body": "{}"}}"#,
                cmid(),
                "x".repeat(10_001)
            )
            .into_bytes(),
            400,
            "INVALID_BODY",
        ),
        (vec![b'['; 2 * 1024 * 1024], 413, "PAYLOAD_TOO_LARGE"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = srv.raw(&path, &s.token, body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{answer}"
        );
        assert_eq!(answer["statusCode"], status);
    }
    let (status, body) = srv
        .raw(
            "/api/v1/read",
            &s.token,
            br#"{"messageIds": ["x"], "readAt": "noon"}"#.to_vec(),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
    let (status, body) = srv
        .request("GET", "/api/v1/nothing", Some(&s.token), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let (status, body) = srv
        .request("DELETE", "/api/v1/threads", Some(&s.token), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (405, Some("BAD_REQUEST")));
}

#[tokio::test]
async fn an_idempotency_key_older_than_24_hours_answers_nothing_and_is_pruned() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let (replayed, expired, fresh) = (cmid(), cmid(), cmid());
    for key in [&replayed, &expired, &fresh] {
        let headers = [("Idempotency-Key", key.as_str())];
        let (status, _) = srv
            .request_with(
                "POST",
                &path,
                Some(&s.token),
                Some(message(&cmid(), key)),
                &headers,
            )
            .await;
        assert_eq!(status, 201);
    }
    // Two answers written 25 h ago, as far as the table knows.
    let aged = [replayed.clone(), expired.clone()];
    srv.sql(move |c| {
        c.execute(
            "UPDATE idempotency_keys SET created_at = created_at - 25 * 3600 * 1000 \
             WHERE key IN (?1, ?2)",
            caresync_server::params![aged[0], aged[1]],
        )
    })
    .await;
    // An expired key no longer answers: another body under it is a new write, not a 422.
    let headers = [("Idempotency-Key", replayed.as_str())];
    let (status, body) = srv
        .request_with(
            "POST",
            &path,
            Some(&s.token),
            Some(message(&cmid(), "later")),
            &headers,
        )
        .await;
    assert_eq!((status, &body["body"]), (201, &json!("later")), "{body}");

    let pruned = srv
        .sql(|c| caresync_server::http::idempotency::prune(c, caresync_server::time::now_ms()))
        .await;
    assert_eq!(pruned, 1, "only the expired key that was not written again");
    let left: Vec<String> = srv
        .sql(|c| {
            let mut stmt = c.prepare("SELECT key FROM idempotency_keys ORDER BY key")?;

            stmt.query_map(caresync_server::params![], |r| r.get(0))?
                .collect()
        })
        .await;
    let mut expected = vec![replayed, fresh];
    expected.sort();
    assert_eq!(left, expected);
    assert!(!left.contains(&expired));
}
