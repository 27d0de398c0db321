//! What the browser tests share: the reference server's address and signing in to it.

#![allow(dead_code)]

use caresync_contract::auth::TokenResponse;
use gloo_net::http::Request as Http;
use serde_json::json;

pub fn api() -> &'static str {
    // Read at compile time: a wasm test cannot see the environment when it runs.
    match option_env!("CARESYNC_TEST_API") {
        Some(base) => base,
        None => panic!("CARESYNC_TEST_API names the reference server; run the browser tier with `cargo xtask test`"),
    }
}

pub async fn login(user: &str) -> TokenResponse {
    sign_in(json!({"tenantId": "north-clinic", "username": user, "password": "demo"})).await
}

async fn sign_in(body: serde_json::Value) -> TokenResponse {
    let res = Http::post(&format!("{}/api/v1/auth/login", api()))
        .json(&body)
        .expect("body")
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200);
    res.json().await.expect("tokens")
}

/// The password of every sealed test database.
pub const PASSWORD: &str = "demo";

/// `db` unlocked: its keyring opened, or made with few PBKDF2 rounds (tests only; the app
/// always uses 600,000).
pub async fn vault(db: indexed_db_futures::database::Database) -> caresync::platform::vault::Vault {
    use caresync::platform::keyring::Keyring;
    let keyring = if Keyring::exists(&db).await.expect("look for a keyring") {
        Keyring::unlock(&db, PASSWORD).await.expect("unlock")
    } else {
        Keyring::create_with(&db, PASSWORD, 1_000)
            .await
            .expect("keyring")
    };
    caresync::platform::vault::Vault::new(db, keyring)
}

/// A GET to the reference server with a bearer token, as JSON.
pub async fn get(token: &str, path: &str) -> serde_json::Value {
    Http::get(&format!("{}{path}", api()))
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// The first open thread of the signed-in patient.
pub async fn open_thread(token: &str) -> String {
    get(token, "/api/v1/threads")
        .await
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["status"] == "open"))
        .and_then(|t| t["threadId"].as_str())
        .expect("an open thread")
        .to_owned()
}

/// The bodies of a thread's messages on the server, oldest first.
pub async fn bodies(token: &str, thread: &str) -> Vec<String> {
    get(token, &format!("/api/v1/threads/{thread}/messages"))
        .await
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::to_owned))
        .collect()
}

/// Signs `user` in with a device id, as the app does.
pub async fn login_on(device_id: &str, user: &str) -> TokenResponse {
    sign_in(json!({"tenantId": "north-clinic", "username": user, "password": "demo", "deviceId": device_id})).await
}

/// What the app keeps at sign-in on a device.
pub async fn enrol(device: &caresync::platform::device::Device, tokens: &TokenResponse) {
    let (t, u) = (&tokens.tenant_id, &tokens.user_id);
    let credential = tokens
        .replay_credential
        .as_ref()
        .expect("a replay credential");
    device
        .keep_credential(t, u, credential)
        .await
        .expect("credential");
    let key = tokens.audit_key.as_deref().expect("an audit key");
    let head = tokens.audit_head.as_ref().expect("an audit head");
    device.keep_chain(t, u, key, head).await.expect("chain");
    let caps: caresync_contract::sync::SyncCapabilities =
        serde_json::from_value(get(&tokens.access_token, "/api/v1/sync/capabilities").await)
            .expect("capabilities");
    device
        .keep_sealing_key(&caps.sealing.expect("a sealing key"))
        .await
        .expect("sealing key");
}
