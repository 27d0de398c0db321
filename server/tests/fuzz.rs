//! Property-based fuzz of the write endpoints: whatever JSON arrives, the answer is a
//! documented 2xx or 4xx with a `code`, never a 5xx.

mod common;

use common::TestServer;
use proptest::{prelude::*, strategy::ValueTree as _, test_runner::TestRunner};
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 <>&\"'-]{0,40}".prop_map(Value::String),
        Just(json!("0190f0a0-0000-7000-8000-000000000000")),
        Just(json!("2026-11-22T10:00:00Z")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("clientMutationId".to_owned()),
                    Just("body".to_owned()),
                    Just("messageIds".to_owned()),
                    Just("readAt".to_owned()),
                    Just("mutations".to_owned()),
                    Just("lane".to_owned()),
                    Just("path".to_owned()),
                    Just("method".to_owned()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A valid body with each field either kept or replaced by junk, plus maybe a stray field:
/// this reaches the handlers' own checks, not just the parser.
fn near_valid(thread_message: String) -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        any::<u128>().prop_map(|n| json!(uuid::Uuid::from_u128(n).to_string())),
        arb_json()
    ];
    let text = prop_oneof!["[ -~]{1,60}".prop_map(Value::String), arb_json()];
    let ids = prop_oneof![Just(json!([thread_message])), arb_json()];
    let at = prop_oneof![Just(json!("2026-11-22T10:00:00Z")), arb_json()];
    let stray = prop::option::of(("[a-z]{1,6}", arb_json()));
    (any::<bool>(), id, text, ids, at, stray).prop_map(|(message, id, text, ids, at, stray)| {
        let mut body = if message {
            json!({"clientMutationId": id, "body": text})
        } else {
            json!({"clientMutationId": id, "messageIds": ids, "readAt": at})
        };
        if let (Some((k, v)), Some(o)) = (stray, body.as_object_mut()) {
            o.insert(k, v);
        }
        body
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_endpoints_never_answer_5xx() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let nurse = srv.login("north-clinic", "nurse1").await;
    let thread = srv.thread_id(&s, "Follow-up after your visit").await;
    // Every write route, each called as a user allowed to call it.
    let routes: Vec<(&str, String, &str)> = vec![
        (
            "POST",
            format!("/api/v1/threads/{thread}/messages"),
            s.token.as_str(),
        ),
        ("POST", "/api/v1/read".into(), s.token.as_str()),
        ("POST", "/api/v1/sync/push".into(), s.token.as_str()),
        ("POST", "/api/v1/audit-events".into(), s.token.as_str()),
        (
            "POST",
            "/api/v1/virtual-care/async-visits".into(),
            s.token.as_str(),
        ),
        (
            "POST",
            "/api/v1/virtual-care/sessions/ses-north-scheduled/cancel".into(),
            s.token.as_str(),
        ),
        ("POST", "/v1/documents/render-jobs".into(), s.token.as_str()),
        (
            "PUT",
            "/api/v1/facility/beds/bed-a1-1/status".into(),
            nurse.token.as_str(),
        ),
        (
            "PUT",
            "/api/v1/facility/beds/bed-a1-1/housekeeping-status".into(),
            nurse.token.as_str(),
        ),
    ];
    let first_message = srv.messages(&s, &thread).await[0]["messageId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 900,
        ..ProptestConfig::default()
    });
    let mut by_status = std::collections::BTreeMap::new();
    for i in 0..900 {
        let body = if i % 2 == 0 {
            arb_json().new_tree(&mut runner).expect("value").current()
        } else {
            near_valid(first_message.clone())
                .new_tree(&mut runner)
                .expect("value")
                .current()
        };
        let (method, path, token) = &routes[(i / 2) % routes.len()];
        let (status, answer) = srv
            .request(method, path, Some(token), Some(body.clone()))
            .await;
        assert!(
            status < 500,
            "{method} {path} answered {status} to {body}: {answer}"
        );
        if status >= 400 {
            assert!(
                answer["code"].is_string(),
                "{path} {status} without a code: {answer}"
            );
        }
        *by_status.entry(status).or_insert(0u32) += 1;
    }
    println!(
        "fuzz: 900 bodies over {} write routes, answers by status {by_status:?}",
        routes.len()
    );
    assert!(
        by_status.keys().any(|s| *s < 300),
        "the fuzz never got past validation"
    );
}
