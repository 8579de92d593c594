//! Waiving a finding: the waiver and the alert decision it changes (a
//! waived finding stops paging; a revoked waiver pages again) are
//! committed together, so a crash between them cannot leave either half.

use crate::alert::{self, plan::AlertPolicy};
use crate::config::WaiverConfig;
use crate::store::alerts::CandidateFilter;
use crate::store::waivers::{NewWaiver, WaiverRow};
use crate::store::{Store, StoreError, StoreTx};
use chrono::{DateTime, Utc};

/// Records a waiver (`source`: `cli` or `config`) and re-decides the
/// waived finding's alert.
pub async fn add(
    store: &Store,
    waiver: &NewWaiver<'_>,
    source: &str,
    now: DateTime<Utc>,
    alerting: Option<&AlertPolicy>,
) -> Result<WaiverRow, StoreError> {
    let mut tx = store.begin("starting a waiver").await?;
    let stored = tx.add_waiver(waiver, source, now).await?;
    redecide(&mut tx, &stored, now, alerting).await?;
    tx.commit("committing a waiver").await?;
    Ok(stored)
}

/// Ends a waiver early and re-decides its finding's alert. `None` when
/// there is no such waiver in force.
pub async fn revoke(
    store: &Store,
    id: i64,
    revoked_by: &str,
    now: DateTime<Utc>,
    alerting: Option<&AlertPolicy>,
) -> Result<Option<WaiverRow>, StoreError> {
    let mut tx = store.begin("starting a revocation").await?;
    let Some(revoked) = tx.revoke_waiver(id, revoked_by, now).await? else {
        return Ok(None);
    };
    redecide(&mut tx, &revoked, now, alerting).await?;
    tx.commit("committing a revocation").await?;
    Ok(Some(revoked))
}

async fn redecide(
    tx: &mut StoreTx,
    waiver: &WaiverRow,
    now: DateTime<Utc>,
    alerting: Option<&AlertPolicy>,
) -> Result<(), StoreError> {
    let Some(policy) = alerting else {
        return Ok(());
    };
    let finding = CandidateFilter {
        arn: Some(&waiver.resource_arn),
        control_id: Some(&waiver.control_id),
        ..Default::default()
    };
    alert::decide_in(tx, &finding, policy, now, false).await?;
    Ok(())
}

/// Makes the stored config waivers match the config file's `[[waivers]]`
/// (new entries recorded, entries no longer in the file revoked) and
/// re-decides the alerts of every finding whose waiver changed, in one
/// transaction (invariant 13). Returns (added, revoked).
pub async fn sync_config(
    store: &Store,
    waivers: &[WaiverConfig],
    now: DateTime<Utc>,
    alerting: Option<&AlertPolicy>,
) -> Result<(usize, usize), StoreError> {
    // `validate` rejected an unparseable expiry before anything runs.
    let wanted: Vec<NewWaiver<'_>> = waivers
        .iter()
        .filter_map(|w| {
            Some(NewWaiver {
                control_id: &w.control,
                resource_arn: &w.resource,
                reason: &w.reason,
                approved_by: &w.approved_by,
                expires_at: w.expires_at().ok()?,
            })
        })
        .collect();
    let mut tx = store.begin("starting a waiver sync").await?;
    let sync = tx.sync_config_waivers(&wanted, now).await?;
    for changed in sync.added.iter().chain(&sync.revoked) {
        redecide(&mut tx, changed, now, alerting).await?;
    }
    tx.commit("committing the waiver sync").await?;
    Ok((sync.added.len(), sync.revoked.len()))
}
