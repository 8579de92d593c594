//! CIS section 4 (4.1–4.15): for each class of sensitive event, a metric
//! filter on the CloudWatch Logs group of a logging multi-region trail
//! that records every management event, an alarm on the filter's metric
//! with its actions enabled, and an SNS topic the alarm notifies with at
//! least one confirmed subscription. Decided on the account record.
//!
//! Filters are recognised by meaning ([`super::filter_pattern`]): the CIS
//! pattern in any equivalent spelling, or a wider one, with only the
//! narrowing exclusions CIS itself documents.

use super::catalog::{Control, Remediation};
use super::cloudtrail::shortfall;
use super::filter_pattern::{self, Requirement};
use super::{Severity, Verdict};
use crate::model::{Account, LogMonitoring, MetricFilter, MultiRegionTrail, ResourceType};
use serde_json::json;
use std::sync::LazyLock;

/// One class of events CIS asks to be alarmed on.
pub(super) struct Watched {
    /// "unauthorized API calls", for the evidence.
    what: &'static str,
    /// CIS's documented filter pattern.
    pattern: &'static str,
    /// Narrowing comparisons CIS documents as acceptable additions.
    tolerated: &'static [&'static str],
    requirement: LazyLock<Result<Requirement, filter_pattern::PatternError>>,
}

macro_rules! watched {
    ($what:literal, $pattern:literal, [$($tolerated:literal),*]) => {
        Watched {
            what: $what,
            pattern: $pattern,
            tolerated: &[$($tolerated),*],
            requirement: LazyLock::new(|| Requirement::new($pattern, &[$($tolerated),*])),
        }
    };
}

/// One control per watched class; the remediation carries the pattern.
macro_rules! monitoring_control {
    ($id:literal, $cis:literal, $title:literal, $watched:ident, $severity:expr, $rationale:literal, $pattern:literal) => {
        Control {
            id: $id,
            title: $title,
            resource_types: &[ResourceType::Account],
            default_severity: $severity,
            rationale: concat!($rationale, " CIS AWS Foundations ", $cis, " asks for a metric filter, an alarm and a subscribed SNS topic."),
            remediation: Remediation {
                console: concat!("CloudWatch console > Log groups > the log group of the multi-region trail (CloudTrail console > trail > CloudWatch Logs) > Metric filters > Create metric filter with the pattern ", $pattern, " ; then Create alarm on its metric (Sum >= 1 over 5 minutes) and choose an SNS topic with a confirmed subscription as the In alarm notification."),
                cli: concat!("aws logs put-metric-filter --log-group-name <trail-log-group> --filter-name <name> --metric-transformations metricName=<metric>,metricNamespace=CISBenchmark,metricValue=1 --filter-pattern '", $pattern, "' && aws cloudwatch put-metric-alarm --alarm-name <name> --metric-name <metric> --namespace CISBenchmark --statistic Sum --period 300 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --evaluation-periods 1 --alarm-actions <sns-topic-arn> && aws sns subscribe --topic-arn <sns-topic-arn> --protocol email --notification-endpoint <address> (then confirm it)"),
                terraform: concat!("aws_cloudwatch_log_metric_filter { log_group_name = <trail log group>, pattern = ", $pattern, ", metric_transformation { name, namespace, value = \"1\" } }; aws_cloudwatch_metric_alarm on that metric with alarm_actions = [aws_sns_topic.x.arn]; aws_sns_topic_subscription on the topic"),
            },
            settings: &[],
            rule: |subject, _| subject.get().map(|account| judge(account, &$watched)),
        }
    };
}

