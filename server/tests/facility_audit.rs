//! Facility (edge snapshot, last-writer-wins beds with the one-hour window) and audit events,
//! against the real server and SQLite.

mod common;

use common::{cmid, TestServer};
use serde_json::json;

fn at(offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() + offset_secs * 1000,
    )
    .expect("time")
    .to_rfc3339()
}

#[tokio::test]
async fn the_edge_snapshot_is_the_nodes_subtree_for_staff_only() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (status, ward) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            Some(&nurse.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{ward}");
    assert_eq!(ward["ttlSeconds"], 300);
    assert_eq!(ward["nodes"].as_array().map(Vec::len), Some(1));
    assert_eq!(ward["locations"].as_array().map(Vec::len), Some(2));
    assert_eq!(ward["beds"].as_array().map(Vec::len), Some(3));
    assert_eq!(ward["memberships"][0]["userId"], "usr-north-nurse1");
    let (_, all) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-north-hospital",
            Some(&nurse.token),
            None,
        )
        .await;
    assert_eq!(all["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(all["beds"].as_array().map(Vec::len), Some(4));

    let patient = srv.login("north-clinic", "patient1").await;
    let (status, body) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            Some(&patient.token),
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("FORBIDDEN")));
    let other_tenant = srv.login("south-clinic", "dr-ng").await;
    let (status, _) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            Some(&other_tenant.token),
            None,
        )
        .await;
    assert_eq!(
        status, 404,
        "another tenant's registry does not exist for them"
    );
    // Without a node, the caller's own: nurse1 belongs to Ward A, dr-lee to the hospital.
    let (status, own) = srv
        .request("GET", "/internal/edge/snapshot", Some(&nurse.token), None)
        .await;
    assert_eq!((status, own["nodeId"].as_str()), (200, Some("node-ward-a")));
    let lee = srv.login("north-clinic", "dr-lee").await;
    let (status, own) = srv
        .request("GET", "/internal/edge/snapshot", Some(&lee.token), None)
        .await;
    assert_eq!(
        (status, own["nodeId"].as_str()),
        (200, Some("node-north-hospital"))
    );
    let (status, _) = srv
        .request(
            "GET",
            "/internal/edge/snapshot?nodeId=node-ward-a",
            None,
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn bed_status_is_last_writer_wins_within_an_hour_then_manual_review() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let path = "/api/v1/facility/beds/bed-a1-1/status";
    let put = |status: &str, updated_at: String, id: String| json!({"status": status, "updatedAt": updated_at, "clientMutationId": id});

    let first = cmid();
    let (status, applied) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("occupied", at(-60), first.clone())),
        )
        .await;
    assert_eq!(
        (status, applied["outcome"].as_str()),
        (200, Some("applied")),
        "{applied}"
    );
    assert_eq!(applied["bed"]["status"], "occupied");

    // A write made earlier on another tablet arrives later: the newer one keeps winning.
    let (status, older) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("available", at(-600), cmid())),
        )
        .await;
    assert_eq!(
        (status, older["outcome"].as_str()),
        (200, Some("superseded"))
    );
    assert_eq!(
        older["bed"]["status"], "occupied",
        "the server returns the winning state"
    );

    let (status, late) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("reserved", at(-2 * 3600), cmid())),
        )
        .await;
    assert_eq!(
        (status, late["outcome"].as_str()),
        (202, Some("manual_review"))
    );
    assert!(late["message"]
        .as_str()
        .unwrap_or("")
        .contains("manual review"));
    assert_eq!(late["bed"]["status"], "occupied");

    let (status, again) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("occupied", at(-60), first)),
        )
        .await;
    assert_eq!(
        (status, again["outcome"].as_str()),
        (200, Some("applied")),
        "a retried write gets its first answer"
    );

    let (status, body) = srv
        .request(
            "PUT",
            "/api/v1/facility/beds/bed-gone/status",
            Some(&nurse.token),
            Some(put("occupied", at(0), cmid())),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("STALE_REFERENCE"))
    );
    for user in ["patient1", "dr-lee"] {
        let s = srv.login("north-clinic", user).await;
        let (status, body) = srv
            .request(
                "PUT",
                path,
                Some(&s.token),
                Some(put("occupied", at(0), cmid())),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{user}"
        );
    }
    let (status, body) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("on_fire", at(0), cmid())),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
}

#[tokio::test]
async fn housekeeping_follows_its_state_machine_after_the_merge() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let path = "/api/v1/facility/beds/bed-a2-1/housekeeping-status";
    let put = |s: &str, secs: i64| json!({"status": s, "updatedAt": at(secs), "clientMutationId": cmid()});
    let (status, body) = srv
        .request(
            "PUT",
            path,
            Some(&nurse.token),
            Some(put("in_progress", -50)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION")),
        "clean cannot go back to in progress"
    );
    for (step, secs) in [
        ("dirty", -40),
        ("in_progress", -30),
        ("clean", -20),
        ("inspected", -10),
    ] {
        let (status, body) = srv
            .request("PUT", path, Some(&nurse.token), Some(put(step, secs)))
            .await;
        assert_eq!(
            (status, body["outcome"].as_str()),
            (200, Some("applied")),
            "{step}: {body}"
        );
    }
}

#[tokio::test]
async fn audit_events_are_append_only_and_deduplicated() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let id = cmid();
    let event = json!({"clientMutationId": id, "type": "document.printed", "occurredAt": at(-5), "payload": {"artifactId": "a1"}, "integrity": "hmac-chain-1"});
    let (status, first) = srv
        .request(
            "POST",
            "/api/v1/audit-events",
            Some(&s.token),
            Some(event.clone()),
        )
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["type"], "document.printed");
    assert_eq!(first["payload"]["integrity"], "hmac-chain-1");
    let (status, again) = srv
        .request("POST", "/api/v1/audit-events", Some(&s.token), Some(event))
        .await;
    assert_eq!((status, &again), (201, &first));
    let (status, body) = srv
        .request("POST", "/api/v1/audit-events", Some(&s.token), Some(json!({"clientMutationId": cmid(), "type": "Bad Type!", "occurredAt": at(0), "payload": {}})))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
}

#[tokio::test]
async fn the_sync_endpoint_gives_bed_and_audit_writes_their_own_answers() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (bed, audit) = (cmid(), cmid());
    let push = json!({"mutations": [
        {"clientMutationId": bed, "lane": "bed:bed-b1-1", "method": "PUT", "path": "/api/v1/facility/beds/bed-b1-1/status",
         "body": {"status": "occupied", "updatedAt": at(-30), "clientMutationId": bed}},
        {"clientMutationId": audit, "lane": "audit", "method": "POST", "path": "/api/v1/audit-events",
         "body": {"clientMutationId": audit, "type": "bed.updated", "occurredAt": at(-30), "payload": {}}},
        {"clientMutationId": cmid(), "lane": "bed:gone", "method": "PUT", "path": "/api/v1/facility/beds/gone/status",
         "body": {"status": "occupied", "updatedAt": at(-30), "clientMutationId": cmid()}},
    ]});
    let (status, res) = srv
        .request("POST", "/api/v1/sync/push", Some(&nurse.token), Some(push))
        .await;
    assert_eq!(status, 200, "{res}");
    let statuses: Vec<u64> = res["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, vec![200, 201, 409]);
    assert_eq!(res["results"][2]["body"]["code"], "STALE_REFERENCE");
}
