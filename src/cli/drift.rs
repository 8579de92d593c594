//! `driftwatch drift`: the drift events stored, by time and resource.

use super::output::{Format, JsonArray, describe_changes, print_table};
use crate::store::{DriftCursor, DriftFilter, Store};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only events detected at or after this time (RFC 3339), or within
    /// this long ago (`24h`, `7d`, `30m`).
    #[arg(long, allow_hyphen_values = true, value_parser = since_flag)]
    pub since: Option<DateTime<Utc>>,
    #[arg(long)]
    pub arn: Option<String>,
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(i64).range(1..=100_000), allow_negative_numbers = true)]
    pub limit: i64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Rows read per query when streaming JSON.
const PAGE: i64 = 1000;

pub(super) async fn run(args: Args, store: &Store) -> Result<ExitCode> {
    let mut filter = DriftFilter {
        since: args.since,
        arn: args.arn,
        limit: args.limit,
        after: None,
    };
    match args.format {
        Format::Json => {
            // Page by page up to --limit, so a long history is never held.
            let mut left = args.limit;
            let mut out = JsonArray::start()?;
            while left > 0 {
                filter.limit = left.min(PAGE);
                let page = store.drift_events(&filter).await?;
                for event in &page {
                    out.push(event)?;
                }
                left -= page.len() as i64;
                match page.last() {
                    Some(last) if page.len() as i64 == filter.limit => {
                        filter.after = Some(DriftCursor::after(last));
                    }
                    _ => break,
                }
            }
            out.finish()?;
        }
        Format::Table => {
            let events = store.drift_events(&filter).await?;
            let rows = events
                .iter()
                .map(|e| {
                    vec![
                        e.detected_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.kind.to_string(),
                        e.arn.clone(),
                        e.actor_text().to_string(),
                        describe_changes(&e.changes),
                    ]
                })
                .collect();
            print_table(&["DETECTED", "KIND", "RESOURCE", "ACTOR", "CHANGES"], rows);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`, checked before anything else runs.
fn since_flag(text: &str) -> std::result::Result<DateTime<Utc>, String> {
    parse_since(text).map_err(|e| format!("{e:#}"))
}

fn parse_since(text: &str) -> Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let amount: i64 = number
        .parse()
        .with_context(|| format!("`{text}`: expected RFC 3339 or a duration like 24h, 7d, 30m"))?;
    let delta = match unit {
        "m" => chrono::Duration::try_minutes(amount),
        "h" => chrono::Duration::try_hours(amount),
        "d" => chrono::Duration::try_days(amount),
        _ => bail!("`{text}`: unit must be m, h or d"),
    };
    // Drift older than a century cannot be kept (retention.days stops
    // there), so asking further back is a typo, not a query.
    let century = chrono::Duration::days(36_500);
    match delta {
        Some(delta) if delta <= century => Ok(Utc::now() - delta),
        _ => bail!("`{text}`: at most 36500d (100 years) back"),
    }
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
        for too_far in [
            "100000000d",
            "36501d",
            "9999999999999999h",
            "99999999999999999999m",
        ] {
            assert!(parse_since(too_far).is_err(), "{too_far}");
        }
        assert!(parse_since("36500d").is_ok());
    }
}
