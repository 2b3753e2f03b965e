//! A transfer rate limit: a token bucket shared by every transfer of one client, so a pair's
//! limit holds however many files move at once.
//!
//! Bytes are charged after they move and the next chunk waits until the balance is paid
//! back, so waiting never holds bytes already read: a cancelled wait loses nothing (the
//! download's `chunk()` stays cancel-safe).

use std::fmt;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// How many seconds of transfer may go out in one burst after a quiet spell.
const BURST: f64 = 0.5;

/// Bytes a second, shared by every clone.
#[derive(Clone)]
pub struct RateLimit {
    bucket: Arc<Bucket>,
}

struct Bucket {
    per_second: NonZeroU64,
    state: Mutex<State>,
}

struct State {
    /// Bytes that may move now; negative while transfers wait to pay back a debt.
    balance: f64,
    at: Instant,
}

impl RateLimit {
    pub fn new(per_second: NonZeroU64) -> RateLimit {
        RateLimit {
            bucket: Arc::new(Bucket {
                per_second,
                state: Mutex::new(State {
                    balance: 0.0,
                    at: Instant::now(),
                }),
            }),
        }
    }

    pub fn per_second(&self) -> NonZeroU64 {
        self.bucket.per_second
    }

    /// Records that `bytes` moved.
    pub fn charge(&self, bytes: usize) {
        let mut state = self.state();
        state.balance -= bytes as f64;
    }

    /// Waits until the bytes charged so far are paid back. Cancel-safe.
    pub async fn ready(&self) {
        loop {
            let wait = {
                let state = self.state();
                if state.balance >= 0.0 {
                    return;
                }
                Duration::from_secs_f64(-state.balance / self.rate())
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn rate(&self) -> f64 {
        self.bucket.per_second.get() as f64
    }

    /// The state, refilled for the time since it was last looked at.
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self
            .bucket
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let earned = now.duration_since(state.at).as_secs_f64() * self.rate();
        state.balance = (state.balance + earned).min(self.rate() * BURST);
        state.at = now;
        state
    }
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RateLimit({} B/s)", self.bucket.per_second)
    }
}

impl PartialEq for RateLimit {
    /// Two limits are the same limit when they share a bucket.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.bucket, &other.bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_limit_spreads_bytes_over_time() {
        let limit = RateLimit::new(NonZeroU64::new(1000).unwrap());
        let started = Instant::now();
        for _ in 0..10 {
            limit.charge(1000);
            limit.ready().await;
        }
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs(10) && elapsed < Duration::from_millis(10_100),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_spell_earns_only_a_short_burst() {
        let limit = RateLimit::new(NonZeroU64::new(1000).unwrap());
        tokio::time::sleep(Duration::from_secs(60)).await;
        let started = Instant::now();
        limit.charge(3000);
        limit.ready().await;
        // 500 bytes of burst were earned, not 60 s worth.
        assert_eq!(started.elapsed(), Duration::from_millis(2500));
    }

    #[tokio::test(start_paused = true)]
    async fn clones_share_one_bucket() {
        let a = RateLimit::new(NonZeroU64::new(1000).unwrap());
        let b = a.clone();
        let started = Instant::now();
        a.charge(1000);
        b.charge(1000);
        b.ready().await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(a, b);
    }
}
