//! Alerts: deciding which findings page ([`plan`]), where and in which
//! wire format ([`sinks`]), and draining the outbox ([`Sender`]).
//!
//! Decisions ([`decide_in`]) are recorded in the outbox in the caller's
//! transaction, the one that changes the findings they follow from; the sender delivers each entry at
//! least once, in order per (sink, dedup key), and never drops one: a
//! receiver that is down is retried with backoff, one that refuses an
//! event (HTTP 400) has the refusal recorded, after one retry in the
//! minimal form when the refusal may be about its size ([`fit`]).

pub mod fit;
pub mod plan;
pub mod sinks;

use crate::clock::Clock;
use crate::retry::{Backoff, retry};
use crate::store::alerts::{AttemptOutcome, CandidateFilter, OutboxEntry};
use crate::store::{Store, StoreError, StoreTx};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use plan::AlertPolicy;
use sinks::{Deliverer, Delivery, Sinks};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Entries claimed per round, and delivered concurrently (distinct
/// dedup keys only, so per-key order holds).
const BATCH: i64 = 32;
const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    pub delivered: usize,
    pub retried: usize,
    pub rejected: usize,
}

impl Round {
    pub fn attempts(&self) -> usize {
        self.delivered + self.retried + self.rejected
    }
}

pub struct Sender {
    store: Store,
    sinks: Sinks,
    policy: Option<AlertPolicy>,
    deliverer: Deliverer,
    owner: String,
    lease: Duration,
    max_backoff: Duration,
    clock: Clock,
}

impl Sender {
    pub fn new(
        store: Store,
        sinks: Sinks,
        policy: Option<AlertPolicy>,
        timeout: Duration,
        max_backoff: Duration,
        owner: String,
    ) -> Result<Sender, String> {
        Ok(Sender {
            store,
            sinks,
            policy,
            deliverer: Deliverer::new(timeout)?,
            owner,
            // Longer than any attempt can take: a claim only lapses when
            // its replica died.
            lease: timeout * 2 + Duration::from_secs(5),
            max_backoff,
            clock: Clock::system(),
        })
    }

    /// Decides and claims by `clock` (flap windows, waiver expiry, backoff
    /// and claim leases).
    pub fn with_clock(self, clock: Clock) -> Sender {
        Sender { clock, ..self }
    }

    /// Re-decides time-driven alerts (waivers expiring, flap windows
    /// ending). Scans decide their own findings when they are recorded.
    pub async fn decide(&self) -> Result<usize, crate::store::StoreError> {
        match &self.policy {
            Some(policy) => self.decide_with(policy).await,
            None => Ok(0),
        }
    }

    /// [`Sender::decide`] under `policy`: the daemon passes the one of
    /// its current config, whose custom controls a SIGHUP may have
    /// reloaded since this sender was built.
    pub async fn decide_with(
        &self,
        policy: &AlertPolicy,
    ) -> Result<usize, crate::store::StoreError> {
        let mut tx = self.store.begin("starting alert decisions").await?;
        let decided = decide_in(
            &mut tx,
            &CandidateFilter::default(),
            policy,
            self.clock.now(),
            true,
        )
        .await?;
        tx.commit("committing alert decisions").await?;
        Ok(decided)
    }

