//! PostgreSQL: the only module that speaks SQL.
//!
//! A scan is recorded through a [`ScopeTransaction`]: it takes a per-scope
//! advisory lock, reads the previous state of the scope, and writes the
//! scan, its snapshots, drift and findings in one transaction. A
//! half-written scan therefore never exists, and two writers of the same
//! scope cannot diff against each other's uncommitted state.

pub mod alerts;
pub mod change_events;
pub mod jobs;
pub mod local;
pub mod report;
mod types;
pub mod waivers;

use crate::drift::{DriftEvent, DriftKind};
use crate::evaluate::lifecycle::{self, NewStatus, Standing, Transition};
use crate::evaluate::{Evaluation, FindingStatus, Severity};
use crate::model::{Document, ResourceRecord};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {context}: {source}")]
    Query {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(String),
    /// The job's lease passed to another replica (this one stalled longer
    /// than the lease): its result is dropped, the other replica's counts.
    #[error("job {job_id} is no longer held by {owner}: another replica took it over")]
    LeaseLost { job_id: i64, owner: String },
}

impl StoreError {
    /// Whether retrying later may succeed: the server is down or restarting,
    /// or a connection broke. Query and data errors are not transient.
    pub fn is_transient(&self) -> bool {
        let source = match self {
            StoreError::Connect { source, .. } | StoreError::Query { source, .. } => source,
            _ => return false,
        };
        match source {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => true,
            // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
            // connect now (starting up), 08xxx connection exceptions.
            sqlx::Error::Database(e) => e
                .code()
                .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }
}

trait Context<T> {
    fn context(self, context: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Query { context, source })
    }
}

/// The connection string with every password replaced, for messages and
/// logs: the URL's `user:password@`, a `password=` query parameter, and
/// `password=` in a key/value string (`host=db password='x y'`).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_key_values(url);
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let mut redacted = format!("{scheme}://{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// `password=value` (spaces around `=` allowed, the value bare or in
/// single quotes with `\'` escapes) becomes `password=***`.
fn redact_key_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::new();
    let mut rest_at = 0;
    let mut search_from = 0;
    while let Some(found) = lower[search_from..].find("password") {
        let key_start = search_from + found;
        let key_end = key_start + "password".len();
        let at_word_start = key_start == 0 || lower.as_bytes()[key_start - 1].is_ascii_whitespace();
        let after = &text[key_end..];
        let trimmed = after.trim_start();
        if !at_word_start || !trimmed.starts_with('=') {
            search_from = key_end;
            continue;
        }
        let value = trimmed[1..].trim_start();
        let value_start = text.len() - value.len();
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            let mut escaped = false;
            let close = quoted.char_indices().find(|&(_, c)| {
                let closes = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            });
            close.map_or(value.len(), |(i, _)| i + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        out.push_str(&text[rest_at..key_end]);
        out.push_str("=***");
        rest_at = value_start + value_len;
        search_from = rest_at;
    }
    out.push_str(&text[rest_at..]);
    out
}

/// The collection a scan belongs to: what "previous" and "deleted" are
/// relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub collector: String,
    pub account_id: String,
    pub account_name: String,
    /// The region collected, or `global` for account-wide collectors (S3).
    pub region: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanStatus {
    Ok,
    Partial,
    Failed,
}

impl ScanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanStatus::Ok => "ok",
            ScanStatus::Partial => "partial",
            ScanStatus::Failed => "failed",
        }
    }
}

impl std::fmt::Display for ScanStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ScanStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ok" => Ok(ScanStatus::Ok),
            "partial" => Ok(ScanStatus::Partial),
            "failed" => Ok(ScanStatus::Failed),
            other => Err(format!("unknown scan status {other:?}")),
        }
    }
}

/// A live resource of the scope before this scan.
#[derive(Debug, Clone)]
pub struct PreviousResource {
    pub resource_id: i64,
    pub resource_type: String,
    pub name: String,
    pub region: String,
    /// The hash of the last successfully collected document, and the scan
    /// that saw it.
    pub collected: Option<(String, i64)>,
}

/// The scan row: known from the collection before any resource is written.
pub struct ScanHeader<'a> {
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: ScanStatus,
    pub error: Option<&'a str>,
    pub resource_count: usize,
    pub failed_count: usize,
    /// The listing finished without a warning (descriptions may have failed).
    pub listed_completely: bool,
    /// Only the resources a change event named were described: not a
    /// listing of the scope.
    pub targeted: bool,
    /// The change event that caused this scan, if one did.
    pub change_event_id: Option<i64>,
}

/// One batch of a scope's resources with what was derived from them, ready
/// to be written. The slices are aligned: `hashes[i]` and `evaluations[i]`
/// belong to `resources[i]`.
pub struct ChunkRecord<'a> {
    pub resources: &'a [&'a ResourceRecord],
    /// Each document's hash; `None` where describing the resource failed.
    pub hashes: &'a [Option<String>],
    pub drift: &'a [DriftEvent],
    pub evaluations: &'a [Vec<Evaluation>],
}

/// A transaction the caller holds across store calls and the pure
/// decisions between them (alert plans), committed as one.
pub struct StoreTx {
    tx: Transaction<'static, Postgres>,
}

