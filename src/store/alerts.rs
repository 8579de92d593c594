//! Alert decisions and the outbox: the decisions are written in the
//! transaction that changes the findings they follow from, and drained by
//! the sender under a lease.

use super::{Context, Store, StoreError, StoreTx};
use crate::evaluate::{FindingStatus, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, Row};
use std::time::Duration;

/// What an outbox entry asks of a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentAction {
    Trigger,
    Resolve,
}

/// Where an outbox entry stands: waiting to be delivered (or retried),
/// accepted by its receiver, or refused by it (a 4xx, recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    Pending,
    Delivered,
    Failed,
}

impl IncidentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentAction::Trigger => "trigger",
            IncidentAction::Resolve => "resolve",
        }
    }
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for IncidentAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trigger" => Ok(IncidentAction::Trigger),
            "resolve" => Ok(IncidentAction::Resolve),
            other => Err(format!("unknown alert action {other:?}")),
        }
    }
}

impl std::str::FromStr for OutboxState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(OutboxState::Pending),
            "delivered" => Ok(OutboxState::Delivered),
            "failed" => Ok(OutboxState::Failed),
            other => Err(format!("unknown outbox state {other:?}")),
        }
    }
}

impl std::fmt::Display for IncidentAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding as the alert decision sees it.
#[derive(Debug, Clone)]
pub struct AlertCandidate {
    pub finding_id: i64,
    pub arn: String,
    pub resource_type: String,
    pub resource_name: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub control_id: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub decided_status: Option<FindingStatus>,
    pub resource_deleted: bool,
    pub retired: bool,
    pub waived: bool,
    pub evidence: Value,
    pub status_since: DateTime<Utc>,
    /// The resource's latest drift event (`changes`), if any.
    pub last_drift: Option<Value>,
    /// The change event that latest drift was attributed to: who made it.
    pub last_drift_actor: Option<Value>,
    pub incident: Option<OpenIncident>,
}

/// An incident triggered and not yet resolved.
#[derive(Debug, Clone)]
pub struct OpenIncident {
    pub dedup_key: String,
    pub sinks: Vec<String>,
    pub clear_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlertAction {
    /// Open an incident: one outbox row per sink.
    Trigger {
        finding_id: i64,
        dedup_key: String,
        sinks: Vec<String>,
        alert: Value,
    },
    /// The finding no longer needs a page: start the flap window.
    StartClearing { finding_id: i64 },
    /// It needs a page again within the window: the incident stays open.
    StopClearing { finding_id: i64 },
    /// Close the incident where it was sent.
    Resolve {
        finding_id: i64,
        dedup_key: String,
        sinks: Vec<String>,
        alert: Value,
    },
}

/// An outbox row as the sender reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub sink: String,
    pub dedup_key: String,
    pub action: IncidentAction,
    pub alert: Value,
    pub attempts: i32,
}

/// Which findings a decision looks at.
#[derive(Debug, Clone, Default)]
pub struct CandidateFilter<'a> {
    pub collector: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub scope_region: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub control_id: Option<&'a str>,
}

impl StoreTx {
    /// The findings `filter` selects that may need a page (failing, or with
    /// an open incident), locked until commit. Findings locked by a
    /// concurrent scan are skipped when `skip_locked`: that scan decides
    /// them itself in its own transaction.
    pub async fn alert_candidates(
        &mut self,
        filter: &CandidateFilter<'_>,
        now: DateTime<Utc>,
        skip_locked: bool,
    ) -> Result<Vec<AlertCandidate>, StoreError> {
        candidates(self.conn(), filter, now, skip_locked).await
    }

    /// Records what the alert plan decided: incidents and outbox rows.
    pub async fn record_alert_actions(
        &mut self,
        actions: &[AlertAction],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for action in actions {
            apply(self.conn(), action, now).await?;
        }
        Ok(())
    }
}

