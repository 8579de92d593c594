//! The time driftwatch decides by: when a scan happened, whether a flap
//! window or a waiver has run out, whether a lease has lapsed, which tick
//! a scheduler firing stands for, what retention cuts.
//!
//! Every such decision asks one [`Clock`], passed in, never the system
//! directly, so that a test can move time forward instead of sleeping
//! through it. The system clock is the only one a running service uses;
//! an adjustable clock ([`Clock::adjustable`]) is the system clock plus an
//! offset that only its [`ClockHand`] can move: time keeps flowing (so
//! durations and ordering behave as in production) and can be jumped.
//!
//! PostgreSQL's `now()` is used only where the transaction's own time is
//! what is meant (when a row was written, for bookkeeping columns); each
//! use says so.

use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` for the system clock.
    offset: Option<Arc<AtomicI64>>,
}

/// Moves an adjustable clock, and every copy of it, forward.
#[derive(Debug, Clone)]
pub struct ClockHand {
    offset: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { offset: None }
    }

    /// A clock that runs with the system clock until its hand moves it.
    pub fn adjustable() -> (Clock, ClockHand) {
        let offset = Arc::new(AtomicI64::new(0));
        (
            Clock {
                offset: Some(offset.clone()),
            },
            ClockHand { offset },
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        match &self.offset {
            None => now,
            Some(offset) => {
                let shift = TimeDelta::milliseconds(offset.load(Ordering::SeqCst));
                now.checked_add_signed(shift).unwrap_or(now)
            }
        }
    }
}

impl ClockHand {
    /// Jumps the clock forward by `by` (saturating, never backward).
    pub fn advance(&self, by: std::time::Duration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let _ = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| {
                Some(current.saturating_add(millis))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_system_clock_is_the_system_time() {
        let before = Utc::now();
        let now = Clock::system().now();
        assert!(now >= before && now <= Utc::now());
    }

    #[test]
    fn a_hand_moves_every_copy_of_its_clock_and_time_keeps_flowing() {
        let (clock, hand) = Clock::adjustable();
        let copy = clock.clone();
        let before = clock.now();
        hand.advance(Duration::from_secs(3600));
        let after = copy.now();
        assert!(after - before >= TimeDelta::seconds(3600));
        assert!(after - before < TimeDelta::seconds(3660));
        assert!(copy.now() >= after, "never backward");
    }

    #[test]
    fn an_absurd_jump_saturates_instead_of_overflowing() {
        let (clock, hand) = Clock::adjustable();
        hand.advance(Duration::MAX);
        hand.advance(Duration::MAX);
        // Past what chrono can represent: the system time, not a panic.
        let _ = clock.now();
    }
}
