//! EC2 and VPC controls of `controls.md`: `ec2.imdsv2` and `vpc.flow_logs`.

use super::catalog::{Control, DaysSetting, Remediation, Setting};
use super::{Severity, Verdict};
use crate::model::{
    AccountRegion, DestinationRetention, RegionSetting, Ec2Instance, EksNodegroup, LaunchTemplate,
    MetadataOptions, ResourceType, Vpc,
};
use serde_json::json;

/// `vpc.flow_log_retention`: the fewest days a flow log's destination keeps.
static FLOW_LOG_MIN_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "min_retention_days",
    help: "the fewest days a flow log's destination must keep records",
    default: 365,
    min: 1,
    max: 3653,
    range_reason: "CloudWatch Logs' longest setting",
};

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "vpc.flow_logs",
        title: "An ACTIVE flow log captures ALL traffic of the VPC",
        resource_types: &[ResourceType::Vpc],
        default_severity: Severity::High,
        rationale: "VPC flow logs are the only record of which addresses talked to which network interfaces, on which ports, and whether the traffic was accepted or rejected. Without an active flow log, scanning, lateral movement and data exfiltration inside the VPC cannot be reconstructed. Capturing ALL traffic, not only REJECT, matters because exfiltration travels over accepted connections.",
        remediation: Remediation {
            console: "VPC console > Your VPCs > select the VPC > Flow logs tab > Create flow log: Filter All, destination Send to CloudWatch Logs (pick a log group and an IAM role) or Send to an Amazon S3 bucket (bucket ARN), then Create flow log.",
            cli: "aws ec2 create-flow-logs --resource-type VPC --resource-ids <vpc-id> --traffic-type ALL --log-destination-type cloud-watch-logs --log-group-name <log-group> --deliver-logs-permission-arn <flow-logs-role-arn>",
            terraform: "aws_flow_log: vpc_id = <vpc_id>, traffic_type = \"ALL\", log_destination_type = \"cloud-watch-logs\", log_destination = <log_group_arn>, iam_role_arn = <flow_logs_role_arn> (or log_destination_type = \"s3\" with log_destination = <bucket_arn>)",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(flow_logs),
    },
    Control {
        id: "ec2.imdsv2",
        title: "Instance metadata requires IMDSv2 tokens (or is disabled)",
        resource_types: &[
            ResourceType::Ec2Instance,
            ResourceType::LaunchTemplate,
            ResourceType::EksNodegroup,
        ],
        default_severity: Severity::High,
        rationale: "IMDSv1 answers any HTTP GET from the instance, so an SSRF flaw or an open proxy in an application can be used to read the instance role's temporary credentials (the technique behind the 2019 Capital One breach). Requiring session tokens (IMDSv2, HttpTokens required) closes that path. Launch templates and EKS node-group templates must require it too, or every new instance reopens the hole.",
        remediation: Remediation {
            console: "EC2 console > Instances > select the instance > Actions > Instance settings > Modify instance metadata options: set IMDSv2 to Required, then Save. For a launch template: Launch Templates > Actions > Modify template (Create new version) > Advanced details > Metadata version: V2 only (token required), then set that version as the default. For an EKS managed node group, update the node group to the new template version.",
            cli: "aws ec2 modify-instance-metadata-options --instance-id <instance-id> --http-tokens required --http-endpoint enabled",
            terraform: "aws_instance and aws_launch_template: metadata_options { http_endpoint = \"enabled\", http_tokens = \"required\" }; EKS: aws_eks_node_group launch_template { id = aws_launch_template.<name>.id, version = aws_launch_template.<name>.latest_version }",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get().map(instance_imdsv2))
                .or_else(|| subject.get().map(launch_template_imdsv2))
                .or_else(|| subject.get().map(nodegroup_imdsv2))
        },
    },
    Control {
        id: "ec2.instance_profile",
        title: "Instance runs with an IAM instance profile (a role, not stored keys)",
        resource_types: &[ResourceType::Ec2Instance],
        default_severity: Severity::Low,
        rationale: "An application on an instance without an instance profile that calls AWS needs long-term access keys stored on the instance: in files, environment variables or images, where they leak and are never rotated. An instance profile gives it temporary credentials from its role instead, rotated automatically. CIS AWS Foundations 1.17 asks for instance roles.",
        remediation: Remediation {
            console: "EC2 console > Instances > the instance > Actions > Security > Modify IAM role: choose a role with only the permissions the workload needs (create one in IAM > Roles with trusted entity EC2), then Update IAM role. Remove any access keys stored on the instance.",
            cli: "aws ec2 associate-iam-instance-profile --instance-id <instance-id> --iam-instance-profile Name=<instance-profile>",
            terraform: "aws_instance: iam_instance_profile = aws_iam_instance_profile.<name>.name (aws_launch_template: iam_instance_profile { name = ... })",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(instance_profile),
    },
    Control {
        id: "vpc.flow_log_retention",
        title: "Flow log destinations keep records at least 365 days (log group retention, bucket lifecycle)",
        resource_types: &[ResourceType::Vpc],
        default_severity: Severity::Medium,
        rationale: "Flow logs help an investigation only if they still exist when the incident is found, which is often months later. A log group with short retention, or an S3 lifecycle rule that expires records early, silently deletes that evidence. Audit frameworks typically ask for at least a year of log history.",
        remediation: Remediation {
            console: "CloudWatch console > Log groups > the flow log's group > Actions > Edit retention setting: choose 1 year (365 days) or longer, or Never expire, then Save. For an S3 destination: S3 console > bucket > Management > Lifecycle rules, and make every expiration that covers the flow-log prefix 365 days or more.",
            cli: "aws logs put-retention-policy --log-group-name <log-group> --retention-in-days 365",
            terraform: "aws_cloudwatch_log_group: retention_in_days = 365 (or longer; 0 means never expire). S3 destination: aws_s3_bucket_lifecycle_configuration rule { id = \"flow-logs\", status = \"Enabled\", filter { prefix = \"AWSLogs/\" }, expiration { days = 365 } } (or no expiration)",
        },
        settings: &[Setting::Days(&FLOW_LOG_MIN_DAYS)],
        rule: |subject, settings| {
            subject
                .get::<Vpc>()
                // Without a flow log there is nothing retained: vpc.flow_logs says so.
                .filter(|vpc| !vpc.flow_logs.is_empty())
                .map(|vpc| flow_log_retention(vpc, FLOW_LOG_MIN_DAYS.get(settings)))
        },
    },
    Control {
        id: "ec2.ebs_default_encryption",
        title: "EBS encryption by default is on in every region scanned",
        resource_types: &[ResourceType::AccountRegion],
        default_severity: Severity::Medium,
        rationale: "With encryption by default off, every volume and snapshot created without an explicit encryption flag (by a person, a launch template or an autoscaling group) stores its data in plaintext. The setting is per account and region, so one region left off is enough for unencrypted data to appear there.",
        remediation: Remediation {
            console: "EC2 console, in each region: Settings (Account attributes) > Data protection and security > EBS encryption > Manage: check Enable, optionally pick the default KMS key, then Update EBS encryption.",
            cli: "aws ec2 enable-ebs-encryption-by-default --region <region>",
            terraform: "aws_ebs_encryption_by_default: enabled = true, once per region (a provider alias per region)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(ebs_default_encryption),
    },
];

/// IMDSv2 is enforced when tokens are required, or when the metadata
/// endpoint is off altogether.
fn imds_enforced(options: &MetadataOptions) -> Result<&'static str, String> {
    match (
        options.http_endpoint.as_deref(),
        options.http_tokens.as_deref(),
    ) {
        (Some("disabled"), _) => Ok("metadata endpoint disabled"),
        (_, Some("required")) => Ok("HttpTokens required (IMDSv2 only)"),
        (_, Some(other)) => Err(format!("HttpTokens is {other}, so IMDSv1 is allowed")),
        (_, None) => Err(
            "HttpTokens not set, so the account default applies (optional unless changed)"
                .to_string(),
        ),
    }
}

