//! Documents against the real server: published templates with ETags, render jobs
//! deduplicated and rendered to real PDFs, and signed, expiring artifact links.

mod common;

use common::{cmid, TestServer};
use serde_json::json;

#[tokio::test]
async fn only_published_templates_are_listed_and_revalidate_with_an_etag() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let res = srv
        .http
        .get(format!("{}/v1/documents/templates", srv.base))
        .bearer_auth(&s.token)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200);
    let etag = res
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let list: serde_json::Value = res.json().await.expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["Sick note", "Visit summary"],
        "the draft is not published"
    );
    assert_eq!(
        (&list[0]["parameters"], &list[0]["bound"]),
        (
            &json!([{"name": "untilDate", "label": "Unfit for work until", "inputType": "date"}]),
            &json!(["patientName"])
        ),
        "the person picks the date; the server puts in the name"
    );
    assert_eq!(
        (&list[1]["parameters"], &list[1]["bound"]),
        (&json!([]), &json!(["patientName", "visitDate", "summary"]))
    );
    let again = srv
        .http
        .get(format!("{}/v1/documents/templates", srv.base))
        .bearer_auth(&s.token)
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(again.status().as_u16(), 304);
    let other = srv.login("south-clinic", "patient2").await;
    let (_, theirs) = srv
        .request("GET", "/v1/documents/templates", Some(&other.token), None)
        .await;
    assert!(theirs
        .as_array()
        .expect("list")
        .iter()
        .all(|t| t["templateId"]
            .as_str()
            .is_some_and(|id| id.starts_with("tpl-south"))));
}

