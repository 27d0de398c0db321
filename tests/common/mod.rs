//! What the browser tests share: the reference server's address and signing in to it.

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