pub(super) static UNAUTHORIZED_API_CALLS: Watched = watched!(
    "unauthorized API calls",
    r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#,
    [
        r#"$.sourceIPAddress != "delivery.logs.amazonaws.com""#,
        r#"$.eventName != "HeadBucket""#
    ]
);
pub(super) static CONSOLE_SIGN_IN_WITHOUT_MFA: Watched = watched!(
    "console sign-in without MFA",
    r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#,
    [
        r#"$.userIdentity.type = "IAMUser""#,
        r#"$.responseElements.ConsoleLogin = "Success""#
    ]
);
pub(super) static ROOT_USAGE: Watched = watched!(
    "use of the root user",
    r#"{ $.userIdentity.type = "Root" }"#,
    [
        "$.userIdentity.invokedBy NOT EXISTS",
        r#"$.eventType != "AwsServiceEvent""#
    ]
);
pub(super) static IAM_POLICY_CHANGES: Watched = watched!(
    "IAM policy changes",
    r#"{ ($.eventSource = "iam.amazonaws.com") && (($.eventName = "DeleteGroupPolicy") || ($.eventName = "DeleteRolePolicy") || ($.eventName = "DeleteUserPolicy") || ($.eventName = "PutGroupPolicy") || ($.eventName = "PutRolePolicy") || ($.eventName = "PutUserPolicy") || ($.eventName = "CreatePolicy") || ($.eventName = "DeletePolicy") || ($.eventName = "CreatePolicyVersion") || ($.eventName = "DeletePolicyVersion") || ($.eventName = "AttachRolePolicy") || ($.eventName = "DetachRolePolicy") || ($.eventName = "AttachUserPolicy") || ($.eventName = "DetachUserPolicy") || ($.eventName = "AttachGroupPolicy") || ($.eventName = "DetachGroupPolicy")) }"#,
    []
);
pub(super) static CLOUDTRAIL_CHANGES: Watched = watched!(
    "CloudTrail configuration changes",
    r#"{ ($.eventName = "CreateTrail") || ($.eventName = "UpdateTrail") || ($.eventName = "DeleteTrail") || ($.eventName = "StartLogging") || ($.eventName = "StopLogging") }"#,
    []
);
pub(super) static CONSOLE_AUTHENTICATION_FAILURES: Watched = watched!(
    "console authentication failures",
    r#"{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#,
    []
);
pub(super) static CMK_DISABLE_OR_DELETION: Watched = watched!(
    "disabling or scheduled deletion of customer managed keys",
    r#"{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }"#,
    []
);
pub(super) static S3_BUCKET_POLICY_CHANGES: Watched = watched!(
    "S3 bucket policy changes",
    r#"{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "PutBucketAcl") || ($.eventName = "PutBucketPolicy") || ($.eventName = "PutBucketCors") || ($.eventName = "PutBucketLifecycle") || ($.eventName = "PutBucketReplication") || ($.eventName = "DeleteBucketPolicy") || ($.eventName = "DeleteBucketCors") || ($.eventName = "DeleteBucketLifecycle") || ($.eventName = "DeleteBucketReplication")) }"#,
    []
);
pub(super) static CONFIG_CHANGES: Watched = watched!(
    "AWS Config configuration changes",
    r#"{ ($.eventSource = "config.amazonaws.com") && (($.eventName = "StopConfigurationRecorder") || ($.eventName = "DeleteDeliveryChannel") || ($.eventName = "PutDeliveryChannel") || ($.eventName = "PutConfigurationRecorder")) }"#,
    []
);
pub(super) static SECURITY_GROUP_CHANGES: Watched = watched!(
    "security group changes",
    r#"{ ($.eventName = "AuthorizeSecurityGroupIngress") || ($.eventName = "AuthorizeSecurityGroupEgress") || ($.eventName = "RevokeSecurityGroupIngress") || ($.eventName = "RevokeSecurityGroupEgress") || ($.eventName = "CreateSecurityGroup") || ($.eventName = "DeleteSecurityGroup") }"#,
    []
);
pub(super) static NACL_CHANGES: Watched = watched!(
    "network ACL changes",
    r#"{ ($.eventName = "CreateNetworkAcl") || ($.eventName = "CreateNetworkAclEntry") || ($.eventName = "DeleteNetworkAcl") || ($.eventName = "DeleteNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclAssociation") }"#,
    []
);
pub(super) static NETWORK_GATEWAY_CHANGES: Watched = watched!(
    "network gateway changes",
    r#"{ ($.eventName = "CreateCustomerGateway") || ($.eventName = "DeleteCustomerGateway") || ($.eventName = "AttachInternetGateway") || ($.eventName = "CreateInternetGateway") || ($.eventName = "DeleteInternetGateway") || ($.eventName = "DetachInternetGateway") }"#,
    []
);
pub(super) static ROUTE_TABLE_CHANGES: Watched = watched!(
    "route table changes",
    r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateRoute") || ($.eventName = "CreateRouteTable") || ($.eventName = "ReplaceRoute") || ($.eventName = "ReplaceRouteTableAssociation") || ($.eventName = "DeleteRouteTable") || ($.eventName = "DeleteRoute") || ($.eventName = "DisassociateRouteTable")) }"#,
    []
);
pub(super) static VPC_CHANGES: Watched = watched!(
    "VPC changes",
    r#"{ ($.eventName = "CreateVpc") || ($.eventName = "DeleteVpc") || ($.eventName = "ModifyVpcAttribute") || ($.eventName = "AcceptVpcPeeringConnection") || ($.eventName = "CreateVpcPeeringConnection") || ($.eventName = "DeleteVpcPeeringConnection") || ($.eventName = "RejectVpcPeeringConnection") || ($.eventName = "AttachClassicLinkVpc") || ($.eventName = "DetachClassicLinkVpc") || ($.eventName = "DisableVpcClassicLink") || ($.eventName = "EnableVpcClassicLink") }"#,
    []
);
pub(super) static ORGANIZATIONS_CHANGES: Watched = watched!(
    "AWS Organizations changes",
    r#"{ ($.eventSource = "organizations.amazonaws.com") && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#,
    []
);

