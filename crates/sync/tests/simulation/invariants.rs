//! What must hold after every seed: one effect per delivered write and none for a discarded
//! or coalesced one, nothing vanished, lane order on the server.

use std::collections::HashMap;

use caresync_sync::{memory::MemoryOutbox, ClientMutationId, Engine, Lane, MutationState};

use crate::{model_server::ModelServer, world::World, Totals};

pub async fn check_invariants(
    engine: &Engine<MemoryOutbox>,
    server: &ModelServer,
    world: &World,
    totals: &mut Totals,
) -> Result<(), String> {
    let state = server.state.borrow();
    let mut effects: HashMap<ClientMutationId, usize> = HashMap::new();
    for (id, _) in &state.effects {
        *effects.entry(*id).or_default() += 1;
    }
    let stored: HashMap<ClientMutationId, _> = engine
        .store()
        .all()
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    for (id, lane) in &world.created {
        let n = effects.get(id).copied().unwrap_or(0);
        if n > 1 {
            return Err(format!("{id} in {lane:?} had {n} effects on the server"));
        }
        if world.coalesced.contains(id) || world.discarded.contains(id) {
            if n != 0 {
                return Err(format!(
                    "{id} was coalesced or discarded but reached the server"
                ));
            }
            continue;
        }
        match stored.get(id).map(|m| &m.state) {
            Some(MutationState::Done { .. }) if n == 1 => totals.delivered += 1,
            Some(MutationState::Done { .. }) => {
                return Err(format!("{id} is done but the server never applied it"))
            }
            Some(other) => {
                return Err(format!(
                    "{id} ended {} after the queue drained",
                    other.name()
                ))
            }
            None => return Err(format!("{id} vanished from the outbox without a trace")),
        }
    }
    // Lane order: effects of one lane arrive in creation order.
    let order: HashMap<ClientMutationId, usize> = world
        .created
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut last: HashMap<&Lane, usize> = HashMap::new();
    for (id, lane) in &state.effects {
        let pos = order[id];
        if let Some(prev) = last.insert(lane, pos) {
            if prev > pos {
                return Err(format!("lane {lane:?} applied {id} after a later write"));
            }
        }
    }
    totals.server_dedupes += state.dedupe_hits;
    Ok(())
}
