//! Rules: normalised resource documents in, one evaluation per control out.
//!
//! Rules see only the typed records of [`crate::model`], deserialised from
//! the stored documents, never AWS SDK types and never SQL.

pub mod catalog;
pub mod custom;
pub mod exposure;
pub mod filter_pattern;
pub mod lifecycle;
pub mod policy;

// The rule modules and `CONTROL_GROUPS`, one per `src/evaluate/*.rs` declaring
// `CONTROLS` (build.rs): a new service's controls are their own file.
include!(concat!(env!("OUT_DIR"), "/rule_modules.rs"));

pub use catalog::{CONTROLS, Control, ControlSettings, control, controls_for};
pub use custom::{CustomControl, CustomControls, ScopeData, ScopeDocument};

use crate::model::{Document, ResourceRecord, ResourceType};
pub use catalog::ControlConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected info, low, medium, high or critical)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Pass,
    Fail,
    /// The control could not be decided: the resource's collection failed or
    /// its configuration could not be read. Never counted as pass.
    Unknown,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Pass => "pass",
            FindingStatus::Fail => "fail",
            FindingStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for FindingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FindingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pass" => Ok(FindingStatus::Pass),
            "fail" => Ok(FindingStatus::Fail),
            "unknown" => Ok(FindingStatus::Unknown),
            other => Err(format!("unknown finding status `{other}`")),
        }
    }
}

/// Per-control configuration (`[rules."<id>"]`), validated against each
/// control's declared settings, and the custom controls loaded from
/// `[custom_controls]`, which run beside the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct RuleSettings {
    controls: BTreeMap<String, ControlConfig>,
    custom: Arc<CustomControls>,
}

/// A problem in `[rules]`: the field path below `rules` and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleIssue {
    pub field: String,
    pub message: String,
}

impl RuleSettings {
    /// Reads `[rules."<id>"]` tables, checking each id against the catalog
    /// (built-in and custom) and each field against that control's settings.
    pub fn from_tables<'t>(
        tables: impl IntoIterator<Item = (&'t String, &'t toml::Table)>,
        custom: Arc<CustomControls>,
    ) -> (RuleSettings, Vec<RuleIssue>) {
        let mut controls = BTreeMap::new();
        let mut issues = Vec::new();
        for (id, table) in tables {
            let field = format!("rules.\"{id}\"");
            let configured = match (control(id), custom.get(id)) {
                (Some(control), _) => control.configure(table),
                (None, Some(custom)) => catalog::configure(&custom.id, &[], table),
                (None, None) => {
                    let known: Vec<&str> = CONTROLS
                        .iter()
                        .map(|c| c.id)
                        .chain(custom.iter().map(|c| c.id.as_str()))
                        .collect();
                    issues.push(RuleIssue {
                        field,
                        message: format!("no such control (known: {})", known.join(", ")),
                    });
                    continue;
                }
            };
            match configured {
                Ok(config) => {
                    controls.insert(id.clone(), config);
                }
                Err(problems) => issues.extend(problems.into_iter().map(|p| RuleIssue {
                    field: format!("{field}{}", p.field),
                    message: p.message,
                })),
            }
        }
        (RuleSettings { controls, custom }, issues)
    }

    /// Settings from TOML text shaped like the `[rules]` table, for tests.
    #[cfg(test)]
    pub(crate) fn for_test(text: &str) -> RuleSettings {
        let tables: BTreeMap<String, toml::Table> = toml::from_str(text).expect("rules TOML");
        let (settings, issues) = RuleSettings::from_tables(&tables, Arc::default());
        assert_eq!(issues, vec![], "test rules are valid");
        settings
    }

    /// What `[rules."<id>"]` configured, if anything.
    pub fn of(&self, id: &str) -> Option<&ControlConfig> {
        self.controls.get(id)
    }

    /// The custom controls these settings run.
    pub fn custom(&self) -> &CustomControls {
        &self.custom
    }

    fn severity(&self, id: &str, default: Severity) -> Severity {
        self.of(id).and_then(|c| c.severity).unwrap_or(default)
    }

    fn enabled(&self, id: &str) -> bool {
        self.of(id).and_then(|c| c.enabled).unwrap_or(true)
    }

    fn settings_of(&self, control: &Control) -> &ControlSettings {
        static DEFAULTS: std::sync::LazyLock<ControlSettings> =
            std::sync::LazyLock::new(ControlSettings::default);
        self.of(control.id)
            .map(|c| &c.settings)
            .unwrap_or(&DEFAULTS)
    }
}

