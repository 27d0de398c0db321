//! Signing in and out, signing in again after a refused session, and coming back after a
//! reload, online or not.
//!
//! The access token lives only in memory. The refresh token is kept in the user's own
//! database (never in Cache Storage or a URL), and localStorage holds only which tenant
//! and user last signed in on this device, so a reload offline reopens their data.

use caresync_contract::{auth::TokenResponse, paths};
use caresync_sync::Config;
use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};

use super::{
    cache::Cache,
    idb::{self, StoreError},
    outbox_store::IdbOutbox,
    runtime::{Scope, SyncRuntime},
    storage,
    transport::{FetchTransport, Tokens},
};

const HINT: &str = "caresync.session";
const REFRESH_TOKEN: &str = "refreshToken";
const USERNAME: &str = "username";
/// A lost answer to a sign-in is retried once after this long: signing in has no effect
/// on the server that a second try could double.
const LOGIN_RETRY_MS: u32 = 1_500;

/// Who is signed in on this device (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    pub tenant_id: String,
    pub user_id: String,
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
    #[error("That is a different account. Sign out first to switch accounts; the changes waiting here belong to the account that made them.")]
    OtherUser,
    #[error("This device could not open its local storage: {0}")]
    Store(#[from] StoreError),
}

pub struct SignedIn {
    pub user: UserInfo,
    /// The name the user signs in with, for the sign-in-again form.
    pub username: Option<String>,
    pub runtime: std::rc::Rc<SyncRuntime>,
    pub cache: Cache,
    db: Database,
}

impl SignedIn {
    /// A fresh sign-in: opens the user's database and keeps the new refresh token in it.
    async fn open(user: UserInfo, username: &str, tokens: Tokens) -> Result<Self, StoreError> {
        let db = idb::open(&idb::database_name(&user.tenant_id, &user.user_id)).await?;
        idb::put_meta(&db, REFRESH_TOKEN, &tokens.refresh).await?;
        idb::put_meta(&db, USERNAME, &username).await?;
        Ok(Self::with_database(
            db,
            user,
            Some(username.to_owned()),
            Some(tokens),
        ))
    }

    /// Wires the runtime over an open database.
    fn with_database(
        db: Database,
        user: UserInfo,
        username: Option<String>,
        tokens: Option<Tokens>,
    ) -> Self {
        let transport = FetchTransport::new("", tokens);
        {
            let mut hooks = transport.hooks();
            let keep = db.clone();
            hooks.refreshed = Some(Box::new(move |t: &Tokens| {
                keep_refresh_token(&keep, Some(t.refresh.clone()))
            }));
            // A refused token is dead: a reload must not present it again.
            let keep = db.clone();
            hooks.refused = Some(Box::new(move || keep_refresh_token(&keep, None)));
            let keep = db.clone();
            hooks.latest_refresh = Some(Box::new(move || {
                let db = keep.clone();
                Box::pin(async move {
                    idb::get_meta::<String>(&db, REFRESH_TOKEN)
                        .await
                        .ok()
                        .flatten()
                })
            }));
        }
        let scope = Scope {
            tenant: user.tenant_id.clone(),
            user: user.user_id.clone(),
        };
        let runtime = SyncRuntime::new(
            IdbOutbox::new(db.clone()),
            transport,
            scope,
            Config::default(),
        );
        SignedIn {
            user,
            username,
            runtime,
            cache: Cache::new(db.clone()),
            db,
        }
    }

    /// After the server refused the session: the same user signs in again, on the same local
    /// database, and replay resumes with everything that waited.
    pub async fn sign_in_again(&self, username: &str, password: &str) -> Result<(), SignInError> {
        let fresh = login(&self.user.tenant_id, username, password).await?;
        if fresh.user_id != self.user.user_id || fresh.tenant_id != self.user.tenant_id {
            return Err(SignInError::OtherUser);
        }
        let tokens = Tokens::from(&fresh);
        idb::put_meta(&self.db, REFRESH_TOKEN, &tokens.refresh).await?;
        idb::put_meta(&self.db, USERNAME, &username).await?;
        self.runtime.transport().signed_in(tokens);
        self.runtime.session_restored();
        Ok(())
    }

    /// Forgets the session on this device; the user's cached data stays for their next visit.
    /// Online, the server forgets it too, so the refresh token is worth nothing afterwards.
    pub async fn sign_out(&self) {
        if let Ok(Some(refresh)) = idb::get_meta::<String>(&self.db, REFRESH_TOKEN).await {
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
        if let Err(err) = idb::put_meta(&self.db, REFRESH_TOKEN, &serde_json::Value::Null).await {
            leptos::logging::warn!("could not clear the session: {err}");
        }
        self.runtime.transport().forget();
        if let Some(storage) = local_storage() {
            if storage.remove_item(HINT).is_err() {
                leptos::logging::warn!("could not forget who signed in last");
            }
        }
        self.db.clone().close();
    }
}

fn keep_refresh_token(db: &Database, token: Option<String>) {
    let db = db.clone();
    leptos::task::spawn_local(async move {
        let kept = match token {
            Some(t) => idb::put_meta(&db, REFRESH_TOKEN, &t).await,
            None => idb::put_meta(&db, REFRESH_TOKEN, &serde_json::Value::Null).await,
        };
        if let Err(err) = kept {
            leptos::logging::warn!("could not keep the session: {err}");
        }
    });
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// `POST /auth/login`, tried twice if the first answer is lost on the way.
async fn login(tenant: &str, username: &str, password: &str) -> Result<TokenResponse, SignInError> {
    let body =
        serde_json::json!({ "tenantId": tenant, "username": username, "password": password });
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
        200 => response.json().await.map_err(|_| SignInError::Unreachable),
        400 | 401 => Err(SignInError::WrongCredentials),
        other => Err(SignInError::Server(other)),
    }
}

pub async fn sign_in(
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<SignedIn, SignInError> {
    let tokens = login(tenant, username, password).await?;
    let user = UserInfo {
        tenant_id: tokens.tenant_id.clone(),
        user_id: tokens.user_id.clone(),
    };
    if let (Some(storage), Ok(hint)) = (local_storage(), serde_json::to_string(&user)) {
        if storage.set_item(HINT, &hint).is_err() {
            leptos::logging::warn!("could not remember who signed in: a reload will ask again");
        }
    }
    let signed_in = SignedIn::open(user, username, Tokens::from(&tokens)).await?;
    storage::protect(&signed_in.db).await;
    Ok(signed_in)
}

/// The user who last signed in here, with their data, without asking the network. A session
/// the server refused comes back too: the app asks that user to sign in again.
pub async fn restore() -> Option<SignedIn> {
    let hint = local_storage()?.get_item(HINT).ok()??;
    let user: UserInfo = serde_json::from_str(&hint).ok()?;
    let db = idb::open(&idb::database_name(&user.tenant_id, &user.user_id))
        .await
        .ok()?;
    let refresh = idb::get_meta::<String>(&db, REFRESH_TOKEN)
        .await
        .ok()
        .flatten();
    let username = idb::get_meta::<String>(&db, USERNAME).await.ok().flatten();
    // No access token yet: the first request refreshes first.
    let tokens = refresh.map(|refresh| Tokens {
        access: String::new(),
        refresh,
        expires_in_ms: 0,
    });
    Some(SignedIn::with_database(db, user, username, tokens))
}