fn instance_imdsv2(instance: &Ec2Instance) -> Verdict {
    let details = json!({ "metadata_options": instance.metadata_options });
    match imds_enforced(&instance.metadata_options) {
        Ok(why) => Verdict::pass(why, details),
        Err(why) => Verdict::fail(why, details),
    }
}

/// Terminated instances run nothing: the control does not apply to them.
fn instance_profile(instance: &Ec2Instance) -> Option<Verdict> {
    if matches!(
        instance.state.as_deref(),
        Some("terminated" | "shutting-down")
    ) {
        return None;
    }
    let details = json!({
        "iam_instance_profile_arn": instance.iam_instance_profile_arn,
        "state": instance.state,
    });
    Some(match &instance.iam_instance_profile_arn {
        Some(profile) => Verdict::pass(format!("runs with instance profile {profile}"), details),
        None => Verdict::fail("no IAM instance profile attached", details),
    })
}

fn launch_template_imdsv2(template: &LaunchTemplate) -> Verdict {
    let mut problems = Vec::new();
    for version in &template.versions {
        let role = match (version.is_default, version.is_latest) {
            (true, true) => "default and latest",
            (true, false) => "default",
            (false, true) => "latest",
            (false, false) => continue,
        };
        let outcome = match &version.metadata_options {
            Some(options) => imds_enforced(options),
            None => Err(
                "no metadata options, so the account default applies (optional unless changed)"
                    .to_string(),
            ),
        };
        if let Err(why) = outcome {
            problems.push(format!("version {} ({role}): {why}", version.number));
        }
    }
    let details = json!({ "versions": template.versions });
    if template.versions.is_empty() {
        Verdict::unknown("launch template has no readable versions", details)
    } else if problems.is_empty() {
        Verdict::pass("default and latest versions require IMDSv2", details)
    } else {
        Verdict::fail(problems.join("; "), details)
    }
}

