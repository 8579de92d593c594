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
    #[arg(long, allow_hyphen_values = true, value_parser = parse_date)]
    pub date: Option<chrono::NaiveDate>,
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
    let known: Vec<String> = crate::frameworks::every(&config.custom)
        .into_iter()
        .map(|f| f.id)
        .collect();
    if let Some(unknown) = args.framework.iter().find(|id| !known.contains(id)) {
        bail!(
            "--framework {unknown}: no such framework (known: {})",
            known.join(", ")
        );
    }
    let now = Utc::now();
    let date = args.date.unwrap_or_else(|| now.date_naive());
    sync_config_waivers(config, store).await?;
    let mut formats = Vec::new();
    for name in &args.format {
        formats.push(
            report::Format::parse(name)
                .with_context(|| format!("--format `{name}` is not one of html, json, csv, md"))?,
        );
    }
    let built = report::report_for(store, &config.custom, date, now)
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
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            format
                .write(&built, &mut out)
                .and_then(|()| std::io::Write::flush(&mut out))
                .context("writing the report to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--date`: `YYYY-MM-DD`, in years a report can be about.
fn parse_date(text: &str) -> std::result::Result<chrono::NaiveDate, String> {
    use chrono::Datelike;
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not YYYY-MM-DD"))?;
    if !(1970..=9999).contains(&date.year()) {
        return Err(format!("`{text}`: the year must be between 1970 and 9999"));
    }
    Ok(date)
}
