//! Committed bed changes, for the live stream. A change is a row of `bed_changes`, written in
//! the transaction that changes the bed; once that transaction has committed, the write path
//! publishes the new rows on a broadcast channel that every open stream filters by tenant and
//! node. The table keeps them, so a stream can resume after a client's last event id.
//! On PostgreSQL, where other instances commit changes too, a worker also publishes what
//! committed anywhere ([`BedFeed::publish_committed`] every [`POLL_EVERY`]), and changes
//! are recorded one transaction at a time so that seq order is commit order.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc, Mutex,
};

use crate::{
    db::{Connection, Row},
    params,
};
use caresync_contract::facility::{BedChangeEvent, BedDto, BedField};

use crate::events::Subject;
use tokio::sync::broadcast;

use crate::{
    domain::registry::BedPlace,
    time::{iso, now_ms},
};

/// Changes an open stream may fall behind by before it reads the rest from the table.
const CHANNEL_CAPACITY: usize = 1024;
/// How often, on PostgreSQL, changes committed by other instances are looked for.
pub const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// The advisory lock that serialises recording bed changes on PostgreSQL (any fixed number).
const RECORD_LOCK: i64 = 0x6265_645f_6665_6564;

/// One committed change, with the tenant it belongs to (never sent on the wire).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub tenant: String,
    pub event: BedChangeEvent,
}

/// The broadcast side, shared by every handler through the app state.
#[derive(Clone)]
pub struct BedFeed {
    tx: broadcast::Sender<Arc<Change>>,
    /// The last seq published. Only read and moved while holding `publishing`, so events go
    /// out once each and in commit order, whichever connection publishes.
    published: Arc<AtomicI64>,
    publishing: Arc<Mutex<()>>,
}

impl BedFeed {
    /// Starts after the last change already recorded: those were published by an earlier run.
    pub fn open(conn: &Connection) -> crate::db::Result<Self> {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Ok(Self {
            tx,
            published: Arc::new(AtomicI64::new(latest(conn)?)),
            publishing: Arc::new(Mutex::new(())),
        })
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Publishes what has committed since the last call. Call it on the connection the write
    /// ran on, right after its commit and before letting go of it.
    pub fn publish_committed(&self, conn: &Connection) {
        // Inside an open transaction the rows seen may still roll back: only committed ones go.
        if !conn.is_autocommit() {
            tracing::error!("bed changes not published: a transaction is still open");
            return;
        }
        // Called on the blocking pool; a panic elsewhere leaves the watermark sound.
        let _turn = self.publishing.lock().unwrap_or_else(|p| p.into_inner());
        let after = self.published.load(Ordering::Acquire);
        let changes = match read_since(conn, None, after, i64::MAX) {
            Ok(changes) => changes,
            Err(err) => {
                // The write has committed and stands; open streams resume from the table.
                tracing::error!(%err, "could not read committed bed changes to publish");
                return;
            }
        };
        for change in changes {
            self.published.store(change.event.seq, Ordering::Release);
            // No open stream is not an error: the change is kept for those that resume.
            let _ = self.tx.send(Arc::new(change));
        }
    }
}

/// Records a change to a bed field, in the transaction that makes it.
pub fn record(
    conn: &Connection,
    tenant: &str,
    place: &BedPlace,
    field: BedField,
    value: &str,
    updated_at: i64,
    bed: &BedDto,
) -> crate::db::Result<()> {
    let snapshot =
        serde_json::to_string(bed).map_err(|e| crate::db::DbError::Encode(e.to_string()))?;
    if conn.is_postgres() {
        // Held to the commit: no change with a lower seq can commit after this one, so a
        // reader that has seen seq N has seen every committed change up to N.
        conn.execute("SELECT pg_advisory_xact_lock(?1)", params![RECORD_LOCK])?;
    }
    conn.execute(
        "INSERT INTO bed_changes (tenant_id, bed_id, location_id, node_id, field, value, updated_at, bed, recorded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            tenant,
            place.bed_id,
            place.location_id,
            place.node_id,
            column(field),
            value,
            updated_at,
            snapshot,
            now_ms()
        ],
    )?;
    let subject = match field {
        BedField::Status => Subject::BedStatusChanged,
        BedField::HousekeepingStatus => Subject::BedHousekeepingChanged,
    };
    crate::events::record(
        conn,
        tenant,
        subject,
        serde_json::json!({"bedId": place.bed_id, "locationId": place.location_id,
                           "nodeId": place.node_id, "field": column(field), "value": value,
                           "updatedAt": crate::time::iso(updated_at)}),
    )
    .map(drop)
}

/// The latest change sequence (0 before the first).
pub fn latest(conn: &Connection) -> crate::db::Result<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) FROM bed_changes",
        params![],
        |r| r.get(0),
    )
}

/// A tenant's changes after `after`, oldest first, at most `limit`.
pub fn since(
    conn: &Connection,
    tenant: &str,
    after: i64,
    limit: i64,
) -> crate::db::Result<Vec<BedChangeEvent>> {
    Ok(read_since(conn, Some(tenant), after, limit)?
        .into_iter()
        .map(|c| c.event)
        .collect())
}

fn read_since(
    conn: &Connection,
    tenant: Option<&str>,
    after: i64,
    limit: i64,
) -> crate::db::Result<Vec<Change>> {
    let mut stmt = conn.prepare(
        "SELECT seq, tenant_id, bed_id, location_id, node_id, field, value, updated_at, bed \
         FROM bed_changes WHERE seq > ?1 AND (CAST(?2 AS TEXT) IS NULL OR tenant_id = ?2) ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![after, tenant, limit], change_row)?;
    rows.collect()
}

fn change_row(r: &Row<'_>) -> crate::db::Result<Change> {
    let field: String = r.get(5)?;
    let bed: String = r.get(8)?;
    let invalid = |e: String| crate::db::DbError::Type {
        column: 8,
        wanted: "a bed as JSON",
        found: e,
    };
    Ok(Change {
        tenant: r.get(1)?,
        event: BedChangeEvent {
            seq: r.get(0)?,
            bed_id: r.get(2)?,
            location_id: r.get(3)?,
            node_id: r.get(4)?,
            field: from_column(&field)
                .ok_or_else(|| invalid(format!("unknown bed field {field:?}")))?,
            value: r.get(6)?,
            updated_at: iso(r.get(7)?),
            bed: serde_json::from_str(&bed).map_err(|e| invalid(e.to_string()))?,
        },
    })
}

fn column(field: BedField) -> &'static str {
    match field {
        BedField::Status => "status",
        BedField::HousekeepingStatus => "housekeeping_status",
    }
}

fn from_column(column: &str) -> Option<BedField> {
    match column {
        "status" => Some(BedField::Status),
        "housekeeping_status" => Some(BedField::HousekeepingStatus),
        _ => None,
    }
}
