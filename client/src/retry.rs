//! Running a command (load, decide, append) again when it lost a race: on sequence conflicts
//! and transient database errors, with exponential backoff and jitter, a bounded number of times.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::Error;

/// Errors that tell whether trying the same work again may succeed. Implement it for your own
/// error type (usually by delegating to the [`Error`] it wraps) to use [`RetryPolicy::run`]
/// with closures that also fail for business reasons, which are never retried.
pub trait Retryable {
    /// True when the same work may succeed if tried again.
    fn is_retryable(&self) -> bool;
}

impl Retryable for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }
}

/// How often and how patiently to retry.
///
/// Attempt `n` (counting from 1) that fails with a retryable error waits a random time between
/// zero and `min(max_delay, initial_delay * multiplier^(n-1))` ("full jitter", so racing
/// writers spread out) and tries again, up to `max_attempts` attempts in all.
///
/// | field | default |
/// | --- | --- |
/// | `max_attempts` | 10 |
/// | `initial_delay` | 5 ms |
/// | `max_delay` | 1 s |
/// | `multiplier` | 2.0 |
///
/// ```no_run
/// use angzarr_store_client::{AggregateId, Append, EventStore, Expected, NewEvent, ReadStream, RetryPolicy};
/// use futures_util::TryStreamExt;
///
/// # async fn demo(store: EventStore, root: uuid::Uuid) -> angzarr_store_client::Result<()> {
/// let appended = RetryPolicy::default()
///     .run(|_attempt| async {
///         // Load: the aggregate's current state decides the command.
///         let events: Vec<_> =
///             store.read_stream(store.pool(), ReadStream::new(AggregateId::new("counter", root))).try_collect().await?;
///         // Decide, then append expecting exactly what was loaded.
///         let next = events.len() as i64;
///         store.append(store.pool(), &Append::new(AggregateId::new("counter", root), Expected::Next(next))
///             .event(NewEvent::new("Incremented", Vec::new()))).await
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The backoff cap of the first retry.
    pub initial_delay: Duration,
    /// The largest backoff cap.
    pub max_delay: Duration,
    /// How much the cap grows per attempt.
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(1),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// Sets the number of attempts in all.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the largest backoff caps.
    pub fn with_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max.max(initial);
        self
    }

    /// Sets how fast the backoff cap grows.
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier.max(1.0);
        self
    }

    /// The backoff cap after failed attempt `attempt` (1-based), before jitter.
    pub fn cap(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let cap = self.initial_delay.as_secs_f64() * exp;
        Duration::from_secs_f64(cap.min(self.max_delay.as_secs_f64()))
    }

    /// A random wait in `[0, cap(attempt)]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = self.cap(attempt);
        if cap.is_zero() {
            return cap;
        }
        rand::thread_rng().gen_range(Duration::ZERO..=cap)
    }

    /// Runs `op` until it succeeds, fails with an error that is not retryable, or has been
    /// tried `max_attempts` times; returns its last result. `op` gets the attempt number
    /// (1-based) and must redo all of its work each time: reload, decide, append.
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, E>
    where
        E: Retryable + std::fmt::Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match op(attempt).await {
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let delay = self.delay(attempt);
                    tracing::debug!(attempt, ?delay, error = %e, "retrying");
                    crate::telemetry::retry();
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Flaky(bool);
    impl Retryable for Flaky {
        fn is_retryable(&self) -> bool {
            self.0
        }
    }
    impl std::fmt::Display for Flaky {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "flaky({})", self.0)
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy::default().with_delays(Duration::from_micros(10), Duration::from_micros(100))
    }

    #[tokio::test]
    async fn retries_transient_errors_until_success() {
        let out: Result<u32, Flaky> = fast()
            .run(|n| async move {
                if n < 4 {
                    Err(Flaky(true))
                } else {
                    Ok(n)
                }
            })
            .await;
        assert_eq!(out.unwrap(), 4);
    }

    #[tokio::test]
    async fn stops_at_max_attempts_and_never_retries_others() {
        let mut calls = 0;
        let out: Result<(), Flaky> = fast()
            .with_max_attempts(3)
            .run(|_| {
                calls += 1;
                async { Err(Flaky(true)) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls, 3);

        let mut calls = 0;
        let out: Result<(), Flaky> = fast()
            .run(|_| {
                calls += 1;
                async { Err(Flaky(false)) }
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.cap(1), Duration::from_millis(5));
        assert_eq!(p.cap(2), Duration::from_millis(10));
        assert_eq!(p.cap(4), Duration::from_millis(40));
        assert_eq!(p.cap(30), Duration::from_secs(1));
        for attempt in 1..20 {
            assert!(p.delay(attempt) <= p.cap(attempt));
        }
    }
}
