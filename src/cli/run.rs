//! `driftwatch run`: the daemon, until SIGTERM or SIGINT.

use super::Database;
use crate::config::Config;
use crate::store::Store;
use anyhow::{Context, Result};
use secrecy::ExposeSecret;
use std::process::ExitCode;

/// With an external database the daemon starts even while it is
/// unreachable (not ready, retrying); the local one is started first.
pub(super) async fn run(config: Config) -> Result<ExitCode> {
    let database = match &config.database.url {
        Some(url) => Database {
            store: Store::connect_lazy(url.expose_secret(), config.database.max_connections)?,
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
    wait_for_shutdown(&daemon).await?;
    tracing::info!("shutdown requested");
    daemon.shutdown().await;
    database.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Until SIGTERM (what orchestrators send) or SIGINT (Ctrl-C); each SIGHUP
/// meanwhile reloads the custom controls.
async fn wait_for_shutdown(daemon: &crate::daemon::RunningDaemon) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("listening for SIGHUP")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            result = tokio::signal::ctrl_c() => return result.context("listening for SIGINT"),
            _ = hangup.recv() => {
                // Refusals are logged by the reload; the daemon goes on.
                let _ = daemon.reload_custom_controls();
            }
        }
    }
}
