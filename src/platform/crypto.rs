//! The encrypted record layer's primitives, all WebCrypto (no cipher of our own): AES-256-GCM
//! sealing with associated data that binds a ciphertext to its place (database, store,
//! record key), a random data key per database, and its wrap (AES-KW) under a key derived
//! from the user's password (PBKDF2-SHA256, 600,000 iterations, random salt).

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// OWASP's figure for PBKDF2-HMAC-SHA256 (2023).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
const NONCE_LEN: usize = 12;
pub const SALT_LEN: usize = 16;
/// Names the layout of the associated data, so a future change cannot be confused with it.
const AAD_VERSION: &str = "caresync/record/v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("this browser offers no WebCrypto")]
    Unavailable,
    /// The password-derived key could not unwrap the data key.
    #[error("wrong password")]
    WrongPassword,
    /// The ciphertext was changed, or belongs to another record or database.
    #[error("this record cannot be read: it was altered or does not belong here")]
    NotThisRecord,
    #[error("the browser's cryptography failed: {0}")]
    Browser(String),
}

/// Where a sealed value lives: it opens only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub database: &'a str,
    pub store: &'a str,
    pub key: &'a str,
}

impl Place<'_> {
    /// The associated data: each part length-prefixed, so no two places share bytes.
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::new();
        for part in [AAD_VERSION, self.database, self.store, self.key] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

fn crypto() -> Result<web_sys::Crypto, CryptoError> {
    let global = js_sys::global();
    let crypto = Reflect::get(&global, &JsValue::from_str("crypto"))
        .map_err(|_| CryptoError::Unavailable)?;
    crypto
        .dyn_into::<web_sys::Crypto>()
        .map_err(|_| CryptoError::Unavailable)
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    Ok(crypto()?.subtle())
}

fn browser(err: JsValue) -> CryptoError {
    CryptoError::Browser(
        err.as_string()
            .or_else(|| {
                Reflect::get(&err, &JsValue::from_str("name"))
                    .ok()
                    .and_then(|n| n.as_string())
            })
            .unwrap_or_else(|| "unknown error".into()),
    )
}

async fn settle(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

/// An algorithm dictionary: `{ name, ...fields }`.
fn algorithm(name: &str, fields: &[(&str, &JsValue)]) -> Result<Object, CryptoError> {
    let object = Object::new();
    Reflect::set(&object, &"name".into(), &name.into()).map_err(browser)?;
    for (field, value) in fields {
        Reflect::set(&object, &(*field).into(), value).map_err(browser)?;
    }
    Ok(object)
}

fn usages(list: &[&str]) -> JsValue {
    list.iter()
        .map(|u| JsValue::from_str(u))
        .collect::<Array>()
        .into()
}

/// Fresh random bytes from the browser's CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut bytes = vec![0u8; n];
    crypto()?
        .get_random_values_with_u8_array(&mut bytes)
        .map_err(browser)?;
    Ok(bytes)
}

/// A random AES-256-GCM data key. Extractable only so that it can be wrapped.
pub async fn generate_data_key() -> Result<CryptoKey, CryptoError> {
    let params = algorithm("AES-GCM", &[("length", &256.into())])?;
    let key =
        settle(subtle()?.generate_key_with_object(&params, true, &usages(&["encrypt", "decrypt"])))
            .await
            .map_err(browser)?;
    Ok(key.unchecked_into())
}

/// Seals `plaintext` for `place`: a fresh 96-bit nonce, then the ciphertext and its tag.
pub async fn seal(
    key: &CryptoKey,
    place: Place<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let nonce = random_bytes(NONCE_LEN)?;
    let params = gcm(&nonce, place)?;
    let sealed = settle(subtle()?.encrypt_with_object_and_u8_array(&params, key, plaintext))
        .await
        .map_err(browser)?;
    let mut out = nonce;
    out.extend(Uint8Array::new(&sealed).to_vec());
    Ok(out)
}

/// Opens what [`seal`] made for the same place; anything else fails.
pub async fn open(
    key: &CryptoKey,
    place: Place<'_>,
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(CryptoError::NotThisRecord);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let params = gcm(nonce, place)?;
    let plain = settle(subtle()?.decrypt_with_object_and_u8_array(&params, key, ciphertext))
        .await
        .map_err(|_| CryptoError::NotThisRecord)?;
    Ok(Uint8Array::new(&plain).to_vec())
}