/// A managed node group's nodes launch from the template version it names.
/// Without a template of its own, nodes launch from one EKS generates with
/// its defaults, and nothing the node group controls requires IMDSv2: that
/// fails, and the fix is a launch template that requires tokens.
fn nodegroup_imdsv2(nodegroup: &EksNodegroup) -> Verdict {
    let details = json!({ "launch_template": nodegroup.launch_template });
    let Some(template) = &nodegroup.launch_template else {
        return Verdict::fail(
            "no launch template of its own: nodes launch from the template EKS generates, which the node group cannot set to require IMDSv2",
            details,
        );
    };
    let label = template
        .name
        .as_deref()
        .or(template.id.as_deref())
        .unwrap_or("(unnamed)");
    match (template.resolved_version, &template.metadata_options) {
        (None, _) => Verdict::unknown(
            format!(
                "launch template {label} version {} no longer exists",
                template.requested_version.as_deref().unwrap_or("$Default")
            ),
            details,
        ),
        (Some(version), None) => Verdict::fail(
            format!(
                "launch template {label} version {version} sets no metadata options, so the account default applies (optional unless changed)"
            ),
            details,
        ),
        (Some(version), Some(options)) => match imds_enforced(options) {
            Ok(why) => Verdict::pass(
                format!("launch template {label} version {version}: {why}"),
                details,
            ),
            Err(why) => Verdict::fail(
                format!("launch template {label} version {version}: {why}"),
                details,
            ),
        },
    }
}

/// A region the account has not enabled holds nothing: not applicable,
/// never failed.
fn ebs_default_encryption(region: &AccountRegion) -> Option<Verdict> {
    if !region.enabled {
        return None;
    }
    let details = json!({ "region": region.region, "ebs_encryption_by_default": region.ebs_encryption_by_default });
    Some(match &region.ebs_encryption_by_default {
        RegionSetting::Read { value: true } => Verdict::pass(
            format!(
                "new EBS volumes in {} are encrypted by default",
                region.region
            ),
            details,
        ),
        RegionSetting::Read { value: false } => Verdict::fail(
            format!("EBS encryption by default is off in {}", region.region),
            details,
        ),
        RegionSetting::Unreadable { error } => Verdict::unknown(
            format!(
                "EBS encryption by default was not read in {}: {error}",
                region.region
            ),
            details,
        ),
        RegionSetting::NotRead => Verdict::unknown(
            format!(
                "EBS encryption by default was not read in {}",
                region.region
            ),
            details,
        ),
    })
}

