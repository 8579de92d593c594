//! Rules: normalised resource documents in, one evaluation per control out.
//!
//! Rules see only the typed records of [`crate::model`], deserialised from
//! the stored documents, never AWS SDK types and never SQL.

mod ec2;
mod ecr;
mod eks;
mod logs;
pub mod policy;
pub mod rds;
mod s3;

use crate::model::{ResourceRecord, ResourceType};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

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

/// One control of `controls.md`: what it checks and where it maps.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub id: &'static str,
    pub resource_types: &'static [ResourceType],
    pub title: &'static str,
    pub default_severity: Severity,
    pub soc2: &'static [&'static str],
    pub pci_dss: &'static [&'static str],
}

pub const CONTROLS: &[Control] = &[
    Control {
        id: "s3.tls_only",
        resource_types: &[ResourceType::S3Bucket],
        title: "Bucket policy denies all requests made without TLS",
        default_severity: Severity::High,
        soc2: &["CC6.1", "CC6.7"],
        pci_dss: &["4.2.1"],
    },
    Control {
        id: "s3.replication",
        resource_types: &[ResourceType::S3Bucket],
        title: "Bucket replicates to another bucket (same-region replication named by the requirement)",
        default_severity: Severity::Medium,
        soc2: &["A1.2", "CC9.1"],
        pci_dss: &["12.10.1"],
    },
    Control {
        id: "s3.encryption",
        resource_types: &[ResourceType::S3Bucket],
        title: "Default encryption is SSE-S3, SSE-KMS or DSSE-KMS",
        default_severity: Severity::Medium,
        soc2: &["CC6.1"],
        pci_dss: &["3.5.1"],
    },
    Control {
        id: "s3.public_access_block",
        resource_types: &[ResourceType::S3Bucket],
        title: "All four public access block settings on, at bucket or account level",
        default_severity: Severity::High,
        soc2: &["CC6.1", "CC6.6"],
        pci_dss: &["1.4.1"],
    },
    Control {
        id: "s3.versioning",
        resource_types: &[ResourceType::S3Bucket],
        title: "Versioning enabled",
        default_severity: Severity::Low,
        soc2: &["A1.2"],
        pci_dss: &["10.5.1"],
    },
    Control {
        id: "s3.access_logging",
        resource_types: &[ResourceType::S3Bucket],
        title: "Server access logging enabled",
        default_severity: Severity::Low,
        soc2: &["CC7.2"],
        pci_dss: &["10.2.1"],
    },
    Control {
        id: "rds.multi_az",
        resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
        title: "Database deployed across availability zones (Aurora: members in 2+ AZs)",
        default_severity: Severity::Medium,
        soc2: &["A1.2"],
        pci_dss: &["12.10.1"],
    },
    Control {
        id: "rds.not_public",
        resource_types: &[ResourceType::RdsInstance],
        title: "Database not publicly accessible; no security group admits the internet (or CIDRs beyond those allowed) on its port",
        default_severity: Severity::Critical,
        soc2: &["CC6.6"],
        pci_dss: &["1.3.1"],
    },
    Control {
        id: "rds.encrypted",
        resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
        title: "Storage encrypted",
        default_severity: Severity::High,
        soc2: &["CC6.1"],
        pci_dss: &["3.5.1"],
    },
    Control {
        id: "rds.backups",
        resource_types: &[ResourceType::RdsInstance],
        title: "Automated backups kept at least the configured days (default 7)",
        default_severity: Severity::Medium,
        soc2: &["A1.2"],
        pci_dss: &["12.10.1"],
    },
    Control {
        id: "vpc.flow_logs",
        resource_types: &[ResourceType::Vpc],
        title: "An ACTIVE flow log captures ALL traffic of the VPC",
        default_severity: Severity::High,
        soc2: &["CC7.2"],
        pci_dss: &["10.2.1"],
    },
    Control {
        id: "ec2.imdsv2",
        resource_types: &[
            ResourceType::Ec2Instance,
            ResourceType::LaunchTemplate,
            ResourceType::EksNodegroup,
        ],
        title: "Instance metadata requires IMDSv2 tokens (or is disabled)",
        default_severity: Severity::High,
        soc2: &["CC6.1"],
        pci_dss: &["2.2.1"],
    },
    Control {
        id: "vpc.flow_log_retention",
        resource_types: &[ResourceType::Vpc],
        title: "Flow log destinations keep records at least 365 days (log group retention, bucket lifecycle)",
        default_severity: Severity::Medium,
        soc2: &["CC7.2"],
        pci_dss: &["10.5.1"],
    },
    Control {
        id: "eks.endpoint_restricted",
        resource_types: &[ResourceType::EksCluster],
        title: "EKS API endpoint private, or public only to restricted CIDRs",
        default_severity: Severity::High,
        soc2: &["CC6.6"],
        pci_dss: &["1.3.1"],
    },
    Control {
        id: "eks.control_plane_logs",
        resource_types: &[ResourceType::EksCluster],
        title: "EKS api, audit and authenticator control-plane logs enabled",
        default_severity: Severity::Medium,
        soc2: &["CC7.2"],
        pci_dss: &["10.2.1"],
    },
    Control {
        id: "logs.retention",
        resource_types: &[ResourceType::LogGroup],
        title: "Evidence log groups (EKS control plane, flow logs, configured patterns) kept 365 days or never expire",
        default_severity: Severity::Medium,
        soc2: &["CC7.2"],
        pci_dss: &["10.5.1"],
    },
    Control {
        id: "ecr.image_retention",
        resource_types: &[ResourceType::EcrRepository],
        title: "No lifecycle rule expires images younger than 365 days",
        default_severity: Severity::Low,
        soc2: &["CC7.2"],
        pci_dss: &["10.5.1"],
    },
];

