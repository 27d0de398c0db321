//! Answers a courier got (the service worker, on Background Sync) are judged as the engine's
//! own: what was delivered is done and never sent again, what was refused parks, and an
//! answer the engine cannot place changes nothing.

#[path = "simulation/model_auth.rs"]
#[allow(dead_code)] // the simulation uses all of it; these tests a part
mod model_auth;
#[path = "simulation/model_server.rs"]
mod model_server;

use std::{cell::Cell, rc::Rc};

use caresync_sync::{
    carry, drive, engine::Intake, memory::MemoryOutbox, AggregateKind, Config, Engine, Lane,
    Mutation, MutationState, NewMutation, OutboxStore as _, Request, TransmitKind, UploadMode,
};
use futures::executor::block_on;
use model_server::{Faults, ModelServer};
use serde_json::json;

fn id(n: u64) -> uuid::Uuid {
    uuid::Builder::from_unix_timestamp_millis(1_700_000_000_000 + n, &[n as u8; 10]).into_uuid()
}

fn message(n: u64, thread: &str) -> NewMutation {
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

struct World {
    engine: Engine<MemoryOutbox>,
    server: ModelServer,
    now: Rc<Cell<u64>>,
}

/// An engine with `writes` queued offline, and the server they are meant for.
async fn world(writes: Vec<NewMutation>) -> World {
    let now = Rc::new(Cell::new(1_000));
    let server = ModelServer::new(7, Faults::NONE, false, now.clone());
    server.sign_in();
    let config = Config {
        mode: UploadMode::PerResource,
        ..Config::default()
    };
    let mut engine = Engine::new(MemoryOutbox::default(), config, 7);
    for w in writes {
        engine.enqueue(now.get(), w, None).await.expect("enqueue");
    }
    World {
        engine,
        server,
        now,
    }
}

impl World {
    fn waiting(&self) -> Vec<Mutation> {
        let mut all = self.engine.store().all();
        all.retain(|m| m.state.is_waiting());
        all.sort_by_key(|m| m.seq);
        all
    }

    /// The courier sends `writes` in order, as the service worker does, straight to the
    /// server's own handling (it has no access token: it comes under the replay credential).
    fn courier(&self, writes: &[Mutation]) -> Vec<caresync_sync::Answer> {
        writes.iter().map(|m| self.server.handle(m)).collect()
    }
}

#[test]
fn writes_a_courier_delivered_are_done_and_never_sent_again() {
    block_on(async {
        let mut w = world(vec![message(1, "a"), message(2, "a"), message(3, "b")]).await;
        let queued = w.waiting();
        let answers = w.courier(&queued);
        for (m, answer) in queued.iter().zip(answers) {
            let intake = w
                .engine
                .handle_courier_answer(w.now.get(), m.id, answer)
                .await
                .expect("intake");
            assert_eq!(intake, Intake::Delivered(AggregateKind::Message));
        }
        let requests_before = w.server.requests.get();
        let clock = {
            let now = w.now.clone();
            move || now.get()
        };
        let engine = futures::lock::Mutex::new(w.engine);
        let report = drive(&engine, &w.server, &clock).await.expect("drive");
        assert_eq!(report.delivered, 0, "nothing left to deliver");
        assert_eq!(
            w.server.requests.get(),
            requests_before,
            "no write went again"
        );
        let engine = engine.into_inner();
        assert!(engine.store().all().iter().all(|m| !m.state.is_waiting()));
        assert_eq!(w.server.state.borrow().effects.len(), 3);
        assert_eq!(w.server.state.borrow().dedupe_hits, 0);
    });
}

#[test]
fn a_refusal_the_courier_heard_parks_the_write_and_holds_its_lane() {
    block_on(async {
        let mut w = world(vec![message(1, "old"), message(2, "old")]).await;
        w.server.state.borrow_mut().archived.insert("old".into());
        let queued = w.waiting();
        // The service worker stops a lane at its first answer that is not a success.
        let answer = w.courier(&queued[..1]).remove(0);
        let intake = w
            .engine
            .handle_courier_answer(w.now.get(), queued[0].id, answer)
            .await
            .expect("intake");
        assert_eq!(intake, Intake::Judged);
        let first = w.engine.store().get(queued[0].id).await.expect("read");
        assert!(matches!(
            first.map(|m| m.state),
            Some(MutationState::Parked { .. })
        ));
        let second = w.engine.store().get(queued[1].id).await.expect("read");
        assert_eq!(second.map(|m| m.state), Some(MutationState::Pending));
        let clock = || 1_000;
        let engine = futures::lock::Mutex::new(w.engine);
        drive(&engine, &w.server, &clock).await.expect("drive");
        let second = engine
            .into_inner()
            .store()
            .get(queued[1].id)
            .await
            .expect("read");
        assert_eq!(
            second.map(|m| m.state),
            Some(MutationState::Pending),
            "the write behind the parked one waits for the user"
        );
        assert!(w.server.state.borrow().effects.is_empty());
    });
}

#[test]
fn an_answer_the_engine_cannot_place_changes_nothing() {
    block_on(async {
        let mut w = world(vec![message(1, "a")]).await;
        let queued = w.waiting();
        let stray = w
            .engine
            .handle_courier_answer(
                w.now.get(),
                id(99),
                caresync_sync::Answer::new(201, json!({})),
            )
            .await
            .expect("intake");
        assert_eq!(stray, Intake::Ignored, "no such write");
        // The engine is sending it itself: its own answer will say.
        loop {
            let t = w.engine.poll_transmit(w.now.get()).await.expect("poll");
            let t = t.expect("the write goes out");
            if matches!(t.kind, TransmitKind::Send(_)) {
                break;
            }
            let (tid, reply) = carry(&w.server, t).await;
            w.engine
                .handle_answer(w.now.get(), tid, reply)
                .await
                .expect("answer");
        }
        let answer = w.courier(&queued).remove(0);
        let busy = w
            .engine
            .handle_courier_answer(w.now.get(), queued[0].id, answer)
            .await
            .expect("intake");
        assert_eq!(busy, Intake::Ignored);
        let still = w.engine.store().get(queued[0].id).await.expect("read");
        assert_eq!(still.map(|m| m.state), Some(MutationState::InFlight));
    });
}

#[test]
fn a_courier_answer_to_retry_backs_the_write_off_like_a_send() {
    block_on(async {
        let mut w = world(vec![message(1, "a")]).await;
        let queued = w.waiting();
        let busy = caresync_sync::Answer::new(
            503,
            json!({"statusCode": 503, "code": "UNAVAILABLE", "message": "busy"}),
        );
        let intake = w
            .engine
            .handle_courier_answer(w.now.get(), queued[0].id, busy)
            .await
            .expect("intake");
        assert_eq!(intake, Intake::Judged);
        let m = w
            .engine
            .store()
            .get(queued[0].id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(m.state, MutationState::Pending);
        assert_eq!(m.attempts, 1);
        assert!(
            m.next_attempt_at > w.now.get(),
            "backed off, not due at once"
        );
    });
}
