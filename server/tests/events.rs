//! Domain events: each committed write records exactly one event in the outbox, in its own
//! transaction; a deduplicated retry records none; the relay puts each on JetStream once,
//! even when it stops after publishing and before marking (run on both backends).

mod common;

use std::time::{Duration, Instant};

use caresync_server::{events, params, relay::Relay};
use common::{cmid, message, nats::NatsServer, TestServer};
use serde_json::{json, Value};

/// Every recorded event, oldest first: (subject, payload).
async fn outbox(srv: &TestServer) -> Vec<(String, Value)> {
    srv.sql(|c| {
        c.query_map(
            "SELECT subject, payload FROM event_outbox ORDER BY seq",
            params![],
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
        )
    })
    .await
    .into_iter()
    .map(|(s, p)| (s, serde_json::from_str(&p).expect("payload is JSON")))
    .collect()
}

fn subjects(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(s, _)| s.as_str()).collect()
}

fn at(offset_secs: i64) -> String {
    let ms = chrono::Utc::now().timestamp_millis() + offset_secs * 1000;
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn each_committed_write_records_one_event_and_a_retry_none() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let body = message(&id, "my private symptoms");
    let (status, first) = srv
        .request("POST", &path, Some(&s.token), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{first}");
    // The same write again, per resource and inside a sync push: answered, not re-recorded.
    let (status, again) = srv
        .request("POST", &path, Some(&s.token), Some(body.clone()))
        .await;
    assert_eq!((status, &again), (201, &first));
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "t", "method": "POST",
                                     "path": path, "body": body}]});
    let (status, res) = srv
        .request("POST", "/api/v1/sync/push", Some(&s.token), Some(push))
        .await;
    assert_eq!((status, &res["results"][0]["body"]), (200, &first), "{res}");

    let recorded = outbox(&srv).await;
    assert_eq!(subjects(&recorded), ["communication.message.sent"]);
    let payload = &recorded[0].1;
    assert_eq!(payload["messageId"], first["messageId"]);
    assert_eq!(payload["threadId"], json!(thread));
    assert_eq!(payload["tenantId"], json!("north-clinic"));
    assert!(
        !payload.to_string().contains("symptoms"),
        "no message text in an event: {payload}"
    );

    // A receipt is news once; the same readAt again is not.
    let read = json!({"messageIds": [first["messageId"]], "readAt": at(0)});
    for _ in 0..2 {
        let (status, res) = srv
            .request("POST", "/api/v1/read", Some(&s.token), Some(read.clone()))
            .await;
        assert_eq!(status, 200, "{res}");
    }
    let recorded = outbox(&srv).await;
    assert_eq!(
        subjects(&recorded),
        [
            "communication.message.sent",
            "communication.read_receipt.recorded"
        ]
    );
}

#[tokio::test]
async fn visits_beds_and_audit_events_record_their_subjects_without_phi() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let visit = json!({"clientMutationId": cmid(), "chiefComplaint": "A rash on my arm since Monday",
                       "attachments": []});
    for _ in 0..2 {
        let (status, res) = srv
            .request(
                "POST",
                "/api/v1/virtual-care/async-visits",
                Some(&patient.token),
                Some(visit.clone()),
            )
            .await;
        assert_eq!(status, 201, "{res}");
    }
    let nurse = srv.login("north-clinic", "nurse1").await;
    let bed = json!({"status": "occupied", "updatedAt": at(-1), "clientMutationId": cmid()});
    for _ in 0..2 {
        let (status, res) = srv
            .request(
                "PUT",
                "/api/v1/facility/beds/bed-a1-1/status",
                Some(&nurse.token),
                Some(bed.clone()),
            )
            .await;
        assert_eq!(status, 200, "{res}");
    }
    let audit = json!({"clientMutationId": cmid(), "type": "document.printed", "occurredAt": at(-5),
                       "payload": {"artifactId": "a1", "note": "printed for Jane Doe"}});
    for _ in 0..2 {
        let (status, res) = srv
            .request(
                "POST",
                "/api/v1/audit-events",
                Some(&nurse.token),
                Some(audit.clone()),
            )
            .await;
        assert_eq!(status, 201, "{res}");
    }
    let recorded = outbox(&srv).await;
    assert_eq!(
        subjects(&recorded),
        [
            "virtual_care.async_visit.submitted",
            "facility.bed.status_changed",
            "audit.event.recorded"
        ]
    );
    assert_eq!(recorded[1].1["bedId"], json!("bed-a1-1"));
    assert_eq!(recorded[1].1["value"], json!("occupied"));
    for (_, payload) in &recorded {
        let text = payload.to_string();
        assert!(
            !text.contains("rash") && !text.contains("Jane"),
            "PHI in an event: {text}"
        );
    }
}

/// Posts `n` messages and returns the ids of the events they recorded.
async fn post_messages(srv: &TestServer, n: usize) -> Vec<String> {
    let s = srv.login("north-clinic", "patient1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    for i in 0..n {
        let (status, res) = srv
            .request(
                "POST",
                &path,
                Some(&s.token),
                Some(message(&cmid(), &format!("m{i}"))),
            )
            .await;
        assert_eq!(status, 201, "{res}");
    }
    outbox(srv)
        .await
        .iter()
        .map(|(_, p)| p["eventId"].as_str().expect("event id").to_owned())
        .collect()
}

/// The event ids in the stream, in stream order.
async fn stream_ids(relay: &Relay) -> Vec<String> {
    let stream = relay
        .jetstream()
        .get_stream(caresync_server::relay::STREAM)
        .await
        .expect("the stream exists");
    let mut ids = Vec::new();
    for seq in 1.. {
        match stream.get_raw_message(seq).await {
            Ok(msg) => ids.push(
                msg.headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .unwrap_or_else(|| panic!("a Nats-Msg-Id in {:?}", msg.headers))
                    .to_string(),
            ),
            Err(_) => break,
        }
    }
    ids
}

#[tokio::test]
async fn a_relay_restart_after_publishing_and_before_marking_duplicates_nothing() {
    let nats = NatsServer::start().await;
    let srv = TestServer::start().await;
    let ids = post_messages(&srv, 3).await;
    assert_eq!(ids.len(), 3);

    // The first relay publishes, and "crashes" before it marks anything published.
    let first = Relay::connect(&nats.url).await.expect("relay connects");
    let pending = srv.sql(|c| events::pending(c, 100)).await;
    assert_eq!(first.publish(&pending).await.expect("published"), ids);
    drop(first);

    // Its successor finds the same events unpublished and sends them again.
    let second = Relay::connect(&nats.url).await.expect("relay reconnects");
    assert_eq!(second.pass(&srv.state.db).await.expect("a pass"), 3);
    assert_eq!(
        second.pass(&srv.state.db).await.expect("a pass"),
        0,
        "all marked"
    );
    assert_eq!(stream_ids(&second).await, ids, "each event once, in order");
}

#[tokio::test]
async fn a_server_with_nats_configured_relays_what_commits() {
    let nats = NatsServer::start().await;
    let url = nats.url.clone();
    let srv = TestServer::start_config(|c| c.nats_url = Some(url)).await;
    let ids = post_messages(&srv, 2).await;
    let reader = Relay::connect(&nats.url).await.expect("connects");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let unpublished = srv.sql(|c| events::pending(c, 100)).await.len();
        if unpublished == 0 && stream_ids(&reader).await == ids {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the relay published {:?} of {ids:?}",
            stream_ids(&reader).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
