//! Manual review of held bed writes (Fac §6: stamped more than an hour before they arrived):
//! the list for a node and its subtree, and accepting or rejecting one.
//!
//! Who reviews: a provider, or a user whose membership at the node (or above it) has the
//! role `ward_manager`, in either case with a membership at the bed's node or an ancestor of
//! it. Another tenant's reviews and nodes do not exist for the caller (404).

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    params,
};
use caresync_contract::{
    auth::Role,
    facility::{BedReviewDto, ReviewDecision, ReviewDecisionIn, ReviewDecisionResult},
    ErrorCode,
};

use super::{
    facility::{self, BedField},
    registry::{self, Stale},
};
use crate::{
    auth::Caller,
    domain::{error::require_uuid, DomainError},
    time::{iso, now_ms},
};

/// The membership role that makes ward staff a reviewer.
pub const WARD_MANAGER: &str = "ward_manager";
/// The most held writes one list answers with, oldest first.
const MAX_LISTED: i64 = 500;

fn forbidden() -> DomainError {
    DomainError::forbidden_as(
        ErrorCode::Forbidden,
        "Only ward managers and providers of this node review held bed changes.",
    )
}

/// Whether the caller could review anything at all: checked before any lookup, so a nurse or
/// a patient learns nothing about which reviews exist.
fn may_review_somewhere(conn: &Connection, caller: &Caller) -> Result<(), DomainError> {
    let manager: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN facility_nodes n ON n.id = m.node_id \
         WHERE m.user_id = ?1 AND n.tenant_id = ?2 AND m.role = ?3)",
        params![caller.user, caller.tenant, WARD_MANAGER],
        |r| r.get(0),
    )?;
    if caller.role == Role::Provider || manager {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// Whether the caller reviews at `node`: a membership there or above that makes them one.
fn may_review(conn: &Connection, caller: &Caller, node: &str) -> Result<(), DomainError> {
    let ancestry = registry::ancestry(conn, &caller.tenant, node)?;
    let mut stmt = conn.prepare("SELECT node_id, role FROM memberships WHERE user_id = ?1")?;
    let roles: Vec<(String, String)> = stmt
        .query_map(params![caller.user], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let reviews = roles.iter().any(|(at, role)| {
        ancestry.contains(at) && (caller.role == Role::Provider || role == WARD_MANAGER)
    });
    if reviews {
        Ok(())
    } else {
        Err(forbidden())
    }
}

/// `GET /internal/edge/reviews?nodeId=`: the open held writes on beds of the node's subtree
/// (without a node, the caller's own, as for the snapshot).
pub fn list(
    conn: &Connection,
    caller: &Caller,
    node: Option<&str>,
) -> Result<Vec<BedReviewDto>, DomainError> {
    may_review_somewhere(conn, caller)?;
    let node = match node.filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => facility::home_node(conn, caller)?,
    };
    if registry::ancestry(conn, &caller.tenant, &node)?.is_empty() {
        return Err(DomainError::not_found("No such facility node."));
    }
    may_review(conn, caller, &node)?;
    let mut stmt = conn.prepare(
        "WITH RECURSIVE sub(id) AS ( \
             SELECT id FROM facility_nodes WHERE id = ?2 AND tenant_id = ?1 \
             UNION ALL SELECT n.id FROM facility_nodes n JOIN sub ON n.parent_id = sub.id) \
         SELECT u.id, u.bed_id, b.label, b.location_id, l.node_id, u.field, u.value, u.updated_at, \
                b.status, b.status_updated_at, b.housekeeping_status, b.housekeeping_updated_at, \
                u.actor_id, COALESCE(p.display_name, u.actor_id), u.recorded_at \
         FROM bed_updates u \
         JOIN beds b ON b.id = u.bed_id AND b.tenant_id = u.tenant_id \
         JOIN locations l ON l.id = b.location_id \
         LEFT JOIN users p ON p.id = u.actor_id \
         WHERE u.tenant_id = ?1 AND u.outcome = 'manual_review' \
           AND l.node_id IN (SELECT id FROM sub) \
           AND NOT EXISTS (SELECT 1 FROM bed_reviews r WHERE r.update_id = u.id) \
         ORDER BY u.recorded_at, u.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![caller.tenant, node, MAX_LISTED], review_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn review_row(r: &Row<'_>) -> crate::db::Result<BedReviewDto> {
    let column: String = r.get(5)?;
    let field = BedField::from_column(&column).ok_or_else(|| crate::db::DbError::Type {
        column: 5,
        wanted: "a bed field",
        found: column.clone(),
    })?;
    // The field as it stands now, beside the held value.
    let (current, current_at) = match field {
        BedField::Status => (8, 9),
        BedField::Housekeeping => (10, 11),
    };
    Ok(BedReviewDto {
        review_id: r.get(0)?,
        bed_id: r.get(1)?,
        bed_label: r.get(2)?,
        location_id: r.get(3)?,
        node_id: r.get(4)?,
        field: field.wire(),
        value: r.get(6)?,
        updated_at: iso(r.get(7)?),
        current_value: r.get(current)?,
        current_updated_at: iso(r.get(current_at)?),
        submitted_by: r.get(12)?,
        submitted_by_name: r.get(13)?,
        received_at: iso(r.get(14)?),
    })
}

/// A held write, as `bed_updates` keeps it.
struct Held {
    bed_id: String,
    field: BedField,
    value: String,
    updated_at: i64,
}

/// A review's closing, once made.
struct Closed {
    decision: ReviewDecision,
    by: String,
    at: i64,
}

/// `POST /internal/edge/reviews/{reviewId}/accept` (`accept`) and `.../reject`. Idempotent by
/// review id: a review closes once, and asking again answers how it was closed.
pub fn decide(
    conn: &Connection,
    caller: &Caller,
    review_id: &str,
    accept: bool,
    req: ReviewDecisionIn,
) -> Result<ReviewDecisionResult, DomainError> {
    if let Some(id) = &req.client_mutation_id {
        require_uuid("clientMutationId", id)?;
    }
    may_review_somewhere(conn, caller)?;
    let held =
        held(conn, caller, review_id)?.ok_or_else(|| DomainError::not_found("No such review."))?;
    let place = registry::bed_place(conn, &caller.tenant, &held.bed_id)?
        .ok_or_else(|| Stale::BedGone(held.bed_id.clone()))?;
    may_review(conn, caller, &place.node_id)?;
    if let Some(closed) = closed(conn, review_id)? {
        return answer(conn, caller, review_id, &held.bed_id, closed, true);
    }
    let decision = if accept {
        apply_held(conn, caller, &held, &place)?
    } else {
        ReviewDecision::Rejected
    };
    let now = now_ms();
    conn.execute(
        "INSERT INTO bed_reviews (update_id, tenant_id, decision, reviewer_id, decided_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            review_id,
            caller.tenant,
            decision_text(decision),
            caller.user,
            now
        ],
    )?;
    let closed = Closed {
        decision,
        by: caller.user.clone(),
        at: now,
    };
    answer(conn, caller, review_id, &held.bed_id, closed, false)
}

/// Applies the held write if it is still the latest for its field, re-validating the
/// housekeeping state machine as any merge does; otherwise it is superseded.
fn apply_held(
    conn: &Connection,
    caller: &Caller,
    held: &Held,
    place: &registry::BedPlace,
) -> Result<ReviewDecision, DomainError> {
    let (winner_at, winner): (i64, String) = conn.query_row(
        &format!(
            "SELECT {}, {} FROM beds WHERE id = ?1 AND tenant_id = ?2",
            held.field.stamp_column(),
            held.field.column()
        ),
        params![held.bed_id, caller.tenant],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if held.updated_at <= winner_at {
        return Ok(ReviewDecision::Superseded);
    }
    if !held.field.may_move(&winner, &held.value) {
        // Left open: the reviewer can still reject it.
        return Err(DomainError::conflict(
            ErrorCode::IllegalTransition,
            format!("A bed cannot go from {winner} to {} directly.", held.value),
        )
        .with("status", winner));
    }
    facility::apply_field(
        conn,
        caller,
        place,
        held.field,
        &held.value,
        held.updated_at,
    )?;
    Ok(ReviewDecision::Accepted)
}

fn held(conn: &Connection, caller: &Caller, review_id: &str) -> Result<Option<Held>, DomainError> {
    let row: Option<(String, String, String, i64)> = conn
        .query_row(
            "SELECT bed_id, field, value, updated_at FROM bed_updates \
             WHERE id = ?1 AND tenant_id = ?2 AND outcome = 'manual_review'",
            params![review_id, caller.tenant],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((bed_id, column, value, updated_at)) = row else {
        return Ok(None);
    };
    let field = BedField::from_column(&column)
        .ok_or(DomainError::Internal("A held write names no field."))?;
    Ok(Some(Held {
        bed_id,
        field,
        value,
        updated_at,
    }))
}

fn closed(conn: &Connection, review_id: &str) -> Result<Option<Closed>, DomainError> {
    let row: Option<(String, String, i64)> = conn
        .query_row(
            "SELECT decision, reviewer_id, decided_at FROM bed_reviews WHERE update_id = ?1",
            params![review_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.and_then(|(decision, by, at)| {
        let decision = match decision.as_str() {
            "accepted" => ReviewDecision::Accepted,
            "superseded" => ReviewDecision::Superseded,
            "rejected" => ReviewDecision::Rejected,
            _ => return None,
        };
        Some(Closed { decision, by, at })
    }))
}

fn decision_text(decision: ReviewDecision) -> &'static str {
    match decision {
        ReviewDecision::Accepted => "accepted",
        ReviewDecision::Superseded => "superseded",
        ReviewDecision::Rejected => "rejected",
    }
}

/// How the review is closed and the bed as it stands; `before` if it was closed earlier.
fn answer(
    conn: &Connection,
    caller: &Caller,
    review_id: &str,
    bed_id: &str,
    closed: Closed,
    before: bool,
) -> Result<ReviewDecisionResult, DomainError> {
    let bed = facility::bed(conn, &caller.tenant, bed_id)?
        .ok_or_else(|| DomainError::not_found("No such bed."))?;
    let what = match closed.decision {
        ReviewDecision::Accepted => "Accepted: the change is applied.",
        ReviewDecision::Superseded => {
            "Not applied: a newer change to this field had already won. The review is closed."
        }
        ReviewDecision::Rejected => "Rejected: the change is not applied.",
    };
    let message = if before {
        format!("Already decided. {what}")
    } else {
        what.to_owned()
    };
    Ok(ReviewDecisionResult {
        review_id: review_id.to_owned(),
        decision: closed.decision,
        message,
        decided_by: closed.by,
        decided_at: iso(closed.at),
        bed,
    })
}