fn gcm(nonce: &[u8], place: Place<'_>) -> Result<Object, CryptoError> {
    let iv = Uint8Array::from(nonce);
    let aad = Uint8Array::from(place.associated_data().as_slice());
    algorithm(
        "AES-GCM",
        &[
            ("iv", &iv.into()),
            ("additionalData", &aad.into()),
            ("tagLength", &128.into()),
        ],
    )
}

/// The key-encryption key derived from a password and its salt (PBKDF2-SHA256).
pub async fn password_key(password: &str, salt: &[u8]) -> Result<CryptoKey, CryptoError> {
    password_key_with(password, salt, PBKDF2_ITERATIONS).await
}

/// As [`password_key`], with another iteration count (tests and benchmarks only go lower).
pub async fn password_key_with(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<CryptoKey, CryptoError> {
    let subtle = subtle()?;
    let raw = Uint8Array::from(password.as_bytes());
    let pbkdf2 = algorithm("PBKDF2", &[])?;
    let base = settle(subtle.import_key_with_object(
        "raw",
        &raw.into(),
        &pbkdf2,
        false,
        &usages(&["deriveKey"]),
    ))
    .await
    .map_err(browser)?;
    let salt = Uint8Array::from(salt);
    let params = algorithm(
        "PBKDF2",
        &[
            ("salt", &salt.into()),
            ("iterations", &iterations.into()),
            ("hash", &"SHA-256".into()),
        ],
    )?;
    let kek_type = algorithm("AES-KW", &[("length", &256.into())])?;
    let kek = settle(subtle.derive_key_with_object_and_object(
        &params,
        &base.unchecked_into(),
        &kek_type,
        false,
        &usages(&["wrapKey", "unwrapKey"]),
    ))
    .await
    .map_err(browser)?;
    Ok(kek.unchecked_into())
}

/// The data key, wrapped (AES-KW) under a key-encryption key.
pub async fn wrap(data_key: &CryptoKey, kek: &CryptoKey) -> Result<Vec<u8>, CryptoError> {
    let wrapped = settle(subtle()?.wrap_key_with_str("raw", data_key, kek, "AES-KW"))
        .await
        .map_err(browser)?;
    Ok(Uint8Array::new(&wrapped).to_vec())
}

/// The data key back from its wrap; a wrong key-encryption key fails AES-KW's integrity
/// check, so a wrong password is told apart from any other failure.
pub async fn unwrap(wrapped: &[u8], kek: &CryptoKey) -> Result<CryptoKey, CryptoError> {
    let data_key_type = algorithm("AES-GCM", &[("length", &256.into())])?;
    let key = settle(subtle()?.unwrap_key_with_u8_array_and_str_and_object(
        "raw",
        wrapped,
        kek,
        "AES-KW",
        &data_key_type,
        true,
        &usages(&["encrypt", "decrypt"]),
    ))
    .await
    .map_err(|_| CryptoError::WrongPassword)?;
    Ok(key.unchecked_into())
}

/// A key-encryption key from raw bytes the server keeps (the device key share); it cannot be
/// read back out of the browser.
pub async fn import_wrapping_key(raw: &[u8]) -> Result<CryptoKey, CryptoError> {
    let kw = algorithm("AES-KW", &[])?;
    let key = settle(subtle()?.import_key_with_object(
        "raw",
        &Uint8Array::from(raw).into(),
        &kw,
        false,
        &usages(&["wrapKey", "unwrapKey"]),
    ))
    .await
    .map_err(browser)?;
    Ok(key.unchecked_into())
}

/// A random key-encryption key that never leaves the browser (non-extractable): stored as a
/// `CryptoKey` in IndexedDB, it lets this device reopen its data without the password.
pub async fn generate_device_key() -> Result<CryptoKey, CryptoError> {
    let params = algorithm("AES-KW", &[("length", &256.into())])?;
    let key = settle(subtle()?.generate_key_with_object(
        &params,
        false,
        &usages(&["wrapKey", "unwrapKey"]),
    ))
    .await
    .map_err(browser)?;
    Ok(key.unchecked_into())
}

/// HMAC-SHA256 of `data` under raw key bytes (the audit chain's MAC).
pub async fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let params = algorithm("HMAC", &[("hash", &"SHA-256".into())])?;
    let subtle = subtle()?;
    let key = settle(subtle.import_key_with_object(
        "raw",
        &Uint8Array::from(key).into(),
        &params,
        false,
        &usages(&["sign"]),
    ))
    .await
    .map_err(browser)?;
    let mac = settle(subtle.sign_with_str_and_u8_array("HMAC", &key.unchecked_into(), data))
        .await
        .map_err(browser)?;
    Ok(Uint8Array::new(&mac).to_vec())
}
