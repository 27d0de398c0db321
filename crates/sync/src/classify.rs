//! Reading the server's answer: the design's classification table, as one pure function.

use caresync_contract::ErrorCode;

use crate::{
    model::{Action, Millis, Mutation, ParkReason, Receipt, RefusalCode},
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

/// The statuses a later try may succeed on: timeout, too early, too many requests, and any
/// server error. A write backs off on them; a page's read is tried again (the app's
/// `FetchError::is_transient`).
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500..=599)
}

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
        status if is_retryable(status) => Verdict::Retry {
            retry_after_ms: answer.retry_after_ms,
        },
        status => {
            let code = answer
                .code()
                .map_or(RefusalCode::Unknown("REJECTED".into()), RefusalCode::parse);
            // A version conflict is refetched and reapplied, but only for a write that says
            // where to refetch; any other is a refusal like the rest.
            if status == 409
                && code.is(ErrorCode::OptimisticLockConflict)
                && policy == Policy::LwwVersion
                && mutation.versioned.is_some()
            {
                return Verdict::Refetch {
                    current_version: answer.body.get("currentVersion").and_then(|v| v.as_i64()),
                };
            }
            let message = answer
                .body
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default()
                .to_owned();
            let reason = ParkReason {
                status,
                code,
                message,
                attachment: answer
                    .body
                    .get("attachmentIndex")
                    .and_then(|i| i.as_u64())
                    .and_then(|i| usize::try_from(i).ok()),
            };
            let actions = actions_for(&reason, mutation);
            Verdict::Park { reason, actions }
        }
    }
}

/// What the user can do about a refusal. Discard is always offered; nothing is dropped for them.
pub fn actions_for(reason: &ParkReason, mutation: &Mutation) -> Vec<Action> {
    let mut actions = match &reason.code {
        RefusalCode::Known(ErrorCode::ThreadArchived) => vec![Action::ReopenThread],
        RefusalCode::Known(ErrorCode::StaleReference) => {
            vec![Action::RefetchRegistry, Action::Retry]
        }
        _ if reason.attachment.is_some() => vec![Action::RemoveAttachment, Action::Retry],
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
                    code: ErrorCode::ThreadArchived.into(),
                    message: "archived".into(),
                    attachment: None,
                },
                actions: vec![Action::ReopenThread, Action::CopyText, Action::Discard],
            }
        );
    }

    #[test]
    fn a_refused_attachment_is_named_and_can_be_removed() {
        let mut visit = message();
        visit.request.body = json!({"chiefComplaint": "rash", "attachments": [{}, {}]});
        let refused = classify(
            Policy::AppendOnly,
            &visit,
            &answer(
                415,
                json!({"statusCode": 415, "code": "UNSUPPORTED_ATTACHMENT", "message": "Photo 2: not a JPEG.", "attachmentIndex": 1}),
            ),
            0,
        );
        assert_eq!(
            refused,
            Verdict::Park {
                reason: ParkReason {
                    status: 415,
                    code: ErrorCode::UnsupportedAttachment.into(),
                    message: "Photo 2: not a JPEG.".into(),
                    attachment: Some(1),
                },
                actions: vec![
                    Action::RemoveAttachment,
                    Action::Retry,
                    Action::CopyText,
                    Action::Discard
                ],
            }
        );
    }

    #[test]
    fn optimistic_lock_refetches_only_for_versioned_writes() {
        let plain = message();
        let mut versioned = message();
        versioned.versioned = Some(crate::model::Versioned {
            refetch_path: "/api/v1/virtual-care/sessions/s1".into(),
            applies_in: vec!["scheduled".into()],
        });
        let body =
            json!({"statusCode": 409, "code": "OPTIMISTIC_LOCK_CONFLICT", "currentVersion": 3});
        assert_eq!(
            classify(
                Policy::LwwVersion,
                &versioned,
                &answer(409, body.clone()),
                0
            ),
            Verdict::Refetch {
                current_version: Some(3)
            }
        );
        // Nowhere to refetch, or not a versioned policy: a refusal the user decides on.
        for (policy, m) in [
            (Policy::LwwVersion, &plain),
            (Policy::AppendOnly, &versioned),
        ] {
            match classify(policy, m, &answer(409, body.clone()), 0) {
                Verdict::Park { reason, .. } => {
                    assert_eq!(reason.code, ErrorCode::OptimisticLockConflict.into())
                }
                other => panic!("expected a park, got {other:?}"),
            }
        }
    }

    #[test]
    fn codes_are_typed_and_unknown_ones_kept_as_they_came() {
        assert_eq!(
            RefusalCode::parse("THREAD_ARCHIVED"),
            RefusalCode::Known(ErrorCode::ThreadArchived)
        );
        let novel = RefusalCode::parse("SOMETHING_NEW");
        assert_eq!(novel, RefusalCode::Unknown("SOMETHING_NEW".into()));
        // Stored as the plain string, so records written before the type existed still read.
        let stored = serde_json::to_value(&novel).expect("serialise");
        assert_eq!(stored, json!("SOMETHING_NEW"));
        let old: ParkReason = serde_json::from_value(
            json!({"status": 409, "code": "STALE_REFERENCE", "message": "gone"}),
        )
        .expect("an old record reads");
        assert!(old.code.is(ErrorCode::StaleReference));
    }

    #[test]
    fn an_unexplained_refusal_is_parked_not_dropped() {
        let m = message();
        match classify(Policy::AppendOnly, &m, &answer(400, json!("nonsense")), 0) {
            Verdict::Park { reason, actions } => {
                assert_eq!(reason.code, RefusalCode::Unknown("REJECTED".into()));
                assert!(actions.contains(&Action::Discard));
            }
            other => panic!("expected park, got {other:?}"),
        }
    }
}
