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
