//! A clientMutationId is deduplicated per tenant, but only its author is answered with what it
//! created: another user replaying it gets `409 CLIENT_MUTATION_ID_CONFLICT` and nothing of
//! the original, per resource and through the sync push. `Idempotency-Key` is per user.

mod common;

use common::{cmid, message, Session, TestServer};
use serde_json::{json, Value};

/// The whole refusal: status, code and a message that names nothing of the original.
fn assert_conflict(status: u16, body: &Value, original: &[&str]) {
    assert_eq!(
        (status, body),
        (
            409,
            &json!({
                "statusCode": 409,
                "code": "CLIENT_MUTATION_ID_CONFLICT",
                "message": "This clientMutationId was already used by another user; send the write with a new one."
            })
        ),
    );
    let text = body.to_string();
    for trace in original {
        assert!(!text.contains(trace), "{trace} leaked in {text}");
    }
}

fn at(offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() + offset_secs * 1000,
    )
    .expect("time")
    .to_rfc3339()
}

async fn post(
    srv: &TestServer,
    s: &Session,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    srv.request(method, path, Some(&s.token), Some(body)).await
}

#[tokio::test]
async fn a_message_id_of_another_sender_is_refused_and_its_sender_still_gets_the_original() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let thread = srv.thread_id(&patient, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let (status, first) = post(&srv, &patient, "POST", &path, message(&id, "private words")).await;
    assert_eq!(status, 201, "{first}");
    let message_id = first["messageId"].as_str().expect("messageId");

    let (status, refused) = post(&srv, &doctor, "POST", &path, message(&id, "other words")).await;
    assert_conflict(
        status,
        &refused,
        &["private words", message_id, &patient.user_id],
    );

    let (status, again) = post(&srv, &patient, "POST", &path, message(&id, "private words")).await;
    assert_eq!((status, &again), (201, &first));
    let bodies: Vec<Value> = srv
        .messages(&patient, &thread)
        .await
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert!(
        !bodies.contains(&json!("other words")),
        "the refused write left nothing"
    );
}

#[tokio::test]
async fn a_render_job_id_of_another_requester_is_refused() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let job = json!({"clientMutationId": cmid(), "templateId": "tpl-north-sick-note",
                     "parameters": {"untilDate": "2026-12-04"}});
    let path = "/v1/documents/render-jobs";
    let (status, first) = post(&srv, &patient, "POST", path, job.clone()).await;
    assert_eq!(status, 202, "{first}");
    let job_id = first["renderJobId"].as_str().expect("renderJobId");

    let (status, refused) = post(&srv, &nurse, "POST", path, job.clone()).await;
    assert_conflict(status, &refused, &[job_id, "tpl-north-sick-note"]);

    let (status, again) = post(&srv, &patient, "POST", path, job).await;
    assert_eq!(
        (status, &again["renderJobId"]),
        (202, &first["renderJobId"])
    );
}

#[tokio::test]
async fn an_audit_event_id_of_another_actor_is_refused() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let event = json!({"clientMutationId": cmid(), "type": "document.printed",
                       "occurredAt": "2026-11-22T10:00:00Z", "payload": {"artifactId": "secret-artifact"}});
    let path = "/api/v1/audit-events";
    let (status, first) = post(&srv, &patient, "POST", path, event.clone()).await;
    assert_eq!(status, 201, "{first}");
    let event_id = first["auditEventId"].as_str().expect("auditEventId");

    let (status, refused) = post(&srv, &doctor, "POST", path, event.clone()).await;
    assert_conflict(status, &refused, &[event_id, "secret-artifact"]);

    let (status, again) = post(&srv, &patient, "POST", path, event).await;
    assert_eq!((status, &again), (201, &first));
}

