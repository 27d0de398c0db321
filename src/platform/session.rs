//! Signing in and out, and signing in again after a refused session.
//!
//! The access token lives only in memory. The refresh token and the username are sealed in
//! the user's own database (never in Cache Storage or a URL); localStorage holds only which
//! tenant and user last signed in on this device (opaque ids) and this device's random id.
//! Coming back after a reload is in `locked`.

use caresync_contract::{auth::TokenResponse, paths};
use caresync_sync::Config;
use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};

use super::{
    cache::Cache,
    device::{Device, DeviceError},
    idb::{self, StoreError},
    keyring::{Keyring, KeyringError},
    migrate,
    outbox_store::IdbOutbox,
    runtime::{Scope, SyncRuntime},
    storage,
    transport::{FetchTransport, Tokens},
    vault::Vault,
};

pub(super) const HINT: &str = "caresync.session";
const DEVICE_ID: &str = "caresync.device";
pub(super) const REFRESH_TOKEN: &str = "refreshToken";
pub(super) const USERNAME: &str = "username";
/// A lost answer to a sign-in is retried once after this long: signing in has no effect
/// on the server that a second try could double.
const LOGIN_RETRY_MS: u32 = 1_500;

/// Who is signed in on this device (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub tenant_id: String,
    pub user_id: String,
    /// What the screens offer (the ward board is for ward staff and providers); the server
    /// decides what each may do. Absent in a hint kept before roles were.
    #[serde(default)]
    pub role: Option<caresync_contract::auth::Role>,
}

impl UserInfo {
    pub(super) fn database(&self) -> String {
        idb::database_name(&self.tenant_id, &self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("The tenant, username or password is wrong.")]
    WrongCredentials,
    #[error("You are offline. Connect to the internet to sign in.")]
    Offline,
    #[error("The server could not be reached. Check your connection and try again.")]
    Unreachable,
    #[error("The server could not sign you in (error {0}). Try again in a moment.")]
    Server(u16),
    /// The app's session code (a split point's chunk) could not be fetched.
    #[error("This part of caresync has not downloaded yet. Check the connection, then try again.")]
    NotDownloaded,
    #[error("That is a different account. Sign out first to switch accounts; the changes waiting here belong to the account that made them.")]
    OtherUser,
    #[error("This device could not open its local storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Keyring(#[from] KeyringError),
    #[error("{0}")]
    Device(#[from] DeviceError),
}

/// What the sign-in form collects.
pub struct Credentials<'a> {
    pub tenant: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    /// "Keep me signed in on this device" (never on a shared device).
    pub keep: bool,
    /// A clinic kiosk or ward tablet: idle lock, wipe on sign-out.
    pub shared: bool,
}

pub struct SignedIn {
    pub user: UserInfo,
    /// The name the user signs in with, for the sign-in-again form.
    pub username: Option<String>,
    pub runtime: std::rc::Rc<SyncRuntime>,
    pub cache: Cache,
    /// A shared device: it locks when idle and wipes at sign-out.
    pub shared: bool,
    vault: Vault,
}

impl SignedIn {
    /// An unlocked database after a reload: the session comes back from its sealed refresh
    /// token (the first request refreshes first), or asks to sign in again if it has none.
    pub(super) async fn resume(
        vault: Vault,
        user: UserInfo,
        shared: bool,
    ) -> Result<Self, StoreError> {
        let refresh: Option<String> = vault.get_meta(REFRESH_TOKEN).await?;
        let username: Option<String> = vault.get_meta(USERNAME).await?;
        let tokens = refresh.map(|refresh| Tokens {
            access: String::new(),
            refresh,
            expires_in_ms: 0,
        });
        Ok(Self::with_vault(vault, user, username, tokens, shared))
    }

