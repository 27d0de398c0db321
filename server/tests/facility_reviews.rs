//! Manual review of bed writes held for being older than the one-hour window: listed per node
//! for ward managers and providers of it, accepted only while still the latest for their
//! field, rejected, idempotent by review id; other roles get 403, other tenants 404.

mod common;

use common::{cmid, Session, TestServer};
use serde_json::{json, Value};

/// Seconds before now: between one and two hours, so held, yet newer than the demo beds'
/// own stamps (two hours before the server started).
const HELD: i64 = -7000;

fn at(offset_secs: i64) -> String {
    chrono::DateTime::from_timestamp_millis(
        chrono::Utc::now().timestamp_millis() + offset_secs * 1000,
    )
    .expect("time")
    .to_rfc3339()
}

/// A bed write from `s`, stamped `secs` from now; answers the server's status.
async fn write(
    srv: &TestServer,
    s: &Session,
    bed: &str,
    route: &str,
    value: &str,
    secs: i64,
) -> u16 {
    let body = json!({"status": value, "updatedAt": at(secs), "clientMutationId": cmid()});
    let path = format!("/api/v1/facility/beds/{bed}/{route}");
    let (status, answer) = srv.request("PUT", &path, Some(&s.token), Some(body)).await;
    assert!(status < 300, "{answer}");
    status
}

async fn hold(srv: &TestServer, s: &Session, bed: &str, value: &str) {
    assert_eq!(write(srv, s, bed, "status", value, HELD).await, 202);
}

async fn reviews(srv: &TestServer, s: &Session, node: &str) -> (u16, Value) {
    let path = format!("/internal/edge/reviews?nodeId={node}");
    srv.request("GET", &path, Some(&s.token), None).await
}

/// The open review of `bed`, as a reviewer of the whole hospital sees it.
async fn review_of(srv: &TestServer, bed: &str) -> String {
    let lee = srv.login("north-clinic", "dr-lee").await;
    let (status, list) = reviews(srv, &lee, "node-north-hospital").await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .and_then(|l| l.iter().find(|r| r["bedId"] == bed))
        .and_then(|r| r["reviewId"].as_str())
        .expect("an open review of the bed")
        .to_owned()
}

async fn decide(srv: &TestServer, s: &Session, id: &str, action: &str) -> (u16, Value) {
    let path = format!("/internal/edge/reviews/{id}/{action}");
    srv.request("POST", &path, Some(&s.token), Some(json!({})))
        .await
}

