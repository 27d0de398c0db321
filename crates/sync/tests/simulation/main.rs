//! Deterministic simulation: seeded runs of the engine against a faulty model server.
//!
//! Every seed checks the invariants: exactly one server effect per delivered write and none for
//! a discarded or coalesced one; nothing vanishes; lane order holds on the server.
//! `CARESYNC_SIM_SEEDS=N` runs more seeds; `CARESYNC_SIM_SEED=S` replays one.

mod by_hand;
mod invariants;
mod model_auth;
mod model_server;
mod world;

use std::{
    cell::Cell,
    collections::{HashMap, HashSet},
    rc::Rc,
};

use caresync_sync::{
    backoff::{RandomSource, SplitMix64},
    carry,
    memory::MemoryOutbox,
    Config, Engine, Event, Millis, MutationState, OutboxStore, Resolution, UploadMode,
};
use futures::executor::block_on;
use invariants::check_invariants;
use model_server::{Faults, ModelServer, Session};
use serde_json::json;
use world::World;

const DEFAULT_SEEDS: u64 = 10_000;

#[test]
fn simulation_holds_the_invariants_on_every_seed() {
    if let Some(seed) = std::env::var("CARESYNC_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        if let Err(why) = run_seed(seed) {
            panic!("seed {seed} failed: {why}");
        }
        return;
    }
    let seeds = std::env::var("CARESYNC_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEEDS);
    let mut totals = Totals::default();
    for seed in 0..seeds {
        match run_seed(seed) {
            Ok(t) => totals.add(&t),
            Err(why) => panic!(
                "seed {seed} failed: {why}\nreplay it alone: CARESYNC_SIM_SEED={seed} cargo test -p caresync-sync --test simulation"
            ),
        }
    }
    println!(
        "simulation: {seeds} seeds, {} writes, {} delivered exactly once, {} parked, {} discarded by the user, \
         {} coalesced, {} crashes mid-flight, {} duplicates answered from the dedupe table, {} token refreshes, \
         {} version conflicts reapplied, {} shown as conflicts",
        totals.writes, totals.delivered, totals.parked, totals.discarded, totals.coalesced, totals.crashes,
        totals.server_dedupes, totals.reauths, totals.reapplied, totals.conflicts
    );
    println!(
        "simulation, auth path: {} refresh requests, {} lost (no answer), {} answered again within the grace window, \
         {} rotated tokens presented after it (reuse detected), {} token families revoked, {} sign-ins after a refusal",
        totals.refreshes, totals.lost_refreshes, totals.grace_replays, totals.reuse_detected,
        totals.families_revoked, totals.sign_ins
    );
    println!(
        "simulation, by hand: {} answers handled while a refetch was still on the wire",
        totals.refetch_overlaps
    );
    // Every fault path must actually have been walked, or the run proves less than it claims.
    assert!(
        totals.delivered > seeds,
        "the simulation delivered almost nothing"
    );
    for (what, n) in [
        ("crash", totals.crashes),
        ("discard", totals.discarded),
        ("coalesce", totals.coalesced),
        ("dedupe", totals.server_dedupes),
        ("reauth", totals.reauths),
        ("reapply", totals.reapplied),
        ("conflict", totals.conflicts),
        ("park", totals.parked),
        ("lost refresh", totals.lost_refreshes),
        ("grace-window replay", totals.grace_replays),
        ("refresh reuse detection", totals.reuse_detected),
        ("revoked family", totals.families_revoked),
        ("sign-in after refusal", totals.sign_ins),
        (
            "delivery while a refetch was on the wire",
            totals.refetch_overlaps,
        ),
    ] {
        assert!(n > 0, "no {what} happened in {seeds} seeds");
    }
}

#[derive(Default, Debug)]
pub struct Totals {
    writes: u64,
    delivered: u64,
    discarded: u64,
    coalesced: u64,
    crashes: u64,
    server_dedupes: u64,
    reauths: u64,
    reapplied: u64,
    conflicts: u64,
    parked: u64,
    refreshes: u64,
    lost_refreshes: u64,
    grace_replays: u64,
    reuse_detected: u64,
    families_revoked: u64,
    sign_ins: u64,
    /// Answers handled while a refetch was still on the wire.
    pub refetch_overlaps: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.writes += o.writes;
        self.delivered += o.delivered;
        self.discarded += o.discarded;
        self.coalesced += o.coalesced;
        self.crashes += o.crashes;
        self.server_dedupes += o.server_dedupes;
        self.reauths += o.reauths;
        self.reapplied += o.reapplied;
        self.conflicts += o.conflicts;
        self.parked += o.parked;
        self.refreshes += o.refreshes;
        self.lost_refreshes += o.lost_refreshes;
        self.grace_replays += o.grace_replays;
        self.reuse_detected += o.reuse_detected;
        self.families_revoked += o.families_revoked;
        self.sign_ins += o.sign_ins;
        self.refetch_overlaps += o.refetch_overlaps;
    }
}