    /// Wires the runtime over an unlocked database.
    fn with_vault(
        vault: Vault,
        user: UserInfo,
        username: Option<String>,
        tokens: Option<Tokens>,
        shared: bool,
    ) -> Self {
        let transport = FetchTransport::new("", tokens);
        {
            let mut hooks = transport.hooks();
            let keep = vault.clone();
            hooks.refreshed = Some(Box::new(move |t: &Tokens| {
                keep_refresh_token(&keep, Some(t.refresh.clone()))
            }));
            // A refused token is dead: a reload must not present it again.
            let keep = vault.clone();
            hooks.refused = Some(Box::new(move || keep_refresh_token(&keep, None)));
            let keep = vault.clone();
            hooks.latest_refresh = Some(Box::new(move || {
                let vault = keep.clone();
                Box::pin(
                    async move { vault.get_meta::<String>(REFRESH_TOKEN).await.ok().flatten() },
                )
            }));
        }
        let scope = Scope {
            tenant: user.tenant_id.clone(),
            user: user.user_id.clone(),
        };
        let runtime = SyncRuntime::new(
            IdbOutbox::new(vault.clone()),
            transport,
            scope,
            Config::default(),
        );
        SignedIn {
            user,
            username,
            runtime,
            cache: Cache::new(vault.clone()),
            shared,
            vault,
        }
    }

    pub fn db(&self) -> &Database {
        self.vault.database()
    }

    /// After the server refused the session: the same user signs in again, on the same local
    /// database, and replay resumes with everything that waited. A password changed since
    /// re-wraps the data key, so the next offline unlock takes the new one.
    pub async fn sign_in_again(&self, username: &str, password: &str) -> Result<(), SignInError> {
        let fresh = login(&self.user.tenant_id, username, password).await?;
        if fresh.user_id != self.user.user_id || fresh.tenant_id != self.user.tenant_id {
            return Err(SignInError::OtherUser);
        }
        let tokens = Tokens::from(&fresh);
        self.vault.put_meta(REFRESH_TOKEN, &tokens.refresh).await?;
        self.vault.put_meta(USERNAME, username).await?;
        self.vault.keyring().rewrap(self.db(), password).await?;
        self.runtime.transport().signed_in(tokens);
        self.runtime.session_restored();
        Ok(())
    }

    /// Ends the session at the server (so its refresh token is worth nothing) and in this
    /// tab's memory. Offline, the session ends when it expires.
    pub async fn end_server_session(&self) {
        if let Ok(Some(refresh)) = self.vault.get_meta::<String>(REFRESH_TOKEN).await {
            let body = serde_json::json!({ "refreshToken": refresh });
            let ended = match gloo_net::http::Request::post(paths::LOGOUT).json(&body) {
                Ok(request) => request.send().await.is_ok(),
                Err(_) => false,
            };
            if !ended {
                leptos::logging::warn!(
                    "the server was not told of the sign-out; the session ends when it expires"
                );
            }
        }
        self.runtime.transport().forget();
    }