/// The result of one control on one resource in one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// A built-in control's `'static` id, or a custom control's own.
    pub control_id: Cow<'static, str>,
    pub status: FindingStatus,
    pub severity: Severity,
    /// Always an object with at least `message`.
    pub evidence: Value,
}

/// What a rule returns before severity is attached: a status and its
/// evidence (an object with at least `message`).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: FindingStatus,
    pub evidence: Value,
}

impl Verdict {
    pub fn pass(message: impl Into<String>, details: Value) -> Self {
        Self::new(FindingStatus::Pass, message, details)
    }
    pub fn fail(message: impl Into<String>, details: Value) -> Self {
        Self::new(FindingStatus::Fail, message, details)
    }
    pub fn unknown(message: impl Into<String>, details: Value) -> Self {
        Self::new(FindingStatus::Unknown, message, details)
    }

    fn new(status: FindingStatus, message: impl Into<String>, details: Value) -> Self {
        let mut evidence = json!({ "message": message.into() });
        if let (Value::Object(target), Value::Object(extra)) = (&mut evidence, details) {
            target.extend(extra);
        }
        Verdict { status, evidence }
    }
}

/// A stored document read back, once, as the typed record of its resource
/// type: what rules decide on. A rule asks for the record it decides on
/// (`subject.get::<S3Bucket>()`) and does not apply to any other.
pub struct Subject {
    record: Box<dyn std::any::Any + Send + Sync>,
    observed_at: DateTime<Utc>,
}

impl Subject {
    pub fn read(
        resource_type: ResourceType,
        document: &Document,
        observed_at: DateTime<Utc>,
    ) -> Result<Subject, String> {
        let record = resource_type.read_record(document).map_err(|e| {
            format!(
                "stored document is not a readable {} record: {e}",
                resource_type.label()
            )
        })?;
        Ok(Subject {
            record,
            observed_at,
        })
    }

    /// When the record was collected: the "now" of rules that judge an age
    /// (a key unused for 45 days, a certificate past its expiry). Rules read
    /// no clock of their own, so a verdict is a function of the snapshot.
    pub fn observed_at(&self) -> DateTime<Utc> {
        self.observed_at
    }

    /// The record, if it is a `T`.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.record.downcast_ref()
    }
}

/// [`evaluate_in`] without the documents of the resource's scope: a custom
/// control that declares `data` is `unknown`.
pub fn evaluate(
    resource: &ResourceRecord,
    settings: &RuleSettings,
    observed_at: DateTime<Utc>,
) -> Vec<Evaluation> {
    evaluate_in(resource, settings, &ScopeData::none(), observed_at)
}

/// Evaluates every enabled control that applies to the resource, built-in
/// then custom; `scope` holds the scope's documents custom controls read.
///
/// A resource whose collection failed yields `unknown` for each control, with
/// the collection error as evidence: a control is never passed on data we
/// do not have. `observed_at` is when the resource was collected.
pub fn evaluate_in(
    resource: &ResourceRecord,
    settings: &RuleSettings,
    scope: &ScopeData,
    observed_at: DateTime<Utc>,
) -> Vec<Evaluation> {
    let collected = resource.document.as_ref().map_err(|error| {
        Verdict::unknown(
            format!("collection of this resource failed: {error}"),
            json!({ "collection_error": error }),
        )
    });
    let subject = collected.clone().and_then(|document| {
        Subject::read(resource.resource_type, document, observed_at)
            .map_err(|message| Verdict::unknown(message, json!({})))
    });
    let mut evaluations: Vec<Evaluation> = controls_for(resource.resource_type)
        .filter(|control| settings.enabled(control.id))
        .filter_map(|control| {
            let verdict = match &subject {
                Ok(subject) => (control.rule)(subject, settings.settings_of(control))?,
                Err(unknown) => unknown.clone(),
            };
            Some(Evaluation {
                control_id: Cow::Borrowed(control.id),
                status: verdict.status,
                severity: settings.severity(control.id, control.default_severity),
                evidence: verdict.evidence,
            })
        })
        .collect();
    evaluations.extend(evaluate_custom(
        resource.resource_type,
        collected,
        settings,
        scope,
    ));
    evaluations
}

