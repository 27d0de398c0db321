//! Several instances on one PostgreSQL give the exactly-once answers of one: the same
//! clientMutationId arriving at two servers at once makes one row, one event, and the same
//! answer from both. On SQLite (one process owns the file) the two copies race on one server.

mod common;

use caresync_server::params;
use common::{cmid, message, TestServer};
use serde_json::{json, Value};

const ROUNDS: usize = 20;

#[tokio::test]
async fn one_client_mutation_id_at_two_instances_at_once_is_one_message() {
    let a = TestServer::start().await;
    let other = a.another_instance().await;
    let b = other.as_ref().unwrap_or(&a);
    // Signed in at one, used at both: the instances share their signing secret.
    let s = a.login("north-clinic", "patient1").await;
    let thread = a.thread_id(&s, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let mut ids = Vec::new();
    for round in 0..ROUNDS {
        let id = cmid();
        let body = message(&id, &format!("round {round}"));
        let ((sa, ra), (sb, rb)) = tokio::join!(
            a.request("POST", &path, Some(&s.token), Some(body.clone())),
            b.request("POST", &path, Some(&s.token), Some(body.clone())),
        );
        assert_eq!((sa, sb), (201, 201), "{ra} / {rb}");
        assert_eq!(ra, rb, "both instances answer with the one message");
        ids.push(id);
    }
    // The same race through the sync endpoint, where a write is one savepoint in a batch.
    let id = cmid();
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "t", "method": "POST",
                                     "path": path, "body": message(&id, "pushed")}]});
    let ((sa, ra), (sb, rb)) = tokio::join!(
        a.request(
            "POST",
            "/api/v1/sync/push",
            Some(&s.token),
            Some(push.clone())
        ),
        b.request(
            "POST",
            "/api/v1/sync/push",
            Some(&s.token),
            Some(push.clone())
        ),
    );
    assert_eq!((sa, sb), (200, 200), "{ra} / {rb}");
    assert_eq!(ra["results"][0]["status"], json!(201), "{ra}");
    assert_eq!(ra, rb, "both pushes answer with the one message");
    ids.push(id);

    for id in ids {
        let check = id.clone();
        let (rows, events): (i64, i64) = a
            .sql(move |c| {
                let rows = c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE client_mutation_id = ?1",
                    params![check],
                    |r| r.get(0),
                )?;
                let events = c.query_row(
                    "SELECT COUNT(*) FROM event_outbox WHERE subject = 'communication.message.sent' \
                     AND payload LIKE ?1",
                    params![format!("%{check}%")],
                    |r| r.get(0),
                )?;
                Ok((rows, events))
            })
            .await;
        assert_eq!((rows, events), (1, 1), "clientMutationId {id}");
    }
    let listed: Vec<Value> = b.messages(&s, &thread).await;
    assert_eq!(
        listed
            .iter()
            .filter(|m| m["body"] == json!("pushed"))
            .count(),
        1
    );
}

/// A stream ticket and a stream of `node`, read up to its `ready`.
async fn watch(srv: &TestServer, s: &common::Session, node: &str) -> common::sse::SseStream {
    let (status, body) = srv
        .request("POST", "/internal/edge/stream-ticket", Some(&s.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_str().expect("ticket");
    let path = format!("/internal/edge/stream?nodeId={node}&ticket={ticket}");
    let mut stream = common::sse::SseStream::open(srv, &path, None, &[])
        .await
        .expect("stream opens");
    let ready = stream.next(SOON).await.expect("ready");
    assert_eq!(ready.event, "ready");
    stream
}

const SOON: std::time::Duration = std::time::Duration::from_secs(2);

#[tokio::test]
async fn a_bed_change_committed_at_one_instance_reaches_a_stream_at_the_other() {
    let a = TestServer::start().await;
    let other = a.another_instance().await;
    let b = other.as_ref().unwrap_or(&a);
    let manager = b.login("north-clinic", "ward-manager1").await;
    let mut ward = watch(b, &manager, "node-ward-a").await;
    let nurse = a.login("north-clinic", "nurse1").await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for (bed, value) in [("bed-a1-1", "occupied"), ("bed-a1-2", "reserved")] {
        let write = json!({"status": value, "updatedAt": now, "clientMutationId": cmid()});
        let path = format!("/api/v1/facility/beds/{bed}/status");
        let (status, body) = a
            .request("PUT", &path, Some(&nurse.token), Some(write))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    for (bed, value) in [("bed-a1-1", "occupied"), ("bed-a1-2", "reserved")] {
        let event = ward
            .next_of("bed", SOON)
            .await
            .expect("the other instance streams it");
        assert_eq!(
            (&event.data["bedId"], &event.data["value"]),
            (&json!(bed), &json!(value))
        );
    }
}
