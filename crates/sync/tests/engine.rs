//! The engine's rules, one at a time, against the model server.

#[path = "simulation/model_auth.rs"]
#[allow(dead_code)] // the simulation uses all of it; these tests a part
mod model_auth;
#[path = "simulation/model_server.rs"]
mod model_server;

use std::{cell::Cell, rc::Rc};

use caresync_sync::{
    carry, memory::MemoryOutbox, AggregateKind, Config, Engine, EngineError, EnqueueError, Event,
    Lane, MutationState, NewMutation, OutboxStore, Request, Resolution, Stop, SyncReport,
    TransmitKind, UploadMode,
};
use futures::executor::block_on;
use model_server::{Faults, ModelServer};
use serde_json::json;

const CALM: Faults = Faults::NONE;

/// A model server whose client clock reads `at`.
fn server_at(seed: u64, batch: bool, at: u64) -> (ModelServer, Rc<Cell<u64>>) {
    let now = Rc::new(Cell::new(at));
    (ModelServer::new(seed, CALM, batch, now.clone()), now)
}

fn id(n: u64) -> uuid::Uuid {
    uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000 + n, &[n as u8; 10]).into_uuid()
}

fn message(n: u64, thread: u32) -> NewMutation {
    NewMutation {
        id: id(n),
        tenant: "north-clinic".into(),
        actor: "patient1".into(),
        kind: AggregateKind::Message,
        lane: Lane::new(format!("thread:{thread}")),
        request: Request {
            method: "POST".into(),
            path: format!("/threads/{thread}/messages"),
            body: json!({"clientMutationId": id(n), "body": format!("message {n}")}),
        },
        coalesce_key: None,
        versioned: None,
    }
}

fn read_receipt(n: u64, message: &str, read_at: u64) -> NewMutation {
    NewMutation {
        kind: AggregateKind::ReadReceipt,
        lane: Lane::new(format!("read:{message}")),
        request: Request {
            method: "POST".into(),
            path: "/read".into(),
            body: json!({"clientMutationId": id(n), "messageIds": [message], "readAt": read_at}),
        },
        coalesce_key: Some(format!("read:{message}")),
        ..message_like(n)
    }
}

fn message_like(n: u64) -> NewMutation {
    message(n, 0)
}

/// Drives by hand, one transmit at a time, until the engine has nothing more to send now.
async fn sync(
    ob: &mut Engine<MemoryOutbox>,
    server: &ModelServer,
    clock: &impl Fn() -> u64,
) -> Result<SyncReport, EngineError<std::convert::Infallible>> {
    let before = ob.delivered_total();
    let mut sent = 0;
    while let Some(t) = ob.poll_transmit(clock()).await? {
        sent += match &t.kind {
            TransmitKind::Send(_) => 1,
            TransmitKind::Push(batch) => batch.len(),
            _ => 0,
        };
        let (id, reply) = carry(server, t).await;
        ob.handle_answer(clock(), id, reply).await?;
    }
    Ok(SyncReport {
        sent,
        delivered: (ob.delivered_total() - before) as usize,
        stopped: ob.stopped(clock()),
        retry_at: ob.poll_timeout(),
    })
}

fn events(ob: &mut Engine<MemoryOutbox>) -> Vec<Event> {
    std::iter::from_fn(|| ob.poll_event()).collect()
}

async fn outbox(mode: UploadMode) -> Engine<MemoryOutbox> {
    let config = Config {
        mode,
        ..Config::default()
    };
    Engine::open(MemoryOutbox::new(), config, 1)
        .await
        .expect("open")
}

#[test]
fn unsent_read_receipts_coalesce_to_the_latest() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, read_receipt(1, "m1", 10), None)
            .await
            .expect("enqueue");
        ob.enqueue(1, read_receipt(2, "m1", 20), None)
            .await
            .expect("enqueue");
        ob.enqueue(2, read_receipt(3, "m2", 5), None)
            .await
            .expect("enqueue");
        let stats = ob.stats().await.expect("stats");
        assert_eq!(stats.pending, 2, "m1's two receipts became one");
        assert!(events(&mut ob).contains(&Event::Coalesced {
            replaced: id(1),
            by: id(2)
        }));
        let (server, _) = server_at(1, false, 0);
        sync(&mut ob, &server, &|| 100).await.expect("sync");
        assert_eq!(server.state.borrow().read_at.get("m1"), Some(&20));
        assert_eq!(server.state.borrow().effects.len(), 2);
    });
}

