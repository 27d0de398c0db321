//! The benchmark page (`cargo xtask bench`): the engine side by side with raw JS on one page.
//! It prints figures and asserts nothing; `docs/benchmarks.md` records them.

use std::{cell::RefCell, collections::HashSet};

use caresync::platform::{
    idb,
    outbox_store::{EntityChange, IdbOutbox},
    transport::{FetchTransport, Tokens},
    writes,
};
use caresync_contract::auth::TokenResponse;
use caresync_sync::{drive, Config, Engine, Lane, NewMutation, OutboxStore as _, UploadMode};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

mod commit;
mod encryption;
mod scale;

#[wasm_bindgen(module = "/raw.js")]
extern "C" {
    fn now() -> f64;
    #[wasm_bindgen(js_name = rawOpen)]
    fn raw_open(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawPut)]
    fn raw_put(db: &JsValue, record: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawFill)]
    fn raw_fill(db: &JsValue, records: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawFetchLoop)]
    fn raw_fetch_loop(token: &str, requests: &JsValue, concurrency: u32) -> js_sys::Promise;
}

const BACKLOG: usize = 10_000;
/// The password of every sealed benchmark database.
const PASSWORD: &str = "bench";
const REPLAY: usize = 1_000;
const LANES: usize = 50;
const CONCURRENCY: usize = 6;

fn main() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let text = match run().await {
            Ok(results) => serde_json::to_string_pretty(&results).unwrap_or_default(),
            Err(err) => json!({ "error": err }).to_string(),
        };
        set("results", &text);
        set("progress", "Done");
    });
}

fn set(id: &str, text: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        el.set_text_content(Some(text));
    }
}

async fn wait(p: js_sys::Promise) -> Result<JsValue, String> {
    JsFuture::from(p).await.map_err(|e| format!("{e:?}"))
}

/// A new database named `name`, sealed as the app seals it: a fresh data key wrapped under
/// a password (600,000 PBKDF2 rounds, as in the app).
pub(crate) async fn sealed(name: &str) -> Result<caresync::platform::vault::Vault, String> {
    let db = idb::open(name).await.map_err(|e| e.to_string())?;
    let keyring = caresync::platform::keyring::Keyring::create(&db, PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    Ok(caresync::platform::vault::Vault::new(db, keyring))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

/// Median, 95th percentile and mean; the mean is finer than the timer's 0.1 ms steps.
fn summary(mut xs: Vec<f64>) -> Value {
    xs.sort_by(f64::total_cmp);
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    json!({
        "p50_ms": percentile(&xs, 0.5), "p95_ms": percentile(&xs, 0.95), "mean_ms": mean,
        "n": xs.len(),
    })
}

/// The app's own message write, in a lane of the benchmark's choosing.
fn message(thread: &str, lane: &str, text: &str) -> NewMutation {
    let (mut new, _) = writes::message_as("north-clinic", "usr-north-patient1", thread, text);
    new.lane = Lane::new(lane);
    new
}

async fn login() -> Result<(TokenResponse, String), String> {
    let res = gloo_net::http::Request::post("/api/v1/auth/login")
        .json(&json!({ "tenantId": "north-clinic", "username": "patient1", "password": "demo" }))
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let tokens: TokenResponse = res.json().await.map_err(|e| e.to_string())?;
    let threads: Value = gloo_net::http::Request::get("/api/v1/threads")
        .header("Authorization", &format!("Bearer {}", tokens.access_token))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let thread = threads
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["status"] == "open"))
        .and_then(|t| t["threadId"].as_str())
        .ok_or("no open thread")?
        .to_owned();
    Ok((tokens, thread))
}

async fn run() -> Result<Value, String> {
    let (tokens, thread) = login().await?;
    let commit = commit::run(&thread).await?;
    let encryption = encryption::run(&thread, &commit).await?;
    let replay = replay(&tokens, &thread).await?;
    let scale = scale::run(&tokens, &thread).await?;
    Ok(json!({
        "commit": commit, "encryption": encryption, "replay": replay, "scale": scale,
        "userAgent": web_sys::window().map(|w| w.navigator().user_agent().unwrap_or_default()),
    }))
}

