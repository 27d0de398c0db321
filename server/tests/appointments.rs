//! What the Appointments screen needs from the server: each side's list, the provider's
//! reschedule under the optimistic lock (the concurrent change a patient's offline cancel
//! must survive), its idempotency on every path, join links, and the test fixture. The
//! fallback to messaging is in `virtual_care.rs`.

mod common;

use common::{cmid, Session, TestServer};
use serde_json::{json, Value};

const BASE: &str = "/api/v1/virtual-care/sessions";

async fn post(srv: &TestServer, who: &Session, path: &str, body: Value) -> (u16, Value) {
    srv.request(
        "POST",
        &format!("{BASE}/{path}"),
        Some(&who.token),
        Some(body),
    )
    .await
}

async fn get(srv: &TestServer, who: &Session, id: &str) -> Value {
    let (status, body) = srv
        .request("GET", &format!("{BASE}/{id}"), Some(&who.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn each_side_lists_its_sessions_with_names_versions_and_join_links() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let (_, mine) = srv.request("GET", BASE, Some(&patient.token), None).await;
    let (_, theirs) = srv.request("GET", BASE, Some(&doctor.token), None).await;
    assert_eq!(mine, theirs, "both take part in the same three sessions");
    let list = mine.as_array().expect("list");
    let ids: Vec<&str> = list
        .iter()
        .filter_map(|s| s["sessionId"].as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "ses-north-failed",
            "ses-north-waiting",
            "ses-north-scheduled"
        ],
        "soonest first"
    );
    for s in list {
        assert_eq!(s["version"], 1);
        assert_eq!(s["patientName"], "Alex Morgan");
        assert_eq!(s["providerName"], "Dr. Lee");
        assert!(s["scheduledAt"].as_str().is_some_and(|t| t.ends_with('Z')));
        let joinable = s["status"] == "waiting";
        assert_eq!(s["joinUrl"].is_string(), joinable, "{s}");
    }
    assert_eq!(
        list[1]["joinUrl"],
        "https://video.caresync.invalid/join/ses-north-waiting"
    );
    let south = srv.login("south-clinic", "dr-ng").await;
    let (_, other) = srv.request("GET", BASE, Some(&south.token), None).await;
    assert_eq!(other.as_array().map(Vec::len), Some(1));
    assert_eq!(other[0]["sessionId"], "ses-south-scheduled");
}

#[tokio::test]
async fn a_reschedule_keeps_the_session_scheduled_and_a_stale_cancel_is_told_so() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let body = json!({"version": 1, "scheduledAt": "2026-12-01T11:30:00+02:00"});
    let (status, moved) = post(&srv, &doctor, "ses-north-scheduled/reschedule", body).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (&moved["status"], &moved["version"], &moved["scheduledAt"]),
        (
            &json!("scheduled"),
            &json!(2),
            &json!("2026-12-01T09:30:00.000Z")
        )
    );
    assert_eq!(get(&srv, &patient, "ses-north-scheduled").await, moved);

    // The patient's cancel queued against version 1: refused with what is current now.
    let (status, stale) = post(
        &srv,
        &patient,
        "ses-north-scheduled/cancel",
        json!({"version": 1}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        (&stale["code"], &stale["currentVersion"], &stale["status"]),
        (
            &json!("OPTIMISTIC_LOCK_CONFLICT"),
            &json!(2),
            &json!("scheduled")
        )
    );
    let (status, cancelled) = post(
        &srv,
        &patient,
        "ses-north-scheduled/cancel",
        json!({"version": 2}),
    )
    .await;
    assert_eq!(
        (status, &cancelled["status"], &cancelled["version"]),
        (200, &json!("cancelled"), &json!(3))
    );
}

