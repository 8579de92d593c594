//! CloudTrail change events as received, and the drift they explain.

use super::{Context, ScopeTransaction, Store, StoreError};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One received event, as stored: plain data, read from CloudTrail's
/// record by the consumer.
#[derive(Debug, Clone)]
pub struct NewChangeEvent<'a> {
    pub event_id: &'a str,
    pub event_time: DateTime<Utc>,
    pub account_id: &'a str,
    pub region: &'a str,
    pub event_source: &'a str,
    pub event_name: &'a str,
    /// "alice via role Admin".
    pub actor: &'a str,
    /// Everything CloudTrail said of the call and its caller.
    pub actor_detail: &'a Value,
}

/// An event's row: new, or already there (a redelivery or a duplicate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedChangeEvent {
    pub id: i64,
    /// What it caused was committed before: nothing to do but delete the
    /// message.
    pub processed: bool,
}

impl Store {
    /// Records a received event once per CloudTrail `eventID`.
    pub async fn record_change_event(
        &self,
        event: &NewChangeEvent<'_>,
        received_at: DateTime<Utc>,
    ) -> Result<RecordedChangeEvent, StoreError> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO change_events (event_id, event_time, received_at, account_id, region,
                                        event_source, event_name, actor, actor_detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (event_id) DO NOTHING RETURNING id",
        )
        .bind(event.event_id)
        .bind(event.event_time)
        .bind(received_at)
        .bind(event.account_id)
        .bind(event.region)
        .bind(event.event_source)
        .bind(event.event_name)
        .bind(event.actor)
        .bind(event.actor_detail)
        .fetch_optional(&self.pool)
        .await
        .context("recording a change event")?;
        if let Some(id) = inserted {
            return Ok(RecordedChangeEvent {
                id,
                processed: false,
            });
        }
        let (id, processed_at): (i64, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT id, processed_at FROM change_events WHERE event_id = $1")
                .bind(event.event_id)
                .fetch_one(&self.pool)
                .await
                .context("reading a change event recorded before")?;
        Ok(RecordedChangeEvent {
            id,
            processed: processed_at.is_some(),
        })
    }

    /// Everything the event caused is committed.
    pub async fn change_event_processed(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE change_events SET processed_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await
            .context("marking a change event processed")?;
        Ok(())
    }

    /// A late event: the change it made was already recorded by a scan
    /// that ran before the event was handled. Attributes, for each of
    /// `arns`, the first drift recorded between the event's time and
    /// `until` (now), when no event explains it yet. Returns how many it
    /// attributed.
    pub async fn attribute_recorded_drift(
        &self,
        change_event_id: i64,
        arns: &[String],
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        // The first drift of each resource in that window: attributed
        // unless another event already explains it.
        let updated = sqlx::query(
            "UPDATE drift_events d SET change_event_id = $1
               FROM (SELECT DISTINCT ON (r.arn) e.id, e.change_event_id
                       FROM drift_events e
                       JOIN resources r ON r.id = e.resource_id
                       JOIN change_events c ON c.id = $1
                      WHERE r.arn = ANY($2)
                        AND e.detected_at >= c.event_time AND e.detected_at <= $3
                      ORDER BY r.arn, e.detected_at, e.id) first
              WHERE d.id = first.id AND first.change_event_id IS NULL
                AND d.change_event_id IS NULL",
        )
        .bind(change_event_id)
        .bind(arns)
        .bind(until)
        .execute(&self.pool)
        .await
        .context("attributing recorded drift to a late event")?;
        Ok(updated.rows_affected())
    }
}

impl Store {
    /// Whether a listing of the scope began after `since`: it has seen
    /// whatever changed before then.
    pub async fn scope_listed_since(
        &self,
        scope: &super::Scope,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let listed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM scans
                             WHERE collector = $1 AND account_id = $2 AND region = $3
                               AND finished_at > $4 AND started_at > $4
                               AND status <> 'failed' AND NOT targeted)",
        )
        .bind(&scope.collector)
        .bind(&scope.account_id)
        .bind(&scope.region)
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .context("reading the scope's recent listings")?;
        Ok(listed)
    }

    /// The name an account was last scanned under, for scopes a change
    /// event names only by id.
    pub async fn account_name(&self, account_id: &str) -> Result<Option<String>, StoreError> {
        let name = sqlx::query_scalar(
            "SELECT account_name FROM scans WHERE account_id = $1 AND NOT targeted
              ORDER BY id DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await
        .context("reading the account's name")?;
        Ok(name)
    }
}

impl ScopeTransaction<'_> {
    /// The drift this scan recorded was caused by `change_event_id`.
    pub async fn attribute_drift(
        &mut self,
        scan_id: i64,
        change_event_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE drift_events SET change_event_id = $2 WHERE to_scan_id = $1")
            .bind(scan_id)
            .bind(change_event_id)
            .execute(self.tx.conn())
            .await
            .context("attributing the scan's drift to its change event")?;
        Ok(())
    }
}

impl ScopeTransaction<'_> {
    /// The scope's resources that a scan started after `started_at` has
    /// already recorded a state of (ARN → id): what a collection begun
    /// earlier saw of them is older than what is stored, and recording it
    /// would rewind them.
    pub async fn observed_since(
        &mut self,
        started_at: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, i64>, StoreError> {
        // A state is a snapshot, or a deletion (which writes none).
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT r.arn, r.id
               FROM scans s
               JOIN resource_snapshots rs ON rs.scan_id = s.id
               JOIN resources r ON r.id = rs.resource_id
              WHERE s.collector = $1 AND s.account_id = $2 AND s.region = $3
                AND s.finished_at > $4 AND s.started_at > $4
             UNION
             SELECT r.arn, r.id
               FROM scans s
               JOIN drift_events d ON d.to_scan_id = s.id AND d.kind = 'deleted'
               JOIN resources r ON r.id = d.resource_id
              WHERE s.collector = $1 AND s.account_id = $2 AND s.region = $3
                AND s.finished_at > $4 AND s.started_at > $4",
        )
        .bind(&self.scope.collector)
        .bind(&self.scope.account_id)
        .bind(&self.scope.region)
        .bind(started_at)
        .fetch_all(self.tx.conn())
        .await
        .context("reading the resources recorded by later scans")?;
        Ok(rows.into_iter().collect())
    }
}
