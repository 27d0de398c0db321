//! Facility service (seed 003): the read-only edge snapshot, and bed status written
//! last-writer-wins by `updatedAt` within a one-hour window; older writes wait for review.

use crate::{
    db::{Connection, OptionalExtension as _, Row},
    params,
};
use caresync_contract::{
    auth::Role,
    facility::{
        self as wire, BedDto, BedStatusWrite, BedWriteResult, LocationDto, MembershipDto, NodeDto,
        SnapshotDto, BED_WINDOW_SECONDS, SNAPSHOT_TTL_SECONDS,
    },
    ErrorCode,
};

use super::registry::{self, BedPlace};
use crate::{
    auth::Caller,
    domain::{
        dedupe::{self, Deduped},
        error::require_uuid,
        live, DomainError,
    },
    time::{iso, now_ms, parse_iso},
};

/// Which bed field a write sets, and what it may hold.
#[derive(Clone, Copy)]
pub enum BedField {
    Status,
    Housekeeping,
}

impl BedField {
    /// The field as `bed_updates.field` stores it.
    pub(crate) fn from_column(column: &str) -> Option<Self> {
        match column {
            "status" => Some(BedField::Status),
            "housekeeping_status" => Some(BedField::Housekeeping),
            _ => None,
        }
    }

    pub(crate) fn wire(self) -> wire::BedField {
        match self {
            BedField::Status => wire::BedField::Status,
            BedField::Housekeeping => wire::BedField::HousekeepingStatus,
        }
    }

    pub(crate) fn column(self) -> &'static str {
        match self {
            BedField::Status => "status",
            BedField::Housekeeping => "housekeeping_status",
        }
    }

    /// When the field's current value was written (its `updatedAt`).
    pub(crate) fn stamp_column(self) -> &'static str {
        match self {
            BedField::Status => "status_updated_at",
            BedField::Housekeeping => "housekeeping_updated_at",
        }
    }

    fn allowed(self) -> &'static [&'static str] {
        match self {
            BedField::Status => &["available", "occupied", "reserved", "out_of_service"],
            BedField::Housekeeping => &["dirty", "in_progress", "clean", "inspected"],
        }
    }

    /// The housekeeping state machine, re-validated after the merge: a bed is cleaned in
    /// order, and can become dirty from anywhere.
    pub(crate) fn may_move(self, from: &str, to: &str) -> bool {
        match self {
            BedField::Status => true,
            BedField::Housekeeping => {
                matches!(
                    (from, to),
                    (_, "dirty")
                        | ("dirty", "in_progress")
                        | ("in_progress", "clean")
                        | ("clean", "inspected")
                ) || from == to
            }
        }
    }
}

fn bed_row(r: &Row<'_>) -> crate::db::Result<BedDto> {
    Ok(BedDto {
        bed_id: r.get(0)?,
        location_id: r.get(1)?,
        label: r.get(2)?,
        status: r.get(3)?,
        status_updated_at: iso(r.get(4)?),
        housekeeping_status: r.get(5)?,
        housekeeping_updated_at: iso(r.get(6)?),
    })
}

const BED_COLUMNS: &str = "id, location_id, label, status, status_updated_at, housekeeping_status, housekeeping_updated_at";

pub(crate) fn bed(
    conn: &Connection,
    tenant: &str,
    bed_id: &str,
) -> Result<Option<BedDto>, DomainError> {
    Ok(conn
        .query_row(
            &format!("SELECT {BED_COLUMNS} FROM beds WHERE id = ?1 AND tenant_id = ?2"),
            params![bed_id, tenant],
            bed_row,
        )
        .optional()?)
}

/// Checked before the body is even read: a write from anyone else is refused whatever it says.
pub fn ward_staff_only(caller: &Caller) -> Result<(), DomainError> {
    if caller.role == Role::WardStaff {
        Ok(())
    } else {
        Err(DomainError::forbidden_as(
            ErrorCode::Forbidden,
            "Only ward staff set bed status.",
        ))
    }
}