    /// Forgets the session on this device; the user's sealed data stays for their next visit
    /// and opens again only with their password.
    pub async fn sign_out(&self) {
        self.end_server_session().await;
        if let Err(err) = self.vault.delete_meta(REFRESH_TOKEN).await {
            leptos::logging::warn!("could not clear the session: {err}");
        }
        forget_device(self.db()).await;
        self.db().clone().close();
    }
}

/// What every sign-out does to this device: the device wrap and who signed in last go.
pub(super) async fn forget_device(db: &Database) {
    if let Err(err) = Keyring::forget_device(db).await {
        leptos::logging::warn!("could not remove this device's key: {err}");
    }
    if let Some(storage) = local_storage() {
        if storage.remove_item(HINT).is_err() {
            leptos::logging::warn!("could not forget who signed in last");
        }
    }
}

fn keep_refresh_token(vault: &Vault, token: Option<String>) {
    let vault = vault.clone();
    leptos::task::spawn_local(async move {
        let kept = match token {
            Some(t) => vault.put_meta(REFRESH_TOKEN, &t).await,
            None => vault.delete_meta(REFRESH_TOKEN).await,
        };
        if let Err(err) = kept {
            leptos::logging::warn!("could not keep the session: {err}");
        }
    });
}

pub(super) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// This browser profile's random id, for the server's device key share, replay credential
/// and audit chain (not a secret).
pub fn device_id() -> Option<String> {
    let storage = local_storage()?;
    if let Ok(Some(id)) = storage.get_item(DEVICE_ID) {
        return Some(id);
    }
    let id = uuid::Uuid::now_v7().to_string();
    storage.set_item(DEVICE_ID, &id).ok()?;
    Some(id)
}

/// `POST /auth/login`, tried twice if the first answer is lost on the way.
async fn login(tenant: &str, username: &str, password: &str) -> Result<TokenResponse, SignInError> {
    let mut body =
        serde_json::json!({ "tenantId": tenant, "username": username, "password": password });
    if let Some(device) = device_id() {
        body["deviceId"] = device.into();
    }
    let mut tries = 0;
    let response = loop {
        tries += 1;
        let request = gloo_net::http::Request::post(paths::LOGIN)
            .json(&body)
            .map_err(|_| SignInError::Server(0))?;
        match request.send().await {
            Ok(r) => break r,
            Err(_) if !super::online::navigator_online() => return Err(SignInError::Offline),
            Err(_) if tries < 2 => gloo_timers::future::TimeoutFuture::new(LOGIN_RETRY_MS).await,
            Err(_) => return Err(SignInError::Unreachable),
        }
    };
    match response.status() {
        200 => {
            let text = response
                .text()
                .await
                .map_err(|_| SignInError::Unreachable)?;
            super::json::decode_str(&text).map_err(|_| SignInError::Unreachable)
        }
        400 | 401 => Err(SignInError::WrongCredentials),
        other => Err(SignInError::Server(other)),
    }
}

/// Signs in online and opens the user's data: the password (or, after a password change
/// elsewhere, this device's key share) unwraps the data key; a database from before
/// encryption is sealed in place first. `keep` adds the device wrap ("Keep me signed in"),
/// except on a shared device. What the server issued for this device (the replay credential,
/// the audit key) goes into the device's own database.
pub async fn sign_in(c: Credentials<'_>, device: Option<&Device>) -> Result<SignedIn, SignInError> {
    let (tenant, username, password) = (c.tenant, c.username, c.password);
    let keep = c.keep && !c.shared;
    let tokens = login(tenant, username, password).await?;
    let user = UserInfo {
        tenant_id: tokens.tenant_id.clone(),
        user_id: tokens.user_id.clone(),
        role: Some(tokens.role),
    };
    let db = idb::open(&user.database()).await?;
    let keyring = Keyring::sign_in(&db, password, tokens.device_key_share.as_deref()).await?;
    let vault = Vault::new(db.clone(), keyring);
    // A first sign-in here, a database from before encryption, or a sealing cut short.
    if migrate::needs_sealing(&db).await? {
        migrate::seal_in_place(&vault).await?;
    }
    if keep {
        vault.keyring().keep_on_device(&db).await?;
    } else {
        Keyring::forget_device(&db).await?;
    }
    vault.put_meta(REFRESH_TOKEN, &tokens.refresh_token).await?;
    vault.put_meta(USERNAME, username).await?;
    if let (Some(storage), Ok(hint)) = (local_storage(), super::json::encode_str(&user)) {
        if storage.set_item(HINT, &hint).is_err() {
            leptos::logging::warn!("could not remember who signed in: a reload will ask again");
        }
    }
    let signed_in = SignedIn::with_vault(
        vault,
        user,
        Some(username.to_owned()),
        Some(Tokens::from(&tokens)),
        c.shared,
    );
    if let Some(device) = device {
        enrol(device, &signed_in, &tokens).await?;
    }
    storage::protect(&db).await;
    Ok(signed_in)
}

/// Keeps what lets this user's writes outlive their session here: their replay credential,
/// their audit chain, and the server's current sealing key.
async fn enrol(
    device: &Device,
    signed_in: &SignedIn,
    tokens: &TokenResponse,
) -> Result<(), SignInError> {
    let (tenant, user) = (&signed_in.user.tenant_id, &signed_in.user.user_id);
    if let Some(credential) = &tokens.replay_credential {
        device.keep_credential(tenant, user, credential).await?;
    }
    if let (Some(key), Some(head)) = (&tokens.audit_key, &tokens.audit_head) {
        device.keep_chain(tenant, user, key, head).await?;
    }
    match signed_in
        .runtime
        .transport()
        .get(paths::SYNC_CAPABILITIES)
        .await
    {
        Ok(answer) if answer.status == 200 => {
            let caps: Option<caresync_contract::sync::SyncCapabilities> =
                serde_json::from_value(answer.body).ok();
            if let Some(key) = caps.and_then(|c| c.sealing) {
                device.keep_sealing_key(&key).await?;
            }
        }
        _ => leptos::logging::warn!("the server's sealing key could not be read at sign-in"),
    }
    Ok(())
}
