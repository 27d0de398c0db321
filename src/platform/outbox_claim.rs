//! Claiming in one IndexedDB transaction: record the deliveries, read the lane runs, mark
//! what goes out as in flight. Each entry is read once, and nothing another tab does
//! (coalescing a receipt, say) can fall between the read and the claim.

use std::collections::HashSet;

use caresync_sync::{store::assemble_ready, Lane, Millis, Mutation, MutationState, Ready};
use indexed_db_futures::{prelude::*, transaction::TransactionMode};

use super::{
    idb::{to_js, StoreError, ENTITIES, META, OUTBOX, RECEIPTS},
    outbox_store::{lane_runs, record_done, IdbOutbox},
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
        // Relaxed durability, as for every claim: a lost one leaves the writes pending.
        let tx = self
            .database()
            .transaction([OUTBOX, ENTITIES, RECEIPTS, META])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let outbox = tx.object_store(OUTBOX)?;
        // Deliveries first, so a delivered head no longer hides the rest of its lane.
        record_done(&tx, &outbox, delivered).await?;
        let runs = lane_runs(&outbox, per_lane.min(total), exclude).await?;
        let mut ready = assemble_ready(runs, now, total);
        for m in &mut ready.writes {
            m.state = MutationState::InFlight;
            m.attempts += 1;
            // Only a write that can be coalesced needs its claim on disk: an enqueue in any
            // tab must see it was attempted. Any other write stays pending on disk while it is
            // on the wire (this engine holds its lane), and its answer writes its state.
            if m.coalesce_key.is_some() {
                outbox.put(to_js(m)?).primitive()?;
            }
        }
        tx.commit().await?;
        Ok(ready)
    }
}
