//! Browser tier: the encrypted record layer under every store, on real IndexedDB and
//! WebCrypto: nothing readable at rest, a record opens only in its place, tampering is
//! caught, keys come back by password, device share or device key, and a plaintext v3
//! database is sealed in place with its pending writes delivered exactly once.

use std::collections::HashSet;

use caresync::platform::{
    cache::Cache,
    idb::{self, StoreError},
    keyring::{Keyring, KeyringError},
    migrate,
    outbox_store::IdbOutbox,
    runtime::{Pass, Scope, SyncRuntime},
    transport::{FetchTransport, Tokens},
    vault::Vault,
    writes,
};
use caresync_contract::comms::ThreadDto;
use caresync_sync::{Config, Mutation, OutboxStore};
use indexed_db_futures::{database::Database, prelude::*, transaction::TransactionMode};
use js_sys::Uint8Array;
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{api, bodies, login, open_thread, vault, PASSWORD};

#[wasm_bindgen(inline_js = "export function raw_text(v) {
  return JSON.stringify(v, (k, x) =>
    (x instanceof Uint8Array || x instanceof ArrayBuffer) ? new TextDecoder().decode(x) : x);
}")]
extern "C" {
    /// A stored value as text, its bytes decoded too: what someone with the disk would see.
    fn raw_text(v: &JsValue) -> String;
}

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::now_v7())
}

/// Every value of every store of `db`, as raw text.
async fn everything(db: &Database) -> Vec<String> {
    let names: Vec<String> = db.object_store_names().collect();
    let mut out = Vec::new();
    for name in names {
        let tx = db.transaction(name.as_str()).build().expect("tx");
        let store = tx.object_store(&name).expect("store");
        for v in store
            .get_all::<JsValue>()
            .primitive()
            .expect("read")
            .await
            .expect("all")
        {
            out.push(raw_text(&v.expect("value")));
        }
    }
    out
}

fn thread(id: &str, subject: &str) -> ThreadDto {
    serde_json::from_value(json!({
        "threadId": id, "tenantId": "north-clinic", "patientId": "usr-north-patient1",
        "providerId": "usr-north-provider1", "subject": subject, "status": "open",
        "createdAt": "2026-11-20T10:00:00.000Z", "updatedAt": "2026-11-20T10:00:00.000Z",
        "unreadCount": 0
    }))
    .expect("a thread")
}

#[wasm_bindgen_test]
async fn every_store_holds_ciphertext_and_gives_back_the_plaintext() {
    let db = idb::open(&unique("vault")).await.expect("open");
    let vault = vault(db.clone()).await;
    let (outbox, cache) = (IdbOutbox::new(vault.clone()), Cache::new(vault.clone()));
    let (new, change) = writes::message_as(
        "north-clinic",
        "usr-north-patient1",
        "t1",
        "MARKER-body rash",
    );
    let id = new.id;
    outbox
        .append(new, Some(change.clone()), 1)
        .await
        .expect("append");
    cache
        .save_draft("t1", "MARKER-draft itch")
        .await
        .expect("draft");
    cache
        .store_threads(&[thread("t1", "MARKER-subject eczema")])
        .await
        .expect("threads");
    vault
        .put_meta("refreshToken", "MARKER-refresh-token")
        .await
        .expect("meta");

    let raw = everything(&db).await;
    assert!(raw.len() >= 5, "values were written: {}", raw.len());
    let leaks: Vec<&String> = raw.iter().filter(|v| v.contains("MARKER")).collect();
    assert!(leaks.is_empty(), "plaintext at rest: {leaks:?}");

    assert_eq!(outbox.lane("thread:t1").await.expect("lane")[0].id, id);
    assert_eq!(
        outbox.entity(&change.key).await.expect("entity"),
        Some(change.value)
    );
    assert_eq!(cache.draft("t1").await.expect("draft"), "MARKER-draft itch");
    assert_eq!(
        cache.threads().await.expect("threads")[0].subject,
        "MARKER-subject eczema"
    );
    assert_eq!(
        vault
            .get_meta::<String>("refreshToken")
            .await
            .expect("meta")
            .as_deref(),
        Some("MARKER-refresh-token")
    );
}

