//! Render jobs take from the request only what the person chooses: the patient's name, the
//! visit date and the visit summary are bound by the server from the caller's record, and a
//! request that sends one is refused.

mod common;

use common::{cmid, Session, TestServer};
use serde_json::{json, Value};

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn render(
    srv: &TestServer,
    s: &Session,
    id: &str,
    template: &str,
    params: Value,
) -> (u16, Value) {
    let job = json!({"clientMutationId": id, "templateId": template, "parameters": params});
    srv.request(
        "POST",
        "/v1/documents/render-jobs",
        Some(&s.token),
        Some(job),
    )
    .await
}

/// The parameters a job was stored with: what its PDF is rendered from.
async fn stored(srv: &TestServer, id: &str) -> Value {
    let id = id.to_owned();
    let text: String = srv
        .sql(move |c| {
            c.query_row(
                "SELECT parameters FROM render_jobs WHERE client_mutation_id = ?1",
                [id],
                |r| r.get(0),
            )
        })
        .await;
    serde_json::from_str(&text).expect("stored parameters are JSON")
}

fn date_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("a time")
        .format("%Y-%m-%d")
        .to_string()
}

fn today() -> String {
    date_of(chrono::Utc::now().timestamp_millis())
}

#[tokio::test]
async fn a_client_value_for_a_bound_parameter_is_refused_naming_it() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    let cases = [
        (
            "tpl-north-sick-note",
            json!({"patientName": "Someone Else", "untilDate": "2026-12-01"}),
            "patientName",
        ),
        (
            "tpl-north-visit-summary",
            json!({"visitDate": "2020-01-01"}),
            "visitDate",
        ),
        (
            "tpl-north-visit-summary",
            json!({"summary": "All clear."}),
            "summary",
        ),
        // Bound whichever template is asked for: the sick note has no visit date to forge.
        (
            "tpl-north-sick-note",
            json!({"visitDate": "2020-01-01", "untilDate": "2026-12-01"}),
            "visitDate",
        ),
    ];
    for (template, params, name) in cases {
        let (status, body) = render(&srv, &s, &cmid(), template, params).await;
        assert_eq!(
            (status, &body["code"]),
            (400, &json!("INVALID_BODY")),
            "{body}"
        );
        assert_eq!(body["parameter"], name, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("{name} is filled in by the server")),
            "{message}"
        );
    }
    let (status, body) = render(
        &srv,
        &s,
        &cmid(),
        "tpl-north-sick-note",
        json!({"untilDate": "Friday"}),
    )
    .await;
    assert_eq!(
        (status, &body["parameter"]),
        (400, &json!("untilDate")),
        "a date is a date: {body}"
    );
    let (_, jobs) = srv
        .request("GET", "/v1/documents/render-jobs", Some(&s.token), None)
        .await;
    assert_eq!(jobs, json!([]), "nothing refused was queued");
}

#[tokio::test]
async fn name_date_and_summary_come_from_the_callers_record_when_asked() {
    let srv = TestServer::start().await;
    let s = srv.login("north-clinic", "patient1").await;
    // Booked, waiting and failed video visits did not take place: no visit yet.
    let first = cmid();
    let (status, job) = render(&srv, &s, &first, "tpl-north-visit-summary", json!({})).await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(
        stored(&srv, &first).await,
        json!({"patientName": "Alex Morgan", "visitDate": today(),
               "summary": "There is no recent visit on record."})
    );

    let ended_at = chrono::Utc::now().timestamp_millis() - 3 * DAY_MS;
    srv.sql(move |c| {
        c.execute(
            "UPDATE sessions SET status = 'ended', scheduled_at = ?1 WHERE id = 'ses-north-failed'",
            [ended_at],
        )
    })
    .await;
    let after_video = cmid();
    render(&srv, &s, &after_video, "tpl-north-visit-summary", json!({})).await;
    let bound = stored(&srv, &after_video).await;
    assert_eq!(
        bound["visitDate"],
        date_of(ended_at),
        "the video visit that took place"
    );

    let visit = json!({"clientMutationId": cmid(), "chiefComplaint": "Dizzy when standing up"});
    let (status, _) = srv
        .request(
            "POST",
            "/api/v1/virtual-care/async-visits",
            Some(&s.token),
            Some(visit),
        )
        .await;
    assert_eq!(status, 201);
    let after_async = cmid();
    render(&srv, &s, &after_async, "tpl-north-visit-summary", json!({})).await;
    assert_eq!(
        stored(&srv, &after_async).await,
        json!({"patientName": "Alex Morgan", "visitDate": today(), "summary": "Dizzy when standing up"})
    );

    // Bound when first asked: a replay is the same job with the same values, though the
    // record has moved on since.
    let (status, again) = render(&srv, &s, &first, "tpl-north-visit-summary", json!({})).await;
    assert_eq!((status, &again["renderJobId"]), (202, &job["renderJobId"]));
    assert_eq!(
        stored(&srv, &first).await["summary"],
        "There is no recent visit on record."
    );
}

#[tokio::test]
async fn each_caller_gets_their_own_name_and_visits() {
    let srv = TestServer::start().await;
    let alex = srv.login("north-clinic", "patient1").await;
    let visit = json!({"clientMutationId": cmid(), "chiefComplaint": "Alex's complaint"});
    srv.request(
        "POST",
        "/api/v1/virtual-care/async-visits",
        Some(&alex.token),
        Some(visit),
    )
    .await;
    let sam = srv.login("south-clinic", "patient2").await;
    let id = cmid();
    let (status, _) = render(&srv, &sam, &id, "tpl-south-visit-summary", json!({})).await;
    assert_eq!(status, 202);
    let bound = stored(&srv, &id).await;
    assert_eq!(
        (&bound["patientName"], &bound["summary"]),
        (
            &json!("Sam Rivera"),
            &json!("There is no recent visit on record.")
        )
    );
    let nurse = srv.login("north-clinic", "nurse1").await;
    let id = cmid();
    render(
        &srv,
        &nurse,
        &id,
        "tpl-north-sick-note",
        json!({"untilDate": "2026-12-01"}),
    )
    .await;
    assert_eq!(
        stored(&srv, &id).await,
        json!({"patientName": "Nurse Kim", "untilDate": "2026-12-01"}),
        "the caller's own name, never a patient's they can see"
    );
}
