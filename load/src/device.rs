//! One simulated device: the real engine over an in-memory outbox, writing messages into its
//! own lane in bursts and driving each burst out through the faults, as the app does, while
//! timing every write from its commit to its delivery.

use std::{collections::HashMap, time::Instant};

use caresync_contract::paths;
use caresync_sync::{
    backoff::Backoff, drive, memory::MemoryOutbox, AggregateKind, Config, Engine, Event, Lane,
    NewMutation, Request, UploadMode,
};
use futures::lock::Mutex;
use serde_json::json;

use crate::{
    now_ms,
    transport::{Account, HttpTransport, Latencies},
    LoadError,
};

/// What one device does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub device: usize,
    pub run: String,
    pub account: Account,
    pub author: String,
    pub thread: String,
    pub writes: usize,
    pub burst: usize,
    pub mode: UploadMode,
    pub base: String,
}

/// What it saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub delivered: usize,
    /// Writes the server refused (none are expected: each would be a lost write here).
    pub refused: usize,
    /// Commit to delivery, in microseconds.
    pub write_latencies: Vec<u64>,
}

/// The body every check reads back: run, device and the write's place in its lane.
pub fn marker(run: &str, device: usize, seq: usize) -> String {
    format!("load:{run}:{device}:{seq}")
}

fn message(plan: &Plan, seq: usize) -> NewMutation {
    let id = uuid::Uuid::now_v7();
    NewMutation {
        id,
        tenant: plan.account.tenant.clone(),
        actor: plan.author.clone(),
        kind: AggregateKind::Message,
        // Each device is its own lane: its order is what the checks verify.
        lane: Lane::new(format!("device:{}:{}", plan.device, plan.thread)),
        request: Request {
            method: "POST".into(),
            path: paths::thread_messages(&plan.thread),
            body: json!({"clientMutationId": id, "body": marker(&plan.run, plan.device, seq)}),
        },
        coalesce_key: None,
        versioned: None,
    }
}

/// Retries come quickly under load, never faster than the floor.
fn config(mode: UploadMode) -> Config {
    Config {
        mode,
        backoff: Backoff {
            base_ms: 50,
            cap_ms: 2_000,
            min_ms: 20,
        },
        ..Config::default()
    }
}

pub async fn run(
    plan: Plan,
    http: reqwest::Client,
    latencies: Latencies,
) -> Result<Outcome, LoadError> {
    let transport = HttpTransport::new(http, &plan.base, plan.account.clone(), latencies);
    let seed = plan.device as u64 ^ 0x10ad;
    let engine = Mutex::new(Engine::new(
        MemoryOutbox::default(),
        config(plan.mode),
        seed,
    ));
    let mut outcome = Outcome::default();
    let mut committed: HashMap<uuid::Uuid, Instant> = HashMap::new();
    let mut seq = 0;
    while seq < plan.writes {
        let burst = plan.burst.min(plan.writes - seq);
        for _ in 0..burst {
            let new = message(&plan, seq);
            committed.insert(new.id, Instant::now());
            engine.lock().await.enqueue(now_ms(), new, None).await?;
            seq += 1;
        }
        drain(&engine, &transport, &mut committed, &mut outcome).await?;
    }
    Ok(outcome)
}

/// Drives until every committed write is decided, sleeping until the engine's next timeout.
async fn drain(
    engine: &Mutex<Engine<MemoryOutbox>>,
    transport: &HttpTransport,
    committed: &mut HashMap<uuid::Uuid, Instant>,
    outcome: &mut Outcome,
) -> Result<(), LoadError> {
    while !committed.is_empty() {
        let report = drive(engine, transport, &now_ms).await?;
        {
            let mut engine = engine.lock().await;
            while let Some(event) = engine.poll_event() {
                match event {
                    Event::Delivered { id, .. } => {
                        if let Some(at) = committed.remove(&id) {
                            outcome.delivered += 1;
                            outcome
                                .write_latencies
                                .push(at.elapsed().as_micros() as u64);
                        }
                    }
                    Event::Parked { id, .. } | Event::Conflict { id, .. } => {
                        committed.remove(&id);
                        outcome.refused += 1;
                    }
                    _ => {}
                }
            }
        }
        if committed.is_empty() {
            break;
        }
        let wait = match report.retry_at {
            Some(at) => at.saturating_sub(now_ms()).clamp(5, 5_000),
            None if report.stopped.is_some() => {
                return Err(LoadError::Stuck(format!("{:?}", report.stopped)))
            }
            None => 5,
        };
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    Ok(())
}
