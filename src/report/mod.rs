//! The daily compliance report: the evidence an auditor reads.
//!
//! A report is a [`Report`] model built from what is stored, then rendered
//! to HTML, JSON, CSV or Markdown ([`render`]). The model of a day that
//! has ended is stored the first time it is built, and every later request
//! for that day renders the stored model: "the report of March 3rd" is the
//! same document whenever it is asked for.

pub mod catalog;
pub mod render;

use crate::drift::DriftKind;
use crate::evaluate::lifecycle::{NewStatus, TransitionKind};
use crate::evaluate::{self, Control, CustomControls, FindingStatus, Severity};
use crate::frameworks;
use crate::store::report::{FindingAt, ScopeScans, StatusChange};
use crate::store::waivers::WaiverRow;
use crate::store::{DriftRow, ScanStatus, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const SCHEMA: &str = "driftwatch.report/v1";
const TREND_DAYS: i64 = 30;
/// How far back a scope that stopped being scanned is still reported.
const COVERAGE_LOOKBACK_DAYS: i64 = 7;
/// Waivers that ended this long before the report are still listed.
const ENDED_WAIVERS_DAYS: i64 = 90;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored report of {date} cannot be read: {message}")]
    Stored { date: NaiveDate, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the report of {date} cannot be built before the day has begun")]
    Future { date: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub date: NaiveDate,
    /// The day covered, [start, end) in UTC; states are as of `as_of`.
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    /// False for a day still in progress: figures may still change.
    pub complete: bool,
    pub generated_at: DateTime<Utc>,
    pub generator: String,
    pub summary: Summary,
    pub controls: Vec<ControlSummary>,
    pub scopes: Vec<ScopeSummary>,
    pub findings: Vec<ReportFinding>,
    pub new_failures: Vec<Change>,
    pub resolved: Vec<Change>,
    pub drift: Vec<DriftEntry>,
    pub waivers_in_force: Vec<WaiverRow>,
    pub waivers_ended: Vec<WaiverRow>,
    pub coverage: Vec<Coverage>,
    pub trend: Vec<TrendPoint>,
    /// Per framework: each requirement with its controls' counts, and the
    /// requirements no control covers. Absent from reports stored before
    /// frameworks were data, which render as they did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frameworks: Vec<FrameworkSummary>,
}

/// A finding's status as a report states it: a failure under a waiver in
/// force is `waived`, neither passing nor failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Pass,
    Fail,
    Waived,
    Unknown,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 4] = [
        ReportStatus::Pass,
        ReportStatus::Fail,
        ReportStatus::Waived,
        ReportStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Pass => "pass",
            ReportStatus::Fail => "fail",
            ReportStatus::Waived => "waived",
            ReportStatus::Unknown => "unknown",
        }
    }

    /// `status`, or waived when it is a failure and `waived`.
    pub fn of(status: FindingStatus, waived: bool) -> ReportStatus {
        match status {
            FindingStatus::Fail if waived => ReportStatus::Waived,
            FindingStatus::Fail => ReportStatus::Fail,
            FindingStatus::Pass => ReportStatus::Pass,
            FindingStatus::Unknown => ReportStatus::Unknown,
        }
    }
}

impl std::fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last scan of a scope in a report's period, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoverageStatus {
    Ok,
    Partial,
    Failed,
    /// Not scanned in the period.
    None,
}

impl CoverageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CoverageStatus::Ok => "ok",
            CoverageStatus::Partial => "partial",
            CoverageStatus::Failed => "failed",
            CoverageStatus::None => "none",
        }
    }
}