#[tokio::test]
async fn a_cancelled_session_cannot_be_rescheduled() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let (status, _) = post(
        &srv,
        &patient,
        "ses-north-scheduled/cancel",
        json!({"version": 1}),
    )
    .await;
    assert_eq!(status, 200);
    let body = json!({"version": 1, "scheduledAt": "2026-12-02T09:00:00Z"});
    let (status, late) = post(&srv, &doctor, "ses-north-scheduled/reschedule", body).await;
    assert_eq!(status, 409);
    assert_eq!(
        (&late["code"], &late["currentVersion"], &late["status"]),
        (
            &json!("OPTIMISTIC_LOCK_CONFLICT"),
            &json!(2),
            &json!("cancelled")
        )
    );
    let body = json!({"version": 2, "scheduledAt": "2026-12-02T09:00:00Z"});
    let (status, illegal) = post(&srv, &doctor, "ses-north-scheduled/reschedule", body).await;
    assert_eq!(
        (status, &illegal["code"], &illegal["status"]),
        (409, &json!("ILLEGAL_TRANSITION"), &json!("cancelled"))
    );
    assert_eq!(
        get(&srv, &doctor, "ses-north-scheduled").await["version"],
        2
    );
}

#[tokio::test]
async fn a_cancel_after_the_provider_admitted_names_the_active_state() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let (status, admitted) = post(
        &srv,
        &doctor,
        "ses-north-waiting/admit",
        json!({"version": 1}),
    )
    .await;
    assert_eq!(status, 200, "{admitted}");
    assert_eq!(
        admitted["joinUrl"], "https://video.caresync.invalid/join/ses-north-waiting",
        "an active session can still be joined"
    );
    let (status, stale) = post(
        &srv,
        &patient,
        "ses-north-waiting/cancel",
        json!({"version": 1}),
    )
    .await;
    assert_eq!(
        (status, &stale["currentVersion"], &stale["status"]),
        (409, &json!(2), &json!("active"))
    );
    let (status, illegal) = post(
        &srv,
        &patient,
        "ses-north-waiting/cancel",
        json!({"version": 2}),
    )
    .await;
    assert_eq!(
        (status, &illegal["code"], &illegal["status"]),
        (409, &json!("ILLEGAL_TRANSITION"), &json!("active"))
    );
    let (_, ended) = post(
        &srv,
        &doctor,
        "ses-north-waiting/end",
        json!({"version": 2}),
    )
    .await;
    assert_eq!(
        (&ended["status"], &ended["joinUrl"]),
        (&json!("ended"), &Value::Null)
    );
}

#[tokio::test]
async fn only_the_sessions_own_provider_reschedules() {
    let srv = TestServer::start().await;
    // A second provider of the same clinic, with dr-lee's demo password.
    srv.sql(|c| {
        c.execute(
            "INSERT INTO users (id, tenant_id, username, display_name, role, password_hash) \
             SELECT 'usr-north-dr-two', tenant_id, 'dr-two', 'Dr. Two', 'provider', password_hash \
             FROM users WHERE id = 'usr-north-dr-lee'",
            caresync_server::params![],
        )
    })
    .await;
    let body = json!({"version": 1, "scheduledAt": "2026-12-01T09:30:00Z"});
    let patient = srv.login("north-clinic", "patient1").await;
    let (status, refused) = post(
        &srv,
        &patient,
        "ses-north-scheduled/reschedule",
        body.clone(),
    )
    .await;
    assert_eq!((status, &refused["code"]), (403, &json!("FORBIDDEN")));
    for (tenant, user) in [
        ("north-clinic", "dr-two"),
        ("north-clinic", "nurse1"),
        ("south-clinic", "dr-ng"),
    ] {
        let who = srv.login(tenant, user).await;
        let (status, body) = post(&srv, &who, "ses-north-scheduled/reschedule", body.clone()).await;
        assert_eq!(
            (status, &body["code"]),
            (404, &json!("NOT_FOUND")),
            "{user}: another user's session does not exist for them"
        );
    }
    let doctor = srv.login("north-clinic", "dr-lee").await;
    assert_eq!(
        get(&srv, &doctor, "ses-north-scheduled").await["version"],
        1,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_reschedule_needs_a_version_and_an_rfc3339_time() {
    let srv = TestServer::start().await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let path = "ses-north-scheduled/reschedule";
    for bad in [
        json!({"scheduledAt": "2026-12-01T09:30:00Z"}),
        json!({"version": 1, "scheduledAt": "next Tuesday"}),
        json!({"version": 1}),
        json!({"version": 1, "scheduledAt": "2026-12-01T09:30:00Z", "room": 4}),
    ] {
        let (status, body) = post(&srv, &doctor, path, bad.clone()).await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!("INVALID_BODY")),
            "{bad}"
        );
    }
    let (status, moved) = srv
        .request_with(
            "POST",
            &format!("{BASE}/{path}"),
            Some(&doctor.token),
            Some(json!({"scheduledAt": "2026-12-01T09:30:00Z"})),
            &[("If-Match", "W/\"1\"")],
        )
        .await;
    assert_eq!((status, &moved["version"]), (200, &json!(2)), "{moved}");
}

