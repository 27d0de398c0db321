//! The tamper-evident audit chain: the server checks each chained event's MAC and that it
//! continues the head it last acknowledged, refuses anything else with `422
//! AUDIT_CHAIN_BROKEN` and keeps a tamper alert — on its own route, in a sync push, and in a
//! sealed write alike.

mod common;

use caresync_contract::audit::GENESIS;
use common::{
    cmid,
    shared_device::{
        audit_event, chain, chain_of, push_sealed, seal_write, sealing_key, sign_in_on,
        DeviceSession, KIOSK, TABLET,
    },
    TestServer,
};
use serde_json::{json, Value};

async fn send(srv: &TestServer, who: &DeviceSession, event: &Value) -> (u16, Value) {
    srv.request(
        "POST",
        "/api/v1/audit-events",
        Some(&who.session.token),
        Some(event.clone()),
    )
    .await
}

fn broken(status: u16, body: &Value) {
    assert_eq!(
        (status, &body["code"]),
        (422, &json!("AUDIT_CHAIN_BROKEN")),
        "{body}"
    );
}

/// The tamper alerts so far: (device, seq, reason).
async fn alerts(srv: &TestServer) -> Vec<(String, i64, String)> {
    srv.sql(|c| {
        let mut stmt =
            c.prepare("SELECT device_id, seq, reason FROM audit_tamper_alerts ORDER BY id")?;
        let rows = stmt.query_map(caresync_server::params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect()
    })
    .await
}

fn mac_of(event: &Value) -> String {
    event["chain"]["mac"].as_str().expect("mac").to_owned()
}

#[tokio::test]
async fn a_valid_chain_is_accepted_the_head_advances_and_a_retry_gets_the_original() {
    let srv = TestServer::start().await;
    let kiosk = sign_in_on(&srv, "north-clinic", "nurse1", KIOSK).await;
    let events = chain_of(3, &kiosk.audit_key, KIOSK);
    let mut answers = Vec::new();
    for event in &events {
        let (status, body) = send(&srv, &kiosk, event).await;
        assert_eq!(status, 201, "{body}");
        answers.push(body);
    }
    let again = sign_in_on(&srv, "north-clinic", "nurse1", KIOSK).await;
    assert_eq!(
        again.body["auditHead"],
        json!({"seq": 3, "mac": mac_of(&events[2])}),
        "the next sign-in continues from the acknowledged head"
    );
    for (event, first) in [(&events[2], &answers[2]), (&events[0], &answers[0])] {
        let (status, retry) = send(&srv, &kiosk, event).await;
        assert_eq!((status, &retry), (201, first), "a retry is not a replay");
    }
    let stored: Vec<i64> = srv
        .sql(|c| {
            let mut stmt = c.prepare(
                "SELECT chain_seq FROM audit_events WHERE chain_device_id IS NOT NULL ORDER BY chain_seq",
            )?;
            let rows = stmt.query_map(caresync_server::params![], |r| r.get(0))?;
            rows.collect()
        })
        .await;
    assert_eq!(stored, vec![1, 2, 3]);
    assert!(alerts(&srv).await.is_empty());
    // Each device has its own chain.
    let tablet = sign_in_on(&srv, "north-clinic", "nurse1", TABLET).await;
    assert_eq!(tablet.body["auditHead"], json!({"seq": 0, "mac": GENESIS}));
    let (status, _) = send(&srv, &tablet, &chain_of(1, &tablet.audit_key, TABLET)[0]).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_tampered_byte_is_refused_and_leaves_a_tamper_alert() {
    let srv = TestServer::start().await;
    let kiosk = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let events = chain_of(2, &kiosk.audit_key, KIOSK);
    assert_eq!(send(&srv, &kiosk, &events[0]).await.0, 201);

    let mut payload = events[1].clone();
    payload["payload"]["writes"] = json!(4);
    let mut mac = events[1].clone();
    let mut bytes = caresync_envelope::from_hex(&mac_of(&events[1])).expect("hex");
    bytes[31] ^= 1;
    mac["chain"]["mac"] = json!(caresync_envelope::to_hex(&bytes));
    let mut kind = events[1].clone();
    kind["type"] = json!("device.unlocked");
    for tampered in [payload, mac, kind] {
        let (status, body) = send(&srv, &kiosk, &tampered).await;
        broken(status, &body);
    }
    let kept = alerts(&srv).await;
    assert_eq!(kept.len(), 3);
    assert!(
        kept.iter()
            .all(|(d, seq, reason)| d == KIOSK && *seq == 2 && reason == "mac"),
        "{kept:?}"
    );
    // Nothing of the refused events was stored, and the chain goes on from where it was.
    let (status, body) = send(&srv, &kiosk, &events[1]).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_dropped_event_a_reordered_one_a_fork_and_a_replay_are_refused() {
    let srv = TestServer::start().await;
    let kiosk = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = kiosk.audit_key.clone();
    let events = chain_of(3, &key, KIOSK);

    let (status, body) = send(&srv, &kiosk, &events[1]).await;
    broken(status, &body); // reordered: 2 before 1
    assert_eq!(send(&srv, &kiosk, &events[0]).await.0, 201);
    let (status, body) = send(&srv, &kiosk, &events[2]).await;
    broken(status, &body); // dropped: 3 right after 1
    let (fork, _) = chain(&audit_event("device.wiped"), &key, KIOSK, 2, GENESIS);
    let (status, body) = send(&srv, &kiosk, &fork).await;
    broken(status, &body); // a second event 2 that does not follow event 1
    let mut renamed = events[0].clone();
    renamed["clientMutationId"] = json!(cmid());
    let (status, body) = send(&srv, &kiosk, &renamed).await;
    broken(status, &body); // replayed under a new id: the MAC covers the id
    let (replayed, _) = chain(&renamed, &key, KIOSK, 1, GENESIS);
    let (status, body) = send(&srv, &kiosk, &replayed).await;
    broken(status, &body); // even re-signed, seq 1 is behind the head

    let reasons: Vec<String> = alerts(&srv).await.into_iter().map(|(_, _, r)| r).collect();
    assert_eq!(reasons, ["gap", "gap", "fork", "mac", "stale"]);
    assert_eq!(send(&srv, &kiosk, &events[1]).await.0, 201);
    assert_eq!(send(&srv, &kiosk, &events[2]).await.0, 201);
}

#[tokio::test]
async fn a_chain_with_no_key_for_the_caller_on_that_device_is_refused() {
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let event = &chain_of(1, &patient.audit_key, KIOSK)[0];
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/audit-events",
            Some(&nurse.token),
            Some(event.clone()),
        )
        .await;
    broken(status, &body);
    assert_eq!(
        alerts(&srv).await,
        [(KIOSK.to_owned(), 1, "unknown_device".to_owned())]
    );
    let mut long = event.clone();
    long["chain"]["deviceId"] = json!("x".repeat(65));
    let (status, _) = send(&srv, &patient, &long).await;
    assert_eq!(status, 400);
    let unchained = audit_event("device.locked");
    assert_eq!(
        send(&srv, &patient, &unchained).await.0,
        201,
        "no chain, no check"
    );
}

#[tokio::test]
async fn the_chain_is_checked_inside_a_sync_push_and_a_sealed_write() {
    let srv = TestServer::start().await;
    let kiosk = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let events = chain_of(4, &kiosk.audit_key, KIOSK);
    let mutation = |e: &Value| {
        json!({"clientMutationId": e["clientMutationId"], "lane": "audit",
        "method": "POST", "path": "/api/v1/audit-events", "body": e})
    };
    let push =
        json!({"mutations": [mutation(&events[0]), mutation(&events[2]), mutation(&events[1])]});
    let (status, res) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&kiosk.session.token),
            Some(push),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let statuses: Vec<&Value> = res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [&json!(201), &json!(422), &json!(424)]);
    assert_eq!(res["results"][1]["body"]["code"], "AUDIT_CHAIN_BROKEN");
    assert_eq!(
        alerts(&srv).await.len(),
        1,
        "the alert outlives the refused write"
    );

    let key = sealing_key(&srv, &kiosk.session).await;
    let sealed = |e: &Value| seal_write(&key, &kiosk, "POST", "/api/v1/audit-events", e);
    let (status, body) = push_sealed(&srv, &kiosk.replay, sealed(&events[2])).await;
    broken(status, &body);
    assert_eq!(alerts(&srv).await.len(), 2);
    for event in &events[1..] {
        let (status, body) = push_sealed(&srv, &kiosk.replay, sealed(event)).await;
        assert_eq!(status, 201, "{body}");
    }
    let again = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    assert_eq!(again.body["auditHead"]["seq"], 4);
}

#[tokio::test]
async fn a_caller_lists_only_their_own_audit_events_by_type() {
    let srv = TestServer::start().await;
    let patient = srv.login("north-clinic", "patient1").await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    for (session, kind) in [
        (&patient, "device.locked"),
        (&patient, "device.wiped"),
        (&nurse, "device.locked"),
    ] {
        let event = serde_json::json!({
            "clientMutationId": uuid::Uuid::now_v7().to_string(),
            "type": kind,
            "occurredAt": "2026-11-23T10:00:00.000Z",
            "payload": {"reason": "idle"}
        });
        let (status, body) = srv
            .request(
                "POST",
                "/api/v1/audit-events",
                Some(&session.token),
                Some(event),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, mine) = srv
        .request(
            "GET",
            "/api/v1/audit-events?type=device.locked",
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mine = mine.as_array().expect("a list");
    assert_eq!(
        mine.len(),
        1,
        "only the patient's own, of that type: {mine:?}"
    );
    assert_eq!(mine[0]["type"], "device.locked");
    let (_, all) = srv
        .request("GET", "/api/v1/audit-events", Some(&patient.token), None)
        .await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let (status, _) = srv.request("GET", "/api/v1/audit-events", None, None).await;
    assert_eq!(status, 401);
}