fn beds(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|r| r["bedId"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn ward_managers_and_providers_list_the_held_writes_of_their_nodes_only() {
    let srv = TestServer::start().await;
    let nurse1 = srv.login("north-clinic", "nurse1").await;
    let nurse2 = srv.login("north-clinic", "nurse2").await;
    hold(&srv, &nurse1, "bed-a1-1", "reserved").await;
    hold(&srv, &nurse2, "bed-b1-1", "out_of_service").await;
    // Applied and superseded writes are not held.
    write(&srv, &nurse1, "bed-a2-1", "status", "occupied", -30).await;

    let manager = srv.login("north-clinic", "ward-manager1").await;
    let (status, list) = reviews(&srv, &manager, "node-ward-a").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(beds(&list), vec!["bed-a1-1"]);
    let item = &list[0];
    assert_eq!(
        (&item["field"], &item["value"], &item["currentValue"]),
        (&json!("status"), &json!("reserved"), &json!("available"))
    );
    assert_eq!(
        (&item["nodeId"], &item["locationId"], &item["bedLabel"]),
        (&json!("node-ward-a"), &json!("loc-a-1"), &json!("A1-1"))
    );
    assert_eq!(
        (&item["submittedBy"], &item["submittedByName"]),
        (&json!("usr-north-nurse1"), &json!("Nurse Kim"))
    );
    for key in ["reviewId", "updatedAt", "currentUpdatedAt", "receivedAt"] {
        assert!(item[key].is_string(), "{key}: {item}");
    }
    let (status, own) = srv
        .request("GET", "/internal/edge/reviews", Some(&manager.token), None)
        .await;
    assert_eq!(
        (status, &own),
        (200, &list),
        "without a node, the manager's own ward"
    );
    for node in ["node-ward-b", "node-north-hospital"] {
        let (status, body) = reviews(&srv, &manager, node).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "a ward manager of Ward A reviews nothing of {node}"
        );
    }

    let lee = srv.login("north-clinic", "dr-lee").await;
    let (status, all) = reviews(&srv, &lee, "node-north-hospital").await;
    assert_eq!(status, 200);
    assert_eq!(beds(&all), vec!["bed-a1-1", "bed-b1-1"], "oldest first");
    let (_, ward_b) = reviews(&srv, &lee, "node-ward-b").await;
    assert_eq!(beds(&ward_b), vec!["bed-b1-1"]);
    let (status, _) = reviews(&srv, &lee, "node-nowhere").await;
    assert_eq!(status, 404);

    for user in ["nurse1", "nurse2", "patient1"] {
        let s = srv.login("north-clinic", user).await;
        let (status, body) = reviews(&srv, &s, "node-ward-a").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{user}"
        );
    }
    let other = srv.login("south-clinic", "dr-ng").await;
    let (status, _) = reviews(&srv, &other, "node-ward-a").await;
    assert_eq!(status, 404, "another tenant's node does not exist for them");
    let (status, _) = srv
        .request(
            "GET",
            "/internal/edge/reviews?nodeId=node-ward-a",
            None,
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_accepted_write_applies_only_while_it_is_still_the_latest_for_its_field() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let lee = srv.login("north-clinic", "dr-lee").await;
    hold(&srv, &nurse, "bed-a1-1", "reserved").await;
    let id = review_of(&srv, "bed-a1-1").await;
    let (status, accepted) = decide(&srv, &lee, &id, "accept").await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(
        (
            &accepted["reviewId"],
            &accepted["decision"],
            &accepted["decidedBy"]
        ),
        (&json!(id), &json!("accepted"), &json!("usr-north-dr-lee"))
    );
    assert_eq!(accepted["bed"]["status"], "reserved", "applied");
    let (_, list) = reviews(&srv, &lee, "node-north-hospital").await;
    assert!(beds(&list).is_empty(), "closed: {list}");
    let (status, again) = decide(&srv, &lee, &id, "accept").await;
    assert_eq!((status, &again["decision"]), (200, &json!("accepted")));
    assert!(again["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("Already decided"));
    let (_, late) = decide(&srv, &lee, &id, "reject").await;
    assert_eq!(
        late["decision"], "accepted",
        "a closed review stays as it was closed"
    );

    // A newer change to the field wins first: accepting the held one closes it unapplied.
    hold(&srv, &nurse, "bed-a1-2", "occupied").await;
    write(&srv, &nurse, "bed-a1-2", "status", "out_of_service", -10).await;
    let id = review_of(&srv, "bed-a1-2").await;
    let (status, superseded) = decide(&srv, &lee, &id, "accept").await;
    assert_eq!(
        (status, &superseded["decision"]),
        (200, &json!("superseded")),
        "{superseded}"
    );
    assert_eq!(superseded["bed"]["status"], "out_of_service");

    let manager = srv.login("north-clinic", "ward-manager1").await;
    hold(&srv, &nurse, "bed-a2-1", "reserved").await;
    let id = review_of(&srv, "bed-a2-1").await;
    let (status, rejected) = decide(&srv, &manager, &id, "reject").await;
    assert_eq!((status, &rejected["decision"]), (200, &json!("rejected")));
    assert_eq!(rejected["bed"]["status"], "available");
    let (_, late) = decide(&srv, &manager, &id, "accept").await;
    assert_eq!(
        (&late["decision"], &late["bed"]["status"]),
        (&json!("rejected"), &json!("available"))
    );
}

#[tokio::test]
async fn a_held_housekeeping_step_the_state_machine_refuses_stays_open() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let lee = srv.login("north-clinic", "dr-lee").await;
    // Clean cannot go back to cleaning in progress.
    assert_eq!(
        write(
            &srv,
            &nurse,
            "bed-a1-1",
            "housekeeping-status",
            "in_progress",
            HELD
        )
        .await,
        202
    );
    let id = review_of(&srv, "bed-a1-1").await;
    let (status, body) = decide(&srv, &lee, &id, "accept").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION")),
        "{body}"
    );
    assert_eq!(body["status"], "clean");
    assert_eq!(review_of(&srv, "bed-a1-1").await, id, "still open");
    let (status, body) = decide(&srv, &lee, &id, "reject").await;
    assert_eq!((status, &body["decision"]), (200, &json!("rejected")));
    assert_eq!(body["bed"]["housekeepingStatus"], "clean");
}

#[tokio::test]
async fn only_reviewers_of_the_beds_node_decide_and_other_tenants_see_nothing() {
    let srv = TestServer::start().await;
    let nurse2 = srv.login("north-clinic", "nurse2").await;
    hold(&srv, &nurse2, "bed-b1-1", "reserved").await;
    let id = review_of(&srv, "bed-b1-1").await;
    for user in ["ward-manager1", "nurse1", "nurse2", "patient1"] {
        let s = srv.login("north-clinic", user).await;
        let (status, body) = decide(&srv, &s, &id, "accept").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN")),
            "{user}"
        );
    }
    let other = srv.login("south-clinic", "dr-ng").await;
    let (status, body) = decide(&srv, &other, &id, "reject").await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
    let lee = srv.login("north-clinic", "dr-lee").await;
    let (status, _) = decide(&srv, &lee, "no-such-review", "accept").await;
    assert_eq!(status, 404);
    assert_eq!(review_of(&srv, "bed-b1-1").await, id, "still open");

    // The bed leaves the registry before anyone decides.
    let (status, _) = srv
        .request("DELETE", "/__test/beds/bed-b1-1", None, None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = decide(&srv, &lee, &id, "accept").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        (
            body["code"].as_str(),
            body["reference"].as_str(),
            body["bedId"].as_str()
        ),
        (Some("STALE_REFERENCE"), Some("bedId"), Some("bed-b1-1"))
    );
}