#[test]
fn server_authoritative_writes_are_refused_not_queued() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        let mut reopen = message(1, 0);
        reopen.kind = AggregateKind::MessageThread;
        let err = ob.enqueue(0, reopen, None).await.expect_err("must refuse");
        assert!(matches!(
            err,
            EnqueueError::NeedsConnection {
                kind: AggregateKind::MessageThread
            }
        ));
        assert!(err.to_string().contains("needs a connection"));
        assert_eq!(ob.stats().await.expect("stats").pending, 0);
    });
}

#[test]
fn a_parked_head_blocks_only_its_own_lane_until_resolved() {
    for mode in [UploadMode::PerResource, UploadMode::Batch] {
        block_on(async {
            let mut ob = outbox(mode).await;
            let (server, _) = server_at(2, mode == UploadMode::Batch, 0);
            server.state.borrow_mut().archived.insert("0".into());
            ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
            ob.enqueue(1, message(2, 0), None).await.expect("enqueue");
            ob.enqueue(2, message(3, 1), None).await.expect("enqueue");
            sync(&mut ob, &server, &|| 10).await.expect("sync");

            let blocked = ob.store().blocked().await.expect("blocked");
            assert_eq!(blocked.len(), 1, "{mode:?}");
            assert_eq!(blocked[0].id, id(1));
            match &blocked[0].state {
                MutationState::Parked { reason, actions } => {
                    assert!(reason.code.is(caresync_contract::ErrorCode::ThreadArchived));
                    assert_eq!(actions.len(), 3);
                }
                other => panic!("expected parked, got {other:?}"),
            }
            let delivered: Vec<_> = server.state.borrow().effects.iter().map(|e| e.0).collect();
            assert_eq!(
                delivered,
                vec![id(3)],
                "thread 1 flowed; thread 0 waits ({mode:?})"
            );
            assert_eq!(
                ob.store().get(id(2)).await.expect("get").map(|m| m.state),
                Some(MutationState::Pending)
            );

            // The user reopens the thread and retries: both go, in order.
            server.state.borrow_mut().archived.clear();
            ob.resolve(20, id(1), Resolution::Retry)
                .await
                .expect("retry");
            sync(&mut ob, &server, &|| 30).await.expect("sync");
            let delivered: Vec<_> = server.state.borrow().effects.iter().map(|e| e.0).collect();
            assert_eq!(delivered, vec![id(3), id(1), id(2)]);
        });
    }
}

#[test]
fn discarding_a_parked_write_removes_it_and_its_entity() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        let (server, _) = server_at(3, false, 0);
        server.state.borrow_mut().archived.insert("0".into());
        ob.enqueue(0, message(1, 0), Some(json!({"body": "message 1"})))
            .await
            .expect("enqueue");
        sync(&mut ob, &server, &|| 1).await.expect("sync");
        let err = ob
            .resolve(2, id(9), Resolution::Discard)
            .await
            .expect_err("unknown id");
        assert!(err.to_string().contains("no queued write"));
        ob.resolve(2, id(1), Resolution::Discard)
            .await
            .expect("discard");
        assert_eq!(ob.store().get(id(1)).await.expect("get"), None);
        assert_eq!(ob.store().entity(id(1)), None);
        assert!(events(&mut ob).contains(&Event::Discarded { id: id(1) }));
    });
}

#[test]
fn an_amended_write_goes_again_under_its_id_with_the_new_body() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        let (server, _) = server_at(3, false, 0);
        server.state.borrow_mut().archived.insert("0".into());
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        sync(&mut ob, &server, &|| 1).await.expect("sync");
        assert!(matches!(
            ob.store().get(id(1)).await.expect("get").map(|m| m.state),
            Some(MutationState::Parked { .. })
        ));
        server.state.borrow_mut().archived.clear();
        ob.resolve(2, id(1), Resolution::Amend(json!({"body": "said again"})))
            .await
            .expect("amend");
        let amended = ob.store().get(id(1)).await.expect("get").expect("kept");
        assert_eq!(amended.state, MutationState::Pending);
        assert_eq!(amended.request.body, json!({"body": "said again"}));
        sync(&mut ob, &server, &|| 3).await.expect("sync");
        let delivered: Vec<_> = server.state.borrow().effects.iter().map(|e| e.0).collect();
        assert_eq!(delivered, vec![id(1)], "once, under the same id");
        let err = ob
            .resolve(4, id(1), Resolution::Amend(json!({})))
            .await
            .expect_err("only a parked write is amended");
        assert!(err.to_string().contains("is done"), "{err}");
    });
}

