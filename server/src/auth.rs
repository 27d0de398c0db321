//! Sign-in, signed expiring access tokens and the `Caller` they name; refresh-token families
//! live in [`session`]. No HTTP here: the routes and the extractor are in `crate::http::auth`.
//!
//! Tenant and user come only from the token, never from a request body.

pub mod device;
mod error;
pub mod replay;
pub mod session;
pub mod ticket;

pub use error::AuthError;

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use caresync_contract::{
    auth::{LoginRequest, Role, TokenResponse},
    ErrorCode,
};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{db::DbError, time::now_ms, AppState};

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub user: String,
    pub role: Role,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    tid: String,
    role: String,
    iat: u64,
    exp: u64,
}

/// Token signing keys; the secret lives in the database so restarts keep sessions.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Signs artifact links; derived from the token secret, never used for tokens.
    url_key: Vec<u8>,
    /// Derives a refresh token's successor; derived from the token secret like `url_key`.
    successor_key: Vec<u8>,
    pub access_ttl_secs: u64,
}

impl Keys {
    pub fn load(conn: &Connection, access_ttl_secs: u64) -> Result<Self, DbError> {
        let existing: Option<String> = conn
            .query_row(
                "SELECT value FROM server_meta WHERE key = 'token_secret'",
                params![],
                |r| r.get(0),
            )
            .optional()?;
        let secret = match existing {
            Some(s) => s,
            None => {
                let mut bytes = [0u8; 32];
                OsRng.fill_bytes(&mut bytes);
                let s = hex(&bytes);
                conn.execute(
                    "INSERT INTO server_meta (key, value) VALUES ('token_secret', ?1)",
                    [&s],
                )?;
                s
            }
        };
        Ok(Keys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            url_key: Sha256::digest(format!("artifact-url:{secret}").as_bytes()).to_vec(),
            successor_key: Sha256::digest(format!("refresh-successor-key:{secret}").as_bytes())
                .to_vec(),
            access_ttl_secs,
        })
    }

    /// An access token issued at `iat` (seconds). HS256 is deterministic, so the same caller
    /// and `iat` give the byte-identical token: that is how a refresh retry gets the same one.
    fn issue_at(&self, caller: &Caller, iat: u64) -> Result<String, AuthError> {
        let claims = Claims {
            sub: caller.user.clone(),
            tid: caller.tenant.clone(),
            role: caller.role.as_str().to_owned(),
            iat,
            exp: iat + self.access_ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::Internal("could not sign a token"))
    }

    /// The refresh token that succeeds `token`: derived, not stored, so a retry can be
    /// answered with the same one while the database keeps only hashes.
    fn successor(&self, token: &str) -> String {
        let mut mac = hmac(&self.successor_key);
        mac.update(format!("refresh-successor:{token}").as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    fn url_mac(&self, resource: &str, expires_ms: i64) -> Hmac<Sha256> {
        let mut mac = hmac(&self.url_key);
        mac.update(format!("{resource}:{expires_ms}").as_bytes());
        mac
    }

    /// A signature that makes `resource` readable without a token until `expires_ms`.
    pub fn sign_url(&self, resource: &str, expires_ms: i64) -> String {
        hex(&self.url_mac(resource, expires_ms).finalize().into_bytes())
    }

    /// Checks a link's signature (in constant time) and that it has not expired.
    pub fn verify_url(&self, resource: &str, expires_ms: i64, signature: &str) -> bool {
        let Some(given) = unhex(signature) else {
            return false;
        };
        expires_ms > now_ms()
            && self
                .url_mac(resource, expires_ms)
                .verify_slice(&given)
                .is_ok()
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::unauthorized(
                    ErrorCode::TokenExpired,
                    "The access token has expired.",
                ),
                _ => unauthorized(),
            },
        )?;
        let role = Role::parse(&data.claims.role).ok_or_else(unauthorized)?;
        Ok(Caller {
            tenant: data.claims.tid,
            user: data.claims.sub,
            role,
        })
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, and ours are fixed 32-byte digests.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// The one refusal for a missing or bad bearer token.
pub fn unauthorized() -> AuthError {
    AuthError::unauthorized(ErrorCode::Unauthorized, "Sign in to continue.")
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| AuthError::Internal("could not hash a password"))
}

fn refresh_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// `POST /api/v1/auth/login`
pub async fn login(state: &AppState, req: LoginRequest) -> Result<TokenResponse, AuthError> {
    // Checked before the password, so a bad id never leaves a session behind.
    if let Some(device) = &req.device_id {
        if uuid::Uuid::parse_str(device).is_err() {
            return Err(AuthError::invalid(
                ErrorCode::InvalidBody,
                "deviceId must be a UUID",
            ));
        }
    }
    let device = req.device_id.clone();
    let found = state
        .db
        .call(move |conn| {
            let row: Option<(String, String, String, String)> = conn
                .query_row(
                    "SELECT id, display_name, role, password_hash FROM users WHERE tenant_id = ?1 AND username = ?2",
                    params![req.tenant_id, req.username],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            // Verified on the blocking pool: argon2 is deliberately slow.
            Ok(row.and_then(|(id, name, role, hash)| {
                let parsed = PasswordHash::new(&hash).ok()?;
                Argon2::default()
                    .verify_password(req.password.as_bytes(), &parsed)
                    .ok()?;
                let caller = Caller { tenant: req.tenant_id.clone(), user: id, role: Role::parse(&role)? };
                Some((caller, name))
            }))
        })
        .await?;
    let (caller, name) = found.ok_or_else(|| {
        AuthError::unauthorized(
            ErrorCode::InvalidCredentials,
            "The tenant, username or password is wrong.",
        )
    })?;
    let mut tokens = session::start(state, caller.clone(), name).await?;
    if let Some(device) = device {
        let grant = device::grant(state, &caller, device).await?;
        tokens.device_key_share = Some(grant.share);
        tokens.replay_credential = Some(grant.replay);
        tokens.audit_key = Some(grant.audit_key);
        tokens.audit_head = Some(grant.audit_head);
    }
    Ok(tokens)
}
