//! What the Visits screen needs from the server: two photos at the 512 KiB limit go through
//! every path (their base64 is larger than the default 1 MiB body), a refused photo gets a
//! code and its index to park on, and a retried submit never makes a second visit.

mod common;

use base64::Engine as _;
use common::{cmid, Session, TestServer};
use serde_json::{json, Value};

const VISITS: &str = "/api/v1/virtual-care/async-visits";
const LIMIT: usize = 512 * 1024;

/// `len` bytes that start like a PNG.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

fn jpeg(len: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.resize(len, 9);
    bytes
}

fn photo(name: &str, content_type: &str, bytes: &[u8]) -> Value {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({"fileName": name, "contentType": content_type, "dataBase64": data})
}

fn visit(id: &str, complaint: &str, photos: Vec<Value>) -> Value {
    json!({"clientMutationId": id, "chiefComplaint": complaint, "attachments": photos})
}

fn two_at_the_limit(id: &str, complaint: &str) -> Value {
    visit(
        id,
        complaint,
        vec![
            photo("arm.png", "image/png", &png(LIMIT)),
            photo("leg.jpg", "image/jpeg", &jpeg(LIMIT)),
        ],
    )
}

async fn visits(srv: &TestServer, who: &Session) -> Vec<Value> {
    let (status, list) = srv.request("GET", VISITS, Some(&who.token), None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("list").clone()
}

#[tokio::test]
async fn two_photos_at_the_limit_go_through_the_route_a_push_and_back() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let body = two_at_the_limit(&cmid(), "Rash, two photos");
    assert!(
        body.to_string().len() > 1024 * 1024,
        "more than the default body limit"
    );
    let (status, made) = srv
        .request("POST", VISITS, Some(&s.token), Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let sizes: Vec<&Value> = made["attachments"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| &a["size"])
        .collect();
    assert_eq!(sizes, [&json!(LIMIT), &json!(LIMIT)]);
    assert_eq!(
        made["attachments"][0]["fileName"], "arm.png",
        "in the order sent"
    );

    let id = cmid();
    let push = json!({"mutations": [{"clientMutationId": id, "lane": format!("visit:{id}"), "method": "POST",
        "path": VISITS, "body": two_at_the_limit(&id, "Rash, pushed")}]});
    let (status, pushed) = srv
        .request("POST", "/api/v1/sync/push", Some(&s.token), Some(push))
        .await;
    assert_eq!(
        (status, &pushed["results"][0]["status"]),
        (200, &json!(201)),
        "{pushed}"
    );
    assert_eq!(visits(&srv, &s).await.len(), 2);
}

#[tokio::test]
async fn a_photo_comes_back_as_the_image_it_was() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let body = two_at_the_limit(&cmid(), "Rash, read back");
    let (status, made) = srv
        .request("POST", VISITS, Some(&s.token), Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let url = format!(
        "{}{VISITS}/{}/attachments/{}",
        srv.base,
        made["asyncVisitId"].as_str().expect("id"),
        made["attachments"][1]["attachmentId"]
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
        Some("image/jpeg")
    );
    assert_eq!(
        res.bytes().await.expect("bytes").as_ref(),
        jpeg(LIMIT).as_slice()
    );
}

#[tokio::test]
async fn a_photo_over_the_limit_is_refused_with_its_index_and_nothing_is_kept() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let body = visit(
        &cmid(),
        "Too big",
        vec![
            photo("ok.png", "image/png", &png(100)),
            photo("big.jpg", "image/jpeg", &jpeg(LIMIT + 1)),
        ],
    );
    let (status, refused) = srv
        .request("POST", VISITS, Some(&s.token), Some(body))
        .await;
    assert_eq!(status, 413);
    assert_eq!(
        (
            &refused["code"],
            &refused["attachmentIndex"],
            &refused["fileName"],
            &refused["size"],
            &refused["maxBytes"]
        ),
        (
            &json!("PAYLOAD_TOO_LARGE"),
            &json!(1),
            &json!("big.jpg"),
            &json!(LIMIT + 1),
            &json!(LIMIT)
        )
    );
    assert!(
        visits(&srv, &s).await.is_empty(),
        "the first photo was not kept either"
    );

    let huge = visit(
        &cmid(),
        "Far too big",
        vec![photo("x.png", "image/png", &png(3 * 1024 * 1024))],
    );
    let (status, refused) = srv
        .request("POST", VISITS, Some(&s.token), Some(huge))
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (413, &json!("PAYLOAD_TOO_LARGE")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_photo_that_is_not_a_png_or_jpeg_is_an_unsupported_attachment() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    for (name, content_type, bytes) in [
        ("notes.txt", "text/plain", b"hello".to_vec()),
        ("anim.gif", "image/gif", b"GIF89a....".to_vec()),
        ("arm.jpg", "image/jpeg", png(64)),
        ("arm.png", "image/png", b"not an image at all".to_vec()),
        ("empty.png", "image/png", Vec::new()),
    ] {
        let body = visit(
            &cmid(),
            "Odd file",
            vec![
                photo("fine.png", "image/png", &png(10)),
                photo(name, content_type, &bytes),
            ],
        );
        let (status, refused) = srv
            .request("POST", VISITS, Some(&s.token), Some(body))
            .await;
        assert_eq!(status, 415, "{name}: {refused}");
        assert_eq!(
            (
                &refused["code"],
                &refused["attachmentIndex"],
                &refused["fileName"]
            ),
            (&json!("UNSUPPORTED_ATTACHMENT"), &json!(1), &json!(name))
        );
    }
    let bad = json!({"clientMutationId": cmid(), "chiefComplaint": "x",
        "attachments": [{"fileName": "a.png", "contentType": "image/png", "dataBase64": "%%%"}]});
    let (status, refused) = srv.request("POST", VISITS, Some(&s.token), Some(bad)).await;
    assert_eq!(
        (status, &refused["code"], &refused["attachmentIndex"]),
        (400, &json!("INVALID_BODY"), &json!(0))
    );
    assert!(visits(&srv, &s).await.is_empty());
}

#[tokio::test]
async fn a_duplicate_submit_returns_the_original_on_every_path() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let id = cmid();
    let body = two_at_the_limit(&id, "Once only");
    let (status, first) = srv
        .request("POST", VISITS, Some(&s.token), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{first}");
    let (status, plain) = srv
        .request("POST", VISITS, Some(&s.token), Some(body.clone()))
        .await;
    assert_eq!((status, &plain), (201, &first));
    let (status, keyed) = srv
        .request_with(
            "POST",
            VISITS,
            Some(&s.token),
            Some(body.clone()),
            &[("Idempotency-Key", &id)],
        )
        .await;
    assert_eq!((status, &keyed), (201, &first));
    let push = json!({"mutations": [{"clientMutationId": id, "lane": format!("visit:{id}"), "method": "POST", "path": VISITS, "body": body}]});
    let (_, pushed) = srv
        .request("POST", "/api/v1/sync/push", Some(&s.token), Some(push))
        .await;
    assert_eq!(pushed["results"][0]["body"], first);
    assert_eq!(visits(&srv, &s).await, vec![first]);
}

#[tokio::test]
async fn a_visit_whose_answer_was_lost_exists_once_after_the_retry() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let rule = json!({"method": "POST", "path": VISITS, "mode": "drop_after_commit", "times": 1});
    let (status, _) = srv
        .request("POST", "/__test/faults", None, Some(rule))
        .await;
    assert_eq!(status, 204);
    let id = cmid();
    let body = two_at_the_limit(&id, "Lost answer");
    let lost = srv
        .http
        .post(format!("{}{VISITS}", srv.base))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await;
    let read = match lost {
        Ok(res) => res.text().await.map(drop),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "the answer is lost");
    let (status, again) = srv
        .request_with(
            "POST",
            VISITS,
            Some(&s.token),
            Some(body),
            &[("Idempotency-Key", &id)],
        )
        .await;
    assert_eq!(status, 201, "{again}");
    let listed = visits(&srv, &s).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["asyncVisitId"], again["asyncVisitId"]);
}

