//! Browser tier: the local store against a real IndexedDB in headless Chromium.

use caresync::platform::idb::{self, database_name};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_record_written_is_read_back_after_reopening() {
    let name = database_name("test-tenant", "reopen");
    let db = idb::open(&name).await.expect("open");
    idb::put_meta(&db, "greeting", &"hello from IndexedDB".to_owned())
        .await
        .expect("put");
    db.close();

    let db = idb::open(&name).await.expect("reopen");
    let read: Option<String> = idb::get_meta(&db, "greeting").await.expect("get");
    assert_eq!(read.as_deref(), Some("hello from IndexedDB"));
    let missing: Option<String> = idb::get_meta(&db, "absent").await.expect("get absent");
    assert_eq!(missing, None);
}

#[wasm_bindgen_test]
fn databases_are_scoped_to_tenant_and_user() {
    assert_ne!(database_name("north", "a"), database_name("south", "a"));
    assert_ne!(database_name("north", "a"), database_name("north", "b"));
}

#[wasm_bindgen_test]
async fn an_integer_a_js_number_cannot_hold_is_refused_not_stored_rounded() {
    let exact = (1u64 << 53) - 1;
    let kept = idb::to_js(&serde_json::json!({ "at": exact, "back": -(exact as i64) }))
        .expect("the largest exact integers");
    let back: serde_json::Value = idb::from_js(kept).expect("read back");
    assert_eq!(back["at"], exact);
    assert_eq!(back["back"], -(exact as i64));
    for too_big in [
        serde_json::json!({ "nextAttemptAt": u64::MAX }),
        serde_json::json!([1, { "seq": exact + 1 }]),
        serde_json::json!(i64::MIN),
    ] {
        assert!(idb::to_js(&too_big).is_err(), "{too_big} was stored");
    }

    // At the store too: the write fails, and what was there stays readable.
    let db = idb::open(&database_name("test-tenant", "inexact"))
        .await
        .expect("open");
    idb::put_meta(&db, "due", &exact).await.expect("put");
    assert!(idb::put_meta(&db, "due", &u64::MAX).await.is_err());
    let read: Option<u64> = idb::get_meta(&db, "due").await.expect("get");
    assert_eq!(read, Some(exact));
}
