//! Local commit: the engine's enqueue (optimistic message + outbox entry, both sealed, one
//! strict transaction) against a raw strict `put` of the same record in plaintext and a raw
//! strict `put` of that record sealed in JS (AES-GCM), interleaved, at 0 and at 10,000
//! pending writes.

use caresync::platform::{
    idb,
    outbox_store::{EntityChange, IdbOutbox},
};
use caresync_sync::{Config, Engine, Mutation, NewMutation};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::{message, now, raw_fill, raw_open, raw_put, set, summary, wait, BACKLOG, LANES};

#[wasm_bindgen(module = "/raw.js")]
extern "C" {
    #[wasm_bindgen(js_name = rawAesKey)]
    fn raw_aes_key() -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawSealedPut)]
    fn raw_sealed_put(db: &JsValue, key: &JsValue, record: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawSealedFill)]
    fn raw_sealed_fill(db: &JsValue, key: &JsValue, records: &JsValue) -> js_sys::Promise;
}

const SAMPLES: usize = 300;

/// The three sides of one sample, in the order they run.
#[derive(Clone, Copy)]
enum Side {
    Engine,
    RawPlain,
    RawSealed,
}

/// Each sample rotates who goes first, so no side always meets a warm (or busy) disk.
const ORDERS: [[Side; 3]; 3] = [
    [Side::Engine, Side::RawPlain, Side::RawSealed],
    [Side::RawPlain, Side::RawSealed, Side::Engine],
    [Side::RawSealed, Side::Engine, Side::RawPlain],
];

fn record(new: &NewMutation) -> Result<JsValue, String> {
    idb::to_js(&Mutation::from_new(new.clone(), 0, 0)).map_err(|e| e.to_string())
}

pub async fn run(thread: &str) -> Result<Value, String> {
    let tag = uuid::Uuid::now_v7();
    let vault = crate::sealed(&format!("bench-engine-{tag}")).await?;
    let mut outbox = Engine::new(IdbOutbox::new(vault.clone()), Config::default(), 1);
    let plain = wait(raw_open(&format!("bench-raw-{tag}"))).await?;
    let sealed = wait(raw_open(&format!("bench-raw-sealed-{tag}"))).await?;
    let key = wait(raw_aes_key()).await?;
    let mut out = serde_json::Map::new();
    for (label, backlog) in [("at_0_pending", 0), ("at_10000_pending", BACKLOG)] {
        if backlog > 0 {
            set("progress", "Filling a backlog of 10,000 pending writes…");
            let fill: Vec<NewMutation> = (0..backlog)
                .map(|i| message(thread, &format!("backlog:{}", i % LANES), "backlog"))
                .collect();
            let records = js_sys::Array::new();
            for m in &fill {
                records.push(&record(m)?);
            }
            IdbOutbox::new(vault.clone())
                .append_many(fill, 0)
                .await
                .map_err(|e| e.to_string())?;
            wait(raw_fill(&plain, &records)).await?;
            wait(raw_sealed_fill(&sealed, &key, &records)).await?;
        }
        let (mut engine, mut raw_plain, mut raw_sealed) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..SAMPLES {
            set(
                "progress",
                &format!("Commit latency {label}: {i}/{SAMPLES}"),
            );
            let new = message(thread, "commit", "How long does a local commit take?");
            let plain_record = record(&new)?;
            let change = EntityChange {
                key: format!("msg:{thread}:{}", new.id),
                value: new.request.body.clone(),
            };
            for side in ORDERS[i % ORDERS.len()] {
                let t0 = now();
                match side {
                    Side::Engine => {
                        outbox
                            .enqueue(0, new.clone(), Some(change.clone()))
                            .await
                            .map_err(|e| e.to_string())?;
                        engine.push(now() - t0);
                    }
                    Side::RawPlain => {
                        wait(raw_put(&plain, &plain_record)).await?;
                        raw_plain.push(now() - t0);
                    }
                    Side::RawSealed => {
                        wait(raw_sealed_put(&sealed, &key, &plain_record)).await?;
                        raw_sealed.push(now() - t0);
                    }
                }
            }
        }
        out.insert(
            label.into(),
            json!({
                "engine": summary(engine),
                "raw_idb_put": summary(raw_plain),
                "raw_sealed_put": summary(raw_sealed),
            }),
        );
    }
    Ok(Value::Object(out))
}
