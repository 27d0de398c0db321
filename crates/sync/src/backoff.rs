//! Exponential backoff with full jitter, never sooner than the server's `Retry-After`.

/// A seedable source of randomness, so a simulation run is repeatable.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;

    /// Uniform in `0..=max`.
    fn up_to(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        self.next_u64() % (max + 1)
    }
}

/// SplitMix64: tiny, fast, and good enough for jitter and fault injection.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
    pub cap_ms: u64,
    /// A floor, so a zero draw cannot turn a failing server into a busy loop.
    pub min_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            cap_ms: 5 * 60_000,
            min_ms: 250,
        }
    }
}

impl Backoff {
    /// The wait before the next attempt, after `attempts` failed ones.
    pub fn delay(
        &self,
        attempts: u32,
        retry_after_ms: Option<u64>,
        rng: &mut impl RandomSource,
    ) -> u64 {
        let exp = attempts.saturating_sub(1).min(30);
        let ceiling = self.base_ms.saturating_mul(1u64 << exp).min(self.cap_ms);
        let jitter = rng.up_to(ceiling).max(self.min_ms);
        jitter.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_AFTER_MS))
    }
}

/// The longest `Retry-After` honoured: a day. A larger one (or one that overflowed when
/// parsed) would put a retry time past what JavaScript numbers, and so IndexedDB, hold
/// exactly (2^53 ms), and the stored write could not be read back.
pub const MAX_RETRY_AFTER_MS: u64 = 24 * 60 * 60 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_retry_after_waits_a_day_at_most() {
        let mut rng = SplitMix64(7);
        let b = Backoff::default();
        assert_eq!(b.delay(1, Some(u64::MAX), &mut rng), MAX_RETRY_AFTER_MS);
        assert_eq!(b.delay(1, Some(3_600_000), &mut rng), 3_600_000);
    }

    #[test]
    fn delay_stays_within_the_exponential_ceiling() {
        let b = Backoff::default();
        let mut rng = SplitMix64(7);
        for attempts in 1..20 {
            for _ in 0..100 {
                let d = b.delay(attempts, None, &mut rng);
                let ceiling = (1_000u64 << (attempts - 1).min(30)).min(b.cap_ms);
                assert!(
                    d >= b.min_ms && d <= ceiling.max(b.min_ms),
                    "{attempts}: {d}"
                );
            }
        }
    }

    #[test]
    fn retry_after_is_honoured() {
        let b = Backoff::default();
        let mut rng = SplitMix64(1);
        for _ in 0..100 {
            assert!(b.delay(1, Some(30_000), &mut rng) >= 30_000);
        }
    }

    #[test]
    fn jitter_spreads_clients_apart() {
        let b = Backoff::default();
        let mut rng = SplitMix64(3);
        let draws: std::collections::HashSet<u64> =
            (0..50).map(|_| b.delay(6, None, &mut rng)).collect();
        assert!(draws.len() > 40);
    }
}
