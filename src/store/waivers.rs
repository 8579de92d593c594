//! Waivers: documented exceptions with an approver and an expiry. Rows are
//! never deleted; a revocation is recorded. Both are written in the
//! caller's transaction, so the waived finding's alert decision can be
//! taken in it too.

use super::{Context, Store, StoreError, StoreTx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct NewWaiver<'a> {
    pub control_id: &'a str,
    pub resource_arn: &'a str,
    pub reason: &'a str,
    pub approved_by: &'a str,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaiverRow {
    pub id: i64,
    pub control_id: String,
    pub resource_arn: String,
    pub reason: String,
    pub approved_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
    pub source: String,
}

impl WaiverRow {
    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.created_at <= at && at < self.expires_at && self.revoked_at.is_none_or(|r| r > at)
    }
}

const COLUMNS: &str = "id, control_id, resource_arn, reason, approved_by, created_at, expires_at,
                       revoked_at, revoked_by, source";

fn read(row: &sqlx::postgres::PgRow) -> Result<WaiverRow, sqlx::Error> {
    Ok(WaiverRow {
        id: row.try_get("id")?,
        control_id: row.try_get("control_id")?,
        resource_arn: row.try_get("resource_arn")?,
        reason: row.try_get("reason")?,
        approved_by: row.try_get("approved_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
        source: row.try_get("source")?,
    })
}

async fn insert(
    conn: &mut sqlx::PgConnection,
    waiver: &NewWaiver<'_>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<WaiverRow, StoreError> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO waivers (control_id, resource_arn, reason, approved_by, created_at,
                              expires_at, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
    )))
    .bind(waiver.control_id)
    .bind(waiver.resource_arn)
    .bind(waiver.reason)
    .bind(waiver.approved_by)
    .bind(now)
    .bind(waiver.expires_at)
    .bind(source)
    .fetch_one(&mut *conn)
    .await
    .context("storing a waiver")?;
    read(&row).context("reading the stored waiver")
}

impl StoreTx {
    /// Records a waiver (`source`: `cli` or `config`).
    pub async fn add_waiver(
        &mut self,
        waiver: &NewWaiver<'_>,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<WaiverRow, StoreError> {
        insert(self.conn(), waiver, source, now).await
    }

    /// Ends a waiver early. `None` when there is no such waiver in force.
    pub async fn revoke_waiver(
        &mut self,
        id: i64,
        revoked_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<WaiverRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE waivers SET revoked_at = $2, revoked_by = $3
              WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2
             RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(now)
        .bind(revoked_by)
        .fetch_optional(self.conn())
        .await
        .context("revoking a waiver")?;
        row.map(|row| read(&row))
            .transpose()
            .context("reading the revoked waiver")
    }
}

impl Store {
    /// Every waiver ever recorded, newest first.
    pub async fn waivers(&self) -> Result<Vec<WaiverRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM waivers ORDER BY id DESC"
        )))
        .fetch_all(&self.pool)
        .await
        .context("listing waivers")?;
        rows.iter()
            .map(read)
            .collect::<Result<_, _>>()
            .context("reading waivers")
    }
}

/// What a config-waiver sync changed: the rows it recorded and the rows it
/// revoked, so the caller can re-decide their findings' alerts.
#[derive(Debug, Default)]
pub struct ConfigWaiverSync {
    pub added: Vec<WaiverRow>,
    pub revoked: Vec<WaiverRow>,
}

impl StoreTx {
    /// Makes the stored config waivers match the config file: new entries
    /// are recorded, entries no longer in the file are revoked (by
    /// `config`). Serialised across replicas, so two starting together add
    /// each entry once.
    pub async fn sync_config_waivers(
        &mut self,
        wanted: &[NewWaiver<'_>],
        now: DateTime<Utc>,
    ) -> Result<ConfigWaiverSync, StoreError> {
        let conn = self.conn();
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('driftwatch-waiver-sync', 0))")
            .execute(&mut *conn)
            .await
            .context("locking the waiver sync")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM waivers WHERE source = 'config' AND revoked_at IS NULL"
        )))
        .fetch_all(&mut *conn)
        .await
        .context("reading config waivers")?;
        let stored: Vec<WaiverRow> = rows
            .iter()
            .map(read)
            .collect::<Result<_, _>>()
            .context("reading config waivers")?;
        let mut sync = ConfigWaiverSync::default();
        for waiver in wanted {
            if stored.iter().any(|s| same_entry(s, waiver)) || waiver.expires_at <= now {
                continue;
            }
            sync.added.push(insert(conn, waiver, "config", now).await?);
        }
        let gone: Vec<i64> = stored
            .iter()
            .filter(|s| s.expires_at > now && !wanted.iter().any(|w| same_entry(s, w)))
            .map(|s| s.id)
            .collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE waivers SET revoked_at = $2, revoked_by = 'config' WHERE id = ANY($1)
             RETURNING {COLUMNS}"
        )))
        .bind(&gone)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .context("revoking waivers removed from the config")?;
        sync.revoked = rows
            .iter()
            .map(read)
            .collect::<Result<_, _>>()
            .context("reading the revoked config waivers")?;
        Ok(sync)
    }
}

fn same_entry(stored: &WaiverRow, wanted: &NewWaiver<'_>) -> bool {
    stored.control_id == wanted.control_id
        && stored.resource_arn == wanted.resource_arn
        && stored.reason == wanted.reason
        && stored.approved_by == wanted.approved_by
        && stored.expires_at == wanted.expires_at
}
