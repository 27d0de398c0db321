//! Scale: 1,000 and then 10,000 pending writes over 50 lanes, replayed through the batch
//! endpoint, with the time per write and the memory before and after. Linear time and flat
//! memory show that the engine never loads the whole queue.

use caresync::platform::{
    outbox_store::IdbOutbox,
    transport::{FetchTransport, Tokens},
};
use caresync_contract::auth::TokenResponse;
use caresync_sync::{drive, Config, Engine, UploadMode};
use serde_json::{json, Value};
use wasm_bindgen::{JsCast as _, JsValue};

use crate::{message, now, set, LANES};

pub const SIZES: [usize; 2] = [1_000, 10_000];

pub async fn run(tokens: &TokenResponse, thread: &str) -> Result<Value, String> {
    let mut out = serde_json::Map::new();
    for count in SIZES {
        set(
            "progress",
            &format!("Scale: filling {count} pending writes…"),
        );
        let store =
            IdbOutbox::new(crate::sealed(&format!("bench-scale-{}", uuid::Uuid::now_v7())).await?);
        let writes = (0..count)
            .map(|i| message(thread, &format!("scale:{}", i % LANES), "at scale"))
            .collect();
        store
            .append_many(writes, 0)
            .await
            .map_err(|e| e.to_string())?;
        let before = memory();
        set("progress", &format!("Scale: replaying {count} writes…"));
        let config = Config {
            mode: UploadMode::Batch,
            max_batch: 500,
            ..Config::default()
        };
        let engine = futures::lock::Mutex::new(Engine::new(store, config, 3));
        let transport = FetchTransport::new("", Some(Tokens::from(tokens)));
        let t0 = now();
        let report = drive(&engine, &transport, &|| now() as u64)
            .await
            .map_err(|e| e.to_string())?;
        let took = now() - t0;
        if report.delivered != count {
            return Err(format!(
                "scale {count}: delivered {} ({report:?})",
                report.delivered
            ));
        }
        let after = memory();
        out.insert(
            format!("at_{count}"),
            json!({
                "writes": count, "ms": took, "ms_per_write": took / count as f64,
                "js_heap_before": before.0, "js_heap_after": after.0,
                "wasm_memory_before": before.1, "wasm_memory_after": after.1,
            }),
        );
    }
    Ok(Value::Object(out))
}

/// (JS heap in use, wasm linear memory), in bytes, after a garbage collection where the
/// page may ask for one (`--js-flags=--expose-gc`).
fn memory() -> (Option<f64>, f64) {
    let global = js_sys::global();
    if let Ok(gc) = js_sys::Reflect::get(&global, &JsValue::from_str("gc")) {
        if let Some(gc) = gc.dyn_ref::<js_sys::Function>() {
            // The figure is only less precise without it; nothing to do about a failure.
            let _collected = gc.call0(&JsValue::NULL);
        }
    }
    let heap = js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
        .and_then(|p| js_sys::Reflect::get(&p, &JsValue::from_str("memory")))
        .and_then(|m| js_sys::Reflect::get(&m, &JsValue::from_str("usedJSHeapSize")))
        .ok()
        .and_then(|v| v.as_f64());
    let wasm = wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|m| {
            m.buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length() as f64
        })
        .unwrap_or(0.0);
    (heap, wasm)
}
