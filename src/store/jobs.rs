//! Scheduled scan jobs shared by every `driftwatch run` replica, and the
//! daemon's housekeeping queries (readiness, metrics, retention).
//!
//! Coordination is Postgres only: a unique key makes enqueueing a tick
//! idempotent across replicas, claims are serialised by a transaction-level
//! advisory lock and leased, and a scan commits only while its replica
//! still owns the job (see `ScopeTransaction::check_job_ownership`).

use super::{Context, Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::BTreeSet;
use std::time::Duration;

/// A job this replica holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    pub id: i64,
    pub owner: String,
    pub collector: String,
    pub account_key: String,
    /// One region, or [`ALL_REGIONS_OF_ENTRY`].
    pub region: String,
    pub scheduled_for: DateTime<Utc>,
    /// 1 on the first claim; more when taken over after a lease ran out.
    pub attempts: i32,
}

/// Serialises claims so that the "no other running job of this collector
/// and account" check cannot race with another replica's claim.
const CLAIM_LOCK: i64 = 0x6472_6966_7477_6174; // "driftwat"

/// The region of a job covering every region of its account entry.
pub const ALL_REGIONS_OF_ENTRY: &str = "*";

/// A job claimed this often without completing is left for a person: its
/// scan keeps failing in a way a retry does not cure (readiness says so).
pub const MAX_ATTEMPTS: i32 = 5;

/// Only one replica prunes at a time.
const PRUNE_LOCK: i64 = 0x6472_6966_7470_7275; // "driftpru"

/// Figures read at scrape time for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct StoredFigures {
    /// (control, status) → count of current findings.
    pub findings: Vec<(String, String, i64)>,
    /// (account, status) → count of current findings: one series per
    /// account, not per account and control, so an organisation of a
    /// thousand accounts stays a few thousand series.
    pub account_findings: Vec<(String, String, i64)>,
    /// How long the oldest job that is due, or whose replica's lease ran
    /// out, has waited for a replica (0 when none waits).
    pub oldest_pending_job_seconds: f64,
    /// kind → drift events recorded.
    pub drift_events: Vec<(String, i64)>,
    /// state → scan jobs.
    pub jobs: Vec<(String, i64)>,
    pub outbox: super::alerts::OutboxFigures,
}

/// What a retention run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub scans: u64,
    pub snapshots: u64,
    pub documents: u64,
    pub drift_events: u64,
    pub transitions: u64,
    pub jobs: u64,
}