/// Replay of 1,000 writes over 50 lanes: the raw fetch loop, the engine per resource, and the
/// engine through the batch endpoint. Two rounds each; the better round counts.
async fn replay(tokens: &TokenResponse, thread: &str) -> Result<Value, String> {
    let mut runs: Vec<(String, f64)> = Vec::new();
    let mut store_time = serde_json::Map::new();
    for round in 1..=2 {
        set("progress", &format!("Replay round {round}: raw fetch loop"));
        let requests = js_sys::Array::new();
        for i in 0..REPLAY {
            let m = message(thread, &format!("lane:{}", i % LANES), "replayed");
            let r = json!({ "path": m.request.path, "body": m.request.body });
            requests.push(&idb::to_js(&r).map_err(|e| e.to_string())?);
        }
        let t0 = now();
        let failed = wait(raw_fetch_loop(
            &tokens.access_token,
            &requests,
            CONCURRENCY as u32,
        ))
        .await?;
        runs.push(("raw_fetch_loop".into(), now() - t0));
        if failed.as_f64().unwrap_or(0.0) > 0.0 {
            return Err(format!("the raw loop saw {failed:?} failures"));
        }
        for (label, mode) in [
            ("engine_per_resource", UploadMode::PerResource),
            ("engine_batch", UploadMode::Batch),
        ] {
            set("progress", &format!("Replay round {round}: {label}"));
            let store =
                IdbOutbox::new(sealed(&format!("bench-replay-{}", uuid::Uuid::now_v7())).await?);
            let writes = (0..REPLAY)
                .map(|i| message(thread, &format!("lane:{}", i % LANES), "replayed"))
                .collect();
            store
                .append_many(writes, 0)
                .await
                .map_err(|e| e.to_string())?;
            let transport = FetchTransport::new("", Some(Tokens::from(tokens)));
            let config = Config {
                mode,
                concurrency: CONCURRENCY,
                max_batch: 500,
                ..Config::default()
            };
            let outbox = futures::lock::Mutex::new(Engine::new(Timed::new(store), config, 2));
            let clock = || now() as u64;
            let t0 = now();
            let report = drive(&outbox, &transport, &clock)
                .await
                .map_err(|e| e.to_string())?;
            let outbox = outbox.into_inner();
            let took = now() - t0;
            if report.delivered != REPLAY {
                return Err(format!(
                    "{label} delivered {} of {REPLAY}: {report:?}",
                    report.delivered
                ));
            }
            let left = outbox
                .store()
                .ready(u64::MAX, 1, 1, &HashSet::new())
                .await
                .map_err(|e| e.to_string())?;
            if !left.writes.is_empty() {
                return Err(format!("{label} left writes queued"));
            }
            runs.push((label.into(), took));
            store_time.insert(format!("{label}_round{round}"), outbox.store().report());
        }
    }
    let best = |name: &str| {
        runs.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| *t)
            .fold(f64::INFINITY, f64::min)
    };
    let raw = best("raw_fetch_loop");
    let per = best("engine_per_resource");
    let batch = best("engine_batch");
    Ok(json!({
        "writes": REPLAY, "lanes": LANES, "concurrency": CONCURRENCY,
        "store_time_ms": store_time,
        "rounds_ms": runs.iter().map(|(n, t)| json!({ "run": n, "ms": t })).collect::<Vec<_>>(),
        "best_ms": { "raw_fetch_loop": raw, "engine_per_resource": per, "engine_batch": batch },
        "ratios": {
            "engine_per_resource_over_raw": per / raw,
            "raw_over_engine_batch": raw / batch,
        }
    }))
}

/// Profiling: the IndexedDB outbox with the time spent in each store call, so a replay's
/// figures can be split between storage and the network.
struct Timed {
    inner: IdbOutbox,
    spent: RefCell<std::collections::BTreeMap<&'static str, (u32, f64)>>,
}

impl Timed {
    fn new(inner: IdbOutbox) -> Self {
        Timed {
            inner,
            spent: RefCell::new(Default::default()),
        }
    }

    fn note(&self, what: &'static str, t0: f64) {
        let mut spent = self.spent.borrow_mut();
        let slot = spent.entry(what).or_insert((0, 0.0));
        slot.0 += 1;
        slot.1 += now() - t0;
    }

    fn report(&self) -> Value {
        json!(self
            .spent
            .borrow()
            .iter()
            .map(|(k, (n, ms))| (k.to_string(), json!({ "calls": n, "ms": ms.round() })))
            .collect::<serde_json::Map<_, _>>())
    }
}

macro_rules! timed {
    ($self:ident, $name:literal, $call:expr) => {{
        let t0 = now();
        let r = $call.await;
        $self.note($name, t0);
        r
    }};
}

impl caresync_sync::OutboxStore for Timed {
    type Error = caresync::platform::idb::StoreError;
    type EntityChange = EntityChange;

    async fn append(
        &self,
        new: NewMutation,
        change: Option<EntityChange>,
        now_: u64,
    ) -> Result<caresync_sync::Mutation, Self::Error> {
        timed!(self, "append", self.inner.append(new, change, now_))
    }
    async fn take_unsent(
        &self,
        lane: &Lane,
        key: &str,
    ) -> Result<Option<caresync_sync::Mutation>, Self::Error> {
        timed!(self, "take_unsent", self.inner.take_unsent(lane, key))
    }
    async fn get(
        &self,
        id: caresync_sync::ClientMutationId,
    ) -> Result<Option<caresync_sync::Mutation>, Self::Error> {
        timed!(self, "get", self.inner.get(id))
    }
    async fn put(&self, ms: &[caresync_sync::Mutation]) -> Result<(), Self::Error> {
        timed!(self, "put", self.inner.put(ms))
    }
    async fn claim(
        &self,
        ms: &[caresync_sync::Mutation],
    ) -> Result<Vec<caresync_sync::Mutation>, Self::Error> {
        timed!(self, "claim", self.inner.claim(ms))
    }
    async fn complete(&self, ms: &[caresync_sync::Mutation]) -> Result<(), Self::Error> {
        timed!(self, "complete", self.inner.complete(ms))
    }
    async fn remove(&self, id: caresync_sync::ClientMutationId) -> Result<(), Self::Error> {
        timed!(self, "remove", self.inner.remove(id))
    }
    async fn ready(
        &self,
        now_: u64,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<caresync_sync::Ready, Self::Error> {
        timed!(
            self,
            "ready",
            self.inner.ready(now_, per_lane, total, exclude)
        )
    }
    async fn claim_ready(
        &self,
        delivered: &[caresync_sync::Mutation],
        now_: u64,
        per_lane: usize,
        total: usize,
        exclude: &HashSet<Lane>,
    ) -> Result<caresync_sync::Ready, Self::Error> {
        timed!(
            self,
            "claim_ready",
            self.inner
                .claim_ready(delivered, now_, per_lane, total, exclude)
        )
    }
    async fn reset_in_flight(&self) -> Result<usize, Self::Error> {
        timed!(self, "reset_in_flight", self.inner.reset_in_flight())
    }
    async fn blocked(&self) -> Result<Vec<caresync_sync::Mutation>, Self::Error> {
        timed!(self, "blocked", self.inner.blocked())
    }
    async fn stats(&self) -> Result<caresync_sync::Stats, Self::Error> {
        timed!(self, "stats", self.inner.stats())
    }
}
