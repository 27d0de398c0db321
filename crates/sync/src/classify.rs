//! Reading the server's answer: the design's classification table, as one pure function.

use crate::{
    model::{Action, Millis, Mutation, ParkReason, Receipt},
    policy::Policy,
    transport::{Answer, NetError},
};

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// 2xx: store the receipt and reconcile the optimistic record.
    Done(Receipt),
    /// No answer, 408, 425, 429 or 5xx: back off (full jitter, honouring `Retry-After`).
    Retry { retry_after_ms: Option<u64> },
    /// 401: pause, refresh the token, rebuild headers, send again.
    Reauth,
    /// A domain refusal: wait for the user, with the reason and what they can do.
    Park {
        reason: ParkReason,
        actions: Vec<Action>,
    },
    /// 409 `OPTIMISTIC_LOCK_CONFLICT` on a version-checked write: refetch and reapply.
    Refetch { current_version: Option<i64> },
}

pub const OPTIMISTIC_LOCK_CONFLICT: &str = "OPTIMISTIC_LOCK_CONFLICT";

pub fn classify(
    policy: Policy,
    mutation: &Mutation,
    result: &Result<Answer, NetError>,
    now: Millis,
) -> Verdict {
    let answer = match result {
        Err(_) => {
            return Verdict::Retry {
                retry_after_ms: None,
            }
        }
        Ok(a) => a,
    };
    match answer.status {
        200..=299 => Verdict::Done(Receipt {
            status: answer.status,
            body: answer.body.clone(),
            at: now,
        }),
        401 => Verdict::Reauth,
        408 | 425 | 429 | 500..=599 => Verdict::Retry {
            retry_after_ms: answer.retry_after_ms,
        },
        409 if policy == Policy::LwwVersion && answer.code() == Some(OPTIMISTIC_LOCK_CONFLICT) => {
            Verdict::Refetch {
                current_version: answer.body.get("currentVersion").and_then(|v| v.as_i64()),
            }
        }
        status => {
            let code = answer.code().unwrap_or("REJECTED").to_owned();
            let message = answer
                .body
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("The server did not accept this change.")
                .to_owned();
            let actions = actions_for(&code, mutation);
            Verdict::Park {
                reason: ParkReason {
                    status,
                    code,
                    message,
                },
                actions,
            }
        }
    }
}

/// What the user can do about a refusal. Discard is always offered; nothing is dropped for them.
pub fn actions_for(code: &str, mutation: &Mutation) -> Vec<Action> {
    let mut actions = match code {
        "THREAD_ARCHIVED" => vec![Action::ReopenThread],
        "STALE_REFERENCE" => vec![Action::RefetchRegistry, Action::Retry],
        _ => vec![Action::Retry],
    };
    if mutation.user_text().is_some() {
        actions.push(Action::CopyText);
    }
    actions.push(Action::Discard);
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AggregateKind, Lane, NewMutation, Request};
    use serde_json::json;

    fn message() -> Mutation {
        Mutation::from_new(
            NewMutation {
                id: uuid::Uuid::nil(),
                tenant: "t".into(),
                actor: "u".into(),
                kind: AggregateKind::Message,
                lane: Lane::new("thread:1"),
                request: Request {
                    method: "POST".into(),
                    path: "/api/v1/threads/1/messages".into(),
                    body: json!({"body": "hello"}),
                },
                coalesce_key: None,
                versioned: None,
            },
            1,
            0,
        )
    }

    fn answer(status: u16, body: serde_json::Value) -> Result<Answer, NetError> {
        Ok(Answer::new(status, body))
    }

    #[test]
    fn the_classification_table() {
        let m = message();
        let p = Policy::AppendOnly;
        assert!(
            matches!(classify(p, &m, &answer(201, json!({})), 5), Verdict::Done(r) if r.at == 5)
        );
        assert_eq!(
            classify(p, &m, &Err(NetError::Timeout), 0),
            Verdict::Retry {
                retry_after_ms: None
            }
        );
        let mut busy = Answer::new(429, json!({}));
        busy.retry_after_ms = Some(2_000);
        assert_eq!(
            classify(p, &m, &Ok(busy), 0),
            Verdict::Retry {
                retry_after_ms: Some(2_000)
            }
        );
        assert!(matches!(
            classify(p, &m, &answer(503, json!({})), 0),
            Verdict::Retry { .. }
        ));
        assert_eq!(classify(p, &m, &answer(401, json!({})), 0), Verdict::Reauth);
        let archived = classify(
            p,
            &m,
            &answer(
                409,
                json!({"statusCode": 409, "code": "THREAD_ARCHIVED", "message": "archived"}),
            ),
            0,
        );
        assert_eq!(
            archived,
            Verdict::Park {
                reason: ParkReason {
                    status: 409,
                    code: "THREAD_ARCHIVED".into(),
                    message: "archived".into()
                },
                actions: vec![Action::ReopenThread, Action::CopyText, Action::Discard],
            }
        );
    }

    #[test]
    fn optimistic_lock_refetches_only_for_versioned_writes() {
        let m = message();
        let body =
            json!({"statusCode": 409, "code": "OPTIMISTIC_LOCK_CONFLICT", "currentVersion": 3});
        assert_eq!(
            classify(Policy::LwwVersion, &m, &answer(409, body.clone()), 0),
            Verdict::Refetch {
                current_version: Some(3)
            }
        );
        assert!(matches!(
            classify(Policy::AppendOnly, &m, &answer(409, body), 0),
            Verdict::Park { .. }
        ));
    }

    #[test]
    fn an_unexplained_refusal_is_parked_not_dropped() {
        let m = message();
        match classify(Policy::AppendOnly, &m, &answer(400, json!("nonsense")), 0) {
            Verdict::Park { reason, actions } => {
                assert_eq!(reason.code, "REJECTED");
                assert!(actions.contains(&Action::Discard));
            }
            other => panic!("expected park, got {other:?}"),
        }
    }
}