async fn put_raw(db: &Database, store: &str, key: &str, value: &JsValue) {
    let tx = db
        .transaction(store)
        .with_mode(TransactionMode::Readwrite)
        .build()
        .expect("tx");
    tx.object_store(store)
        .expect("store")
        .put(value.clone())
        .with_key(key.to_owned())
        .primitive()
        .expect("put");
    tx.commit().await.expect("commit");
}

async fn get_raw(db: &Database, store: &str, key: &str) -> JsValue {
    let tx = db.transaction(store).build().expect("tx");
    let found: Option<JsValue> = tx
        .object_store(store)
        .expect("store")
        .get(key.to_owned())
        .primitive()
        .expect("get")
        .await
        .expect("read");
    found.expect("stored")
}

fn refused(result: Result<String, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Sealed(_))),
        "must not open: {result:?}"
    );
}

#[wasm_bindgen_test]
async fn a_record_moved_elsewhere_or_altered_by_one_byte_does_not_open() {
    let db = idb::open(&unique("moved")).await.expect("open");
    let cache = Cache::new(vault(db.clone()).await);
    cache
        .save_draft("t1", "for thread one only")
        .await
        .expect("draft");
    let sealed = get_raw(&db, "drafts", "draft:t1").await;

    // To another record of the same store.
    put_raw(&db, "drafts", "draft:t2", &sealed).await;
    refused(cache.draft("t2").await);

    // To the same key in another user's database.
    let other_db = idb::open(&unique("moved-other")).await.expect("open");
    let other = Cache::new(vault(other_db.clone()).await);
    put_raw(&other_db, "drafts", "draft:t1", &sealed).await;
    refused(other.draft("t1").await);

    // One byte flipped in place.
    let bytes = Uint8Array::new(&sealed).to_vec();
    for at in [0, bytes.len() / 2, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x01;
        put_raw(
            &db,
            "drafts",
            "draft:t1",
            &Uint8Array::from(tampered.as_slice()).into(),
        )
        .await;
        refused(cache.draft("t1").await);
    }
    // Put back, it opens again: the failures were the moves, not the key.
    put_raw(&db, "drafts", "draft:t1", &sealed).await;
    assert_eq!(
        cache.draft("t1").await.expect("draft"),
        "for thread one only"
    );
}

const SHARE: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const OTHER_SHARE: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

#[wasm_bindgen_test]
async fn a_password_changed_elsewhere_is_bridged_by_the_device_share() {
    let db = idb::open(&unique("share")).await.expect("open");
    let first = Keyring::sign_in(&db, "old password", Some(SHARE))
        .await
        .expect("first");
    let sealed = first.seal("drafts", "k", b"kept").await.expect("seal");

    // The password changed on another device; the server hands this device its share.
    let bridged = Keyring::sign_in(&db, "new password", Some(SHARE))
        .await
        .expect("bridged");
    assert_eq!(
        bridged.open("drafts", "k", &sealed).await.expect("open"),
        b"kept"
    );
    assert!(matches!(
        Keyring::unlock(&db, "old password").await,
        Err(KeyringError::WrongPassword)
    ));
    let offline = Keyring::unlock(&db, "new password")
        .await
        .expect("the new one, offline");
    assert_eq!(
        offline.open("drafts", "k", &sealed).await.expect("open"),
        b"kept"
    );

    // A wrong share cannot bridge anything.
    assert!(matches!(
        Keyring::sign_in(&db, "third password", Some(OTHER_SHARE)).await,
        Err(KeyringError::Stranded)
    ));
    assert!(matches!(
        Keyring::sign_in(&db, "new password", Some("not hex")).await,
        Err(KeyringError::BadShare)
    ));
}

#[wasm_bindgen_test]
async fn the_device_key_opens_the_data_until_sign_out_forgets_it() {
    let db = idb::open(&unique("device")).await.expect("open");
    let keyring = Keyring::create_with(&db, PASSWORD, 1_000)
        .await
        .expect("keyring");
    let sealed = keyring.seal("drafts", "k", b"stay").await.expect("seal");
    assert!(
        Keyring::unlock_on_device(&db)
            .await
            .expect("look")
            .is_none(),
        "off by default"
    );
    keyring.keep_on_device(&db).await.expect("keep");
    let reloaded = Keyring::unlock_on_device(&db)
        .await
        .expect("unwrap")
        .expect("kept");
    assert_eq!(
        reloaded.open("drafts", "k", &sealed).await.expect("open"),
        b"stay"
    );
    Keyring::forget_device(&db).await.expect("forget");
    assert!(Keyring::unlock_on_device(&db)
        .await
        .expect("look")
        .is_none());
    assert!(
        Keyring::unlock(&db, PASSWORD).await.is_ok(),
        "the password still opens it"
    );
}

