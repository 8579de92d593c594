//! The `driftwatch` command line: the edge where errors get context and
//! become messages and exit codes. One module per command, holding its
//! flags and its logic; `output` is what their listings share.

mod alerts;
mod config;
mod controls;
mod drift;
mod findings;
mod migrate;
mod output;
mod report;
mod run;
mod scan;
mod scans;
mod waivers;

pub use config::ConfigCommand;
pub use findings::StatusFilter;
pub use output::Format;

use crate::config::Config;
use crate::store::Store;
use crate::store::local::{self, LocalPostgres};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
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
    Scan(scan::Args),
    /// List current findings.
    Findings(findings::Args),
    /// List drift events.
    Drift(drift::Args),
    /// List recent scans with their status and errors.
    Scans(scans::Args),
    /// Run as a service: scan on each collector's cron schedule, serve
    /// /healthz, /readyz, /metrics and the JSON API, prune old history.
    /// Stops on SIGTERM or SIGINT within `daemon.grace_seconds`.
    Run,
    /// The compliance report of a day (UTC): from what is stored, the same
    /// document whenever a finished day is asked for again.
    Report(report::Args),
    /// Record a documented exception: the failing control on this resource
    /// reports as waived (not pass) until the waiver expires.
    Waive(waivers::WaiveArgs),
    /// End a waiver before its expiry.
    Unwaive(waivers::UnwaiveArgs),
    /// List waivers: in force, or with --all every one ever recorded.
    Waivers(waivers::ListArgs),
    /// List queued and sent alerts (the outbox), newest first.
    Alerts(alerts::Args),
    /// The control catalog, or with --framework one framework's
    /// requirements, the controls that evidence each, and what no control
    /// covers.
    Controls(controls::Args),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    if let Command::Controls(args) = &cli.command {
        match &args.action {
            Some(controls::Action::Test { paths }) => return controls::test(paths, &config),
            Some(controls::Action::Eval { .. }) => {}
            None => {
                controls::run(args, &config)?;
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => Ok(config::check(cli.config.as_deref(), &config)),
        Command::Run => run::run(config).await,
        command => {
            let database = Database::open(&config).await?;
            let result = run_with_store(command, &config, &database.store).await;
            database.close().await;
            result
        }
    }
}

async fn run_with_store(command: Command, config: &Config, store: &Store) -> Result<ExitCode> {
    match command {
        Command::Migrate => Ok(migrate::run()),
        Command::Scan(args) => scan::run(args, config, store).await,
        Command::Findings(args) => findings::run(args, store).await,
        Command::Drift(args) => drift::run(args, store).await,
        Command::Scans(args) => scans::run(args, store).await,
        Command::Report(args) => report::run(args, config, store).await,
        Command::Waive(args) => waivers::waive(args, config, store).await,
        Command::Unwaive(args) => waivers::unwaive(args, config, store).await,
        Command::Waivers(args) => waivers::list(args, config, store).await,
        Command::Alerts(args) => alerts::run(args, store).await,
        Command::Controls(controls::Args {
            action: Some(controls::Action::Eval { control, resource }),
            ..
        }) => controls::eval(&control, &resource, config, store).await,
        Command::Config { .. } | Command::Run | Command::Controls(_) => {
            unreachable!("handled before the database is opened")
        }
    }
}

/// The log format the config asks for; a config that does not load logs
/// in the human format (its errors are reported by the command itself).
pub fn log_format(cli: &Cli) -> crate::config::LogFormat {
    Config::load(cli.config.as_deref())
        .map(|c| c.logging.format)
        .unwrap_or_default()
}

/// The database in use: the configured server, or driftwatch's own.
struct Database {
    store: Store,
    local: Option<LocalPostgres>,
}

impl Database {
    async fn open(config: &Config) -> Result<Database> {
        let (url, local) = match &config.database.url {
            Some(url) => (url.expose_secret().to_string(), None),
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
