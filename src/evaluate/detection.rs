//! Threat detection and configuration recording, judged per region scanned
//! on the `aws.account_region` record: `config.recorder_enabled` (CIS 3.3),
//! `guardduty.enabled`, `securityhub.enabled` (CIS 4.16) and
//! `accessanalyzer.enabled` (CIS 1.19).
//!
//! A region the account has not enabled is not applicable (no verdict); a
//! setting that could not be read is `unknown` with the reason.

use super::catalog::{Control, Remediation};
use super::{Severity, Verdict};
use crate::model::{
    AccessAnalyzer, AccountRegion, ConfigRecorder, GuardDutyDetector, RegionSetting, ResourceType,
    SecurityHub,
};
use serde::Serialize;
use serde_json::json;

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "config.recorder_enabled",
        title: "AWS Config records all supported resource types in every region scanned",
        resource_types: &[ResourceType::AccountRegion],
        default_severity: Severity::Medium,
        rationale: "AWS Config's configuration history is the record of what each resource looked like and when it changed: the evidence for change management, incident investigation and every Config rule. It is kept per region, and only for the resource types the recorder records; a region without a running recorder, or one recording a chosen subset, has changes nobody can reconstruct afterwards.",
        remediation: Remediation {
            console: "AWS Config console, in each region: Settings > Edit: Recording strategy 'All resource types with customizable overrides' without exclusions (record global resource types such as IAM in one region), choose the delivery channel's S3 bucket, then Save; on the dashboard make sure Recording is on.",
            cli: "aws configservice put-configuration-recorder --region <region> --configuration-recorder name=default,roleARN=<role_arn> --recording-group allSupported=true,includeGlobalResourceTypes=<true in one region> && aws configservice put-delivery-channel --region <region> --delivery-channel name=default,s3BucketName=<bucket> && aws configservice start-configuration-recorder --region <region> --configuration-recorder-name default",
            terraform: "aws_config_configuration_recorder: recording_group { all_supported = true }; aws_config_delivery_channel; aws_config_configuration_recorder_status: is_enabled = true, once per region (a provider alias per region)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(config_recorder_enabled),
    },
    Control {
        id: "guardduty.enabled",
        title: "GuardDuty has an enabled detector in every region scanned",
        resource_types: &[ResourceType::AccountRegion],
        default_severity: Severity::High,
        rationale: "GuardDuty reads CloudTrail, VPC flow logs and DNS logs for signs of compromise (stolen credentials used from unusual places, instances talking to command-and-control hosts, reconnaissance). It works per region: a region without an enabled detector is where an attacker's activity raises no finding at all.",
        remediation: Remediation {
            console: "GuardDuty console, in each region: Get started > Enable GuardDuty (or, for a suspended detector, Settings > Re-enable GuardDuty); with AWS Organizations, enable it for all members from the delegated administrator.",
            cli: "aws guardduty create-detector --region <region> --enable (or, for a suspended one: aws guardduty update-detector --region <region> --detector-id <id> --enable)",
            terraform: "aws_guardduty_detector: enable = true, once per region (a provider alias per region)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(guardduty_enabled),
    },
    Control {
        id: "securityhub.enabled",
        title: "Security Hub is enabled in every region scanned",
        resource_types: &[ResourceType::AccountRegion],
        default_severity: Severity::Medium,
        rationale: "Security Hub collects the findings of GuardDuty, Inspector, Macie, Access Analyzer and its own best-practice checks into one place where they are triaged. It is enabled per region; findings of a region without it are scattered over each service's console, where nobody is watching.",
        remediation: Remediation {
            console: "Security Hub console, in each region: Go to Security Hub > Enable Security Hub (choose the standards to enable); with AWS Organizations, enable it for all members from the delegated administrator.",
            cli: "aws securityhub enable-security-hub --region <region> --enable-default-standards",
            terraform: "aws_securityhub_account, once per region (a provider alias per region)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(securityhub_enabled),
    },
    Control {
        id: "accessanalyzer.enabled",
        title: "An IAM Access Analyzer for external access is active in every region scanned",
        resource_types: &[ResourceType::AccountRegion],
        default_severity: Severity::Medium,
        rationale: "An external access analyzer reads the resource policies of buckets, keys, roles, queues, functions and secrets and reports every one that grants access to a principal outside the account (or organization), including the public. Analyzers are regional: without an active one in a region, resources shared there with the world or another account go unnoticed. Unused-access and internal-access analyzers answer other questions and do not count.",
        remediation: Remediation {
            console: "IAM console > Access analyzer, in each region: Analyzer settings > Create analyzer, Finding type 'External access analysis', zone of trust the account (or the organization), then Create analyzer.",
            cli: "aws accessanalyzer create-analyzer --region <region> --analyzer-name external-access --type ACCOUNT",
            terraform: "aws_accessanalyzer_analyzer: type = \"ACCOUNT\" (or \"ORGANIZATION\"), once per region (a provider alias per region)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(accessanalyzer_enabled),
    },
];

/// A decided setting: `Ok` passes with its message, `Err` fails with it.
type Decision = Result<String, String>;

/// The verdict on one regional setting: none where the account has not
/// enabled the region, unknown where the setting was not read, otherwise
/// what `decide` says of its value.
fn judge<T: Serialize>(
    region: &AccountRegion,
    what: &str,
    key: &str,
    setting: &RegionSetting<T>,
    decide: impl FnOnce(&T) -> Option<Decision>,
) -> Option<Verdict> {
    if !region.enabled {
        return None;
    }
    let details = json!({ "region": region.region, key: setting });
    let in_region = |message: String| format!("{message} in {}", region.region);
    Some(match setting {
        RegionSetting::Read { value } => match decide(value) {
            Some(Ok(message)) => Verdict::pass(in_region(message), details),
            Some(Err(message)) => Verdict::fail(in_region(message), details),
            None => Verdict::unknown(in_region(format!("{what} was not fully read")), details),
        },
        RegionSetting::Unreadable { error } => {
            Verdict::unknown(in_region(format!("{what} could not be read ({error})")), details)
        }
        RegionSetting::NotRead => Verdict::unknown(in_region(format!("{what} was not read")), details),
    })
}

fn config_recorder_enabled(region: &AccountRegion) -> Option<Verdict> {
    judge(
        region,
        "the AWS Config recorders",
        "config_recorders",
        &region.config_recorders,
        |recorders| recorders_decision(recorders),
    )
}

/// CIS 3.3: a recorder whose recording group has `allSupported` (no
/// inclusion list, no exclusions) and whose status is recording without a
/// failed last attempt (`Pending` right after a start is recording).
/// Global resource types need recording in one region only, so they are
/// not asked of every region. `None` when the one candidate has no status.
fn recorders_decision(recorders: &[ConfigRecorder]) -> Option<Decision> {
    if recorders.is_empty() {
        return Some(Err("no AWS Config configuration recorder".to_string()));
    }
    let mut problems = Vec::new();
    let mut status_missing = false;
    for recorder in recorders {
        match recorder_problem(recorder) {
            None => {
                return Some(Ok(format!(
                    "AWS Config recorder {} records all supported resource types and is recording",
                    recorder.name
                )));
            }
            Some(RecorderProblem::StatusMissing) => status_missing = true,
            Some(RecorderProblem::Named(problem)) => {
                problems.push(format!("recorder {}: {problem}", recorder.name))
            }
        }
    }
    if status_missing {
        None
    } else {
        Some(Err(problems.join("; ")))
    }
}

enum RecorderProblem {
    Named(String),
    StatusMissing,
}

fn recorder_problem(recorder: &ConfigRecorder) -> Option<RecorderProblem> {
    let all_types = recorder.all_supported
        && recorder
            .recording_strategy
            .as_deref()
            .is_none_or(|s| s == "ALL_SUPPORTED_RESOURCE_TYPES")
        && recorder.excluded_resource_types.is_empty();
    if !all_types {
        let scope = match recorder.recording_strategy.as_deref() {
            Some("EXCLUSION_BY_RESOURCE_TYPES") => format!(
                "excludes {} resource type(s)",
                recorder.excluded_resource_types.len()
            ),
            _ => format!(
                "records only {} chosen resource type(s)",
                recorder.resource_types.len()
            ),
        };
        return Some(RecorderProblem::Named(format!(
            "{scope}, not all supported types"
        )));
    }
    let Some(status) = &recorder.status else {
        return Some(RecorderProblem::StatusMissing);
    };
    if !status.recording {
        return Some(RecorderProblem::Named("is stopped (not recording)".into()));
    }
    if status
        .last_status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("failure"))
    {
        let code = status.last_error_code.as_deref().unwrap_or("no error code");
        return Some(RecorderProblem::Named(format!(
            "its last recording attempt failed ({code})"
        )));
    }
    None
}

fn guardduty_enabled(region: &AccountRegion) -> Option<Verdict> {
    judge(
        region,
        "the GuardDuty detectors",
        "guardduty_detectors",
        &region.guardduty_detectors,
        |detectors| Some(detectors_decision(detectors)),
    )
}

fn detectors_decision(detectors: &[GuardDutyDetector]) -> Decision {
    if let Some(enabled) = detectors.iter().find(|d| d.status == "ENABLED") {
        return Ok(format!("GuardDuty detector {} is enabled", enabled.id));
    }
    if detectors.is_empty() {
        return Err("GuardDuty is not enabled (no detector)".to_string());
    }
    let states: Vec<String> = detectors
        .iter()
        .map(|d| format!("detector {} is {}", d.id, status_or_unset(&d.status)))
        .collect();
    Err(format!("GuardDuty is suspended: {}", states.join("; ")))
}

fn securityhub_enabled(region: &AccountRegion) -> Option<Verdict> {
    judge(
        region,
        "the Security Hub subscription",
        "security_hub",
        &region.security_hub,
        |hub| Some(hub_decision(hub.as_ref())),
    )
}

fn hub_decision(hub: Option<&SecurityHub>) -> Decision {
    match hub {
        Some(hub) => Ok(format!("Security Hub is enabled ({})", hub.hub_arn)),
        None => Err("the account is not subscribed to Security Hub".to_string()),
    }
}

fn accessanalyzer_enabled(region: &AccountRegion) -> Option<Verdict> {
    judge(
        region,
        "the IAM Access Analyzer analyzers",
        "access_analyzers",
        &region.access_analyzers,
        |analyzers| Some(analyzers_decision(analyzers)),
    )
}

/// External access is analysed by the `ACCOUNT` and `ORGANIZATION`
/// analyzers; `*_UNUSED_ACCESS` and `*_INTERNAL_ACCESS` ones look at other
/// things.
fn analyzers_decision(analyzers: &[AccessAnalyzer]) -> Decision {
    let external: Vec<&AccessAnalyzer> = analyzers
        .iter()
        .filter(|a| matches!(a.analyzer_type.as_str(), "ACCOUNT" | "ORGANIZATION"))
        .collect();
    if let Some(active) = external.iter().find(|a| a.status == "ACTIVE") {
        return Ok(format!(
            "external access analyzer {} ({}) is active",
            active.name, active.analyzer_type
        ));
    }
    if external.is_empty() {
        return Err(match analyzers.len() {
            0 => "no IAM Access Analyzer analyzer".to_string(),
            n => format!("no external access analyzer ({n} analyzer(s) of other kinds only)"),
        });
    }
    let states: Vec<String> = external
        .iter()
        .map(|a| {
            let reason = a
                .status_reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!("{} is {}{reason}", a.name, status_or_unset(&a.status))
        })
        .collect();
    Err(format!(
        "no active external access analyzer: {}",
        states.join("; ")
    ))
}

fn status_or_unset(status: &str) -> &str {
    if status.is_empty() {
        "without a status"
    } else {
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::ConfigRecorderStatus;

    fn region() -> AccountRegion {
        AccountRegion {
            account_id: "123456789012".into(),
            region: "eu-west-1".into(),
            opt_in_status: "opt-in-not-required".into(),
            enabled: true,
            ebs_encryption_by_default: RegionSetting::Read { value: true },
            config_recorders: RegionSetting::Read { value: vec![] },
            guardduty_detectors: RegionSetting::Read { value: vec![] },
            security_hub: RegionSetting::Read { value: None },
            access_analyzers: RegionSetting::Read { value: vec![] },
        }
    }

    /// The verdict of `control` on `record`, run through the catalog as a
    /// scan runs it (so from the serialised document).
    fn verdict(record: &AccountRegion, control: &str) -> Option<(FindingStatus, String)> {
        let document = serde_json::to_value(record).expect("serialises");
        verdicts(
            ResourceType::AccountRegion,
            &document,
            &RuleSettings::default(),
        )
        .into_iter()
        .find(|(id, _)| *id == control)
        .map(|(_, v)| {
            let message = v.evidence["message"].as_str().unwrap_or_default().to_string();
            (v.status, message)
        })
    }

    fn status(record: &AccountRegion, control: &str) -> FindingStatus {
        verdict(record, control)
            .unwrap_or_else(|| panic!("{control} gave no verdict"))
            .0
    }

    /// As DescribeConfigurationRecorders + ...Status answer for the
    /// console's default recorder: all types, recording.
    fn recorder() -> ConfigRecorder {
        ConfigRecorder {
            name: "default".into(),
            service_principal: None,
            all_supported: true,
            include_global_resource_types: true,
            recording_strategy: Some("ALL_SUPPORTED_RESOURCE_TYPES".into()),
            resource_types: vec![],
            excluded_resource_types: vec![],
            status: Some(ConfigRecorderStatus {
                recording: true,
                last_status: Some("Success".into()),
                last_error_code: None,
            }),
        }
    }

    fn with_recorders(recorders: Vec<ConfigRecorder>) -> AccountRegion {
        AccountRegion {
            config_recorders: RegionSetting::Read { value: recorders },
            ..region()
        }
    }

    const CONFIG: &str = "config.recorder_enabled";

    #[test]
    fn a_recorder_of_all_types_that_is_recording_passes() {
        assert_eq!(status(&with_recorders(vec![recorder()]), CONFIG), Pass);
        let mut pending = recorder();
        pending.status = Some(ConfigRecorderStatus {
            recording: true,
            last_status: Some("Pending".into()),
            last_error_code: None,
        });
        assert_eq!(
            status(&with_recorders(vec![pending]), CONFIG),
            Pass,
            "Pending right after a start is recording"
        );
        let mut no_globals = recorder();
        no_globals.include_global_resource_types = false;
        assert_eq!(
            status(&with_recorders(vec![no_globals]), CONFIG),
            Pass,
            "global types are recorded in one region only"
        );
    }

    #[test]
    fn no_recorder_a_subset_a_stopped_or_failing_recorder_fails() {
        let (s, m) = verdict(&with_recorders(vec![]), CONFIG).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("no AWS Config configuration recorder in eu-west-1"), "{m}");

        let mut included = recorder();
        included.all_supported = false;
        included.include_global_resource_types = false;
        included.recording_strategy = Some("INCLUSION_BY_RESOURCE_TYPES".into());
        included.resource_types = vec!["AWS::S3::Bucket".into()];
        let (s, m) = verdict(&with_recorders(vec![included]), CONFIG).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("records only 1 chosen resource type"), "{m}");

        let mut excluded = recorder();
        excluded.all_supported = false;
        excluded.recording_strategy = Some("EXCLUSION_BY_RESOURCE_TYPES".into());
        excluded.excluded_resource_types = vec!["AWS::EC2::Instance".into()];
        let (s, m) = verdict(&with_recorders(vec![excluded]), CONFIG).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("excludes 1 resource type"), "{m}");

        let mut stopped = recorder();
        stopped.status = Some(ConfigRecorderStatus {
            recording: false,
            last_status: Some("Success".into()),
            last_error_code: None,
        });
        let (s, m) = verdict(&with_recorders(vec![stopped]), CONFIG).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("stopped"), "{m}");

        let mut failing = recorder();
        failing.status = Some(ConfigRecorderStatus {
            recording: true,
            last_status: Some("Failure".into()),
            last_error_code: Some("AccessDenied".into()),
        });
        let (s, m) = verdict(&with_recorders(vec![failing]), CONFIG).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("failed (AccessDenied)"), "{m}");
    }

    #[test]
    fn one_good_recorder_among_others_passes_and_a_missing_status_is_unknown() {
        let mut subset = recorder();
        subset.name = "aws-service-linked".into();
        subset.service_principal = Some("config-conforms.amazonaws.com".into());
        subset.all_supported = false;
        subset.recording_strategy = Some("INCLUSION_BY_RESOURCE_TYPES".into());
        assert_eq!(
            status(&with_recorders(vec![subset.clone(), recorder()]), CONFIG),
            Pass
        );
        let mut without_status = recorder();
        without_status.status = None;
        assert_eq!(
            status(&with_recorders(vec![subset, without_status]), CONFIG),
            Unknown,
            "never pass, and not proven failing"
        );
    }

    fn with_detectors(statuses: &[&str]) -> AccountRegion {
        let value = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| GuardDutyDetector {
                id: format!("detector{i}"),
                status: s.to_string(),
            })
            .collect();
        AccountRegion {
            guardduty_detectors: RegionSetting::Read { value },
            ..region()
        }
    }

    const GUARDDUTY: &str = "guardduty.enabled";

    #[test]
    fn guardduty_needs_an_enabled_detector() {
        assert_eq!(status(&with_detectors(&["ENABLED"]), GUARDDUTY), Pass);
        let (s, m) = verdict(&with_detectors(&[]), GUARDDUTY).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("no detector"), "{m}");
        let (s, m) = verdict(&with_detectors(&["DISABLED"]), GUARDDUTY).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("detector0 is DISABLED"), "{m}");
        assert_eq!(status(&with_detectors(&[""]), GUARDDUTY), Fail);
    }

    const HUB: &str = "securityhub.enabled";

    #[test]
    fn security_hub_is_enabled_when_describe_hub_answers_a_hub() {
        let subscribed = AccountRegion {
            security_hub: RegionSetting::Read {
                value: Some(SecurityHub {
                    hub_arn: "arn:aws:securityhub:eu-west-1:123456789012:hub/default".into(),
                    subscribed_at: Some("2026-01-05T10:00:00.000Z".into()),
                }),
            },
            ..region()
        };
        assert_eq!(status(&subscribed, HUB), Pass);
        let (s, m) = verdict(&region(), HUB).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("not subscribed"), "{m}");
    }

    /// As ListAnalyzers answers (moto has no Access Analyzer).
    fn analyzer(name: &str, kind: &str, status: &str) -> AccessAnalyzer {
        AccessAnalyzer {
            arn: format!("arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/{name}"),
            name: name.into(),
            analyzer_type: kind.into(),
            status: status.into(),
            status_reason: None,
        }
    }

    fn with_analyzers(value: Vec<AccessAnalyzer>) -> AccountRegion {
        AccountRegion {
            access_analyzers: RegionSetting::Read { value },
            ..region()
        }
    }

    const ANALYZER: &str = "accessanalyzer.enabled";

    #[test]
    fn an_active_external_access_analyzer_passes() {
        for kind in ["ACCOUNT", "ORGANIZATION"] {
            let record = with_analyzers(vec![analyzer("external", kind, "ACTIVE")]);
            assert_eq!(status(&record, ANALYZER), Pass, "{kind}");
        }
        let mixed = with_analyzers(vec![
            analyzer("unused", "ACCOUNT_UNUSED_ACCESS", "ACTIVE"),
            analyzer("external", "ACCOUNT", "ACTIVE"),
        ]);
        assert_eq!(status(&mixed, ANALYZER), Pass);
    }

    #[test]
    fn other_kinds_and_inactive_analyzers_fail() {
        let (s, m) = verdict(&with_analyzers(vec![]), ANALYZER).expect("verdict");
        assert_eq!(s, Fail);
        assert!(m.contains("no IAM Access Analyzer analyzer"), "{m}");
        for kind in [
            "ACCOUNT_UNUSED_ACCESS",
            "ORGANIZATION_UNUSED_ACCESS",
            "ACCOUNT_INTERNAL_ACCESS",
            "ORGANIZATION_INTERNAL_ACCESS",
        ] {
            let record = with_analyzers(vec![analyzer("other", kind, "ACTIVE")]);
            let (s, m) = verdict(&record, ANALYZER).expect("verdict");
            assert_eq!(s, Fail, "{kind}");
            assert!(m.contains("other kinds only"), "{m}");
        }
        for state in ["CREATING", "DISABLED", "FAILED"] {
            let mut failed = analyzer("external", "ACCOUNT", state);
            failed.status_reason = Some("SERVICE_LINKED_ROLE_CREATION_FAILED".into());
            let (s, m) = verdict(&with_analyzers(vec![failed]), ANALYZER).expect("verdict");
            assert_eq!(s, Fail, "{state}");
            assert!(m.contains(&format!("external is {state}: SERVICE_LINKED")), "{m}");
        }
    }

    #[test]
    fn an_unreadable_setting_is_unknown_and_leaves_the_others_decided() {
        let denied = AccountRegion {
            guardduty_detectors: RegionSetting::Unreadable {
                error: "AccessDeniedException: not authorized".into(),
            },
            ..with_recorders(vec![recorder()])
        };
        let (s, m) = verdict(&denied, GUARDDUTY).expect("verdict");
        assert_eq!(s, Unknown);
        assert!(m.contains("AccessDeniedException"), "{m}");
        assert_eq!(status(&denied, CONFIG), Pass);
        assert_eq!(status(&denied, HUB), Fail);
        assert_eq!(status(&denied, "ec2.ebs_default_encryption"), Pass);
        let not_read = AccountRegion {
            security_hub: RegionSetting::NotRead,
            ..region()
        };
        assert_eq!(status(&not_read, HUB), Unknown);
    }

    #[test]
    fn a_region_the_account_has_not_enabled_is_not_judged() {
        let disabled = AccountRegion {
            opt_in_status: "not-opted-in".into(),
            enabled: false,
            ebs_encryption_by_default: RegionSetting::NotRead,
            config_recorders: RegionSetting::NotRead,
            guardduty_detectors: RegionSetting::NotRead,
            security_hub: RegionSetting::NotRead,
            access_analyzers: RegionSetting::NotRead,
            ..region()
        };
        for control in [CONFIG, GUARDDUTY, HUB, ANALYZER] {
            assert_eq!(verdict(&disabled, control), None, "{control}");
        }
    }
}