/// `PUT /api/v1/facility/beds/{bedId}/status` and `.../housekeeping-status`
pub fn write_bed(
    conn: &Connection,
    caller: &Caller,
    bed_id: &str,
    field: BedField,
    write: BedStatusWrite,
) -> Result<BedWriteResult, DomainError> {
    ward_staff_only(caller)?;
    let updated_at = validate(field, &write)?;
    // An edge write naming a bed, location or node the registry no longer has (or that no
    // longer holds the bed): the client must refetch.
    let place = registry::check_references(
        conn,
        &caller.tenant,
        bed_id,
        write.node_id.as_deref(),
        write.location_id.as_deref(),
    )?;
    let current =
        bed(conn, &caller.tenant, bed_id)?.ok_or_else(|| DomainError::not_found("No such bed."))?;
    // A retry is answered with how the write went; another user's write is refused instead.
    if dedupe::claim(conn, caller, Deduped::BedUpdates, &write.client_mutation_id)? {
        let outcome: String = conn.query_row(
            "SELECT outcome FROM bed_updates WHERE tenant_id = ?1 AND client_mutation_id = ?2",
            params![caller.tenant, write.client_mutation_id],
            |r| r.get(0),
        )?;
        return result(outcome, current);
    }
    let now = now_ms();
    let outcome = decide(conn, caller, &place, field, &write.status, updated_at, now)?;
    conn.execute(
        "INSERT INTO bed_updates (id, tenant_id, bed_id, field, value, updated_at, client_mutation_id, actor_id, outcome, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            uuid::Uuid::now_v7().to_string(),
            caller.tenant,
            bed_id,
            field.column(),
            write.status,
            updated_at,
            write.client_mutation_id,
            caller.user,
            outcome,
            now
        ],
    )?;
    let bed =
        bed(conn, &caller.tenant, bed_id)?.ok_or_else(|| DomainError::not_found("No such bed."))?;
    result(outcome.to_owned(), bed)
}

/// Sets a bed field to the value that won and records the change for the live stream, both
/// in the caller's transaction: the stream publishes it once that commits.
pub(crate) fn apply_field(
    conn: &Connection,
    caller: &Caller,
    place: &BedPlace,
    field: BedField,
    value: &str,
    updated_at: i64,
) -> Result<BedDto, DomainError> {
    conn.execute(
        &format!(
            "UPDATE beds SET {} = ?1, {} = ?2 WHERE id = ?3 AND tenant_id = ?4",
            field.column(),
            field.stamp_column()
        ),
        params![value, updated_at, place.bed_id, caller.tenant],
    )?;
    let bed = bed(conn, &caller.tenant, &place.bed_id)?
        .ok_or_else(|| DomainError::not_found("No such bed."))?;
    live::record(
        conn,
        &caller.tenant,
        place,
        field.wire(),
        value,
        updated_at,
        &bed,
    )?;
    Ok(bed)
}

/// Refuses a malformed write before any lookup; answers its `updatedAt` in milliseconds.
fn validate(field: BedField, write: &BedStatusWrite) -> Result<i64, DomainError> {
    require_uuid("clientMutationId", &write.client_mutation_id)?;
    if !field.allowed().contains(&write.status.as_str()) {
        return Err(DomainError::invalid(format!(
            "status must be one of {}",
            field.allowed().join(", ")
        )));
    }
    parse_iso(&write.updated_at)
        .ok_or_else(|| DomainError::invalid("updatedAt must be an RFC 3339 time"))
}

