//! One replayer (and one courier post) at a time per tenant and user, across tabs, with the
//! Web Locks API.
//!
//! leptos-use's `use_web_lock` does not build against web-sys 0.3.107 (which the pinned
//! wasm-bindgen needs) and later leptos-use releases dropped it, so this is a thin adapter.

use std::{cell::RefCell, future::Future, rc::Rc};

use wasm_bindgen::{prelude::*, JsCast};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("this browser has no Web Locks API")]
    Unsupported,
    #[error("the lock request failed: {0}")]
    Failed(String),
}

/// Runs `work` while holding `name`, or returns `Ok(None)` at once if another tab holds it.
pub async fn with_lock_if_available<F, Fut, R>(name: &str, work: F) -> Result<Option<R>, LockError>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = R> + 'static,
    R: 'static,
{
    request(name, true, work).await
}

/// Runs `work` once it holds `name`, waiting for whoever holds it now (in any tab).
pub async fn with_lock<F, Fut, R>(name: &str, work: F) -> Result<Option<R>, LockError>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = R> + 'static,
    R: 'static,
{
    request(name, false, work).await
}

async fn request<F, Fut, R>(name: &str, if_available: bool, work: F) -> Result<Option<R>, LockError>
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = R> + 'static,
    R: 'static,
{
    let locks = web_sys::window()
        .map(|w| w.navigator().locks())
        .ok_or(LockError::Unsupported)?;
    let options = web_sys::LockOptions::new();
    options.set_if_available(if_available);
    let result: Rc<RefCell<Option<R>>> = Rc::new(RefCell::new(None));
    let slot = result.clone();
    let callback = Closure::once_into_js(move |lock: JsValue| -> js_sys::Promise {
        if lock.is_null() {
            // Someone else is replaying; their pass covers our writes too.
            return js_sys::Promise::resolve(&JsValue::NULL);
        }
        future_to_promise(async move {
            let r = work().await;
            *slot.borrow_mut() = Some(r);
            Ok(JsValue::TRUE)
        })
    });
    let promise = locks.request_with_options(name, &options, callback.unchecked_ref());
    JsFuture::from(promise)
        .await
        .map_err(|e| LockError::Failed(format!("{e:?}")))?;
    let r = result.borrow_mut().take();
    Ok(r)
}
