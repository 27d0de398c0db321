//! Browser tier: the runtime against the real reference server (started by `cargo xtask test`,
//! named in CARESYNC_TEST_API): fetch transport, Web Lock, exactly-once delivery.

use std::rc::Rc;

use caresync::platform::{
    idb,
    outbox_store::{EntityChange, IdbOutbox},
    runtime::{Pass, Scope, SyncRuntime},
    transport::{FetchTransport, Tokens},
    writes,
};
use caresync_contract::auth::TokenResponse;
use caresync_sync::{Config, NewMutation, UploadMode};
use leptos::prelude::GetUntracked as _;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::{api, get, login, open_thread, vault};

fn message(thread: &str, text: &str) -> (NewMutation, EntityChange) {
    writes::message_as("north-clinic", "usr-north-patient1", thread, text)
}

async fn runtime(db_name: &str, tokens: &TokenResponse, mode: UploadMode) -> Rc<SyncRuntime> {
    let db = idb::open(db_name).await.expect("open");
    let transport = FetchTransport::new(api(), Some(Tokens::from(tokens)));
    let scope = Scope {
        tenant: "north-clinic".into(),
        user: tokens.user_id.clone(),
    };
    SyncRuntime::new(
        IdbOutbox::new(vault(db).await),
        transport,
        scope,
        Config {
            mode,
            ..Config::default()
        },
    )
}

async fn run_two_tabs(mode: UploadMode) {
    let tokens = login("patient1").await;
    let thread = open_thread(&tokens.access_token).await;
    let name = format!("tabs-{}", uuid::Uuid::now_v7());
    let (a, b) = (
        runtime(&name, &tokens, mode).await,
        runtime(&name, &tokens, mode).await,
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        let (new, change) = message(&thread, &format!("two tabs {mode:?} {i}"));
        ids.push(new.id.to_string());
        // Queue through both tabs, as two open windows would.
        let tab = if i % 2 == 0 { &a } else { &b };
        tab.store_write(new, change).await;
    }
    let (pa, pb) = futures::join!(a.pass(), b.pass());
    let (pa, pb) = (pa.expect("pass a"), pb.expect("pass b"));
    let ran = [&pa, &pb]
        .iter()
        .filter(|p| matches!(p, Pass::Ran(_)))
        .count();
    assert_eq!(ran, 1, "exactly one tab replays: {pa:?} / {pb:?}");
    let idle = if matches!(pa, Pass::Busy) { &a } else { &b };
    assert_eq!(
        idle.transport().requests_sent(),
        0,
        "the other tab sent nothing"
    );
    let report = match (pa, pb) {
        (Pass::Ran(r), _) | (_, Pass::Ran(r)) => r,
        _ => unreachable!(),
    };
    assert_eq!(report.delivered, 5);
    let ran_tab = if Rc::ptr_eq(idle, &a) { &b } else { &a };
    let delivered = ran_tab
        .status
        .events
        .get_untracked()
        .iter()
        .filter(|e| matches!(e, caresync_sync::Event::Delivered { .. }))
        .count();
    assert_eq!(delivered, 5, "the UI sees one Delivered event per write");

    let msgs = get(
        &tokens.access_token,
        &format!("/api/v1/threads/{thread}/messages"),
    )
    .await;
    let seen: Vec<String> = msgs
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["clientMutationId"].as_str())
        .filter(|id| ids.iter().any(|x| x == id))
        .map(str::to_owned)
        .collect();
    assert_eq!(seen, ids, "each write exactly once, in order");
    a.refresh_status().await.expect("status");
    assert_eq!(a.status.waiting.get_untracked(), 0);
    assert!(a.status.last_sync.get_untracked().is_some());
}

#[wasm_bindgen_test]
async fn two_tabs_one_replayer_per_resource() {
    run_two_tabs(UploadMode::PerResource).await;
}

#[wasm_bindgen_test]
async fn two_tabs_one_replayer_through_the_batch_endpoint() {
    run_two_tabs(UploadMode::Auto).await;
}

/// Enqueue without triggering the debounced pass, so the test controls who replays.
trait StoreWrite {
    async fn store_write(&self, new: NewMutation, change: EntityChange);
}

impl StoreWrite for Rc<SyncRuntime> {
    async fn store_write(&self, new: NewMutation, change: EntityChange) {
        use caresync_sync::OutboxStore as _;
        self.store()
            .append(new, Some(change), caresync::platform::runtime::now_ms())
            .await
            .expect("append");
    }
}