#[tokio::test]
async fn a_render_job_is_queued_once_rendered_to_a_pdf_and_served_by_a_signed_link() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let id = cmid();
    let job = json!({"clientMutationId": id, "templateId": "tpl-north-sick-note",
                     "parameters": {"untilDate": "2026-12-04"}});
    let (status, first) = srv
        .request(
            "POST",
            "/v1/documents/render-jobs",
            Some(&s.token),
            Some(job.clone()),
        )
        .await;
    assert_eq!(
        (status, first["status"].as_str()),
        (202, Some("queued")),
        "{first}"
    );
    let (status, again) = srv
        .request(
            "POST",
            "/v1/documents/render-jobs",
            Some(&s.token),
            Some(job),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        again["renderJobId"], first["renderJobId"],
        "a replay returns the existing job"
    );

    let job_path = format!(
        "/v1/documents/render-jobs/{}",
        first["renderJobId"].as_str().expect("id")
    );
    let mut done = serde_json::Value::Null;
    for _ in 0..50 {
        let (_, j) = srv.request("GET", &job_path, Some(&s.token), None).await;
        if j["status"] == "done" {
            done = j;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let artifact = done["artifactId"]
        .as_str()
        .expect("rendered within 5 s")
        .to_owned();
    let (status, link) = srv
        .request(
            "GET",
            &format!("/v1/documents/artifacts/{artifact}"),
            Some(&s.token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().expect("url").to_owned();
    assert!(!url.contains("Alex"), "no PHI in the URL");
    let pdf = srv
        .http
        .get(format!("{}{url}", srv.base))
        .send()
        .await
        .expect("get pdf");
    assert_eq!(pdf.status().as_u16(), 200);
    assert_eq!(
        pdf.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    assert_eq!(
        pdf.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let bytes = pdf.bytes().await.expect("bytes");
    assert!(bytes.starts_with(b"%PDF-"));
    let text = common::pdf::PdfFile::new(&bytes).text();
    assert!(
        text.contains("Alex Morgan is unfit for work until 2026-12-04."),
        "{text}"
    );

    let tampered = url.replace("signature=", "signature=00");
    let res = srv
        .http
        .get(format!("{}{tampered}", srv.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 403);
    let later = url.replacen("expires=", "expires=9", 1);
    let res = srv
        .http
        .get(format!("{}{later}", srv.base))
        .send()
        .await
        .expect("get");
    assert_eq!(
        res.status().as_u16(),
        403,
        "the expiry is part of the signature"
    );
    let other = srv.login("north-clinic", "nurse1").await;
    let (status, _) = srv
        .request(
            "GET",
            &format!("/v1/documents/artifacts/{artifact}"),
            Some(&other.token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = srv
        .request("GET", &job_path, Some(&other.token), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn render_jobs_refuse_what_cannot_be_rendered() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let post = |template: &str, params: serde_json::Value| json!({"clientMutationId": cmid(), "templateId": template, "parameters": params});
    let (status, body) = srv
        .request(
            "POST",
            "/v1/documents/render-jobs",
            Some(&s.token),
            Some(post("tpl-north-sick-note", json!({}))),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_BODY")));
    assert!(body["message"].as_str().unwrap_or("").contains("untilDate"));
    assert_eq!(body["parameter"], "untilDate");
    for template in ["tpl-north-consent-draft", "tpl-south-sick-note", "nope"] {
        let (status, _) = srv
            .request(
                "POST",
                "/v1/documents/render-jobs",
                Some(&s.token),
                Some(post(template, json!({}))),
            )
            .await;
        assert_eq!(status, 404, "{template}");
    }
    let (status, _) = srv
        .request("GET", "/v1/documents/templates", None, None)
        .await;
    assert_eq!(status, 401);
    let (status, body) = srv
        .request("GET", "/v1/documents/nothing", Some(&s.token), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND")));
}

/// Queues a sick note for `s` and answers the job as first answered.
async fn queue_sick_note(srv: &TestServer, s: &common::Session) -> serde_json::Value {
    let job = json!({"clientMutationId": cmid(), "templateId": sick_note(s),
                     "parameters": {"untilDate": "2026-12-01"}});
    let (status, body) = srv
        .request(
            "POST",
            "/v1/documents/render-jobs",
            Some(&s.token),
            Some(job),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    body
}

fn sick_note(s: &common::Session) -> &'static str {
    if s.user_id.starts_with("usr-south") {
        "tpl-south-sick-note"
    } else {
        "tpl-north-sick-note"
    }
}

async fn listed_jobs(srv: &TestServer, s: &common::Session) -> Vec<serde_json::Value> {
    let (status, body) = srv
        .request("GET", "/v1/documents/render-jobs", Some(&s.token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().expect("a list").clone()
}

#[tokio::test]
async fn the_job_list_is_the_callers_own_newest_first() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    assert!(listed_jobs(&srv, &s).await.is_empty());
    let first = queue_sick_note(&srv, &s).await;
    let second = queue_sick_note(&srv, &s).await;
    let ids: Vec<&serde_json::Value> = [&second, &first]
        .iter()
        .map(|j| &j["renderJobId"])
        .collect();
    let mine = listed_jobs(&srv, &s).await;
    let listed: Vec<&serde_json::Value> = mine.iter().map(|j| &j["renderJobId"]).collect();
    assert_eq!(listed, ids, "newest first");
    assert_eq!(mine[1]["clientMutationId"], first["clientMutationId"]);

    let colleague = srv.login("north-clinic", "nurse1").await;
    assert!(
        listed_jobs(&srv, &colleague).await.is_empty(),
        "another user of the same tenant sees none of them"
    );
    let elsewhere = srv.login("south-clinic", "patient2").await;
    let theirs = queue_sick_note(&srv, &elsewhere).await;
    let listed = listed_jobs(&srv, &elsewhere).await;
    assert_eq!(listed.len(), 1, "only their own: {listed:?}");
    assert_eq!(listed[0]["renderJobId"], theirs["renderJobId"]);
    assert_eq!(
        listed_jobs(&srv, &s).await.len(),
        2,
        "and not theirs either"
    );
    let (status, _) = srv
        .request("GET", "/v1/documents/render-jobs", None, None)
        .await;
    assert_eq!(status, 401);
}

/// Printing a cached PDF offline is audited when the device is next online (seed 002 §3):
/// the event names the document and device, carries no content, and counts once however
/// often it is delivered.
#[tokio::test]
async fn a_print_from_the_cache_is_audited_once_for_its_owner() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let id = cmid();
    let payload =
        json!({"documentId": "01a20b3e-e468-7333-ac27-09cad1ab9575", "deviceId": "device-7"});
    let event = json!({"clientMutationId": id, "type": "document.printed_from_cache",
                       "occurredAt": "2026-11-23T18:00:00.000Z", "payload": payload});
    let push = json!({"mutations": [{"clientMutationId": id, "lane": "audit", "method": "POST",
                                     "path": "/api/v1/audit-events", "body": event}]});
    for _ in 0..2 {
        // The second push is a device that never saw the first answer.
        let (status, res) = srv
            .request(
                "POST",
                "/api/v1/sync/push",
                Some(&s.token),
                Some(push.clone()),
            )
            .await;
        assert_eq!(status, 200, "{res}");
        assert_eq!(res["results"][0]["status"], 201, "{res}");
    }
    let (status, direct) = srv
        .request("POST", "/api/v1/audit-events", Some(&s.token), Some(event))
        .await;
    assert_eq!((status, &direct["payload"]), (201, &payload));
    let other = json!({"clientMutationId": cmid(), "type": "document.printed",
                       "occurredAt": "2026-11-23T18:01:00.000Z", "payload": {}});
    srv.request("POST", "/api/v1/audit-events", Some(&s.token), Some(other))
        .await;

    let path = "/api/v1/audit-events?type=document.printed_from_cache";
    let (status, listed) = srv.request("GET", path, Some(&s.token), None).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().expect("a list");
    assert_eq!(
        listed.len(),
        1,
        "once per clientMutationId, and only this type: {listed:?}"
    );
    assert_eq!(listed[0]["clientMutationId"], id.as_str());
    assert_eq!(listed[0]["type"], "document.printed_from_cache");
    assert_eq!(listed[0]["occurredAt"], "2026-11-23T18:00:00.000Z");
    assert_eq!(listed[0]["payload"], payload, "as sent: ids only");
    assert_eq!(listed[0]["auditEventId"], direct["auditEventId"]);
    for (tenant, user) in [("north-clinic", "nurse1"), ("south-clinic", "patient2")] {
        let them = srv.login(tenant, user).await;
        let (_, theirs) = srv.request("GET", path, Some(&them.token), None).await;
        assert_eq!(theirs, json!([]), "{tenant}/{user} sees none of it");
    }
}
