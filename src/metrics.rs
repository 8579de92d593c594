//! Process metrics in the Prometheus text exposition format.
//!
//! Counters and histograms of what this replica did live here; figures that
//! belong to the whole deployment (findings by status, drift, the job
//! queue) are read from the store at scrape time and rendered alongside.

use crate::scan::ScopeReport;
use crate::store::jobs::StoredFigures;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds (seconds) of the scan duration histogram.
const DURATION_BUCKETS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, value: f64) {
        for (bucket, bound) in self.counts.iter_mut().zip(DURATION_BUCKETS) {
            if value <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += value;
    }
}

#[derive(Default)]
struct Inner {
    /// (collector, status) → scans recorded.
    scans: BTreeMap<(String, String), u64>,
    durations: BTreeMap<String, Histogram>,
    last_finished: BTreeMap<String, f64>,
    /// (collector, kind) → AWS API failures that survived the SDK's retries.
    api_errors: BTreeMap<(String, &'static str), u64>,
    /// outcome → jobs (completed, lost, released, failed).
    jobs: BTreeMap<&'static str, u64>,
    /// outcome → change events (changed, duplicate, read_only, refused,
    /// not_collected, other_account, malformed, describe_failed, failed).
    change_events: BTreeMap<&'static str, u64>,
    /// Receives from an event queue that failed (each retried).
    event_receive_errors: u64,
    store_errors: u64,
    prunes: u64,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Classifies an AWS error message (as collectors record them: `Code: message`).
fn error_kind(message: &str) -> &'static str {
    crate::collect::api_calls::error_text_kind(message).unwrap_or("error")
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a recorded scan: its outcome, duration and the AWS errors it
    /// recorded (one per failed listing or resource).
    pub fn observe_scan(&self, report: &ScopeReport, seconds: f64, finished_at_unix: f64) {
        let mut inner = self.lock();
        let collector = report.scope.collector.clone();
        *inner
            .scans
            .entry((collector.clone(), report.status.as_str().to_string()))
            .or_default() += 1;
        inner
            .durations
            .entry(collector.clone())
            .or_default()
            .observe(seconds);
        inner
            .last_finished
            .insert(collector.clone(), finished_at_unix);
        if let Some(error) = &report.error {
            for line in error.lines() {
                *inner
                    .api_errors
                    .entry((collector.clone(), error_kind(line)))
                    .or_default() += 1;
            }
        }
    }

    pub fn job(&self, outcome: &'static str) {
        *self.lock().jobs.entry(outcome).or_default() += 1;
    }

    pub fn change_event(&self, outcome: &'static str) {
        *self.lock().change_events.entry(outcome).or_default() += 1;
    }

    pub fn event_receive_error(&self) {
        self.lock().event_receive_errors += 1;
    }

    pub fn store_error(&self) {
        self.lock().store_errors += 1;
    }

    pub fn prune(&self) {
        self.lock().prunes += 1;
    }

    /// The exposition text. `stored` is `None` when the database could not
    /// be read for this scrape (then `driftwatch_database_up` is 0).
    pub fn render(&self, stored: Option<&StoredFigures>) -> String {
        let inner = self.lock();
        let mut out = String::new();
        render_scans(&inner, &mut out);
        render_replica(&inner, &mut out);
        let mut lines = Vec::new();
        let name = family(
            &mut out,
            "driftwatch_database_up",
            "gauge",
            "1 when this scrape could read the database.",
        );
        lines.push(format!("{name} {}", u8::from(stored.is_some())));
        flush(&mut out, &mut lines);

        if let Some(stored) = stored {
            render_stored(stored, &mut out);
        }
        out
    }
}

/// This replica's scans: counts, durations, last finish per collector.
fn render_scans(inner: &Inner, out: &mut String) {
    let mut lines = Vec::new();
    let name = family(
        out,
        "driftwatch_scans_total",
        "counter",
        "Scans recorded by this replica, by collector and status (ok, partial, failed).",
    );
    for ((collector, status), n) in &inner.scans {
        lines.push(format!(
            "{name}{{collector=\"{}\",status=\"{}\"}} {n}",
            escape(collector),
            escape(status)
        ));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_scan_duration_seconds",
        "histogram",
        "Wall time of one scope's collection and recording.",
    );
    for (collector, h) in &inner.durations {
        let c = escape(collector);
        for (bound, n) in DURATION_BUCKETS.iter().zip(h.counts) {
            lines.push(format!(
                "{name}_bucket{{collector=\"{c}\",le=\"{bound}\"}} {n}"
            ));
        }
        lines.push(format!(
            "{name}_bucket{{collector=\"{c}\",le=\"+Inf\"}} {}",
            h.count
        ));
        lines.push(format!("{name}_sum{{collector=\"{c}\"}} {}", h.sum));
        lines.push(format!("{name}_count{{collector=\"{c}\"}} {}", h.count));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_scan_last_finished_timestamp_seconds",
        "gauge",
        "When this replica last recorded a scan of the collector (Unix time).",
    );
    for (collector, at) in &inner.last_finished {
        lines.push(format!(
            "{name}{{collector=\"{}\"}} {at}",
            escape(collector)
        ));
    }
    flush(out, &mut lines);
}

/// This replica's AWS calls, jobs and database errors.
fn render_replica(inner: &Inner, out: &mut String) {
    let mut lines = Vec::new();
    let name = family(
        out,
        "driftwatch_aws_api_errors_total",
        "counter",
        "AWS API failures recorded in scans after the SDK's retries, by collector and kind (throttle, access_denied, error).",
    );
    for ((collector, kind), n) in &inner.api_errors {
        lines.push(format!(
            "{name}{{collector=\"{}\",kind=\"{kind}\"}} {n}",
            escape(collector)
        ));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_aws_api_calls_total",
        "counter",
        "AWS API attempts by service and outcome (ok, not_found, throttle, access_denied, client_error, server_error, transport_error), retries included.",
    );
    for (service, outcome, n) in crate::collect::api_calls::snapshot() {
        lines.push(format!(
            "{name}{{service=\"{service}\",outcome=\"{outcome}\"}} {n}"
        ));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_jobs_total",
        "counter",
        "Scheduled jobs this replica ended, by outcome (completed, lost, released, failed).",
    );
    for (outcome, n) in &inner.jobs {
        lines.push(format!("{name}{{outcome=\"{outcome}\"}} {n}"));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_change_events_total",
        "counter",
        "CloudTrail events this replica took from its queues, by outcome (changed, duplicate, read_only, refused, not_collected, other_account, malformed, describe_failed, failed).",
    );
    for (outcome, n) in &inner.change_events {
        lines.push(format!("{name}{{outcome=\"{outcome}\"}} {n}"));
    }
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_event_receive_errors_total",
        "counter",
        "Receives from an event queue that failed (the queue unreachable or refusing; each retried).",
    );
    lines.push(format!("{name} {}", inner.event_receive_errors));
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_store_errors_total",
        "counter",
        "Database errors met by the scheduler and workers (each retried).",
    );
    lines.push(format!("{name} {}", inner.store_errors));
    flush(out, &mut lines);

    let name = family(
        out,
        "driftwatch_retention_runs_total",
        "counter",
        "Retention prunes completed by this replica.",
    );
    lines.push(format!("{name} {}", inner.prunes));
    flush(out, &mut lines);
}