async fn candidates(
    conn: &mut PgConnection,
    filter: &CandidateFilter<'_>,
    now: DateTime<Utc>,
    skip_locked: bool,
) -> Result<Vec<AlertCandidate>, StoreError> {
    let lock = if skip_locked {
        "FOR UPDATE OF f SKIP LOCKED"
    } else {
        "FOR UPDATE OF f"
    };
    let sql = format!(
        "SELECT f.id AS finding_id, r.arn, r.resource_type, r.name, r.account_id,
                coalesce(s.account_name, r.account_id) AS account_name, r.region,
                f.control_id, f.severity, f.status, f.decided_status,
                r.deleted_at IS NOT NULL AS deleted, f.retired_at IS NOT NULL AS retired,
                EXISTS (SELECT 1 FROM waivers w
                         WHERE w.resource_arn = r.arn AND w.control_id = f.control_id
                           AND w.created_at <= $6 AND w.expires_at > $6
                           AND (w.revoked_at IS NULL OR w.revoked_at > $6)) AS waived,
                f.evidence, f.status_since,
                last_drift.changes AS last_drift, last_drift.actor_detail AS last_drift_actor,
                fa.dedup_key, coalesce(fa.open, false) AS open, fa.sinks, fa.clear_since
           FROM findings f
           JOIN resources r ON r.id = f.resource_id
           LEFT JOIN finding_alerts fa ON fa.finding_id = f.id
           -- The resource's latest drift, and who made it when an event said.
           LEFT JOIN LATERAL (
                SELECT d.changes, c.actor_detail FROM drift_events d
                  LEFT JOIN change_events c ON c.id = d.change_event_id
                 WHERE d.resource_id = r.id
                 ORDER BY d.id DESC LIMIT 1) last_drift ON TRUE
           -- The account's name as its latest scan was configured.
           LEFT JOIN LATERAL (
                SELECT s.account_name FROM scans s
                 WHERE s.collector = r.collector AND s.account_id = r.account_id
                   AND s.region = r.scope_region AND NOT s.targeted
                 ORDER BY s.id DESC LIMIT 1) s ON TRUE
          WHERE ((f.decided_status = 'fail' AND f.retired_at IS NULL AND r.deleted_at IS NULL)
                 OR fa.open)
            AND ($1::text IS NULL OR r.collector = $1)
            AND ($2::text IS NULL OR r.account_id = $2)
            AND ($3::text IS NULL OR r.scope_region = $3)
            AND ($4::text IS NULL OR r.arn = $4)
            AND ($5::text IS NULL OR f.control_id = $5)
          ORDER BY f.id
          {lock}"
    );
    // Only the lock clause varies, between two literals above.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.collector)
        .bind(filter.account_id)
        .bind(filter.scope_region)
        .bind(filter.arn)
        .bind(filter.control_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .context("reading findings for alert decisions")?;
    let candidates = rows
        .iter()
        .map(|row| {
            let open: bool = row.try_get("open")?;
            let incident = if open {
                Some(OpenIncident {
                    dedup_key: row.try_get("dedup_key")?,
                    sinks: row.try_get("sinks")?,
                    clear_since: row.try_get("clear_since")?,
                })
            } else {
                None
            };
            Ok(AlertCandidate {
                finding_id: row.try_get("finding_id")?,
                arn: row.try_get("arn")?,
                resource_type: row.try_get("resource_type")?,
                resource_name: row.try_get("name")?,
                account_id: row.try_get("account_id")?,
                account_name: row.try_get("account_name")?,
                region: row.try_get("region")?,
                control_id: row.try_get("control_id")?,
                severity: row.try_get("severity")?,
                status: row.try_get("status")?,
                decided_status: row.try_get("decided_status")?,
                resource_deleted: row.try_get("deleted")?,
                retired: row.try_get("retired")?,
                waived: row.try_get("waived")?,
                evidence: row.try_get("evidence")?,
                status_since: row.try_get("status_since")?,
                last_drift: row.try_get("last_drift")?,
                last_drift_actor: row.try_get("last_drift_actor")?,
                incident,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .context("reading findings for alert decisions")?;
    Ok(candidates)
}

async fn apply(
    conn: &mut PgConnection,
    action: &AlertAction,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match action {
        AlertAction::Trigger {
            finding_id,
            dedup_key,
            sinks,
            alert,
        } => {
            sqlx::query(
                "INSERT INTO finding_alerts (finding_id, dedup_key, open, sinks, opened_at)
                 VALUES ($1, $2, true, $3, $4)
                 ON CONFLICT (finding_id) DO UPDATE SET
                        dedup_key = EXCLUDED.dedup_key, open = true, sinks = EXCLUDED.sinks,
                        opened_at = EXCLUDED.opened_at, clear_since = NULL, resolved_at = NULL",
            )
            .bind(finding_id)
            .bind(dedup_key)
            .bind(sinks)
            .bind(now)
            .execute(&mut *conn)
            .await
            .context("opening an incident")?;
            enqueue(
                conn,
                *finding_id,
                dedup_key,
                IncidentAction::Trigger,
                sinks,
                alert,
                now,
            )
            .await
        }
        AlertAction::StartClearing { finding_id } => {
            sqlx::query("UPDATE finding_alerts SET clear_since = $2 WHERE finding_id = $1")
                .bind(finding_id)
                .bind(now)
                .execute(&mut *conn)
                .await
                .context("holding a resolve for the flap window")?;
            Ok(())
        }
        AlertAction::StopClearing { finding_id } => {
            sqlx::query("UPDATE finding_alerts SET clear_since = NULL WHERE finding_id = $1")
                .bind(finding_id)
                .execute(&mut *conn)
                .await
                .context("keeping a flapping incident open")?;
            Ok(())
        }
        AlertAction::Resolve {
            finding_id,
            dedup_key,
            sinks,
            alert,
        } => {
            sqlx::query(
                "UPDATE finding_alerts SET open = false, clear_since = NULL, resolved_at = $2
                  WHERE finding_id = $1",
            )
            .bind(finding_id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .context("closing an incident")?;
            enqueue(
                conn,
                *finding_id,
                dedup_key,
                IncidentAction::Resolve,
                sinks,
                alert,
                now,
            )
            .await
        }
    }
}

async fn enqueue(
    conn: &mut PgConnection,
    finding_id: i64,
    dedup_key: &str,
    action: IncidentAction,
    sinks: &[String],
    alert: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO alert_outbox (finding_id, sink, dedup_key, action, alert, created_at,
                                   next_attempt_at)
         SELECT $1, sink, $3, $4, $5, $6, $6 FROM UNNEST($2::text[]) AS t(sink)",
    )
    .bind(finding_id)
    .bind(sinks)
    .bind(dedup_key)
    .bind(action)
    .bind(alert)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("queueing alerts")?;
    Ok(())
}

/// How a delivery attempt ended, as the outbox records it.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
        body: String,
    },
    Retry {
        after: Duration,
        error: String,
        status: Option<u16>,
        body: Option<String>,
    },
    Rejected {
        status: u16,
        body: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub sink: String,
    pub dedup_key: String,
    pub action: IncidentAction,
    pub state: OutboxState,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub summary: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct OutboxFigures {
    pub pending: i64,
    pub failed: i64,
    pub delivered: i64,
    /// Age of the oldest undelivered alert, in seconds.
    pub oldest_pending_seconds: f64,
}

impl Store {
    /// Claims up to `limit` deliverable entries for `owner`: the oldest
    /// pending entry of each (sink, dedup key), so that a resolve never
    /// overtakes its trigger.
    pub async fn claim_alerts(
        &self,
        owner: &str,
        lease: Duration,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = sqlx::query(
            "UPDATE alert_outbox o
                SET claimed_by = $1, claimed_until = $4 + $2 * interval '1 millisecond',
                    attempts = attempts + 1
              WHERE o.id IN (
                    SELECT h.id FROM alert_outbox h
                     WHERE h.state = 'pending' AND h.next_attempt_at <= $4
                       AND (h.claimed_until IS NULL OR h.claimed_until < $4)
                       AND NOT EXISTS (SELECT 1 FROM alert_outbox e
                                        WHERE e.sink = h.sink AND e.dedup_key = h.dedup_key
                                          AND e.state = 'pending' AND e.id < h.id)
                     ORDER BY h.id
                     LIMIT $3
                     FOR UPDATE SKIP LOCKED)
             RETURNING o.id, o.sink, o.dedup_key, o.action, o.alert, o.attempts",
        )
        .bind(owner)
        .bind(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
        .bind(limit)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .context("claiming alerts to deliver")?;
        let mut entries = rows
            .iter()
            .map(|row| {
                Ok(OutboxEntry {
                    id: row.try_get("id")?,
                    sink: row.try_get("sink")?,
                    dedup_key: row.try_get("dedup_key")?,
                    action: row.try_get("action")?,
                    alert: row.try_get("alert")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .context("reading claimed alerts")?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    /// Records an attempt's outcome, if `owner` still holds the claim (a
    /// replica whose lease ran out does not overwrite its successor).
    pub async fn finish_alert(
        &self,
        id: i64,
        owner: &str,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (state, after_ms, error, status, body) = match outcome {
            AttemptOutcome::Delivered { status, body } => (
                "delivered",
                0,
                None,
                Some(i32::from(*status)),
                Some(body.as_str()),
            ),
            AttemptOutcome::Retry {
                after,
                error,
                status,
                body,
            } => (
                "pending",
                i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2),
                Some(error.as_str()),
                status.map(i32::from),
                body.as_deref(),
            ),
            AttemptOutcome::Rejected { status, body } => (
                "failed",
                0,
                Some("rejected by the receiver"),
                Some(i32::from(*status)),
                Some(body.as_str()),
            ),
        };
        sqlx::query(
            "UPDATE alert_outbox
                SET state = $3, claimed_by = NULL, claimed_until = NULL,
                    next_attempt_at = $8 + $4 * interval '1 millisecond',
                    last_error = $5, response_status = $6, response_body = $7,
                    delivered_at = CASE WHEN $3 = 'delivered' THEN $8 END
              WHERE id = $1 AND claimed_by = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(owner)
        .bind(state)
        .bind(after_ms)
        .bind(error)
        .bind(status)
        .bind(body)
        .bind(now)
        .execute(&self.pool)
        .await
        .context("recording an alert delivery")?;
        Ok(())
    }

    /// Gives unfinished claims back at shutdown, without using up an attempt.
    pub async fn release_alerts(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE alert_outbox SET claimed_by = NULL, claimed_until = NULL,
                    attempts = greatest(attempts - 1, 0)
              WHERE claimed_by = $1 AND state = 'pending'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await
        .context("releasing alert claims")?;
        Ok(done.rows_affected())
    }

    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, sink, dedup_key, action, state, attempts, created_at, next_attempt_at,
                    delivered_at, last_error, response_status, response_body,
                    alert->>'summary' AS summary
               FROM alert_outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("listing alerts")?;
        rows.iter()
            .map(|row| {
                Ok(OutboxRow {
                    id: row.try_get("id")?,
                    sink: row.try_get("sink")?,
                    dedup_key: row.try_get("dedup_key")?,
                    action: row.try_get("action")?,
                    state: row.try_get("state")?,
                    attempts: row.try_get("attempts")?,
                    created_at: row.try_get("created_at")?,
                    next_attempt_at: row.try_get("next_attempt_at")?,
                    delivered_at: row.try_get("delivered_at")?,
                    last_error: row.try_get("last_error")?,
                    response_status: row.try_get("response_status")?,
                    response_body: row.try_get("response_body")?,
                    summary: row.try_get("summary")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading alerts")
    }

    /// The outbox's depth, and the age of its oldest pending entry at `now`.
    pub async fn outbox_figures(&self, now: DateTime<Utc>) -> Result<OutboxFigures, StoreError> {
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
                    count(*) FILTER (WHERE state = 'failed') AS failed,
                    count(*) FILTER (WHERE state = 'delivered') AS delivered,
                    coalesce(extract(epoch FROM $1 - min(created_at)
                             FILTER (WHERE state = 'pending')), 0)::float8 AS oldest
               FROM alert_outbox",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .context("counting alerts")?;
        Ok(OutboxFigures {
            pending: row.try_get("pending").context("counting alerts")?,
            failed: row.try_get("failed").context("counting alerts")?,
            delivered: row.try_get("delivered").context("counting alerts")?,
            oldest_pending_seconds: row.try_get("oldest").context("counting alerts")?,
        })
    }
}