pub(super) const CONTROLS: &[Control] = &[
    monitoring_control!(
        "cloudwatch.unauthorized_api_calls_alarm",
        "4.1",
        "Unauthorized API calls raise a CloudWatch alarm with a subscribed SNS topic",
        UNAUTHORIZED_API_CALLS,
        Severity::Medium,
        "A burst of AccessDenied and UnauthorizedOperation errors is what credential misuse and privilege probing look like from the inside: an attacker with stolen keys tries what they allow. Without an alarm the errors sit in CloudTrail unread.",
        r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && ($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }"#
    ),
    monitoring_control!(
        "cloudwatch.console_sign_in_without_mfa_alarm",
        "4.2",
        "Console sign-in without MFA raises a CloudWatch alarm with a subscribed SNS topic",
        CONSOLE_SIGN_IN_WITHOUT_MFA,
        Severity::Medium,
        "A console sign-in with only a password is either a user the MFA policy missed or a stolen password used before anyone noticed; either way someone should know at once.",
        r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }"#
    ),
    monitoring_control!(
        "cloudwatch.root_usage_alarm",
        "4.3",
        "Use of the root user raises a CloudWatch alarm with a subscribed SNS topic",
        ROOT_USAGE,
        Severity::High,
        "The root user can do anything, including closing the account, and no policy limits it. Its routine use should be zero, so every use is worth a page.",
        r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#
    ),
    monitoring_control!(
        "cloudwatch.iam_policy_changes_alarm",
        "4.4",
        "IAM policy changes raise a CloudWatch alarm with a subscribed SNS topic",
        IAM_POLICY_CHANGES,
        Severity::Medium,
        "A new inline policy or an attached AdministratorAccess is how privilege escalation and persistence are made to last; an alarm turns a silent grant into a reviewed change.",
        r#"{ ($.eventSource = "iam.amazonaws.com") && (($.eventName = "DeleteGroupPolicy") || ($.eventName = "DeleteRolePolicy") || ($.eventName = "DeleteUserPolicy") || ($.eventName = "PutGroupPolicy") || ($.eventName = "PutRolePolicy") || ($.eventName = "PutUserPolicy") || ($.eventName = "CreatePolicy") || ($.eventName = "DeletePolicy") || ($.eventName = "CreatePolicyVersion") || ($.eventName = "DeletePolicyVersion") || ($.eventName = "AttachRolePolicy") || ($.eventName = "DetachRolePolicy") || ($.eventName = "AttachUserPolicy") || ($.eventName = "DetachUserPolicy") || ($.eventName = "AttachGroupPolicy") || ($.eventName = "DetachGroupPolicy")) }"#
    ),
    monitoring_control!(
        "cloudwatch.cloudtrail_changes_alarm",
        "4.5",
        "CloudTrail configuration changes raise a CloudWatch alarm with a subscribed SNS topic",
        CLOUDTRAIL_CHANGES,
        Severity::High,
        "Stopping or reconfiguring a trail is the first thing an intruder does to work unseen; the change itself is the last event the trail may record.",
        r#"{ ($.eventName = "CreateTrail") || ($.eventName = "UpdateTrail") || ($.eventName = "DeleteTrail") || ($.eventName = "StartLogging") || ($.eventName = "StopLogging") }"#
    ),
    monitoring_control!(
        "cloudwatch.console_authentication_failures_alarm",
        "4.6",
        "Console authentication failures raise a CloudWatch alarm with a subscribed SNS topic",
        CONSOLE_AUTHENTICATION_FAILURES,
        Severity::Low,
        "Repeated failed console sign-ins are password guessing or credential stuffing against the account's users; the alarm shows the attack while it is happening.",
        r#"{ ($.eventName = "ConsoleLogin") && ($.errorMessage = "Failed authentication") }"#
    ),
    monitoring_control!(
        "cloudwatch.cmk_disable_or_deletion_alarm",
        "4.7",
        "Disabling or scheduling deletion of a KMS key raises a CloudWatch alarm with a subscribed SNS topic",
        CMK_DISABLE_OR_DELETION,
        Severity::Medium,
        "Data encrypted under a disabled or deleted customer managed key cannot be read by anyone: a destructive act (or ransom) that the seven-day minimum deletion window only helps with if someone is told in time to cancel it.",
        r#"{ ($.eventSource = "kms.amazonaws.com") && (($.eventName = "DisableKey") || ($.eventName = "ScheduleKeyDeletion")) }"#
    ),
    monitoring_control!(
        "cloudwatch.s3_bucket_policy_changes_alarm",
        "4.8",
        "S3 bucket policy and ACL changes raise a CloudWatch alarm with a subscribed SNS topic",
        S3_BUCKET_POLICY_CHANGES,
        Severity::Medium,
        "A bucket policy, ACL, CORS, lifecycle or replication change can expose, copy out or expire data in one call; an alarm makes each such change visible when it happens.",
        r#"{ ($.eventSource = "s3.amazonaws.com") && (($.eventName = "PutBucketAcl") || ($.eventName = "PutBucketPolicy") || ($.eventName = "PutBucketCors") || ($.eventName = "PutBucketLifecycle") || ($.eventName = "PutBucketReplication") || ($.eventName = "DeleteBucketPolicy") || ($.eventName = "DeleteBucketCors") || ($.eventName = "DeleteBucketLifecycle") || ($.eventName = "DeleteBucketReplication")) }"#
    ),
    monitoring_control!(
        "cloudwatch.config_changes_alarm",
        "4.9",
        "AWS Config configuration changes raise a CloudWatch alarm with a subscribed SNS topic",
        CONFIG_CHANGES,
        Severity::Medium,
        "Stopping the Config recorder or removing its delivery channel stops the configuration history that change management and investigations depend on.",
        r#"{ ($.eventSource = "config.amazonaws.com") && (($.eventName = "StopConfigurationRecorder") || ($.eventName = "DeleteDeliveryChannel") || ($.eventName = "PutDeliveryChannel") || ($.eventName = "PutConfigurationRecorder")) }"#
    ),
    monitoring_control!(
        "cloudwatch.security_group_changes_alarm",
        "4.10",
        "Security group changes raise a CloudWatch alarm with a subscribed SNS topic",
        SECURITY_GROUP_CHANGES,
        Severity::Medium,
        "One ingress rule can open a database or SSH to the internet; alarming on security group changes catches the opening before it is found by a scanner.",
        r#"{ ($.eventName = "AuthorizeSecurityGroupIngress") || ($.eventName = "AuthorizeSecurityGroupEgress") || ($.eventName = "RevokeSecurityGroupIngress") || ($.eventName = "RevokeSecurityGroupEgress") || ($.eventName = "CreateSecurityGroup") || ($.eventName = "DeleteSecurityGroup") }"#
    ),
    monitoring_control!(
        "cloudwatch.nacl_changes_alarm",
        "4.11",
        "Network ACL changes raise a CloudWatch alarm with a subscribed SNS topic",
        NACL_CHANGES,
        Severity::Medium,
        "Network ACLs are the subnet-wide filter behind the security groups; a changed entry can open or cut off a whole subnet.",
        r#"{ ($.eventName = "CreateNetworkAcl") || ($.eventName = "CreateNetworkAclEntry") || ($.eventName = "DeleteNetworkAcl") || ($.eventName = "DeleteNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclEntry") || ($.eventName = "ReplaceNetworkAclAssociation") }"#
    ),
    monitoring_control!(
        "cloudwatch.network_gateway_changes_alarm",
        "4.12",
        "Network gateway changes raise a CloudWatch alarm with a subscribed SNS topic",
        NETWORK_GATEWAY_CHANGES,
        Severity::Medium,
        "Internet and customer gateways are the doors of a VPC; attaching a new one gives a private network a path to the internet or to a foreign network.",
        r#"{ ($.eventName = "CreateCustomerGateway") || ($.eventName = "DeleteCustomerGateway") || ($.eventName = "AttachInternetGateway") || ($.eventName = "CreateInternetGateway") || ($.eventName = "DeleteInternetGateway") || ($.eventName = "DetachInternetGateway") }"#
    ),
    monitoring_control!(
        "cloudwatch.route_table_changes_alarm",
        "4.13",
        "Route table changes raise a CloudWatch alarm with a subscribed SNS topic",
        ROUTE_TABLE_CHANGES,
        Severity::Medium,
        "A changed route can send a private subnet's traffic through an attacker's instance or straight to an internet gateway.",
        r#"{ ($.eventSource = "ec2.amazonaws.com") && (($.eventName = "CreateRoute") || ($.eventName = "CreateRouteTable") || ($.eventName = "ReplaceRoute") || ($.eventName = "ReplaceRouteTableAssociation") || ($.eventName = "DeleteRouteTable") || ($.eventName = "DeleteRoute") || ($.eventName = "DisassociateRouteTable")) }"#
    ),
    monitoring_control!(
        "cloudwatch.vpc_changes_alarm",
        "4.14",
        "VPC changes raise a CloudWatch alarm with a subscribed SNS topic",
        VPC_CHANGES,
        Severity::Medium,
        "New VPCs and peering connections join networks that were meant to stay apart; a peering accepted from an unknown account is a path into the estate.",
        r#"{ ($.eventName = "CreateVpc") || ($.eventName = "DeleteVpc") || ($.eventName = "ModifyVpcAttribute") || ($.eventName = "AcceptVpcPeeringConnection") || ($.eventName = "CreateVpcPeeringConnection") || ($.eventName = "DeleteVpcPeeringConnection") || ($.eventName = "RejectVpcPeeringConnection") || ($.eventName = "AttachClassicLinkVpc") || ($.eventName = "DetachClassicLinkVpc") || ($.eventName = "DisableVpcClassicLink") || ($.eventName = "EnableVpcClassicLink") }"#
    ),
    monitoring_control!(
        "cloudwatch.organizations_changes_alarm",
        "4.15",
        "AWS Organizations changes raise a CloudWatch alarm with a subscribed SNS topic",
        ORGANIZATIONS_CHANGES,
        Severity::Medium,
        "Organizations changes move accounts, detach service control policies and invite outsiders: the guardrails of every member account change with them.",
        r#"{ ($.eventSource = "organizations.amazonaws.com") && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }"#
    ),
];

