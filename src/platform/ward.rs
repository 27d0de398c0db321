//! The ward board on the device: the facility snapshot of the user's node (a full pull on
//! connect, honouring its 5-minute TTL, readable offline for up to 24 h), bed changes queued
//! last-writer-wins stamped with the moment of the tap (unsent changes to one bed field
//! coalesce), and the server's answers folded back: the winning state replaces the local one,
//! a change older than the window is held for review.

use caresync_contract::facility::{BedDto, SnapshotDto};
use caresync_sync::{AggregateKind, Lane, NewMutation, Request};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    idb::StoreError,
    outbox_store::EntityChange,
    session::SignedIn,
    transport::now_ms,
    writes::{get_json, iso_now, refreshed, FetchError},
};

const SNAPSHOT: &str = "/internal/edge/snapshot";
const KEPT: &str = "ward-snapshot";
const CHANGE: &str = "bed-change:";
/// Configuration reads are allowed offline for this long (Fac §6).
pub const OFFLINE_LIMIT_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// The snapshot as pulled, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptSnapshot {
    pub snapshot: SnapshotDto,
    pub fetched_at: f64,
}

impl KeptSnapshot {
    /// Past 24 h the registry may be wrong: the board says so and takes no changes.
    pub fn out_of_date(&self, now: f64) -> bool {
        now - self.fetched_at >= OFFLINE_LIMIT_MS
    }

    /// Past the snapshot's TTL a connected board pulls it again.
    pub fn due(&self, now: f64) -> bool {
        now - self.fetched_at >= self.snapshot.ttl_seconds as f64 * 1000.0
    }

    /// Takes a bed's state from the server if it is newer, field by field.
    pub fn merge(&mut self, bed: &BedDto) {
        let Some(kept) = self
            .snapshot
            .beds
            .iter_mut()
            .find(|b| b.bed_id == bed.bed_id)
        else {
            return;
        };
        if not_older(&bed.status_updated_at, &kept.status_updated_at) {
            kept.status.clone_from(&bed.status);
            kept.status_updated_at.clone_from(&bed.status_updated_at);
        }
        if not_older(&bed.housekeeping_updated_at, &kept.housekeeping_updated_at) {
            kept.housekeeping_status
                .clone_from(&bed.housekeeping_status);
            kept.housekeeping_updated_at
                .clone_from(&bed.housekeeping_updated_at);
        }
    }
}

/// Whether a state stamped `incoming` is at least as new as one stamped `kept`. The stamps
/// are compared as instants, not as text: `…00.5Z`, `…00.500Z` and `…00.500+00:00` are one
/// instant, and text order would call the first the newest. A stamp that does not parse
/// loses to one that does, so a malformed answer cannot overwrite a known state.
pub fn not_older(incoming: &str, kept: &str) -> bool {
    let instant = |iso: &str| Some(js_sys::Date::parse(iso)).filter(|ms| !ms.is_nan());
    match (instant(incoming), instant(kept)) {
        (Some(a), Some(b)) => a >= b,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => incoming >= kept,
    }
}

thread_local! {
    /// One change to the kept snapshot at a time: a pull, a live event and the board's
    /// folding of answers each read, wait, and write it back.
    static TURN: std::rc::Rc<futures::lock::Mutex<()>> = std::rc::Rc::new(futures::lock::Mutex::new(()));
}

fn turn() -> std::rc::Rc<futures::lock::Mutex<()>> {
    TURN.with(std::rc::Rc::clone)
}

/// Which of a bed's fields a change sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BedField {
    Status,
    Housekeeping,
}

impl BedField {
    fn route(self) -> &'static str {
        match self {
            BedField::Status => "status",
            BedField::Housekeeping => "housekeeping-status",
        }
    }

    /// What a nurse may choose next: any other status; for housekeeping, the steps the
    /// server's state machine allows (cleaned in order, dirty from anywhere).
    pub fn choices(self, current: &str) -> Vec<&'static str> {
        match self {
            BedField::Status => ["available", "occupied", "reserved", "out_of_service"]
                .into_iter()
                .filter(|s| *s != current)
                .collect(),
            BedField::Housekeeping => {
                let next = match current {
                    "dirty" => Some("in_progress"),
                    "in_progress" => Some("clean"),
                    "clean" => Some("inspected"),
                    _ => None,
                };
                next.into_iter()
                    .chain((current != "dirty").then_some("dirty"))
                    .collect()
            }
        }
    }
}

/// A state in words.
pub fn words(value: &str) -> &'static str {
    match value {
        "available" => "Available",
        "occupied" => "Occupied",
        "reserved" => "Reserved",
        "out_of_service" => "Out of service",
        "dirty" => "Dirty",
        "in_progress" => "Cleaning in progress",
        "clean" => "Clean",
        "inspected" => "Inspected",
        _ => "Unknown",
    }
}

/// A change made on this device, shown at once; the server's answer is merged into it on
/// delivery (`outcome`, `message`, and the bed as it stands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BedChange {
    pub bed_id: String,
    pub field: BedField,
    pub value: String,
    pub updated_at: String,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub bed: Option<BedDto>,
    /// The bed's label when the change was made, to name it even after the registry has
    /// lost it (a bed deleted while the change waited). Absent from older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn change_key(bed: &str, field: BedField) -> String {
    format!("{CHANGE}{bed}:{}", field.route())
}

