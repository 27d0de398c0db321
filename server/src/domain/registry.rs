//! Where things sit in the facility tree: a node's ancestry, a bed's location and node, and the
//! stale-reference rule every edge write's ids meet (Fac §5).

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use caresync_contract::{
    facility::{StaleReason, StaleReference},
    ErrorCode,
};

use super::DomainError;

/// A bed's place in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedPlace {
    pub bed_id: String,
    pub location_id: String,
    pub node_id: String,
}

/// The node and its ancestors, nearest first; empty if the tenant has no such node.
pub fn ancestry(conn: &Connection, tenant: &str, node_id: &str) -> crate::db::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM facility_nodes WHERE id = ?1 AND tenant_id = ?2 \
             UNION ALL SELECT n.id, n.parent_id, up.depth + 1 FROM facility_nodes n \
             JOIN up ON n.id = up.parent_id WHERE n.tenant_id = ?2) \
         SELECT id FROM up ORDER BY depth",
    )?;

    stmt.query_map(params![node_id, tenant], |r| r.get(0))?
        .collect()
}

/// The node and everything under it; empty if the tenant has no such node.
pub fn subtree(conn: &Connection, tenant: &str, node_id: &str) -> crate::db::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "WITH RECURSIVE sub(id) AS ( \
             SELECT id FROM facility_nodes WHERE id = ?1 AND tenant_id = ?2 \
             UNION ALL SELECT n.id FROM facility_nodes n JOIN sub ON n.parent_id = sub.id) \
         SELECT id FROM sub",
    )?;

    stmt.query_map(params![node_id, tenant], |r| r.get(0))?
        .collect()
}

pub fn bed_place(
    conn: &Connection,
    tenant: &str,
    bed_id: &str,
) -> crate::db::Result<Option<BedPlace>> {
    conn.query_row(
        "SELECT b.id, b.location_id, l.node_id FROM beds b JOIN locations l ON l.id = b.location_id \
         WHERE b.id = ?1 AND b.tenant_id = ?2",
        params![bed_id, tenant],
        |r| {
            Ok(BedPlace {
                bed_id: r.get(0)?,
                location_id: r.get(1)?,
                node_id: r.get(2)?,
            })
        },
    )
    .optional()
}

/// An id of an edge write that the registry no longer backs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    #[error("Facility node {0} is no longer in the registry; refresh it.")]
    NodeGone(String),
    #[error("Location {0} is no longer in the registry; refresh it.")]
    LocationGone(String),
    #[error("This bed is no longer in the facility registry; refresh it.")]
    BedGone(String),
    #[error("The bed is no longer in location {location}; refresh the registry.")]
    NotInLocation { bed: String, location: String },
    #[error("The bed is no longer under facility node {node}; refresh the registry.")]
    NotUnderNode { bed: String, node: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error(transparent)]
    Stale(#[from] Stale),
    #[error(transparent)]
    Sql(#[from] crate::db::DbError),
}

impl Stale {
    fn reference(&self) -> (StaleReference, StaleReason) {
        match self {
            Stale::NodeGone(_) => (StaleReference::NodeId, StaleReason::Gone),
            Stale::LocationGone(_) => (StaleReference::LocationId, StaleReason::Gone),
            Stale::BedGone(_) => (StaleReference::BedId, StaleReason::Gone),
            Stale::NotInLocation { .. } => {
                (StaleReference::LocationId, StaleReason::DoesNotContainBed)
            }
            Stale::NotUnderNode { .. } => (StaleReference::NodeId, StaleReason::DoesNotContainBed),
        }
    }

    /// The ids the body names: always the bed, and the stale node or location.
    fn ids(&self) -> Vec<(&'static str, &str)> {
        match self {
            Stale::NodeGone(node) => vec![("nodeId", node)],
            Stale::LocationGone(location) => vec![("locationId", location)],
            Stale::BedGone(bed) => vec![("bedId", bed)],
            Stale::NotInLocation { bed, location } => {
                vec![("bedId", bed), ("locationId", location)]
            }
            Stale::NotUnderNode { bed, node } => vec![("bedId", bed), ("nodeId", node)],
        }
    }
}

impl From<Stale> for DomainError {
    fn from(stale: Stale) -> Self {
        let (reference, reason) = stale.reference();
        // A refusal that cannot say which reference is stale is the server's failure instead.
        let (reference, reason) = match (
            serde_json::to_value(reference),
            serde_json::to_value(reason),
        ) {
            (Ok(reference), Ok(reason)) => (reference, reason),
            (Err(err), _) | (_, Err(err)) => return err.into(),
        };
        let mut err = DomainError::conflict(ErrorCode::StaleReference, stale.to_string())
            .with("reference", reference)
            .with("reason", reason);
        for (key, id) in stale.ids() {
            err = err.with(key, id);
        }
        err
    }
}

impl From<ReferenceError> for DomainError {
    fn from(err: ReferenceError) -> Self {
        match err {
            ReferenceError::Stale(stale) => stale.into(),
            ReferenceError::Sql(sql) => sql.into(),
        }
    }
}

/// The ids an edge write names, checked against the registry: first that each still exists
/// (the widest first, since the user is told the biggest thing that went), then that the
/// named location and node still hold the bed. Answers where the bed is.
pub fn check_references(
    conn: &Connection,
    tenant: &str,
    bed_id: &str,
    node_id: Option<&str>,
    location_id: Option<&str>,
) -> Result<BedPlace, ReferenceError> {
    if let Some(node) = node_id {
        if ancestry(conn, tenant, node)?.is_empty() {
            return Err(Stale::NodeGone(node.to_owned()).into());
        }
    }
    if let Some(location) = location_id {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM locations WHERE id = ?1 AND tenant_id = ?2)",
            params![location, tenant],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(Stale::LocationGone(location.to_owned()).into());
        }
    }
    let place =
        bed_place(conn, tenant, bed_id)?.ok_or_else(|| Stale::BedGone(bed_id.to_owned()))?;
    if let Some(location) = location_id.filter(|l| *l != place.location_id) {
        return Err(Stale::NotInLocation {
            bed: bed_id.to_owned(),
            location: location.to_owned(),
        }
        .into());
    }
    if let Some(node) = node_id {
        // The named node holds the bed if it is the bed's node or one of its ancestors.
        if !ancestry(conn, tenant, &place.node_id)?
            .iter()
            .any(|n| n == node)
        {
            return Err(Stale::NotUnderNode {
                bed: bed_id.to_owned(),
                node: node.to_owned(),
            }
            .into());
        }
    }
    Ok(place)
}
