//! The sync endpoint gives each write the same outcome as its own route, keeps lane order,
//! and the test-only fault injection does what the e2e tests rely on.

mod common;

use common::{cmid, message, TestServer};
use serde_json::{json, Value};

fn mutation(id: &str, lane: &str, path: &str, body: Value) -> Value {
    json!({"clientMutationId": id, "lane": lane, "method": "POST", "path": path, "body": body})
}

#[tokio::test]
async fn capabilities_announce_the_batch_endpoint() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let (status, caps) = srv
        .request("GET", "/api/v1/sync/capabilities", Some(&s.token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&caps["batch"], &caps["maxBatch"], &caps["pushPath"]),
        (&json!(true), &json!(500), &json!("/api/v1/sync/push"))
    );
    assert!(caps["sealing"]["keyId"].is_string(), "{caps}");
}

#[tokio::test]
async fn a_push_answers_each_write_as_its_own_route_would() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let open = srv.thread_id(&s, "Follow-up after your visit").await;
    let archived = srv.thread_id(&s, "Prescription renewal").await;
    let open_path = format!("/api/v1/threads/{open}/messages");
    let archived_path = format!("/api/v1/threads/{archived}/messages");
    let (a, b, c, d) = (cmid(), cmid(), cmid(), cmid());
    let first_msg = srv.messages(&s, &open).await[0]["messageId"].clone();
    let push = json!({"mutations": [
        mutation(&a, "thread:open", &open_path, message(&a, "one")),
        mutation(&b, "thread:archived", &archived_path, message(&b, "blocked head")),
        mutation(&c, "thread:archived", &archived_path, message(&c, "behind it")),
        mutation(&d, "thread:open", &open_path, message(&d, "two")),
        mutation(&cmid(), "read", "/api/v1/read", json!({"messageIds": [first_msg], "readAt": "2026-11-22T10:00:00Z"})),
        mutation(&cmid(), "bad", &open_path, json!({"clientMutationId": "nope", "body": "x"})),
    ]});
    let (status, res) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&s.token),
            Some(push.clone()),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let results = res["results"].as_array().expect("results");
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![201, 409, 424, 201, 200, 400]);
    assert_eq!(results[1]["body"]["code"], "THREAD_ARCHIVED");
    assert_eq!(results[2]["body"]["code"], "LANE_BLOCKED");
    assert_eq!(results[5]["body"]["code"], "INVALID_BODY");
    let texts: Vec<Value> = srv
        .messages(&s, &open)
        .await
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(texts[3..], [json!("one"), json!("two")], "lane order holds");

    // The same write per resource gets the answer the batch gave: it is one effect.
    let (status, single) = srv
        .request("POST", &open_path, Some(&s.token), Some(message(&a, "one")))
        .await;
    assert_eq!((status, &single), (201, &results[0]["body"]));
    // And a replayed push applies nothing twice.
    let (_, again) = srv
        .request("POST", "/api/v1/sync/push", Some(&s.token), Some(push))
        .await;
    assert_eq!(again["results"][0], results[0]);
    assert_eq!(srv.messages(&s, &open).await.len(), 5);
}

#[tokio::test]
async fn a_push_is_bounded_and_its_writes_are_tenant_scoped() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let south = srv.login("south-clinic", "patient2").await;
    let open = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{open}/messages");
    let many: Vec<Value> = (0..501)
        .map(|_| {
            let id = cmid();
            mutation(&id, "l", &path, message(&id, "x"))
        })
        .collect();
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&s.token),
            Some(json!({"mutations": many})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("BATCH_TOO_LARGE"))
    );
    let id = cmid();
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&south.token),
            Some(json!({"mutations": [mutation(&id, "l", &path, message(&id, "x"))]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["results"][0]["status"], 404,
        "another tenant's thread does not exist"
    );
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&s.token),
            Some(json!({"mutations": "all"})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
}

#[tokio::test]
async fn injected_faults_fail_drop_delay_and_throttle() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let rule = |mode: &str| json!({"method": "POST", "path": "/api/v1/threads/*/messages", "mode": mode, "times": 1, "retryAfterSecs": 7, "delayMs": 300});

    let (status, _) = srv
        .request(
            "POST",
            "/__test/faults",
            None,
            Some(rule("fail_before_commit")),
        )
        .await;
    assert_eq!(status, 204);
    let id = cmid();
    let (status, _) = srv
        .request("POST", &path, Some(&s.token), Some(message(&id, "a")))
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        srv.messages(&s, &thread).await.len(),
        3,
        "nothing committed"
    );

    srv.request(
        "POST",
        "/__test/faults",
        None,
        Some(rule("drop_after_commit")),
    )
    .await;
    let dropped = srv
        .http
        .post(format!("{}{path}", srv.base))
        .bearer_auth(&s.token)
        .json(&message(&id, "a"))
        .send()
        .await;
    let body = match dropped {
        Ok(res) => res.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(body.is_err(), "the response is lost");
    assert_eq!(
        srv.messages(&s, &thread).await.len(),
        4,
        "but the write committed"
    );
    let (status, _) = srv
        .request("POST", &path, Some(&s.token), Some(message(&id, "a")))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        srv.messages(&s, &thread).await.len(),
        4,
        "and the retry is not a second message"
    );

    srv.request("POST", "/__test/faults", None, Some(rule("unavailable")))
        .await;
    let res = srv
        .http
        .post(format!("{}{path}", srv.base))
        .bearer_auth(&s.token)
        .json(&message(&cmid(), "b"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 503);
    assert_eq!(
        res.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );

    srv.request("POST", "/__test/faults", None, Some(rule("delay")))
        .await;
    let started = std::time::Instant::now();
    let (status, _) = srv
        .request("POST", &path, Some(&s.token), Some(message(&cmid(), "c")))
        .await;
    assert_eq!(status, 201);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let (status, left) = srv.request("DELETE", "/__test/faults", None, None).await;
    assert_eq!(
        (status, left),
        (200, json!([])),
        "every rule fired exactly its times"
    );
    let mut twice = rule("fail_before_commit");
    twice["times"] = json!(2);
    srv.request("POST", "/__test/faults", None, Some(twice))
        .await;
    for _ in 0..2 {
        let (status, _) = srv
            .request("POST", &path, Some(&s.token), Some(message(&cmid(), "d")))
            .await;
        assert_eq!(status, 500);
    }
    let (status, _) = srv
        .request("POST", &path, Some(&s.token), Some(message(&cmid(), "d")))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn without_the_test_flag_there_is_no_fault_endpoint() {
    let srv = TestServer::start_with(900, false).await;
    let s = srv.login("north-clinic", "patient1").await;
    let (status, _) = srv
        .request(
            "POST",
            "/__test/faults",
            None,
            Some(json!({"method": "POST", "path": "/api/v1/read", "mode": "fail_before_commit"})),
        )
        .await;
    assert_ne!(status, 204);
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let (status, _) = srv
        .request(
            "POST",
            &format!("/api/v1/threads/{thread}/messages"),
            Some(&s.token),
            Some(message(&cmid(), "fine")),
        )
        .await;
    assert_eq!(status, 201);
}
