//! Browser tier: the IndexedDB outbox in real Chromium — durability, atomicity, migration,
//! and the engine driving it.

use std::collections::HashSet;

use caresync::platform::{
    idb,
    outbox_store::{EntityChange, IdbOutbox},
    writes,
};
use caresync_sync::{
    Config, Engine, Lane, Mutation, MutationState, NewMutation, OutboxStore, Reply, TransmitId,
    TransmitKind, UploadMode,
};
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::vault;

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::now_v7())
}

fn message(thread: &str, text: &str) -> NewMutation {
    writes::message_as("north-clinic", "usr-north-patient1", thread, text).0
}

fn optimistic(new: &NewMutation) -> EntityChange {
    EntityChange {
        key: format!("msg:{}:{}", new.lane.as_str(), new.id),
        value: json!({"body": new.request.body["body"], "clientMutationId": new.id}),
    }
}

#[wasm_bindgen_test]
async fn queued_writes_survive_closing_and_reopening_the_database() {
    let name = unique("persist");
    let db = idb::open(&name).await.expect("open");
    let store = IdbOutbox::new(vault(db.clone()).await);
    let mut ids = Vec::new();
    for (i, text) in ["first", "second", "third"].iter().enumerate() {
        let new = message(if i == 1 { "b" } else { "a" }, text);
        ids.push(new.id);
        let change = optimistic(&new);
        store
            .append(new, Some(change), 1_000 + i as u64)
            .await
            .expect("append");
    }
    db.close();

    let db = idb::open(&name).await.expect("reopen");
    let store = IdbOutbox::new(vault(db).await);
    let lane_a = store.lane("thread:a").await.expect("lane");
    assert_eq!(
        lane_a.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
    assert!(lane_a[0].seq < lane_a[1].seq);
    let stats = store.stats().await.expect("stats");
    assert_eq!(
        (stats.pending, stats.oldest_pending_created_at),
        (3, Some(1_000))
    );
    let ready = store
        .ready(5_000, 1, 10, &HashSet::new())
        .await
        .expect("ready")
        .writes;
    assert_eq!(
        ready.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[0], ids[1]],
        "lane heads, oldest first"
    );
    let ready = store
        .ready(5_000, 5, 10, &HashSet::from([Lane::new("thread:b")]))
        .await
        .expect("ready")
        .writes;
    assert_eq!(
        ready.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
}

#[wasm_bindgen_test]
async fn the_entity_and_its_outbox_entry_commit_together_or_not_at_all() {
    let db = idb::open(&unique("atomic")).await.expect("open");
    let store = IdbOutbox::new(vault(db).await);
    let first = message("a", "hello");
    let change = optimistic(&first);
    store
        .append(first.clone(), Some(change.clone()), 1)
        .await
        .expect("append");
    assert_eq!(
        store.entity(&change.key).await.expect("entity"),
        Some(change.value.clone())
    );

    // Same clientMutationId again: the outbox add fails, so the entity write must roll back.
    let clash = EntityChange {
        key: "msg:clash".into(),
        value: json!({"body": "must not exist"}),
    };
    let err = store.append(first, Some(clash), 2).await;
    assert!(err.is_err(), "a duplicate id is refused");
    assert_eq!(store.entity("msg:clash").await.expect("entity"), None);
    assert_eq!(store.stats().await.expect("stats").pending, 1);
}

/// Drives `engine` by hand to its next write on the wire, granting the token step.
async fn next_send(engine: &mut Engine<IdbOutbox>, now: u64) -> (TransmitId, Mutation) {
    loop {
        let t = engine
            .poll_transmit(now)
            .await
            .expect("poll")
            .expect("a transmit");
        match t.kind {
            TransmitKind::Authorize => engine
                .handle_answer(now, t.id, Reply::Authorized(Ok(())))
                .await
                .expect("authorized"),
            TransmitKind::Send(m) => return (t.id, m),
            other => panic!("unexpected transmit {other:?}"),
        }
    }
}

#[wasm_bindgen_test]
async fn the_engine_runs_on_indexeddb_through_crash_and_resolution() {
    let config = Config {
        mode: UploadMode::PerResource,
        ..Config::default()
    };
    let db = idb::open(&unique("engine")).await.expect("open");
    let mut engine = Engine::open(IdbOutbox::new(vault(db).await), config, 7)
        .await
        .expect("engine");
    let new = message("a", "hi");
    let id = new.id;
    let change = optimistic(&new);
    engine
        .enqueue(1, new, Some(change.clone()))
        .await
        .expect("enqueue");

    // On the wire when the tab dies; the reopened engine finds it pending and sends it again
    // (the server answers a repeat from its dedupe table).
    let (_, sent) = next_send(&mut engine, 2).await;
    assert_eq!((sent.id, sent.attempts), (id, 1));
    let store = engine.into_store();
    let mut engine = Engine::open(store, config, 8).await.expect("reopen");
    let stats = engine.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.in_flight), (1, 0));

    // The server answers: the optimistic entity takes the server's id and time.
    let (tid, _) = next_send(&mut engine, 3).await;
    let answer = caresync_sync::Answer::new(
        201,
        json!({"messageId": "srv-1", "sentAt": "2026-11-22T10:00:00.000Z"}),
    );
    engine
        .handle_answer(4, tid, Reply::Answer(answer))
        .await
        .expect("answer");
    assert!(engine.poll_transmit(4).await.expect("poll").is_none());
    let entity = engine
        .store()
        .entity(&change.key)
        .await
        .expect("entity")
        .expect("kept");
    assert_eq!(entity["messageId"], "srv-1");
    assert_eq!(entity["body"], "hi");
    let done = engine.store().get(id).await.expect("get").expect("receipt");
    assert!(matches!(done.state, MutationState::Done { .. }));
    let stats = engine.stats().await.expect("stats");
    assert_eq!(
        (stats.pending, stats.done, stats.last_success_at),
        (0, 1, Some(4))
    );
}