impl std::fmt::Display for CoverageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Option<ScanStatus>> for CoverageStatus {
    fn from(status: Option<ScanStatus>) -> CoverageStatus {
        match status {
            Some(ScanStatus::Ok) => CoverageStatus::Ok,
            Some(ScanStatus::Partial) => CoverageStatus::Partial,
            Some(ScanStatus::Failed) => CoverageStatus::Failed,
            None => CoverageStatus::None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: u64,
    pub fail: u64,
    pub waived: u64,
    pub unknown: u64,
}

impl Counts {
    fn merge(&mut self, other: &Counts) {
        self.pass += other.pass;
        self.fail += other.fail;
        self.waived += other.waived;
        self.unknown += other.unknown;
    }

    fn add(&mut self, status: ReportStatus) {
        match status {
            ReportStatus::Pass => self.pass += 1,
            ReportStatus::Fail => self.fail += 1,
            ReportStatus::Waived => self.waived += 1,
            ReportStatus::Unknown => self.unknown += 1,
        }
    }

    /// Passing share of decided evaluations; a waived failure is a
    /// documented exception, not a pass, so it counts against.
    pub fn compliance_percent(&self) -> Option<f64> {
        let decided = self.pass + self.fail + self.waived;
        (decided > 0).then(|| (self.pass as f64 * 1000.0 / decided as f64).round() / 10.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub counts: Counts,
    pub compliance_percent: Option<f64>,
    pub resources: u64,
    pub accounts: u64,
    pub scans_ok: i64,
    pub scans_partial: i64,
    pub scans_failed: i64,
    pub scopes_not_scanned: u64,
    pub drift_events: u64,
    /// Drift a scheduled scan found with no change event received: each
    /// one an event driftwatch missed (coverage evidence).
    #[serde(default)]
    pub drift_without_event: u64,
    pub new_failures: u64,
    pub resolved: u64,
}

impl Report {
    /// The control as this report recorded it (its title and mappings on
    /// that day), so a rendering never reads today's catalog.
    pub fn control(&self, id: &str) -> Option<&ControlSummary> {
        self.controls.iter().find(|c| c.id == id)
    }
}

/// A framework as the day's findings evidence it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameworkSummary {
    pub id: String,
    pub title: String,
    pub requirements_total: u64,
    pub requirements_covered: u64,
    /// Every requirement, in the framework's order; one with no controls
    /// is not covered (its evidence must come from elsewhere).
    pub requirements: Vec<RequirementSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementSummary {
    pub id: String,
    pub title: String,
    pub controls: Vec<String>,
    /// The findings of its controls, added up.
    pub counts: Counts,
    pub compliance_percent: Option<f64>,
}

/// Each shipped framework's requirements with the counts of the controls
/// that evidence them.
fn framework_summaries(
    by_control: &BTreeMap<&str, Counts>,
    custom: &CustomControls,
) -> Vec<FrameworkSummary> {
    frameworks::every(custom)
        .into_iter()
        .map(|f| {
            let requirements: Vec<RequirementSummary> = f
                .requirements
                .iter()
                .map(|r| {
                    let mut counts = Counts::default();
                    for control in &r.controls {
                        if let Some(c) = by_control.get(control.as_str()) {
                            counts.merge(c);
                        }
                    }
                    RequirementSummary {
                        id: r.id.clone(),
                        title: r.title.clone(),
                        controls: r.controls.clone(),
                        compliance_percent: counts.compliance_percent(),
                        counts,
                    }
                })
                .collect();
            FrameworkSummary {
                id: f.id.clone(),
                title: f.title.clone(),
                requirements_total: requirements.len() as u64,
                requirements_covered: requirements
                    .iter()
                    .filter(|r| !r.controls.is_empty())
                    .count() as u64,
                requirements,
            }
        })
        .collect()
}

impl Report {
    /// Only the sections of the frameworks named (all when `ids` is empty).
    pub fn with_frameworks(mut self, ids: &[String]) -> Report {
        if !ids.is_empty() {
            self.frameworks.retain(|f| ids.contains(&f.id));
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlSummary {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub soc2: Vec<String>,
    pub pci_dss: Vec<String>,
    pub counts: Counts,
    pub compliance_percent: Option<f64>,
    /// A custom control's version (the hash its verdicts carry as
    /// `control_version`); none for a built-in control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeSummary {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub counts: Counts,
    pub compliance_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFinding {
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub resource_type: String,
    pub arn: String,
    pub name: String,
    pub control_id: String,
    pub severity: Severity,
    pub status: ReportStatus,
    pub status_since: DateTime<Utc>,
    pub evidence: Evidence,
    pub waiver_id: Option<i64>,
}

/// A finding's evidence as compact JSON text, keys in order: a large day
/// holds it for every finding, and a JSON tree costs several times its
/// text. Parsed where a rendering needs its parts.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Evidence(Box<serde_json::value::RawValue>);

impl Evidence {
    pub fn of(value: &Value) -> Evidence {
        // A Value always serialises; `null` stands in if it ever did not.
        let raw = serde_json::value::to_raw_value(value);
        Evidence(raw.unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()))
    }

    /// From stored JSON text, in the one compact form.
    pub fn from_text(text: &str) -> Evidence {
        Evidence::of(&serde_json::from_str(text).unwrap_or(Value::Null))
    }

    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self.text() == other.text()
    }
}

impl<'de> Deserialize<'de> for Evidence {
    /// Whatever spacing and key order it was stored with (PostgreSQL's
    /// JSONB has its own), read back in the one compact form.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Evidence, D::Error> {
        Value::deserialize(deserializer).map(|value| Evidence::of(&value))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    pub control_id: String,
    pub severity: Severity,
    pub kind: TransitionKind,
    pub old_status: Option<FindingStatus>,
    pub new_status: NewStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftEntry {
    pub detected_at: DateTime<Utc>,
    pub arn: String,
    pub resource_type: String,
    pub account_id: String,
    pub region: String,
    pub kind: DriftKind,
    pub changes: Value,
    /// Who made the change ("alice via role Admin"), from its CloudTrail
    /// event; `None`: found by a scan, no event received (and for days
    /// reported before events were read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub collector: String,
    pub account_id: String,
    pub account_name: String,
    pub region: String,
    pub ok: i64,
    pub partial: i64,
    pub failed: i64,
    /// Last scan of the day.
    pub last_status: CoverageStatus,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub date: NaiveDate,
    pub counts: Counts,
    pub compliance_percent: Option<f64>,
}

/// Start of a UTC day.
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The report of `date`: the stored one for a finished day, otherwise
/// built now (and stored if the day is over).
pub async fn report_for(
    store: &Store,
    custom: &CustomControls,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let start = day_start(date);
    if now < start {
        return Err(ReportError::Future { date });
    }
    let end = start + Duration::days(1);
    let complete = now >= end;
    if complete && let Some(stored) = store.stored_report(date).await? {
        return parse_stored(date, stored);
    }
    let mut report = build(store, custom, date, now).await?;
    if !complete {
        return Ok(report);
    }
    // As text, not a JSON tree (a large estate's day is hundreds of
    // megabytes as a tree), and the findings in parts: one JSONB value
    // holds at most 255 MB.
    let findings = std::mem::take(&mut report.findings);
    let model = serde_json::to_string(&report).map_err(stored_error(date))?;
    drop(report);
    let parts = findings
        .chunks(FINDINGS_PER_PART)
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()
        .map_err(stored_error(date))?;
    drop(findings);
    let mut digest = Sha256::new();
    digest.update(model.as_bytes());
    for part in &parts {
        digest.update(part.as_bytes());
    }
    let digest = hex::encode(digest.finalize());
    // Ours kept: it is the stored text, no need to read it back.
    match store
        .store_report(date, &model, &parts, &digest, now)
        .await?
    {
        None => parse_stored(date, (model, parts)),
        Some(kept_before) => {
            drop((model, parts));
            parse_stored(date, kept_before)
        }
    }
}

/// Findings per stored part: a few megabytes of JSON each, far below what
/// one JSONB value may hold whatever the evidence.
pub const FINDINGS_PER_PART: usize = 5_000;

fn stored_error(date: NaiveDate) -> impl Fn(serde_json::Error) -> ReportError {
    move |e| ReportError::Stored {
        date,
        message: e.to_string(),
    }
}

/// A stored model and its findings' parts, as one report.
fn parse_stored(
    date: NaiveDate,
    (model, parts): (String, Vec<String>),
) -> Result<Report, ReportError> {
    let mut report: Report = serde_json::from_str(&model).map_err(stored_error(date))?;
    drop(model);
    for part in parts {
        let findings: Vec<ReportFinding> =
            serde_json::from_str(&part).map_err(stored_error(date))?;
        report.findings.extend(findings);
    }
    Ok(report)
}

/// Builds the report of `date` from the stored history.
pub async fn build(
    store: &Store,
    custom: &CustomControls,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let start = day_start(date);
    let end = start + Duration::days(1);
    let complete = now >= end;
    // States are as of the end of the day, or now for a day in progress.
    let as_of = if complete {
        end - Duration::microseconds(1)
    } else {
        now
    };
    let waivers = store.waivers().await?;
    let findings = report_findings(store.findings_at(as_of).await?, &waivers, as_of);
    let (new_failures, resolved) = changes(store.transitions_between(start, end).await?);
    let drift: Vec<DriftEntry> = store
        .drift_between(start, end)
        .await?
        .into_iter()
        .map(DriftEntry::from)
        .collect();
    let coverage: Vec<Coverage> = store
        .scan_coverage(start, end, Duration::days(COVERAGE_LOOKBACK_DAYS))
        .await?
        .into_iter()
        .map(Coverage::from)
        .collect();
    let mut trend = TrendTally::new(&waivers, date, as_of);
    store
        .for_each_status_history(as_of, |changes| trend.add(changes))
        .await?;

    let tally = Tally::of(&findings);
    let (waivers_in_force, waivers_ended) = waivers_at(&waivers, as_of);
    let summary = Summary {
        compliance_percent: tally.total.compliance_percent(),
        counts: tally.total,
        resources: tally.resources.len() as u64,
        accounts: tally.accounts.len() as u64,
        scans_ok: coverage.iter().map(|c| c.ok).sum(),
        scans_partial: coverage.iter().map(|c| c.partial).sum(),
        scans_failed: coverage.iter().map(|c| c.failed).sum(),
        scopes_not_scanned: coverage
            .iter()
            .filter(|c| c.last_status == CoverageStatus::None)
            .count() as u64,
        drift_events: drift.len() as u64,
        drift_without_event: drift.iter().filter(|d| d.actor.is_none()).count() as u64,
        new_failures: new_failures.len() as u64,
        resolved: resolved.len() as u64,
    };
    Ok(Report {
        schema: SCHEMA.to_string(),
        date,
        period_start: start,
        period_end: end,
        as_of,
        complete,
        generated_at: now,
        generator: format!("driftwatch {}", env!("CARGO_PKG_VERSION")),
        summary,
        controls: tally.controls(custom),
        scopes: tally.scopes(),
        trend: trend.points(),
        frameworks: framework_summaries(&tally.by_control, custom),
        findings,
        new_failures,
        resolved,
        drift,
        waivers_in_force,
        waivers_ended,
        coverage,
    })
}

/// Each finding as it stood at `as_of`, a failure under a waiver in force
/// then reported as waived.
fn report_findings(
    findings: Vec<FindingAt>,
    waivers: &[WaiverRow],
    as_of: DateTime<Utc>,
) -> Vec<ReportFinding> {
    let waiver_for = |arn: &str, control: &str, at: DateTime<Utc>| {
        waivers
            .iter()
            .filter(|w| w.resource_arn == arn && w.control_id == control && w.in_force_at(at))
            .map(|w| w.id)
            .min()
    };
    findings
        .into_iter()
        .map(|f: FindingAt| {
            let waiver_id = (f.status == FindingStatus::Fail)
                .then(|| waiver_for(&f.arn, &f.control_id, as_of))
                .flatten();
            ReportFinding {
                status: ReportStatus::of(f.status, waiver_id.is_some()),
                account_id: f.account_id,
                account_name: f.account_name,
                region: f.region,
                resource_type: f.resource_type,
                arn: f.arn,
                name: f.name,
                control_id: f.control_id,
                severity: f.severity,
                status_since: f.status_since,
                evidence: Evidence::from_text(f.evidence.get()),
                waiver_id,
            }
        })
        .collect()
}

/// The day's findings counted overall, per control and per scope.
struct Tally<'f> {
    total: Counts,
    by_control: BTreeMap<&'f str, Counts>,
    by_scope: BTreeMap<(&'f str, &'f str), (Counts, &'f str)>,
    resources: std::collections::BTreeSet<&'f str>,
    accounts: std::collections::BTreeSet<&'f str>,
}

impl<'f> Tally<'f> {
    fn of(findings: &'f [ReportFinding]) -> Tally<'f> {
        let mut tally = Tally {
            total: Counts::default(),
            by_control: BTreeMap::new(),
            by_scope: BTreeMap::new(),
            resources: Default::default(),
            accounts: Default::default(),
        };
        for f in findings {
            tally.total.add(f.status);
            tally
                .by_control
                .entry(&f.control_id)
                .or_default()
                .add(f.status);
            tally
                .by_scope
                .entry((&f.account_id, &f.region))
                .or_insert((Counts::default(), &f.account_name))
                .0
                .add(f.status);
            tally.resources.insert(&f.arn);
            tally.accounts.insert(&f.account_id);
        }
        tally
    }

    /// Every control of the catalog, built-in then custom, with the
    /// mappings it has today (copied: renderings never read the catalog).
    fn controls(&self, custom: &CustomControls) -> Vec<ControlSummary> {
        let mapped = |framework: &str, c: &Control| -> Vec<String> {
            frameworks::requirements_of(framework, c)
                .into_iter()
                .map(str::to_string)
                .collect()
        };
        let summary = |id: &str, title: &str, severity: Severity| {
            let counts = self.by_control.get(id).copied().unwrap_or_default();
            ControlSummary {
                id: id.to_string(),
                title: title.to_string(),
                severity,
                soc2: Vec::new(),
                pci_dss: Vec::new(),
                compliance_percent: counts.compliance_percent(),
                counts,
                custom_version: None,
            }
        };
        let built_in = evaluate::CONTROLS.iter().map(|c| ControlSummary {
            soc2: mapped(frameworks::SOC2, c),
            pci_dss: mapped(frameworks::PCI_DSS, c),
            ..summary(c.id, c.title, c.default_severity)
        });
        let custom = custom.iter().map(|c| ControlSummary {
            soc2: c.requirements_of(frameworks::SOC2).to_vec(),
            pci_dss: c.requirements_of(frameworks::PCI_DSS).to_vec(),
            custom_version: Some(c.version.clone()),
            ..summary(&c.id, &c.title, c.default_severity)
        });
        built_in.chain(custom).collect()
    }

    fn scopes(&self) -> Vec<ScopeSummary> {
        self.by_scope
            .iter()
            .map(|((account_id, region), (counts, name))| ScopeSummary {
                account_id: account_id.to_string(),
                account_name: name.to_string(),
                region: region.to_string(),
                counts: *counts,
                compliance_percent: counts.compliance_percent(),
            })
            .collect()
    }
}

/// The day's transitions that a report lists: new failures and resolutions.
fn changes(transitions: Vec<crate::store::report::TransitionAt>) -> (Vec<Change>, Vec<Change>) {
    let change = |t: crate::store::report::TransitionAt| Change {
        at: t.at,
        arn: t.arn,
        account_id: t.account_id,
        region: t.region,
        control_id: t.control_id,
        severity: t.severity,
        kind: t.kind,
        old_status: t.old_status,
        new_status: t.new_status,
    };
    let (mut new_failures, mut resolved) = (Vec::new(), Vec::new());
    for t in transitions {
        match (t.kind, t.new_status) {
            (TransitionKind::Resolution, _) => resolved.push(change(t)),
            (TransitionKind::Regression, _) | (TransitionKind::New, NewStatus::Fail) => {
                new_failures.push(change(t))
            }
            _ => {}
        }
    }
    (new_failures, resolved)
}

impl From<DriftRow> for DriftEntry {
    fn from(d: DriftRow) -> DriftEntry {
        DriftEntry {
            detected_at: d.detected_at,
            arn: d.arn,
            resource_type: d.resource_type,
            account_id: d.account_id,
            region: d.region,
            kind: d.kind,
            changes: d.changes,
            actor: d.actor,
        }
    }
}

impl From<ScopeScans> for Coverage {
    fn from(c: ScopeScans) -> Coverage {
        Coverage {
            collector: c.collector,
            account_id: c.account_id,
            account_name: c.account_name,
            region: c.region,
            ok: c.ok,
            partial: c.partial,
            failed: c.failed,
            last_status: c.last_status.into(),
            last_finished_at: c.last_finished_at,
            last_error: c.last_error,
        }
    }
}

/// The waivers in force at `as_of`, and those that ended in the
/// ENDED_WAIVERS_DAYS before it.
fn waivers_at(waivers: &[WaiverRow], as_of: DateTime<Utc>) -> (Vec<WaiverRow>, Vec<WaiverRow>) {
    let waivers_in_force: Vec<WaiverRow> = waivers
        .iter()
        .filter(|w| w.in_force_at(as_of))
        .cloned()
        .collect();
    let waivers_ended: Vec<WaiverRow> = waivers
        .iter()
        .filter(|w| {
            let ended = w.revoked_at.map_or(w.expires_at, |r| r.min(w.expires_at));
            w.created_at <= as_of
                && ended <= as_of
                && ended > as_of - Duration::days(ENDED_WAIVERS_DAYS)
        })
        .cloned()
        .collect();
    (waivers_in_force, waivers_ended)
}

/// Pass/fail/waived/unknown at the end of each of the last 30 days, fed
/// one finding's history at a time.
struct TrendTally<'w> {
    days: Vec<(NaiveDate, DateTime<Utc>)>,
    counts: Vec<Counts>,
    /// Waivers by (resource, control): a finding looks up its own only.
    waivers: HashMap<(&'w str, &'w str), Vec<&'w WaiverRow>>,
}

impl<'w> TrendTally<'w> {
    fn new(waivers: &'w [WaiverRow], date: NaiveDate, as_of: DateTime<Utc>) -> TrendTally<'w> {
        let days: Vec<(NaiveDate, DateTime<Utc>)> = (0..TREND_DAYS)
            .rev()
            .map(|back| {
                let day = date - Duration::days(back);
                let end =
                    (day_start(day) + Duration::days(1) - Duration::microseconds(1)).min(as_of);
                (day, end)
            })
            .collect();
        let mut by_finding: HashMap<(&str, &str), Vec<&WaiverRow>> = HashMap::new();
        for w in waivers {
            by_finding
                .entry((w.resource_arn.as_str(), w.control_id.as_str()))
                .or_default()
                .push(w);
        }
        TrendTally {
            counts: vec![Counts::default(); days.len()],
            days,
            waivers: by_finding,
        }
    }

    /// One finding's changes, oldest first.
    fn add(&mut self, changes: &[StatusChange]) {
        for (i, (_, end)) in self.days.iter().enumerate() {
            let Some(latest) = changes.iter().take_while(|c| c.at <= *end).last() else {
                continue;
            };
            let status = match latest.new_status {
                NewStatus::Deleted => continue,
                _ if latest.gone_at.is_some_and(|g| g <= *end) => continue,
                NewStatus::Pass => FindingStatus::Pass,
                NewStatus::Fail => FindingStatus::Fail,
                NewStatus::Unknown => FindingStatus::Unknown,
            };
            let waived = self
                .waivers
                .get(&(latest.arn.as_str(), latest.control_id.as_str()))
                .is_some_and(|ws| ws.iter().any(|w| w.in_force_at(*end)));
            self.counts[i].add(ReportStatus::of(status, waived));
        }
    }

    fn points(self) -> Vec<TrendPoint> {
        self.days
            .into_iter()
            .zip(self.counts)
            .map(|((date, _), counts)| TrendPoint {
                date,
                compliance_percent: counts.compliance_percent(),
                counts,
            })
            .collect()
    }
}

/// The trend of a history held whole (tests).
#[cfg(test)]
fn trend(
    history: &[StatusChange],
    waivers: &[WaiverRow],
    date: NaiveDate,
    as_of: DateTime<Utc>,
) -> Vec<TrendPoint> {
    let mut tally = TrendTally::new(waivers, date, as_of);
    for changes in history.chunk_by(|a, b| a.finding_id == b.finding_id) {
        tally.add(changes);
    }
    tally.points()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Json,
    Csv,
    Markdown,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "html" => Some(Format::Html),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "md",
        }
    }

    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Html => render::html(report),
            Format::Json => render::json(report),
            Format::Csv => render::csv(report),
            Format::Markdown => render::markdown(report),
        }
    }

    /// [`Format::render`] written out as it is rendered: the findings,
    /// the part as long as the estate, never whole in memory as text.
    pub fn write(self, report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Format::Html => render::write_html(report, out),
            Format::Json => render::write_json(report, out),
            Format::Csv => render::write_csv(report, out),
            Format::Markdown => render::write_markdown(report, out),
        }
    }
}

fn write_file(
    path: &Path,
    render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    render(&mut out)?;
    std::io::Write::flush(&mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Writes `driftwatch-report-<date>.<ext>` for each format into `dir`.
pub fn write_files(
    report: &Report,
    formats: &[Format],
    dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for format in formats {
        let path = dir.join(format!(
            "driftwatch-report-{}.{}",
            report.date,
            format.extension()
        ));
        // Written whole, then renamed: a reader never sees half a report.
        let partial = path.with_extension(format!("{}.partial", format.extension()));
        write_file(&partial, |out| format.write(report, out))
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: i64, at: &str, status: &str) -> StatusChange {
        StatusChange {
            finding_id: id,
            arn: format!("arn:aws:s3:::b{id}"),
            control_id: "s3.tls_only".into(),
            at: at.parse().unwrap_or(DateTime::<Utc>::MIN_UTC),
            new_status: status.parse().expect("a status"),
            gone_at: None,
        }
    }

    #[test]
    fn compliance_counts_waived_failures_against() {
        let counts = Counts {
            pass: 3,
            fail: 0,
            waived: 1,
            unknown: 5,
        };
        assert_eq!(counts.compliance_percent(), Some(75.0));
        assert_eq!(Counts::default().compliance_percent(), None);
    }

    #[test]
    fn the_trend_follows_each_findings_status_day_by_day() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap_or_default();
        let history = vec![
            change(1, "2026-03-01T10:00:00Z", "pass"),
            change(1, "2026-03-02T10:00:00Z", "fail"),
            change(2, "2026-03-02T11:00:00Z", "fail"),
            change(2, "2026-03-03T09:00:00Z", "deleted"),
        ];
        let waiver = WaiverRow {
            id: 1,
            control_id: "s3.tls_only".into(),
            resource_arn: "arn:aws:s3:::b1".into(),
            reason: "r".into(),
            approved_by: "a".into(),
            created_at: "2026-03-03T00:00:00Z".parse().unwrap_or_default(),
            expires_at: "2026-04-01T00:00:00Z".parse().unwrap_or_default(),
            revoked_at: None,
            revoked_by: None,
            source: "cli".into(),
        };
        let points = trend(
            &history,
            &[waiver],
            date,
            day_start(date) + Duration::days(1),
        );
        assert_eq!(points.len(), 30);
        let last3: Vec<(u64, u64, u64)> = points[27..]
            .iter()
            .map(|p| (p.counts.pass, p.counts.fail, p.counts.waived))
            .collect();
        assert_eq!(last3, vec![(1, 0, 0), (0, 2, 0), (0, 0, 1)]);
        assert_eq!(points[0].counts, Counts::default());
    }
}
