//! Browser tier: shared devices on real IndexedDB and WebCrypto, against the real server.
//! Writes handed over from a user's outbox are sealed (HPKE) into the device's outbox, where
//! nothing readable is left, and go out under their author's replay credential exactly
//! once, in order; the audit chain's MACs are the server's HMAC-SHA256, and it accepts them.

use caresync::platform::{
    crypto::hmac_sha256,
    device::Device,
    idb,
    outbox_store::IdbOutbox,
    runtime::{Pass, Scope, SyncRuntime},
    transport::{FetchTransport, ReplayBook},
    writes,
};
use caresync_sync::{Config, OutboxStore as _};
use gloo_net::http::Request as Http;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{api, bodies, enrol, login_on, open_thread, vault};

#[wasm_bindgen(inline_js = "export function raw_values(name) {
  return new Promise((ok, fail) => {
    const open = indexedDB.open(name);
    open.onerror = () => fail(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const names = Array.from(db.objectStoreNames);
      const tx = db.transaction(names);
      const out = [];
      for (const n of names) {
        tx.objectStore(n).getAll().onsuccess = (e) => {
          for (const v of e.target.result) out.push(JSON.stringify(v, (k, x) =>
            (x instanceof Uint8Array || x instanceof ArrayBuffer) ? new TextDecoder().decode(x) : x));
        };
      }
      tx.oncomplete = () => { db.close(); ok(out.join('\\n')); };
    };
  });
}")]
extern "C" {
    /// Every value of every store of database `name`, as text, bytes decoded.
    fn raw_values(name: &str) -> js_sys::Promise;
}

async fn raw(name: &str) -> String {
    wasm_bindgen_futures::JsFuture::from(raw_values(name))
        .await
        .expect("read")
        .as_string()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn webcrypto_hmac_is_rfc_4231_hmac_sha256() {
    // RFC 4231, test case 2: what the server's `hmac` crate computes for the same input.
    let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?")
        .await
        .expect("mac");
    assert_eq!(
        caresync_envelope::to_hex(&mac),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

fn sealed_runtime(device: &Device, book: ReplayBook) -> std::rc::Rc<SyncRuntime> {
    SyncRuntime::new(
        device.outbox(),
        FetchTransport::for_sealed(api(), book),
        Scope {
            tenant: "device".into(),
            user: format!("sealed-{}", uuid::Uuid::now_v7()),
        },
        Config::default(),
    )
}

#[wasm_bindgen_test]
async fn handed_over_writes_are_unreadable_here_and_arrive_once_in_order_under_their_author() {
    let device_id = uuid::Uuid::now_v7().to_string();
    let tokens = login_on(&device_id, "patient1").await;
    let device_db = format!("device-{}", uuid::Uuid::now_v7());
    let device = Device::open_named(&device_db).await.expect("device");
    enrol(&device, &tokens).await;

    // patient1 wrote three messages offline; the first had in fact reached the server.
    let thread = open_thread(&tokens.access_token).await;
    let user_db = format!("user-{}", uuid::Uuid::now_v7());
    let outbox = IdbOutbox::new(vault(idb::open(&user_db).await.expect("open")).await);
    let run = uuid::Uuid::now_v7();
    let texts: Vec<String> = (0..3).map(|i| format!("SEALED-{run}-{i}")).collect();
    for (i, text) in texts.iter().enumerate() {
        let (new, change) = writes::message_as("north-clinic", &tokens.user_id, &thread, text);
        if i == 0 {
            let res = Http::post(&format!("{}/api/v1/threads/{thread}/messages", api()))
                .header("Authorization", &format!("Bearer {}", tokens.access_token))
                .json(&new.request.body)
                .expect("body")
                .send()
                .await
                .expect("send");
            assert_eq!(res.status(), 201, "the first arrived before the hand-over");
        }
        outbox
            .append(new, Some(change), i as u64)
            .await
            .expect("append");
    }

    assert_eq!(device.hand_over(&outbox).await.expect("hand over"), 3);
    assert!(
        outbox.undecided().await.expect("left").is_empty(),
        "none left in the user's outbox"
    );
    let at_rest = raw(&device_db).await;
    assert!(
        !at_rest.contains("SEALED-"),
        "the device holds no readable text"
    );

    let book = ReplayBook::default();
    *book.borrow_mut() = device.credential_book().await.expect("book");
    let sealed = sealed_runtime(&device, book);
    assert!(matches!(sealed.pass().await.expect("pass"), Pass::Ran(_)));
    let on_server: Vec<String> = bodies(&tokens.access_token, &thread)
        .await
        .into_iter()
        .filter(|b| b.starts_with(&format!("SEALED-{run}")))
        .collect();
    assert_eq!(
        on_server, texts,
        "each once, in order, the early one not doubled"
    );
    let stats = sealed.store().stats().await.expect("stats");
    assert_eq!((stats.pending, stats.parked), (0, 0));
    // The server's answers (which quote the messages) are not kept here either.
    assert!(
        !raw(&device_db).await.contains("SEALED-"),
        "no receipt on this device holds the text"
    );
}

#[wasm_bindgen_test]
async fn the_audit_chain_is_accepted_by_the_server_event_after_event() {
    let device_id = uuid::Uuid::now_v7().to_string();
    let tokens = login_on(&device_id, "nurse1").await;
    let device = Device::open_named(&format!("device-{}", uuid::Uuid::now_v7()))
        .await
        .expect("device");
    enrol(&device, &tokens).await;
    for (i, kind) in ["device.locked", "device.unlock_failed", "device.wiped"]
        .iter()
        .enumerate()
    {
        let recorded = device
            .audit(
                &device_id,
                &tokens.tenant_id,
                &tokens.user_id,
                kind,
                json!({"n": i}),
            )
            .await
            .expect("audit");
        assert!(recorded);
    }
    let book = ReplayBook::default();
    *book.borrow_mut() = device.credential_book().await.expect("book");
    let sealed = sealed_runtime(&device, book);
    assert!(matches!(sealed.pass().await.expect("pass"), Pass::Ran(_)));
    let blocked = sealed.store().blocked().await.expect("blocked");
    assert!(
        blocked.is_empty(),
        "the server accepted every link: {:?}",
        blocked.iter().map(|m| &m.state).collect::<Vec<_>>()
    );
    // The next sign-in here continues the chain from the server's head.
    let again = login_on(&device_id, "nurse1").await;
    assert_eq!(again.audit_head.as_ref().map(|h| h.seq), Some(3));
    let parked = sealed.store().stats().await.expect("stats");
    assert_eq!(parked.parked, 0);
}
