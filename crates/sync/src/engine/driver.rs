//! The driver: carries the engine's transmits over a [`Transport`], several at once, and
//! hands every answer back, until nothing is on the wire and nothing more is due now.
//!
//! The engine sits behind an async mutex that is held only while the engine decides, never
//! while a request is on the wire, so a commit in the same tab never waits for a replay.

use futures::{
    lock::Mutex,
    stream::{FuturesUnordered, StreamExt as _},
    FutureExt as _,
};

use super::{Engine, EngineError, Reply, Transmit, TransmitId, TransmitKind};
use crate::{model::Millis, store::OutboxStore, transport::Transport};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// No answer from the server (offline, or out of reach): the engine is backing off.
    Offline,
    /// The server refused the session: nothing goes out until the user signs in again.
    SignInRequired,
}

/// What one drive did, and why it stopped if it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Writes put on the wire (a push counts each write it carries).
    pub sent: usize,
    pub delivered: usize,
    pub stopped: Option<Stop>,
    /// When to drive again ([`Engine::poll_timeout`]); `None` while waiting for the user.
    pub retry_at: Option<Millis>,
}

/// Drives `engine` over `transport` until it is idle.
pub async fn drive<S, T>(
    engine: &Mutex<Engine<S>>,
    transport: &T,
    clock: &impl Fn() -> Millis,
) -> Result<SyncReport, EngineError<S::Error>>
where
    S: OutboxStore,
    T: Transport,
{
    let mut report = SyncReport::default();
    let delivered_before = engine.lock().await.delivered_total();
    let mut flights = FuturesUnordered::new();
    loop {
        loop {
            let next = engine.lock().await.poll_transmit(clock()).await?;
            let Some(transmit) = next else { break };
            report.sent += match &transmit.kind {
                TransmitKind::Send(_) => 1,
                TransmitKind::Push(batch) => batch.len(),
                _ => 0,
            };
            flights.push(carry(transport, transmit));
        }
        let Some(first) = flights.next().await else {
            break;
        };
        // Answers that landed together are read together: the next claim then takes as
        // many writes as there is room for, in one store transaction.
        let mut landed = vec![first];
        while let Some(Some(more)) = flights.next().now_or_never() {
            landed.push(more);
        }
        let mut deciding = engine.lock().await;
        for (id, reply) in landed {
            deciding.handle_answer(clock(), id, reply).await?;
        }
    }
    let engine = engine.lock().await;
    let now = clock();
    report.delivered = (engine.delivered_total() - delivered_before) as usize;
    report.stopped = engine.stopped(now);
    report.retry_at = engine.poll_timeout();
    Ok(report)
}

/// Carries one transmit out and reads what came back.
pub async fn carry<T: Transport>(transport: &T, transmit: Transmit) -> (TransmitId, Reply) {
    let reply = match &transmit.kind {
        TransmitKind::Send(m) => answered(transport.send(m).await),
        TransmitKind::Push(batch) => match transport.push(batch).await {
            Ok(outcomes) => Reply::Batch(outcomes),
            Err(e) => Reply::NoAnswer(e),
        },
        TransmitKind::Refetch { path } => answered(transport.fetch(path).await),
        TransmitKind::Authorize => Reply::Authorized(transport.authorize().await),
        TransmitKind::Probe => match transport.capabilities().await {
            Ok(c) => Reply::Capabilities(c),
            Err(e) => Reply::NoAnswer(e),
        },
    };
    (transmit.id, reply)
}

fn answered(result: Result<crate::Answer, crate::NetError>) -> Reply {
    match result {
        Ok(a) => Reply::Answer(a),
        Err(e) => Reply::NoAnswer(e),
    }
}