/// Last writer wins by `updatedAt` within the window: applies the value when it is newer
/// than the field's and a legal move; older than the window, it is held for review.
fn decide(
    conn: &Connection,
    caller: &Caller,
    place: &BedPlace,
    field: BedField,
    value: &str,
    updated_at: i64,
    now: i64,
) -> Result<&'static str, DomainError> {
    let (winner_at, winner): (i64, String) = conn.query_row(
        &format!(
            "SELECT {}, {} FROM beds WHERE id = ?1",
            field.stamp_column(),
            field.column()
        ),
        params![place.bed_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if updated_at < now - BED_WINDOW_SECONDS * 1000 {
        return Ok("manual_review");
    }
    if updated_at <= winner_at {
        return Ok("superseded");
    }
    if !field.may_move(&winner, value) {
        return Err(DomainError::conflict(
            ErrorCode::IllegalTransition,
            format!("A bed cannot go from {winner} to {value} directly."),
        ));
    }
    apply_field(conn, caller, place, field, value, updated_at)?;
    Ok("applied")
}

/// Whether a bed write was held for manual review rather than decided now.
pub fn is_held(result: &BedWriteResult) -> bool {
    !matches!(result.outcome.as_str(), "applied" | "superseded")
}

fn result(outcome: String, bed: BedDto) -> Result<BedWriteResult, DomainError> {
    let message = match outcome.as_str() {
        "applied" => "Applied.",
        "superseded" => "A newer change had already won; this is the bed's current state.",
        _ => "Older than the one-hour window: not applied, kept for manual review.",
    };
    Ok(BedWriteResult {
        outcome,
        message: message.into(),
        bed,
    })
}

/// The node the caller belongs to (their membership), for a snapshot asked without one.
pub fn home_node(conn: &Connection, caller: &Caller) -> Result<String, DomainError> {
    conn.query_row(
        "SELECT m.node_id FROM memberships m JOIN facility_nodes n ON n.id = m.node_id \
         WHERE m.user_id = ?1 AND n.tenant_id = ?2 ORDER BY m.node_id LIMIT 1",
        params![caller.user, caller.tenant],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| DomainError::not_found("You belong to no facility node: ask for nodeId."))
}

/// The snapshot a staff member asks for: of `node`, or without one of their own node (a ward
/// tablet knows who signed in, not where).
pub fn snapshot_of(
    conn: &Connection,
    caller: &Caller,
    node: Option<&str>,
) -> Result<SnapshotDto, DomainError> {
    if caller.role == Role::Patient {
        return Err(DomainError::forbidden(
            "The facility registry is for staff.",
        ));
    }
    match node {
        Some(node) => snapshot(conn, caller, node),
        None => snapshot(conn, caller, &home_node(conn, caller)?),
    }
}

/// `GET /internal/edge/snapshot?nodeId=`: the node's subtree with its locations, beds and
/// memberships, as an edge device caches it.
pub fn snapshot(
    conn: &Connection,
    caller: &Caller,
    node_id: &str,
) -> Result<SnapshotDto, DomainError> {
    let nodes: Vec<NodeDto> = conn.query_map(
        "WITH RECURSIVE sub(id) AS ( \
             SELECT id FROM facility_nodes WHERE id = ?1 AND tenant_id = ?2 \
             UNION ALL SELECT n.id FROM facility_nodes n JOIN sub ON n.parent_id = sub.id) \
         SELECT n.id, n.parent_id, n.name, n.kind FROM facility_nodes n JOIN sub ON sub.id = n.id ORDER BY n.id",
        params![node_id, caller.tenant],
        |r| {
            Ok(NodeDto {
                node_id: r.get(0)?,
                parent_id: r.get(1)?,
                name: r.get(2)?,
                kind: r.get(3)?,
            })
        },
    )?;
    if nodes.is_empty() {
        return Err(DomainError::not_found("No such facility node."));
    }
    let ids: Vec<String> = nodes.iter().map(|n| n.node_id.clone()).collect();
    let locations = of_nodes(
        conn,
        "SELECT id, node_id, name FROM locations WHERE node_id IN ({nodes}) ORDER BY id",
        &ids,
        |r| {
            Ok(LocationDto {
                location_id: r.get(0)?,
                node_id: r.get(1)?,
                name: r.get(2)?,
            })
        },
    )?;
    let beds = of_nodes(
        conn,
        &format!("SELECT {BED_COLUMNS} FROM beds WHERE location_id IN (SELECT id FROM locations WHERE node_id IN ({{nodes}})) ORDER BY id"),
        &ids,
        bed_row,
    )?;
    let memberships = of_nodes(
        conn,
        "SELECT user_id, node_id, role FROM memberships WHERE node_id IN ({nodes}) ORDER BY user_id",
        &ids,
        |r| {
            Ok(MembershipDto {
                user_id: r.get(0)?,
                node_id: r.get(1)?,
                role: r.get(2)?,
            })
        },
    )?;
    Ok(SnapshotDto {
        node_id: node_id.to_owned(),
        generated_at: iso(now_ms()),
        ttl_seconds: SNAPSHOT_TTL_SECONDS,
        change_seq: live::latest(conn)?,
        nodes,
        locations,
        beds,
        memberships,
    })
}

/// The rows `sql` selects for the nodes `ids`, which it names `{nodes}` (one placeholder
/// each, bound in order).
fn of_nodes<T>(
    conn: &Connection,
    sql: &str,
    ids: &[String],
    row: impl FnMut(&Row<'_>) -> crate::db::Result<T>,
) -> Result<Vec<T>, DomainError> {
    let placeholders = vec!["?"; ids.len()].join(",");
    let sql = sql.replace("{nodes}", &placeholders);
    Ok(conn.query_map(&sql, crate::db::params_from_iter(ids.iter()), row)?)
}
