//! The device's tamper-evident audit trail. Events raised here (a lock, a failed unlock, a
//! wipe, discarded writes, a resolved parked or conflicting write) are chained per user and
//! device: a sequence number, the previous link's MAC, and HMAC-SHA256 under the key the
//! server issued to that user on this device at sign-in. Each is queued sealed in the device
//! outbox (so it goes out under its author's replay credential even after they are gone),
//! and its chain head moves in the same transaction, so a crash never leaves a gap.

use caresync_contract::{
    audit::{mac_input, AuditEventIn, AuditHead, AuditLink},
    paths,
};
use caresync_envelope::{from_hex, to_hex};
use caresync_sync::{AggregateKind, Lane, Mutation, Request};
use serde::{Deserialize, Serialize};

use super::{
    crypto,
    device::{Device, DeviceError},
    idb::META,
    sealing::{seal_write, SealError},
    transport::now_ms,
    writes::iso_now,
};

/// One user's chain on this device: the key the server issued and where the chain ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    pub key: String,
    pub seq: u64,
    pub mac: String,
}

fn chain_key(tenant: &str, user: &str) -> String {
    format!("audit:{tenant}:{user}")
}

/// What kinds of events the device raises (the `type` on the wire).
pub mod kind {
    pub const LOCKED: &str = "device.locked";
    pub const UNLOCK_FAILED: &str = "device.unlock_failed";
    pub const WIPED: &str = "device.wiped";
    pub const DISCARDED: &str = "outbox.discarded";
    pub const RESOLVED: &str = "outbox.resolved";
    pub const PRINTED_FROM_CACHE: &str = "document.printed_from_cache";
}

impl Device {
    /// At sign-in: the key the server issued, and its head. A chain this device has gone
    /// further with (events not yet acknowledged) keeps its own head.
    pub async fn keep_chain(
        &self,
        tenant: &str,
        user: &str,
        key: &str,
        server_head: &AuditHead,
    ) -> Result<(), DeviceError> {
        let name = chain_key(tenant, user);
        let local: Option<Chain> = self.vault().get_meta(&name).await?;
        let chain = match local {
            Some(local) if local.key == key && local.seq >= server_head.seq => local,
            _ => Chain {
                key: key.to_owned(),
                seq: server_head.seq,
                mac: server_head.mac.clone(),
            },
        };
        Ok(self.vault().put_meta(&name, &chain).await?)
    }

    /// Appends an event for `user` to their chain and queues it, sealed. Returns false when
    /// this device holds no chain for them (they never signed in here with a device id).
    pub async fn audit(
        &self,
        device_id: &str,
        tenant: &str,
        user: &str,
        kind: &str,
        payload: serde_json::Value,
    ) -> Result<bool, DeviceError> {
        // Read head, MAC, write head: two events at once would both take the same place.
        let _turn = self.chain.lock().await;
        let name = chain_key(tenant, user);
        let Some(chain) = self.vault().get_meta::<Chain>(&name).await? else {
            return Ok(false);
        };
        let key = from_hex(&chain.key).ok_or(SealError::BadKey)?;
        let id = uuid::Uuid::now_v7();
        let mut event = AuditEventIn {
            client_mutation_id: id.to_string(),
            kind: kind.to_owned(),
            occurred_at: iso_now(),
            payload,
            integrity: None,
            chain: None,
        };
        let seq = chain.seq + 1;
        let prev = chain.mac.clone();
        let mac = crypto::hmac_sha256(&key, &mac_input(&event, device_id, seq, &prev))
            .await
            .map_err(|e| DeviceError::Keyring(e.into()))?;
        let mac = to_hex(&mac);
        event.chain = Some(AuditLink {
            device_id: device_id.to_owned(),
            seq,
            prev,
            mac: mac.clone(),
        });
        let write = audit_write(id, tenant, user, device_id, &event);
        let sealing = self.sealing_key().await?.ok_or(SealError::NoKey)?;
        let sealed = seal_write(&sealing, &write)?;
        let head = Chain { seq, mac, ..chain };
        let head = self.vault().seal(META, &name, &head).await?;
        self.outbox()
            .append_with(sealed, None, Some((name, head)), now_ms())
            .await?;
        Ok(true)
    }
}

/// The event as a write of its author, in the chain's own lane (its order is the chain's).
fn audit_write(
    id: uuid::Uuid,
    tenant: &str,
    user: &str,
    device_id: &str,
    event: &AuditEventIn,
) -> Mutation {
    Mutation::from_new(
        caresync_sync::NewMutation {
            id,
            tenant: tenant.to_owned(),
            actor: user.to_owned(),
            kind: AggregateKind::AuditEvent,
            lane: Lane::new(format!("audit:{device_id}")),
            request: Request {
                method: "POST".into(),
                path: paths::AUDIT_EVENTS.into(),
                body: serde_json::to_value(event).unwrap_or_default(),
            },
            coalesce_key: None,
            versioned: None,
        },
        0,
        now_ms(),
    )
}
