//! Encryption at rest (issue 11), its cost side by side with raw JS in the same run:
//!
//! - local commit: the ratios of the three-sided commit figures ([`crate::commit`]);
//! - a 200-message thread read and rendered: `Cache::messages` (getAll, then every value
//!   opened with AES-GCM and parsed) and 200 `<li>` against a raw `getAll` of the same
//!   messages in plaintext and the same rendering;
//! - unlock: `Keyring::unlock` (PBKDF2-SHA256 at the app's iteration count, then AES-KW)
//!   against the same three WebCrypto calls from JS.
//!
//! Figures only; nothing is asserted.

use caresync::platform::{cache::Cache, crypto::PBKDF2_ITERATIONS, keyring::Keyring};
use caresync_contract::comms::MessageDto;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use web_sys::Element;

use crate::{now, set, summary, wait, PASSWORD};

#[wasm_bindgen(module = "/raw.js")]
extern "C" {
    #[wasm_bindgen(js_name = rawOpenEntities)]
    fn raw_open_entities(name: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawStoreEntities)]
    fn raw_store_entities(db: &JsValue, keys: &JsValue, values: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawRenderThread)]
    fn raw_render_thread(db: &JsValue, prefix: &str, container: &Element) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawKeyring)]
    fn raw_keyring(password: &str, iterations: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = rawUnlock)]
    fn raw_unlock(password: &str, keyring: &JsValue) -> js_sys::Promise;
}

const THREAD_MESSAGES: usize = 200;
/// Timed runs per side of the thread rendering, after one untimed warm-up each.
const RENDER_RUNS: usize = 21;
/// Timed unlocks per side (each one is 600,000 PBKDF2 rounds).
const UNLOCK_RUNS: usize = 5;

pub async fn run(thread: &str, commit: &Value) -> Result<Value, String> {
    Ok(json!({
        "commit": commit_ratios(commit),
        "thread_200": thread_render(thread).await?,
        "unlock": unlock().await?,
    }))
}

fn js_err(err: JsValue) -> String {
    format!("{err:?}")
}

/// `a / b`; JSON `null` when `b` is 0 (the timer's 0.1 ms steps can make it so).
fn ratio(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

/// The commit figures side by side: the engine (sealed) and a raw JS put of the record
/// sealed in JS, each over a raw put of the plaintext record.
fn commit_ratios(commit: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for label in ["at_0_pending", "at_10000_pending"] {
        let at = |side: &str, p: &str| commit[label][side][p].as_f64();
        let mut row = serde_json::Map::new();
        for p in ["p50_ms", "p95_ms", "mean_ms"] {
            let q = p.trim_end_matches("_ms");
            row.insert(format!("engine_{p}"), json!(at("engine", p)));
            row.insert(format!("raw_plain_{p}"), json!(at("raw_idb_put", p)));
            row.insert(format!("raw_sealed_{p}"), json!(at("raw_sealed_put", p)));
            row.insert(
                format!("engine_over_raw_plain_{q}"),
                ratio(at("engine", p), at("raw_idb_put", p)),
            );
            row.insert(
                format!("raw_sealed_over_raw_plain_{q}"),
                ratio(at("raw_sealed_put", p), at("raw_idb_put", p)),
            );
            row.insert(
                format!("engine_over_raw_sealed_{q}"),
                ratio(at("engine", p), at("raw_sealed_put", p)),
            );
        }
        out.insert(label.into(), Value::Object(row));
    }
    Value::Object(out)
}

/// A thread as a clinic's would read: patient and provider taking turns, bodies of a few
/// words to a paragraph, a message every 37 minutes.
fn thread_messages(thread: &str) -> Vec<MessageDto> {
    const BODIES: [&str; 6] = [
        "Hello Alex, how are you feeling after Tuesday's visit?",
        "Much better, thank you. The cough is almost gone, but I still wake up at night.",
        "Good to hear. Keep taking the medicine until Friday, twice a day with food. If the \
         night cough comes back or you get a fever above 38.5 °C, call the clinic or book a \
         video visit and we will look at it together.",
        "Could you renew my inhaler prescription? The pharmacy says the old one expired.",
        "Done. You can collect it at the pharmacy on Main Street from tomorrow morning.",
        "Your blood test results are in and look normal: haemoglobin, white cells and \
         CRP are all within range. No follow-up needed unless the symptoms return.",
    ];
    (0..THREAD_MESSAGES)
        .map(|i| {
            let patient = i % 2 == 1;
            let minutes = i * 37;
            let sent_at = format!(
                "2026-11-{:02}T{:02}:{:02}:00.000Z",
                1 + minutes / 1440,
                minutes / 60 % 24,
                minutes % 60
            );
            let (sender_id, sender_name) = if patient {
                ("usr-north-patient1", "Alex Morgan")
            } else {
                ("usr-north-dr-lee", "Dr. Lee")
            };
            MessageDto {
                message_id: uuid::Uuid::now_v7().to_string(),
                thread_id: thread.to_owned(),
                sender_id: sender_id.into(),
                sender_name: sender_name.into(),
                body: format!("{} ({})", BODIES[i % BODIES.len()], i + 1),
                client_mutation_id: patient.then(|| uuid::Uuid::now_v7().to_string()),
                client_sent_at: patient.then(|| sent_at.clone()),
                sent_at,
            }
        })
        .collect()
}

/// A hidden container in the page to render into (no layout, the same for both sides).
fn container() -> Result<Element, String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let body = document.body().ok_or("no body")?;
    let div = document.create_element("div").map_err(js_err)?;
    div.set_attribute("hidden", "").map_err(js_err)?;
    body.append_child(&div).map_err(js_err)?;
    Ok(div)
}

