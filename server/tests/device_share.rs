//! Device key shares: handed out only after a password check, stable per user and device,
//! different for every other user or device.

mod common;

use common::TestServer;
use serde_json::{json, Value};

async fn sign_in(
    srv: &TestServer,
    user: &str,
    password: &str,
    device: Option<&str>,
) -> (u16, Value) {
    let mut body = json!({"tenantId": "north-clinic", "username": user, "password": password});
    if let Some(device) = device {
        body["deviceId"] = json!(device);
    }
    srv.request("POST", "/api/v1/auth/login", None, Some(body))
        .await
}

fn share(body: &Value) -> String {
    let share = body["deviceKeyShare"].as_str().expect("a share").to_owned();
    assert_eq!(share.len(), 64, "32 bytes in hex: {share}");
    assert!(share.chars().all(|c| c.is_ascii_hexdigit()));
    share
}

const TABLET: &str = "0193a4c2-7b1e-7cc0-9a52-3f1f5e2d9a10";
const PHONE: &str = "0193a4c2-7b1e-7cc0-9a52-3f1f5e2d9a11";

#[tokio::test]
async fn a_device_gets_the_same_share_at_every_sign_in_and_no_one_else_gets_it() {
    let srv = TestServer::start().await;
    let (status, first) = sign_in(&srv, "patient1", "demo", Some(TABLET)).await;
    assert_eq!(status, 200, "{first}");
    let tablet = share(&first);
    let (_, again) = sign_in(&srv, "patient1", "demo", Some(TABLET)).await;
    assert_eq!(share(&again), tablet, "kept, not made anew");
    let (_, phone) = sign_in(&srv, "patient1", "demo", Some(PHONE)).await;
    assert_ne!(share(&phone), tablet, "another device, another share");
    let (_, other_user) = sign_in(&srv, "nurse1", "demo", Some(TABLET)).await;
    assert_ne!(
        share(&other_user),
        tablet,
        "another user on the device, another share"
    );
}

#[tokio::test]
async fn no_share_without_a_device_id_a_valid_one_or_the_right_password() {
    let srv = TestServer::start().await;
    let (status, plain) = sign_in(&srv, "patient1", "demo", None).await;
    assert_eq!(status, 200);
    assert!(plain.get("deviceKeyShare").is_none(), "{plain}");

    let (status, wrong) = sign_in(&srv, "patient1", "not demo", Some(TABLET)).await;
    assert_eq!(status, 401);
    assert!(wrong.get("deviceKeyShare").is_none(), "{wrong}");

    for bad in ["", "tablet-1", "../../etc", &"a".repeat(200)] {
        let (status, body) = sign_in(&srv, "patient1", "demo", Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.get("deviceKeyShare").is_none());
        assert!(
            body.get("refreshToken").is_none(),
            "no session for a refused sign-in"
        );
    }
}
