//! `driftwatch controls`: the control catalog (built-in, then the custom
//! controls the config loads), or one framework's requirements with the
//! controls that evidence them. Needs no database.

use super::output::{print_json, print_table};
use crate::config::Config;
use crate::evaluate::CustomControls;
use crate::frameworks;
use crate::report::catalog;
use anyhow::{Result, bail};
use clap::ValueEnum;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    Table,
    Json,
    /// The Markdown of `docs/controls.md` (the whole catalog).
    Md,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    /// A framework id: soc2, pci-dss-4.0, cis-aws-5.0.
    #[arg(long)]
    pub framework: Option<String>,
    #[arg(long, value_enum, default_value_t = CatalogFormat::Table)]
    pub format: CatalogFormat,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Run the custom controls' tests: each module's `test_*` rules and
    /// each control's fixtures (`tests/<module>/*.json` beside it). Exits
    /// 1 when any fails, for a team's CI.
    Test {
        /// Files or folders of `.rego` modules; default: the config's
        /// `custom_controls.paths`.
        paths: Vec<PathBuf>,
    },
}

/// `controls test`: loads the modules (a load problem fails the run, each
/// named), runs every test, prints one line each and a summary.
pub(super) fn test(paths: &[PathBuf], config: &Config) -> Result<ExitCode> {
    let paths = if paths.is_empty() {
        config.custom_controls.paths.clone()
    } else {
        paths.to_vec()
    };
    if paths.is_empty() {
        bail!("no custom controls to test: give a path, or set custom_controls.paths");
    }
    let timeout = std::time::Duration::from_millis(config.custom_controls.timeout_ms);
    let custom =
        match CustomControls::load(&paths, timeout, |id| crate::evaluate::control(id).is_some()) {
            Ok(custom) => custom,
            Err(issues) => {
                for issue in &issues {
                    eprintln!("error: {issue}");
                }
                bail!("{} problem(s) loading the custom controls", issues.len());
            }
        };
    let outcomes = custom.run_tests();
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    for outcome in &outcomes {
        match &outcome.failure {
            None => println!("PASS {}", outcome.name),
            Some(why) => println!("FAIL {} ({}): {why}", outcome.name, outcome.file.display()),
        }
    }
    println!(
        "{} controls, {} tests: {} passed, {failed} failed",
        custom.iter().count(),
        outcomes.len(),
        outcomes.len() - failed
    );
    Ok(if failed == 0 && !outcomes.is_empty() {
        ExitCode::SUCCESS
    } else {
        if outcomes.is_empty() {
            eprintln!("error: no tests found (no test_ rules, no fixtures)");
        }
        ExitCode::FAILURE
    })
}

pub(super) fn run(args: &Args, config: &Config) -> Result<()> {
    let custom = &config.custom;
    let framework = match args.framework.as_deref() {
        Some(id) => match frameworks::framework(id) {
            Some(f) => Some(frameworks::with_custom(f, custom)),
            None => bail!(
                "--framework {id}: no such framework (known: {})",
                frameworks::ids().join(", ")
            ),
        },
        None => None,
    };
    match (framework, args.format) {
        (_, CatalogFormat::Md) => print!("{}", catalog::markdown()),
        (None, CatalogFormat::Json) => print_json(&catalog::controls_json(custom))?,
        (Some(f), CatalogFormat::Json) => print_json(&catalog::framework_json(&f))?,
        (None, CatalogFormat::Table) => {
            let (headers, rows) = catalog::controls_rows(custom);
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            print_table(&headers, rows);
        }
        (Some(f), CatalogFormat::Table) => {
            let covered = f.requirements.iter().filter(|r| r.covered()).count();
            println!(
                "{} — {covered} of {} requirements evidenced by a control",
                f.title,
                f.requirements.len()
            );
            let (headers, mut rows) = catalog::framework_rows(&f);
            let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
            // Requirement texts run to paragraphs: a terminal line shows
            // their start (the JSON and Markdown keep them whole).
            for row in &mut rows {
                if let Some(title) = row.get_mut(1) {
                    *title = shortened(title, 72);
                }
            }
            print_table(&headers, rows);
        }
    }
    Ok(())
}

fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}
