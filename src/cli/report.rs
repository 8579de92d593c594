//! `driftwatch report`: a day's compliance report, built from what is
//! stored, printed or written as files.

use super::waivers::sync_config_waivers;
use crate::config::Config;
use crate::report;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use chrono::Utc;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// YYYY-MM-DD; default today (in progress).
    #[arg(long)]
    pub date: Option<String>,
    /// html, json, csv or md; repeat or separate with commas.
    #[arg(long, value_delimiter = ',', default_value = "html")]
    pub format: Vec<String>,
    /// Write `driftwatch-report-<date>.<ext>` files here instead of
    /// printing one format to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these frameworks' sections (soc2, pci-dss-4.0,
    /// cis-aws-5.0; repeat or separate with commas); default all.
    #[arg(long, value_delimiter = ',')]
    pub framework: Vec<String>,
}

pub(super) async fn run(args: Args, config: &Config, store: &Store) -> Result<ExitCode> {
    if let Some(unknown) = args
        .framework
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
    let date = match args.date {
        Some(text) => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .with_context(|| format!("--date `{text}` is not YYYY-MM-DD"))?,
        None => now.date_naive(),
    };
    let mut formats = Vec::new();
    for name in &args.format {
        formats.push(
            report::Format::parse(name)
                .with_context(|| format!("--format `{name}` is not one of html, json, csv, md"))?,
        );
    }
    let built = report::report_for(store, date, now)
        .await
        .with_context(|| format!("building the report of {date}"))?
        .with_frameworks(&args.framework);
    match args.out {
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