fn flow_log_retention(vpc: &Vpc, minimum: i32) -> Verdict {
    let mut short = Vec::new();
    let mut unknown = Vec::new();
    for f in &vpc.flow_logs {
        let destination = f.destination.as_deref().unwrap_or("(unknown destination)");
        match &f.destination_retention {
            DestinationRetention::NeverExpires => {}
            DestinationRetention::Days { days } if *days >= minimum => {}
            DestinationRetention::Days { days } => {
                short.push(format!("{} keeps {days} days in {destination}", f.id));
            }
            DestinationRetention::Missing => short.push(format!(
                "{}: destination {destination} does not exist",
                f.id
            )),
            DestinationRetention::Unknown => unknown.push(format!(
                "{}: retention of {destination} not determined",
                f.id
            )),
            DestinationRetention::Unreadable { error } => {
                unknown.push(format!("{}: {error}", f.id))
            }
        }
    }
    let details = json!({ "flow_logs": vpc.flow_logs, "minimum_days": minimum });
    if !short.is_empty() {
        Verdict::fail(format!("{} (minimum {minimum})", short.join("; ")), details)
    } else if !unknown.is_empty() {
        Verdict::unknown(unknown.join("; "), details)
    } else {
        Verdict::pass(
            format!("every flow log destination keeps at least {minimum} days"),
            details,
        )
    }
}

