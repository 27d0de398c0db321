//! Signing in and out, and coming back after a reload, online or not.
//!
//! The access token lives only in memory. The refresh token is kept in the user's own
//! database (never in Cache Storage or a URL), and localStorage holds only which tenant
//! and user last signed in on this device, so a reload offline reopens their data.

use std::{cell::RefCell, rc::Rc};

use caresync_contract::{auth::TokenResponse, paths};
use caresync_sync::Config;
use indexed_db_futures::database::Database;
use serde::{Deserialize, Serialize};

use super::{
    cache::Cache,
    idb::{self, StoreError},
    outbox_store::IdbOutbox,
    runtime::{Scope, SyncRuntime},
    transport::{FetchTransport, Tokens},
};

const HINT: &str = "caresync.session";
const REFRESH_TOKEN: &str = "refreshToken";

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
    #[error("The server could not sign you in (error {0}). Try again in a moment.")]
    Server(u16),
    #[error("This device could not open its local storage: {0}")]
    Store(#[from] StoreError),
}

pub struct SignedIn {
    pub user: UserInfo,
    pub runtime: Rc<SyncRuntime>,
    pub cache: Cache,
    db: Database,
}

impl SignedIn {
    /// A fresh sign-in: opens the user's database and keeps the new refresh token in it.
    async fn open(user: UserInfo, tokens: Tokens) -> Result<Self, StoreError> {
        let db = idb::open(&idb::database_name(&user.tenant_id, &user.user_id)).await?;
        idb::put_meta(&db, REFRESH_TOKEN, &tokens.refresh).await?;
        Ok(Self::with_database(db, user, tokens))
    }

    /// Wires the runtime over an open database.
    fn with_database(db: Database, user: UserInfo, tokens: Tokens) -> Self {
        let tokens = Rc::new(RefCell::new(Some(tokens)));
        let transport = FetchTransport::new("", tokens);
        let keep = db.clone();
        transport.on_refresh(move |t| {
            let (db, refresh) = (keep.clone(), t.refresh.clone());
            leptos::task::spawn_local(async move {
                if let Err(err) = idb::put_meta(&db, REFRESH_TOKEN, &refresh).await {
                    leptos::logging::warn!("could not keep the refreshed session: {err}");
                }
            });
        });
        let keep = db.clone();
        transport.latest_refresh(move || {
            let db = keep.clone();
            Box::pin(async move {
                idb::get_meta::<String>(&db, REFRESH_TOKEN)
                    .await
                    .ok()
                    .flatten()
            })
        });
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
            runtime,
            cache: Cache::new(db.clone()),
            db,
        }
    }

    /// Forgets the session on this device; the user's cached data stays for their next visit.
    pub async fn sign_out(&self) {
        if let Err(err) = idb::put_meta(&self.db, REFRESH_TOKEN, &serde_json::Value::Null).await {
            leptos::logging::warn!("could not clear the session: {err}");
        }
        *self.runtime.transport().tokens().borrow_mut() = None;
        if let Some(storage) = local_storage() {
            let _ = storage.remove_item(HINT);
        }
        self.db.clone().close();
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub async fn sign_in(
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<SignedIn, SignInError> {
    let body =
        serde_json::json!({ "tenantId": tenant, "username": username, "password": password });
    let request = gloo_net::http::Request::post(paths::LOGIN)
        .json(&body)
        .map_err(|_| SignInError::Server(0))?;
    let response = request.send().await.map_err(|_| SignInError::Offline)?;
    match response.status() {
        200 => {}
        400 | 401 => return Err(SignInError::WrongCredentials),
        other => return Err(SignInError::Server(other)),
    }
    let tokens: TokenResponse = response
        .json()
        .await
        .map_err(|_| SignInError::Server(200))?;
    let user = UserInfo {
        tenant_id: tokens.tenant_id.clone(),
        user_id: tokens.user_id.clone(),
    };
    if let (Some(storage), Ok(hint)) = (local_storage(), serde_json::to_string(&user)) {
        let _ = storage.set_item(HINT, &hint);
    }
    Ok(SignedIn::open(user, Tokens::from(&tokens)).await?)
}

/// The user who last signed in here, with their data, without asking the network.
pub async fn restore() -> Option<SignedIn> {
    let hint = local_storage()?.get_item(HINT).ok()??;
    let user: UserInfo = serde_json::from_str(&hint).ok()?;
    let db = idb::open(&idb::database_name(&user.tenant_id, &user.user_id))
        .await
        .ok()?;
    let Some(refresh) = idb::get_meta::<String>(&db, REFRESH_TOKEN)
        .await
        .ok()
        .flatten()
    else {
        db.close();
        return None;
    };
    // No access token yet: the first request answers 401 and the transport refreshes.
    let tokens = Tokens {
        access: String::new(),
        refresh,
    };
    Some(SignedIn::with_database(db, user, tokens))
}