pub fn control(id: &str) -> Option<&'static Control> {
    CONTROLS.iter().find(|c| c.id == id)
}

/// Per-control settings from config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleOverride {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

/// What the rules need from config, independent of its file format.
#[derive(Debug, Clone)]
pub struct RuleSettings {
    pub overrides: BTreeMap<String, RuleOverride>,
    /// `rds.backups`: the fewest days of automated backups that pass.
    pub rds_min_backup_retention_days: i32,
    /// `rds.not_public`: when non-empty, every source CIDR that reaches a
    /// database port must lie within one of these.
    pub rds_allowed_cidrs: Vec<String>,
    /// `logs.retention` and `vpc.flow_log_retention`: the fewest days kept.
    pub logs_min_retention_days: i32,
    /// `logs.retention`: further log groups in scope, by `*`/`?` pattern.
    pub log_group_patterns: Vec<String>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            overrides: BTreeMap::new(),
            rds_min_backup_retention_days: 7,
            rds_allowed_cidrs: Vec::new(),
            logs_min_retention_days: 365,
            log_group_patterns: Vec::new(),
        }
    }
}

impl RuleSettings {
    fn severity(&self, control: &Control) -> Severity {
        self.overrides
            .get(control.id)
            .and_then(|o| o.severity)
            .unwrap_or(control.default_severity)
    }

    fn enabled(&self, control: &Control) -> bool {
        self.overrides
            .get(control.id)
            .and_then(|o| o.enabled)
            .unwrap_or(true)
    }
}

/// The result of one control on one resource in one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub control_id: &'static str,
    pub status: FindingStatus,
    pub severity: Severity,
    /// Always an object with at least `message`.
    pub evidence: Value,
}

/// What a rule returns before severity is attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
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

/// Evaluates every enabled control that applies to the resource.
///
/// A resource whose collection failed yields `unknown` for each control, with
/// the collection error as evidence: a control is never passed on data we
/// do not have.
pub fn evaluate(resource: &ResourceRecord, settings: &RuleSettings) -> Vec<Evaluation> {
    let verdicts: Vec<(&'static str, Verdict)> = match &resource.document {
        Err(error) => controls_for(resource.resource_type)
            .map(|c| {
                let verdict = Verdict::unknown(
                    format!("collection of this resource failed: {error}"),
                    json!({ "collection_error": error }),
                );
                (c.id, verdict)
            })
            .collect(),
        Ok(document) => match resource.resource_type {
            ResourceType::S3Bucket => s3::evaluate(document),
            ResourceType::RdsInstance => rds::evaluate_instance(document, settings),
            ResourceType::RdsCluster => rds::evaluate_cluster(document),
            ResourceType::Ec2Instance => ec2::evaluate_instance(document),
            ResourceType::LaunchTemplate => ec2::evaluate_launch_template(document),
            ResourceType::Vpc => ec2::evaluate_vpc(document, settings),
            ResourceType::LogGroup => logs::evaluate_log_group(document, settings),
            ResourceType::EksCluster => eks::evaluate_cluster(document),
            ResourceType::EksNodegroup => ec2::evaluate_nodegroup(document),
            ResourceType::EcrRepository => ecr::evaluate_repository(document),
        },
    };
    verdicts
        .into_iter()
        .filter_map(|(control_id, verdict)| {
            let control = control(control_id)?;
            settings.enabled(control).then(|| Evaluation {
                control_id: control.id,
                status: verdict.status,
                severity: settings.severity(control),
                evidence: verdict.evidence,
            })
        })
        .collect()
}

fn controls_for(resource_type: ResourceType) -> impl Iterator<Item = &'static Control> {
    CONTROLS
        .iter()
        .filter(move |c| c.resource_types.contains(&resource_type))
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

    #[test]
    fn failed_collection_is_unknown_for_every_control_never_pass() {
        let evaluations = evaluate(&failed_bucket(), &RuleSettings::default());
        assert_eq!(evaluations.len(), 6);
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
        let mut settings = RuleSettings::default();
        settings.overrides.insert(
            "s3.versioning".into(),
            RuleOverride {
                enabled: None,
                severity: Some(Severity::Critical),
            },
        );
        settings.overrides.insert(
            "s3.access_logging".into(),
            RuleOverride {
                enabled: Some(false),
                severity: None,
            },
        );
        let evaluations = evaluate(&failed_bucket(), &settings);
        assert_eq!(evaluations.len(), 5);
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
    fn every_control_has_mappings_and_a_unique_id() {
        let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
        for c in CONTROLS {
            assert!(!c.soc2.is_empty() && !c.pci_dss.is_empty(), "{}", c.id);
        }
    }
}