fn flow_logs(vpc: &Vpc) -> Verdict {
    let details = json!({ "flow_logs": vpc.flow_logs });
    let complete = vpc.flow_logs.iter().find(|f| {
        f.status.as_deref() == Some("ACTIVE") && f.traffic_type.as_deref() == Some("ALL")
    });
    match complete {
        Some(flow_log) => Verdict::pass(
            format!(
                "flow log {} captures ALL traffic to {}",
                flow_log.id,
                flow_log
                    .destination
                    .as_deref()
                    .unwrap_or("(unknown destination)")
            ),
            details,
        ),
        None if vpc.flow_logs.is_empty() => Verdict::fail("no flow log", details),
        None => {
            let found: Vec<String> = vpc
                .flow_logs
                .iter()
                .map(|f| {
                    format!(
                        "{} ({}, {})",
                        f.id,
                        f.status.as_deref().unwrap_or("status unknown"),
                        f.traffic_type.as_deref().unwrap_or("traffic type unknown")
                    )
                })
                .collect();
            Verdict::fail(
                format!(
                    "no ACTIVE flow log with traffic type ALL (found {})",
                    found.join(", ")
                ),
                details,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::{FlowLog, LaunchTemplateVersion, NodegroupLaunchTemplate};
    use serde_json::Value;

    fn evaluate_instance(document: &Value) -> Vec<(&'static str, Verdict)> {
        verdicts(
            ResourceType::Ec2Instance,
            document,
            &RuleSettings::default(),
        )
    }

    fn evaluate_launch_template(document: &Value) -> Vec<(&'static str, Verdict)> {
        verdicts(
            ResourceType::LaunchTemplate,
            document,
            &RuleSettings::default(),
        )
    }

    fn evaluate_nodegroup(document: &Value) -> Vec<(&'static str, Verdict)> {
        verdicts(
            ResourceType::EksNodegroup,
            document,
            &RuleSettings::default(),
        )
    }

    fn evaluate_vpc(document: &Value, settings: &RuleSettings) -> Vec<(&'static str, Verdict)> {
        verdicts(ResourceType::Vpc, document, settings)
    }

    fn options(tokens: Option<&str>, endpoint: Option<&str>) -> MetadataOptions {
        MetadataOptions {
            http_tokens: tokens.map(str::to_string),
            http_endpoint: endpoint.map(str::to_string),
            http_put_response_hop_limit: None,
        }
    }

    fn first(verdicts: Vec<(&'static str, Verdict)>) -> (FindingStatus, String) {
        let (_, v) = verdicts.into_iter().next().expect("one verdict");
        (
            v.status,
            v.evidence["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    fn instance(o: MetadataOptions) -> (FindingStatus, String) {
        let i = Ec2Instance {
            id: "i-1".into(),
            metadata_options: o,
            ..Ec2Instance::default()
        };
        first(evaluate_instance(
            &serde_json::to_value(i).expect("serialises"),
        ))
    }

    #[test]
    fn instances_need_tokens_required_or_the_endpoint_off() {
        assert_eq!(instance(options(Some("required"), Some("enabled"))).0, Pass);
        assert_eq!(
            instance(options(Some("optional"), Some("disabled"))).0,
            Pass
        );
        let (s, m) = instance(options(Some("optional"), Some("enabled")));
        assert_eq!(s, Fail);
        assert!(m.contains("IMDSv1 is allowed"), "{m}");
        assert_eq!(instance(options(None, None)).0, Fail);
    }

    #[test]
    fn running_and_stopped_instances_need_an_instance_profile() {
        let profile = |state: &str, arn: Option<&str>| {
            let i = Ec2Instance {
                id: "i-1".into(),
                state: Some(state.into()),
                iam_instance_profile_arn: arn.map(str::to_string),
                ..Ec2Instance::default()
            };
            evaluate_instance(&serde_json::to_value(i).expect("serialises"))
                .into_iter()
                .find(|(id, _)| *id == "ec2.instance_profile")
                .map(|(_, v)| v.status)
        };
        let arn = "arn:aws:iam::123456789012:instance-profile/web";
        assert_eq!(profile("running", Some(arn)), Some(Pass));
        assert_eq!(profile("running", None), Some(Fail));
        assert_eq!(profile("stopped", None), Some(Fail));
        assert_eq!(profile("terminated", None), None);
    }

    fn template(versions: Vec<LaunchTemplateVersion>) -> (FindingStatus, String) {
        let t = LaunchTemplate {
            id: "lt-1".into(),
            versions,
            ..LaunchTemplate::default()
        };
        first(evaluate_launch_template(
            &serde_json::to_value(t).expect("serialises"),
        ))
    }

    fn version(
        number: i64,
        default: bool,
        latest: bool,
        o: Option<MetadataOptions>,
    ) -> LaunchTemplateVersion {
        LaunchTemplateVersion {
            number,
            is_default: default,
            is_latest: latest,
            metadata_options: o,
        }
    }

    #[test]
    fn launch_templates_judge_default_and_latest_versions() {
        let required = Some(options(Some("required"), None));
        assert_eq!(
            template(vec![version(1, true, true, required.clone())]).0,
            Pass
        );
        let (s, m) = template(vec![
            version(1, true, false, required.clone()),
            version(2, false, true, Some(options(Some("optional"), None))),
        ]);
        assert_eq!(s, Fail);
        assert!(m.contains("version 2 (latest)"), "{m}");
        let (s, m) = template(vec![version(3, true, true, None)]);
        assert_eq!(s, Fail);
        assert!(m.contains("no metadata options"), "{m}");
        assert_eq!(template(vec![]).0, Unknown);
    }

    fn nodegroup(launch_template: Option<NodegroupLaunchTemplate>) -> (FindingStatus, String) {
        let n = EksNodegroup {
            name: "workers".into(),
            cluster: "prod".into(),
            launch_template,
            ..EksNodegroup::default()
        };
        first(evaluate_nodegroup(
            &serde_json::to_value(n).expect("serialises"),
        ))
    }

    fn node_template(
        resolved: Option<i64>,
        o: Option<MetadataOptions>,
    ) -> Option<NodegroupLaunchTemplate> {
        Some(NodegroupLaunchTemplate {
            id: Some("lt-9".into()),
            name: Some("nodes".into()),
            requested_version: Some("4".into()),
            resolved_version: resolved,
            metadata_options: o,
        })
    }

    #[test]
    fn node_groups_judge_the_launch_template_version_they_launch() {
        let (s, m) = nodegroup(node_template(
            Some(4),
            Some(options(Some("required"), None)),
        ));
        assert_eq!(s, Pass);
        assert!(m.contains("nodes version 4"), "{m}");
        assert_eq!(
            nodegroup(node_template(
                Some(4),
                Some(options(Some("optional"), Some("disabled")))
            ))
            .0,
            Pass
        );
        let (s, m) = nodegroup(node_template(
            Some(4),
            Some(options(Some("optional"), None)),
        ));
        assert_eq!(s, Fail);
        assert!(m.contains("IMDSv1 is allowed"), "{m}");
        let (s, m) = nodegroup(node_template(Some(4), None));
        assert_eq!(s, Fail);
        assert!(m.contains("no metadata options"), "{m}");
        // EKS's generated template: nothing the node group sets requires tokens.
        let (s, m) = nodegroup(None);
        assert_eq!(s, Fail);
        assert!(m.contains("no launch template of its own"), "{m}");
        // The named version was deleted: the state cannot be judged.
        let (s, m) = nodegroup(node_template(None, None));
        assert_eq!(s, Unknown);
        assert!(m.contains("version 4 no longer exists"), "{m}");
    }

    fn vpc(flow_logs: Vec<FlowLog>) -> (FindingStatus, String) {
        let v = Vpc {
            id: "vpc-1".into(),
            flow_logs,
            ..Vpc::default()
        };
        first(evaluate_vpc(
            &serde_json::to_value(v).expect("serialises"),
            &RuleSettings::default(),
        ))
    }

    fn flow(status: &str, traffic: &str) -> FlowLog {
        FlowLog {
            id: "fl-1".into(),
            status: Some(status.into()),
            traffic_type: Some(traffic.into()),
            destination_type: Some("cloud-watch-logs".into()),
            destination: Some("vpc-flow".into()),
            destination_retention: DestinationRetention::NeverExpires,
        }
    }

    #[test]
    fn flow_log_retention_follows_the_destination() {
        let retention = |r: DestinationRetention| {
            let v = Vpc {
                id: "vpc-1".into(),
                flow_logs: vec![FlowLog {
                    destination_retention: r,
                    ..flow("ACTIVE", "ALL")
                }],
                ..Vpc::default()
            };
            evaluate_vpc(
                &serde_json::to_value(v).expect("serialises"),
                &RuleSettings::default(),
            )
            .into_iter()
            .find(|(id, _)| *id == "vpc.flow_log_retention")
            .map(|(_, v)| v.status)
        };
        assert_eq!(retention(DestinationRetention::NeverExpires), Some(Pass));
        assert_eq!(
            retention(DestinationRetention::Days { days: 400 }),
            Some(Pass)
        );
        assert_eq!(
            retention(DestinationRetention::Days { days: 90 }),
            Some(Fail)
        );
        assert_eq!(retention(DestinationRetention::Missing), Some(Fail));
        assert_eq!(
            retention(DestinationRetention::Unreadable {
                error: "AccessDenied".into()
            }),
            Some(Unknown)
        );
        let no_logs = Vpc {
            id: "vpc-2".into(),
            ..Vpc::default()
        };
        let ids: Vec<_> = evaluate_vpc(
            &serde_json::to_value(no_logs).expect("serialises"),
            &RuleSettings::default(),
        )
        .into_iter()
        .map(|(id, _)| id)
        .collect();
        assert_eq!(ids, vec!["vpc.flow_logs"]);
    }

    #[test]
    fn flow_logs_must_be_active_and_capture_all_traffic() {
        assert_eq!(vpc(vec![flow("ACTIVE", "ALL")]).0, Pass);
        assert_eq!(vpc(vec![]).1, "no flow log");
        let (s, m) = vpc(vec![flow("ACTIVE", "REJECT")]);
        assert_eq!(s, Fail);
        assert!(m.contains("fl-1 (ACTIVE, REJECT)"), "{m}");
        assert_eq!(vpc(vec![flow("FAILED", "ALL")]).0, Fail);
        assert_eq!(
            vpc(vec![flow("ACTIVE", "REJECT"), flow("ACTIVE", "ALL")]).0,
            Pass
        );
    }

    #[test]
    fn ebs_default_encryption_is_judged_only_where_the_region_is_enabled() {
        let region = |enabled, setting| AccountRegion {
            account_id: "123456789012".into(),
            region: "eu-west-1".into(),
            opt_in_status: if enabled {
                "opt-in-not-required"
            } else {
                "not-opted-in"
            }
            .into(),
            enabled,
            ebs_encryption_by_default: setting,
            ..AccountRegion::default()
        };
        let status = |r: AccountRegion| {
            let document = serde_json::to_value(r).expect("serialises");
            verdicts(
                ResourceType::AccountRegion,
                &document,
                &RuleSettings::default(),
            )
            .into_iter()
            .filter(|(id, _)| *id == "ec2.ebs_default_encryption")
            .map(|(_, v)| v.status)
            .collect::<Vec<_>>()
        };
        let read = |value| RegionSetting::Read { value };
        assert_eq!(status(region(true, read(true))), [Pass]);
        assert_eq!(status(region(true, read(false))), [Fail]);
        let denied = RegionSetting::Unreadable {
            error: "AccessDenied".into(),
        };
        assert_eq!(status(region(true, denied)), [Unknown]);
        assert_eq!(status(region(true, RegionSetting::NotRead)), [Unknown]);
        assert!(
            status(region(false, RegionSetting::NotRead)).is_empty(),
            "not enabled is not failed"
        );
    }
}
