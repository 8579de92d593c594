//! `driftwatch drift`: the drift events stored, by time and resource.

use super::output::{Format, describe_changes, print_json, print_table};
use crate::store::{DriftFilter, Store};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only events detected at or after this time (RFC 3339), or within
    /// this long ago (`24h`, `7d`, `30m`).
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long)]
    pub arn: Option<String>,
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub(super) async fn run(args: Args, store: &Store) -> Result<ExitCode> {
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let events = store
        .drift_events(&DriftFilter {
            since,
            arn: args.arn,
            limit: args.limit,
        })
        .await?;
    match args.format {
        Format::Json => print_json(&events)?,
        Format::Table => {
            let rows = events
                .iter()
                .map(|e| {
                    vec![
                        e.detected_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.kind.to_string(),
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
}
