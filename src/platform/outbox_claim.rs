//! Claiming in one IndexedDB transaction: record the deliveries, read the lane runs, mark
//! what goes out as in flight. Each entry is read once, and nothing another tab does
//! (coalescing a receipt, say) can fall between the read and the claim. The decision reads
//! only the clear fields; the claimed writes are opened after the transaction.

use std::collections::{BTreeSet, HashSet};

use caresync_sync::{store::select_ready, Lane, Millis, Mutation, Ready};
use indexed_db_futures::{object_store::ObjectStore, prelude::*, transaction::TransactionMode};

use super::{
    idb::{StoreError, ENTITIES, META, OUTBOX, RECEIPTS},
    outbox_rows::{all_lanes, lane_runs, Row},
    outbox_store::IdbOutbox,
    receipt_log,
};

impl IdbOutbox {
    pub(super) async fn claim_ready_at_once(
        &self,
        delivered: &[Mutation],
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<Ready, StoreError> {
        let deliveries = receipt_log::prepare(self.vault(), delivered).await?;
        // Relaxed durability, as for every claim: a lost one leaves the writes pending.
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES, RECEIPTS, META])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        // Deliveries first, so a delivered head no longer hides the rest of its lane.
        receipt_log::record(&tx, &outbox, &deliveries).await?;
        let (mut claimed, next_due) = self
            .ready_in(&outbox, now, per_lane, total, exclude)
            .await?;
        for row in &mut claimed {
            row.claim();
            // Only a write that can be coalesced needs its claim on disk: an enqueue in any
            // tab must see it was attempted. Any other write stays pending on disk while it is
            // on the wire (this engine holds its lane), and its answer writes its state.
            if row.coalesce_key.is_some() {
                outbox.put(row.to_js()?).primitive()?;
            }
        }
        tx.commit().await?;
        let writes = Row::open_all(&claimed, self.vault(), OUTBOX).await?;
        Ok(Ready { writes, next_due })
    }

    /// The ready writes, reading the runs of the lanes this tab knows of. When those have
    /// nothing ready, the lane index is walked again, so a lane another tab opened is found
    /// at the latest when this tab would otherwise go idle.
    async fn ready_in(
        &self,
        outbox: &ObjectStore<'_>,
        now: Millis,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<(Vec<Row>, Option<Millis>), StoreError> {
        let known = self.lanes.borrow().clone();
        let walked = known.is_none();
        let lanes = match known {
            Some(lanes) => lanes,
            None => all_lanes(outbox).await?,
        };
        let runs = lane_runs(outbox, per_lane, total, exclude, Some(&lanes)).await?;
        let (ready, kept) = ready_and_lanes(runs, lanes, exclude, now, total);
        if ready.0.is_empty() && !walked {
            self.forget_lanes();
            return Box::pin(self.ready_in(outbox, now, per_lane, total, exclude)).await;
        }
        *self.lanes.borrow_mut() = Some(kept);
        Ok(ready)
    }
}

/// Lanes whose run came back empty have no undecided entries left: they leave the list.
fn ready_and_lanes(
    runs: Vec<Vec<Row>>,
    mut lanes: BTreeSet<String>,
    exclude: &HashSet<Lane>,
    now: Millis,
    total: usize,
) -> ((Vec<Row>, Option<Millis>), BTreeSet<String>) {
    let read: BTreeSet<String> = runs
        .iter()
        .filter_map(|run| run.first().map(|row| row.lane.as_str().to_owned()))
        .collect();
    lanes.retain(|lane| read.contains(lane) || exclude.contains(&Lane::new(lane.clone())));
    (select_ready(runs, now, total), lanes)
}
