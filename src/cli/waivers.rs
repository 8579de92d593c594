//! `driftwatch waive`, `unwaive` and `waivers`: documented exceptions
//! recorded, ended and listed.

use super::output::{Format, print_json, print_table};
use crate::alert::plan::AlertPolicy;
use crate::config::Config;
use crate::store::waivers::{NewWaiver, WaiverRow};
use crate::store::{FindingFilter, Store};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct WaiveArgs {
    /// Control id, e.g. s3.access_logging.
    pub control: String,
    /// The resource's ARN.
    pub resource: String,
    /// The justification an auditor reads.
    #[arg(long)]
    pub reason: String,
    /// Expiry: YYYY-MM-DD (end of that day, UTC) or an RFC 3339 time.
    #[arg(long, allow_hyphen_values = true)]
    pub until: String,
    /// Who approved the exception.
    #[arg(long)]
    pub by: String,
}

#[derive(clap::Args, Debug)]
pub struct UnwaiveArgs {
    #[arg(allow_negative_numbers = true)]
    pub id: i64,
    #[arg(long)]
    pub by: String,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[arg(long)]
    pub all: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Records the config file's `[[waivers]]` (new ones added, removed ones
/// revoked) before anything reads waivers.
pub(super) async fn sync_config_waivers(config: &Config, store: &Store) -> Result<()> {
    crate::waive::sync_config(
        store,
        &config.waivers,
        Utc::now(),
        AlertPolicy::from_config(&config.alerts, &config.custom).as_ref(),
    )
    .await
    .context("recording the config file's waivers")?;
    Ok(())
}

pub(super) async fn waive(args: WaiveArgs, config: &Config, store: &Store) -> Result<ExitCode> {
    let WaiveArgs {
        control,
        resource,
        reason,
        until,
        by,
    } = args;
    if !config.knows_control(&control) {
        bail!("`{control}` is not a control (see `driftwatch findings --status all`)");
    }
    if !resource.starts_with("arn:") {
        bail!("the resource must be given by its ARN, not `{resource}`");
    }
    if reason.trim().is_empty() || by.trim().is_empty() {
        bail!("a waiver needs a justification (--reason) and its approver (--by)");
    }
    let expires_at =
        crate::config::parse_expiry(&until).map_err(|m| anyhow::anyhow!("--until: {m}"))?;
    let now = Utc::now();
    if expires_at <= now {
        bail!("--until {until} is already past");
    }
    let waiver = crate::waive::add(
        store,
        &NewWaiver {
            control_id: &control,
            resource_arn: &resource,
            reason: &reason,
            approved_by: &by,
            expires_at,
        },
        "cli",
        now,
        AlertPolicy::from_config(&config.alerts, &config.custom).as_ref(),
    )
    .await?;
    let known = store
        .findings(&FindingFilter {
            control_id: Some(control.clone()),
            arn: Some(resource.clone()),
            ..FindingFilter::default()
        })
        .await?;
    println!(
        "waiver #{} recorded: {control} on {resource} until {}",
        waiver.id,
        waiver.expires_at.to_rfc3339()
    );
    if known.is_empty() {
        eprintln!(
            "note: no finding of {control} on {resource} is stored yet; the waiver applies once it is evaluated"
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn unwaive(args: UnwaiveArgs, config: &Config, store: &Store) -> Result<ExitCode> {
    let revoked = crate::waive::revoke(
        store,
        args.id,
        &args.by,
        Utc::now(),
        AlertPolicy::from_config(&config.alerts, &config.custom).as_ref(),
    )
    .await?;
    match revoked {
        Some(w) => {
            println!(
                "waiver #{} revoked: {} on {} fails again if still failing",
                w.id, w.control_id, w.resource_arn
            );
            Ok(ExitCode::SUCCESS)
        }
        None => bail!("no waiver #{} in force", args.id),
    }
}

pub(super) async fn list(args: ListArgs, config: &Config, store: &Store) -> Result<ExitCode> {
    sync_config_waivers(config, store).await?;
    let now = Utc::now();
    let waivers: Vec<_> = store
        .waivers()
        .await?
        .into_iter()
        .filter(|w| args.all || w.in_force_at(now))
        .collect();
    match args.format {
        Format::Json => print_json(&waivers)?,
        Format::Table => {
            let rows = waivers
                .iter()
                .map(|w| {
                    vec![
                        w.id.to_string(),
                        w.control_id.clone(),
                        w.resource_arn.clone(),
                        w.expires_at.format("%Y-%m-%d %H:%M").to_string(),
                        w.approved_by.clone(),
                        state(w, now),
                        w.source.clone(),
                        w.reason.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "CONTROL",
                    "RESOURCE",
                    "EXPIRES",
                    "APPROVED BY",
                    "STATE",
                    "SOURCE",
                    "REASON",
                ],
                rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn state(w: &WaiverRow, now: DateTime<Utc>) -> String {
    if w.in_force_at(now) {
        "in force".to_string()
    } else if let Some(r) = w.revoked_at {
        format!(
            "revoked {} by {}",
            r.format("%Y-%m-%d"),
            w.revoked_by.as_deref().unwrap_or("?")
        )
    } else if w.expires_at <= now {
        "expired".to_string()
    } else {
        "not yet in force".to_string()
    }
}
