//! Helpers for the shared-device tests: sign-in on a device, sealing a write as the app does,
//! pushing it under a replay credential, and chaining audit events.

use caresync_contract::audit::{mac_input, AuditEventIn, GENESIS};
use caresync_envelope::{from_hex, to_hex};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, TryRngCore as _};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{cmid, Session, TestServer};

pub const KIOSK: &str = "0193a4c2-7b1e-7cc0-9a52-3f1f5e2d9b01";
pub const TABLET: &str = "0193a4c2-7b1e-7cc0-9a52-3f1f5e2d9b02";

/// A sign-in on a device, with what it hands the device.
pub struct DeviceSession {
    pub session: Session,
    pub tenant: String,
    pub replay: String,
    pub audit_key: Vec<u8>,
    pub body: Value,
}

pub async fn sign_in_on(srv: &TestServer, tenant: &str, user: &str, device: &str) -> DeviceSession {
    let (status, body) = srv
        .request(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"tenantId": tenant, "username": user, "password": "demo", "deviceId": device})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    DeviceSession {
        session: Session {
            token: body["accessToken"].as_str().expect("token").to_owned(),
            refresh: body["refreshToken"].as_str().expect("refresh").to_owned(),
            user_id: body["userId"].as_str().expect("user").to_owned(),
        },
        tenant: tenant.to_owned(),
        replay: body["replayCredential"]["token"]
            .as_str()
            .expect("replay credential")
            .to_owned(),
        audit_key: from_hex(body["auditKey"].as_str().expect("audit key")).expect("hex"),
        body,
    }
}

/// The published sealing key, as the app reads it.
pub async fn sealing_key(srv: &TestServer, s: &Session) -> Value {
    let (status, caps) = srv
        .request("GET", "/api/v1/sync/capabilities", Some(&s.token), None)
        .await;
    assert_eq!(status, 200, "{caps}");
    caps["sealing"].clone()
}

/// Seals any plaintext to `key` (`{keyId, publicKey}`), as the app does.
pub fn seal_bytes(key: &Value, plaintext: &[u8]) -> Value {
    let public = from_hex(key["publicKey"].as_str().expect("public key")).expect("hex");
    let key_id = key["keyId"].as_str().expect("key id");
    let sealed =
        caresync_envelope::seal(&public, key_id, plaintext, &mut OsRng.unwrap_err()).expect("seal");
    json!({"keyId": sealed.key_id, "enc": to_hex(&sealed.enc), "ciphertext": to_hex(&sealed.ciphertext)})
}

/// A sealed write of `who` (tenant and actor inside the envelope).
pub fn seal_write(
    key: &Value,
    who: &DeviceSession,
    method: &str,
    path: &str,
    body: &Value,
) -> Value {
    let write = json!({
        "tenantId": who.tenant,
        "actorId": who.session.user_id,
        "clientMutationId": body["clientMutationId"].as_str().map_or_else(cmid, str::to_owned),
        "method": method,
        "path": path,
        "body": body,
    });
    seal_bytes(key, write.to_string().as_bytes())
}

pub async fn push_sealed(srv: &TestServer, replay: &str, envelope: Value) -> (u16, Value) {
    let auth = format!("Replay {replay}");
    srv.request_with(
        "POST",
        "/api/v1/sync/sealed",
        None,
        Some(envelope),
        &[("authorization", &auth)],
    )
    .await
}

/// An audit event (unchained).
pub fn audit_event(kind: &str) -> Value {
    json!({"clientMutationId": cmid(), "type": kind, "occurredAt": "2026-11-22T10:00:00.000Z",
           "payload": {"writes": 3}})
}

/// `event` as link `seq` after `prev` in `device`'s chain; answers the event and its MAC.
pub fn chain(event: &Value, key: &[u8], device: &str, seq: u64, prev: &str) -> (Value, String) {
    let parsed: AuditEventIn = serde_json::from_value(event.clone()).expect("an audit event");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(&mac_input(&parsed, device, seq, prev));
    let mac = to_hex(&mac.finalize().into_bytes());
    let mut chained = event.clone();
    chained["chain"] = json!({"deviceId": device, "seq": seq, "prev": prev, "mac": mac});
    (chained, mac)
}

/// `n` events chained from the start of `device`'s chain.
pub fn chain_of(n: usize, key: &[u8], device: &str) -> Vec<Value> {
    let mut prev = GENESIS.to_owned();
    (1..=n as u64)
        .map(|seq| {
            let (event, mac) = chain(&audit_event("device.locked"), key, device, seq, &prev);
            prev = mac;
            event
        })
        .collect()
}
