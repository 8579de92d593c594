//! What a day's report is built from: the state of every finding at a
//! moment, reconstructed from its transitions, and the day's scans,
//! drift and changes.

use super::{Context, DriftRow, ScanStatus, Store, StoreError};
use crate::evaluate::lifecycle::{NewStatus, TransitionKind};
use crate::evaluate::{FindingStatus, Severity};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

/// A finding as it stood at a moment.
#[derive(Debug, Clone)]
pub struct FindingAt {
    pub finding_id: i64,
    pub arn: String,
    pub name: String,
    pub resource_type: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub control_id: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub status_since: DateTime<Utc>,
    /// As stored: JSON text, not a tree (a large estate has a lot of it).
    pub evidence: Box<serde_json::value::RawValue>,
}

/// One status change, for trends.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub finding_id: i64,
    pub arn: String,
    pub control_id: String,
    pub at: DateTime<Utc>,
    pub new_status: NewStatus,
    /// When the resource was deleted / the control retired (as known now).
    pub gone_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct TransitionAt {
    pub at: DateTime<Utc>,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub control_id: String,
    pub severity: Severity,
    pub kind: TransitionKind,
    pub old_status: Option<FindingStatus>,
    pub new_status: NewStatus,
}

/// Scans of one scope within a period.
#[derive(Debug, Clone)]
pub struct ScopeScans {
    pub collector: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub ok: i64,
    pub partial: i64,
    pub failed: i64,
    pub last_status: Option<ScanStatus>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

fn finding_at(row: &sqlx::postgres::PgRow) -> Result<FindingAt, sqlx::Error> {
    Ok(FindingAt {
        finding_id: row.try_get("finding_id")?,
        arn: row.try_get("arn")?,
        name: row.try_get("name")?,
        resource_type: row.try_get("resource_type")?,
        account_id: row.try_get("account_id")?,
        account_name: row.try_get("account_name")?,
        region: row.try_get("region")?,
        control_id: row.try_get("control_id")?,
        severity: row.try_get("severity")?,
        status: row.try_get("new_status")?,
        status_since: row.try_get("at")?,
        evidence: row
            .try_get::<sqlx::types::Json<Box<serde_json::value::RawValue>>, _>("evidence")?
            .0,
    })
}

impl Store {
    /// Every finding's status at `at` (the latest transition at or before
    /// it), with the evidence recorded when it entered that status.
    pub async fn findings_at(&self, at: DateTime<Utc>) -> Result<Vec<FindingAt>, StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT * FROM (
                SELECT DISTINCT ON (t.finding_id)
                       t.finding_id, t.new_status, t.at, coalesce(t.evidence, f.evidence) AS evidence,
                       coalesce(t.severity, f.severity) AS severity, f.control_id, r.arn, r.name,
                       r.resource_type, r.account_id, r.region,
                       coalesce(s.account_name, r.account_id) AS account_name
                  FROM finding_transitions t
                  JOIN findings f ON f.id = t.finding_id
                  JOIN resources r ON r.id = f.resource_id
                  LEFT JOIN scans s ON s.id = t.scan_id
                 WHERE t.at <= $1
                   AND (r.deleted_at IS NULL OR r.deleted_at > $1)
                   AND (f.retired_at IS NULL OR f.retired_at > $1)
                 ORDER BY t.finding_id, t.at DESC, t.id DESC) latest
              WHERE new_status <> 'deleted'
              ORDER BY account_id, region, control_id, arn",
        )
        .bind(at)
        .fetch(&self.pool);
        // Row by row: the raw rows of a large estate are not kept beside
        // the findings made of them.
        let mut findings = Vec::new();
        while let Some(row) = rows
            .try_next()
            .await
            .context("reading findings as of the report time")?
        {
            findings.push(finding_at(&row).context("reading findings as of the report time")?);
        }
        Ok(findings)
    }

    /// Every status change up to `until`, handed to `each` one finding's
    /// history at a time (oldest first), so a trend over any number of
    /// findings holds one finding's history in memory, not all of them.
    pub async fn for_each_status_history(
        &self,
        until: DateTime<Utc>,
        mut each: impl FnMut(&[StatusChange]),
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT t.finding_id, r.arn, f.control_id, t.at, t.new_status,
                    least(r.deleted_at, f.retired_at) AS gone_at
               FROM finding_transitions t
               JOIN findings f ON f.id = t.finding_id
               JOIN resources r ON r.id = f.resource_id
              WHERE t.at <= $1
              ORDER BY t.finding_id, t.at, t.id",
        )
        .bind(until)
        .fetch(&self.pool);
        let mut history: Vec<StatusChange> = Vec::new();
        while let Some(row) = rows.try_next().await.context("reading finding history")? {
            let read = || -> Result<StatusChange, sqlx::Error> {
                Ok(StatusChange {
                    finding_id: row.try_get("finding_id")?,
                    arn: row.try_get("arn")?,
                    control_id: row.try_get("control_id")?,
                    at: row.try_get("at")?,
                    new_status: row.try_get("new_status")?,
                    gone_at: row.try_get("gone_at")?,
                })
            };
            let change = read().context("reading finding history")?;
            if history
                .last()
                .is_some_and(|h| h.finding_id != change.finding_id)
            {
                each(&history);
                history.clear();
            }
            history.push(change);
        }
        if !history.is_empty() {
            each(&history);
        }
        Ok(())
    }

    /// Regressions, resolutions and new findings in [from, until).
    pub async fn transitions_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<TransitionAt>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.at, r.arn, r.account_id, r.region, f.control_id,
                    coalesce(t.severity, f.severity) AS severity, t.kind, t.old_status, t.new_status
               FROM finding_transitions t
               JOIN findings f ON f.id = t.finding_id
               JOIN resources r ON r.id = f.resource_id
              WHERE t.at >= $1 AND t.at < $2 AND t.kind IN ('new', 'regression', 'resolution')
              ORDER BY t.at, t.id",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .context("reading the day's finding changes")?;
        rows.iter()
            .map(|row| {
                Ok(TransitionAt {
                    at: row.try_get("at")?,
                    arn: row.try_get("arn")?,
                    account_id: row.try_get("account_id")?,
                    region: row.try_get("region")?,
                    control_id: row.try_get("control_id")?,
                    severity: row.try_get("severity")?,
                    kind: row.try_get("kind")?,
                    old_status: row.try_get("old_status")?,
                    new_status: row.try_get("new_status")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading the day's finding changes")
    }

    pub async fn drift_between(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DriftRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, r.arn, r.resource_type, r.account_id, r.region, d.kind, d.changes,
                    d.from_scan_id, d.to_scan_id, d.detected_at, c.actor, c.actor_detail
               FROM drift_events d JOIN resources r ON r.id = d.resource_id
               LEFT JOIN change_events c ON c.id = d.change_event_id
              WHERE d.detected_at >= $1 AND d.detected_at < $2
              ORDER BY d.detected_at, d.id",
        )
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .context("reading the day's drift")?;
        rows.iter()
            .map(DriftRow::read)
            .collect::<Result<_, sqlx::Error>>()
            .context("reading the day's drift")
    }

    /// Scans per scope finished in [from, until), and the scopes scanned
    /// in the `lookback` before `from` that were not scanned in it (zero
    /// counts): missing coverage is evidence too.
    pub async fn scan_coverage(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        lookback: chrono::Duration,
    ) -> Result<Vec<ScopeScans>, StoreError> {
        let rows = sqlx::query(
            "WITH scopes AS (
                SELECT DISTINCT collector, account_id, region FROM scans
                 WHERE finished_at >= $3 AND finished_at < $2 AND NOT targeted)
             SELECT sc.collector, sc.account_id, sc.region,
                    coalesce(last.account_name, sc.account_id) AS account_name,
                    count(*) FILTER (WHERE d.status = 'ok') AS ok,
                    count(*) FILTER (WHERE d.status = 'partial') AS partial,
                    count(*) FILTER (WHERE d.status = 'failed') AS failed,
                    last.status AS last_status, last.finished_at AS last_finished_at,
                    last.error AS last_error
               FROM scopes sc
               LEFT JOIN scans d ON d.collector = sc.collector AND d.account_id = sc.account_id
                                AND d.region = sc.region
                                AND d.finished_at >= $1 AND d.finished_at < $2
                                AND NOT d.targeted
               LEFT JOIN LATERAL (
                    SELECT s.status, s.finished_at, s.error, s.account_name FROM scans s
                     WHERE s.collector = sc.collector AND s.account_id = sc.account_id
                       AND s.region = sc.region AND s.finished_at >= $1 AND s.finished_at < $2
                       AND NOT s.targeted
                     ORDER BY s.finished_at DESC, s.id DESC LIMIT 1) last ON TRUE
              GROUP BY sc.collector, sc.account_id, sc.region, last.account_name, last.status,
                       last.finished_at, last.error
              ORDER BY sc.account_id, sc.region, sc.collector",
        )
        .bind(from)
        .bind(until)
        .bind(from - lookback)
        .fetch_all(&self.pool)
        .await
        .context("reading scan coverage")?;
        rows.iter()
            .map(|row| {
                Ok(ScopeScans {
                    collector: row.try_get("collector")?,
                    account_id: row.try_get("account_id")?,
                    account_name: row.try_get("account_name")?,
                    region: row.try_get("region")?,
                    ok: row.try_get("ok")?,
                    partial: row.try_get("partial")?,
                    failed: row.try_get("failed")?,
                    last_status: row.try_get("last_status")?,
                    last_finished_at: row.try_get("last_finished_at")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading scan coverage")
    }

    /// A finished day's stored model as JSON text, and its findings'
    /// parts in order (none for reports stored with findings inline).
    /// Parsed once, by the caller: no intermediate JSON tree.
    pub async fn stored_report(
        &self,
        date: NaiveDate,
    ) -> Result<Option<(String, Vec<String>)>, StoreError> {
        let model: Option<String> = sqlx::query_scalar(
            "SELECT coalesce(model_text, model::text) FROM reports WHERE report_date = $1",
        )
        .bind(date)
        .fetch_optional(&self.pool)
        .await
        .context("reading a stored report")?;
        let Some(model) = model else {
            return Ok(None);
        };
        let parts: Vec<String> = sqlx::query_scalar(
            "SELECT findings::text FROM report_findings WHERE report_date = $1 ORDER BY part",
        )
        .bind(date)
        .fetch_all(&self.pool)
        .await
        .context("reading a stored report's findings")?;
        Ok(Some((model, parts)))
    }

    /// Keeps a day's report (`model`: its JSON text without findings;
    /// `parts`: its findings as JSON arrays, in order) in one transaction;
    /// the first one stored for a day stays (two replicas building it at
    /// once keep one). `None` when this one was kept, else the report
    /// kept before it.
    pub async fn store_report(
        &self,
        date: NaiveDate,
        model: &str,
        parts: &[String],
        sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Vec<String>)>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .context("starting to store a report")?;
        let inserted = sqlx::query(
            "INSERT INTO reports (report_date, generated_at, model_text, sha256)
             VALUES ($1, $2, $3, $4) ON CONFLICT (report_date) DO NOTHING",
        )
        .bind(date)
        .bind(now)
        .bind(model)
        .bind(sha256)
        .execute(&mut *tx)
        .await
        .context("storing a report")?
        .rows_affected();
        if inserted == 1 {
            for (part, findings) in (0_i32..).zip(parts) {
                sqlx::query(
                    "INSERT INTO report_findings (report_date, part, findings)
                     VALUES ($1, $2, $3::jsonb)",
                )
                .bind(date)
                .bind(part)
                .bind(findings)
                .execute(&mut *tx)
                .await
                .context("storing a report's findings")?;
            }
        }
        tx.commit().await.context("committing a stored report")?;
        if inserted == 1 {
            return Ok(None);
        }
        self.stored_report(date)
            .await?
            .map(Some)
            .ok_or_else(|| StoreError::Inconsistent(format!("report of {date} vanished")))
    }
}
