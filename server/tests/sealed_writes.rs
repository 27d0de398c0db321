//! `POST /api/v1/sync/sealed`: a sealed write opens only on the server, is dispatched as its
//! own route would be for the credential's user (same dedupe, same answers), and survives a
//! rotation of the sealing key.

mod common;

use caresync_server::sealing;
use common::{
    cmid, message,
    shared_device::{
        audit_event, push_sealed, seal_bytes, seal_write, sealing_key, sign_in_on, KIOSK,
    },
    TestServer,
};
use serde_json::{json, Value};

fn unreadable(status: u16, body: &Value) {
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("SEALED_UNREADABLE")),
        "{body}"
    );
}

#[tokio::test]
async fn a_sealed_write_is_delivered_after_its_author_signed_out_under_their_authority() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &patient.session).await;
    let thread = srv
        .thread_id(&patient.session, "Follow-up after your visit")
        .await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let envelope = seal_write(
        &key,
        &patient,
        "POST",
        &path,
        &message(&id, "sealed marker 41"),
    );
    // The author signs out; the next user signs in on the same kiosk and the queue goes out.
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/auth/logout",
            None,
            Some(json!({"refreshToken": patient.session.refresh})),
        )
        .await;
    assert_eq!(status, 204);
    let _doctor = sign_in_on(&srv, "north-clinic", "dr-lee", KIOSK).await;

    let (status, sealed) = push_sealed(&srv, &patient.replay, envelope.clone()).await;
    assert_eq!(status, 201, "{sealed}");
    assert_eq!(
        sealed["senderId"],
        json!(patient.session.user_id),
        "authored by the patient"
    );
    assert_eq!(sealed["body"], "sealed marker 41");
}

#[tokio::test]
async fn a_duplicate_sealed_write_gets_the_original_as_the_plain_route_does() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &patient.session).await;
    let thread = srv
        .thread_id(&patient.session, "Follow-up after your visit")
        .await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let envelope = seal_write(
        &key,
        &patient,
        "POST",
        &path,
        &message(&id, "sealed marker 41"),
    );
    let (status, sealed) = push_sealed(&srv, &patient.replay, envelope.clone()).await;
    assert_eq!(status, 201, "{sealed}");
    let (status, again) = push_sealed(&srv, &patient.replay, envelope).await;
    assert_eq!(
        (status, &again),
        (201, &sealed),
        "a duplicate gets the original"
    );
    let resealed = seal_write(
        &key,
        &patient,
        "POST",
        &path,
        &message(&id, "sealed marker 41"),
    );
    let (status, again) = push_sealed(&srv, &patient.replay, resealed).await;
    assert_eq!(
        (status, &again),
        (201, &sealed),
        "sealed anew, still the same write"
    );
    let (status, plain) = srv
        .request(
            "POST",
            &path,
            Some(&patient.session.token),
            Some(message(&id, "sealed marker 41")),
        )
        .await;
    assert_eq!((status, &plain), (201, &sealed), "the plain route agrees");
    let rows = srv
        .messages(&patient.session, &thread)
        .await
        .iter()
        .filter(|m| m["clientMutationId"] == json!(id))
        .count();
    assert_eq!(rows, 1, "one row server-side");
}

#[tokio::test]
async fn a_sealed_message_to_an_archived_thread_is_refused_as_the_plain_route_refuses_it() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &patient.session).await;
    let thread = srv
        .thread_id(&patient.session, "Prescription renewal")
        .await;
    let path = format!("/api/v1/threads/{thread}/messages");
    let id = cmid();
    let (plain_status, plain) = srv
        .request(
            "POST",
            &path,
            Some(&patient.session.token),
            Some(message(&id, "one more thing")),
        )
        .await;
    let envelope = seal_write(
        &key,
        &patient,
        "POST",
        &path,
        &message(&id, "one more thing"),
    );
    let (status, sealed) = push_sealed(&srv, &patient.replay, envelope).await;
    assert_eq!((status, &sealed["code"]), (409, &json!("THREAD_ARCHIVED")));
    assert_eq!((status, &sealed), (plain_status, &plain), "the same answer");
}