    /// Delivers what is due, round after round, until nothing is
    /// deliverable now or `deadline` passes.
    pub async fn drain(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Round, crate::store::StoreError> {
        let mut total = Round::default();
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(total);
            }
            let entries = self
                .store
                .claim_alerts(&self.owner, self.lease, BATCH, self.clock.now())
                .await?;
            if entries.is_empty() {
                return Ok(total);
            }
            let round = self.deliver_round(entries).await?;
            total.delivered += round.delivered;
            total.retried += round.retried;
            total.rejected += round.rejected;
            if round.delivered == 0 && round.rejected == 0 {
                // Everything due is failing: wait for its backoff.
                return Ok(total);
            }
        }
    }

    async fn deliver_round(
        &self,
        entries: Vec<OutboxEntry>,
    ) -> Result<Round, crate::store::StoreError> {
        // Each outcome is written as soon as it is known: a delivery that
        // succeeded is not sent again because a slower one held the round.
        let outcomes: Vec<Result<AttemptOutcome, crate::store::StoreError>> =
            futures_util::stream::iter(entries)
                .map(|entry| async move {
                    let outcome = self.attempt(&entry).await;
                    self.record(entry.id, &outcome).await.map(|()| outcome)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        let mut round = Round::default();
        for outcome in outcomes {
            match outcome? {
                AttemptOutcome::Delivered { .. } => round.delivered += 1,
                AttemptOutcome::Retry { .. } => round.retried += 1,
                AttemptOutcome::Rejected { .. } => round.rejected += 1,
            }
        }
        Ok(round)
    }

    /// Writes an outcome; a delivered alert whose outcome cannot be
    /// written is retried briefly, then left to the lease (it is sent
    /// again: at least once, never lost).
    async fn record(
        &self,
        id: i64,
        outcome: &AttemptOutcome,
    ) -> Result<(), crate::store::StoreError> {
        retry(
            Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            || {
                self.store
                    .finish_alert(id, &self.owner, outcome, self.clock.now())
            },
            |error: &StoreError, delay| {
                if !error.is_transient() || delay >= Duration::from_secs(5) {
                    return ControlFlow::Break(());
                }
                warn!(%error, alert = id, "cannot record a delivery yet; retrying");
                ControlFlow::Continue(())
            },
        )
        .await
    }

    async fn attempt(&self, entry: &OutboxEntry) -> AttemptOutcome {
        let Some(sink) = self.sinks.get(&entry.sink) else {
            // A sink removed from the config while alerts were queued for
            // it: kept, and retried once it is configured again.
            warn!(alert = entry.id, sink = %entry.sink, "alert queued for a sink that is not configured");
            return AttemptOutcome::Retry {
                after: self.max_backoff,
                error: format!("sink `{}` is not configured", entry.sink),
                status: None,
                body: None,
            };
        };
        let delivery = self
            .deliverer
            .deliver(sink, &entry.dedup_key, entry.action, &entry.alert)
            .await;
        match delivery {
            Delivery::Delivered { status, body } => {
                info!(alert = entry.id, sink = %entry.sink, action = %entry.action, dedup_key = %entry.dedup_key, "alert delivered");
                AttemptOutcome::Delivered { status, body }
            }
            Delivery::Retry {
                error,
                status,
                body,
                retry_after,
            } => {
                let after = retry_after
                    .map(|d| d.min(Duration::from_secs(3600)))
                    .unwrap_or_else(|| backoff(entry.attempts, self.max_backoff));
                warn!(alert = entry.id, sink = %entry.sink, attempts = entry.attempts, %error, retry_in_ms = after.as_millis() as u64, "alert not delivered; will retry");
                AttemptOutcome::Retry {
                    after,
                    error,
                    status,
                    body,
                }
            }
            Delivery::Rejected { status, body } => {
                warn!(alert = entry.id, sink = %entry.sink, status, response = %body, "alert refused by the receiver; recorded as failed");
                AttemptOutcome::Rejected { status, body }
            }
        }
    }

    /// Hands back claims at shutdown.
    pub async fn release(&self) {
        if let Err(error) = self.store.release_alerts(&self.owner).await {
            warn!(%error, "could not hand back alert claims; they return after their lease");
        }
    }
}

/// Decides the alerts of the findings `filter` selects and records the
/// decisions in the caller's transaction, so they commit with whatever
/// changed those findings. `skip_locked`: leave findings a concurrent scan
/// holds to that scan.
pub async fn decide_in(
    tx: &mut StoreTx,
    filter: &CandidateFilter<'_>,
    policy: &AlertPolicy,
    now: DateTime<Utc>,
    skip_locked: bool,
) -> Result<usize, StoreError> {
    let candidates = tx.alert_candidates(filter, now, skip_locked).await?;
    let actions = plan::plan(&candidates, policy, now);
    tx.record_alert_actions(&actions, now).await?;
    Ok(actions.len())
}

/// 1 s, 2 s, 4 s … up to `max`, after `attempts` failed deliveries.
pub fn backoff(attempts: i32, max: Duration) -> Duration {
    Backoff::new(Duration::from_secs(1), max).after_attempts(attempts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let cap = Duration::from_secs(300);
        let waits: Vec<u64> = (1..=10).map(|a| backoff(a, cap).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(backoff(0, cap), Duration::from_secs(1));
        assert_eq!(backoff(i32::MAX, cap), cap);
    }
}