#[test]
fn a_pending_write_cannot_be_discarded_behind_the_users_back() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let err = ob
            .resolve(1, id(1), Resolution::Discard)
            .await
            .expect_err("pending");
        assert!(err.to_string().contains("is pending"));
    });
}

#[test]
fn a_crash_leaves_in_flight_writes_that_come_back_pending() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        // The token step, then the write goes on the wire, and the tab dies.
        let mut sends = 0;
        while let Some(t) = ob.poll_transmit(1).await.expect("poll") {
            match t.kind {
                TransmitKind::Authorize => {
                    let (tid, _) = (t.id, ());
                    ob.handle_answer(1, tid, caresync_sync::Reply::Authorized(Ok(())))
                        .await
                        .expect("authorized");
                }
                TransmitKind::Send(_) => sends += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(sends, 1);
        assert_eq!(ob.stats().await.expect("stats").in_flight, 1);
        let store = ob.into_store();
        let ob = Engine::open(store, Config::default(), 2)
            .await
            .expect("reopen");
        let stats = ob.stats().await.expect("stats");
        assert_eq!((stats.pending, stats.in_flight), (1, 0));
    });
}

#[test]
fn delivery_reconciles_the_optimistic_entity_and_reports_stats() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(
            5,
            message(1, 0),
            Some(json!({"body": "message 1", "state": "sending"})),
        )
        .await
        .expect("enqueue");
        let before = ob.stats().await.expect("stats");
        assert_eq!(before.oldest_pending_age(105), Some(100));
        assert_eq!(before.last_success_at, None);
        let (server, _) = server_at(4, false, 0);
        let report = sync(&mut ob, &server, &|| 200).await.expect("sync");
        assert_eq!(
            (report.sent, report.delivered, report.stopped),
            (1, 1, None)
        );
        let entity = ob.store().entity(id(1)).expect("entity kept");
        assert_eq!(entity["messageId"], "m-0");
        assert_eq!(entity["body"], "message 1");
        let after = ob.stats().await.expect("stats");
        assert_eq!(
            (after.pending, after.done, after.last_success_at),
            (0, 1, Some(200))
        );
    });
}

#[test]
fn offline_stops_the_pass_and_backs_off() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        for n in 1..=4 {
            ob.enqueue(0, message(n, n as u32), None)
                .await
                .expect("enqueue");
        }
        let (server, _) = server_at(5, false, 1_000);
        server.sign_in();
        server.offline.set(true);
        let report = sync(&mut ob, &server, &|| 1_000).await.expect("sync");
        // Capabilities are not known yet in per-resource mode, so it tries the lanes once each.
        // One write met the silence; the rest were not sent into it.
        assert_eq!(report.stopped, Some(Stop::Offline));
        assert_eq!(report.sent, 1);
        assert!(report.retry_at.is_some_and(|t| t >= 1_250), "{report:?}");
        let stats = ob.stats().await.expect("stats");
        assert_eq!((stats.pending, stats.in_flight), (4, 0));
    });
}

#[test]
fn an_expired_token_is_refreshed_and_the_write_sent_once() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let (server, _) = server_at(6, false, 0);
        server.sign_in();
        server.state.borrow_mut().auth.epoch = 1;
        let report = sync(&mut ob, &server, &|| 10).await.expect("sync");
        assert_eq!(report.delivered, 1);
        assert!(events(&mut ob).contains(&Event::AuthRequired));
        assert_eq!(server.state.borrow().effects.len(), 1);
        let m = ob.store().get(id(1)).await.expect("get").expect("kept");
        assert_eq!(m.attempts, 1, "the refused send did not count");
    });
}

#[test]
fn a_refused_refresh_is_final_sends_nothing_more_and_sign_in_resumes() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let (server, now) = server_at(7, false, 1_000);
        // Signed out everywhere from another device: the stored refresh token is dead.
        server.state.borrow_mut().auth.revoke(1);
        let report = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(report.stopped, Some(Stop::SignInRequired));
        assert!(events(&mut ob).contains(&Event::SignInRequired));
        let asked = server.requests.get();
        assert_eq!(asked, 1, "one refresh, refused");
        // Every later trigger, hours later too, stays quiet until the user signs in.
        for step in 1..=50 {
            now.set(1_000 + step * 60_000);
            let report = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
            assert_eq!(report.stopped, Some(Stop::SignInRequired));
        }
        assert_eq!(
            server.requests.get(),
            asked,
            "nothing went out while refused"
        );
        assert_eq!(
            ob.stats().await.expect("stats").pending,
            1,
            "the write is kept"
        );
        server.sign_in();
        ob.signed_in();
        let report = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(report.delivered, 1);
        assert_eq!(server.state.borrow().effects.len(), 1);
    });
}

