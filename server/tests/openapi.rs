//! The OpenAPI document is served, generated from the code, and covers every route.

mod common;

use common::TestServer;

#[tokio::test]
async fn the_openapi_document_describes_every_operation() {
    // The document needs no data: this server starts without the demo tenants.
    let srv = TestServer::start_config(|c| c.demo_data = false).await;
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::json!({"tenantId": "north-clinic", "username": "patient1", "password": "demo"})),
        )
        .await;
    assert_eq!(status, 401, "no demo data was seeded");
    let (status, doc) = srv.request("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/sessions/revoke",
        "/api/v1/threads/{threadId}/messages",
        "/api/v1/read",
        "/api/v1/sync/push",
        "/api/v1/virtual-care/async-visits",
        "/api/v1/virtual-care/sessions/{sessionId}/cancel",
        "/api/v1/virtual-care/sessions/{sessionId}/reschedule",
        "/v1/documents/render-jobs",
        "/v1/documents/artifacts/{artifactId}/pdf",
        "/internal/edge/snapshot",
        "/api/v1/facility/beds/{bedId}/status",
        "/internal/edge/reviews",
        "/internal/edge/reviews/{reviewId}/accept",
        "/internal/edge/reviews/{reviewId}/reject",
        "/internal/edge/stream-ticket",
        "/internal/edge/stream",
        "/api/v1/audit-events",
        "/api/v1/config",
        "/api/v1/sync/sealed",
        "/api/v1/auth/replay-credentials/revoke",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    let operations: usize = paths
        .values()
        .map(|p| p.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(operations, 40);
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for schema in [
        "ApiError",
        "PostMessage",
        "MessageDto",
        "SyncPushRequest",
        "BedWriteResult",
        "SessionAction",
        "RescheduleSession",
        "DeviceConfig",
        "SealedEnvelope",
        "SealedWrite",
        "SealingKey",
        "ReplayCredential",
        "AuditLink",
        "AuditHead",
        "ReplayRevokeRequest",
        "TemplateDto",
        "TemplateParameterDto",
        "ParameterInput",
        "BedReviewDto",
        "ReviewDecisionIn",
        "ReviewDecisionResult",
        "StreamTicket",
        "BedChangeEvent",
        "StreamMark",
        "StaleReference",
    ] {
        assert!(schemas.contains_key(schema), "missing schema {schema}");
    }
    assert!(
        doc["paths"]["/v1/documents/render-jobs"]["get"].is_object(),
        "the job list"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let replay = &doc["components"]["securitySchemes"]["replay"];
    assert_eq!(
        (&replay["in"], &replay["name"]),
        (&"header".into(), &"Authorization".into())
    );
    assert_eq!(
        doc["paths"]["/api/v1/sync/sealed"]["post"]["security"][0]["replay"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn large_api_answers_are_compressed_and_token_answers_never() {
    let srv = TestServer::start().await;
    let get = |path: &str, encoding: &str| {
        srv.http
            .get(format!("{}{path}", srv.base))
            .header("Accept-Encoding", encoding)
            .send()
    };
    for (asked, sent) in [("br, gzip", "br"), ("gzip", "gzip")] {
        let res = get("/api/openapi.json", asked).await.expect("openapi");
        assert_eq!(res.status(), 200);
        let encoding = res
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or(""));
        assert_eq!(encoding, Some(sent), "asked for {asked}");
    }
    let plain = get("/api/openapi.json", "identity").await.expect("openapi");
    assert!(plain.headers().get("content-encoding").is_none());
    let login = srv
        .http
        .post(format!("{}/api/v1/auth/login", srv.base))
        .header("Accept-Encoding", "br, gzip")
        .json(&serde_json::json!({"tenantId": "north-clinic", "username": "patient1", "password": "demo"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    assert!(
        login.headers().get("content-encoding").is_none(),
        "tokens go out uncompressed"
    );
}