#[tokio::test]
async fn a_sealed_write_meets_the_rules_of_its_authors_role() {
    let srv = TestServer::start().await;
    let doctor = sign_in_on(&srv, "north-clinic", "dr-lee", KIOSK).await;
    let key = sealing_key(&srv, &doctor.session).await;
    let visit = json!({"clientMutationId": cmid(), "chiefComplaint": "not mine to send"});
    let envelope = seal_write(
        &key,
        &doctor,
        "POST",
        "/api/v1/virtual-care/async-visits",
        &visit,
    );
    let (status, body) = push_sealed(&srv, &doctor.replay, envelope).await;
    assert_eq!(
        (status, &body["code"]),
        (403, &json!("FORBIDDEN")),
        "patients only: {body}"
    );
    let envelope = seal_write(&key, &doctor, "POST", "/api/v1/nowhere", &json!({}));
    let (status, body) = push_sealed(&srv, &doctor.replay, envelope).await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("NOT_FOUND")),
        "{body}"
    );
}

#[tokio::test]
async fn after_a_rotation_the_new_key_is_published_and_the_old_one_still_opens() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let old = sealing_key(&srv, &patient.session).await;
    let sealed_before = seal_write(
        &old,
        &patient,
        "POST",
        "/api/v1/audit-events",
        &audit_event("device.locked"),
    );
    let rotated = srv.state.rotate_sealing_key().await.expect("rotate");
    let new = sealing_key(&srv, &patient.session).await;
    assert_eq!(new["keyId"], json!(rotated.key_id));
    assert_ne!(new["keyId"], old["keyId"]);
    assert_ne!(new["publicKey"], old["publicKey"]);
    assert_eq!(new["suite"], caresync_envelope::SUITE);

    let (status, body) = push_sealed(&srv, &patient.replay, sealed_before).await;
    assert_eq!(status, 201, "sealed to the old key, still opens: {body}");
    let sealed_after = seal_write(
        &new,
        &patient,
        "POST",
        "/api/v1/audit-events",
        &audit_event("device.locked"),
    );
    let (status, _) = push_sealed(&srv, &patient.replay, sealed_after).await;
    assert_eq!(status, 201);

    let old_id = old["keyId"].as_str().expect("id").to_owned();
    assert!(srv.sql(move |c| sealing::retire(c, &old_id)).await);
    let late = seal_write(
        &old,
        &patient,
        "POST",
        "/api/v1/audit-events",
        &audit_event("device.locked"),
    );
    let (status, body) = push_sealed(&srv, &patient.replay, late).await;
    unreadable(status, &body);
}

#[tokio::test]
async fn an_envelope_that_does_not_open_is_unreadable_and_a_malformed_body_is_a_bad_request() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &patient.session).await;
    let write = |srv_key: &Value| {
        seal_write(
            srv_key,
            &patient,
            "POST",
            "/api/v1/audit-events",
            &audit_event("device.locked"),
        )
    };

    let mut unknown = write(&key);
    unknown["keyId"] = json!("no-such-key");
    let mut tampered = write(&key);
    let mut bytes =
        caresync_envelope::from_hex(tampered["ciphertext"].as_str().expect("hex")).expect("hex");
    bytes[3] ^= 0x20;
    tampered["ciphertext"] = json!(caresync_envelope::to_hex(&bytes));
    let mut not_hex = write(&key);
    not_hex["enc"] = json!("not hex at all");
    let mut short_enc = write(&key);
    short_enc["enc"] = json!("abcd");
    let not_a_write = seal_bytes(&key, b"{\"hello\": \"world\"}");
    let not_json = seal_bytes(&key, b"\xff\xfe");
    for envelope in [unknown, tampered, not_hex, short_enc, not_a_write, not_json] {
        let (status, body) = push_sealed(&srv, &patient.replay, envelope).await;
        unreadable(status, &body);
    }

    let (status, body) = push_sealed(&srv, &patient.replay, json!({"keyId": "k"})).await;
    assert_eq!(
        (status, &body["code"]),
        (400, &json!("INVALID_BODY")),
        "{body}"
    );
    let mut extra = write(&key);
    extra["actorId"] = json!("someone");
    let (status, _) = push_sealed(&srv, &patient.replay, extra).await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (status, body) = push_sealed(&srv, &patient.replay, json!("{")).await;
    assert_eq!(status, 400, "{body}");
}
