//! Report formats. Every function is pure over the model, so a stored
//! model renders byte-for-byte the same document again. Every string from
//! AWS or a user is escaped for its format: HTML by the maud template,
//! CSV by the csv writer, Markdown by `md`.

use super::{Counts, FrameworkSummary, Report, ReportFinding, ReportStatus, Summary};
use crate::evaluate::Severity;
use crate::evaluate::lifecycle::TransitionKind;
use crate::store::waivers::WaiverRow;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Value, json};
use std::fmt::Write;
use std::io;

fn pct(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}%"))
}

/// Compact JSON, cut to `max` characters for tables (the full evidence is
/// in the JSON and CSV formats).
fn brief(value: &Value, max: usize) -> String {
    cut_chars(value.to_string(), max)
}

/// `text` cut to `max` characters, an ellipsis saying so.
fn cut_chars(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}

fn severity_id(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 1,
        Severity::Low => 2,
        Severity::Medium => 3,
        Severity::High => 4,
        Severity::Critical => 5,
    }
}

/// One finding as an OCSF 1.1 Compliance Finding (class 2003).
pub fn ocsf_finding(report: &Report, finding: &ReportFinding) -> Value {
    let control = report.control(&finding.control_id);
    let (compliance_status, compliance_status_id) = match finding.status {
        ReportStatus::Pass => ("Pass", 1),
        ReportStatus::Fail | ReportStatus::Waived => ("Fail", 3),
        ReportStatus::Unknown => ("Unknown", 0),
    };
    // Finding status: New, Suppressed (waived), Resolved (passing).
    let (status, status_id) = match finding.status {
        ReportStatus::Fail => ("New", 1),
        ReportStatus::Waived => ("Suppressed", 3),
        ReportStatus::Pass => ("Resolved", 4),
        ReportStatus::Unknown => ("Unknown", 0),
    };
    let mut requirements: Vec<String> = Vec::new();
    if let Some(c) = control {
        requirements.extend(c.soc2.iter().map(|r| format!("SOC 2 {r}")));
        requirements.extend(c.pci_dss.iter().map(|r| format!("PCI DSS v4.0 {r}")));
    }
    json!({
        "class_uid": 2003,
        "class_name": "Compliance Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200301,
        "time": report.as_of.timestamp_millis(),
        "severity_id": severity_id(finding.severity),
        "severity": finding.severity,
        "status_id": status_id,
        "status": status,
        "metadata": {
            "version": "1.1.0",
            "product": { "name": "driftwatch", "vendor_name": "driftwatch", "version": env!("CARGO_PKG_VERSION") },
        },
        "finding_info": {
            "uid": format!("{}/{}/{}", finding.account_id, finding.control_id, finding.arn),
            "title": control.map(|c| c.title.as_str()).unwrap_or(""),
            "first_seen_time": finding.status_since.timestamp_millis(),
        },
        "compliance": {
            "control": finding.control_id,
            "standards": ["SOC 2", "PCI DSS v4.0"],
            "requirements": requirements,
            "status": compliance_status,
            "status_id": compliance_status_id,
        },
        "cloud": {
            "provider": "AWS",
            "account": { "uid": finding.account_id, "name": finding.account_name },
            "region": finding.region,
        },
        "resources": [{
            "uid": finding.arn,
            "name": finding.name,
            "type": finding.resource_type,
            "region": finding.region,
        }],
        "unmapped": {
            "driftwatch_status": finding.status,
            "status_since": finding.status_since,
            "evidence": finding.evidence,
            "waiver_id": finding.waiver_id,
        },
    })
}

/// The model, with findings as OCSF Compliance Findings
/// (docs/report-schema.md), written as it is serialised: one finding's
/// OCSF document in memory at a time.
pub fn write_json(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let document = JsonReport::of(report);
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

pub fn json(report: &Report) -> String {
    into_string(|out| write_json(report, out))
}

/// The report model's fields, findings replaced by their OCSF form. Every
/// field of [`Report`] is here (a test compares the two).
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    schema: &'a str,
    date: chrono::NaiveDate,
    period_start: chrono::DateTime<chrono::Utc>,
    period_end: chrono::DateTime<chrono::Utc>,
    as_of: chrono::DateTime<chrono::Utc>,
    complete: bool,
    generated_at: chrono::DateTime<chrono::Utc>,
    generator: &'a str,
    summary: &'a Summary,
    controls: &'a [super::ControlSummary],
    scopes: &'a [super::ScopeSummary],
    findings: OcsfFindings<'a>,
    new_failures: &'a [super::Change],
    resolved: &'a [super::Change],
    drift: &'a [super::DriftEntry],
    waivers_in_force: &'a [WaiverRow],
    waivers_ended: &'a [WaiverRow],
    coverage: &'a [super::Coverage],
    trend: &'a [super::TrendPoint],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    frameworks: &'a [FrameworkSummary],
}