fn lease_interval(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

impl Store {
    /// Enqueues one tick of `collector` for each (account entry, region);
    /// returns how many jobs were new (another replica may have enqueued
    /// them first).
    pub async fn enqueue_jobs(
        &self,
        collector: &str,
        targets: &[(String, String)],
        scheduled_for: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let keys: Vec<&str> = targets.iter().map(|(k, _)| k.as_str()).collect();
        let regions: Vec<&str> = targets.iter().map(|(_, r)| r.as_str()).collect();
        let result = sqlx::query(
            "INSERT INTO scan_jobs (collector, account_key, region, scheduled_for)
             SELECT $1, key, region, $4 FROM UNNEST($2::text[], $3::text[]) AS k(key, region)
             ON CONFLICT (collector, account_key, region, scheduled_for) DO NOTHING",
        )
        .bind(collector)
        .bind(&keys)
        .bind(&regions)
        .bind(scheduled_for)
        .execute(&self.pool)
        .await
        .context("enqueueing scan jobs")?;
        Ok(result.rows_affected())
    }

    /// Claims the oldest job that is pending, or running under a lease that
    /// ran out, unless the same collector and account is being scanned
    /// under a live lease (scans of one scope never overlap).
    pub async fn claim_job(
        &self,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<JobClaim>, StoreError> {
        let mut tx = self.pool.begin().await.context("starting a claim")?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CLAIM_LOCK)
            .execute(&mut *tx)
            .await
            .context("serialising claims")?;
        let row = sqlx::query(
            "UPDATE scan_jobs j
                SET state = 'running', owner = $1,
                    lease_until = $4 + make_interval(secs => $2),
                    attempts = attempts + 1, started_at = COALESCE(started_at, $4)
              WHERE j.id = (
                    SELECT c.id FROM scan_jobs c
                     WHERE (c.state = 'pending'
                            OR (c.state = 'running' AND c.lease_until < $4))
                       AND c.attempts < $3
                       AND NOT EXISTS (
                            SELECT 1 FROM scan_jobs o
                             WHERE o.collector = c.collector
                               AND o.account_key = c.account_key
                               AND (o.region = c.region OR o.region = '*' OR c.region = '*')
                               AND o.state = 'running' AND o.lease_until >= $4
                               AND o.id <> c.id)
                     ORDER BY c.scheduled_for, c.id
                     LIMIT 1
                       FOR UPDATE SKIP LOCKED)
             RETURNING id, collector, account_key, region, scheduled_for, attempts",
        )
        .bind(owner)
        .bind(lease_interval(lease))
        .bind(MAX_ATTEMPTS)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .context("claiming a scan job")?;
        tx.commit().await.context("committing a claim")?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(JobClaim {
            id: row.try_get("id").context("reading a claim")?,
            owner: owner.to_string(),
            collector: row.try_get("collector").context("reading a claim")?,
            account_key: row.try_get("account_key").context("reading a claim")?,
            region: row.try_get("region").context("reading a claim")?,
            scheduled_for: row.try_get("scheduled_for").context("reading a claim")?,
            attempts: row.try_get("attempts").context("reading a claim")?,
        }))
    }

    /// Extends the lease; `false` when the job is no longer this replica's.
    pub async fn renew_lease(
        &self,
        job: &JobClaim,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE scan_jobs SET lease_until = $4 + make_interval(secs => $3)
              WHERE id = $1 AND owner = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(&job.owner)
        .bind(lease_interval(lease))
        .bind(now)
        .execute(&self.pool)
        .await
        .context("renewing a job lease")?;
        Ok(result.rows_affected() == 1)
    }

    /// Marks the job done; `false` when another replica had taken it over.
    pub async fn complete_job(
        &self,
        job: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE scan_jobs SET state = 'done', finished_at = $3, lease_until = NULL
              WHERE id = $1 AND owner = $2 AND state = 'running'",
        )
        .bind(job.id)
        .bind(&job.owner)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("completing a scan job")?;
        Ok(result.rows_affected() == 1)
    }

    /// Hands this replica's unfinished jobs back at shutdown, so that
    /// another replica can take them at once instead of after the lease.
    /// A shutdown is not a failed attempt: it does not count toward
    /// [`MAX_ATTEMPTS`].
    pub async fn release_jobs(&self, owner: &str) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE scan_jobs SET state = 'pending', owner = NULL, lease_until = NULL,
                    attempts = greatest(attempts - 1, 0)
              WHERE owner = $1 AND state = 'running'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await
        .context("releasing scan jobs")?;
        Ok(result.rows_affected())
    }

    /// The scopes (collector, account id, region) already recorded for a
    /// job: a job taken over skips them.
    pub async fn recorded_scopes(
        &self,
        job_id: i64,
    ) -> Result<BTreeSet<(String, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT collector, account_id, region FROM scans WHERE job_id = $1")
            .bind(job_id)
            .fetch_all(&self.pool)
            .await
            .context("reading the scopes a job recorded")?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("collector")?,
                    r.try_get("account_id")?,
                    r.try_get("region")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading the scopes a job recorded")
    }

    /// Readiness: the database answers, every migration this binary knows
    /// is applied, and (with `fleet`) no job has sat with an expired lease
    /// for longer than `stuck_after` (no replica is picking work up). The
    /// fleet part is the same answer on every replica: an orchestrator's
    /// probe asks without it, or one stuck job would take every pod out.
    pub async fn readiness(
        &self,
        stuck_after: Duration,
        now: DateTime<Utc>,
        fleet: bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .context("reading applied migrations")?;
        let missing: Vec<i64> = super::MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if !missing.is_empty() {
            problems.push(format!("migrations not applied: {missing:?}"));
        }
        if !fleet {
            return Ok(problems);
        }
        // Stuck: a running job whose lease ran out long ago (no replica is
        // taking work over), or one that failed every attempt. A backlog
        // of pending jobs is load, not a fault.
        let stuck: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM scan_jobs
              WHERE (state = 'running'
                     AND lease_until < $3 - make_interval(secs => $1))
                 OR (state <> 'done' AND attempts >= $2)",
        )
        .bind(stuck_after.as_secs_f64())
        .bind(MAX_ATTEMPTS)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .context("looking for stuck scan jobs")?;
        if stuck > 0 {
            problems.push(format!(
                "{stuck} scan job(s) stuck: lease expired over {}s ago with no replica taking over, or {MAX_ATTEMPTS} attempts failed",
                stuck_after.as_secs()
            ));
        }
        Ok(problems)
    }

    pub async fn stored_figures(&self, now: DateTime<Utc>) -> Result<StoredFigures, StoreError> {
        let triples = |rows: Vec<sqlx::postgres::PgRow>| {
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<Vec<(String, String, i64)>, sqlx::Error>>()
        };
        let findings = triples(
            sqlx::query(
                "SELECT control_id, status, count(*) AS n FROM findings
                  WHERE retired_at IS NULL GROUP BY control_id, status ORDER BY 1, 2",
            )
            .fetch_all(&self.pool)
            .await
            .context("counting findings")?,
        )
        .context("counting findings")?;
        let account_findings = triples(
            sqlx::query(
                "SELECT r.account_id, f.status, count(*) AS n
                   FROM findings f JOIN resources r ON r.id = f.resource_id
                  WHERE f.retired_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .fetch_all(&self.pool)
            .await
            .context("counting findings by account")?,
        )
        .context("counting findings by account")?;
        let oldest_pending_job_seconds: f64 = sqlx::query_scalar(
            // A running job whose lease ran out waits too (its replica is
            // gone), since the lease ran out: it is claimable again.
            "SELECT COALESCE(EXTRACT(EPOCH FROM ($1 - min(
                    CASE WHEN state = 'pending' THEN scheduled_for ELSE lease_until END
                    )))::float8, 0)
               FROM scan_jobs
              WHERE (state = 'pending' AND scheduled_for <= $1)
                 OR (state = 'running' AND lease_until < $1)",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .context("reading the oldest pending job")?;
        let pairs = |rows: Vec<sqlx::postgres::PgRow>| {
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<Vec<(String, i64)>, sqlx::Error>>()
        };
        let drift_events = pairs(
            sqlx::query("SELECT kind, count(*) FROM drift_events GROUP BY kind ORDER BY 1")
                .fetch_all(&self.pool)
                .await
                .context("counting drift events")?,
        )
        .context("counting drift events")?;
        let jobs = pairs(
            sqlx::query("SELECT state, count(*) FROM scan_jobs GROUP BY state ORDER BY 1")
                .fetch_all(&self.pool)
                .await
                .context("counting scan jobs")?,
        )
        .context("counting scan jobs")?;
        Ok(StoredFigures {
            findings,
            account_findings,
            oldest_pending_job_seconds: oldest_pending_job_seconds.max(0.0),
            drift_events,
            jobs,
            outbox: self.outbox_figures(now).await?,
        })
    }

    /// Deletes history older than `cutoff`: scans (with their snapshots),
    /// drift events, finding transitions, finished jobs, and documents no
    /// snapshot refers to any more. The latest snapshot of every resource
    /// that is not deleted is kept whatever its age: it is the evidence of
    /// the resource's current state and the base of the next diff.
    pub async fn prune(&self, cutoff: DateTime<Utc>) -> Result<PruneReport, StoreError> {
        let mut tx = self.pool.begin().await.context("starting a prune")?;
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(PRUNE_LOCK)
            .fetch_one(&mut *tx)
            .await
            .context("taking the prune lock")?;
        if !ours {
            return Ok(PruneReport::default());
        }
        // Scans still holding a live resource's latest snapshot stay.
        let snapshots = sqlx::query(
            "DELETE FROM resource_snapshots rs
              USING scans s
              WHERE rs.scan_id = s.id AND s.finished_at < $1
                AND NOT EXISTS (
                    SELECT 1 FROM resources r
                     WHERE r.id = rs.resource_id AND r.deleted_at IS NULL
                       AND rs.scan_id = (SELECT max(l.scan_id) FROM resource_snapshots l
                                          WHERE l.resource_id = r.id
                                            AND l.document_hash IS NOT NULL))",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .context("pruning snapshots")?
        .rows_affected();
        let drift_events = sqlx::query("DELETE FROM drift_events WHERE detected_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .context("pruning drift events")?
            .rows_affected();
        let transitions = sqlx::query(
            "DELETE FROM finding_transitions t USING scans s
              WHERE t.scan_id = s.id AND s.finished_at < $1
                -- A finding's latest transition is its current status and
                -- the evidence behind it: reports of any later day need it.
                AND t.id <> (SELECT max(l.id) FROM finding_transitions l
                              WHERE l.finding_id = t.finding_id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .context("pruning finding transitions")?
        .rows_affected();
        let scans = sqlx::query(
            "DELETE FROM scans s
              WHERE s.finished_at < $1
                AND NOT EXISTS (SELECT 1 FROM resource_snapshots rs WHERE rs.scan_id = s.id)
                AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.changed_scan_id = s.id)
                AND NOT EXISTS (SELECT 1 FROM drift_events d
                                 WHERE d.from_scan_id = s.id OR d.to_scan_id = s.id)
                AND NOT EXISTS (SELECT 1 FROM finding_transitions t WHERE t.scan_id = s.id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .context("pruning scans")?
        .rows_affected();
        // An event is kept while a drift it explains or a scan it caused is.
        sqlx::query(
            "DELETE FROM change_events c
              WHERE c.received_at < $1
                AND NOT EXISTS (SELECT 1 FROM drift_events d WHERE d.change_event_id = c.id)
                AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.change_event_id = c.id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .context("pruning change events")?;
        // Sent or refused alerts; a pending one is never pruned.
        sqlx::query("DELETE FROM alert_outbox WHERE state <> 'pending' AND created_at < $1")
            .bind(cutoff)
            .execute(&mut *tx)
            .await
            .context("pruning delivered alerts")?;
        let jobs = sqlx::query(
            "DELETE FROM scan_jobs j WHERE j.state = 'done' AND j.finished_at < $1
                AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.job_id = j.id)",
        )
        .bind(cutoff)
        .execute(&mut *tx)
        .await
        .context("pruning scan jobs")?
        .rows_affected();
        let documents = sqlx::query(
            "DELETE FROM documents d
              WHERE NOT EXISTS (SELECT 1 FROM resource_snapshots rs WHERE rs.document_hash = d.hash)",
        )
        .execute(&mut *tx)
        .await
        .context("pruning documents")?
        .rows_affected();
        tx.commit().await.context("committing a prune")?;
        Ok(PruneReport {
            scans,
            snapshots,
            documents,
            drift_events,
            transitions,
            jobs,
        })
    }
}