/// A database as the v3 build wrote it: plaintext rows, entities, drafts and secrets.
async fn v3_database(name: &str, thread: &str, texts: &[String]) -> Vec<String> {
    let db = idb::open_at(name, 3).await.expect("open v3");
    let mut ids = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (new, change) = writes::message_as("north-clinic", "usr-north-patient1", thread, text);
        ids.push(new.id.to_string());
        let mut m = Mutation::from_new(new, 1_000 + i as u64, 10 + i as u64);
        m.entity_key = Some(change.key.clone());
        let tx = db
            .transaction(["outbox", "entities"])
            .with_mode(TransactionMode::Readwrite)
            .build()
            .expect("tx");
        tx.object_store("outbox")
            .expect("outbox")
            .add(idb::to_js(&m).expect("row"))
            .primitive()
            .expect("add");
        tx.object_store("entities")
            .expect("entities")
            .put(idb::to_js(&change.value).expect("entity"))
            .with_key(change.key)
            .primitive()
            .expect("put");
        tx.commit().await.expect("commit");
    }
    put_raw(
        &db,
        "drafts",
        &format!("draft:{thread}"),
        &JsValue::from_str("MIGRATE-draft"),
    )
    .await;
    idb::put_meta(&db, "refreshToken", &"MIGRATE-refresh")
        .await
        .expect("meta");
    db.close();
    ids
}

#[wasm_bindgen_test]
async fn a_plaintext_v3_database_is_sealed_in_place_and_its_writes_go_out_once() {
    let tokens = login("patient1").await;
    let thread = open_thread(&tokens.access_token).await;
    let run = uuid::Uuid::now_v7();
    let texts: Vec<String> = (0..3).map(|i| format!("MIGRATE-{run}-{i}")).collect();
    let name = unique("v3");
    let ids = v3_database(&name, &thread, &texts).await;

    // The new build opens it (v4), finds plaintext, and seals it at the first unlock.
    let db = idb::open(&name).await.expect("open v4");
    assert!(migrate::holds_plaintext(&db).await.expect("look"));
    let keyring = Keyring::create_with(&db, PASSWORD, 1_000)
        .await
        .expect("keyring");
    let vault = Vault::new(db.clone(), keyring);
    let sealed = migrate::seal_in_place(&vault).await.expect("migrate");
    assert_eq!(
        sealed,
        3 + 3 + 1 + 1,
        "3 writes, 3 entities, a draft, the refresh token"
    );
    assert_eq!(
        migrate::seal_in_place(&vault).await.expect("again"),
        0,
        "idempotent"
    );
    let leaks: Vec<String> = everything(&db)
        .await
        .into_iter()
        .filter(|v| v.contains("MIGRATE"))
        .collect();
    assert!(leaks.is_empty(), "plaintext left after sealing: {leaks:?}");

    let outbox = IdbOutbox::new(vault.clone());
    let waiting = outbox
        .ready(u64::MAX / 2, 10, 10, &HashSet::new())
        .await
        .expect("ready")
        .writes;
    assert_eq!(
        waiting.iter().map(|m| m.id.to_string()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(
        Cache::new(vault.clone())
            .draft(&thread)
            .await
            .expect("draft"),
        "MIGRATE-draft"
    );

    // Delivered by the runtime, twice asked: each write reaches the server exactly once.
    let runtime = SyncRuntime::new(
        outbox,
        FetchTransport::new(api(), Some(Tokens::from(&tokens))),
        Scope {
            tenant: "north-clinic".into(),
            user: tokens.user_id.clone(),
        },
        Config::default(),
    );
    for _ in 0..2 {
        assert!(matches!(runtime.pass().await.expect("pass"), Pass::Ran(_)));
    }
    let all = bodies(&tokens.access_token, &thread).await;
    let seen: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|b| b.contains(&run.to_string()))
        .collect();
    assert_eq!(
        seen,
        texts.iter().map(String::as_str).collect::<Vec<_>>(),
        "once each, in order"
    );
}
