//! When to try a failed request again, and how long to wait first.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Exponential backoff with full jitter, honouring the server's `Retry-After`.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; 1 means never retry.
    pub attempts: u32,
    /// The ceiling of the first pause; each retry doubles it.
    pub base_delay: Duration,
    /// No pause, computed or asked for by the server, is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause before retry number `retry` (0 for the first retry). A server's `Retry-After`
    /// wins over the computed pause; both are capped at `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_delay);
        }
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << retry.min(16))
            .min(self.max_delay);
        // Full jitter: clients that failed together do not come back together.
        ceiling.mul_f64(fastrand::f64())
    }
}

/// An error that may be worth another try.
pub(crate) trait Retryable: Display {
    /// Whether trying again may succeed (a timeout, a reset, 429, 503...).
    fn worth_retrying(&self) -> bool;
    /// How long the server asked us to wait, if it did.
    fn retry_after(&self) -> Option<Duration>;
}

impl Retryable for crate::Error {
    fn worth_retrying(&self) -> bool {
        self.is_retryable()
    }

    fn retry_after(&self) -> Option<Duration> {
        crate::Error::retry_after(self)
    }
}

impl RetryPolicy {
    /// The client's one retry loop: runs `attempt` until it succeeds, fails for good or the
    /// attempts run out, pausing as [`RetryPolicy::delay`] says between tries. `what` names
    /// the request in the log.
    pub(crate) async fn run<T, E, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, E>
    where
        E: Retryable,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(error) if error.worth_retrying() && retry + 1 < self.attempts => {
                    let pause = self.delay(retry, error.retry_after());
                    tracing::debug!(request = what, %error, ?pause, "retrying");
                    tokio::time::sleep(pause).await;
                    retry += 1;
                }
                result => return result,
            }
        }
    }
}

/// Reads `Retry-After` as seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn delays_grow_stay_capped_and_follow_the_server() {
        let policy = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for retry in 0..10 {
            let ceiling = Duration::from_millis(100 << retry).min(Duration::from_secs(1));
            assert!(policy.delay(retry, None) <= ceiling);
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_millis(700))),
            Duration::from_millis(700)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(90))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&soon).unwrap());
        let waited = retry_after(&headers).unwrap();
        assert!(waited > Duration::from_secs(100) && waited <= Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    /// A failure that says whether it is worth retrying.
    #[derive(Debug)]
    struct Failure {
        transient: bool,
    }

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "transient: {}", self.transient)
        }
    }

    impl Retryable for Failure {
        fn worth_retrying(&self) -> bool {
            self.transient
        }

        fn retry_after(&self) -> Option<Duration> {
            None
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_goes_out_at_most_attempts_times_and_a_lasting_failure_once() {
        let policy = RetryPolicy::default();
        for (transient, expected) in [(true, policy.attempts), (false, 1)] {
            let mut tries = 0;
            let result: Result<(), Failure> = policy
                .run("GET /a", || {
                    tries += 1;
                    async move { Err(Failure { transient }) }
                })
                .await;
            assert!(result.is_err());
            assert_eq!(tries, expected, "transient: {transient}");
        }
        let mut tries = 0;
        let result: Result<u32, Failure> = policy
            .run("GET /b", || {
                tries += 1;
                let attempt = tries;
                async move {
                    match attempt {
                        1 => Err(Failure { transient: true }),
                        n => Ok(n),
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 2);
    }
}