/// What the database holds: findings, drift, the job queue, the outbox.
fn render_stored(stored: &StoredFigures, out: &mut String) {
    let mut lines = Vec::new();
    for (name, by, rows) in [
        ("driftwatch_findings", "control", &stored.findings),
        (
            "driftwatch_account_findings",
            "account",
            &stored.account_findings,
        ),
    ] {
        let name = family(
            out,
            name,
            "gauge",
            &format!("Current findings by {by} and status (pass, fail, unknown)."),
        );
        for (key, status, n) in rows {
            lines.push(format!(
                "{name}{{{by}=\"{}\",status=\"{}\"}} {n}",
                escape(key),
                escape(status)
            ));
        }
        flush(out, &mut lines);
    }
    let name = family(
        out,
        "driftwatch_drift_events_total",
        "counter",
        "Drift events stored, by kind (created, modified, deleted).",
    );
    for (kind, n) in &stored.drift_events {
        lines.push(format!("{name}{{kind=\"{}\"}} {n}", escape(kind)));
    }
    flush(out, &mut lines);
    let name = family(
        out,
        "driftwatch_scan_jobs",
        "gauge",
        "Scheduled jobs in the shared queue, by state (pending, running, done).",
    );
    for (state, n) in &stored.jobs {
        lines.push(format!("{name}{{state=\"{}\"}} {n}", escape(state)));
    }
    flush(out, &mut lines);
    let name = family(
        out,
        "driftwatch_scan_jobs_oldest_pending_seconds",
        "gauge",
        "How long the oldest due job has waited for a replica (0 when none waits): too few workers, or none alive.",
    );
    lines.push(format!("{name} {}", stored.oldest_pending_job_seconds));
    flush(out, &mut lines);
    let name = family(
        out,
        "driftwatch_alert_outbox",
        "gauge",
        "Alerts in the outbox, by state (pending: not yet accepted by the receiver; failed: refused with a 4xx).",
    );
    let outbox = &stored.outbox;
    for (state, n) in [
        ("pending", outbox.pending),
        ("delivered", outbox.delivered),
        ("failed", outbox.failed),
    ] {
        lines.push(format!("{name}{{state=\"{state}\"}} {n}"));
    }
    flush(out, &mut lines);
    let name = family(
        out,
        "driftwatch_alert_oldest_pending_seconds",
        "gauge",
        "Age of the oldest undelivered alert (0 when none): a receiver outage shows here.",
    );
    lines.push(format!("{name} {}", outbox.oldest_pending_seconds));
    flush(out, &mut lines);
}

fn family(out: &mut String, name: &'static str, kind: &str, help: &str) -> &'static str {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name
}

fn flush(out: &mut String, lines: &mut Vec<String>) {
    for line in lines.drain(..) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// Label values escaped as the exposition format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_their_aws_code() {
        assert_eq!(
            error_kind("ListBuckets: SlowDown: Please reduce"),
            "throttle"
        );
        assert_eq!(
            error_kind("x: ThrottlingException: Rate exceeded"),
            "throttle"
        );
        assert_eq!(
            error_kind("DescribeVpcs: UnauthorizedOperation: You are not"),
            "access_denied"
        );
        assert_eq!(error_kind("GetLifecyclePolicy: InternalError"), "error");
    }

    #[test]
    fn label_values_cannot_break_the_format() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