#[tokio::test]
async fn a_decision_queued_offline_arrives_through_the_sync_push_once() {
    let srv = TestServer::start().await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let manager = srv.login("north-clinic", "ward-manager1").await;
    hold(&srv, &nurse, "bed-a1-2", "reserved").await;
    let id = review_of(&srv, "bed-a1-2").await;
    let mutation = cmid();
    let push = json!({"mutations": [{"clientMutationId": mutation, "lane": format!("review:{id}"),
        "method": "POST", "path": format!("/internal/edge/reviews/{id}/accept"),
        "body": {"clientMutationId": mutation}}]});
    let (status, first) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&manager.token),
            Some(push.clone()),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let result = &first["results"][0];
    assert_eq!(
        (&result["status"], &result["body"]["decision"]),
        (&json!(200), &json!("accepted")),
        "{first}"
    );
    assert_eq!(result["body"]["bed"]["status"], "reserved");
    let (_, again) = srv
        .request(
            "POST",
            "/api/v1/sync/push",
            Some(&manager.token),
            Some(push),
        )
        .await;
    assert_eq!(again, first, "a replayed push gets its first answer");

    // Per resource, under an Idempotency-Key; a body with anything else is refused.
    hold(&srv, &nurse, "bed-a2-1", "occupied").await;
    let id = review_of(&srv, "bed-a2-1").await;
    let path = format!("/internal/edge/reviews/{id}/reject");
    let key = cmid();
    let headers = [("Idempotency-Key", key.as_str())];
    let (status, body) = srv
        .request_with(
            "POST",
            &path,
            Some(&manager.token),
            Some(json!({"why": "x"})),
            &headers,
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
    let (status, first) = srv
        .request_with(
            "POST",
            &path,
            Some(&manager.token),
            Some(json!({})),
            &headers,
        )
        .await;
    assert_eq!(
        (status, &first["decision"]),
        (200, &json!("rejected")),
        "{first}"
    );
    let (_, again) = srv
        .request_with(
            "POST",
            &path,
            Some(&manager.token),
            Some(json!({})),
            &headers,
        )
        .await;
    assert_eq!(again, first);
}
