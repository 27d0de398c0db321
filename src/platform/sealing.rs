//! Sealing a queued write to the server's public key (HPKE through `caresync-envelope`), so
//! that it can outlive its author's readable data on a shared device: this device can send
//! it, and never read it back.

use caresync_contract::{
    paths,
    sync::{SealedEnvelope, SealedWrite, SealingKey},
};
use caresync_envelope::{from_hex, seal, to_hex, EnvelopeError};
use caresync_sync::{Lane, Mutation, NewMutation, Request};
use rand_core::{CryptoRng, RngCore};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the server's sealing key is not known on this device yet")]
    NoKey,
    #[error("the server's sealing key is malformed")]
    BadKey,
    #[error("this browser offers no secure random numbers")]
    NoRandom,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// Random bytes from WebCrypto's `getRandomValues`, for the HPKE key encapsulation.
struct WebCryptoRng;

impl RngCore for WebCryptoRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The trait cannot fail; a browser without WebCrypto is refused before sealing starts
        // (see `available`), so this never leaves bytes as zeros unnoticed.
        if let Ok(random) = super::crypto::random_bytes(dest.len()) {
            dest.copy_from_slice(&random);
        }
    }
}

impl CryptoRng for WebCryptoRng {}

fn available() -> Result<(), SealError> {
    super::crypto::random_bytes(1)
        .map(drop)
        .map_err(|_| SealError::NoRandom)
}

/// `m` sealed for the device's outbox: same id (the server deduplicates a copy that already
/// arrived), kind and order; its lane is prefixed with its author, so one author's waiting
/// writes never hold up another's; its request is the envelope, posted to the sealed route.
pub fn seal_write(key: &SealingKey, m: &Mutation) -> Result<NewMutation, SealError> {
    available()?;
    let public = from_hex(&key.public_key).ok_or(SealError::BadKey)?;
    let write = SealedWrite {
        tenant_id: m.tenant.clone(),
        actor_id: m.actor.clone(),
        client_mutation_id: m.id.to_string(),
        method: m.request.method.clone(),
        path: m.request.path.clone(),
        body: m.request.body.clone(),
    };
    let plain =
        super::json::encode(&write).map_err(|_| SealError::Envelope(EnvelopeError::Seal))?;
    let sealed = seal(&public, &key.key_id, &plain, &mut WebCryptoRng)?;
    let envelope = SealedEnvelope {
        key_id: sealed.key_id,
        enc: to_hex(&sealed.enc),
        ciphertext: to_hex(&sealed.ciphertext),
    };
    Ok(NewMutation {
        id: m.id,
        tenant: m.tenant.clone(),
        actor: m.actor.clone(),
        kind: m.kind,
        lane: sealed_lane(&m.tenant, &m.actor, &m.lane),
        request: Request {
            method: "POST".into(),
            path: paths::SYNC_SEALED.into(),
            body: serde_json::to_value(&envelope)
                .map_err(|_| SealError::Envelope(EnvelopeError::Seal))?,
        },
        coalesce_key: None,
        versioned: None,
    })
}

/// The lane of an author's sealed writes: their own lane, under their tenant and user.
pub fn sealed_lane(tenant: &str, user: &str, lane: &Lane) -> Lane {
    Lane::new(format!("{tenant}/{user}/{}", lane.as_str()))
}

/// The lane a sealed write was handed over from, for its author.
pub fn original_lane(tenant: &str, user: &str, sealed: &Lane) -> Option<Lane> {
    sealed
        .as_str()
        .strip_prefix(&format!("{tenant}/{user}/"))
        .map(Lane::new)
}
