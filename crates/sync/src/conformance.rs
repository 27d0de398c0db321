//! One conformance suite for every [`OutboxStore`] (feature `test-support`): the rules are
//! written once here and run natively against `MemoryOutbox` and in Chromium against the
//! IndexedDB store, so the two cannot drift apart.
//!
//! Each check takes a fresh, empty store and panics with the rule it broke.

use std::collections::HashSet;

use crate::{
    model::{AggregateKind, Lane, MutationState, NewMutation, Request},
    store::OutboxStore,
};

/// A write of `kind` in `lane`, numbered `n` (ids are unique per `n`).
pub fn write(n: u64, kind: AggregateKind, lane: Lane) -> NewMutation {
    let id = uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000 + n, &[n as u8; 10])
        .into_uuid();
    let coalesce_key = (kind == AggregateKind::ReadReceipt).then(|| lane.as_str().to_owned());
    NewMutation {
        id,
        tenant: "north-clinic".into(),
        actor: "usr-north-patient1".into(),
        kind,
        lane,
        request: Request {
            method: "POST".into(),
            path: "/api/v1/conformance".into(),
            body: serde_json::json!({ "clientMutationId": id, "n": n }),
        },
        coalesce_key,
        versioned: None,
    }
}

/// Runs every rule; `fresh` opens a new empty store for each.
pub async fn run_all<S, F, Fut>(fresh: F)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    read_receipts_are_counted_apart_from_the_users_changes(fresh().await).await;
    crash_recovery_returns_in_flight_writes_to_pending(fresh().await).await;
    lane_order_and_one_head_per_lane(fresh().await).await;
    only_lane_heads_say_when_to_wake_up(fresh().await).await;
    only_a_never_sent_write_coalesces(fresh().await).await;
    a_claim_records_deliveries_first(fresh().await).await;
}

pub async fn read_receipts_are_counted_apart_from_the_users_changes<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let thread = Lane::new("thread:conformance");
    for n in 1..=2 {
        store
            .append(write(n, AggregateKind::Message, thread.clone()), None, 0)
            .await
            .expect("append a message");
    }
    for (n, message) in [(3, "m1"), (4, "m2"), (5, "m3")] {
        let lane = Lane::read_receipt(message);
        store
            .append(write(n, AggregateKind::ReadReceipt, lane), None, 0)
            .await
            .expect("append a receipt");
    }
    let stats = store.stats().await.expect("stats");
    assert_eq!(stats.waiting(), 5, "every undecided write is waiting");
    assert_eq!(stats.housekeeping, 3, "read receipts are counted apart");
    assert_eq!(stats.changes_waiting(), 2, "the user's own changes");
}

pub async fn crash_recovery_returns_in_flight_writes_to_pending<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let lane = Lane::new("thread:crash");
    store
        .append(write(10, AggregateKind::Message, lane.clone()), None, 0)
        .await
        .expect("append");
    let ready = store.ready(0, 1, 10, &HashSet::new()).await.expect("ready");
    let claimed = store.claim(&ready.writes).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, MutationState::InFlight);
    assert_eq!(claimed[0].attempts, 1, "a claim counts an attempt");
    assert_eq!(store.reset_in_flight().await.expect("reset"), 1);
    let back = store.get(claimed[0].id).await.expect("get").expect("kept");
    assert_eq!(back.state, MutationState::Pending);
}

pub async fn lane_order_and_one_head_per_lane<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let (a, b) = (Lane::new("thread:a"), Lane::new("thread:b"));
    let mut ids = Vec::new();
    for (n, lane) in [(20, &a), (21, &b), (22, &a), (23, &a)] {
        let m = store
            .append(write(n, AggregateKind::Message, lane.clone()), None, 0)
            .await
            .expect("append");
        ids.push(m.id);
    }
    let heads = store.ready(0, 1, 10, &HashSet::new()).await.expect("ready");
    let got: Vec<_> = heads.writes.iter().map(|m| m.id).collect();
    assert_eq!(
        got,
        vec![ids[0], ids[1]],
        "one head per lane, oldest lane first"
    );
    let runs = store
        .ready(0, 10, 10, &HashSet::new())
        .await
        .expect("ready");
    let lane_a: Vec<_> = runs
        .writes
        .iter()
        .filter(|m| m.lane == a)
        .map(|m| m.id)
        .collect();
    assert_eq!(
        lane_a,
        vec![ids[0], ids[2], ids[3]],
        "a lane's run keeps its order"
    );
    let without_a = store
        .ready(0, 10, 10, &HashSet::from([a.clone()]))
        .await
        .expect("ready");
    assert!(
        without_a.writes.iter().all(|m| m.lane == b),
        "an excluded lane is skipped"
    );
}