/// Where the device's registry puts a bed: the server checks these still hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub bed: String,
    pub location: String,
    pub node: String,
    /// The bed's label, kept with the change only (the server is not sent it).
    pub label: String,
}

/// The write for a tap on `value`, stamped now; a later unsent tap on the same field
/// replaces it (last writer wins, so only the newest matters).
pub fn change(
    s: &SignedIn,
    place: &Place,
    field: BedField,
    value: &str,
) -> (NewMutation, EntityChange) {
    let bed = place.bed.as_str();
    let id = uuid::Uuid::now_v7();
    let updated_at = iso_now();
    let record = BedChange {
        bed_id: bed.to_owned(),
        field,
        value: value.to_owned(),
        updated_at: updated_at.clone(),
        outcome: None,
        message: None,
        bed: None,
        label: Some(place.label.clone()),
    };
    let new = NewMutation {
        id,
        tenant: s.user.tenant_id.clone(),
        actor: s.user.user_id.clone(),
        kind: AggregateKind::BedStatus,
        lane: Lane::new(format!("bed:{bed}")),
        request: Request {
            method: "PUT".into(),
            path: format!("/api/v1/facility/beds/{bed}/{}", field.route()),
            body: json!({
                "status": value,
                "updatedAt": updated_at,
                "clientMutationId": id,
                "locationId": place.location,
                "nodeId": place.node,
            }),
        },
        coalesce_key: Some(change_key(bed, field)),
        versioned: None,
    };
    let change = EntityChange {
        key: change_key(bed, field),
        value: serde_json::to_value(&record).unwrap_or_default(),
    };
    (new, change)
}

fn local(e: StoreError) -> FetchError {
    FetchError::Local(e.to_string())
}

pub async fn kept(s: &SignedIn) -> Result<Option<KeptSnapshot>, FetchError> {
    s.cache.entity(KEPT).await.map_err(local)
}

/// A full pull of the user's node. A bed state kept here that is newer than the pulled one
/// (a live change heard while the pull was on its way) is kept.
pub async fn pull(s: &SignedIn) -> Result<(), FetchError> {
    let snapshot: SnapshotDto = get_json(s, SNAPSHOT).await?;
    let mut fresh = KeptSnapshot {
        snapshot,
        fetched_at: now_ms() as f64,
    };
    {
        let turn = turn();
        let _turn = turn.lock().await;
        if let Some(old) = kept(s).await? {
            for bed in &old.snapshot.beds {
                fresh.merge(bed);
            }
        }
        s.cache
            .put_entity(KEPT, Some(&fresh))
            .await
            .map_err(local)?;
    }
    refreshed(s).await
}

/// Pulls if there is no snapshot or its TTL has run out.
pub async fn pull_if_due(s: &SignedIn) -> Result<(), FetchError> {
    match kept(s).await? {
        Some(k) if !k.due(now_ms() as f64) => Ok(()),
        _ => pull(s).await,
    }
}

/// Folds a bed's new state (a live event, an answer) into the kept snapshot.
pub async fn apply(s: &SignedIn, bed: &BedDto) -> Result<(), FetchError> {
    let turn = turn();
    let _turn = turn.lock().await;
    let Some(mut k) = kept(s).await? else {
        return Ok(());
    };
    k.merge(bed);
    s.cache.put_entity(KEPT, Some(&k)).await.map_err(local)
}

/// The board: the kept snapshot and this device's changes. A change the server answered
/// (applied, or superseded by a newer one) is folded into the snapshot and forgotten; one
/// held for review stays until the user dismisses it.
pub async fn board(s: &SignedIn) -> Result<(Option<KeptSnapshot>, Vec<BedChange>), FetchError> {
    let turn = turn();
    let _turn = turn.lock().await;
    let mut snapshot = kept(s).await?;
    let changes: Vec<BedChange> = s.cache.all(CHANGE).await.map_err(local)?;
    let (answered, open): (Vec<BedChange>, Vec<BedChange>) = changes
        .into_iter()
        .partition(|c| matches!(c.outcome.as_deref(), Some("applied" | "superseded")));
    if !answered.is_empty() {
        if let Some(k) = snapshot.as_mut() {
            for bed in answered.iter().filter_map(|c| c.bed.as_ref()) {
                k.merge(bed);
            }
            s.cache.put_entity(KEPT, Some(&*k)).await.map_err(local)?;
        }
        let keys: Vec<String> = answered
            .iter()
            .map(|c| change_key(&c.bed_id, c.field))
            .collect();
        s.cache.remove_entities(&keys).await.map_err(local)?;
    }
    Ok((snapshot, open))
}

/// Forgets a change the user has seen answered (held for review).
pub async fn dismiss(s: &SignedIn, change: &BedChange) -> Result<(), FetchError> {
    s.cache
        .remove_entities(&[change_key(&change.bed_id, change.field)])
        .await
        .map_err(local)
}
