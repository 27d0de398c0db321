//! Sealed writes: a queued write that must outlive the readable data on a shared device is
//! sealed to the server's public key with HPKE (RFC 9180, base mode,
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305) from the `hpke` crate. The
//! device can send it and never read it back; only the server opens it. Shared by the PWA
//! (which seals) and the reference server (which opens), so both agree on the suite, the
//! info string and the associated data by construction.

use hpke::{
    aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, Kem as _,
    OpModeR, OpModeS, Serializable,
};
use rand_core::{CryptoRng, RngCore};

type Kem = X25519HkdfSha256;
type Kdf = HkdfSha256;
type Aead = ChaCha20Poly1305;

/// The suite's name as the server publishes it.
pub const SUITE: &str = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/ChaCha20Poly1305";
/// Names what is sealed, so an envelope made for anything else never opens as a write.
const INFO: &[u8] = b"caresync/sealed-write/v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the sealing key is malformed")]
    BadKey,
    #[error("the envelope is malformed")]
    Malformed,
    /// Not sealed to this key, altered, or sealed under another key id.
    #[error("the envelope does not open with this key")]
    DoesNotOpen,
    #[error("sealing failed")]
    Seal,
}

/// A sealed write as it travels: which key it was sealed to, the encapsulated key, and the
/// ciphertext (with its tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub enc: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// A fresh key pair for the server: `(private, public)` as bytes.
pub fn generate<R: CryptoRng + RngCore>(rng: &mut R) -> (Vec<u8>, Vec<u8>) {
    let (private, public) = Kem::gen_keypair(rng);
    (private.to_bytes().to_vec(), public.to_bytes().to_vec())
}

/// Seals `plaintext` to the public key published under `key_id`. The key id is the
/// associated data: an envelope relabelled with another key id does not open.
pub fn seal<R: CryptoRng + RngCore>(
    public_key: &[u8],
    key_id: &str,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Sealed, EnvelopeError> {
    let public =
        <Kem as hpke::Kem>::PublicKey::from_bytes(public_key).map_err(|_| EnvelopeError::BadKey)?;
    let (enc, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem, R>(
        &OpModeS::Base,
        &public,
        INFO,
        plaintext,
        key_id.as_bytes(),
        rng,
    )
    .map_err(|_| EnvelopeError::Seal)?;
    Ok(Sealed {
        key_id: key_id.to_owned(),
        enc: enc.to_bytes().to_vec(),
        ciphertext,
    })
}

/// Opens an envelope with the private key of its key id (the server's side).
pub fn open(private_key: &[u8], sealed: &Sealed) -> Result<Vec<u8>, EnvelopeError> {
    let private = <Kem as hpke::Kem>::PrivateKey::from_bytes(private_key)
        .map_err(|_| EnvelopeError::BadKey)?;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&sealed.enc)
        .map_err(|_| EnvelopeError::Malformed)?;
    hpke::single_shot_open::<Aead, Kdf, Kem>(
        &OpModeR::Base,
        &private,
        &enc,
        INFO,
        &sealed.ciphertext,
        sealed.key_id.as_bytes(),
    )
    .map_err(|_| EnvelopeError::DoesNotOpen)
}

/// Lower-case hex, as keys and envelopes travel in JSON.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{OsRng, TryRngCore as _};

    fn rng() -> impl CryptoRng {
        OsRng.unwrap_err()
    }

    #[test]
    fn a_sealed_write_opens_only_with_its_key_and_key_id() {
        let (private, public) = generate(&mut rng());
        let sealed = seal(&public, "k1", b"bed 4: clean", &mut rng()).expect("seal");
        assert!(!sealed.ciphertext.windows(5).any(|w| w == b"clean"));
        assert_eq!(open(&private, &sealed).expect("open"), b"bed 4: clean");

        let (other, _) = generate(&mut rng());
        assert_eq!(open(&other, &sealed), Err(EnvelopeError::DoesNotOpen));
        let relabelled = Sealed {
            key_id: "k2".into(),
            ..sealed.clone()
        };
        assert_eq!(open(&private, &relabelled), Err(EnvelopeError::DoesNotOpen));
        for at in [0, sealed.ciphertext.len() / 2, sealed.ciphertext.len() - 1] {
            let mut tampered = sealed.clone();
            tampered.ciphertext[at] ^= 1;
            assert_eq!(open(&private, &tampered), Err(EnvelopeError::DoesNotOpen));
        }
        let mut bad_enc = sealed.clone();
        bad_enc.enc.truncate(3);
        assert_eq!(open(&private, &bad_enc), Err(EnvelopeError::Malformed));
    }

    #[test]
    fn the_same_write_seals_differently_every_time() {
        let (_, public) = generate(&mut rng());
        let a = seal(&public, "k1", b"same", &mut rng()).expect("a");
        let b = seal(&public, "k1", b"same", &mut rng()).expect("b");
        assert_ne!(a.enc, b.enc);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn hex_round_trips_and_refuses_junk() {
        assert_eq!(
            from_hex(&to_hex(&[0, 1, 254, 255])),
            Some(vec![0, 1, 254, 255])
        );
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