/// The messages as text in a new `<ul>`, one `<li>` each, then swapped into `container`;
/// `rawRenderThread` in `raw.js` does the same.
fn render(container: &Element, messages: &[MessageDto]) -> Result<(), String> {
    let document = container.owner_document().ok_or("no document")?;
    let list = document.create_element("ul").map_err(js_err)?;
    for m in messages {
        let item = document.create_element("li").map_err(js_err)?;
        item.set_text_content(Some(&format!(
            "{} · {}: {}",
            m.sender_name, m.sent_at, m.body
        )));
        list.append_child(&item).map_err(js_err)?;
    }
    container.replace_children_with_node_1(&list);
    Ok(())
}

/// One side's timed run, the messages read from the database and rendered: the time in all
/// and the time until they were read (opened and parsed, on the engine's side).
async fn read_and_render(
    engine: bool,
    cache: &Cache,
    raw: &JsValue,
    thread: &str,
    into: &Element,
) -> Result<(f64, f64), String> {
    let prefix = format!("message:{thread}:");
    let t0 = now();
    let (count, read) = if engine {
        let messages = cache.messages(thread).await.map_err(|e| e.to_string())?;
        let read = now();
        render(into, &messages)?;
        (messages.len(), read)
    } else {
        let done = wait(raw_render_thread(raw, &prefix, into)).await?;
        let field = |name: &str| {
            js_sys::Reflect::get(&done, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_f64())
        };
        let count = field("count").unwrap_or(0.0) as usize;
        (count, field("read").unwrap_or(f64::NAN))
    };
    let took = now() - t0;
    if count != THREAD_MESSAGES {
        let side = if engine { "engine" } else { "raw JS" };
        return Err(format!("{side} read {count} of {THREAD_MESSAGES} messages"));
    }
    Ok((took, read - t0))
}

/// 200 messages stored through the cache (sealed) and in plaintext in a raw store under the
/// same keys; then each side reads and renders them, interleaved.
async fn thread_render(thread: &str) -> Result<Value, String> {
    set(
        "progress",
        "Encryption: a 200-message thread, read and rendered",
    );
    let tag = uuid::Uuid::now_v7();
    let messages = thread_messages(thread);
    let cache = Cache::new(crate::sealed(&format!("bench-thread-{tag}")).await?);
    cache
        .store_messages(thread, &messages)
        .await
        .map_err(|e| e.to_string())?;
    let raw = wait(raw_open_entities(&format!("bench-raw-thread-{tag}"))).await?;
    let (keys, values) = (js_sys::Array::new(), js_sys::Array::new());
    for m in &messages {
        keys.push(&JsValue::from_str(&caresync::platform::cache::message_key(
            m,
        )));
        values.push(&caresync::platform::idb::to_js(m).map_err(|e| e.to_string())?);
    }
    wait(raw_store_entities(&raw, &keys, &values)).await?;
    let into = container()?;
    for engine in [true, false] {
        read_and_render(engine, &cache, &raw, thread, &into).await?;
    }
    let (mut engine, mut baseline) = (Vec::new(), Vec::new());
    let (mut engine_read, mut baseline_read) = (Vec::new(), Vec::new());
    for i in 0..RENDER_RUNS {
        for engine_first in [i % 2 == 0, i % 2 == 1] {
            let (took, read) = read_and_render(engine_first, &cache, &raw, thread, &into).await?;
            if engine_first {
                engine.push(took);
                engine_read.push(read);
            } else {
                baseline.push(took);
                baseline_read.push(read);
            }
        }
    }
    into.remove();
    let mut out = side_by_side(THREAD_MESSAGES, engine, baseline);
    out["read_only"] = json!({ "engine": summary(engine_read), "raw_js": summary(baseline_read) });
    Ok(out)
}

/// Both sides' summaries and samples, and the engine's median over raw JS's.
fn side_by_side(n: usize, engine: Vec<f64>, raw: Vec<f64>) -> Value {
    let (engine_sum, raw_sum) = (summary(engine.clone()), summary(raw.clone()));
    let ratio = ratio(engine_sum["p50_ms"].as_f64(), raw_sum["p50_ms"].as_f64());
    json!({
        "n": n,
        "engine": engine_sum, "raw_js": raw_sum, "engine_over_raw_p50": ratio,
        "engine_samples_ms": engine, "raw_js_samples_ms": raw,
    })
}

/// Unlocking a database: `Keyring::unlock` (the wraps read from the meta store, PBKDF2 at
/// the app's iteration count, AES-KW unwrap) against raw JS importKey + deriveKey +
/// unwrapKey with the same parameters, interleaved.
async fn unlock() -> Result<Value, String> {
    set(
        "progress",
        "Encryption: unlock (PBKDF2-SHA256, 600,000 rounds)",
    );
    let vault = crate::sealed(&format!("bench-unlock-{}", uuid::Uuid::now_v7())).await?;
    let raw = wait(raw_keyring(PASSWORD, PBKDF2_ITERATIONS)).await?;
    let (mut engine, mut baseline) = (Vec::new(), Vec::new());
    for i in 0..UNLOCK_RUNS {
        for engine_first in [i % 2 == 0, i % 2 == 1] {
            let t0 = now();
            if engine_first {
                Keyring::unlock(vault.database(), PASSWORD)
                    .await
                    .map_err(|e| e.to_string())?;
                engine.push(now() - t0);
            } else {
                wait(raw_unlock(PASSWORD, &raw)).await?;
                baseline.push(now() - t0);
            }
        }
    }
    let mut out = side_by_side(UNLOCK_RUNS, engine, baseline);
    out["iterations"] = json!(PBKDF2_ITERATIONS);
    Ok(out)
}