#[tokio::test]
async fn a_reschedule_applies_once_per_key_on_every_path() {
    let srv = TestServer::start().await;
    let doctor = srv.login("north-clinic", "dr-lee").await;
    let path = format!("{BASE}/ses-north-scheduled/reschedule");
    let key = cmid();
    let body =
        json!({"version": 1, "scheduledAt": "2026-12-01T09:30:00Z", "clientMutationId": key});
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(
            srv.request_with(
                "POST",
                &path,
                Some(&doctor.token),
                Some(body.clone()),
                &[("Idempotency-Key", &key)],
            )
            .await,
        );
    }
    assert_eq!(answers[0].0, 200, "{:?}", answers[0]);
    assert_eq!(
        answers[0], answers[1],
        "a retried key gets the first answer"
    );

    // The same through a push (twice: a lost answer), at version 2.
    let id = cmid();
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "session:ses-north-scheduled", "method": "POST",
        "path": path, "body": {"version": 2, "scheduledAt": "2026-12-03T08:00:00Z", "clientMutationId": id}}]});
    let (_, first) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&doctor.token),
            Some(push.clone()),
        )
        .await;
    let (_, again) = srv
        .request("POST", "/api/v1/sync/push", Some(&doctor.token), Some(push))
        .await;
    assert_eq!(first["results"][0]["status"], 200, "{first}");
    assert_eq!(first, again);
    let now = get(&srv, &doctor, "ses-north-scheduled").await;
    assert_eq!(
        (&now["version"], &now["scheduledAt"]),
        (&json!(3), &json!("2026-12-03T08:00:00.000Z"))
    );
}

#[tokio::test]
async fn a_sealed_reschedule_is_dispatched_like_a_push() {
    use common::shared_device::{push_sealed, seal_write, sealing_key, sign_in_on, KIOSK};
    let srv = TestServer::start().await;
    let doctor = sign_in_on(&srv, "north-clinic", "dr-lee", KIOSK).await;
    let key = sealing_key(&srv, &doctor.session).await;
    let path = format!("{BASE}/ses-north-scheduled/reschedule");
    let body =
        json!({"version": 1, "scheduledAt": "2026-12-01T09:30:00Z", "clientMutationId": cmid()});
    let envelope = seal_write(&key, &doctor, "POST", &path, &body);
    let (status, first) = push_sealed(&srv, &doctor.replay, envelope.clone()).await;
    assert_eq!((status, &first["version"]), (200, &json!(2)), "{first}");
    let (_, again) = push_sealed(&srv, &doctor.replay, envelope).await;
    assert_eq!(first, again, "the same sealed write applies once");
}

#[tokio::test]
async fn the_fixture_makes_sessions_in_any_state_in_test_mode_only() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let spec = json!({"tenantId": "north-clinic", "patient": "patient1", "provider": "dr-lee", "status": "waiting"});
    let (status, made) = srv
        .request("POST", "/__test/sessions", None, Some(spec.clone()))
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["sessionId"].as_str().expect("id");
    assert_eq!(
        (&made["status"], &made["version"]),
        (&json!("waiting"), &json!(1))
    );
    assert_eq!(get(&srv, &patient, id).await, made);
    let wrong = json!({"tenantId": "north-clinic", "patient": "dr-lee", "provider": "dr-lee", "status": "waiting"});
    let (status, _) = srv
        .request("POST", "/__test/sessions", None, Some(wrong))
        .await;
    assert_eq!(status, 400, "the patient must be a patient");

    let plain = TestServer::start_with(900, false).await;
    let (status, _) = plain
        .request("POST", "/__test/sessions", None, Some(spec))
        .await;
    assert_ne!(status, 201, "no fixtures outside test mode");
}