#[wasm_bindgen_test]
async fn the_indexeddb_store_keeps_every_store_rule() {
    caresync_sync::conformance::run_all(|| async {
        IdbOutbox::new(vault(idb::open(&unique("conformance")).await.expect("open")).await)
    })
    .await;
}

#[wasm_bindgen_test]
async fn receipts_stop_growing_but_every_delivery_is_counted() {
    let store = IdbOutbox::new(vault(idb::open(&unique("receipts")).await.expect("open")).await);
    let mut done = Vec::new();
    for i in 0..30 {
        let m = store
            .append(message(&format!("r{}", i % 3), "delivered"), None, i)
            .await
            .expect("append");
        done.push(m);
    }
    let ready = store
        .ready(100, 10, 30, &HashSet::new())
        .await
        .expect("ready");
    let claimed = store.claim(&ready.writes).await.expect("claim");
    let delivered: Vec<Mutation> = claimed
        .into_iter()
        .map(|mut m| {
            m.state = MutationState::Done {
                receipt: caresync_sync::Receipt {
                    status: 201,
                    body: json!({}),
                    at: 100,
                },
            };
            m
        })
        .collect();
    assert_eq!(delivered.len(), 30);
    store.complete(&delivered).await.expect("complete");
    assert_eq!(store.prune_receipts(10).await.expect("prune"), 20);
    assert_eq!(
        store.prune_receipts(10).await.expect("prune"),
        0,
        "nothing more to drop"
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.done, 30, "every delivery is still counted");
    assert_eq!(store.receipts_pruned().await.expect("pruned"), 20);
    // The newest receipts are the ones kept.
    let newest = done.last().expect("a write").id;
    assert!(store.get(newest).await.expect("get").is_some());
    assert!(store.get(done[0].id).await.expect("get").is_none());
}

#[wasm_bindgen_test]
async fn a_lane_another_tab_opened_is_found_without_being_told() {
    let db = idb::open(&unique("lanes")).await.expect("open");
    let (this_tab, other_tab) = (
        IdbOutbox::new(vault(db.clone()).await),
        IdbOutbox::new(vault(db).await),
    );
    let first = this_tab
        .append(message("mine", "first"), None, 0)
        .await
        .expect("append");
    let claimed = this_tab
        .claim_ready(&[], 1, 1, 10, &HashSet::new())
        .await
        .expect("claim");
    assert_eq!(claimed.writes.len(), 1, "this tab now knows its lanes");
    // Another tab opens a lane; this tab's list does not have it, and its own lane is busy.
    let theirs = other_tab
        .append(message("theirs", "second"), None, 2)
        .await
        .expect("append");
    let busy = HashSet::from([first.lane.clone()]);
    let found = this_tab
        .claim_ready(&[], 3, 1, 10, &busy)
        .await
        .expect("claim");
    assert_eq!(
        found.writes.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![theirs.id],
        "nothing else was ready, so the lane index was walked again"
    );
}