fn run_seed(seed: u64) -> Result<Totals, String> {
    block_on(simulate(seed))
}

async fn simulate(seed: u64) -> Result<Totals, String> {
    let mut world = World {
        rng: SplitMix64(seed),
        now: Rc::new(Cell::new(1_700_000_000_000)),
        created: Vec::new(),
        discarded: HashSet::new(),
        coalesced: HashSet::new(),
        known_version: HashMap::new(),
        read_clock: 0,
    };
    let faults = Faults {
        lost_request: world.pick(15),
        lost_response: world.pick(15),
        server_error: world.pick(10),
        too_many: world.pick(5),
        timeout: world.pick(10),
        duplicate: world.pick(10),
        lost_refresh: world.pick(30),
    };
    // Even seeds replay per resource, odd seeds through the batch endpoint.
    let batch = seed % 2 == 1;
    let server = ModelServer::new(seed, faults, batch, world.now.clone());
    {
        let mut s = server.state.borrow_mut();
        s.sessions.insert(
            "s0".into(),
            Session {
                status: "scheduled",
                version: 1,
            },
        );
        s.sessions.insert(
            "s1".into(),
            Session {
                status: "waiting",
                version: 4,
            },
        );
    }
    let config = Config {
        concurrency: 1 + world.pick(6) as usize,
        mode: if batch {
            UploadMode::Auto
        } else {
            UploadMode::PerResource
        },
        ..Config::default()
    };
    let mut engine = Engine::open(MemoryOutbox::new(), config, seed)
        .await
        .map_err(|e| e.to_string())?;
    let mut totals = Totals::default();
    let now = world.now.clone();
    let clock = move || now.get();

    for _ in 0..40 {
        let step = world.pick(4_000);
        world.now.set(world.now.get() + step);
        match world.pick(12) {
            0..=3 => {
                for _ in 0..=world.pick(3) {
                    let w = world.new_write(&server);
                    let entity = json!({"draft": w.request.body.clone()});
                    let m = engine
                        .enqueue(world.now.get(), w, Some(entity))
                        .await
                        .map_err(|e| e.to_string())?;
                    world.created.push((m.id, m.lane.clone()));
                    totals.writes += 1;
                }
            }
            4..=5 => engine = drive(engine, &server, &clock).await?,
            6 => {
                // By hand, answers in any order, and a crash between any two calls.
                let seed = world.rng.next_u64();
                engine =
                    by_hand::run(engine, &server, &world.now, config, seed, &mut totals).await?;
            }
            7 => server.offline.set(!server.offline.get()),
            8 => {
                // Crash mid-flight: requests go out (some commit), answers are never handled.
                let mut flights = 0;
                while let Some(t) = engine
                    .poll_transmit(world.now.get())
                    .await
                    .map_err(|e| e.to_string())?
                {
                    carry(&server, t).await;
                    flights += 1;
                }
                totals.crashes += u64::from(flights > 0);
                engine = by_hand::crash(engine, &server, config, world.now.get()).await?;
            }
            9 => {
                let t = world.pick(3).to_string();
                server.state.borrow_mut().archived.insert(t);
            }
            10 => {
                let mut s = server.state.borrow_mut();
                let mut client = server.client.borrow_mut();
                let pick = world.rng.up_to(5);
                if pick == 0 {
                    // Access tokens expire (or the signing key rotates).
                    s.auth.epoch += 1;
                } else if pick == 1 && !client.gate.is_refused() {
                    // Another tab, or a restored copy, presents the token before the last one.
                    if let Some(old) = client.previous.take() {
                        client.refresh = Some(old);
                        client.reload();
                    }
                } else if pick == 2 {
                    // Signed out everywhere from another device.
                    if let Some(family) = client.refresh.and_then(|t| s.auth.family_of(t)) {
                        s.auth.revoke(family);
                        s.auth.epoch += 1;
                    }
                } else {
                    // Another actor moves a session on: a new version, sometimes an ended call.
                    let id = format!("s{}", world.rng.up_to(1));
                    let ends = world.rng.up_to(3) == 0;
                    if let Some(session) = s.sessions.get_mut(&id) {
                        session.version += 1;
                        if ends {
                            session.status = "ended";
                        }
                    }
                }
            }
            _ => {
                if sign_in_if_asked(&server, &mut world, &mut totals, false) {
                    engine.signed_in();
                }
                resolve_blocked(&mut engine, &server, &mut world, false).await?
            }
        }
        collect(&mut engine, &mut world, &mut totals);
    }

    // Calm weather: the network heals and the user deals with everything parked.
    server.offline.set(false);
    server.faults.set(Faults::NONE);
    for round in 0.. {
        if round > 60 {
            let stats = engine.stats().await.map_err(|e| e.to_string())?;
            return Err(format!(
                "the queue never drained: {stats:?}; {engine:?} stopped {:?}, wakes at {:?}, now {}, token {:?}",
                engine.stopped(world.now.get()),
                engine.poll_timeout(),
                world.now.get(),
                server.client.borrow().gate.step(world.now.get()),
            ));
        }
        world.now.set(world.now.get() + 10 * 60_000);
        if sign_in_if_asked(&server, &mut world, &mut totals, true) {
            engine.signed_in();
        }
        resolve_blocked(&mut engine, &server, &mut world, true).await?;
        engine = drive(engine, &server, &clock).await?;
        collect(&mut engine, &mut world, &mut totals);
        let stats = engine.stats().await.map_err(|e| e.to_string())?;
        if stats.pending + stats.in_flight + stats.parked + stats.conflict == 0 {
            break;
        }
    }
    check_invariants(&engine, &server, &world, &mut totals).await?;
    let client = server.client.borrow();
    client.check_pace(caresync_sync::AuthGate::default().floor_ms())?;
    totals.refreshes += client.attempts.len() as u64;
    totals.lost_refreshes += client.attempts.iter().filter(|(_, a, _)| !a).count() as u64;
    let auth = &server.state.borrow().auth;
    totals.grace_replays += auth.grace_replays;
    totals.reuse_detected += auth.reuse_detected;
    totals.families_revoked += auth.families_revoked;
    Ok(totals)
}

