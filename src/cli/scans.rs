//! `driftwatch scans`: the recent scans, with their status and errors.

use super::output::{Format, first_line, print_json, print_table};
use crate::store::Store;
use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..=100_000), allow_negative_numbers = true)]
    pub limit: i64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub(super) async fn run(args: Args, store: &Store) -> Result<ExitCode> {
    let scans = store.scans(args.limit).await?;
    match args.format {
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
                        s.status.to_string(),
                        format!("{}/{}", s.resource_count - s.failed_count, s.resource_count),
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