#[tokio::test]
async fn another_patients_mutation_id_is_refused_not_answered() {
    let srv = TestServer::start().await;
    srv.sql(|c| {
        c.execute(
            "INSERT INTO users (id, tenant_id, username, display_name, role, password_hash) \
             SELECT 'usr-north-patient9', tenant_id, 'patient9', 'Pat Nine', 'patient', password_hash \
             FROM users WHERE id = 'usr-north-patient1'",
            caresync_server::params![],
        )
    })
    .await;
    let owner = srv.login("north-clinic", "patient1").await;
    let other = srv.login("north-clinic", "patient9").await;
    let id = cmid();
    let body = visit(&id, "Mine", vec![]);
    let (status, _) = srv
        .request("POST", VISITS, Some(&owner.token), Some(body.clone()))
        .await;
    assert_eq!(status, 201);
    let (status, refused) = srv
        .request("POST", VISITS, Some(&other.token), Some(body))
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("CLIENT_MUTATION_ID_CONFLICT")),
        "{refused}"
    );
    assert!(refused.get("chiefComplaint").is_none());
    assert!(visits(&srv, &other).await.is_empty());
}

#[tokio::test]
async fn a_sealed_visit_with_two_photos_at_the_limit_is_delivered_once() {
    use common::shared_device::{push_sealed, seal_write, sealing_key, sign_in_on, KIOSK};
    let srv = TestServer::start().await;
    let patient = sign_in_on(&srv, "north-clinic", "patient1", KIOSK).await;
    let key = sealing_key(&srv, &patient.session).await;
    let body = two_at_the_limit(&cmid(), "Sealed on a kiosk");
    let envelope = seal_write(&key, &patient, "POST", VISITS, &body);
    assert!(
        envelope.to_string().len() > 2 * 1024 * 1024,
        "hex doubles it"
    );
    let (status, first) = push_sealed(&srv, &patient.replay, envelope.clone()).await;
    assert_eq!(status, 201, "{first}");
    let (_, again) = push_sealed(&srv, &patient.replay, envelope).await;
    assert_eq!(again, first);
    assert_eq!(visits(&srv, &patient.session).await, vec![first]);
}
