//! The auth path of the model platform: rotating refresh tokens in families with a grace
//! window and reuse detection (as the reference server does), and the client's side of it
//! (the stored refresh token, the access token's epoch, and the engine's [`AuthGate`]).

use std::collections::{HashMap, HashSet};

use caresync_sync::{
    backoff::SplitMix64, transport::AuthError, AuthGate, AuthStep, Millis, NetError,
};

/// A rotated refresh token presented again within this long gets the same successor.
pub const GRACE_MS: Millis = 60_000;
/// Access tokens in the model last this long (the server may also expire them early).
pub const ACCESS_TTL_MS: Millis = 15 * 60_000;

struct Row {
    family: u64,
    rotated_at: Option<Millis>,
    successor: Option<u64>,
}

/// What the refresh endpoint answered.
pub enum Refreshed {
    Pair { refresh: u64, epoch: u64 },
    Refused,
}

#[derive(Default)]
pub struct ServerAuth {
    rows: HashMap<u64, Row>,
    revoked: HashSet<u64>,
    next_id: u64,
    /// Access tokens older than this epoch are refused (token expiry, key rotation).
    pub epoch: u64,
    pub grace_replays: u64,
    pub reuse_detected: u64,
    pub families_revoked: u64,
}

impl ServerAuth {
    /// A sign-in: a new token family.
    pub fn login(&mut self) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.rows.insert(
            id,
            Row {
                family: id,
                rotated_at: None,
                successor: None,
            },
        );
        id
    }

    pub fn refresh(&mut self, token: u64, now: Millis) -> Refreshed {
        let Some(row) = self.rows.get(&token) else {
            return Refreshed::Refused;
        };
        let family = row.family;
        if self.revoked.contains(&family) {
            return Refreshed::Refused;
        }
        match (row.rotated_at, row.successor) {
            (None, _) => {
                self.next_id += 1;
                let successor = self.next_id;
                self.rows.insert(
                    successor,
                    Row {
                        family,
                        rotated_at: None,
                        successor: None,
                    },
                );
                if let Some(row) = self.rows.get_mut(&token) {
                    row.rotated_at = Some(now);
                    row.successor = Some(successor);
                }
                Refreshed::Pair {
                    refresh: successor,
                    epoch: self.epoch,
                }
            }
            (Some(at), Some(successor)) if now.saturating_sub(at) < GRACE_MS => {
                self.grace_replays += 1;
                Refreshed::Pair {
                    refresh: successor,
                    epoch: self.epoch,
                }
            }
            _ => {
                self.reuse_detected += 1;
                self.revoke(family);
                Refreshed::Refused
            }
        }
    }

    /// Signed out elsewhere, or reuse detected: every token of the family dies.
    pub fn revoke(&mut self, family: u64) {
        if self.revoked.insert(family) {
            self.families_revoked += 1;
        }
    }

    pub fn family_of(&self, token: u64) -> Option<u64> {
        self.rows.get(&token).map(|r| r.family)
    }
}

/// The device's session, as the browser adapter keeps it.
pub struct ClientAuth {
    /// The refresh token in the user's database; `None` after a refusal.
    pub refresh: Option<u64>,
    /// The one before it, which a second tab or a restored backup may still present.
    pub previous: Option<u64>,
    pub access_epoch: Option<u64>,
    pub gate: AuthGate,
    pub rng: SplitMix64,
    /// Every refresh request: (time, got an answer, page load), to check the pace.
    pub attempts: Vec<(Millis, bool, u32)>,
    /// Page loads so far: a reload starts with a fresh gate, as the browser does.
    pub loads: u32,
    /// Refresh requests sent while the session was refused: must stay zero.
    pub sent_while_refused: u64,
}

impl ClientAuth {
    pub fn new(refresh: u64, seed: u64) -> Self {
        ClientAuth {
            refresh: Some(refresh),
            previous: None,
            access_epoch: None,
            gate: AuthGate::default(),
            rng: SplitMix64(seed ^ 0xa07),
            attempts: Vec::new(),
            loads: 0,
            sent_while_refused: 0,
        }
    }

    /// The transport's `authorize`: refresh first when the gate says so.
    pub fn authorize(
        &mut self,
        server: &mut ServerAuth,
        now: Millis,
        network: Result<bool, NetError>,
    ) -> Result<(), AuthError> {
        match self.gate.step(now) {
            AuthStep::Send => return Ok(()),
            AuthStep::SignIn => return Err(AuthError::SignInRequired),
            AuthStep::Wait(retry_at) => return Err(AuthError::Unreachable { retry_at }),
            AuthStep::Refresh => {}
        }
        if self.gate.is_refused() {
            self.sent_while_refused += 1;
        }
        let Some(token) = self.refresh else {
            self.gate.refused();
            return Err(AuthError::SignInRequired);
        };
        // `network`: Err = the request never arrived; Ok(false) = it arrived, the answer was lost.
        let answer = match network {
            Err(_) => None,
            Ok(delivered) => {
                let r = server.refresh(token, now);
                delivered.then_some(r)
            }
        };
        self.attempts.push((now, answer.is_some(), self.loads));
        match answer {
            None => {
                let retry_at = self.gate.failed(now, None, &mut self.rng);
                Err(AuthError::Unreachable { retry_at })
            }
            Some(Refreshed::Refused) => {
                self.gate.refused();
                self.refresh = None;
                self.access_epoch = None;
                Err(AuthError::SignInRequired)
            }
            Some(Refreshed::Pair { refresh, epoch }) => {
                if self.refresh != Some(refresh) {
                    self.previous = self.refresh;
                }
                self.refresh = Some(refresh);
                self.access_epoch = Some(epoch);
                self.gate.accepted(now, ACCESS_TTL_MS);
                Ok(())
            }
        }
    }

    /// A new sign-in by the user, after a refusal.
    pub fn signed_in(&mut self, server: &mut ServerAuth, now: Millis) {
        let token = server.login();
        self.previous = None;
        self.refresh = Some(token);
        self.access_epoch = Some(server.epoch);
        self.gate.accepted(now, ACCESS_TTL_MS);
    }

    /// A reload: the access token was only in memory; the refresh token was stored.
    pub fn reload(&mut self) {
        self.loads += 1;
        self.access_epoch = None;
        self.gate = AuthGate::default();
        if self.refresh.is_none() {
            self.gate.refused();
        }
    }

    /// Whether a request carrying the current access token passes; a 401 marks it unusable.
    pub fn admitted(&mut self, server: &ServerAuth) -> bool {
        let ok = self.access_epoch.is_some_and(|e| e >= server.epoch);
        if !ok {
            let generation = self.gate.generation();
            self.gate.rejected(generation);
        }
        ok
    }

    /// Within one page load, refreshes that got no answer are spaced by at least the floor.
    pub fn check_pace(&self, floor: Millis) -> Result<(), String> {
        for pair in self.attempts.windows(2) {
            let ((t0, answered, load0), (t1, _, load1)) = (pair[0], pair[1]);
            if !answered && load0 == load1 && t1.saturating_sub(t0) < floor {
                return Err(format!(
                    "a refresh at {t1} followed an unanswered one at {t0}: faster than the {floor} ms floor"
                ));
            }
        }
        if self.sent_while_refused > 0 {
            return Err(format!(
                "{} refreshes sent after the server refused the session",
                self.sent_while_refused
            ));
        }
        Ok(())
    }
}
