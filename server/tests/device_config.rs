//! `GET /api/v1/config`: a tenant's device policy, public and revalidated, with the idle lock
//! from `CARESYNC_IDLE_LOCK_SECS` and the document cache lifetime from `CARESYNC_DOC_TTL_SECS`
//! for every tenant, and a device class the tenant may force.

mod common;

use caresync_contract::auth::DeviceClass;
use caresync_server::domain::device_policy::set_device_class;
use common::TestServer;
use serde_json::json;

async fn get_config(srv: &TestServer, query: &str) -> reqwest::Response {
    srv.http
        .get(format!("{}/api/v1/config{query}", srv.base))
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn the_config_is_public_lets_users_choose_by_default_and_is_revalidated() {
    let srv = TestServer::start().await;
    let res = get_config(&srv, "?tenantId=north-clinic").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        body,
        json!({"tenantId": "north-clinic", "deviceClass": "either", "idleLockSeconds": 120,
               "documentCacheTtlSeconds": 604_800})
    );
    let again = srv
        .http
        .get(format!("{}/api/v1/config?tenantId=north-clinic", srv.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), 304, "unchanged: revalidated, not resent");
}

#[tokio::test]
async fn the_idle_lock_comes_from_the_server_setting_for_every_tenant() {
    let srv = TestServer::start_config(|c| c.idle_lock_secs = 5).await;
    for tenant in ["north-clinic", "south-clinic"] {
        let (status, body) = srv
            .request(
                "GET",
                &format!("/api/v1/config?tenantId={tenant}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["idleLockSeconds"], 5, "{body}");
    }
}

#[tokio::test]
async fn the_document_cache_lifetime_comes_from_the_server_setting_and_moves_the_etag() {
    let default = TestServer::start().await;
    let res = get_config(&default, "?tenantId=north-clinic").await;
    let default_tag = res.headers()["etag"].to_str().expect("etag").to_owned();
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["documentCacheTtlSeconds"], 7 * 24 * 3600, "seven days");

    let srv = TestServer::start_config(|c| c.doc_ttl_secs = 3600).await;
    for tenant in ["north-clinic", "south-clinic"] {
        let (status, body) = srv
            .request(
                "GET",
                &format!("/api/v1/config?tenantId={tenant}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["documentCacheTtlSeconds"], 3600, "{body}");
    }
    // Same tenant, same class, same idle lock: only the lifetime differs from the default.
    let res = srv
        .http
        .get(format!("{}/api/v1/config?tenantId=north-clinic", srv.base))
        .header("if-none-match", &default_tag)
        .send()
        .await
        .expect("send");
    assert_eq!(
        res.status(),
        200,
        "a config kept under the old lifetime is stale"
    );
    assert_ne!(res.headers()["etag"].to_str().expect("etag"), default_tag);
}

#[tokio::test]
async fn a_tenant_can_force_the_device_class_and_a_changed_policy_is_not_a_cache_hit() {
    let srv = TestServer::start().await;
    let before = get_config(&srv, "?tenantId=north-clinic").await;
    let etag = before.headers()["etag"].to_str().expect("etag").to_owned();
    assert!(
        srv.sql(|c| set_device_class(c, "north-clinic", DeviceClass::Shared))
            .await
    );
    let after = srv
        .http
        .get(format!("{}/api/v1/config?tenantId=north-clinic", srv.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(after.status(), 200);
    let body: serde_json::Value = after.json().await.expect("json");
    assert_eq!(body["deviceClass"], "shared");
    let (_, south) = srv
        .request("GET", "/api/v1/config?tenantId=south-clinic", None, None)
        .await;
    assert_eq!(south["deviceClass"], "either", "only that tenant");
    assert!(
        srv.sql(|c| set_device_class(c, "north-clinic", DeviceClass::Personal))
            .await
    );
    let (_, north) = srv
        .request("GET", "/api/v1/config?tenantId=north-clinic", None, None)
        .await;
    assert_eq!(north["deviceClass"], "personal");
    assert!(
        !srv.sql(|c| set_device_class(c, "nowhere", DeviceClass::Shared))
            .await
    );
}

#[tokio::test]
async fn an_unknown_or_missing_tenant_is_refused() {
    let srv = TestServer::start().await;
    let (status, body) = srv
        .request("GET", "/api/v1/config?tenantId=nowhere", None, None)
        .await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("NOT_FOUND")),
        "{body}"
    );
    for query in ["", "?tenantId="] {
        let (status, body) = srv
            .request("GET", &format!("/api/v1/config{query}"), None, None)
            .await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!("INVALID_BODY")),
            "{body}"
        );
    }
}