#[test]
fn a_lost_refresh_answer_backs_off_then_the_grace_window_replays_it() {
    block_on(async {
        let mut ob = outbox(UploadMode::PerResource).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let (server, now) = server_at(8, false, 1_000);
        server.faults.set(Faults {
            lost_refresh: 100,
            ..CALM
        });
        let report = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(report.stopped, Some(Stop::Offline));
        let retry_at = report.retry_at.expect("a time for the next refresh");
        assert!(retry_at >= 2_000, "no sooner than the floor: {retry_at}");
        // Triggers before then (online events, visibility, "Sync now") send nothing.
        let asked = server.requests.get();
        now.set(retry_at - 1);
        let early = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(early.retry_at, Some(retry_at));
        assert_eq!(server.requests.get(), asked);
        // The answer comes through this time: the rotated token gets the same successor.
        server.faults.set(CALM);
        now.set(retry_at);
        let report = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(report.delivered, 1);
        assert_eq!(server.state.borrow().auth.grace_replays, 1);
    });
}

#[test]
fn an_unanswered_capabilities_probe_backs_off() {
    block_on(async {
        let mut ob = outbox(UploadMode::Auto).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let (server, now) = server_at(9, true, 1_000);
        server.sign_in();
        server.offline.set(true);
        let first = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        let retry_at = first.retry_at.expect("a time for the next probe");
        assert!(retry_at >= 1_250);
        let asked = server.requests.get();
        for t in (1_001..retry_at).step_by(50) {
            now.set(t);
            sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        }
        assert_eq!(server.requests.get(), asked, "no probe before its time");
        server.offline.set(false);
        now.set(retry_at);
        assert_eq!(
            sync(&mut ob, &server, &|| now.get())
                .await
                .expect("sync")
                .delivered,
            1
        );
    });
}

#[test]
fn a_probe_answered_with_an_error_falls_back_per_resource_and_asks_again() {
    block_on(async {
        let mut ob = outbox(UploadMode::Auto).await;
        ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
        let (server, now) = server_at(10, true, 1_000);
        server.sign_in();
        // The capabilities endpoint answers 503 on the first probe.
        server.faults.set(Faults {
            server_error: 100,
            ..CALM
        });
        let first = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(first.stopped, None, "a server that answers is not offline");
        server.faults.set(CALM);
        assert_eq!(first.delivered, 0, "the send itself met the 503 too");
        // Later the server says it has the batch endpoint: the tab is not pinned per resource.
        ob.enqueue(0, message(2, 1), None).await.expect("enqueue");
        now.set(10 * 60_000);
        let later = sync(&mut ob, &server, &|| now.get()).await.expect("sync");
        assert_eq!(later.delivered, 2);
        assert!(
            server.state.borrow().pushes > 0,
            "the batch endpoint was used after the re-probe"
        );
    });
}

#[test]
fn a_held_lane_waits_until_the_other_queue_lets_go_and_then_keeps_its_order() {
    for mode in [UploadMode::PerResource, UploadMode::Batch] {
        block_on(async {
            let mut ob = outbox(mode).await;
            let (server, _) = server_at(3, mode == UploadMode::Batch, 0);
            ob.enqueue(0, message(1, 0), None).await.expect("enqueue");
            ob.enqueue(1, message(2, 1), None).await.expect("enqueue");
            // Thread 0's earlier writes wait in another queue (sealed at a lock).
            ob.hold_lanes(std::collections::HashSet::from([Lane::thread("0")]));
            sync(&mut ob, &server, &|| 10).await.expect("sync");
            let delivered: Vec<_> = server.state.borrow().effects.iter().map(|e| e.0).collect();
            assert_eq!(delivered, vec![id(2)], "only the free lane went ({mode:?})");
            assert_eq!(ob.stats().await.expect("stats").pending, 1);

            ob.hold_lanes(std::collections::HashSet::new());
            sync(&mut ob, &server, &|| 20).await.expect("sync");
            let delivered: Vec<_> = server.state.borrow().effects.iter().map(|e| e.0).collect();
            assert_eq!(
                delivered,
                vec![id(2), id(1)],
                "released, it goes ({mode:?})"
            );
        });
    }
}
