//! Browser tier: the courier on real IndexedDB and WebCrypto, against the real server. Waiting
//! writes are sealed into the mailbox with nothing readable; the worker's own delivery code
//! (`scripts/sw/courier.js`, run here from the test page) pushes them once each, in order,
//! under the replay credential; and the runtime takes the answers in as its own, sending
//! nothing again.

use caresync::platform::{
    auth::Tokens,
    courier::{Courier, Parcel},
    device::Device,
    idb,
    outbox_store::IdbOutbox,
    runtime::{Pass, Scope, SyncRuntime},
    transport::FetchTransport,
    writes,
};
use caresync_contract::sync::SealedEnvelope;
use caresync_sync::{AggregateKind, Config, OutboxStore as _};
use leptos::prelude::GetUntracked as _;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{api, bodies, enrol, login_on, open_thread, vault};

#[wasm_bindgen(module = "/scripts/sw/courier.js")]
extern "C" {
    /// The service worker's delivery of one scope's parcels.
    fn deliver(scope: &str, options: &JsValue) -> js_sys::Promise;
}

#[wasm_bindgen(inline_js = "export function worker_answers(name, id) {
  return new Promise((ok, fail) => {
    const open = indexedDB.open(name);
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('parcels', 'readwrite');
      const store = tx.objectStore('parcels');
      store.get(id).onsuccess = (e) => store.put({ ...e.target.result, answer: { status: 201, body: {}, at: 1 } });
      tx.oncomplete = () => { db.close(); ok(); };
      tx.onerror = () => fail(tx.error);
    };
  });
}
export function raw_parcels(name) {
  return new Promise((ok, fail) => {
    const open = indexedDB.open(name);
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const all = db.transaction('parcels').objectStore('parcels').getAll();
      all.onsuccess = () => { db.close(); ok(JSON.stringify(all.result)); };
    };
  });
}")]
extern "C" {
    /// What the worker does when the server answers parcel `id`.
    fn worker_answers(name: &str, id: &str) -> js_sys::Promise;
    fn raw_parcels(name: &str) -> js_sys::Promise;
}

async fn wait(promise: js_sys::Promise) -> JsValue {
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("the promise settles")
}

fn unique(what: &str) -> String {
    format!("{what}-{}", uuid::Uuid::now_v7())
}

#[wasm_bindgen_test]
async fn the_worker_delivers_sealed_writes_once_in_order_and_the_runtime_takes_its_answers_in() {
    let tokens = login_on(&uuid::Uuid::now_v7().to_string(), "patient1").await;
    let device = Device::open_named(&unique("device")).await.expect("device");
    enrol(&device, &tokens).await;
    let mailbox = unique("courier");
    let courier = Courier::open_named(&mailbox).await.expect("courier");

    let thread = open_thread(&tokens.access_token).await;
    let store = IdbOutbox::new(vault(idb::open(&unique("user")).await.expect("open")).await);
    let run = uuid::Uuid::now_v7();
    let texts: Vec<String> = (0..3).map(|i| format!("COURIER-{run}-{i}")).collect();
    for (i, text) in texts.iter().enumerate() {
        let (new, change) = writes::message_as("north-clinic", &tokens.user_id, &thread, text);
        store
            .append(new, Some(change), i as u64)
            .await
            .expect("append");
    }
    let runtime = SyncRuntime::new(
        store.clone(),
        FetchTransport::new(api(), Some(Tokens::from(&tokens))),
        Scope {
            tenant: tokens.tenant_id.clone(),
            user: tokens.user_id.clone(),
        },
        Config::default(),
    );
    runtime.carry_by(courier.clone(), device.clone());
    assert!(runtime.carried(), "Chromium has Background Sync");
    runtime.hand_to_courier(true).await;

    let scope = format!("{}:{}", tokens.tenant_id, tokens.user_id);
    let parcels = courier.parcels(&scope).await.expect("parcels");
    assert_eq!(parcels.len(), 3);
    assert!(parcels.windows(2).all(|w| w[0].seq < w[1].seq), "in order");
    let at_rest = wait(raw_parcels(&mailbox))
        .await
        .as_string()
        .unwrap_or_default();
    assert!(
        !at_rest.contains("COURIER-"),
        "the mailbox holds no readable text"
    );

    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"database".into(), &mailbox.as_str().into()).expect("set");
    js_sys::Reflect::set(&options, &"base".into(), &api().into()).expect("set");
    wait(deliver(&scope, &options)).await;
    let on_server = |all: Vec<String>| -> Vec<String> {
        all.into_iter()
            .filter(|b| b.starts_with(&format!("COURIER-{run}")))
            .collect()
    };
    assert_eq!(
        on_server(bodies(&tokens.access_token, &thread).await),
        texts
    );
    let answered = courier.parcels(&scope).await.expect("parcels");
    assert!(answered
        .iter()
        .all(|p| p.answer.as_ref().is_some_and(|a| a.status == 201)));

    let Pass::Ran(report) = runtime.pass().await.expect("pass") else {
        panic!("the pass ran");
    };
    assert_eq!(
        report.delivered, 3,
        "the worker's deliveries count as this pass's"
    );
    let stats = store.stats().await.expect("stats");
    assert_eq!((stats.pending, stats.parked), (0, 0));
    let said = runtime.status.background.get_untracked().expect("a report");
    assert_eq!(said.delivered, vec![(AggregateKind::Message, 3)]);
    assert!(courier.parcels(&scope).await.expect("parcels").is_empty());
    assert_eq!(
        on_server(bodies(&tokens.access_token, &thread).await),
        texts,
        "nothing went twice"
    );
}

fn parcel(n: u64, author: &str) -> Parcel {
    Parcel {
        id: format!("00000000-0000-7000-8000-00000000000{n}"),
        scope: "t:u".into(),
        author: author.into(),
        lane: "thread:a".into(),
        seq: n,
        envelope: SealedEnvelope {
            key_id: "k".into(),
            enc: "00".into(),
            ciphertext: "00".into(),
        },
        answer: None,
    }
}

#[wasm_bindgen_test]
async fn the_mailbox_keeps_an_answer_for_a_write_still_waiting_and_credentials_only_while_needed() {
    let name = unique("courier");
    let courier = Courier::open_named(&name).await.expect("courier");
    let tokens = [("t/u".to_owned(), "secret".to_owned())]
        .into_iter()
        .collect();
    courier
        .post("t:u", vec![parcel(1, "t/u"), parcel(2, "t/u")], &tokens)
        .await
        .expect("post");
    assert!(courier.has_credential("t/u").await.expect("read"));
    wait(worker_answers(&name, &parcel(1, "t/u").id)).await;

    courier
        .post("t:u", vec![parcel(1, "t/u"), parcel(3, "t/u")], &tokens)
        .await
        .expect("post");
    let kept = courier.parcels("t:u").await.expect("parcels");
    let ids: Vec<u64> = kept.iter().map(|p| p.seq).collect();
    assert_eq!(ids, vec![1, 3], "the write no longer waiting is gone");
    assert_eq!(
        kept[0].answer.as_ref().map(|a| a.status),
        Some(201),
        "its answer is kept"
    );
    assert!(kept[1].answer.is_none());

    courier
        .post("t:u", Vec::new(), &tokens)
        .await
        .expect("post");
    assert!(courier.parcels("t:u").await.expect("parcels").is_empty());
    assert!(
        !courier.has_credential("t/u").await.expect("read"),
        "no credential is kept with nothing to carry"
    );
}
