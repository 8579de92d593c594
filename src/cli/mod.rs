//! The `driftwatch` command line: the edge where errors get context and
//! become messages and exit codes.

mod controls;

use crate::alert::{self, plan::AlertPolicy, sinks::Sinks};
use crate::config::Config;
use crate::evaluate::FindingStatus;
use crate::report;
use crate::scan::{self, ScopeReport};
use crate::store::local::{self, LocalPostgres};
use crate::store::waivers::NewWaiver;
use crate::store::{DriftFilter, FindingFilter, ScanStatus, Store, redact_url};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "driftwatch",
    version,
    about = "Continuous AWS posture auditing: findings and drift, kept in PostgreSQL"
)]
pub struct Cli {
    /// Config file (TOML). Without one, built-in defaults apply and
    /// DRIFTWATCH_DATABASE_URL / AWS_* variables still override.
    #[arg(long, global = true, env = "DRIFTWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply database migrations (also done automatically by every command).
    Migrate,
    /// Scan every configured account once: collect, store, evaluate, diff.
    Scan {
        /// Run once and exit (the only mode of `scan`).
        #[arg(long)]
        once: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Print the AWS API calls made, per service and operation, to
        /// stderr when done (for benchmarks and IAM reviews).
        #[arg(long)]
        api_calls: bool,
    },
    /// List current findings.
    Findings {
        /// Which status to show; `all` for every evaluation.
        #[arg(long, default_value = "fail")]
        status: StatusFilter,
        #[arg(long)]
        control: Option<String>,
        #[arg(long)]
        account: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List drift events.
    Drift {
        /// Only events detected at or after this time (RFC 3339), or within
        /// this long ago (`24h`, `7d`, `30m`).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        arn: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List recent scans with their status and errors.
    Scans {
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Run as a service: scan on each collector's cron schedule, serve
    /// /healthz, /readyz, /metrics and the JSON API, prune old history.
    /// Stops on SIGTERM or SIGINT within `daemon.grace_seconds`.
    Run,
    /// The compliance report of a day (UTC): from what is stored, the same
    /// document whenever a finished day is asked for again.
    Report {
        /// YYYY-MM-DD; default today (in progress).
        #[arg(long)]
        date: Option<String>,
        /// html, json, csv or md; repeat or separate with commas.
        #[arg(long, value_delimiter = ',', default_value = "html")]
        format: Vec<String>,
        /// Write `driftwatch-report-<date>.<ext>` files here instead of
        /// printing one format to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only these frameworks' sections (soc2, pci-dss-4.0,
        /// cis-aws-5.0; repeat or separate with commas); default all.
        #[arg(long, value_delimiter = ',')]
        framework: Vec<String>,
    },
    /// Record a documented exception: the failing control on this resource
    /// reports as waived (not pass) until the waiver expires.
    Waive {
        /// Control id, e.g. s3.access_logging.
        control: String,
        /// The resource's ARN.
        resource: String,
        /// The justification an auditor reads.
        #[arg(long)]
        reason: String,
        /// Expiry: YYYY-MM-DD (end of that day, UTC) or an RFC 3339 time.
        #[arg(long)]
        until: String,
        /// Who approved the exception.
        #[arg(long)]
        by: String,
    },
    /// End a waiver before its expiry.
    Unwaive {
        id: i64,
        #[arg(long)]
        by: String,
    },
    /// List waivers: in force, or with --all every one ever recorded.
    Waivers {
        #[arg(long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List queued and sent alerts (the outbox), newest first.
    Alerts {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The control catalog, or with --framework one framework's
    /// requirements, the controls that evidence each, and what no control
    /// covers.
    Controls {
        /// A framework id: soc2, pci-dss-4.0, cis-aws-5.0.
        #[arg(long)]
        framework: Option<String>,
        #[arg(long, value_enum, default_value_t = controls::CatalogFormat::Table)]
        format: controls::CatalogFormat,
    },
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate the config file and report every error with its field.
    Check,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Fail,
    Pass,
    Unknown,
    All,
}

impl StatusFilter {
    fn status(self) -> Option<FindingStatus> {
        match self {
            StatusFilter::Fail => Some(FindingStatus::Fail),
            StatusFilter::Pass => Some(FindingStatus::Pass),
            StatusFilter::Unknown => Some(FindingStatus::Unknown),
            StatusFilter::All => None,
        }
    }
}

/// Exit code when every collection failed: nothing was scanned.
const EXIT_NOTHING_SCANNED: u8 = 2;

pub async fn run(cli: Cli) -> Result<ExitCode> {
    // The catalog is the same whatever the config says.
    if let Command::Controls { framework, format } = &cli.command {
        controls::run(framework.as_deref(), *format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(cli.config.as_deref())?;
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        let origin = cli
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in defaults".into());
        println!("{origin}: ok");
        println!(
            "  accounts: {}, collectors enabled: {}, database: {}",
            config.effective_accounts().len(),
            config.enabled_collectors().len(),
            config
                .database
                .url
                .as_deref()
                .map(redact_url)
                .unwrap_or_else(|| "local PostgreSQL (embedded default)".into())
        );
        return Ok(ExitCode::SUCCESS);
    }

    if let Command::Run = cli.command {
        return run_daemon(config).await;
    }
    let database = Database::open(&config).await?;
    let result = run_with_store(cli.command, &config, &database.store).await;
    database.close().await;
    result
}

async fn run_with_store(command: Command, config: &Config, store: &Store) -> Result<ExitCode> {
    match command {
        Command::Migrate => {
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Scan {
            once,
            format,
            api_calls,
        } => {
            if !once {
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
            if api_calls {
                eprintln!("api calls (service operation outcome count):");
                for (service, operation, outcome, n) in crate::collect::api_calls::operations() {
                    eprintln!("  {service} {operation} {outcome} {n}");
                }
            }
            match format {
                Format::Json => print_json(&scan_json(&reports))?,
                Format::Table => print_scan_summary(store, &reports).await?,
            }
            let all_failed =
                !reports.is_empty() && reports.iter().all(|r| r.status == ScanStatus::Failed);
            Ok(if all_failed {
                ExitCode::from(EXIT_NOTHING_SCANNED)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Findings {
            status,
            control,
            account,
            format,
        } => {
            let filter = FindingFilter {
                status: status.status(),
                control_id: control,
                account_id: account,
                arn: None,
            };
            let findings = store.findings(&filter).await?;
            match format {
                Format::Json => print_json(&findings)?,
                Format::Table => {
                    let rows = findings
                        .iter()
                        .map(|f| {
                            vec![
                                f.severity.clone(),
                                f.control_id.clone(),
                                match f.waiver_id {
                                    Some(id) => format!("waived (#{id})"),
                                    None => f.status.clone(),
                                },
                                f.arn.clone(),
                                f.account_id.clone(),
                                f.status_since.format("%Y-%m-%d %H:%M").to_string(),
                                evidence_message(&f.evidence),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "SEVERITY", "CONTROL", "STATUS", "RESOURCE", "ACCOUNT", "SINCE",
                            "EVIDENCE",
                        ],
                        rows,
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Drift {
            since,
            arn,
            limit,
            format,
        } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let events = store
                .drift_events(&DriftFilter { since, arn, limit })
                .await?;
            match format {
                Format::Json => print_json(&events)?,
                Format::Table => {
                    let rows = events
                        .iter()
                        .map(|e| {
                            vec![
                                e.detected_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                                e.kind.clone(),
                                e.arn.clone(),
                                describe_changes(&e.changes),
                            ]
                        })
                        .collect();
                    print_table(&["DETECTED", "KIND", "RESOURCE", "CHANGES"], rows);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scans { limit, format } => {
            let scans = store.scans(limit).await?;
            match format {
                Format::Json => print_json(&scans)?,
                Format::Table => {
                    let rows = scans
                        .iter()
                        .map(|s| {
                            vec![
                                s.id.to_string(),
                                s.finished_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                                s.collector.clone(),
                                format!("{} ({})", s.account_name, s.account_id),
                                s.region.clone(),
                                s.status.clone(),
                                format!(
                                    "{}/{}",
                                    s.resource_count - s.failed_count,
                                    s.resource_count
                                ),
                                s.error.as_deref().map(first_line).unwrap_or_default(),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "SCAN",
                            "FINISHED",
                            "COLLECTOR",
                            "ACCOUNT",
                            "REGION",
                            "STATUS",
                            "DESCRIBED",
                            "ERROR",
                        ],
                        rows,
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            date,
            format,
            out,
            framework,
        } => {
            if let Some(unknown) = framework
                .iter()
                .find(|id| crate::frameworks::framework(id).is_none())
            {
                bail!(
                    "--framework {unknown}: no such framework (known: {})",
                    crate::frameworks::ids().join(", ")
                );
            }
            sync_config_waivers(config, store).await?;
            let now = Utc::now();
            let date = match date {
                Some(text) => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                    .with_context(|| format!("--date `{text}` is not YYYY-MM-DD"))?,
                None => now.date_naive(),
            };
            let mut formats = Vec::new();
            for name in &format {
                formats.push(report::Format::parse(name).with_context(|| {
                    format!("--format `{name}` is not one of html, json, csv, md")
                })?);
            }
            let built = report::report_for(store, date, now)
                .await
                .with_context(|| format!("building the report of {date}"))?
                .with_frameworks(&framework);
            match out {
                Some(dir) => {
                    for path in report::write_files(&built, &formats, &dir)? {
                        println!("{}", path.display());
                    }
                }
                None => {
                    let [format] = formats[..] else {
                        bail!("printing to stdout takes one --format; give --out DIR for several");
                    };
                    print!("{}", format.render(&built));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Waive {
            control,
            resource,
            reason,
            until,
            by,
        } => {
            if crate::evaluate::control(&control).is_none() {
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
                AlertPolicy::from_config(&config.alerts).as_ref(),
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
        Command::Unwaive { id, by } => {
            let revoked = crate::waive::revoke(
                store,
                id,
                &by,
                Utc::now(),
                AlertPolicy::from_config(&config.alerts).as_ref(),
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
                None => bail!("no waiver #{id} in force"),
            }
        }
        Command::Waivers { all, format } => {
            sync_config_waivers(config, store).await?;
            let now = Utc::now();
            let waivers: Vec<_> = store
                .waivers()
                .await?
                .into_iter()
                .filter(|w| all || w.in_force_at(now))
                .collect();
            match format {
                Format::Json => print_json(&waivers)?,
                Format::Table => {
                    let rows = waivers
                        .iter()
                        .map(|w| {
                            let state = if w.in_force_at(now) {
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
                            };
                            vec![
                                w.id.to_string(),
                                w.control_id.clone(),
                                w.resource_arn.clone(),
                                w.expires_at.format("%Y-%m-%d %H:%M").to_string(),
                                w.approved_by.clone(),
                                state,
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
        Command::Alerts { limit, format } => {
            let rows = store.outbox(limit).await?;
            match format {
                Format::Json => print_json(&rows)?,
                Format::Table => {
                    let table = rows
                        .iter()
                        .map(|a| {
                            vec![
                                a.id.to_string(),
                                a.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                                a.sink.clone(),
                                a.action.clone(),
                                a.state.clone(),
                                a.attempts.to_string(),
                                a.response_status.map(|s| s.to_string()).unwrap_or_default(),
                                a.summary.clone().unwrap_or_default(),
                                a.last_error.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "ID", "CREATED", "SINK", "ACTION", "STATE", "ATTEMPTS", "HTTP",
                            "SUMMARY", "ERROR",
                        ],
                        table,
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config { .. } | Command::Run | Command::Controls { .. } => {
            unreachable!("handled before the database is opened")
        }
    }
}

/// Records the config file's `[[waivers]]` (new ones added, removed ones
/// revoked) before anything reads waivers.
async fn sync_config_waivers(config: &Config, store: &Store) -> Result<()> {
    crate::waive::sync_config(store, &config.waivers, Utc::now())
        .await
        .context("recording the config file's waivers")?;
    Ok(())
}

/// A one-shot scan delivers what it queued, for at most a minute; what is
/// left stays queued for the next run or the daemon.
async fn deliver_alerts(config: &Config, store: &Store, sinks: Sinks) -> Result<()> {
    let sender = alert::Sender::new(
        store.clone(),
        sinks,
        AlertPolicy::from_config(&config.alerts),
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

/// The database in use: the configured server, or driftwatch's own.
/// `driftwatch run`: with an external database the daemon starts even while
/// it is unreachable (not ready, retrying); the local one is started first.
async fn run_daemon(config: Config) -> Result<ExitCode> {
    let database = match &config.database.url {
        Some(url) => Database {
            store: Store::connect_lazy(url, config.database.max_connections)?,
            local: None,
        },
        None => Database::open(&config).await?,
    };
    let daemon = crate::daemon::start(
        std::sync::Arc::new(config),
        database.store.clone(),
        crate::daemon::replica_name(),
    )
    .await
    .context("starting the daemon")?;
    shutdown_signal().await?;
    tracing::info!("shutdown requested");
    daemon.shutdown().await;
    database.close().await;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        _ = term.recv() => {}
        result = tokio::signal::ctrl_c() => result.context("listening for SIGINT")?,
    }
    Ok(())
}

/// The log format the config asks for; a config that does not load logs
/// in the human format (its errors are reported by the command itself).
pub fn log_format(cli: &Cli) -> crate::config::LogFormat {
    Config::load(cli.config.as_deref())
        .map(|c| c.logging.format)
        .unwrap_or_default()
}

struct Database {
    store: Store,
    local: Option<LocalPostgres>,
}

impl Database {
    async fn open(config: &Config) -> Result<Database> {
        let (url, local) = match &config.database.url {
            Some(url) => (url.clone(), None),
            None => {
                let data_dir = config.database.effective_data_dir();
                let dir = data_dir.clone();
                let server = tokio::task::spawn_blocking(move || LocalPostgres::start(&dir))
                    .await
                    .context("starting the local PostgreSQL")?
                    .with_context(|| {
                        format!("starting the local PostgreSQL in {}", data_dir.display())
                    })?;
                tracing::info!(data_dir = %data_dir.display(), port = server.port(), "using the local PostgreSQL");
                local::ensure_database(&server)
                    .await
                    .context("creating the driftwatch database in the local PostgreSQL")?;
                (server.url(), Some(server))
            }
        };
        let store = Store::connect(&url, config.database.max_connections).await?;
        store.migrate().await?;
        Ok(Database { store, local })
    }

    async fn close(self) {
        self.store.close().await;
        if let Some(server) = self.local
            && let Err(e) = tokio::task::spawn_blocking(move || server.stop())
                .await
                .map_err(anyhow::Error::from)
                .and_then(|r| r.map_err(anyhow::Error::from))
        {
            tracing::warn!(error = %e, "stopping the local PostgreSQL");
        }
    }
}

async fn print_scan_summary(store: &Store, reports: &[ScopeReport]) -> Result<()> {
    let rows = reports
        .iter()
        .map(|r| {
            let regressions = r
                .transitions
                .iter()
                .filter(|t| t.kind == crate::evaluate::lifecycle::TransitionKind::Regression)
                .count();
            let resolutions = r
                .transitions
                .iter()
                .filter(|t| t.kind == crate::evaluate::lifecycle::TransitionKind::Resolution)
                .count();
            vec![
                r.scan_id.to_string(),
                r.scope.collector.clone(),
                format!("{} ({})", r.scope.account_name, r.scope.account_id),
                r.scope.region.clone(),
                r.status.as_str().to_string(),
                format!("{}/{}", r.resources - r.failed_resources, r.resources),
                r.drift.len().to_string(),
                regressions.to_string(),
                resolutions.to_string(),
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
    for r in reports {
        if let Some(error) = &r.error {
            println!(
                "\n{} {} ({}) {}:",
                r.scope.collector,
                r.scope.account_name,
                r.scope.region,
                r.status.as_str()
            );
            for line in error.lines() {
                println!("  ! {line}");
            }
        }
    }

    let failing = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Fail),
            ..FindingFilter::default()
        })
        .await?;
    println!("\nFailing controls ({})", failing.len());
    print_table(
        &["SEVERITY", "CONTROL", "RESOURCE", "EVIDENCE"],
        failing
            .iter()
            .map(|f| {
                vec![
                    f.severity.clone(),
                    f.control_id.clone(),
                    f.arn.clone(),
                    evidence_message(&f.evidence),
                ]
            })
            .collect(),
    );

    let drift: Vec<_> = reports
        .iter()
        .flat_map(|r| r.drift.iter())
        .map(|e| {
            vec![
                e.kind.as_str().to_string(),
                e.arn.clone(),
                describe_changes(&serde_json::to_value(&e.changes).unwrap_or_default()),
            ]
        })
        .collect();
    println!("\nDrift in this scan ({})", drift.len());
    print_table(&["KIND", "RESOURCE", "CHANGES"], drift);
    Ok(())
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

fn evidence_message(evidence: &serde_json::Value) -> String {
    evidence
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string()
}

fn describe_changes(changes: &serde_json::Value) -> String {
    let Some(changes) = changes.as_array() else {
        return String::new();
    };
    let short = |v: Option<&serde_json::Value>| match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(39).collect::<String>())
            } else {
                text
            }
        }
    };
    changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.get("path").and_then(|p| p.as_str()).unwrap_or("?"),
                short(c.get("old")),
                short(c.get("new")),
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn first_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().to_string();
    match lines.count() {
        0 => first,
        more => format!("{first} (+{more} more)"),
    }
}

fn parse_since(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let amount: i64 = number.parse().with_context(|| {
        format!("--since `{text}`: expected RFC 3339 or a duration like 24h, 7d, 30m")
    })?;
    let delta = match unit {
        "m" => chrono::Duration::minutes(amount),
        "h" => chrono::Duration::hours(amount),
        "d" => chrono::Duration::days(amount),
        _ => bail!("--since `{text}`: unit must be m, h or d"),
    };
    Ok(Utc::now() - delta)
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Column-aligned text; control characters in values (which come from AWS
/// and could be hostile) are escaped so they cannot rewrite the terminal.
fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    if rows.is_empty() {
        println!("  (none)");
        return;
    }
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| {
                    cell.escape_debug()
                        .to_string()
                        .replace("\\\"", "\"")
                        .replace("\\'", "'")
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c.to_string()
                } else {
                    format!("{c:<width$}", width = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(headers.to_vec()));
    for row in &rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_durations_and_timestamps() {
        let an_hour_ago = parse_since("1h").expect("parses");
        assert!(
            (Utc::now() - an_hour_ago - chrono::Duration::hours(1))
                .num_seconds()
                .abs()
                < 5
        );
        assert_eq!(
            parse_since("2026-03-03T00:00:00Z")
                .expect("parses")
                .to_rfc3339(),
            "2026-03-03T00:00:00+00:00"
        );
        assert!(parse_since("3 weeks").is_err());
        assert!(parse_since("3w").is_err());
    }

    #[test]
    fn changes_are_summarised_per_path() {
        let changes =
            serde_json::json!([{"path": "policy", "old": {"Statement": []}, "new": null}]);
        assert_eq!(
            describe_changes(&changes),
            "policy: {\"Statement\":[]} → null"
        );
    }
}
