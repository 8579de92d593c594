//! Walking a cron schedule on a [`Clock`](crate::clock::Clock): which
//! occurrences are due. Pure, so that the daemon's scheduler is a loop
//! around it and its edges are unit-tested here.
//!
//! Each occurrence is named by its own time and fired once, however late
//! it is noticed (a loaded host, a paused process, a clock moved forward):
//! every replica walking the same schedule names the same ticks, and a
//! late one is never taken for its neighbour.

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use std::collections::VecDeque;

/// More occurrences than this overdue at once (a host suspended for hours
/// under a per-second schedule) are not replayed: the latest are fired,
/// the rest given up (and said so).
pub const MAX_CATCH_UP: usize = 64;

#[derive(Debug, Clone)]
pub struct Cadence {
    cron: Cron,
    /// The last occurrence fired, or the start: the next one is after it.
    after: DateTime<Utc>,
}

/// What is due at a moment: the occurrences to fire, oldest first, and
/// whether older ones were given up.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Due {
    pub fire: Vec<DateTime<Utc>>,
    pub skipped: bool,
}

impl Cadence {
    /// A walk of `cron` whose first occurrence is the first after `start`.
    pub fn starting(cron: Cron, start: DateTime<Utc>) -> Cadence {
        Cadence { cron, after: start }
    }

    /// The next occurrence to fire; `None` when the schedule has no more.
    pub fn next(&self) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&self.after, false).ok()
    }

    /// The occurrences due at `now` (at or before it) not yet fired; each
    /// is returned once.
    pub fn due(&mut self, now: DateTime<Utc>) -> Due {
        // Walked back from `now`, so that a long stall costs at most
        // MAX_CATCH_UP steps, not one per missed occurrence.
        let mut fire = VecDeque::new();
        let mut skipped = false;
        // croner keeps the sub-second part of the time it starts from;
        // occurrences fall on whole seconds.
        let mut cursor = now.with_nanosecond(0).unwrap_or(now);
        let mut inclusive = true;
        while let Ok(previous) = self.cron.find_previous_occurrence(&cursor, inclusive) {
            if previous <= self.after {
                break;
            }
            if fire.len() == MAX_CATCH_UP {
                skipped = true;
                break;
            }
            fire.push_front(previous);
            cursor = previous;
            inclusive = false;
        }
        if let Some(latest) = fire.back() {
            self.after = *latest;
        }
        Due {
            fire: fire.into(),
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_schedule;
    use chrono::{TimeDelta, TimeZone};

    fn at(s: u32, ms: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 3, 12, s)
            .single()
            .expect("time")
            + TimeDelta::milliseconds(ms)
    }

    fn every_two_seconds(start: DateTime<Utc>) -> Cadence {
        Cadence::starting(parse_schedule("*/2 * * * * *").expect("cron"), start)
    }

    #[test]
    fn nothing_is_due_before_the_first_occurrence_after_the_start() {
        let mut cadence = every_two_seconds(at(4, 0));
        assert_eq!(
            cadence.next(),
            Some(at(6, 0)),
            "the start itself is not fired"
        );
        assert_eq!(cadence.due(at(5, 999)), Due::default());
    }

    #[test]
    fn an_occurrence_is_fired_once_by_its_own_time_however_late() {
        let mut cadence = every_two_seconds(at(4, 300));
        assert_eq!(cadence.due(at(6, 0)).fire, vec![at(6, 0)], "on time");
        assert_eq!(cadence.due(at(6, 500)), Due::default(), "not twice");
        // Noticed 1.9 s late: still the 8 s tick, not the 10 s one.
        assert_eq!(cadence.due(at(9, 900)).fire, vec![at(8, 0)]);
        assert_eq!(cadence.next(), Some(at(10, 0)));
    }

    #[test]
    fn a_stall_fires_every_missed_occurrence_in_order() {
        let mut cadence = every_two_seconds(at(0, 0));
        let due = cadence.due(at(9, 0));
        assert_eq!(due.fire, vec![at(2, 0), at(4, 0), at(6, 0), at(8, 0)]);
        assert!(!due.skipped);
    }

    #[test]
    fn a_long_suspension_replays_only_the_latest_occurrences() {
        let mut cadence = every_two_seconds(at(0, 0));
        let now = at(0, 0) + TimeDelta::hours(1);
        let due = cadence.due(now);
        assert_eq!(due.fire.len(), MAX_CATCH_UP);
        assert!(due.skipped);
        assert_eq!(due.fire.last(), Some(&now));
        assert!(
            due.fire
                .windows(2)
                .all(|w| w[1] - w[0] == TimeDelta::seconds(2))
        );
        assert_eq!(cadence.due(now), Due::default());
    }

    #[test]
    fn a_year_long_stall_is_walked_in_bounded_steps() {
        let mut cadence = every_two_seconds(at(0, 0));
        let due = cadence.due(at(0, 0) + TimeDelta::days(365));
        assert_eq!((due.fire.len(), due.skipped), (MAX_CATCH_UP, true));
    }

    #[test]
    fn a_schedule_of_days_fires_its_daily_occurrence() {
        let cron = parse_schedule("0 17 3 * * *").expect("cron");
        let mut cadence = Cadence::starting(cron, at(0, 0));
        let day = |d: u32| {
            Utc.with_ymd_and_hms(2026, 11, d, 3, 17, 0)
                .single()
                .expect("time")
        };
        assert_eq!(cadence.next(), Some(day(22)), "later the same day");
        assert_eq!(cadence.due(day(22) - TimeDelta::seconds(1)), Due::default());
        assert_eq!(
            cadence.due(day(22) + TimeDelta::minutes(5)).fire,
            vec![day(22)]
        );
        assert_eq!(cadence.next(), Some(day(23)));
    }
}
