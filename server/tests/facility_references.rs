//! Stale references (Fac §5): a bed write naming a bed, location or node the registry no
//! longer has, or that no longer holds the bed, is refused with which one is stale; and the
//! test-mode fixture that makes a demo bed disappear and come back.

mod common;

use common::{cmid, Session, TestServer};
use serde_json::{json, Value};

/// A time `offset_secs` from now. Each call is at least a millisecond after the one before:
/// two writes in the same millisecond would tie, and a tie is not a newer write.
fn at(offset_secs: i64) -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let wanted = chrono::Utc::now().timestamp_millis() + offset_secs * 1000;
    let stamp = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(wanted.max(last + 1))
        })
        .map_or(wanted, |last| wanted.max(last + 1));
    chrono::DateTime::from_timestamp_millis(stamp)
        .expect("time")
        .to_rfc3339()
}

/// A status write for `bed`, naming the node and location given.
async fn put_status(
    srv: &TestServer,
    nurse: &Session,
    bed: &str,
    node: Option<&str>,
    location: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"status": "occupied", "updatedAt": at(-5), "clientMutationId": cmid()});
    if let Some(n) = node {
        body["nodeId"] = n.into();
    }
    if let Some(l) = location {
        body["locationId"] = l.into();
    }
    srv.request(
        "PUT",
        &format!("/api/v1/facility/beds/{bed}/status"),
        Some(&nurse.token),
        Some(body),
    )
    .await
}

fn stale(body: &Value) -> (&str, &str, &str) {
    (
        body["code"].as_str().unwrap_or(""),
        body["reference"].as_str().unwrap_or(""),
        body["reason"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn a_node_location_or_bed_that_is_gone_is_a_stale_reference_naming_it() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    // Another tenant's node does not exist for this one.
    srv.sql(|c| {
        c.execute(
            "INSERT INTO facility_nodes (id, tenant_id, parent_id, name, kind) \
             VALUES ('node-south-ward', 'south-clinic', NULL, 'South ward', 'ward')",
            caresync_server::params![],
        )
    })
    .await;
    for node in ["node-gone", "node-south-ward"] {
        let (status, body) = put_status(&srv, &nurse, "bed-a1-1", Some(node), None).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(
            stale(&body),
            ("STALE_REFERENCE", "nodeId", "gone"),
            "{body}"
        );
        assert_eq!(body["nodeId"], node);
    }
    let (status, body) = put_status(&srv, &nurse, "bed-a1-1", None, Some("loc-gone")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(stale(&body), ("STALE_REFERENCE", "locationId", "gone"));
    assert_eq!(body["locationId"], "loc-gone");

    let (status, _) = srv
        .request("DELETE", "/__test/beds/bed-a1-2", None, None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = put_status(
        &srv,
        &nurse,
        "bed-a1-2",
        Some("node-ward-a"),
        Some("loc-a-1"),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(stale(&body), ("STALE_REFERENCE", "bedId", "gone"));
    assert_eq!(body["bedId"], "bed-a1-2");
    // The widest reference that is gone is the one named.
    let (_, body) = put_status(
        &srv,
        &nurse,
        "bed-a1-2",
        Some("node-gone"),
        Some("loc-gone"),
    )
    .await;
    assert_eq!(stale(&body), ("STALE_REFERENCE", "nodeId", "gone"));
    let (_, body) = put_status(&srv, &nurse, "bed-a1-2", None, Some("loc-gone")).await;
    assert_eq!(stale(&body), ("STALE_REFERENCE", "locationId", "gone"));
}

#[tokio::test]
async fn a_node_or_location_that_no_longer_holds_the_bed_is_a_stale_reference() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let (status, body) = put_status(&srv, &nurse, "bed-a1-1", None, Some("loc-a-2")).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        stale(&body),
        ("STALE_REFERENCE", "locationId", "does_not_contain_bed")
    );
    assert_eq!(
        (&body["bedId"], &body["locationId"]),
        (&json!("bed-a1-1"), &json!("loc-a-2"))
    );
    let (status, body) = put_status(&srv, &nurse, "bed-a1-1", Some("node-ward-b"), None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        stale(&body),
        ("STALE_REFERENCE", "nodeId", "does_not_contain_bed")
    );
    assert_eq!(body["nodeId"], "node-ward-b");

    // The bed's own ward, or any node above it, holds it.
    for node in ["node-ward-a", "node-north-hospital"] {
        let (status, body) =
            put_status(&srv, &nurse, "bed-a1-1", Some(node), Some("loc-a-1")).await;
        assert_eq!(
            (status, body["outcome"].as_str()),
            (200, Some("applied")),
            "{node}: {body}"
        );
    }

    // The bed moves to Ward B: a tablet's registry still has it in Room A1 of Ward A.
    srv.sql(|c| {
        c.execute(
            "UPDATE beds SET location_id = 'loc-b-1' WHERE id = 'bed-a1-1'",
            caresync_server::params![],
        )
    })
    .await;
    let id = cmid();
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "bed:bed-a1-1", "method": "PUT",
        "path": "/api/v1/facility/beds/bed-a1-1/status",
        "body": {"status": "reserved", "updatedAt": at(-1), "clientMutationId": id,
                 "nodeId": "node-ward-a", "locationId": "loc-a-1"}}]});
    let (status, res) = srv
        .request("POST", "/api/v1/sync/push", Some(&nurse.token), Some(push))
        .await;
    assert_eq!(status, 200, "{res}");
    let result = &res["results"][0];
    assert_eq!(result["status"], 409, "{res}");
    assert_eq!(
        stale(&result["body"]),
        ("STALE_REFERENCE", "locationId", "does_not_contain_bed")
    );
    let (status, body) = put_status(&srv, &nurse, "bed-a1-1", Some("node-ward-a"), None).await;
    assert_eq!(
        (status, stale(&body)),
        (409, ("STALE_REFERENCE", "nodeId", "does_not_contain_bed"))
    );
    let (status, body) = put_status(
        &srv,
        &nurse,
        "bed-a1-1",
        Some("node-ward-b"),
        Some("loc-b-1"),
    )
    .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
}

