//! The live ward board: committed bed changes streamed as Server-Sent Events to the staff of
//! the bed's node and the nodes above it, and to no one else; single-use stream tickets for
//! EventSource; resuming after the last event id.

mod common;

use std::time::Duration;

use common::{cmid, sse::SseStream, Session, TestServer};
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(1);

fn at(offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() + offset_secs * 1000,
    )
    .expect("time")
    .to_rfc3339()
}

fn bed_write(value: &str, secs: i64) -> Value {
    json!({"status": value, "updatedAt": at(secs), "clientMutationId": cmid()})
}

async fn set_status(srv: &TestServer, s: &Session, bed: &str, value: &str, secs: i64) -> Value {
    let path = format!("/api/v1/facility/beds/{bed}/status");
    let (status, body) = srv
        .request("PUT", &path, Some(&s.token), Some(bed_write(value, secs)))
        .await;
    assert!(status < 300, "{body}");
    body
}

async fn ticket(srv: &TestServer, s: &Session) -> String {
    let (status, body) = srv
        .request("POST", "/internal/edge/stream-ticket", Some(&s.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["ticket"].as_str().expect("ticket").to_owned()
}

/// A stream of `node` opened with a ticket, as a browser would, read up to its `ready`.
async fn watch(srv: &TestServer, s: &Session, node: &str) -> (SseStream, i64) {
    let path = format!(
        "/internal/edge/stream?nodeId={node}&ticket={}",
        ticket(srv, s).await
    );
    let mut stream = SseStream::open(srv, &path, None, &[])
        .await
        .expect("stream opens");
    assert!(
        stream.content_type.starts_with("text/event-stream"),
        "{}",
        stream.content_type
    );
    let ready = stream.next(SOON).await.expect("ready");
    assert_eq!(
        (ready.event.as_str(), &ready.data["nodeId"]),
        ("ready", &json!(node))
    );
    let seq = ready.data["seq"].as_i64().expect("seq");
    assert_eq!(ready.id, Some(seq.to_string()));
    (stream, seq)
}

#[tokio::test]
async fn a_bed_change_reaches_the_streams_of_its_node_and_no_others_within_a_second() {
    let srv = TestServer::start().await;
    let manager = srv.login("north-clinic", "ward-manager1").await;
    let lee = srv.login("north-clinic", "dr-lee").await;
    let nurse2 = srv.login("north-clinic", "nurse2").await;
    let (mut ward_a, start) = watch(&srv, &manager, "node-ward-a").await;
    let (mut hospital, _) = watch(&srv, &lee, "node-north-hospital").await;
    let (mut ward_b, _) = watch(&srv, &nurse2, "node-ward-b").await;
    // Another tenant with a ward of its own, watching it.
    srv.sql(|c| {
        c.execute(
            "INSERT INTO facility_nodes (id, tenant_id, parent_id, name, kind) \
             VALUES ('node-south-ward', 'south-clinic', NULL, 'South ward', 'ward')",
            caresync_server::params![],
        )
    })
    .await;
    let south = srv.login("south-clinic", "dr-ng").await;
    let (mut other_tenant, _) = watch(&srv, &south, "node-south-ward").await;
    let stranger = format!(
        "/internal/edge/stream?nodeId=node-ward-a&ticket={}",
        ticket(&srv, &south).await
    );
    let refused = SseStream::open(&srv, &stranger, None, &[]).await.err();
    assert_eq!(
        refused.map(|r| r.0),
        Some(404),
        "another tenant's node does not exist for them"
    );

    let nurse1 = srv.login("north-clinic", "nurse1").await;
    let answer = set_status(&srv, &nurse1, "bed-a1-1", "occupied", -5).await;
    let event = ward_a
        .next_of("bed", SOON)
        .await
        .expect("ward A hears of it");
    let data = &event.data;
    assert_eq!(
        (&data["bedId"], &data["nodeId"], &data["locationId"]),
        (&json!("bed-a1-1"), &json!("node-ward-a"), &json!("loc-a-1"))
    );
    assert_eq!(
        (&data["field"], &data["value"]),
        (&json!("status"), &json!("occupied"))
    );
    assert_eq!(data["updatedAt"], answer["bed"]["statusUpdatedAt"]);
    assert_eq!(
        data["bed"], answer["bed"],
        "the bed as it stands after the change"
    );
    let seq = data["seq"].as_i64().expect("seq");
    assert!(seq > start);
    assert_eq!(event.id, Some(seq.to_string()));
    let above = hospital
        .next_of("bed", SOON)
        .await
        .expect("the hospital hears of it");
    assert_eq!(above.data, event.data);
    assert!(
        ward_b.next_of("bed", SOON).await.is_none(),
        "Ward B does not"
    );
    assert!(
        other_tenant.next_of("bed", SOON).await.is_none(),
        "nor another tenant"
    );

    // Through the sync push too; a held or superseded write changes nothing and says nothing.
    let push = json!({"mutations": [
        {"clientMutationId": cmid(), "lane": "bed:bed-b1-1", "method": "PUT",
         "path": "/api/v1/facility/beds/bed-b1-1/housekeeping-status", "body": {"status": "dirty", "updatedAt": at(-3), "clientMutationId": cmid()}},
        {"clientMutationId": cmid(), "lane": "bed:bed-a1-1", "method": "PUT",
         "path": "/api/v1/facility/beds/bed-a1-1/status", "body": bed_write("reserved", -7000)},
        {"clientMutationId": cmid(), "lane": "bed:bed-a1-1", "method": "PUT",
         "path": "/api/v1/facility/beds/bed-a1-1/status", "body": bed_write("reserved", -60)},
    ]});
    let (status, res) = srv
        .request("POST", "/api/v1/sync/push", Some(&nurse2.token), Some(push))
        .await;
    assert_eq!(status, 200, "{res}");
    let statuses: Vec<&Value> = (0..3)
        .map(|i| &res["results"][i]["body"]["outcome"])
        .collect();
    assert_eq!(
        statuses,
        [
            &json!("applied"),
            &json!("manual_review"),
            &json!("superseded")
        ]
    );
    let event = ward_b
        .next_of("bed", SOON)
        .await
        .expect("Ward B hears of its bed");
    assert_eq!(
        (
            &event.data["bedId"],
            &event.data["field"],
            &event.data["value"]
        ),
        (
            &json!("bed-b1-1"),
            &json!("housekeepingStatus"),
            &json!("dirty")
        )
    );
    assert!(
        ward_a.next_of("bed", SOON).await.is_none(),
        "nothing else changed in Ward A"
    );
}

#[tokio::test]
async fn an_accepted_review_is_streamed_like_any_committed_change() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let manager = srv.login("north-clinic", "ward-manager1").await;
    set_status(&srv, &nurse, "bed-a2-1", "reserved", -7000).await;
    let (status, list) = srv
        .request(
            "GET",
            "/internal/edge/reviews?nodeId=node-ward-a",
            Some(&manager.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    let id = list[0]["reviewId"].as_str().expect("review").to_owned();
    let (mut stream, _) = watch(&srv, &nurse, "node-ward-a").await;
    let path = format!("/internal/edge/reviews/{id}/accept");
    let (status, _) = srv
        .request("POST", &path, Some(&manager.token), Some(json!({})))
        .await;
    assert_eq!(status, 200);
    let event = stream
        .next_of("bed", SOON)
        .await
        .expect("the accepted change");
    assert_eq!(
        (&event.data["bedId"], &event.data["value"]),
        (&json!("bed-a2-1"), &json!("reserved"))
    );
}

#[tokio::test]
async fn stream_tickets_are_single_use_short_lived_and_for_staff() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (status, issued) = srv
        .request(
            "POST",
            "/internal/edge/stream-ticket",
            Some(&nurse.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{issued}");
    let first_ticket = issued["ticket"].as_str().expect("ticket").to_owned();
    assert_eq!(first_ticket.len(), 64);
    let expires =
        chrono::DateTime::parse_from_rfc3339(issued["expiresAt"].as_str().expect("expiresAt"))
            .expect("RFC 3339");
    let left = expires.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    assert!((55_000..=60_000).contains(&left), "valid 60 s: {left} ms");

    let path = format!("/internal/edge/stream?nodeId=node-ward-a&ticket={first_ticket}");
    let first = SseStream::open(&srv, &path, None, &[]).await;
    assert!(first.is_ok(), "the ticket opens one stream");
    let (status, body) = SseStream::open(&srv, &path, None, &[])
        .await
        .err()
        .expect("used up");
    assert_eq!((status, body["code"].as_str()), (401, Some("UNAUTHORIZED")));

    let late = ticket(&srv, &nurse).await;
    srv.sql(|c| {
        c.execute(
            "UPDATE stream_tickets SET expires_at = expires_at - 61000",
            caresync_server::params![],
        )
    })
    .await;
    for bad in [late.as_str(), "not-a-ticket", nurse.token.as_str()] {
        let path = format!("/internal/edge/stream?nodeId=node-ward-a&ticket={bad}");
        let refused = SseStream::open(&srv, &path, None, &[]).await.err();
        assert_eq!(
            refused.map(|r| r.0),
            Some(401),
            "expired, unknown, or an access token"
        );
    }
    let refused = SseStream::open(&srv, "/internal/edge/stream?nodeId=node-ward-a", None, &[])
        .await
        .err();
    assert_eq!(
        refused.map(|r| r.0),
        Some(401),
        "neither a ticket nor a token"
    );
    let (status, _) = srv
        .request("POST", "/internal/edge/stream-ticket", None, None)
        .await;
    assert_eq!(status, 401);

    let patient = srv.login("north-clinic", "patient1").await;
    let (status, body) = srv
        .request(
            "POST",
            "/internal/edge/stream-ticket",
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let refused = SseStream::open(
        &srv,
        "/internal/edge/stream?nodeId=node-ward-a",
        Some(&patient.token),
        &[],
    )
    .await
    .err();
    assert_eq!(refused.map(|r| r.0), Some(403));
    // With the header, as a native client would; without a node, the caller's own.
    let mut own = SseStream::open(&srv, "/internal/edge/stream", Some(&nurse.token), &[])
        .await
        .expect("bearer stream");
    let ready = own.next(SOON).await.expect("ready");
    assert_eq!(ready.data["nodeId"], "node-ward-a");
}

#[tokio::test]
async fn a_stream_resumes_after_the_last_event_id_or_says_to_pull_the_snapshot() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (_, snapshot) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            Some(&nurse.token),
            None,
        )
        .await;
    let before = snapshot["changeSeq"].as_i64().expect("changeSeq");
    set_status(&srv, &nurse, "bed-a1-1", "occupied", -20).await;
    set_status(&srv, &nurse, "bed-b1-1", "occupied", -20).await;
    set_status(&srv, &nurse, "bed-a1-2", "occupied", -10).await;
    let (_, snapshot) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            Some(&nurse.token),
            None,
        )
        .await;
    assert_eq!(snapshot["changeSeq"].as_i64(), Some(before + 3));

    // An EventSource reconnecting sends Last-Event-ID; a stream opened anew, ?lastEventId=.
    let after = before.to_string();
    let by_header = [("Last-Event-ID", after.as_str())];
    let query = format!("/internal/edge/stream?nodeId=node-ward-a&lastEventId={before}");
    for (path, headers) in [
        ("/internal/edge/stream?nodeId=node-ward-a", &by_header[..]),
        (query.as_str(), &[][..]),
    ] {
        let mut stream = SseStream::open(&srv, path, Some(&nurse.token), headers)
            .await
            .expect("resumes");
        let ready = stream.next(SOON).await.expect("ready");
        assert_eq!(
            (ready.event.as_str(), ready.data["seq"].as_i64()),
            ("ready", Some(before))
        );
        let mut missed = Vec::new();
        while let Some(event) = stream.next_of("bed", Duration::from_millis(300)).await {
            missed.push(event.data["bedId"].as_str().unwrap_or("").to_owned());
        }
        assert_eq!(
            missed,
            ["bed-a1-1", "bed-a1-2"],
            "Ward A's changes only, in order"
        );
    }

    for bogus in ["not-a-number", "999999"] {
        let headers = [("Last-Event-ID", bogus)];
        let mut stream = SseStream::open(
            &srv,
            "/internal/edge/stream?nodeId=node-ward-a",
            Some(&nurse.token),
            &headers,
        )
        .await
        .expect("opens");
        let reset = stream.next(SOON).await.expect("reset");
        assert_eq!(reset.event, "reset", "{bogus}");
        assert_eq!(reset.data["seq"].as_i64(), Some(before + 3));
        assert!(reset.data["reason"].is_string());
    }
}

#[tokio::test]
async fn a_stream_lasts_no_longer_than_an_access_token() {
    let srv = TestServer::start_with(2, true).await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (mut stream, _) = watch(&srv, &nurse, "node-ward-a").await;
    assert!(
        stream.ends_within(Duration::from_secs(4)).await,
        "closed once the token's lifetime is over"
    );
}
