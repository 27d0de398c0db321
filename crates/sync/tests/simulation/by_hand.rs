//! Driving the engine by hand: each transmit carried out at once, the answers handed back
//! in any order (a refetch may wait while other lanes deliver), time passing between calls,
//! and a crash (the engine dropped and reopened over its store) between any two calls.

use std::{cell::Cell, rc::Rc};

use caresync_sync::{
    backoff::{RandomSource, SplitMix64},
    carry,
    memory::MemoryOutbox,
    Config, Engine, Millis, Reply, TransmitId, TransmitKind,
};

use crate::{model_server::ModelServer, Totals};

pub async fn run(
    mut engine: Engine<MemoryOutbox>,
    server: &ModelServer,
    now: &Rc<Cell<Millis>>,
    config: Config,
    seed: u64,
    totals: &mut Totals,
) -> Result<Engine<MemoryOutbox>, String> {
    let mut rng = SplitMix64(seed);
    // Answers not yet handed back: (transmit, answer, was it a refetch).
    let mut waiting: Vec<(TransmitId, Reply, bool)> = Vec::new();
    for _ in 0..8 + rng.up_to(24) {
        match rng.up_to(9) {
            0..=3 => {
                let next = engine
                    .poll_transmit(now.get())
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(t) = next {
                    let refetch = matches!(t.kind, TransmitKind::Refetch { .. });
                    let (id, reply) = carry(server, t).await;
                    waiting.push((id, reply, refetch));
                }
            }
            4..=7 if !waiting.is_empty() => {
                let pick = rng.up_to(waiting.len() as u64 - 1) as usize;
                let (id, reply, refetch) = waiting.swap_remove(pick);
                if !refetch && waiting.iter().any(|(_, _, r)| *r) {
                    totals.refetch_overlaps += 1;
                }
                engine
                    .handle_answer(now.get(), id, reply)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            4..=7 => {}
            _ => {
                totals.crashes += 1;
                // The answers still on their way are lost with the page.
                waiting.clear();
                engine = crash(engine, server, config, now.get()).await?;
            }
        }
        now.set(now.get() + rng.up_to(400));
    }
    // Every request ends somehow (a timeout at worst): hand back what is left.
    for (id, reply, _) in waiting {
        engine
            .handle_answer(now.get(), id, reply)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(engine)
}

/// The tab dies: the engine is gone, the store and the server stay, the access token (in
/// memory only) is lost. A new page opens the engine again over the same store.
pub async fn crash(
    engine: Engine<MemoryOutbox>,
    server: &ModelServer,
    config: Config,
    now: Millis,
) -> Result<Engine<MemoryOutbox>, String> {
    server.client.borrow_mut().reload();
    Engine::open(engine.into_store(), config, now)
        .await
        .map_err(|e| e.to_string())
}
