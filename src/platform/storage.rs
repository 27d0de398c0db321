//! Storage the browser will not evict: asking for persistence at sign-in, recording the
//! answer, and reading how much of the quota the origin uses.
//!
//! Without persistence, Chromium may evict the origin's IndexedDB (unsent writes included)
//! under storage pressure, and Safari deletes script-written storage of a site not added to
//! the home screen after seven days without a visit.

use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::idb;

const ANSWER: &str = "storagePersist";

/// What the browser said when asked to keep the data, and when.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistAnswer {
    pub granted: bool,
    pub at: f64,
}

/// The origin's storage as the Sync page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StorageState {
    /// `None` where the browser has no Storage API.
    pub persisted: Option<bool>,
    pub usage_bytes: Option<f64>,
    pub quota_bytes: Option<f64>,
}

fn manager() -> Option<web_sys::StorageManager> {
    Some(web_sys::window()?.navigator().storage())
}

async fn ask(promise: Result<js_sys::Promise, JsValue>) -> Option<JsValue> {
    JsFuture::from(promise.ok()?).await.ok()
}

/// Asks the browser to keep this origin's data, and records its answer in the user's database.
pub async fn protect(db: &Database) -> Option<bool> {
    let granted = ask(manager()?.persist()).await?.as_bool()?;
    let answer = PersistAnswer {
        granted,
        at: js_sys::Date::now(),
    };
    if let Err(err) = idb::put_meta(db, ANSWER, &answer).await {
        leptos::logging::warn!("could not record the storage answer: {err}");
    }
    Some(granted)
}

/// The answer recorded at sign-in, if any.
pub async fn recorded(db: &Database) -> Option<PersistAnswer> {
    idb::get_meta(db, ANSWER).await.ok().flatten()
}

/// Whether the data is protected now, and the usage against the quota.
pub async fn state() -> StorageState {
    let Some(manager) = manager() else {
        return StorageState::default();
    };
    let persisted = ask(manager.persisted()).await.and_then(|v| v.as_bool());
    let estimate = ask(manager.estimate()).await;
    let field = |name: &str| {
        estimate
            .as_ref()
            .and_then(|e| js_sys::Reflect::get(e, &JsValue::from_str(name)).ok())
            .and_then(|v| v.as_f64())
    };
    StorageState {
        persisted,
        usage_bytes: field("usage"),
        quota_bytes: field("quota"),
    }
}

impl StorageState {
    /// Usage against quota in words, e.g. "1.2 MB of 300 MB".
    pub fn usage_words(&self) -> Option<String> {
        let (used, quota) = (self.usage_bytes?, self.quota_bytes?);
        Some(format!("{} of {}", megabytes(used), megabytes(quota)))
    }
}

/// Whole tenths of a megabyte, formatted as integers: this is the app's only float
/// formatting, and Rust's costs 9.5 KB of wasm (the size budget, docs/benchmarks.md).
fn megabytes(bytes: f64) -> String {
    let tenths = (bytes / 100_000.0).round() as u64;
    if tenths < 100 {
        format!("{}.{} MB", tenths / 10, tenths % 10)
    } else {
        format!("{} MB", (bytes / 1_000_000.0).round() as u64)
    }
}
