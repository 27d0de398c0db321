//! The store conformance suite against the in-memory store.

use caresync_sync::{conformance, memory::MemoryOutbox};
use futures::executor::block_on;

#[test]
fn the_memory_store_keeps_every_store_rule() {
    block_on(conformance::run_all(|| async { MemoryOutbox::new() }));
}
