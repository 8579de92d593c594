//! `driftwatch config check`: the config loads (its errors are reported by
//! loading it), and what it amounts to.

use crate::config::Config;
use crate::store::redact_url;
use clap::Subcommand;
use secrecy::ExposeSecret;
use std::path::Path;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Validate the config file and report every error with its field.
    Check,
}

/// `path` is the file `config` was loaded from, if any.
pub(super) fn check(path: Option<&Path>, config: &Config) -> ExitCode {
    let origin = path
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
            .as_ref()
            .map(|url| redact_url(url.expose_secret()))
            .unwrap_or_else(|| "local PostgreSQL (embedded default)".into())
    );
    ExitCode::SUCCESS
}
