//! `driftwatch scan --once`: one scan of every configured account, the
//! alerts it queued delivered, and what it found.

use super::output::{Format, describe_changes, evidence_message, print_json, print_table};
use super::waivers::sync_config_waivers;
use crate::alert::{self, plan::AlertPolicy, sinks::Sinks};
use crate::config::Config;
use crate::evaluate::FindingStatus;
use crate::evaluate::lifecycle::TransitionKind;
use crate::scan::{self, ScopeReport};
use crate::store::{FindingFilter, FindingRow, ScanStatus, Store};
use anyhow::{Context, Result, bail};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run once and exit (the only mode of `scan`).
    #[arg(long)]
    pub once: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print the AWS API calls made, per service and operation, to
    /// stderr when done (for benchmarks and IAM reviews).
    #[arg(long)]
    pub api_calls: bool,
}

/// Exit code when every collection failed: nothing was scanned.
const EXIT_NOTHING_SCANNED: u8 = 2;

pub(super) async fn run(args: Args, config: &Config, store: &Store) -> Result<ExitCode> {
    if !args.once {
        bail!("`driftwatch scan` runs one scan: pass --once");
    }
    let sinks = Sinks::load(&config.alerts, |var| std::env::var(var).ok())?;
    sync_config_waivers(config, store).await?;
    let reports = scan::scan_once(config, store)
        .await
        .context("recording the scan")?;
    if !sinks.is_empty() {
        deliver_alerts(config, store, sinks).await?;
    }
    if args.api_calls {
        eprintln!("api calls (service operation outcome count):");
        for (service, operation, outcome, n) in crate::collect::api_calls::operations() {
            eprintln!("  {service} {operation} {outcome} {n}");
        }
    }
    match args.format {
        Format::Json => print_json(&scan_json(&reports))?,
        Format::Table => print_summary(store, &reports).await?,
    }
    let all_failed = !reports.is_empty() && reports.iter().all(|r| r.status == ScanStatus::Failed);
    Ok(if all_failed {
        ExitCode::from(EXIT_NOTHING_SCANNED)
    } else {
        ExitCode::SUCCESS
    })
}

/// A one-shot scan delivers what it queued, for at most a minute; what is
/// left stays queued for the next run or the daemon.
async fn deliver_alerts(config: &Config, store: &Store, sinks: Sinks) -> Result<()> {
    let sender = alert::Sender::new(
        store.clone(),
        sinks,
        AlertPolicy::from_config(&config.alerts, &config.custom),
        std::time::Duration::from_secs(config.alerts.timeout_seconds),
        std::time::Duration::from_secs(config.alerts.max_backoff_seconds),
        crate::daemon::replica_name(),
    )
    .map_err(|m| anyhow::anyhow!("alerts: {m}"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let round = sender.drain(Some(deadline)).await;
    sender.release().await;
    let round = round.context("delivering alerts")?;
    if round.retried > 0 || round.rejected > 0 {
        eprintln!(
            "alerts: {} delivered, {} to retry, {} refused (see `driftwatch alerts`)",
            round.delivered, round.retried, round.rejected
        );
    }
    Ok(())
}

/// Rows of each list the summary prints: a first scan of a large estate
/// finds tens of thousands; the rest are a command away.
const SUMMARY_ROWS: usize = 50;

async fn print_summary(store: &Store, reports: &[ScopeReport]) -> Result<()> {
    print_scopes(reports);
    let (failing, total) = first_failing(store).await?;
    println!("\nFailing controls ({total})");
    print_table(
        &["SEVERITY", "CONTROL", "RESOURCE", "EVIDENCE"],
        failing
            .iter()
            .map(|f| {
                vec![
                    f.severity.to_string(),
                    f.control_id.clone(),
                    f.arn.clone(),
                    evidence_message(&f.evidence),
                ]
            })
            .collect(),
    );
    print_more(total, failing.len(), "driftwatch findings --status fail");

    let total: usize = reports.iter().map(|r| r.drift.len()).sum();
    let drift: Vec<_> = reports
        .iter()
        .flat_map(|r| r.drift.iter())
        .take(SUMMARY_ROWS)
        .map(|e| {
            vec![
                e.kind.as_str().to_string(),
                e.arn.clone(),
                describe_changes(&serde_json::to_value(&e.changes).unwrap_or_default()),
            ]
        })
        .collect();
    println!("\nDrift in this scan ({total})");
    let shown = drift.len();
    print_table(&["KIND", "RESOURCE", "CHANGES"], drift);
    print_more(total, shown, "driftwatch drift --since 1h");
    Ok(())
}

/// The first [`SUMMARY_ROWS`] failing findings in the listing's order, and
/// how many there are.
async fn first_failing(store: &Store) -> Result<(Vec<FindingRow>, usize)> {
    let shown = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Fail),
            limit: Some(SUMMARY_ROWS as i64),
            ..FindingFilter::default()
        })
        .await?;
    let total = store.count_findings(FindingStatus::Fail).await?;
    Ok((shown, usize::try_from(total).unwrap_or(usize::MAX)))
}