#[tokio::test]
async fn the_bed_fixture_deletes_and_restores_a_demo_bed_in_test_mode_only() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let beds = |snapshot: &Value| -> Vec<String> {
        snapshot["beds"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| b["bedId"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let snapshot = "/internal/edge/snapshot?nodeId=node-ward-a";

    let (status, _) = srv
        .request("DELETE", "/__test/beds/bed-a2-1", None, None)
        .await;
    assert_eq!(status, 204);
    let (_, ward) = srv.request("GET", snapshot, Some(&nurse.token), None).await;
    assert!(!beds(&ward).contains(&"bed-a2-1".to_owned()), "{ward}");
    let (status, _) = srv
        .request("DELETE", "/__test/beds/bed-a2-1", None, None)
        .await;
    assert_eq!(status, 404, "already gone");

    let (status, bed) = srv
        .request("POST", "/__test/beds/bed-a2-1/restore", None, None)
        .await;
    assert_eq!(status, 201, "{bed}");
    assert_eq!(
        (
            &bed["bedId"],
            &bed["locationId"],
            &bed["status"],
            &bed["housekeepingStatus"]
        ),
        (
            &json!("bed-a2-1"),
            &json!("loc-a-2"),
            &json!("available"),
            &json!("clean")
        )
    );
    let (_, ward) = srv.request("GET", snapshot, Some(&nurse.token), None).await;
    assert!(beds(&ward).contains(&"bed-a2-1".to_owned()), "{ward}");
    let (status, again) = srv
        .request("POST", "/__test/beds/bed-a2-1/restore", None, None)
        .await;
    assert_eq!(
        (status, &again),
        (200, &bed),
        "a bed that is there is left as it is"
    );
    let (status, _) = srv
        .request("POST", "/__test/beds/bed-unknown/restore", None, None)
        .await;
    assert_eq!(status, 404, "only demo beds come back");
    let (status, body) = put_status(&srv, &nurse, "bed-a2-1", None, Some("loc-a-2")).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("applied")),
        "{body}"
    );

    let plain = TestServer::start_with(900, false).await;
    let (status, _) = plain
        .request("DELETE", "/__test/beds/bed-a2-1", None, None)
        .await;
    assert_ne!(status, 204, "no fixtures outside test mode");
    let (_, ward) = plain
        .request(
            "GET",
            snapshot,
            Some(&plain.login("north-clinic", "nurse1").await.token),
            None,
        )
        .await;
    assert!(beds(&ward).contains(&"bed-a2-1".to_owned()), "{ward}");
}