#[tokio::test]
async fn a_bed_write_id_of_another_nurse_is_refused() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let other = srv.login("north-clinic", "nurse2").await;
    let write = json!({"status": "occupied", "updatedAt": at(-5), "clientMutationId": cmid()});
    let path = "/api/v1/facility/beds/bed-a1-1/status";
    let (status, first) = post(&srv, &nurse, "PUT", path, write.clone()).await;
    assert_eq!(
        (status, first["outcome"].as_str()),
        (200, Some("applied")),
        "{first}"
    );

    let (status, refused) = post(&srv, &other, "PUT", path, write.clone()).await;
    assert_conflict(status, &refused, &["applied", "bed-a1-1"]);

    let (status, again) = post(&srv, &nurse, "PUT", path, write).await;
    assert_eq!((status, &again["outcome"]), (200, &json!("applied")));
}

#[tokio::test]
async fn a_pushed_write_with_another_users_id_is_refused_in_its_result() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let thread = srv.thread_id(&patient, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let push = |text: &str| {
        json!({"mutations": [{"clientMutationId": id, "lane": "thread", "method": "POST",
                              "path": path, "body": message(&id, text)}]})
    };
    let (status, first) = post(
        &srv,
        &patient,
        "POST",
        "/api/v1/sync/push",
        push("pushed privately"),
    )
    .await;
    assert_eq!(
        (status, &first["results"][0]["status"]),
        (200, &json!(201)),
        "{first}"
    );
    let message_id = first["results"][0]["body"]["messageId"]
        .as_str()
        .expect("messageId");

    let (status, res) = post(&srv, &doctor, "POST", "/api/v1/sync/push", push("replayed")).await;
    assert_eq!(status, 200, "{res}");
    let result = &res["results"][0];
    assert_eq!(result["status"], 409, "{res}");
    assert_conflict(409, &result["body"], &["pushed privately", message_id]);

    let (_, again) = post(
        &srv,
        &patient,
        "POST",
        "/api/v1/sync/push",
        push("pushed privately"),
    )
    .await;
    assert_eq!(again["results"][0], first["results"][0]);
}

#[tokio::test]
async fn another_users_idempotency_key_answers_only_their_own_write() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let thread = srv.thread_id(&patient, "Follow-up after your visit").await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let key = cmid();
    let headers = [("Idempotency-Key", key.as_str())];
    let (status, first) = srv
        .request_with(
            "POST",
            &path,
            Some(&patient.token),
            Some(message(&cmid(), "patient's")),
            &headers,
        )
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, theirs) = srv
        .request_with(
            "POST",
            &path,
            Some(&doctor.token),
            Some(message(&cmid(), "doctor's")),
            &headers,
        )
        .await;
    assert_eq!(status, 201, "{theirs}");
    assert_eq!(
        (&theirs["body"], &theirs["senderId"]),
        (&json!("doctor's"), &json!(doctor.user_id))
    );
    assert_ne!(theirs["messageId"], first["messageId"]);
}

#[tokio::test]
async fn a_read_receipt_replayed_by_another_user_answers_only_their_own_receipt() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let thread = srv.thread_id(&patient, "Follow-up after your visit").await;
    let first_msg = srv.messages(&patient, &thread).await[0]["messageId"].clone();
    let read = |at: &str| json!({"messageIds": [first_msg], "readAt": at, "clientMutationId": "0190f5c2-0000-7000-8000-000000000001"});
    let (status, mine) = post(
        &srv,
        &patient,
        "POST",
        "/api/v1/read",
        read("2026-11-22T10:00:00Z"),
    )
    .await;
    assert_eq!(
        (status, &mine[0]["userId"]),
        (200, &json!(patient.user_id)),
        "{mine}"
    );

    // Receipts are last-writer-wins per (message, user): the same id is the doctor's own read.
    let (status, theirs) = post(
        &srv,
        &doctor,
        "POST",
        "/api/v1/read",
        read("2026-11-22T09:00:00Z"),
    )
    .await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(
        theirs,
        json!([{"messageId": first_msg, "userId": doctor.user_id, "readAt": theirs[0]["readAt"]}])
    );
    assert!(!theirs.to_string().contains(&patient.user_id));
}
