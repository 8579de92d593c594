//! `driftwatch alerts`: the outbox, queued and sent alerts, newest first.

use super::output::{Format, print_json, print_table};
use crate::store::Store;
use anyhow::Result;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000), allow_negative_numbers = true)]
    pub limit: i64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub(super) async fn run(args: Args, store: &Store) -> Result<ExitCode> {
    let rows = store.outbox(args.limit).await?;
    match args.format {
        Format::Json => print_json(&rows)?,
        Format::Table => {
            let table = rows
                .iter()
                .map(|a| {
                    vec![
                        a.id.to_string(),
                        a.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        a.sink.clone(),
                        a.action.to_string(),
                        a.state.to_string(),
                        a.attempts.to_string(),
                        a.response_status.map(|s| s.to_string()).unwrap_or_default(),
                        a.summary.clone().unwrap_or_default(),
                        a.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID", "CREATED", "SINK", "ACTION", "STATE", "ATTEMPTS", "HTTP", "SUMMARY",
                    "ERROR",
                ],
                table,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
