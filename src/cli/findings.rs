//! `driftwatch findings`: the current evaluations, failing ones by default.

use super::output::{Format, JsonArray, evidence_message, print_table};
use crate::evaluate::FindingStatus;
use crate::store::{FindingCursor, FindingFilter, Store};
use anyhow::Result;
use clap::ValueEnum;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which status to show; `all` for every evaluation.
    #[arg(long, default_value = "fail")]
    pub status: StatusFilter,
    #[arg(long)]
    pub control: Option<String>,
    /// One resource, by its ARN.
    #[arg(long)]
    pub arn: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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

/// Rows read per query when streaming JSON.
const PAGE: i64 = 1000;

pub(super) async fn run(args: Args, store: &Store) -> Result<ExitCode> {
    let mut filter = FindingFilter {
        status: args.status.status(),
        control_id: args.control,
        account_id: args.account,
        arn: args.arn,
        ..FindingFilter::default()
    };
    match args.format {
        Format::Json => {
            filter.limit = Some(PAGE);
            let mut out = JsonArray::start()?;
            loop {
                let page = store.findings(&filter).await?;
                for finding in &page {
                    out.push(finding)?;
                }
                match page.last() {
                    Some(last) if page.len() as i64 == PAGE => {
                        filter.after = Some(FindingCursor::after(last));
                    }
                    _ => break,
                }
            }
            out.finish()?;
        }
        Format::Table => {
            let findings = store.findings(&filter).await?;
            let rows = findings
                .iter()
                .map(|f| {
                    vec![
                        f.severity.to_string(),
                        f.control_id.clone(),
                        match f.waiver_id {
                            Some(id) => format!("waived (#{id})"),
                            None => f.status.to_string(),
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
                    "SEVERITY", "CONTROL", "STATUS", "RESOURCE", "ACCOUNT", "SINCE", "EVIDENCE",
                ],
                rows,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