fn print_more(total: usize, shown: usize, command: &str) {
    if total > shown {
        println!("… and {} more: `{command}`", total - shown);
    }
}

/// One row per scope scanned, then each scope's errors in full (the table
/// has no room for them).
fn print_scopes(reports: &[ScopeReport]) {
    let count = |r: &ScopeReport, kind: TransitionKind| {
        r.transitions.iter().filter(|t| t.kind == kind).count()
    };
    let rows = reports
        .iter()
        .map(|r| {
            vec![
                r.scan_id.to_string(),
                r.scope.collector.clone(),
                format!("{} ({})", r.scope.account_name, r.scope.account_id),
                r.scope.region.clone(),
                r.status.as_str().to_string(),
                format!("{}/{}", r.resources - r.failed_resources, r.resources),
                r.drift.len().to_string(),
                count(r, TransitionKind::Regression).to_string(),
                count(r, TransitionKind::Resolution).to_string(),
            ]
        })
        .collect();
    println!("Scans");
    print_table(
        &[
            "SCAN",
            "COLLECTOR",
            "ACCOUNT",
            "REGION",
            "STATUS",
            "DESCRIBED",
            "DRIFT",
            "REGRESSIONS",
            "RESOLVED",
        ],
        rows,
    );
    // One paragraph per distinct error, naming every scope it stopped: an
    // account without credentials fails every collector the same way.
    let mut by_error: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    for r in reports {
        let Some(error) = &r.error else { continue };
        let scope = format!(
            "{} {} ({}) {}",
            r.scope.collector,
            r.scope.account_name,
            r.scope.region,
            r.status.as_str()
        );
        let short = format!("{} {}", r.scope.collector, r.scope.region);
        match by_error.iter_mut().find(|(e, _)| *e == error.as_str()) {
            Some((_, scopes)) => scopes.push((scope, short)),
            None => by_error.push((error, vec![(scope, short)])),
        }
    }
    for (error, scopes) in by_error {
        match scopes.as_slice() {
            [(one, _)] => println!("\n{one}:"),
            many => {
                let which: Vec<&str> = many.iter().map(|(_, short)| short.as_str()).collect();
                println!(
                    "\n{} scans failed the same way ({}):",
                    many.len(),
                    which.join(", ")
                );
            }
        }
        for line in error.lines() {
            println!("  ! {line}");
        }
    }
}

fn scan_json(reports: &[ScopeReport]) -> serde_json::Value {
    serde_json::Value::Array(
        reports
            .iter()
            .map(|r| {
                serde_json::json!({
                    "scan_id": r.scan_id,
                    "collector": r.scope.collector,
                    "account_id": r.scope.account_id,
                    "account_name": r.scope.account_name,
                    "region": r.scope.region,
                    "status": r.status,
                    "error": r.error,
                    "resources": r.resources,
                    "failed_resources": r.failed_resources,
                    "drift": r.drift.iter().map(|e| serde_json::json!({
                        "arn": e.arn, "kind": e.kind, "changes": e.changes,
                    })).collect::<Vec<_>>(),
                    "transitions": r.transitions,
                })
            })
            .collect(),
    )
}