pub async fn only_lane_heads_say_when_to_wake_up<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let (parked, backing_off) = (Lane::new("thread:parked"), Lane::new("thread:later"));
    let head = store
        .append(write(30, AggregateKind::Message, parked.clone()), None, 0)
        .await
        .expect("append");
    // A follower long due, behind a head the user must decide on.
    store
        .append(write(31, AggregateKind::Message, parked), None, 0)
        .await
        .expect("append");
    let mut blocked = head.clone();
    blocked.state = MutationState::Parked {
        reason: crate::model::ParkReason {
            status: 409,
            code: caresync_contract::ErrorCode::ThreadArchived.into(),
            message: String::new(),
            attachment: None,
        },
        actions: vec![],
    };
    store.put(&[blocked]).await.expect("park");
    let mut later = store
        .append(write(32, AggregateKind::Message, backing_off), None, 0)
        .await
        .expect("append");
    later.next_attempt_at = 5_000;
    store.put(&[later]).await.expect("back off");
    let ready = store
        .ready(1_000, 1, 10, &HashSet::new())
        .await
        .expect("ready");
    assert!(ready.writes.is_empty(), "nothing is due at 1 s");
    assert_eq!(
        ready.next_due,
        Some(5_000),
        "the backed-off head says when; the follower behind a parked head does not"
    );
}

pub async fn only_a_never_sent_write_coalesces<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let lane = Lane::read_receipt("m9");
    let key = lane.as_str().to_owned();
    let first = store
        .append(write(40, AggregateKind::ReadReceipt, lane.clone()), None, 0)
        .await
        .expect("append");
    let taken = store.take_unsent(&lane, &key).await.expect("take");
    assert_eq!(
        taken.map(|m| m.id),
        Some(first.id),
        "an unsent receipt is replaced"
    );
    assert!(
        store.get(first.id).await.expect("get").is_none(),
        "and is gone"
    );
    let second = store
        .append(write(41, AggregateKind::ReadReceipt, lane.clone()), None, 0)
        .await
        .expect("append");
    let ready = store.ready(0, 1, 10, &HashSet::new()).await.expect("ready");
    store.claim(&ready.writes).await.expect("claim");
    store.reset_in_flight().await.expect("back to pending");
    let attempted = store.take_unsent(&lane, &key).await.expect("take");
    assert!(
        attempted.is_none(),
        "an attempted write may be on the server: never replaced"
    );
    assert!(store.get(second.id).await.expect("get").is_some());
}

pub async fn a_claim_records_deliveries_first<S>(store: S)
where
    S: OutboxStore,
    S::Error: std::fmt::Debug,
{
    let lane = Lane::new("thread:claim");
    let mut ids = Vec::new();
    for n in 50..53 {
        let m = store
            .append(write(n, AggregateKind::Message, lane.clone()), None, 0)
            .await
            .expect("append");
        ids.push(m.id);
    }
    let first = store
        .claim_ready(&[], 0, 1, 10, &HashSet::new())
        .await
        .expect("claim");
    assert_eq!(
        first.writes.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
    assert!(first
        .writes
        .iter()
        .all(|m| m.state == MutationState::InFlight && m.attempts == 1));
    let mut delivered = first.writes[0].clone();
    delivered.state = MutationState::Done {
        receipt: crate::model::Receipt {
            status: 201,
            body: serde_json::json!({}),
            at: 1,
        },
    };
    // The delivered head no longer hides its lane: the rest of the run is claimed with it.
    let next = store
        .claim_ready(&[delivered], 1, 10, 10, &HashSet::new())
        .await
        .expect("claim");
    assert_eq!(
        next.writes.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![ids[1], ids[2]]
    );
    // A store may leave a write that cannot be coalesced pending on disk while it is out.
    let stats = store.stats().await.expect("stats");
    assert_eq!((stats.done, stats.in_flight + stats.pending), (1, 2));
}