impl<'a> JsonReport<'a> {
    fn of(report: &'a Report) -> JsonReport<'a> {
        JsonReport {
            schema: &report.schema,
            date: report.date,
            period_start: report.period_start,
            period_end: report.period_end,
            as_of: report.as_of,
            complete: report.complete,
            generated_at: report.generated_at,
            generator: &report.generator,
            summary: &report.summary,
            controls: &report.controls,
            scopes: &report.scopes,
            findings: OcsfFindings(report),
            new_failures: &report.new_failures,
            resolved: &report.resolved,
            drift: &report.drift,
            waivers_in_force: &report.waivers_in_force,
            waivers_ended: &report.waivers_ended,
            coverage: &report.coverage,
            trend: &report.trend,
            frameworks: &report.frameworks,
        }
    }
}

struct OcsfFindings<'a>(&'a Report);

impl serde::Serialize for OcsfFindings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        serializer.collect_seq(report.findings.iter().map(|f| ocsf_finding(report, f)))
    }
}

/// What a renderer wrote into memory, for callers that want a string.
fn into_string(render: impl FnOnce(&mut dyn io::Write) -> io::Result<()>) -> String {
    let mut buffer = Vec::new();
    // Writing into memory cannot fail, and every renderer writes UTF-8.
    let _ = render(&mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}

/// The CSV columns, in order: one row per finding.
const CSV_COLUMNS: [&str; 18] = [
    "date",
    "account_id",
    "account_name",
    "region",
    "resource_type",
    "resource_arn",
    "resource_name",
    "control_id",
    "severity",
    "status",
    "status_since",
    "soc2",
    "pci_dss",
    "waiver_id",
    "waiver_reason",
    "waiver_approved_by",
    "waiver_expires_at",
    "evidence",
];

/// A cell a spreadsheet would run as a formula is prefixed with `'`, so
/// that opening the evidence never executes it. RFC 4180 has no notion of
/// formulas: the CSV writer's quoting alone does not defuse them.
fn defuse_formula(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn csv_row(report: &Report, f: &ReportFinding) -> [String; CSV_COLUMNS.len()] {
    let control = report.control(&f.control_id);
    let waiver = f
        .waiver_id
        .and_then(|id| report.waivers_in_force.iter().find(|w| w.id == id));
    [
        report.date.to_string(),
        f.account_id.clone(),
        f.account_name.clone(),
        f.region.clone(),
        f.resource_type.clone(),
        f.arn.clone(),
        f.name.clone(),
        f.control_id.clone(),
        f.severity.to_string(),
        f.status.to_string(),
        f.status_since.to_rfc3339(),
        control.map(|c| c.soc2.join(" ")).unwrap_or_default(),
        control.map(|c| c.pci_dss.join(" ")).unwrap_or_default(),
        f.waiver_id.map(|id| id.to_string()).unwrap_or_default(),
        waiver.map(|w| w.reason.clone()).unwrap_or_default(),
        waiver.map(|w| w.approved_by.clone()).unwrap_or_default(),
        waiver
            .map(|w| w.expires_at.to_rfc3339())
            .unwrap_or_default(),
        f.evidence.text().to_string(),
    ]
}

/// RFC 4180 text (CRLF line ends, quotes only where a field needs them)
/// with every data cell defused, written row by row.
fn write_csv_document<const N: usize>(
    columns: &[&str; N],
    rows: impl IntoIterator<Item = [String; N]>,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    // The writer ends records with a bare LF unless told: RFC 4180 is CRLF.
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(columns)?;
    for row in rows {
        writer.write_record(row.map(defuse_formula))?;
    }
    writer.flush()
}

/// One row per finding (every evaluation as of the report time).
pub fn write_csv(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let rows = report.findings.iter().map(|f| csv_row(report, f));
    write_csv_document(&CSV_COLUMNS, rows, out)
}

pub fn csv(report: &Report) -> String {
    into_string(|out| write_csv(report, out))
}

pub(super) fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The report as Markdown; the failing resources, the one section as long
/// as the estate, are written row by row.
pub fn write_markdown(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut text = String::new();
    md_heading(&mut text, report);
    md_controls(&mut text, report);
    for framework in &report.frameworks {
        md_framework(&mut text, framework);
    }
    md_scopes(&mut text, report);
    out.write_all(text.as_bytes())?;
    text.clear();
    md_failing(out, report)?;
    md_waivers(&mut text, report);
    md_changes(&mut text, report);
    md_drift(&mut text, report);
    md_coverage(&mut text, report);
    md_trend(&mut text, report);
    out.write_all(text.as_bytes())
}

pub fn markdown(report: &Report) -> String {
    into_string(|out| write_markdown(report, out))
}

/// The title, the period and the summary figures in one sentence.
fn md_heading(out: &mut String, report: &Report) {
    let s = &report.summary;
    let _ = writeln!(out, "# driftwatch compliance report — {}\n", report.date);
    let _ = writeln!(
        out,
        "Period {} to {} (UTC); states as of {}{}. Generated {} by {}.\n",
        report.period_start.to_rfc3339(),
        report.period_end.to_rfc3339(),
        report.as_of.to_rfc3339(),
        if report.complete {
            ""
        } else {
            " (day in progress)"
        },
        report.generated_at.to_rfc3339(),
        report.generator
    );
    let _ = writeln!(
        out,
        "**Compliance {}** — {} pass, {} fail, {} waived, {} unknown over {} resources in {} \
         accounts. Scans: {} ok, {} partial, {} failed; {} scopes not scanned. {} drift events \
         ({} found by scan, no event received), {} new failures, {} resolved.\n",
        pct(s.compliance_percent),
        s.counts.pass,
        s.counts.fail,
        s.counts.waived,
        s.counts.unknown,
        s.resources,
        s.accounts,
        s.scans_ok,
        s.scans_partial,
        s.scans_failed,
        s.scopes_not_scanned,
        s.drift_events,
        s.drift_without_event,
        s.new_failures,
        s.resolved
    );
}

/// The pass, fail, waived, unknown and compliance cells of a row.
fn md_count_cells(counts: &Counts, compliance: Option<f64>) -> Vec<String> {
    let mut cells: Vec<String> = [counts.pass, counts.fail, counts.waived, counts.unknown]
        .iter()
        .map(|n| n.to_string())
        .collect();
    cells.push(pct(compliance));
    cells
}

const MD_COUNT_COLUMNS: [&str; 5] = ["pass:", "fail:", "waived:", "unknown:", "compliance:"];

fn md_controls(out: &mut String, report: &Report) {
    let columns: Vec<&str> = ["control", "SOC 2", "PCI DSS v4.0"]
        .into_iter()
        .chain(MD_COUNT_COLUMNS)
        .collect();
    let rows = report
        .controls
        .iter()
        .map(|c| {
            let mut cells = vec![c.id.clone(), c.soc2.join(", "), c.pci_dss.join(", ")];
            cells.extend(md_count_cells(&c.counts, c.compliance_percent));
            cells
        })
        .collect();
    md_table(out, "Controls", &columns, rows);
}

/// One framework: its covered requirements, then the ids no control
/// covers.
fn md_framework(out: &mut String, f: &FrameworkSummary) {
    let heading = format!(
        "{} — {} of {} requirements evidenced by a control",
        f.title, f.requirements_covered, f.requirements_total
    );
    let columns: Vec<&str> = ["requirement", "controls"]
        .into_iter()
        .chain(MD_COUNT_COLUMNS)
        .collect();
    let rows = f
        .requirements
        .iter()
        .filter(|r| !r.controls.is_empty())
        .map(|r| {
            let mut cells = vec![r.id.clone(), r.controls.join(", ")];
            cells.extend(md_count_cells(&r.counts, r.compliance_percent));
            cells
        })
        .collect();
    md_table(out, &heading, &columns, rows);
    let _ = writeln!(
        out,
        "\nNot evidenced by a control (evidence from elsewhere): {}",
        md(&uncovered(f).join(", "))
    );
}

fn md_scopes(out: &mut String, report: &Report) {
    let columns: Vec<&str> = ["account", "region"]
        .into_iter()
        .chain(MD_COUNT_COLUMNS)
        .collect();
    let rows = report
        .scopes
        .iter()
        .map(|s| {
            let mut cells = vec![
                format!("{} ({})", s.account_name, s.account_id),
                s.region.clone(),
            ];
            cells.extend(md_count_cells(&s.counts, s.compliance_percent));
            cells
        })
        .collect();
    md_table(out, "Accounts and regions", &columns, rows);
}

fn md_failing(out: &mut dyn io::Write, report: &Report) -> io::Result<()> {
    let mut text = String::new();
    md_table_head(
        &mut text,
        "Failing resources",
        &[
            "severity", "control", "resource", "account", "region", "since", "evidence",
        ],
    );
    let failing = report
        .findings
        .iter()
        .filter(|f| f.status == ReportStatus::Fail);
    for f in failing {
        md_row(
            &mut text,
            &[
                f.severity.to_string(),
                f.control_id.clone(),
                f.arn.clone(),
                f.account_id.clone(),
                f.region.clone(),
                f.status_since.to_rfc3339(),
                cut_chars(f.evidence.text().to_string(), 200),
            ],
        );
        if text.len() >= FLUSH_BYTES {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes())
}

/// How much rendered text a streamed section keeps before writing it out.
const FLUSH_BYTES: usize = 64 * 1024;

fn md_waiver_row(w: &WaiverRow, end: String) -> Vec<String> {
    vec![
        w.id.to_string(),
        w.control_id.clone(),
        w.resource_arn.clone(),
        w.reason.clone(),
        w.approved_by.clone(),
        end,
    ]
}

/// The waivers in force, then those that ended (expired or revoked).
fn md_waivers(out: &mut String, report: &Report) {
    let columns = |end| ["id:", "control", "resource", "reason", "approved by", end];
    let in_force = report
        .waivers_in_force
        .iter()
        .map(|w| md_waiver_row(w, w.expires_at.to_rfc3339()))
        .collect();
    md_table(out, "Waivers in force", &columns("expires"), in_force);
    let ended = report
        .waivers_ended
        .iter()
        .map(|w| {
            let ended = w.revoked_at.map_or_else(
                || format!("expired {}", w.expires_at.to_rfc3339()),
                |r| {
                    format!(
                        "revoked {} by {}",
                        r.to_rfc3339(),
                        w.revoked_by.as_deref().unwrap_or("?")
                    )
                },
            );
            md_waiver_row(w, ended)
        })
        .collect();
    md_table(out, "Waivers ended", &columns("expired / revoked"), ended);
}

fn md_changes(out: &mut String, report: &Report) {
    let rows = report
        .new_failures
        .iter()
        .chain(&report.resolved)
        .map(|c| {
            vec![
                c.at.to_rfc3339(),
                c.kind.to_string(),
                c.control_id.clone(),
                c.arn.clone(),
            ]
        })
        .collect();
    md_table(
        out,
        "New failures and resolutions",
        &["time", "change", "control", "resource"],
        rows,
    );
}

fn md_drift(out: &mut String, report: &Report) {
    let rows = report
        .drift
        .iter()
        .map(|d| {
            vec![
                d.detected_at.to_rfc3339(),
                d.kind.to_string(),
                d.arn.clone(),
                actor(d).to_string(),
                brief(&d.changes, 200),
            ]
        })
        .collect();
    md_table(
        out,
        "Drift",
        &["time", "kind", "resource", "changed by", "changes"],
        rows,
    );
}

fn md_coverage(out: &mut String, report: &Report) {
    let rows = report
        .coverage
        .iter()
        .map(|c| {
            vec![
                c.collector.clone(),
                format!("{} ({})", c.account_name, c.account_id),
                c.region.clone(),
                c.ok.to_string(),
                c.partial.to_string(),
                c.failed.to_string(),
                c.last_status.to_string(),
                c.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    md_table(
        out,
        "Scan coverage",
        &[
            "collector",
            "account",
            "region",
            "ok:",
            "partial:",
            "failed:",
            "last",
            "error",
        ],
        rows,
    );
}

fn md_trend(out: &mut String, report: &Report) {
    let rows = report
        .trend
        .iter()
        .map(|p| {
            vec![
                p.date.to_string(),
                p.counts.pass.to_string(),
                p.counts.fail.to_string(),
                p.counts.waived.to_string(),
                pct(p.compliance_percent),
            ]
        })
        .collect();
    md_table(
        out,
        "Compliance over 30 days",
        &["date", "pass:", "fail:", "waived:", "compliance:"],
        rows,
    );
}

/// A Markdown section with a table; a column named `name:` is numeric
/// (right-aligned). Every cell is escaped.
pub(super) fn md_table(out: &mut String, heading: &str, columns: &[&str], rows: Vec<Vec<String>>) {
    md_table_head(out, heading, columns);
    for row in rows {
        md_row(out, &row);
    }
}

fn md_table_head(out: &mut String, heading: &str, columns: &[&str]) {
    let names: Vec<&str> = columns.iter().map(|c| c.trim_end_matches(':')).collect();
    let rules: Vec<&str> = columns
        .iter()
        .map(|c| if c.ends_with(':') { "---:" } else { "---" })
        .collect();
    let _ = write!(
        out,
        "\n## {heading}\n\n| {} |\n|{}|\n",
        names.join(" | "),
        rules.join("|")
    );
}

fn md_row(out: &mut String, row: &[String]) {
    let cells: Vec<String> = row.iter().map(|c| md(c)).collect();
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

const CSS: &str = "
body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1d2330;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.meta{color:#5b6475;margin:0 0 16px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.tile{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:12px}
.tile b{display:block;font-size:22px}.tile span{color:#5b6475;font-size:12px;text-transform:uppercase}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #d8dce3;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all;white-space:pre-wrap}
.fail{color:#b42318;font-weight:600}.pass{color:#067647;font-weight:600}.waived{color:#9a6700;font-weight:600}.unknown,.none{color:#5b6475;font-weight:600}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}.chart{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px}
.empty{color:#5b6475;font-style:italic}
@media print{body{background:#fff}.chart,.tile{break-inside:avoid}}
";

fn status_cell(status: &str) -> Markup {
    html! { td class=(status) { (status) } }
}

/// A chart figure (coordinate or percentage) to one decimal place.
fn tenths(value: f64) -> String {
    format!("{value:.1}")
}

/// Weekly date labels and the last day's, skipping a weekly one that would
/// overlap the last (a 30-day chart labelled day 28 and day 29 on top of
/// each other).
fn date_labelled(i: usize, days: usize) -> bool {
    i + 1 == days || (i.is_multiple_of(7) && days.saturating_sub(1 + i) >= 4)
}

/// Compliance % over the trend days, as an inline SVG line chart.
fn trend_chart(report: &Report) -> Markup {
    let (w, h, left, top, bottom) = (540.0, 220.0, 40.0, 16.0, 30.0);
    let plot_w = w - left - 12.0;
    let plot_h = h - top - bottom;
    let n = report.trend.len().max(2) as f64 - 1.0;
    let x_of = |i: usize| left + plot_w * i as f64 / n;
    let y_of = |percent: f64| top + plot_h * (1.0 - percent / 100.0);
    let points: Vec<String> = report
        .trend
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let v = p.compliance_percent?;
            Some(format!("{},{}", tenths(x_of(i)), tenths(y_of(v))))
        })
        .collect();
    let days = report.trend.len();
    html! {
        svg id="trend-chart" role="img"
            aria-label={ "Compliance percentage over the last " (days) " days" }
            viewBox={ "0 0 " (w) " " (h) } width="100%"
            xmlns="http://www.w3.org/2000/svg" {
            @for percent in [0u8, 25, 50, 75, 100] {
                @let y = y_of(f64::from(percent));
                line x1=(left) x2=(left + plot_w) y1=(tenths(y)) y2=(tenths(y))
                    stroke="#e3e6eb" {}
                text x=(left - 4.0) y=(tenths(y + 3.0)) font-size="10" text-anchor="end"
                    fill="#5b6475" {
                    (percent) "%"
                }
            }
            @for (i, p) in report.trend.iter().enumerate() {
                @let x = tenths(x_of(i));
                @if let Some(v) = p.compliance_percent {
                    @let y = tenths(y_of(v));
                    circle.point cx=(x) cy=(y) r="2.5" fill="#2457c5" data-date=(p.date)
                        data-value=(tenths(v)) {
                        title { (p.date) ": " (tenths(v)) "%" }
                    }
                }
                @if date_labelled(i, days) {
                    text x=(x) y=(h - 10.0) font-size="10" text-anchor="middle" fill="#5b6475" {
                        (p.date.format("%m-%d"))
                    }
                }
            }
            @if points.len() > 1 {
                polyline fill="none" stroke="#2457c5" stroke-width="2" points=(points.join(" ")) {}
            }
        }
    }
}

/// Failing (and waived) evaluations per control, as horizontal bars.
fn failures_chart(report: &Report) -> Markup {
    let max = report
        .controls
        .iter()
        .map(|c| c.counts.fail + c.counts.waived)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (label_w, bar_w, row_h) = (170.0, 330.0, 18.0);
    let h = row_h * report.controls.len() as f64 + 10.0;
    html! {
        svg id="failures-chart" role="img" aria-label="Failures by control"
            viewBox={ "0 0 540 " (h) } width="100%" xmlns="http://www.w3.org/2000/svg" {
            @for (i, control) in report.controls.iter().enumerate() {
                @let (id, counts) = (&control.id, &control.counts);
                @let y = 5.0 + row_h * i as f64;
                @let fail_w = bar_w * counts.fail as f64 / max;
                @let waived_w = bar_w * counts.waived as f64 / max;
                text x=(label_w - 6.0) y=(tenths(y + 12.0)) font-size="11" text-anchor="end"
                    fill="#1d2330" {
                    (id)
                }
                rect.bar data-control=(id) data-fail=(counts.fail) x=(label_w) y=(tenths(y))
                    width=(tenths(fail_w)) height=(tenths(row_h - 5.0)) fill="#d92d20" {
                    title { (id) ": " (counts.fail) " failing" }
                }
                rect x=(tenths(label_w + fail_w)) y=(tenths(y)) width=(tenths(waived_w))
                    height=(tenths(row_h - 5.0)) fill="#f2c94c" {
                    title { (id) ": " (counts.waived) " waived" }
                }
                text x=(tenths(label_w + fail_w + waived_w + 4.0)) y=(tenths(y + 12.0))
                    font-size="11" fill="#5b6475" {
                    (counts.fail)
                    @if counts.waived > 0 { " (+" (counts.waived) " waived)" }
                }
            }
        }
    }
}

fn uncovered(f: &FrameworkSummary) -> Vec<&str> {
    f.requirements
        .iter()
        .filter(|r| r.controls.is_empty())
        .map(|r| r.id.as_str())
        .collect()
}

/// The right-aligned pass, fail, waived, unknown and compliance cells.
fn count_cells(counts: &Counts, compliance: Option<f64>) -> Markup {
    html! {
        td.n { (counts.pass) }
        td.n { (counts.fail) }
        td.n { (counts.waived) }
        td.n { (counts.unknown) }
        td.n { (pct(compliance)) }
    }
}

/// A table of rows (each row's cells), or a sentence in its place when
/// there is no row; either carries `id`.
fn table(id: &str, headers: &[&str], rows: Vec<Markup>, empty: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty id=(id) { (empty) }
        } @else {
            table id=(id) {
                thead { tr { @for header in headers { th { (header) } } } }
                tbody { @for row in rows { tr { (row) } } }
            }
        }
    }
}

fn page_head(report: &Report) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta http-equiv="Content-Security-Policy"
                content="default-src 'none'; style-src 'unsafe-inline'; img-src data:";
            meta name="viewport" content="width=device-width,initial-scale=1";
            title { "driftwatch compliance report " (report.date) }
            style { (PreEscaped(CSS)) }
        }
    }
}

fn page_heading(report: &Report) -> Markup {
    html! {
        h1 { "Compliance report — " (report.date) }
        p.meta {
            "AWS posture against SOC 2 and PCI DSS v4.0 controls. Period "
            (report.period_start.format("%Y-%m-%d %H:%M")) " to "
            (report.period_end.format("%Y-%m-%d %H:%M")) " UTC; states as of "
            (report.as_of.format("%Y-%m-%d %H:%M:%S"))
            @if !report.complete { " (day in progress: figures may still change)" }
            ". Generated " (report.generated_at.format("%Y-%m-%d %H:%M:%S UTC"))
            " by " (report.generator) "."
        }
    }
}

fn summary_tiles(s: &Summary) -> Markup {
    let tiles = [
        ("compliance", pct(s.compliance_percent)),
        ("failing", s.counts.fail.to_string()),
        ("waived", s.counts.waived.to_string()),
        ("passing", s.counts.pass.to_string()),
        ("unknown", s.counts.unknown.to_string()),
        ("resources", s.resources.to_string()),
        ("new failures", s.new_failures.to_string()),
        ("resolved", s.resolved.to_string()),
        ("drift events", s.drift_events.to_string()),
        (
            "drift found by scan, no event received",
            s.drift_without_event.to_string(),
        ),
        (
            "scans ok / partial / failed",
            format!("{} / {} / {}", s.scans_ok, s.scans_partial, s.scans_failed),
        ),
    ];
    html! {
        section.tiles #summary {
            @for (label, value) in tiles {
                div.tile data-figure=(label) { b { (value) } span { (label) } }
            }
        }
    }
}

fn charts(report: &Report) -> Markup {
    html! {
        section.charts {
            div.chart {
                h2 { "Compliance over " (report.trend.len()) " days" }
                (trend_chart(report))
            }
            div.chart { h2 { "Failures by control" } (failures_chart(report)) }
        }
    }
}

fn controls_section(report: &Report) -> Markup {
    let rows = report
        .controls
        .iter()
        .map(|c| {
            html! {
                td { b { (c.id) } br; (c.title) }
                td { (c.severity) }
                td { (c.soc2.join(", ")) }
                td { (c.pci_dss.join(", ")) }
                (count_cells(&c.counts, c.compliance_percent))
            }
        })
        .collect();
    let headers = [
        "control",
        "severity",
        "SOC 2",
        "PCI DSS v4.0",
        "pass",
        "fail",
        "waived",
        "unknown",
        "compliance",
    ];
    html! {
        h2 { "Controls" }
        (table("controls", &headers, rows, "No controls."))
    }
}

/// One framework: its covered requirements with their controls' counts,
/// then the ids no control covers (kept in view, never dropped).
fn framework_section(f: &FrameworkSummary) -> Markup {
    let rows = f
        .requirements
        .iter()
        .filter(|r| !r.controls.is_empty())
        .map(|r| {
            html! {
                td { b { (r.id) } br; (r.title) }
                td { (r.controls.join(", ")) }
                (count_cells(&r.counts, r.compliance_percent))
            }
        })
        .collect();
    let headers = [
        "requirement",
        "controls",
        "pass",
        "fail",
        "waived",
        "unknown",
        "compliance",
    ];
    let id = &f.id;
    html! {
        h2 id={ "framework-" (id) "-heading" } { (f.title) }
        p.meta data-figure={ "framework-" (id) "-covered" } {
            b { (f.requirements_covered) } " of " (f.requirements_total)
            " requirements evidenced by a control."
        }
        (table(
            &format!("framework-{id}"),
            &headers,
            rows,
            "No requirement of this framework is evidenced by a control.",
        ))
        p.meta id={ "framework-" (id) "-uncovered" } {
            "Not evidenced by a control (evidence from elsewhere): " (uncovered(f).join(", "))
        }
    }
}

fn scopes_section(report: &Report) -> Markup {
    let rows = report
        .scopes
        .iter()
        .map(|s| {
            html! {
                td { (s.account_name) " " code { (s.account_id) } }
                td { (s.region) }
                (count_cells(&s.counts, s.compliance_percent))
            }
        })
        .collect();
    let headers = [
        "account",
        "region",
        "pass",
        "fail",
        "waived",
        "unknown",
        "compliance",
    ];
    html! {
        h2 { "Accounts and regions" }
        (table("scopes", &headers, rows, "Nothing evaluated."))
    }
}

/// The evidence's message as a reader's first line, the details folded
/// beneath it (cut for the page; JSON and CSV carry them whole).
fn evidence_cell(evidence: &Value) -> Markup {
    let message = evidence.get("message").and_then(Value::as_str);
    let mut details = evidence.clone();
    if let Some(object) = details.as_object_mut() {
        object.remove("message");
    }
    let folded = match &details {
        Value::Null => None,
        Value::Object(o) if o.is_empty() => None,
        other => Some(serde_json::to_string_pretty(other).unwrap_or_default()),
    };
    html! {
        @if let Some(message) = message {
            span.evidence-message { (message) }
        }
        @if let Some(text) = folded {
            details.evidence-details {
                summary { @if message.is_some() { "details" } @else { "evidence" } }
                pre { code { (cut_chars(text, 2000)) } }
            }
        }
    }
}

/// The failing, waived and unknown findings: the one section as long as
/// the estate, written row by row (the markup of [`table`]).
fn write_findings_section(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let mut shown = report
        .findings
        .iter()
        .filter(|f| f.status != ReportStatus::Pass)
        .peekable();
    let heading = html! { h2 { "Failing, waived and unknown resources" } };
    out.write_all(heading.into_string().as_bytes())?;
    if shown.peek().is_none() {
        let empty = html! { p.empty id="failing" { "No failing resources." } };
        return out.write_all(empty.into_string().as_bytes());
    }
    let headers = [
        "status",
        "severity",
        "control",
        "resource",
        "account / region",
        "since",
        "evidence",
    ];
    let head = html! { thead { tr { @for header in headers { th { (header) } } } } };
    write!(out, "<table id=\"failing\">{}<tbody>", head.into_string())?;
    let mut text = String::new();
    for f in shown {
        let row = html! {
            tr {
                (status_cell(f.status.as_str()))
                td { (f.severity) }
                td { (f.control_id) }
                td { code { (f.arn) } }
                td { (f.account_name) " " code { (f.account_id) } " / " (f.region) }
                td { (f.status_since.format("%Y-%m-%d %H:%M")) }
                td { (evidence_cell(&f.evidence.value())) }
            }
        };
        text.push_str(&row.into_string());
        if text.len() >= FLUSH_BYTES {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
    }
    out.write_all(text.as_bytes())?;
    out.write_all(b"</tbody></table>")
}

/// When an ended waiver stopped applying: revoked (by whom) if that came
/// before its expiry, else expired.
fn waiver_ended(w: &WaiverRow) -> String {
    match w.revoked_at {
        Some(revoked) if revoked < w.expires_at => format!(
            "revoked {} by {}",
            revoked.format("%Y-%m-%d %H:%M"),
            w.revoked_by.as_deref().unwrap_or("?")
        ),
        _ => format!("expired {}", w.expires_at.format("%Y-%m-%d %H:%M")),
    }
}

fn waiver_rows(waivers: &[WaiverRow], end: impl Fn(&WaiverRow) -> String) -> Vec<Markup> {
    waivers
        .iter()
        .map(|w| {
            html! {
                td.n { (w.id) }
                td { (w.control_id) }
                td { code { (w.resource_arn) } }
                td { (w.reason) }
                td { (w.approved_by) }
                td { (w.created_at.format("%Y-%m-%d")) }
                td { (end(w)) }
            }
        })
        .collect()
}

fn waivers_sections(report: &Report) -> Markup {
    let headers = |end: &'static str| {
        [
            "id",
            "control",
            "resource",
            "justification",
            "approved by",
            "since",
            end,
        ]
    };
    let in_force = waiver_rows(&report.waivers_in_force, |w| {
        w.expires_at.format("%Y-%m-%d %H:%M").to_string()
    });
    let ended = waiver_rows(&report.waivers_ended, waiver_ended);
    html! {
        h2 { "Waivers in force" }
        (table("waivers-in-force", &headers("expires"), in_force, "No waivers in force."))
        h2 { "Waivers expired or revoked (last 90 days)" }
        (table("waivers-ended", &headers("ended"), ended, "No waivers ended."))
    }
}

fn changes_section(report: &Report) -> Markup {
    let rows = report
        .new_failures
        .iter()
        .chain(&report.resolved)
        .map(|c| {
            let class = if c.kind == TransitionKind::Resolution {
                "pass"
            } else {
                "fail"
            };
            html! {
                td { (c.at.format("%Y-%m-%d %H:%M:%S")) }
                td class=(class) { (c.kind) }
                td { (c.control_id) }
                td { (c.severity) }
                td { code { (c.arn) } }
            }
        })
        .collect();
    let headers = ["time", "change", "control", "severity", "resource"];
    html! {
        h2 { "New failures and resolutions" }
        (table("changes", &headers, rows, "No findings changed this day."))
    }
}

/// Who made a drift, or that no change event explained it.
fn actor(drift: &super::DriftEntry) -> &str {
    drift
        .actor
        .as_deref()
        .unwrap_or(crate::store::NO_EVENT_RECEIVED)
}

fn drift_section(report: &Report) -> Markup {
    let rows = report
        .drift
        .iter()
        .map(|d| {
            html! {
                td { (d.detected_at.format("%Y-%m-%d %H:%M:%S")) }
                td { (d.kind) }
                td { code { (d.arn) } }
                td { (d.resource_type) }
                td { (actor(d)) }
                td { code { (brief(&d.changes, 600)) } }
            }
        })
        .collect();
    let headers = ["time", "kind", "resource", "type", "changed by", "changes"];
    html! {
        h2 { "Drift in the period" }
        (table("drift", &headers, rows, "No drift detected."))
    }
}

fn coverage_section(report: &Report) -> Markup {
    let rows = report
        .coverage
        .iter()
        .map(|c| {
            html! {
                td { (c.collector) }
                td { (c.account_name) " " code { (c.account_id) } }
                td { (c.region) }
                td.n { (c.ok) }
                td.n { (c.partial) }
                td.n { (c.failed) }
                (status_cell(c.last_status.as_str()))
                td { code { (c.last_error.as_deref().unwrap_or("")) } }
            }
        })
        .collect();
    let headers = [
        "collector",
        "account",
        "region",
        "ok",
        "partial",
        "failed",
        "last",
        "error",
    ];
    html! {
        h2 { "Scan coverage" }
        (table("coverage", &headers, rows, "No scans ran in this period."))
    }
}

/// A self-contained page: inline CSS and SVG, no script, no external fetch.
/// Where the streamed findings section goes in the page's markup.
const FINDINGS_PLACE: &str = "<!--driftwatch:findings-->";

pub fn write_html(report: &Report, out: &mut dyn io::Write) -> io::Result<()> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            (page_head(report))
            body {
                main {
                    (page_heading(report))
                    (summary_tiles(&report.summary))
                    (charts(report))
                    (controls_section(report))
                    @for framework in &report.frameworks {
                        (framework_section(framework))
                    }
                    (scopes_section(report))
                    (PreEscaped(FINDINGS_PLACE))
                    (waivers_sections(report))
                    (changes_section(report))
                    (drift_section(report))
                    (coverage_section(report))
                    p.meta {
                        "Compliance is passing evaluations over passing, failing and waived ones; \
                         unknown (could not be collected) is shown apart and never counted as a \
                         pass. A waiver is a documented exception: it is reported, not counted as \
                         compliant."
                    }
                }
            }
        }
    };
    let page = page.into_string();
    // Every string in the page is escaped, so the marker's `<!--` can only
    // be the one placed above.
    let (before, after) = page.split_once(FINDINGS_PLACE).unwrap_or((&page, ""));
    out.write_all(before.as_bytes())?;
    write_findings_section(report, out)?;
    out.write_all(after.as_bytes())?;
    out.write_all(b"\n")
}

pub fn html(report: &Report) -> String {
    into_string(|out| write_html(report, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thirty_day_chart_labels_weeks_and_the_last_day_without_overlap() {
        let labelled: Vec<usize> = (0..30).filter(|&i| date_labelled(i, 30)).collect();
        assert_eq!(labelled, [0, 7, 14, 21, 29]);
        let labelled: Vec<usize> = (0..22).filter(|&i| date_labelled(i, 22)).collect();
        assert_eq!(labelled, [0, 7, 14, 21]);
        assert_eq!((0..1).filter(|&i| date_labelled(i, 1)).count(), 1);
        assert!(
            (1..60).all(|days| {
                let l: Vec<usize> = (0..days).filter(|&i| date_labelled(i, days)).collect();
                l.windows(2).all(|w| w[1] - w[0] >= 4)
            }),
            "labels at least four days apart"
        );
    }

    #[test]
    fn evidence_reads_message_first_with_the_details_folded() {
        let cell = evidence_cell(&serde_json::json!({
            "message": "bucket policy allows http",
            "policy": {"Statement": [{"Effect": "Allow", "Principal": "*"}]},
        }))
        .into_string();
        let message = cell.find("bucket policy allows http").expect("message");
        let folded = cell.find("<details").expect("folded details");
        assert!(message < folded, "{cell}");
        assert!(cell.contains("<summary>details</summary>"), "{cell}");
        assert!(
            cell.contains("&quot;Principal&quot;: &quot;*&quot;"),
            "{cell}"
        );
        let only_message = evidence_cell(&serde_json::json!({"message": "ok"})).into_string();
        assert!(!only_message.contains("<details"), "{only_message}");
    }

    #[test]
    fn html_escapes_hostile_strings() {
        let hostile = "<script>\"x\"&'";
        let framework = FrameworkSummary {
            id: hostile.into(),
            title: hostile.into(),
            requirements_total: 2,
            requirements_covered: 1,
            requirements: [vec!["c".to_string()], vec![]]
                .into_iter()
                .map(|controls| super::super::RequirementSummary {
                    id: hostile.into(),
                    title: hostile.into(),
                    controls,
                    counts: Counts::default(),
                    compliance_percent: None,
                })
                .collect(),
        };
        let markup = framework_section(&framework).into_string();
        assert!(!markup.contains("<script"), "{markup}");
        assert!(markup.contains("id=\"framework-&lt;script&gt;&quot;x&quot;&amp;'\""));
        assert!(markup.contains("<b>&lt;script&gt;&quot;x&quot;&amp;'</b>"));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let row = |fields: [&str; 5]| fields.map(str::to_string);
        let document = into_string(|out| {
            write_csv_document(
                &["a", "b", "c", "d", "e"],
                [row([
                    "plain",
                    "a,b",
                    "say \"hi\"",
                    "=HYPERLINK(\"x\")",
                    "-1",
                ])],
                out,
            )
        });
        assert_eq!(
            document,
            "a,b,c,d,e\r\nplain,\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",'-1\r\n"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }
}