impl StoreTx {
    pub(crate) fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    pub async fn commit(self, what: &'static str) -> Result<(), StoreError> {
        self.tx.commit().await.context(what)
    }
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(15))
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                target: redact_url(url),
                source,
            })?;
        Ok(Store { pool })
    }

    /// A store whose connections are made on first use: the daemon starts
    /// (and says it is not ready) while the database is still unreachable.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy(url)
            .map_err(|source| StoreError::Connect {
                target: redact_url(url),
                source,
            })?;
        Ok(Store { pool })
    }

    pub async fn begin(&self, what: &'static str) -> Result<StoreTx, StoreError> {
        let tx = self.pool.begin().await.context(what)?;
        Ok(StoreTx { tx })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Opens the transaction in which one scan of `scope` is recorded.
    pub async fn begin_scope<'s>(
        &'s self,
        scope: &'s Scope,
    ) -> Result<ScopeTransaction<'s>, StoreError> {
        self.begin_scope_for_job(scope, None).await
    }

    /// Like [`Store::begin_scope`], for a scan run as part of a scheduled
    /// job: the scan is tied to the job and only commits while this replica
    /// still holds it.
    pub async fn begin_scope_for_job<'s>(
        &'s self,
        scope: &'s Scope,
        job: Option<&'s jobs::JobClaim>,
    ) -> Result<ScopeTransaction<'s>, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .context("starting a scan transaction")?;
        let key = format!("{}/{}/{}", scope.collector, scope.account_id, scope.region);
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(&key)
            .execute(&mut *tx)
            .await
            .context("locking the scan scope")?;
        Ok(ScopeTransaction {
            tx: StoreTx { tx },
            scope,
            job,
        })
    }

    /// How many current findings have `status` (what [`Store::findings`]
    /// lists for that status, counted without reading them).
    pub async fn count_findings(&self, status: FindingStatus) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar(
            "SELECT count(*) FROM findings f JOIN resources r ON r.id = f.resource_id
              WHERE r.deleted_at IS NULL AND f.retired_at IS NULL AND f.status = $1",
        )
        .bind(status.as_str())
        .fetch_one(&self.pool)
        .await
        .context("counting findings")?;
        Ok(count)
    }

    pub async fn findings(&self, filter: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id AS finding_id, r.arn, r.resource_type, r.account_id, r.region,
                    f.control_id, f.status, f.severity, f.evidence, f.first_seen_at, f.status_since,
                    coalesce(seen.finished_at, f.status_since) AS last_seen_at,
                    f.resolved_at, w.id AS waiver_id, w.expires_at AS waiver_expires_at
               FROM findings f JOIN resources r ON r.id = f.resource_id
               -- A current finding was evaluated by every completed scan of
               -- its scope: it was last seen by the latest one.
               LEFT JOIN LATERAL (
                    SELECT s.finished_at FROM scans s
                     WHERE s.collector = r.collector AND s.account_id = r.account_id
                       AND s.region = r.scope_region AND s.status <> 'failed'
                       AND NOT s.targeted
                     ORDER BY s.id DESC LIMIT 1) seen ON TRUE
               LEFT JOIN LATERAL (
                    SELECT id, expires_at FROM waivers
                     WHERE resource_arn = r.arn AND control_id = f.control_id
                       -- Waivers in force at the caller's time, or else at
                       -- the listing's own (the transaction's) time.
                       AND created_at <= coalesce($10, now()) AND expires_at > coalesce($10, now())
                       AND revoked_at IS NULL
                     ORDER BY id LIMIT 1) w ON f.status = 'fail'
              WHERE r.deleted_at IS NULL AND f.retired_at IS NULL
                AND ($1::text IS NULL OR f.status = $1)
                AND ($2::text IS NULL OR f.control_id = $2)
                AND ($3::text IS NULL OR r.account_id = $3)
                AND ($4::text IS NULL OR r.arn = $4)
                -- Keyset paging: strictly after the previous page's last row.
                AND ($5::int IS NULL OR (CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                       WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, f.control_id, r.arn, f.id)
                     > ($5, $6, $7, $8))
              ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1
                       WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
                       f.control_id, r.arn, f.id
              LIMIT $9",
        )
        .bind(filter.status.map(FindingStatus::as_str))
        .bind(filter.control_id.as_deref())
        .bind(filter.account_id.as_deref())
        .bind(filter.arn.as_deref())
        .bind(filter.after.as_ref().map(|c| c.severity_rank))
        .bind(filter.after.as_ref().map(|c| c.control_id.as_str()))
        .bind(filter.after.as_ref().map(|c| c.arn.as_str()))
        .bind(filter.after.as_ref().map(|c| c.finding_id))
        .bind(filter.limit)
        .bind(filter.as_of)
        .fetch_all(&self.pool)
        .await
        .context("listing findings")?;
        rows.iter()
            .map(|row| {
                Ok(FindingRow {
                    finding_id: row.try_get("finding_id")?,
                    arn: row.try_get("arn")?,
                    resource_type: row.try_get("resource_type")?,
                    account_id: row.try_get("account_id")?,
                    region: row.try_get("region")?,
                    control_id: row.try_get("control_id")?,
                    status: row.try_get("status")?,
                    severity: row.try_get("severity")?,
                    evidence: row.try_get("evidence")?,
                    first_seen_at: row.try_get("first_seen_at")?,
                    status_since: row.try_get("status_since")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                    resolved_at: row.try_get("resolved_at")?,
                    waiver_id: row.try_get("waiver_id")?,
                    waiver_expires_at: row.try_get("waiver_expires_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading findings")
    }

    pub async fn drift_events(&self, filter: &DriftFilter) -> Result<Vec<DriftRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, r.arn, r.resource_type, r.account_id, r.region, d.kind, d.changes,
                    d.from_scan_id, d.to_scan_id, d.detected_at, c.actor, c.actor_detail
               FROM drift_events d JOIN resources r ON r.id = d.resource_id
               LEFT JOIN change_events c ON c.id = d.change_event_id
              WHERE ($1::timestamptz IS NULL OR d.detected_at >= $1)
                AND ($2::text IS NULL OR r.arn = $2)
                AND ($4::timestamptz IS NULL OR (d.detected_at, d.id) > ($4, $5))
              ORDER BY d.detected_at, d.id
              LIMIT $3",
        )
        .bind(filter.since)
        .bind(filter.arn.as_deref())
        .bind(filter.limit)
        .bind(filter.after.as_ref().map(|c| c.detected_at))
        .bind(filter.after.as_ref().map(|c| c.id))
        .fetch_all(&self.pool)
        .await
        .context("listing drift events")?;
        rows.iter()
            .map(DriftRow::read)
            .collect::<Result<_, sqlx::Error>>()
            .context("reading drift events")
    }

    /// What is stored now of the resource `arn`: its latest snapshot (a
    /// document, or the reason describing it failed). `None` when no such
    /// resource was ever collected.
    pub async fn current_snapshot(&self, arn: &str) -> Result<Option<CurrentSnapshot>, StoreError> {
        let row = sqlx::query(
            "SELECT r.resource_type, r.deleted_at, s.collection_error, d.body::text AS body,
                    sc.finished_at
               FROM resources r
               JOIN LATERAL (SELECT * FROM resource_snapshots
                              WHERE resource_id = r.id ORDER BY scan_id DESC LIMIT 1) s ON true
               JOIN scans sc ON sc.id = s.scan_id
               LEFT JOIN documents d ON d.hash = s.document_hash
              WHERE r.arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.pool)
        .await
        .context("reading the resource's latest snapshot")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let read = || -> Result<CurrentSnapshot, sqlx::Error> {
            let body: Option<String> = row.try_get("body")?;
            let error: Option<String> = row.try_get("collection_error")?;
            Ok(CurrentSnapshot {
                resource_type: row.try_get("resource_type")?,
                document: body.ok_or_else(|| error.unwrap_or_default()),
                observed_at: row.try_get("finished_at")?,
                deleted_at: row.try_get("deleted_at")?,
            })
        };
        read()
            .map(Some)
            .context("reading the resource's latest snapshot")
    }

    /// The live documents of `types` in the scope that holds `arn` (its
    /// collector, account and region), each as its latest snapshot has it,
    /// and the status of the scope's latest scan: what custom controls
    /// read as `data` when one resource is evaluated on its own.
    pub async fn scope_documents(
        &self,
        arn: &str,
        types: &[&str],
    ) -> Result<StoredScope, StoreError> {
        let scope: Option<(String, String, String)> = sqlx::query_as(
            "SELECT collector, account_id, scope_region FROM resources WHERE arn = $1",
        )
        .bind(arn)
        .fetch_optional(&self.pool)
        .await
        .context("reading the resource's scope")?;
        let Some((collector, account_id, region)) = scope else {
            return Ok(StoredScope {
                documents: Vec::new(),
                latest_scan: None,
            });
        };
        self.documents_of_scope(&collector, &account_id, &region, types)
            .await
    }

    /// [`Store::scope_documents`] of the scope (collector, account, region).
    pub async fn documents_of_scope(
        &self,
        collector: &str,
        account_id: &str,
        region: &str,
        types: &[&str],
    ) -> Result<StoredScope, StoreError> {
        let latest_scan = sqlx::query(
            "SELECT status, error, listed_completely FROM scans
              WHERE collector = $1 AND account_id = $2 AND region = $3 AND NOT targeted
              ORDER BY id DESC LIMIT 1",
        )
        .bind(collector)
        .bind(account_id)
        .bind(region)
        .fetch_optional(&self.pool)
        .await
        .context("reading the scope's latest scan")?
        .map(|row| -> Result<LatestScan, sqlx::Error> {
            Ok(LatestScan {
                status: row.try_get("status")?,
                error: row.try_get("error")?,
                listed_completely: row.try_get("listed_completely")?,
            })
        })
        .transpose()
        .context("reading the scope's latest scan")?;
        let rows = sqlx::query(
            "SELECT o.resource_type, o.arn, s.collection_error, d.body::text AS body
               FROM resources o
               JOIN LATERAL (SELECT * FROM resource_snapshots
                              WHERE resource_id = o.id ORDER BY scan_id DESC LIMIT 1) s ON true
               LEFT JOIN documents d ON d.hash = s.document_hash
              WHERE o.collector = $1 AND o.account_id = $2 AND o.scope_region = $3
                AND o.deleted_at IS NULL AND o.resource_type = ANY($4)
              ORDER BY o.arn",
        )
        .bind(collector)
        .bind(account_id)
        .bind(region)
        .bind(types)
        .fetch_all(&self.pool)
        .await
        .context("reading the scope's documents")?;
        let documents = rows
            .iter()
            .map(|row| -> Result<StoredDocument, sqlx::Error> {
                let body: Option<String> = row.try_get("body")?;
                let error: Option<String> = row.try_get("collection_error")?;
                Ok(StoredDocument {
                    resource_type: row.try_get("resource_type")?,
                    arn: row.try_get("arn")?,
                    document: body.ok_or_else(|| error.unwrap_or_default()),
                })
            })
            .collect::<Result<_, _>>()
            .context("reading the scope's documents")?;
        Ok(StoredScope {
            documents,
            latest_scan,
        })
    }

    pub async fn scans(&self, limit: i64) -> Result<Vec<ScanRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, account_name, region, collector, started_at, finished_at,
                    status, error, resource_count, failed_count
               FROM scans ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .context("listing scans")?;
        rows.iter()
            .map(|row| {
                Ok(ScanRow {
                    id: row.try_get("id")?,
                    account_id: row.try_get("account_id")?,
                    account_name: row.try_get("account_name")?,
                    region: row.try_get("region")?,
                    collector: row.try_get("collector")?,
                    started_at: row.try_get("started_at")?,
                    finished_at: row.try_get("finished_at")?,
                    status: row.try_get("status")?,
                    error: row.try_get("error")?,
                    resource_count: row.try_get("resource_count")?,
                    failed_count: row.try_get("failed_count")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("reading scans")
    }

    /// Total bytes of distinct documents and snapshot rows, for measuring
    /// how storage grows.
    pub async fn storage_counts(&self) -> Result<StorageCounts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM documents) AS documents,
                    (SELECT coalesce(sum(size_bytes), 0)::bigint FROM documents) AS document_bytes,
                    (SELECT count(*) FROM resource_snapshots) AS snapshots",
        )
        .fetch_one(&self.pool)
        .await
        .context("counting storage")?;
        Ok(StorageCounts {
            documents: row.try_get("documents").context("reading storage counts")?,
            document_bytes: row
                .try_get("document_bytes")
                .context("reading storage counts")?,
            snapshots: row.try_get("snapshots").context("reading storage counts")?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StorageCounts {
    pub documents: i64,
    pub document_bytes: i64,
    pub snapshots: i64,
}

/// A resource's latest snapshot, as [`Store::current_snapshot`] reads it.
#[derive(Debug, Clone)]
pub struct CurrentSnapshot {
    pub resource_type: String,
    /// The document's JSON text, or why describing the resource failed.
    pub document: Result<String, String>,
    /// When the scan that recorded it finished.
    pub observed_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A scope's live documents, as [`Store::scope_documents`] reads them.
#[derive(Debug, Clone)]
pub struct StoredScope {
    pub documents: Vec<StoredDocument>,
    /// The scope's latest scan; `None` when it has none.
    pub latest_scan: Option<LatestScan>,
}

#[derive(Debug, Clone)]
pub struct LatestScan {
    /// `ok`, `partial` or `failed`.
    pub status: String,
    pub error: Option<String>,
    /// `None` for scans recorded before driftwatch kept it.
    pub listed_completely: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub resource_type: String,
    pub arn: String,
    /// The document's JSON text, or why describing the resource failed.
    pub document: Result<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub status: Option<FindingStatus>,
    pub control_id: Option<String>,
    pub account_id: Option<String>,
    pub arn: Option<String>,
    /// Only rows after this one, in the listing's order (a page's end).
    pub after: Option<FindingCursor>,
    /// At most this many rows; `None` for all.
    pub limit: Option<i64>,
    /// Waivers are shown as in force at this time; `None` for the time of
    /// the listing's transaction.
    pub as_of: Option<DateTime<Utc>>,
}

/// Where a page of findings ended: the last row's place in the listing's
/// order (severity, control, ARN, id). Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingCursor {
    severity_rank: i32,
    control_id: String,
    arn: String,
    finding_id: i64,
}

impl FindingCursor {
    /// The cursor of the page that ends at `row`.
    pub fn after(row: &FindingRow) -> FindingCursor {
        FindingCursor {
            // The listing's ORDER BY CASE, most severe first.
            severity_rank: match row.severity {
                Severity::Critical => 0,
                Severity::High => 1,
                Severity::Medium => 2,
                Severity::Low => 3,
                Severity::Info => 4,
            },
            control_id: row.control_id.clone(),
            arn: row.arn.clone(),
            finding_id: row.finding_id,
        }
    }
}

/// Where a page of drift events ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftCursor {
    detected_at: DateTime<Utc>,
    id: i64,
}

impl DriftCursor {
    pub fn after(row: &DriftRow) -> DriftCursor {
        DriftCursor {
            detected_at: row.detected_at,
            id: row.id,
        }
    }
}

/// A cursor as clients see it: hex of its JSON, so it survives any query
/// string untouched.
pub fn encode_cursor(cursor: &impl Serialize) -> String {
    hex::encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// A cursor back from a client; an error names what is wrong with it.
pub fn decode_cursor<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let bytes = hex::decode(text).map_err(|_| "not a cursor this server issued".to_string())?;
    serde_json::from_slice(&bytes).map_err(|_| "not a cursor this server issued".to_string())
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    pub finding_id: i64,
    pub arn: String,
    pub resource_type: String,
    pub account_id: String,
    pub region: String,
    pub control_id: String,
    pub status: FindingStatus,
    pub severity: Severity,
    pub evidence: Value,
    pub first_seen_at: DateTime<Utc>,
    pub status_since: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// A waiver in force for this failing finding: it is reported as
    /// waived, not as passing.
    pub waiver_id: Option<i64>,
    pub waiver_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct DriftFilter {
    pub since: Option<DateTime<Utc>>,
    pub arn: Option<String>,
    pub limit: i64,
    /// Only events after this one (a page's end).
    pub after: Option<DriftCursor>,
}

impl Default for DriftFilter {
    fn default() -> Self {
        DriftFilter {
            since: None,
            arn: None,
            after: None,
            limit: 1000,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftRow {
    pub id: i64,
    pub arn: String,
    pub resource_type: String,
    pub account_id: String,
    pub region: String,
    pub kind: DriftKind,
    pub changes: Value,
    pub from_scan_id: Option<i64>,
    pub to_scan_id: i64,
    pub detected_at: DateTime<Utc>,
    /// Who made the change ("alice via role Admin"), from the CloudTrail
    /// event it was attributed to; `None`: found by a scan, no event
    /// received.
    pub actor: Option<String>,
    /// That event: the caller's identity, session, source IP, user agent,
    /// event name and time, request and event ids.
    pub change_event: Option<Value>,
}

/// What a drift with no change event says of its actor.
pub const NO_EVENT_RECEIVED: &str = "found by scan, no event received";

impl DriftRow {
    /// The actor, or that no event explained the change.
    pub fn actor_text(&self) -> &str {
        self.actor.as_deref().unwrap_or(NO_EVENT_RECEIVED)
    }

    /// From a row of `drift_events` joined with its resource.
    fn read(row: &sqlx::postgres::PgRow) -> Result<DriftRow, sqlx::Error> {
        Ok(DriftRow {
            id: row.try_get("id")?,
            arn: row.try_get("arn")?,
            resource_type: row.try_get("resource_type")?,
            account_id: row.try_get("account_id")?,
            region: row.try_get("region")?,
            kind: row.try_get("kind")?,
            changes: row.try_get("changes")?,
            from_scan_id: row.try_get("from_scan_id")?,
            to_scan_id: row.try_get("to_scan_id")?,
            detected_at: row.try_get("detected_at")?,
            actor: row.try_get("actor")?,
            change_event: row.try_get("actor_detail")?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanRow {
    pub id: i64,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub collector: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub status: ScanStatus,
    pub error: Option<String>,
    pub resource_count: i32,
    pub failed_count: i32,
}

pub use crate::model::canonical_json;

/// PostgreSQL cannot store U+0000 in text or jsonb. AWS data and error
/// messages rarely hold it, but one that does must not abort a scan: it is
/// replaced by U+FFFD, the Unicode replacement character.
pub fn postgres_safe_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// [`postgres_safe_text`] for every string and key of a JSON value; `None`
/// when the value is already safe.
pub fn postgres_safe_json(value: &Value) -> Option<Value> {
    fn unsafe_anywhere(value: &Value) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(unsafe_anywhere),
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| k.contains('\0') || unsafe_anywhere(v)),
            _ => false,
        }
    }
    fn clean(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(postgres_safe_text(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(clean).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (postgres_safe_text(k).into_owned(), clean(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    unsafe_anywhere(value).then(|| clean(value))
}

/// A resource record PostgreSQL can store, when this one cannot as is.
pub fn postgres_safe_record(record: &ResourceRecord) -> Option<ResourceRecord> {
    let text_unsafe = [&record.arn, &record.name, &record.region]
        .iter()
        .any(|t| t.contains('\0'));
    let document = match &record.document {
        // JSON text escapes U+0000 as `\u0000`; only then is the tree walked.
        Ok(document) if document.as_str().contains("\\u0000") => {
            postgres_safe_json(&document.to_value()).map(|safe| Ok(Document::from_value(&safe)))
        }
        Ok(_) => None,
        Err(error) if error.contains('\0') => Some(Err(postgres_safe_text(error).into_owned())),
        Err(_) => None,
    };
    if !text_unsafe && document.is_none() {
        return None;
    }
    Some(ResourceRecord {
        arn: postgres_safe_text(&record.arn).into_owned(),
        resource_type: record.resource_type,
        name: postgres_safe_text(&record.name).into_owned(),
        region: postgres_safe_text(&record.region).into_owned(),
        document: document.unwrap_or_else(|| record.document.clone()),
    })
}

pub fn document_hash(canonical: &str) -> String {
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The live resources of a scope with their latest collected document,
/// where `$4` (ARNs or ids) selects which.
macro_rules! previous_query {
    ($arn_condition:literal) => {
        concat!(
            "SELECT r.id, r.arn, r.resource_type, r.name, r.region, s.document_hash, s.scan_id
               FROM resources r
               LEFT JOIN LATERAL (
                    SELECT rs.document_hash, rs.scan_id
                      FROM resource_snapshots rs
                     WHERE rs.resource_id = r.id AND rs.document_hash IS NOT NULL
                     ORDER BY rs.scan_id DESC
                     LIMIT 1) s ON TRUE
              WHERE r.collector = $1 AND r.account_id = $2 AND r.scope_region = $3
                AND r.deleted_at IS NULL AND ",
            $arn_condition
        )
    };
}

pub struct ScopeTransaction<'s> {
    tx: StoreTx,
    scope: &'s Scope,
    job: Option<&'s jobs::JobClaim>,
}

impl<'s> ScopeTransaction<'s> {
    /// Fences a job's scan: commits only while this replica still owns the
    /// job. The row lock holds off a concurrent takeover until commit.
    async fn check_job_ownership(&mut self) -> Result<(), StoreError> {
        let Some(job) = self.job else {
            return Ok(());
        };
        let owner: Option<Option<String>> =
            sqlx::query_scalar("SELECT owner FROM scan_jobs WHERE id = $1 FOR SHARE")
                .bind(job.id)
                .fetch_optional(self.tx.conn())
                .await
                .context("checking the job lease")?;
        if owner.flatten().as_deref() == Some(job.owner.as_str()) {
            Ok(())
        } else {
            Err(StoreError::LeaseLost {
                job_id: job.id,
                owner: job.owner.clone(),
            })
        }
    }

    /// Inserts the scan's row, fenced by the job's lease: everything the
    /// scan writes after this references it.
    pub async fn begin_scan(&mut self, header: &ScanHeader<'_>) -> Result<i64, StoreError> {
        self.check_job_ownership().await?;
        let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let scan_id: i64 = sqlx::query_scalar(
            "INSERT INTO scans (account_id, account_name, region, collector, started_at,
                                finished_at, status, error, resource_count, failed_count, job_id,
                                listed_completely, targeted, change_event_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(&self.scope.account_id)
        .bind(&self.scope.account_name)
        .bind(&self.scope.region)
        .bind(&self.scope.collector)
        .bind(header.started_at)
        .bind(header.finished_at)
        .bind(header.status.as_str())
        .bind(header.error)
        .bind(count(header.resource_count))
        .bind(count(header.failed_count))
        .bind(self.job.map(|j| j.id))
        .bind(header.listed_completely)
        .bind(header.targeted)
        .bind(header.change_event_id)
        .fetch_one(self.tx.conn())
        .await
        .context("inserting the scan")?;
        Ok(scan_id)
    }

    /// Those of `arns` that are live resources of the scope, each with its
    /// last successfully collected document's hash.
    pub async fn previous_of(
        &mut self,
        arns: &[&str],
    ) -> Result<HashMap<String, PreviousResource>, StoreError> {
        // A semi-join on the ARN index: `arn = ANY($4)` may instead be
        // checked against every listed ARN for every row of the scope.
        let query = previous_query!("r.arn IN (SELECT unnest($4::text[]))");
        self.previous_where(query, arns).await
    }

    /// The ids of the scope's live resources, read before a scan writes
    /// any: with those its batches saw, what a complete listing no longer
    /// has.
    pub async fn live_resource_ids(&mut self) -> Result<Vec<i64>, StoreError> {
        let ids = sqlx::query_scalar(
            "SELECT id FROM resources
              WHERE collector = $1 AND account_id = $2 AND scope_region = $3
                AND deleted_at IS NULL",
        )
        .bind(&self.scope.collector)
        .bind(&self.scope.account_id)
        .bind(&self.scope.region)
        .fetch_all(self.tx.conn())
        .await
        .context("reading the live resources of the scope")?;
        Ok(ids)
    }

    /// The live resources of the scope among `ids`.
    pub async fn previous_by_id(
        &mut self,
        ids: &[i64],
    ) -> Result<HashMap<String, PreviousResource>, StoreError> {
        let query = previous_query!("r.id IN (SELECT unnest($4::bigint[]))");
        self.previous_where(query, ids).await
    }

    async fn previous_where<T>(
        &mut self,
        query: &'static str,
        selection: &[T],
    ) -> Result<HashMap<String, PreviousResource>, StoreError>
    where
        for<'q> &'q [T]: sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        let rows = sqlx::query(query)
            .bind(&self.scope.collector)
            .bind(&self.scope.account_id)
            .bind(&self.scope.region)
            .bind(selection)
            .fetch_all(self.tx.conn())
            .await
            .context("reading the previous state of the scope")?;
        let mut previous = HashMap::with_capacity(rows.len());
        for row in rows {
            let read = "reading previous state";
            let hash: Option<String> = row.try_get("document_hash").context(read)?;
            let scan_id: Option<i64> = row.try_get("scan_id").context(read)?;
            previous.insert(
                row.try_get("arn").context(read)?,
                PreviousResource {
                    resource_id: row.try_get("id").context(read)?,
                    resource_type: row.try_get("resource_type").context(read)?,
                    name: row.try_get("name").context(read)?,
                    region: row.try_get("region").context(read)?,
                    collected: hash.zip(scan_id),
                },
            );
        }
        Ok(previous)
    }

    /// The stored documents of `hashes`, as trees (what drift compares).
    pub async fn document_bodies(
        &mut self,
        hashes: &[&str],
    ) -> Result<HashMap<String, Value>, StoreError> {
        if hashes.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, Value)> =
            sqlx::query_as("SELECT hash, body FROM documents WHERE hash = ANY($1)")
                .bind(hashes)
                .fetch_all(self.tx.conn())
                .await
                .context("reading previous documents")?;
        Ok(rows.into_iter().collect())
    }

    /// Writes one batch of the scan: resources, snapshots, drift, findings
    /// and their transitions. Nothing is visible until
    /// [`ScopeTransaction::commit`], so what follows from the findings
    /// (alert decisions) is written in the same transaction.
    pub async fn record_chunk(
        &mut self,
        scan_id: i64,
        chunk: ChunkRecord<'_>,
        previous: &HashMap<String, PreviousResource>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Transition>, StoreError> {
        let resource_ids = self
            .upsert_resources(chunk.resources, previous, now)
            .await?;
        self.insert_snapshots(scan_id, &chunk, &resource_ids)
            .await?;
        self.insert_drift(scan_id, chunk.drift, previous, &resource_ids, now)
            .await?;
        self.upsert_findings(scan_id, &chunk, &resource_ids, now)
            .await
    }

    /// Records the deletions a complete listing found (`gone`, with their
    /// drift events) and ends their findings as the lifecycle says.
    pub async fn record_deletions(
        &mut self,
        scan_id: i64,
        drift: &[DriftEvent],
        gone: &HashMap<String, PreviousResource>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Transition>, StoreError> {
        self.insert_drift(scan_id, drift, gone, &HashMap::new(), now)
            .await?;
        let deleted: Vec<i64> = drift
            .iter()
            .filter(|e| e.kind == DriftKind::Deleted)
            .filter_map(|e| gone.get(&e.arn).map(|p| p.resource_id))
            .collect();
        sqlx::query("UPDATE resources SET deleted_at = $2 WHERE id = ANY($1)")
            .bind(&deleted)
            .bind(now)
            .execute(self.tx.conn())
            .await
            .context("marking deleted resources")?;
        self.resolve_deleted(scan_id, &deleted, now).await
    }

    /// The transaction, for what is decided from the scan before it commits.
    pub fn transaction(&mut self) -> &mut StoreTx {
        &mut self.tx
    }

    /// The filter selecting this scope's findings.
    pub fn findings_of_scope(&self) -> alerts::CandidateFilter<'s> {
        alerts::CandidateFilter {
            collector: Some(&self.scope.collector),
            account_id: Some(&self.scope.account_id),
            scope_region: Some(&self.scope.region),
            ..Default::default()
        }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit("committing the scan").await
    }

    /// Records a scan that could not list its scope at all: no snapshots,
    /// no drift, no findings touched.
    pub async fn record_failure(
        mut self,
        started_at: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        error: &str,
    ) -> Result<i64, StoreError> {
        self.check_job_ownership().await?;
        let scan_id: i64 = sqlx::query_scalar(
            "INSERT INTO scans (account_id, account_name, region, collector, started_at,
                                finished_at, status, error, job_id)
             VALUES ($1, $2, $3, $4, $5, $6, 'failed', $7, $8) RETURNING id",
        )
        .bind(&self.scope.account_id)
        .bind(&self.scope.account_name)
        .bind(&self.scope.region)
        .bind(&self.scope.collector)
        .bind(started_at)
        .bind(finished_at)
        .bind(error)
        .bind(self.job.map(|j| j.id))
        .fetch_one(self.tx.conn())
        .await
        .context("inserting the failed scan")?;
        self.tx.commit("committing the failed scan").await?;
        Ok(scan_id)
    }

    async fn upsert_resources(
        &mut self,
        resources: &[&ResourceRecord],
        previous: &HashMap<String, PreviousResource>,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, StoreError> {
        // A live resource of this scope whose identity is unchanged keeps
        // its row untouched: rewriting it on every scan would cost a row
        // version and its WAL per resource per scan for nothing.
        let mut ids = HashMap::with_capacity(resources.len());
        let mut changed = Vec::new();
        for &resource in resources {
            match previous.get(&resource.arn) {
                Some(p)
                    if p.resource_type == resource.resource_type.as_str()
                        && p.name == resource.name
                        && p.region == resource.region =>
                {
                    ids.insert(resource.arn.clone(), p.resource_id);
                }
                _ => changed.push(resource),
            }
        }
        if changed.is_empty() {
            return Ok(ids);
        }
        let resources = changed;
        let arns: Vec<&str> = resources.iter().map(|r| r.arn.as_str()).collect();
        let types: Vec<&str> = resources.iter().map(|r| r.resource_type.as_str()).collect();
        let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
        let regions: Vec<&str> = resources.iter().map(|r| r.region.as_str()).collect();
        let rows = sqlx::query(
            "INSERT INTO resources (arn, resource_type, name, region, account_id, collector,
                                    scope_region, first_seen_at)
             SELECT arn, resource_type, name, region, $5, $6, $7, $8
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
                    AS t(arn, resource_type, name, region)
             ON CONFLICT (arn) DO UPDATE SET
                    resource_type = EXCLUDED.resource_type, name = EXCLUDED.name,
                    region = EXCLUDED.region, account_id = EXCLUDED.account_id,
                    collector = EXCLUDED.collector, scope_region = EXCLUDED.scope_region,
                    deleted_at = NULL
             RETURNING id, arn",
        )
        .bind(&arns)
        .bind(&types)
        .bind(&names)
        .bind(&regions)
        .bind(&self.scope.account_id)
        .bind(&self.scope.collector)
        .bind(&self.scope.region)
        .bind(now)
        .fetch_all(self.tx.conn())
        .await
        .context("upserting resources")?;
        for row in rows {
            ids.insert(
                row.try_get("arn").context("reading resource ids")?,
                row.try_get("id").context("reading resource ids")?,
            );
        }
        Ok(ids)
    }

    async fn insert_snapshots(
        &mut self,
        scan_id: i64,
        chunk: &ChunkRecord<'_>,
        resource_ids: &HashMap<String, i64>,
    ) -> Result<(), StoreError> {
        let mut hashes = Vec::new();
        let mut bodies = Vec::new();
        let mut sizes = Vec::new();
        let mut snapshot_ids = Vec::new();
        let mut snapshot_hashes: Vec<Option<&str>> = Vec::new();
        let mut snapshot_errors: Vec<Option<&str>> = Vec::new();
        for (resource, hash) in chunk.resources.iter().zip(chunk.hashes) {
            let id = *resource_ids
                .get(&resource.arn)
                .ok_or_else(|| StoreError::Inconsistent(format!("no id for {}", resource.arn)))?;
            snapshot_ids.push(id);
            match (&resource.document, hash) {
                (Ok(document), Some(hash)) => {
                    sizes.push(i32::try_from(document.as_str().len()).unwrap_or(i32::MAX));
                    snapshot_hashes.push(Some(hash.as_str()));
                    snapshot_errors.push(None);
                    hashes.push(hash.as_str());
                    bodies.push(document.as_str());
                }
                (Ok(_), None) => {
                    return Err(StoreError::Inconsistent(format!(
                        "no document hash for {}",
                        resource.arn
                    )));
                }
                (Err(error), _) => {
                    snapshot_hashes.push(None);
                    snapshot_errors.push(Some(error.as_str()));
                }
            }
        }
        // Unchanged resources reference the document already stored.
        sqlx::query(
            "INSERT INTO documents (hash, body, size_bytes)
             SELECT hash, body::jsonb, size FROM UNNEST($1::text[], $2::text[], $3::int[])
                    AS t(hash, body, size)
             ON CONFLICT (hash) DO NOTHING",
        )
        .bind(&hashes)
        .bind(&bodies)
        .bind(&sizes)
        .execute(self.tx.conn())
        .await
        .context("storing documents")?;
        // A snapshot row only when the resource's state differs from its
        // latest one: storage grows with change, not with the number of
        // scans. What a scan saw is the latest snapshot at or before it.
        // The latest states are read first, in their own statement: an
        // INSERT that looks up the table it is filling rescans its own
        // growing heap per row when the planner's statistics still say
        // "empty" (a first scan), which made a 100 000-resource first scan
        // quadratic.
        let latest: Vec<(i64, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT t.resource_id, l.document_hash, l.collection_error
               FROM UNNEST($1::bigint[]) AS t(resource_id)
               JOIN LATERAL (SELECT rs.document_hash, rs.collection_error
                               FROM resource_snapshots rs
                              WHERE rs.resource_id = t.resource_id
                              ORDER BY rs.scan_id DESC LIMIT 1) l ON TRUE",
        )
        .bind(&snapshot_ids)
        .fetch_all(self.tx.conn())
        .await
        .context("reading the latest snapshots")?;
        let latest: HashMap<i64, (Option<String>, Option<String>)> = latest
            .into_iter()
            .map(|(id, hash, error)| (id, (hash, error)))
            .collect();
        let mut changed_ids = Vec::new();
        let mut changed_hashes = Vec::new();
        let mut changed_errors = Vec::new();
        for ((id, hash), error) in snapshot_ids
            .iter()
            .zip(&snapshot_hashes)
            .zip(&snapshot_errors)
        {
            let unchanged = latest.get(id).is_some_and(|(latest_hash, latest_error)| {
                latest_hash.as_deref() == *hash && latest_error.as_deref() == *error
            });
            if !unchanged {
                changed_ids.push(*id);
                changed_hashes.push(*hash);
                changed_errors.push(*error);
            }
        }
        sqlx::query(
            "INSERT INTO resource_snapshots (scan_id, resource_id, document_hash, collection_error)
             SELECT $1, t.resource_id, t.hash, t.error
               FROM UNNEST($2::bigint[], $3::text[], $4::text[]) AS t(resource_id, hash, error)",
        )
        .bind(scan_id)
        .bind(&changed_ids)
        .bind(&changed_hashes)
        .bind(&changed_errors)
        .execute(self.tx.conn())
        .await
        .context("storing snapshots")?;
        Ok(())
    }

    async fn insert_drift(
        &mut self,
        scan_id: i64,
        drift: &[DriftEvent],
        previous: &HashMap<String, PreviousResource>,
        resource_ids: &HashMap<String, i64>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        let mut kinds = Vec::new();
        let mut changes = Vec::new();
        let mut from_scans: Vec<Option<i64>> = Vec::new();
        for event in drift {
            let before = previous.get(&event.arn);
            let id = resource_ids
                .get(&event.arn)
                .copied()
                .or(before.map(|p| p.resource_id))
                .ok_or_else(|| {
                    StoreError::Inconsistent(format!("drift for unknown resource {}", event.arn))
                })?;
            ids.push(id);
            kinds.push(event.kind.as_str());
            changes.push(serde_json::to_string(&event.changes).unwrap_or_else(|_| "[]".into()));
            from_scans.push(before.and_then(|p| p.collected.as_ref().map(|(_, scan)| *scan)));
        }
        sqlx::query(
            "INSERT INTO drift_events (resource_id, kind, changes, from_scan_id, to_scan_id, detected_at)
             SELECT resource_id, kind, changes::jsonb, from_scan, $5, $6
               FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::bigint[])
                    WITH ORDINALITY AS t(resource_id, kind, changes, from_scan, n)
              ORDER BY n",
        )
        .bind(&ids)
        .bind(&kinds)
        .bind(&changes)
        .bind(&from_scans)
        .bind(scan_id)
        .bind(now)
        .execute(self.tx.conn())
        .await
        .context("storing drift events")?;

        Ok(())
    }

    async fn upsert_findings(
        &mut self,
        scan_id: i64,
        chunk: &ChunkRecord<'_>,
        resource_ids: &HashMap<String, i64>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut batch = FindingBatch::default();
        for (resource, evaluations) in chunk.resources.iter().zip(chunk.evaluations) {
            let arn = &resource.arn;
            let Some(&resource_id) = resource_ids.get(arn) else {
                return Err(StoreError::Inconsistent(format!(
                    "findings for unknown resource {arn}"
                )));
            };
            let arn: Arc<str> = Arc::from(arn.as_str());
            for evaluation in evaluations {
                batch.push(&arn, resource_id, evaluation);
            }
        }

        // What is stored for each evaluation, with the evidence compared
        // where it lives: a finding whose status, severity and evidence are
        // unchanged is not rewritten, so a rescan that finds nothing new
        // writes no finding rows (nor their WAL). Writers of a scope's
        // findings are serialised by the scope lock taken at `begin`.
        let stored_rows = sqlx::query(
            "SELECT t.n, f.status, f.decided_status, f.retired_at IS NOT NULL AS retired,
                    f.severity = t.severity AND f.evidence = t.evidence::jsonb AS same_content
               FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[])
                    WITH ORDINALITY AS t(resource_id, control_id, severity, evidence, n)
               JOIN findings f ON f.resource_id = t.resource_id AND f.control_id = t.control_id",
        )
        .bind(&batch.resource_ids)
        .bind(&batch.control_ids)
        .bind(&batch.severities)
        .bind(&batch.evidence)
        .fetch_all(self.tx.conn())
        .await
        .context("reading current findings")?;
        let mut stored: Vec<Option<StoredFinding>> = vec![None; batch.len()];
        for row in stored_rows {
            let n: i64 = row.try_get("n").context("reading findings")?;
            let slot = usize::try_from(n - 1)
                .ok()
                .and_then(|i| stored.get_mut(i))
                .ok_or_else(|| StoreError::Inconsistent(format!("finding row {n} out of range")))?;
            *slot = Some(StoredFinding {
                standing: Standing {
                    status: row.try_get("status").context("reading findings")?,
                    decided: row.try_get("decided_status").context("reading findings")?,
                },
                retired: row.try_get("retired").context("reading findings")?,
                same_content: row
                    .try_get::<Option<bool>, _>("same_content")
                    .context("reading findings")?
                    .unwrap_or(false),
            });
        }

        let mut writes = FindingWrites::default();
        let mut transitions = Vec::new();
        for (i, before) in stored.iter().enumerate() {
            let step = lifecycle::step(before.map(|b| b.standing), batch.statuses[i]);
            let unchanged =
                before.is_some_and(|b| !b.retired && b.same_content && b.standing == step.standing);
            if !unchanged {
                writes.push(&batch, i, step.standing.decided);
            }
            if let Some(kind) = step.kind {
                transitions.push(Transition {
                    arn: batch.arns[i].clone(),
                    control_id: batch.controls[i].clone(),
                    old_status: before.map(|b| b.standing.status),
                    new_status: batch.statuses[i].into(),
                    kind,
                });
            }
        }

        // status_since moves only when the status changes; resolved_at is set
        // when a decided failure ends and cleared when it fails again.
        if !writes.resource_ids.is_empty() {
            sqlx::query(
                "INSERT INTO findings (resource_id, control_id, status, decided_status, severity, evidence,
                                       first_seen_at, status_since, resolved_at, changed_scan_id)
                 SELECT resource_id, control_id, status, decided, severity, evidence::jsonb,
                        $7, $7, NULL, $8
                   FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                        AS t(resource_id, control_id, status, decided, severity, evidence)
                 ON CONFLICT (resource_id, control_id) DO UPDATE SET
                        status_since = CASE WHEN findings.status = EXCLUDED.status
                                            THEN findings.status_since ELSE EXCLUDED.status_since END,
                        resolved_at = CASE
                            WHEN findings.decided_status = 'fail' AND EXCLUDED.decided_status = 'pass'
                                 THEN EXCLUDED.status_since
                            WHEN EXCLUDED.decided_status = 'fail' THEN NULL
                            ELSE findings.resolved_at END,
                        status = EXCLUDED.status,
                        decided_status = EXCLUDED.decided_status,
                        severity = EXCLUDED.severity,
                        evidence = EXCLUDED.evidence,
                        changed_scan_id = EXCLUDED.changed_scan_id,
                        retired_at = NULL",
            )
            .bind(&writes.resource_ids)
            .bind(&writes.control_ids)
            .bind(&writes.statuses)
            .bind(&writes.decided)
            .bind(&writes.severities)
            .bind(&writes.evidence)
            .bind(now)
            .bind(scan_id)
            .execute(self.tx.conn())
            .await
            .context("storing findings")?;
        }

        self.insert_transitions(scan_id, &transitions, now).await?;

        // Controls evaluated before but not now no longer apply: retire them
        // rather than leave a stale status listed as current.
        let evaluated: Vec<i64> = chunk
            .resources
            .iter()
            .filter_map(|r| resource_ids.get(&r.arn).copied())
            .collect();
        sqlx::query(
            "UPDATE findings f SET retired_at = $4
               FROM (SELECT resource_id, control_id FROM findings
                      WHERE resource_id = ANY($1) AND retired_at IS NULL
                     EXCEPT
                     SELECT * FROM UNNEST($2::bigint[], $3::text[])) gone
              WHERE f.resource_id = gone.resource_id AND f.control_id = gone.control_id",
        )
        .bind(&evaluated)
        .bind(&batch.resource_ids)
        .bind(&batch.control_ids)
        .bind(now)
        .execute(self.tx.conn())
        .await
        .context("retiring findings that no longer apply")?;
        Ok(transitions)
    }

    /// Findings of resources deleted by this scan end as the lifecycle
    /// says (a failure is resolved: the risk is gone).
    async fn resolve_deleted(
        &mut self,
        scan_id: i64,
        deleted: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Vec<Transition>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.id, r.arn, f.control_id, f.status, f.decided_status
               FROM findings f JOIN resources r ON r.id = f.resource_id
              WHERE f.resource_id = ANY($1) AND f.resolved_at IS NULL
              ORDER BY f.id",
        )
        .bind(deleted)
        .fetch_all(self.tx.conn())
        .await
        .context("reading findings of deleted resources")?;
        let mut resolved = Vec::new();
        let mut transitions = Vec::new();
        for row in &rows {
            let standing = Standing {
                status: row
                    .try_get("status")
                    .context("reading findings of deleted resources")?,
                decided: row
                    .try_get("decided_status")
                    .context("reading findings of deleted resources")?,
            };
            let Some(kind) = lifecycle::on_deleted(standing) else {
                continue;
            };
            resolved.push(
                row.try_get::<i64, _>("id")
                    .context("reading findings of deleted resources")?,
            );
            transitions.push(Transition {
                arn: row
                    .try_get::<String, _>("arn")
                    .context("reading findings of deleted resources")?
                    .into(),
                control_id: Cow::Owned(
                    row.try_get("control_id")
                        .context("reading findings of deleted resources")?,
                ),
                old_status: Some(standing.status),
                new_status: NewStatus::Deleted,
                kind,
            });
        }
        sqlx::query(
            "UPDATE findings SET resolved_at = $2, changed_scan_id = $3 WHERE id = ANY($1)",
        )
        .bind(&resolved)
        .bind(now)
        .bind(scan_id)
        .execute(self.tx.conn())
        .await
        .context("resolving findings of deleted resources")?;
        self.insert_transitions(scan_id, &transitions, now).await?;
        Ok(transitions)
    }

    async fn insert_transitions(
        &mut self,
        scan_id: i64,
        transitions: &[Transition],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let arns: Vec<&str> = transitions.iter().map(|t| &*t.arn).collect();
        let controls: Vec<&str> = transitions.iter().map(|t| &*t.control_id).collect();
        let old: Vec<Option<FindingStatus>> = transitions.iter().map(|t| t.old_status).collect();
        let new: Vec<NewStatus> = transitions.iter().map(|t| t.new_status).collect();
        let kinds: Vec<_> = transitions.iter().map(|t| t.kind).collect();
        sqlx::query(
            "INSERT INTO finding_transitions (finding_id, scan_id, old_status, new_status, kind, at,
                                              evidence, severity)
             SELECT f.id, $6, t.old_status, t.new_status, t.kind, $7, f.evidence, f.severity
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
                    WITH ORDINALITY AS t(arn, control_id, old_status, new_status, kind, n)
               JOIN resources r ON r.arn = t.arn
               JOIN findings f ON f.resource_id = r.id AND f.control_id = t.control_id
              ORDER BY t.n",
        )
        .bind(&arns)
        .bind(&controls)
        .bind(&old)
        .bind(&new)
        .bind(&kinds)
        .bind(scan_id)
        .bind(now)
        .execute(self.tx.conn())
        .await
        .context("storing finding transitions")?;
        Ok(())
    }
}

#[derive(Default)]
struct FindingBatch<'e> {
    arns: Vec<Arc<str>>,
    resource_ids: Vec<i64>,
    /// Borrowed from the evaluations: the text to bind, and the id a
    /// transition keeps (a built-in's is `'static`, so cloning it is free).
    control_ids: Vec<&'e str>,
    controls: Vec<&'e Cow<'static, str>>,
    statuses: Vec<FindingStatus>,
    severities: Vec<Severity>,
    evidence: Vec<String>,
}

impl<'e> FindingBatch<'e> {
    fn push(&mut self, arn: &Arc<str>, resource_id: i64, evaluation: &'e Evaluation) {
        self.arns.push(arn.clone());
        self.resource_ids.push(resource_id);
        self.control_ids.push(&evaluation.control_id);
        self.controls.push(&evaluation.control_id);
        self.statuses.push(evaluation.status);
        self.severities.push(evaluation.severity);
        self.evidence.push(canonical_json(&evaluation.evidence));
    }

    fn len(&self) -> usize {
        self.resource_ids.len()
    }
}

/// A finding as stored before this scan, beside the evaluation of it.
#[derive(Debug, Clone, Copy)]
struct StoredFinding {
    standing: Standing,
    retired: bool,
    /// Severity and evidence equal to the new evaluation's.
    same_content: bool,
}

/// The findings of a batch that changed, borrowed from it.
#[derive(Default)]
struct FindingWrites<'b> {
    resource_ids: Vec<i64>,
    control_ids: Vec<&'b str>,
    statuses: Vec<FindingStatus>,
    decided: Vec<Option<FindingStatus>>,
    severities: Vec<Severity>,
    evidence: Vec<&'b str>,
}

impl<'b> FindingWrites<'b> {
    fn push(&mut self, batch: &'b FindingBatch<'_>, i: usize, decided: Option<FindingStatus>) {
        self.resource_ids.push(batch.resource_ids[i]);
        self.control_ids.push(batch.control_ids[i]);
        self.statuses.push(batch.statuses[i]);
        self.decided.push(decided);
        self.severities.push(batch.severities[i]);
        self.evidence.push(&batch.evidence[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}"#
        );
        let reordered: Value =
            serde_json::from_str(r#"{"a":{"d":[1,{"y":1,"z":0}],"c":null},"b":1}"#)
                .expect("parses");
        assert_eq!(
            document_hash(&canonical_json(&a)),
            document_hash(&canonical_json(&reordered))
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://dw:s3cret@db:5432/dw"),
            "postgres://dw:***@db:5432/dw"
        );
        assert_eq!(redact_url("postgres://db/dw"), "postgres://db/dw");
        assert_eq!(
            redact_url("postgres://dw@db/dw?sslmode=require&password=s3cret&x=1"),
            "postgres://dw@db/dw?sslmode=require&password=***&x=1"
        );
        assert_eq!(
            redact_url("postgresql://dw:p@ss@word@db/dw?PASSWORD=two"),
            "postgresql://dw:***@db/dw?PASSWORD=***"
        );
        assert_eq!(
            redact_url("host=db user=dw password=s3cret dbname=dw"),
            "host=db user=dw password=*** dbname=dw"
        );
        assert_eq!(
            redact_url("host=db password = 'two words \\' here' dbname=dw"),
            "host=db password=*** dbname=dw"
        );
        assert_eq!(
            redact_url("host=db passwordless=1 dbname=dw"),
            "host=db passwordless=1 dbname=dw"
        );
        assert_eq!(redact_url("password=x"), "password=***");
    }

    #[test]
    fn neither_the_config_nor_the_local_server_prints_the_password() {
        let mut config = crate::config::Config::defaults();
        config.database.url = Some("postgres://dw:hunter2@db/dw?password=hunter3".into());
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("hunter3"),
            "{printed}"
        );
        let server = super::local::LocalPostgres::for_debug_test("hunter4");
        let printed = format!("{server:?}");
        assert!(!printed.contains("hunter4"), "{printed}");
        assert!(server.url().contains("hunter4"), "the URL still connects");
    }
}