/// The user sees "Sign in again to send your changes" and, sooner or later, does.
fn sign_in_if_asked(
    server: &ModelServer,
    world: &mut World,
    totals: &mut Totals,
    now: bool,
) -> bool {
    let mut client = server.client.borrow_mut();
    if client.gate.is_refused() && (now || world.pick(2) == 0) {
        client.signed_in(&mut server.state.borrow_mut().auth, world.now.get());
        totals.sign_ins += 1;
        return true;
    }
    false
}

/// `drive`, for an engine the simulation owns outright between steps.
async fn drive(
    engine: Engine<MemoryOutbox>,
    server: &ModelServer,
    clock: &impl Fn() -> Millis,
) -> Result<Engine<MemoryOutbox>, String> {
    let shared = futures::lock::Mutex::new(engine);
    caresync_sync::drive(&shared, server, clock)
        .await
        .map_err(|e| e.to_string())?;
    Ok(shared.into_inner())
}

fn collect(engine: &mut Engine<MemoryOutbox>, world: &mut World, totals: &mut Totals) {
    while let Some(e) = engine.poll_event() {
        match e {
            Event::Coalesced { replaced, .. } => {
                world.coalesced.insert(replaced);
                totals.coalesced += 1;
            }
            Event::Discarded { id } => {
                world.discarded.insert(id);
                totals.discarded += 1;
            }
            Event::AuthRequired => totals.reauths += 1,
            Event::Reapplied { .. } => totals.reapplied += 1,
            Event::Conflict { .. } => totals.conflicts += 1,
            Event::Parked { .. } => totals.parked += 1,
            _ => {}
        }
    }
}

/// The user at work: reopens archived threads and retries, or discards; dismisses conflicts.
async fn resolve_blocked(
    engine: &mut Engine<MemoryOutbox>,
    server: &ModelServer,
    world: &mut World,
    all: bool,
) -> Result<(), String> {
    let blocked = engine.store().blocked().await.map_err(|e| e.to_string())?;
    for m in blocked {
        if !all && world.pick(2) == 0 {
            continue;
        }
        let resolution = match &m.state {
            MutationState::Parked { reason, .. }
                if reason.code.is(caresync_contract::ErrorCode::ThreadArchived)
                    && world.pick(3) > 0 =>
            {
                let thread = m.lane.as_str().trim_start_matches("thread:").to_owned();
                server.state.borrow_mut().archived.remove(&thread);
                Resolution::Retry
            }
            _ => Resolution::Discard,
        };
        engine
            .resolve(world.now.get(), m.id, resolution)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
