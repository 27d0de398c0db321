//! The session's access token as the engine sees it, and when a refresh may go out.
//!
//! A refused refresh is final until the user signs in again: nothing retries it. A refresh
//! that got no answer backs off like any other request (full jitter, capped), so a lost
//! answer can be retried (the server replays the same successor pair within its grace
//! window) without ever turning into a loop. The gate reads no clock: callers pass `now`.

use crate::{
    backoff::{Backoff, RandomSource},
    model::Millis,
};

/// Refresh this long before the server's expiry at most, so a token does not die in flight.
const EARLY_MS: Millis = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// No access token in hand (after a reload, or after the server refused the last one).
    Missing,
    /// Usable until `refresh_at`; after that the next request refreshes first.
    Usable { refresh_at: Millis },
    /// The server refused the refresh token: only a new sign-in helps.
    Refused,
}

/// What a request must do before it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStep {
    /// The token in hand is usable.
    Send,
    /// Refresh first, then send.
    Refresh,
    /// A refresh failed for want of an answer; the next one is due at this time.
    Wait(Millis),
    /// The session has ended; ask the user to sign in.
    SignIn,
}

#[derive(Debug, Clone)]
pub struct AuthGate {
    token: Token,
    /// Bumped with every new token, so a 401 to a request sent with an older token does not
    /// throw away the newer one.
    generation: u64,
    failures: u32,
    next_try_at: Millis,
    backoff: Backoff,
}

impl Default for AuthGate {
    fn default() -> Self {
        Self::new(Backoff {
            base_ms: 2_000,
            cap_ms: 5 * 60_000,
            min_ms: 1_000,
        })
    }
}

impl AuthGate {
    /// Starts with no access token: the first request refreshes first.
    pub fn new(backoff: Backoff) -> Self {
        AuthGate {
            token: Token::Missing,
            generation: 0,
            failures: 0,
            next_try_at: 0,
            backoff,
        }
    }

    pub fn step(&self, now: Millis) -> AuthStep {
        match self.token {
            Token::Refused => AuthStep::SignIn,
            Token::Usable { refresh_at } if now < refresh_at => AuthStep::Send,
            _ if now < self.next_try_at => AuthStep::Wait(self.next_try_at),
            _ => AuthStep::Refresh,
        }
    }

    /// The shortest wait after a refresh that got no answer.
    pub fn floor_ms(&self) -> Millis {
        self.backoff.min_ms
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn is_refused(&self) -> bool {
        self.token == Token::Refused
    }

    /// When a refresh that found no server may be tried again, while one is backing off.
    pub fn retry_at(&self, now: Millis) -> Option<Millis> {
        (self.failures > 0 && self.next_try_at > now && !self.is_refused())
            .then_some(self.next_try_at)
    }

    /// A fresh token pair, from a refresh or a sign-in (which also ends a refusal).
    pub fn accepted(&mut self, now: Millis, expires_in_ms: Millis) {
        let early = EARLY_MS.min(expires_in_ms / 4);
        self.token = Token::Usable {
            refresh_at: now.saturating_add(expires_in_ms.saturating_sub(early)),
        };
        self.generation += 1;
        self.failures = 0;
        self.next_try_at = 0;
    }

    /// The server refused the refresh token (401/403 from the refresh endpoint).
    pub fn refused(&mut self) {
        self.token = Token::Refused;
        self.generation += 1;
    }

    /// The refresh got no answer (network error, timeout, 5xx, 429): back off.
    pub fn failed(
        &mut self,
        now: Millis,
        retry_after_ms: Option<u64>,
        rng: &mut impl RandomSource,
    ) -> Millis {
        self.failures = self.failures.saturating_add(1);
        let delay = self.backoff.delay(self.failures, retry_after_ms, rng);
        self.next_try_at = now.saturating_add(delay);
        self.next_try_at
    }

    /// A request sent with token `generation` was answered 401: that token is no longer
    /// usable. A newer token, or a refusal, stands.
    pub fn rejected(&mut self, generation: u64) {
        if generation == self.generation && matches!(self.token, Token::Usable { .. }) {
            self.token = Token::Missing;
        }
    }

    /// The user signed out: nothing is usable, nothing is refused.
    pub fn forget(&mut self) {
        *self = AuthGate::new(self.backoff);
        self.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::SplitMix64;

    #[test]
    fn a_reload_refreshes_before_the_first_request() {
        let gate = AuthGate::default();
        assert_eq!(gate.step(1_000), AuthStep::Refresh);
    }

    #[test]
    fn a_usable_token_is_refreshed_shortly_before_it_expires() {
        let mut gate = AuthGate::default();
        gate.accepted(0, 900_000);
        assert_eq!(gate.step(869_999), AuthStep::Send);
        assert_eq!(gate.step(870_000), AuthStep::Refresh);
        // A short-lived token keeps three quarters of its life.
        gate.accepted(0, 8_000);
        assert_eq!(gate.step(5_999), AuthStep::Send);
        assert_eq!(gate.step(6_000), AuthStep::Refresh);
    }

    #[test]
    fn a_clock_moved_forward_only_means_an_earlier_refresh() {
        let mut gate = AuthGate::default();
        gate.accepted(1_000, 900_000);
        assert_eq!(gate.step(1_000 + 3_600_000), AuthStep::Refresh);
    }

    #[test]
    fn a_refusal_is_final_until_sign_in() {
        let mut gate = AuthGate::default();
        gate.refused();
        for now in [0, 1_000, 3_600_000, u64::MAX] {
            assert_eq!(gate.step(now), AuthStep::SignIn);
        }
        assert_eq!(gate.retry_at(0), None);
        gate.accepted(10, 900_000);
        assert_eq!(gate.step(11), AuthStep::Send);
    }

    #[test]
    fn failed_refreshes_back_off_and_never_come_faster_than_the_floor() {
        let mut gate = AuthGate::default();
        let mut rng = SplitMix64(9);
        let mut now = 0;
        let mut attempts = 0;
        // Ten minutes of a dead route: count the refreshes the gate lets through.
        while now < 600_000 {
            match gate.step(now) {
                AuthStep::Refresh => {
                    attempts += 1;
                    let next = gate.failed(now, None, &mut rng);
                    assert!(next >= now + 1_000, "a retry sooner than the floor");
                    now = next;
                }
                AuthStep::Wait(at) => now = at,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(attempts <= 20, "{attempts} refreshes in ten minutes");
        assert!(gate.retry_at(now - 1).is_some());
    }

    #[test]
    fn a_401_to_an_older_token_does_not_discard_the_newer_one() {
        let mut gate = AuthGate::default();
        gate.accepted(0, 900_000);
        let old = gate.generation();
        gate.accepted(5, 900_000);
        gate.rejected(old);
        assert_eq!(gate.step(10), AuthStep::Send);
        gate.rejected(gate.generation());
        assert_eq!(gate.step(10), AuthStep::Refresh);
    }

    #[test]
    fn retry_after_is_honoured_on_refresh() {
        let mut gate = AuthGate::default();
        let mut rng = SplitMix64(1);
        let next = gate.failed(0, Some(120_000), &mut rng);
        assert!(next >= 120_000);
        assert_eq!(gate.step(119_999), AuthStep::Wait(next));
    }
}