/// The custom controls of the resource's type, on its document as stored
/// (they read the JSON, not the typed record).
fn evaluate_custom(
    resource_type: ResourceType,
    collected: Result<&Document, Verdict>,
    settings: &RuleSettings,
    scope: &ScopeData,
) -> Vec<Evaluation> {
    let custom = settings.custom();
    let controls: Vec<&CustomControl> = custom
        .for_type(resource_type)
        .filter(|c| settings.enabled(&c.id))
        .collect();
    if controls.is_empty() {
        return Vec::new();
    }
    let input = collected.and_then(|document| {
        CustomControls::input(document.as_str()).map_err(|m| Verdict::unknown(m, json!({})))
    });
    controls
        .into_iter()
        .filter_map(|control| {
            let verdict = match &input {
                Ok(input) => custom.decide(control, input, scope)?,
                Err(unknown) => unknown.clone(),
            };
            Some(Evaluation {
                control_id: Cow::Owned(control.id.clone()),
                status: verdict.status,
                severity: settings.severity(&control.id, control.default_severity),
                evidence: verdict.evidence,
            })
        })
        .collect()
}

/// Every applicable control's verdict on one document, for rule tests.
#[cfg(test)]
pub(crate) fn verdicts(
    resource_type: ResourceType,
    document: &Value,
    settings: &RuleSettings,
) -> Vec<(&'static str, Verdict)> {
    verdicts_at(resource_type, document, settings, Utc::now())
}

/// [`verdicts`] as of `observed_at`, for rules that judge an age.
#[cfg(test)]
pub(crate) fn verdicts_at(
    resource_type: ResourceType,
    document: &Value,
    settings: &RuleSettings,
    observed_at: DateTime<Utc>,
) -> Vec<(&'static str, Verdict)> {
    let record = ResourceRecord {
        arn: "arn:aws:test".into(),
        resource_type,
        name: "test".into(),
        region: "eu-west-1".into(),
        document: Ok(Document::from_value(document)),
    };
    evaluate(&record, settings, observed_at)
        .into_iter()
        .map(|e| {
            let id = control(&e.control_id)
                .expect("rule tests run built-in controls")
                .id;
            let verdict = Verdict {
                status: e.status,
                evidence: e.evidence,
            };
            (id, verdict)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_bucket() -> ResourceRecord {
        ResourceRecord {
            arn: "arn:aws:s3:::b".into(),
            resource_type: ResourceType::S3Bucket,
            name: "b".into(),
            region: "us-east-1".into(),
            document: Err("AccessDenied: GetBucketEncryption".into()),
        }
    }

    fn bucket_controls() -> usize {
        controls_for(ResourceType::S3Bucket).count()
    }

    #[test]
    fn failed_collection_is_unknown_for_every_control_never_pass() {
        let evaluations = evaluate(&failed_bucket(), &RuleSettings::default(), Utc::now());
        assert_eq!(evaluations.len(), bucket_controls());
        for e in &evaluations {
            assert_eq!(e.status, FindingStatus::Unknown, "{}", e.control_id);
            assert_eq!(
                e.evidence["collection_error"],
                "AccessDenied: GetBucketEncryption"
            );
        }
    }

    #[test]
    fn overrides_change_severity_and_disable_controls() {
        let tables: BTreeMap<String, toml::Table> = toml::from_str(
            "[\"s3.versioning\"]\nseverity = \"critical\"\n[\"s3.access_logging\"]\nenabled = false\n",
        )
        .expect("toml");
        let (settings, issues) = RuleSettings::from_tables(&tables, Arc::default());
        assert_eq!(issues, vec![]);
        let evaluations = evaluate(&failed_bucket(), &settings, Utc::now());
        assert_eq!(evaluations.len(), bucket_controls() - 1);
        let versioning = evaluations
            .iter()
            .find(|e| e.control_id == "s3.versioning")
            .expect("versioning evaluated");
        assert_eq!(versioning.severity, Severity::Critical);
        assert!(
            evaluations
                .iter()
                .all(|e| e.control_id != "s3.access_logging")
        );
    }

    #[test]
    fn misspelt_control_ids_are_refused() {
        let tables: BTreeMap<String, toml::Table> =
            toml::from_str("[\"s3.versionning\"]\nenabled = false\n").expect("toml");
        let (_, issues) = RuleSettings::from_tables(&tables, Arc::default());
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "rules.\"s3.versionning\"");
    }

    #[test]
    fn an_unreadable_document_is_unknown_for_every_control_of_its_type() {
        let record = ResourceRecord {
            document: Ok(Document::from_value(&json!({ "name": 3 }))),
            ..failed_bucket()
        };
        let evaluations = evaluate(&record, &RuleSettings::default(), Utc::now());
        assert_eq!(evaluations.len(), bucket_controls());
        for e in &evaluations {
            assert_eq!(e.status, FindingStatus::Unknown, "{}", e.control_id);
            let message = e.evidence["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("not a readable S3 bucket record"),
                "{message}"
            );
        }
    }
}
