//! The one JSON path: every typed value is encoded to, and decoded from, a
//! `serde_json::Value`, so each type's serde code is built for one (de)serializer rather
//! than for bytes, strings, values and JS objects each (the size budget, docs/benchmarks.md).

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// `value` as JSON bytes.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&serde_json::to_value(value)?)
}

/// `value` as a JSON string.
pub fn encode_str<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(&serde_json::to_value(value)?)
}

/// JSON bytes as `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_value(serde_json::from_slice::<Value>(bytes)?)
}

/// A JSON string as `T`.
pub fn decode_str<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    decode(text.as_bytes())
}