/// Where one trail's log group stands for one watched class.
enum Outcome {
    /// The pass message.
    Watched(String),
    /// Why it is not watched there.
    Short(String),
    /// Why it could not be told.
    Undecided(String),
}

fn judge(account: &Account, watched: &Watched) -> Verdict {
    let details = |outcomes: &[String]| {
        json!({
            "required_pattern": watched.pattern,
            "tolerated_narrowings": watched.tolerated,
            "trails": outcomes,
        })
    };
    let requirement = match &*watched.requirement {
        Ok(r) => r,
        Err(e) => {
            return Verdict::unknown(
                format!("the required pattern for {} does not parse: {e}", watched.what),
                details(&[]),
            );
        }
    };
    let trails = &account.multi_region_trails;
    if trails.is_empty() {
        return Verdict::fail(
            format!(
                "no multi-region trail records this account, so no metric filter can watch for {}",
                watched.what
            ),
            details(&[]),
        );
    }
    let (mut short, mut undecided) = (Vec::new(), Vec::new());
    for trail in trails {
        match on_trail(trail, requirement, watched.what) {
            Outcome::Watched(message) => return Verdict::pass(message, details(&[])),
            Outcome::Short(why) => short.push(format!("trail {}: {why}", trail.name)),
            Outcome::Undecided(why) => undecided.push(format!("trail {}: {why}", trail.name)),
        }
    }
    let all: Vec<String> = undecided.iter().chain(&short).cloned().collect();
    if !undecided.is_empty() {
        return Verdict::unknown(
            format!(
                "no alarm on {} was found, and not everything could be read: {}",
                watched.what,
                undecided.join("; ")
            ),
            details(&all),
        );
    }
    Verdict::fail(
        format!("no alarm on {}: {}", watched.what, short.join("; ")),
        details(&all),
    )
}

