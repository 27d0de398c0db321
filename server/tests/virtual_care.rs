//! Virtual care against the real server: async visits with images, session actions under the
//! optimistic lock, roles, transitions, and the fallback to messaging.

mod common;

use base64::Engine as _;
use common::{cmid, TestServer};
use serde_json::{json, Value};

fn png(extra: usize) -> String {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    bytes.extend(std::iter::repeat_n(7u8, extra));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn visit(id: &str, data: String, content_type: &str) -> Value {
    json!({"clientMutationId": id, "chiefComplaint": "A rash on my arm since Monday",
           "attachments": [{"fileName": "arm.png", "contentType": content_type, "dataBase64": data}]})
}

#[tokio::test]
async fn an_async_visit_is_created_once_with_its_images() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let path = "/api/v1/virtual-care/async-visits";
    let id = cmid();
    let (status, first) = srv
        .request(
            "POST",
            path,
            Some(&s.token),
            Some(visit(&id, png(100), "image/png")),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "submitted");
    assert_eq!(first["attachments"][0]["size"], 108);
    let (status, again) = srv
        .request(
            "POST",
            path,
            Some(&s.token),
            Some(visit(&id, png(100), "image/png")),
        )
        .await;
    assert_eq!(
        (status, &again),
        (201, &first),
        "a duplicate submit returns the original"
    );
    let (_, list) = srv.request("GET", path, Some(&s.token), None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    let url = format!(
        "{}{path}/{}/attachments/{}",
        srv.base,
        first["asyncVisitId"].as_str().expect("id"),
        first["attachments"][0]["attachmentId"]
            .as_str()
            .expect("attachment")
    );
    let res = srv
        .http
        .get(&url)
        .bearer_auth(&s.token)
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(res.bytes().await.expect("bytes").len(), 108);
    let other = srv.login("south-clinic", "patient2").await;
    let res = srv
        .http
        .get(&url)
        .bearer_auth(&other.token)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 404);

    let (status, body) = srv
        .request(
            "POST",
            path,
            Some(&s.token),
            Some(visit(&cmid(), png(10), "image/jpeg")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (415, Some("UNSUPPORTED_ATTACHMENT")),
        "a PNG is not a JPEG"
    );
    let (status, body) = srv
        .request(
            "POST",
            path,
            Some(&s.token),
            Some(visit(&cmid(), png(600 * 1024), "image/png")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let (status, _) = srv
        .request(
            "POST",
            path,
            Some(&doctor.token),
            Some(visit(&cmid(), png(10), "image/png")),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn session_actions_need_the_current_version_and_a_legal_transition() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let base = "/api/v1/virtual-care/sessions";
    let (_, list) = srv.request("GET", base, Some(&patient.token), None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(3));

    let (status, cancelled) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-scheduled/cancel"),
            Some(&patient.token),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        (
            status,
            cancelled["status"].as_str(),
            cancelled["version"].as_i64()
        ),
        (200, Some("cancelled"), Some(2))
    );
    let (status, stale) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-scheduled/cancel"),
            Some(&patient.token),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        stale,
        json!({"statusCode": 409, "code": "OPTIMISTIC_LOCK_CONFLICT", "message": "The session changed since you saw it.", "currentVersion": 2, "status": "cancelled"})
    );
    assert_eq!(status, 409);
    let (status, illegal) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-scheduled/cancel"),
            Some(&patient.token),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(
        (status, illegal["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION"))
    );

    let (status, body) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-waiting/admit"),
            Some(&patient.token),
            Some(json!({"version": 1})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN")),
        "only providers admit"
    );
    let (status, admitted) = srv
        .request_with(
            "POST",
            &format!("{base}/ses-north-waiting/admit"),
            Some(&doctor.token),
            Some(json!({})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(
        (status, admitted["status"].as_str()),
        (200, Some("active")),
        "{admitted}"
    );
    let (status, ended) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-waiting/end"),
            Some(&patient.token),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(
        (status, ended["status"].as_str(), ended["version"].as_i64()),
        (200, Some("ended"), Some(3))
    );

    let other = srv.login("south-clinic", "patient2").await;
    let (status, _) = srv
        .request(
            "GET",
            &format!("{base}/ses-north-waiting"),
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = srv
        .request(
            "POST",
            &format!("{base}/ses-south-scheduled/cancel"),
            Some(&other.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("INVALID_BODY")),
        "a version is required"
    );
}

#[tokio::test]
async fn a_failed_session_falls_back_to_one_messaging_thread() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let base = "/api/v1/virtual-care/sessions";
    let (status, first) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-failed/fallback"),
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let thread = first["fallbackThreadId"]
        .as_str()
        .expect("thread")
        .to_owned();
    let (_, again) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-failed/fallback"),
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!(again["fallbackThreadId"], thread.as_str());
    assert!(srv
        .threads(&patient)
        .await
        .iter()
        .any(|t| t["threadId"] == thread.as_str()));
    assert_eq!(srv.messages(&patient, &thread).await.len(), 1);
    let (status, body) = srv
        .request(
            "POST",
            &format!("{base}/ses-north-scheduled/fallback"),
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION"))
    );
}

#[tokio::test]
async fn a_stale_cancel_in_a_push_gets_the_same_conflict() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let id = cmid();
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "session:ses-north-scheduled", "method": "POST",
        "path": "/api/v1/virtual-care/sessions/ses-north-scheduled/cancel", "body": {"version": 7, "clientMutationId": id}}]});
    let (status, res) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&patient.token),
            Some(push),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(res["results"][0]["status"], 409);
    assert_eq!(res["results"][0]["body"]["currentVersion"], 1);
}

const BASE: &str = "/api/v1/virtual-care/sessions";

#[tokio::test]
async fn the_fallback_returns_one_thread_both_sides_can_open() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let (status, first) = srv
        .request(
            "POST",
            &format!("{BASE}/ses-north-failed/fallback"),
            Some(&doctor.token),
            None,
        )
        .await;
    assert_eq!(
        (status, &first["status"]),
        (200, &json!("failed")),
        "{first}"
    );
    let thread = first["fallbackThreadId"]
        .as_str()
        .expect("thread")
        .to_owned();
    let (_, again) = srv
        .request(
            "POST",
            &format!("{BASE}/ses-north-failed/fallback"),
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!(
        again, first,
        "asking again, from either side, gives the same thread"
    );
    assert_eq!(
        srv.request(
            "GET",
            &format!("{BASE}/ses-north-failed"),
            Some(&patient.token),
            None
        )
        .await
        .1["fallbackThreadId"],
        thread.as_str()
    );
    for who in [&patient, &doctor] {
        let subject = srv
            .threads(who)
            .await
            .into_iter()
            .find(|t| t["threadId"] == thread.as_str())
            .map(|t| t["subject"].clone());
        assert_eq!(
            subject,
            Some(json!("Your video visit: continue by message"))
        );
        assert_eq!(srv.messages(who, &thread).await.len(), 1);
    }
}
