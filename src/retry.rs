//! Waiting out an outage: one exponential backoff for every loop that
//! retries the database (the daemon's migrations, ticks, claims and job
//! completion, a scan's write, an alert's delivery record) and for the
//! alert outbox's delivery attempts.

use std::future::Future;
use std::ops::ControlFlow;
use std::time::Duration;

/// Delays that double from `first` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The delay to wait now; the one after it is twice as long, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.min(self.max);
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    /// Back to the first delay, after a success.
    pub fn reset(&mut self) {
        self.next = self.first;
    }

    /// The delay before attempt `attempt + 1` when `attempt` attempts
    /// failed (1 → `first`, 2 → twice that …), for delays kept in a row
    /// rather than in a loop.
    pub fn after_attempts(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        self.first.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// Runs `op` until it succeeds. After each failure, `on_error` sees the
/// error and the delay about to be waited, and says whether to wait and
/// try again (`Continue`) or give the error up (`Break`).
pub async fn retry<T, E, Op, Fut>(
    mut backoff: Backoff,
    mut op: Op,
    mut on_error: impl FnMut(&E, Duration) -> ControlFlow<()>,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(error) => {
                let delay = backoff.next_delay();
                if on_error(&error, delay).is_break() {
                    return Err(error);
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let delays: Vec<u128> = (0..5).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn delays_by_attempt_count_saturate() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        let waits: Vec<u64> = (1..=10)
            .map(|a| backoff.after_attempts(a).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(backoff.after_attempts(0), Duration::from_secs(1));
        assert_eq!(backoff.after_attempts(-5), Duration::from_secs(1));
        assert_eq!(backoff.after_attempts(i32::MAX), Duration::from_secs(300));
        let huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.after_attempts(i32::MAX), Duration::MAX);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_or_until_told_to_stop() {
        let mut calls = 0;
        let result: Result<u32, &str> = retry(
            Backoff::new(Duration::from_secs(1), Duration::from_secs(4)),
            || {
                calls += 1;
                let n = calls;
                async move { if n < 4 { Err("down") } else { Ok(n) } }
            },
            |_, _| ControlFlow::Continue(()),
        )
        .await;
        assert_eq!(result, Ok(4));

        let mut seen = Vec::new();
        let result: Result<(), &str> = retry(
            Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            || async { Err("down") },
            |_, delay| {
                seen.push(delay.as_millis());
                if delay < Duration::from_secs(5) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            },
        )
        .await;
        assert_eq!(result, Err("down"));
        assert_eq!(seen, [200, 400, 800, 1600, 3200, 5000]);
    }
}