fn on_trail(trail: &MultiRegionTrail, requirement: &Requirement, what: &str) -> Outcome {
    if let Some(error) = &trail.error {
        return Outcome::Undecided(format!("could not be read ({error})"));
    }
    if let Some(why) = shortfall(trail) {
        return Outcome::Short(why);
    }
    let Some(group) = &trail.log_group_arn else {
        return Outcome::Short("delivers to no CloudWatch Logs group".to_string());
    };
    let Some(monitoring) = &trail.log_monitoring else {
        return Outcome::Undecided(format!("the metric filters of {group} were not read"));
    };
    let Some(filters) = &monitoring.metric_filters else {
        let error = monitoring.error.as_deref().unwrap_or("not read");
        return Outcome::Undecided(format!("metric filters of {group}: {error}"));
    };
    on_log_group(trail, monitoring, filters, requirement, what)
}

fn on_log_group(
    trail: &MultiRegionTrail,
    monitoring: &LogMonitoring,
    filters: &[MetricFilter],
    requirement: &Requirement,
    what: &str,
) -> Outcome {
    let group = &monitoring.log_group_name;
    let mut unparsed = Vec::new();
    let matching: Vec<&MetricFilter> = filters
        .iter()
        .filter(|f| match filter_pattern::parse(&f.pattern) {
            Ok(pattern) => requirement.uncovered(&pattern).is_empty(),
            Err(e) => {
                unparsed.push(format!("filter {}: {e}", f.name));
                false
            }
        })
        .collect();
    if matching.is_empty() {
        let why = format!("no metric filter on log group {group} matches every {what} event");
        return if unparsed.is_empty() {
            Outcome::Short(why)
        } else {
            Outcome::Undecided(format!("{why} that could be read ({})", unparsed.join("; ")))
        };
    }
    let (mut short, mut undecided) = (Vec::new(), Vec::new());
    for filter in matching {
        for metric in &filter.metrics {
            let Some(alarms) = &metric.alarms else {
                undecided.push(format!(
                    "the alarms on metric {}/{} were not read",
                    metric.namespace, metric.name
                ));
                continue;
            };
            if alarms.is_empty() {
                short.push(format!(
                    "metric filter {} matches, but no alarm reads its metric {}/{}",
                    filter.name, metric.namespace, metric.name
                ));
            }
            for alarm in alarms {
                if !alarm.actions_enabled {
                    short.push(format!("alarm {} has its actions disabled", alarm.name));
                    continue;
                }
                if alarm.topics.is_empty() {
                    short.push(format!("alarm {} notifies no SNS topic", alarm.name));
                }
                for topic in &alarm.topics {
                    match topic.confirmed_subscriptions {
                        Some(n) if n > 0 => {
                            return Outcome::Watched(format!(
                                "metric filter {} on log group {group} (trail {}) feeds alarm {}, which notifies SNS topic {} ({n} confirmed subscription{})",
                                filter.name,
                                trail.name,
                                alarm.name,
                                topic.arn,
                                if n == 1 { "" } else { "s" }
                            ));
                        }
                        Some(_) => short.push(format!(
                            "alarm {} notifies SNS topic {}, which has no confirmed subscription",
                            alarm.name, topic.arn
                        )),
                        None => undecided.push(format!(
                            "the subscriptions of SNS topic {} were not read",
                            topic.arn
                        )),
                    }
                }
            }
        }
        if filter.metrics.is_empty() {
            short.push(format!("metric filter {} publishes no metric", filter.name));
        }
    }
    if !undecided.is_empty() {
        undecided.extend(monitoring.error.clone());
        return Outcome::Undecided(undecided.join("; "));
    }
    Outcome::Short(short.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::{
        AccountPublicAccessBlock, AlarmTopic, ClassicSelector, EventSelectors, FilterMetric,
        MetricAlarm,
    };

    const ALL: [&Watched; 15] = [
        &UNAUTHORIZED_API_CALLS,
        &CONSOLE_SIGN_IN_WITHOUT_MFA,
        &ROOT_USAGE,
        &IAM_POLICY_CHANGES,
        &CLOUDTRAIL_CHANGES,
        &CONSOLE_AUTHENTICATION_FAILURES,
        &CMK_DISABLE_OR_DELETION,
        &S3_BUCKET_POLICY_CHANGES,
        &CONFIG_CHANGES,
        &SECURITY_GROUP_CHANGES,
        &NACL_CHANGES,
        &NETWORK_GATEWAY_CHANGES,
        &ROUTE_TABLE_CHANGES,
        &VPC_CHANGES,
        &ORGANIZATIONS_CHANGES,
    ];

    fn alarm(confirmed: Option<u32>) -> MetricAlarm {
        MetricAlarm {
            name: "cis-alarm".into(),
            arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:cis-alarm".into(),
            actions_enabled: true,
            topics: vec![AlarmTopic {
                arn: "arn:aws:sns:us-east-1:123456789012:security".into(),
                confirmed_subscriptions: confirmed,
            }],
        }
    }

    fn filter(pattern: &str, alarms: Option<Vec<MetricAlarm>>) -> MetricFilter {
        MetricFilter {
            name: "cis".into(),
            pattern: pattern.into(),
            metrics: vec![FilterMetric {
                namespace: "CISBenchmark".into(),
                name: "cis".into(),
                dimensions: vec![],
                alarms,
            }],
        }
    }

    fn trail(filters: Option<Vec<MetricFilter>>) -> MultiRegionTrail {
        MultiRegionTrail {
            arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit".into(),
            name: "audit".into(),
            home_region: "us-east-1".into(),
            organization_trail: false,
            is_logging: Some(true),
            event_selectors: Some(EventSelectors {
                classic: vec![ClassicSelector::default()],
                advanced: vec![],
            }),
            error: None,
            log_group_arn: Some("arn:aws:logs:us-east-1:123456789012:log-group:trail:*".into()),
            log_monitoring: Some(LogMonitoring {
                log_group_name: "trail".into(),
                region: "us-east-1".into(),
                error: None,
                metric_filters: filters,
            }),
        }
    }

    fn verdict(trails: Vec<MultiRegionTrail>, control: &str) -> (FindingStatus, String) {
        let account = Account {
            account_id: "123456789012".into(),
            arn: "arn:aws:account::123456789012:account".into(),
            multi_region_trails: trails,
            s3_public_access_block: AccountPublicAccessBlock::default(),
        };
        let document = serde_json::to_value(&account).expect("serialises");
        let (_, v) = verdicts(ResourceType::Account, &document, &RuleSettings::default())
            .into_iter()
            .find(|(id, _)| *id == control)
            .expect("a verdict");
        let message = v.evidence["message"].as_str().unwrap_or_default().to_string();
        (v.status, message)
    }

    const ROOT: &str = "cloudwatch.root_usage_alarm";
    const CIS_ROOT: &str = r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#;

    #[test]
    fn every_required_pattern_parses_and_the_documented_pattern_passes_its_control() {
        for (watched, control) in ALL.iter().zip(CONTROLS) {
            assert!(watched.requirement.is_ok(), "{}", watched.what);
            // The remediation's pattern (CIS's own text) passes the control.
            let documented = control
                .remediation
                .cli
                .split("--filter-pattern '")
                .nth(1)
                .and_then(|rest| rest.split("' &&").next())
                .expect("the cli names the pattern");
            let (status, message) =
                verdict(vec![trail(Some(vec![filter(documented, Some(vec![alarm(Some(1))]))]))], control.id);
            assert_eq!(status, Pass, "{}: {message}", control.id);
        }
    }

    #[test]
    fn each_filter_counts_only_for_its_own_class() {
        let iam = IAM_POLICY_CHANGES.pattern;
        let trails = vec![trail(Some(vec![filter(iam, Some(vec![alarm(Some(1))]))]))];
        let passing: Vec<&str> = CONTROLS
            .iter()
            .filter(|c| verdict(trails.clone(), c.id).0 == Pass)
            .map(|c| c.id)
            .collect();
        assert_eq!(passing, ["cloudwatch.iam_policy_changes_alarm"]);
    }

    #[test]
    fn the_chain_must_reach_a_confirmed_subscriber() {
        let pass = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![alarm(Some(2))]))]))], ROOT);
        assert_eq!(pass.0, Pass, "{}", pass.1);
        assert!(pass.1.contains("2 confirmed subscriptions"), "{}", pass.1);

        let (s, m) = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![alarm(Some(0))]))]))], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("no confirmed subscription"), "{m}");

        let (s, m) = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![]))]))], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("no alarm reads its metric"), "{m}");

        let disabled = MetricAlarm {
            actions_enabled: false,
            ..alarm(Some(1))
        };
        let (s, m) = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![disabled]))]))], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("actions disabled"), "{m}");

        let no_topic = MetricAlarm {
            topics: vec![],
            ..alarm(None)
        };
        let (s, m) = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![no_topic]))]))], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("notifies no SNS topic"), "{m}");

        let (s, m) = verdict(vec![trail(Some(vec![]))], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("no metric filter on log group trail matches"), "{m}");
    }

    #[test]
    fn a_filter_narrower_than_cis_fails() {
        let narrowed = r#"{ $.userIdentity.type = "Root" && $.sourceIPAddress = "10.0.0.1" }"#;
        let (s, _) = verdict(vec![trail(Some(vec![filter(narrowed, Some(vec![alarm(Some(1))]))]))], ROOT);
        assert_eq!(s, Fail);
        let other_user = r#"{ $.userIdentity.type = "IAMUser" }"#;
        let (s, _) = verdict(vec![trail(Some(vec![filter(other_user, Some(vec![alarm(Some(1))]))]))], ROOT);
        assert_eq!(s, Fail);
    }

    #[test]
    fn what_could_not_be_read_is_unknown_never_pass() {
        // Subscriptions unreadable.
        let (s, _) = verdict(vec![trail(Some(vec![filter(CIS_ROOT, Some(vec![alarm(None)]))]))], ROOT);
        assert_eq!(s, Unknown);
        // Alarms unreadable.
        let mut t = trail(Some(vec![filter(CIS_ROOT, None)]));
        if let Some(m) = t.log_monitoring.as_mut() {
            m.error = Some("DescribeAlarms: ThrottlingException".into());
        }
        let (s, m) = verdict(vec![t], ROOT);
        assert_eq!(s, Unknown);
        assert!(m.contains("ThrottlingException"), "{m}");
        // Filters unreadable.
        let mut t = trail(None);
        if let Some(m) = t.log_monitoring.as_mut() {
            m.error = Some("DescribeMetricFilters: AccessDenied".into());
        }
        assert_eq!(verdict(vec![t], ROOT).0, Unknown);
        // A pattern driftwatch cannot parse, and no other filter matches.
        let (s, m) = verdict(vec![trail(Some(vec![filter("{ $.x = ", Some(vec![alarm(Some(1))]))]))], ROOT);
        assert_eq!(s, Unknown, "{m}");
        // An organization trail whose status the member cannot read.
        let org = MultiRegionTrail {
            error: Some("GetTrailStatus: AccessDenied".into()),
            is_logging: None,
            ..trail(None)
        };
        assert_eq!(verdict(vec![org.clone()], ROOT).0, Unknown);
        // ...but a readable qualifying trail decides.
        let good = trail(Some(vec![filter(CIS_ROOT, Some(vec![alarm(Some(1))]))]));
        assert_eq!(verdict(vec![org, good], ROOT).0, Pass);
    }

    #[test]
    fn only_a_logging_trail_recording_all_management_events_counts() {
        let chain = || Some(vec![filter(CIS_ROOT, Some(vec![alarm(Some(1))]))]);
        let stopped = MultiRegionTrail {
            is_logging: Some(false),
            ..trail(chain())
        };
        let (s, m) = verdict(vec![stopped], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("logging is stopped"), "{m}");
        let write_only = MultiRegionTrail {
            event_selectors: Some(EventSelectors {
                classic: vec![ClassicSelector {
                    read_write_type: Some("WriteOnly".into()),
                    ..ClassicSelector::default()
                }],
                advanced: vec![],
            }),
            ..trail(chain())
        };
        assert_eq!(verdict(vec![write_only], ROOT).0, Fail);
        let no_group = MultiRegionTrail {
            log_group_arn: None,
            log_monitoring: None,
            ..trail(None)
        };
        let (s, m) = verdict(vec![no_group], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("no CloudWatch Logs group"), "{m}");
        let (s, m) = verdict(vec![], ROOT);
        assert_eq!(s, Fail);
        assert!(m.contains("no multi-region trail"), "{m}");
    }
}
