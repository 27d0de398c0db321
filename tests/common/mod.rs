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
    let res = Http::post(&format!("{}/api/v1/auth/login", api()))
        .json(&json!({"tenantId": "north-clinic", "username": user, "password": "demo"}))
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
