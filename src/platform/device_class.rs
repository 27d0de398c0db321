//! Whether this browser profile is a shared device (clinic kiosk, ward tablet) or a personal
//! one, and the tenant's policy on it (`GET /api/v1/config`, cached and revalidated). The
//! choice and the cached policy live in localStorage: neither is PHI.

use caresync_contract::{
    auth::{DeviceClass, DeviceConfig},
    paths,
};

use super::session::local_storage;

const SHARED: &str = "caresync.shared";
/// Used until a tenant's policy has been read once.
pub const DEFAULT_IDLE_LOCK_SECONDS: u64 = 120;

fn config_key(tenant: &str) -> String {
    format!("caresync.config:{tenant}")
}

/// What the person last ticked on this profile.
pub fn remembered_shared() -> bool {
    local_storage()
        .and_then(|s| s.get_item(SHARED).ok().flatten())
        .is_some_and(|v| v == "1")
}

pub fn remember_shared(shared: bool) {
    if let Some(storage) = local_storage() {
        let kept = storage.set_item(SHARED, if shared { "1" } else { "0" });
        if kept.is_err() {
            leptos::logging::warn!("could not remember the device class");
        }
    }
}

/// The tenant's policy as last read, with no network.
pub fn cached(tenant: &str) -> Option<DeviceConfig> {
    let text = local_storage()?.get_item(&config_key(tenant)).ok()??;
    super::json::decode_str(&text).ok()
}

/// Reads the tenant's policy (and keeps it for offline use); the cached one if the server
/// cannot be reached.
pub async fn fetch(tenant: &str) -> Option<DeviceConfig> {
    let url = format!(
        "{}?tenantId={}",
        paths::CONFIG,
        js_sys::encode_uri_component(tenant)
    );
    let fresh = match gloo_net::http::Request::get(&url).send().await {
        Ok(r) if r.status() == 200 => match r.text().await {
            Ok(text) => super::json::decode_str::<DeviceConfig>(&text).ok(),
            Err(_) => None,
        },
        _ => None,
    };
    match fresh {
        Some(config) => {
            if let (Some(storage), Ok(text)) = (local_storage(), super::json::encode_str(&config)) {
                if storage.set_item(&config_key(tenant), &text).is_err() {
                    leptos::logging::warn!("could not keep the tenant's device policy");
                }
            }
            Some(config)
        }
        None => cached(tenant),
    }
}

/// Whether this sign-in is on a shared device: the tenant decides if it says so, the person
/// otherwise.
pub fn is_shared(config: Option<&DeviceConfig>, chosen: bool) -> bool {
    match config.map(|c| c.device_class) {
        Some(DeviceClass::Shared) => true,
        Some(DeviceClass::Personal) => false,
        Some(DeviceClass::Either) | None => chosen,
    }
}

/// How long a shared device waits with no input before it locks.
pub fn idle_lock_seconds(tenant: &str) -> u64 {
    cached(tenant).map_or(DEFAULT_IDLE_LOCK_SECONDS, |c| c.idle_lock_seconds)
}
