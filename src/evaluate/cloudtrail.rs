//! CloudTrail controls: a multi-region trail records every management
//! event of the account (on the account resource), and each trail's log
//! integrity, encryption, CloudWatch delivery and bucket (on the trail).

use super::catalog::{Control, Remediation};
use super::policy;
use super::{Severity, Subject, Verdict};
use crate::model::{
    Account, AccountPublicAccessBlock, CloudWatchDelivery, EventSelectors, MultiRegionTrail,
    ResourceType, Trail, TrailBucketState,
};
use serde_json::json;

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "cloudtrail.multi_region",
        title: "An actively logging multi-region trail records all read and write management events",
        resource_types: &[ResourceType::Account],
        default_severity: Severity::High,
        rationale: "CloudTrail is the account's record of who did what. Without a logging multi-Region trail that captures all read and write management events, activity in unused Regions (a favourite place for crypto-miners and persistence) and read-only reconnaissance calls go unrecorded. CIS AWS Foundations 3.1 asks for at least one such trail.",
        remediation: Remediation {
            console: "CloudTrail console > Trails > Create trail (trails created in the console are multi-Region), or select an existing trail: set Multi-region trail to Yes; under Management events tick both Read and Write and leave Exclude AWS KMS events and Exclude Amazon RDS Data API events cleared; make sure Logging is On (Start logging).",
            cli: "aws cloudtrail update-trail --name <trail> --is-multi-region-trail --include-global-service-events --region <home-region> && aws cloudtrail put-event-selectors --trail-name <trail> --event-selectors '[{\"ReadWriteType\":\"All\",\"IncludeManagementEvents\":true,\"ExcludeManagementEventSources\":[]}]' --region <home-region> && aws cloudtrail start-logging --name <trail> --region <home-region>",
            terraform: "aws_cloudtrail: is_multi_region_trail = true, include_global_service_events = true, enable_logging = true, event_selector { read_write_type = \"All\", include_management_events = true } (no exclude_management_event_sources; or an advanced_event_selector whose only field_selector is field = \"eventCategory\", equals = [\"Management\"])",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(multi_region),
    },
    Control {
        id: "cloudtrail.log_validation",
        title: "Trail log file validation is enabled",
        resource_types: &[ResourceType::CloudTrailTrail],
        default_severity: Severity::Medium,
        rationale: "Log file validation makes CloudTrail deliver hourly digest files, hashed with SHA-256 and signed with RSA. With them you can prove that delivered log files were not modified, deleted or forged afterwards. Without validation, an attacker who reaches the log bucket can alter the audit trail undetected, and the logs lose their value as evidence (CIS 3.2).",
        remediation: Remediation {
            console: "CloudTrail console > Trails > trail > General details > Edit: under Additional settings, tick Log file validation Enabled, then Save changes.",
            cli: "aws cloudtrail update-trail --name <trail> --enable-log-file-validation --region <home-region>",
            terraform: "aws_cloudtrail: enable_log_file_validation = true",
        },
        settings: &[],
        rule: |subject, _| on_trail(subject).map(log_validation),
    },
    Control {
        id: "cloudtrail.kms_encrypted",
        title: "Trail logs are encrypted with a KMS key (SSE-KMS)",
        resource_types: &[ResourceType::CloudTrailTrail],
        default_severity: Severity::Medium,
        rationale: "By default CloudTrail log files are encrypted only with SSE-S3, so anyone with s3:GetObject on the bucket can read the account's entire API history. SSE-KMS with a customer managed key adds a second, separately audited permission (kms:Decrypt in the key policy), and access can be revoked through the key. CIS 3.5 asks for it.",
        remediation: Remediation {
            console: "CloudTrail console > Trails > trail > General details > Edit: tick Log file SSE-KMS encryption, choose an existing customer managed key (its key policy must let cloudtrail.amazonaws.com use it) or create a new one, then Save changes.",
            cli: "aws cloudtrail update-trail --name <trail> --kms-key-id <kms-key-arn> --region <home-region>",
            terraform: "aws_cloudtrail: kms_key_id = <kms_key_arn> (an aws_kms_key whose policy lets cloudtrail.amazonaws.com call kms:GenerateDataKey* and kms:DescribeKey)",
        },
        settings: &[],
        rule: |subject, _| on_trail(subject).map(kms_encrypted),
    },
    Control {
        id: "cloudtrail.cloudwatch_delivery",
        title: "Trail delivers to CloudWatch Logs, last delivery within 24 hours",
        resource_types: &[ResourceType::CloudTrailTrail],
        default_severity: Severity::Medium,
        rationale: "With delivery to S3 only, CloudTrail events are reviewed late, if at all. Sending them to CloudWatch Logs lets metric filters and alarms catch root logins, IAM policy and security-group changes, and trail tampering in near real time (the CIS monitoring controls depend on it). A log group whose latest delivery is older than a day means the pipeline is broken, for example by a deleted role, and those alerts have silently stopped.",
        remediation: Remediation {
            console: "CloudTrail console > Trails > trail > CloudWatch Logs > Edit: tick Enabled, choose a new or existing log group and an IAM role that CloudTrail can assume to write to it, then Save changes; then check that the trail's Last CloudWatch Logs delivery time is recent.",
            cli: "aws cloudtrail update-trail --name <trail> --cloud-watch-logs-log-group-arn arn:aws:logs:<region>:<account-id>:log-group:<log-group>:* --cloud-watch-logs-role-arn arn:aws:iam::<account-id>:role/<cloudtrail-cloudwatch-role> --region <home-region>",
            terraform: "aws_cloudtrail: cloud_watch_logs_group_arn = \"${aws_cloudwatch_log_group.<name>.arn}:*\", cloud_watch_logs_role_arn = <role_arn> (an aws_iam_role trusted by cloudtrail.amazonaws.com that allows logs:CreateLogStream and logs:PutLogEvents on that group)",
        },
        settings: &[],
        rule: |subject, _| on_trail(subject).map(cloudwatch_delivery),
    },
    Control {
        id: "cloudtrail.bucket_not_public",
        title: "The bucket the trail delivers to is not publicly accessible",
        resource_types: &[ResourceType::CloudTrailTrail],
        default_severity: Severity::Critical,
        rationale: "The CloudTrail bucket holds a complete map of the account: principals, resources, source IPs and every configuration change. A public ACL, or a bucket policy that allows Principal \"*\", hands that reconnaissance data to anyone and may let them tamper with the evidence. Audit logs must be protected from unauthorised access (CIS AWS Foundations v1.4 to v2.0, control 3.3).",
        remediation: Remediation {
            console: "S3 console > the trail's bucket > Permissions: turn on Block all public access, set Object Ownership to Bucket owner enforced (this disables ACLs and drops any AllUsers or AuthenticatedUsers grants), and remove every bucket-policy Allow statement whose Principal is \"*\" or {\"AWS\": \"*\"}. The CloudTrail service statement uses Principal {\"Service\": \"cloudtrail.amazonaws.com\"} and stays.",
            cli: "aws s3api put-public-access-block --bucket <trail-bucket> --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true && aws s3api put-bucket-ownership-controls --bucket <trail-bucket> --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
            terraform: "aws_s3_bucket_public_access_block: bucket = <trail_bucket>, block_public_acls = true, block_public_policy = true, ignore_public_acls = true, restrict_public_buckets = true; plus aws_s3_bucket_ownership_controls: bucket = <trail_bucket>, rule { object_ownership = \"BucketOwnerEnforced\" }",
        },
        settings: &[],
        rule: |subject, _| on_trail(subject).map(bucket_not_public),
    },
    Control {
        id: "cloudtrail.bucket_access_logging",
        title: "Server access logging is enabled on the trail's bucket",
        resource_types: &[ResourceType::CloudTrailTrail],
        default_severity: Severity::Low,
        rationale: "Server access logging on the CloudTrail bucket records every read, download and delete of the audit logs themselves. That shows whether someone exfiltrated or destroyed the trail's evidence. CloudTrail does not record object reads on its own bucket unless S3 data events are on, so access logs are the cheapest such record (CIS 3.4).",
        remediation: Remediation {
            console: "S3 console > the trail's bucket > Properties > Server access logging > Edit: choose Enable, pick a separate destination bucket and a prefix, then Save changes.",
            cli: "aws s3api put-bucket-logging --bucket <trail-bucket> --bucket-logging-status '{\"LoggingEnabled\":{\"TargetBucket\":\"<log-bucket>\",\"TargetPrefix\":\"<trail-bucket>/\"}}'",
            terraform: "aws_s3_bucket_logging: bucket = <trail_bucket>, target_bucket = <log_bucket_id>, target_prefix = \"<trail_bucket>/\"",
        },
        settings: &[],
        rule: |subject, _| on_trail(subject).map(bucket_access_logging),
    },
    Control {
        id: "cloudtrail.s3_write_data_events",
        title: "A logging multi-region trail records S3 object-level write events for all buckets",
        resource_types: &[ResourceType::Account],
        default_severity: Severity::Medium,
        rationale: "Management events do not include object-level S3 calls: without data events, a PutObject or DeleteObject that overwrites or destroys data in a sensitive bucket leaves no CloudTrail record of who made it. CIS AWS Foundations 3.8 asks for object-level write events on every bucket, recorded by a trail that covers every region.",
        remediation: Remediation {
            console: "CloudTrail console > Trails > the multi-Region trail > Data events > Edit: add data event type S3, Log selector template Log all events (or Log writeOnly events), for all current and future buckets, then Save changes.",
            cli: "aws cloudtrail put-event-selectors --trail-name <trail> --region <home-region> --advanced-event-selectors '[{\"Name\":\"Management events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Management\"]}]},{\"Name\":\"S3 data events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}]'",
            terraform: "aws_cloudtrail (is_multi_region_trail = true): event_selector { read_write_type = \"All\", include_management_events = true, data_resource { type = \"AWS::S3::Object\", values = [\"arn:aws:s3\"] } } (or an advanced_event_selector with field_selector eventCategory = [\"Data\"] and resources.type = [\"AWS::S3::Object\"])",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get::<Account>()).map(|a| s3_data_events(a, DataAccess::Write))
        },
    },
    Control {
        id: "cloudtrail.s3_read_data_events",
        title: "A logging multi-region trail records S3 object-level read events for all buckets",
        resource_types: &[ResourceType::Account],
        default_severity: Severity::Medium,
        rationale: "Reading data is how it is stolen, and GetObject calls are data events, not management events: without them CloudTrail cannot say who downloaded which objects from a bucket holding customer or cardholder data. CIS AWS Foundations 3.9 asks for object-level read events on every bucket, recorded by a trail that covers every region.",
        remediation: Remediation {
            console: "CloudTrail console > Trails > the multi-Region trail > Data events > Edit: add data event type S3, Log selector template Log all events (or Log readOnly events), for all current and future buckets, then Save changes.",
            cli: "aws cloudtrail put-event-selectors --trail-name <trail> --region <home-region> --advanced-event-selectors '[{\"Name\":\"Management events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Management\"]}]},{\"Name\":\"S3 data events\",\"FieldSelectors\":[{\"Field\":\"eventCategory\",\"Equals\":[\"Data\"]},{\"Field\":\"resources.type\",\"Equals\":[\"AWS::S3::Object\"]}]}]'",
            terraform: "aws_cloudtrail (is_multi_region_trail = true): event_selector { read_write_type = \"All\", include_management_events = true, data_resource { type = \"AWS::S3::Object\", values = [\"arn:aws:s3\"] } } (or an advanced_event_selector with field_selector eventCategory = [\"Data\"] and resources.type = [\"AWS::S3::Object\"])",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get::<Account>()).map(|a| s3_data_events(a, DataAccess::Read))
        },
    },
];

fn on_trail(subject: &Subject) -> Option<&Trail> {
    subject.get()
}

/// Management events a trail's selectors record: the union over its
/// selectors. AWS keeps classic or advanced selectors, not both; when an
/// emulator returns both, the classic ones are the ones last put.
#[derive(Debug, Default, PartialEq)]
struct Coverage {
    read: bool,
    write: bool,
    /// What some management selector leaves out, for the evidence.
    gaps: Vec<String>,
}

fn coverage(selectors: &EventSelectors) -> Coverage {
    let mut c = Coverage::default();
    if !selectors.classic.is_empty() {
        for s in &selectors.classic {
            if s.include_management_events == Some(false) {
                continue;
            }
            if !s.exclude_management_event_sources.is_empty() {
                c.gaps.push(format!(
                    "excludes {}",
                    s.exclude_management_event_sources.join(", ")
                ));
                continue;
            }
            let rw = s.read_write_type.as_deref().unwrap_or("All");
            c.read |= matches!(rw, "All" | "ReadOnly");
            c.write |= matches!(rw, "All" | "WriteOnly");
        }
        return c;
    }
    for s in &selectors.advanced {
        let management = s
            .field_selectors
            .iter()
            .any(|f| f.field == "eventCategory" && f.equals.iter().any(|v| v == "Management"));
        if !management {
            continue;
        }
        let (mut read, mut write) = (true, true);
        let mut narrowed = Vec::new();
        for f in &s.field_selectors {
            match f.field.as_str() {
                "eventCategory" => {}
                "readOnly" if f.equals == ["true"] => write = false,
                "readOnly" if f.equals == ["false"] => read = false,
                other => narrowed.push(format!("{other} is filtered")),
            }
        }
        if narrowed.is_empty() {
            c.read |= read;
            c.write |= write;
        } else {
            c.gaps.extend(narrowed);
        }
    }
    c
}

/// Why this trail does not record every management event, or `None`.
pub(super) fn shortfall(trail: &MultiRegionTrail) -> Option<String> {
    if trail.is_logging != Some(true) {
        return Some("logging is stopped".to_string());
    }
    let Some(selectors) = trail.event_selectors.as_ref() else {
        return Some("its event selectors could not be read".to_string());
    };
    if selectors.classic.is_empty() && selectors.advanced.is_empty() {
        return Some("no event selectors returned".to_string());
    }
    let c = coverage(selectors);
    let missing = match (c.read, c.write) {
        (true, true) => return None,
        (true, false) => "records no write management events from every source",
        (false, true) => "records no read management events from every source",
        (false, false) => "records no management events from every source",
    };
    let mut reason = missing.to_string();
    if !c.gaps.is_empty() {
        reason.push_str(&format!(" ({})", c.gaps.join("; ")));
    }
    Some(reason)
}

fn multi_region(account: &Account) -> Verdict {
    let trails = &account.multi_region_trails;
    let details = json!({ "multi_region_trails": trails });
    if let Some(good) = trails
        .iter()
        .find(|t| t.error.is_none() && shortfall(t).is_none())
    {
        return Verdict::pass(
            format!(
                "trail {} (home {}) logs every read and write management event in all regions",
                good.name, good.home_region
            ),
            details,
        );
    }
    // An organization trail this account cannot read might be the one.
    if let Some(unreadable) = trails.iter().find(|t| t.error.is_some()) {
        return Verdict::unknown(
            format!(
                "no readable multi-region trail records every management event, and trail {} could not be read: {}",
                unreadable.arn,
                unreadable.error.as_deref().unwrap_or_default()
            ),
            details,
        );
    }
    if trails.is_empty() {
        return Verdict::fail("no multi-region trail records this account", details);
    }
    let reasons: Vec<String> = trails
        .iter()
        .filter_map(|t| shortfall(t).map(|why| format!("{}: {why}", t.name)))
        .collect();
    Verdict::fail(
        format!(
            "no multi-region trail records every management event: {}",
            reasons.join("; ")
        ),
        details,
    )
}

/// Which half of the S3 object API a data-event control asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataAccess {
    Read,
    Write,
}

impl DataAccess {
    fn name(self) -> &'static str {
        match self {
            DataAccess::Read => "read",
            DataAccess::Write => "write",
        }
    }
}

fn s3_data_events(account: &Account, access: DataAccess) -> Verdict {
    let trails = &account.multi_region_trails;
    let details = json!({ "multi_region_trails": trails.iter().map(|t| json!({
        "arn": t.arn, "is_logging": t.is_logging, "event_selectors": t.event_selectors, "error": t.error,
    })).collect::<Vec<_>>() });
    let mut reasons = Vec::new();
    let mut unreadable = None;
    for trail in trails {
        if let Some(error) = &trail.error {
            unreadable.get_or_insert(format!("{}: {error}", trail.arn));
            continue;
        }
        if trail.is_logging != Some(true) {
            reasons.push(format!("{}: logging is stopped", trail.name));
            continue;
        }
        let Some(selectors) = &trail.event_selectors else {
            unreadable.get_or_insert(format!("{}: its event selectors could not be read", trail.arn));
            continue;
        };
        match s3_object_events_shortfall(selectors, access) {
            None => {
                return Verdict::pass(
                    format!(
                        "trail {} (home {}) records S3 object-level {} events for all buckets in all regions",
                        trail.name,
                        trail.home_region,
                        access.name()
                    ),
                    details,
                );
            }
            Some(why) => reasons.push(format!("{}: {why}", trail.name)),
        }
    }
    if let Some(unreadable) = unreadable {
        return Verdict::unknown(
            format!(
                "no readable multi-region trail records S3 object-level {} events for all buckets, and {unreadable}",
                access.name()
            ),
            details,
        );
    }
    if trails.is_empty() {
        return Verdict::fail("no multi-region trail records this account", details);
    }
    Verdict::fail(
        format!(
            "no multi-region trail records S3 object-level {} events for all buckets: {}",
            access.name(),
            reasons.join("; ")
        ),
        details,
    )
}

/// Why these selectors do not record every S3 object-level event of the
/// kind asked, for every bucket; `None` when they do. AWS keeps classic or
/// advanced selectors, not both; when an emulator returns both, the classic
/// ones are the ones last put (as for management events).
fn s3_object_events_shortfall(selectors: &EventSelectors, access: DataAccess) -> Option<String> {
    if !selectors.classic.is_empty() {
        return classic_s3_shortfall(&selectors.classic, access);
    }
    let mut reasons = Vec::new();
    for selector in &selectors.advanced {
        match advanced_s3_shortfall(selector, access) {
            None => return None,
            Some(Some(why)) => reasons.push(why),
            Some(None) => {}
        }
    }
    Some(if reasons.is_empty() {
        "no event selector records S3 object data events".to_string()
    } else {
        reasons.join("; ")
    })
}

/// A classic selector records S3 object events for every bucket when one
/// of its data resources is `AWS::S3::Object` with the value `arn:<partition>:s3`
/// (or `arn:<partition>:s3:::`, the older spelling of "all buckets"), and
/// its `ReadWriteType` includes the access asked.
fn classic_s3_shortfall(
    selectors: &[crate::model::ClassicSelector],
    access: DataAccess,
) -> Option<String> {
    let mut reasons = Vec::new();
    for selector in selectors {
        let objects: Vec<&crate::model::DataResource> = selector
            .data_resources
            .iter()
            .filter(|d| d.resource_type == "AWS::S3::Object")
            .collect();
        if objects.is_empty() {
            continue;
        }
        let all_buckets = objects
            .iter()
            .any(|d| d.values.iter().any(|v| is_every_s3_object(v)));
        let rw = selector.read_write_type.as_deref().unwrap_or("All");
        let records_access = match access {
            DataAccess::Read => matches!(rw, "All" | "ReadOnly"),
            DataAccess::Write => matches!(rw, "All" | "WriteOnly"),
        };
        match (all_buckets, records_access) {
            (true, true) => return None,
            (true, false) => reasons.push(format!(
                "its S3 data event selector is {rw}, not recording {} events",
                access.name()
            )),
            (false, _) => reasons.push(format!(
                "S3 data events are recorded only for {}",
                objects
                    .iter()
                    .flat_map(|d| d.values.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    Some(if reasons.is_empty() {
        "no event selector records S3 object data events".to_string()
    } else {
        reasons.join("; ")
    })
}

/// `arn:aws:s3`, `arn:aws:s3:::` (any partition): every object of every
/// bucket, as CloudTrail's data-resource values spell it.
fn is_every_s3_object(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("arn:") else {
        return false;
    };
    let Some((partition, service)) = rest.split_once(':') else {
        return false;
    };
    !partition.is_empty() && (service == "s3" || service == "s3:::")
}

/// `None`: this advanced selector records every S3 object event of the kind
/// asked for every bucket. `Some(None)`: it is not an S3 object data-event
/// selector at all. `Some(Some(why))`: it is one, narrowed.
///
/// Field selectors are ANDed. Only these leave every bucket's events of the
/// kind asked in: `eventCategory` = Data, `resources.type` =
/// AWS::S3::Object, `readOnly` naming the kind asked, `eventSource` =
/// s3.amazonaws.com, and `resources.ARN` starting with `arn:<partition>:s3:::`
/// (every object). Anything else (an eventName list, an ARN prefix of one
/// bucket, any Not* operator) narrows the selector.
fn advanced_s3_shortfall(
    selector: &crate::model::AdvancedSelector,
    access: DataAccess,
) -> Option<Option<String>> {
    let fields = &selector.field_selectors;
    let is_data = fields
        .iter()
        .any(|f| f.field == "eventCategory" && f.equals.iter().any(|v| v == "Data"));
    let is_s3_objects = fields.iter().any(|f| {
        f.field == "resources.type" && f.equals.iter().any(|v| v == "AWS::S3::Object")
    });
    if !(is_data && is_s3_objects) {
        return Some(None);
    }
    let mut narrowed = Vec::new();
    for f in fields {
        let only_equals = f.not_equals.is_empty()
            && f.starts_with.is_empty()
            && f.not_starts_with.is_empty()
            && f.ends_with.is_empty()
            && f.not_ends_with.is_empty();
        let keeps_all = match f.field.as_str() {
            "eventCategory" => only_equals && f.equals == ["Data"],
            "resources.type" => only_equals && f.equals == ["AWS::S3::Object"],
            "eventSource" => only_equals && f.equals == ["s3.amazonaws.com"],
            "readOnly" => {
                let wanted = match access {
                    DataAccess::Read => "true",
                    DataAccess::Write => "false",
                };
                let wanted_in = f.equals.iter().any(|v| v.eq_ignore_ascii_case(wanted));
                let wanted_out = f.not_equals.iter().any(|v| v.eq_ignore_ascii_case(wanted));
                (f.equals.is_empty() || wanted_in)
                    && !wanted_out
                    && f.starts_with.is_empty()
                    && f.ends_with.is_empty()
                    && f.not_starts_with.is_empty()
                    && f.not_ends_with.is_empty()
            }
            "resources.ARN" => {
                f.equals.is_empty()
                    && f.not_equals.is_empty()
                    && f.not_starts_with.is_empty()
                    && f.ends_with.is_empty()
                    && f.not_ends_with.is_empty()
                    && f.starts_with.iter().any(|v| is_every_bucket_prefix(v))
            }
            _ => false,
        };
        if !keeps_all {
            narrowed.push(format!("{} is filtered", f.field));
        }
    }
    if narrowed.is_empty() {
        None
    } else {
        let name = selector.name.as_deref().unwrap_or("an S3 data event selector");
        Some(Some(format!("{name}: {}", narrowed.join(", "))))
    }
}

/// `arn:<partition>:s3:::` — every ARN of every bucket and object.
fn is_every_bucket_prefix(value: &str) -> bool {
    value
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(partition, service)| !partition.is_empty() && service == "s3:::")
}

fn log_validation(trail: &Trail) -> Verdict {
    let details = json!({ "log_file_validation": trail.log_file_validation });
    if trail.log_file_validation {
        Verdict::pass("log file validation enabled (signed digest files)", details)
    } else {
        Verdict::fail(
            "log file validation is off: altered or deleted log files would go unnoticed",
            details,
        )
    }
}

fn kms_encrypted(trail: &Trail) -> Verdict {
    match &trail.kms_key_id {
        Some(key) => Verdict::pass(
            format!("logs encrypted with KMS key {key}"),
            json!({ "kms_key_id": key }),
        ),
        None => Verdict::fail(
            "logs are encrypted with S3-managed keys only (no KmsKeyId)",
            json!({ "kms_key_id": null }),
        ),
    }
}

fn cloudwatch_delivery(trail: &Trail) -> Verdict {
    let details = json!({
        "cloudwatch_logs_log_group_arn": trail.cloudwatch_logs_log_group_arn,
        "is_logging": trail.status.is_logging,
        "cloudwatch_delivery": trail.status.cloudwatch_delivery,
        "cloudwatch_delivery_error": trail.status.cloudwatch_delivery_error,
    });
    let Some(group) = &trail.cloudwatch_logs_log_group_arn else {
        return Verdict::fail("not configured to deliver to CloudWatch Logs", details);
    };
    match trail.status.cloudwatch_delivery {
        CloudWatchDelivery::WithinLastDay => Verdict::pass(
            format!("delivered to {group} within the last 24 hours"),
            details,
        ),
        CloudWatchDelivery::OlderThanADay => Verdict::fail(
            format!("last delivery to {group} is more than 24 hours old"),
            details,
        ),
        CloudWatchDelivery::Never => Verdict::fail(
            format!(
                "delivers to {group} but no delivery is recorded{}",
                trail
                    .status
                    .cloudwatch_delivery_error
                    .as_deref()
                    .map(|e| format!(" (error: {e})"))
                    .unwrap_or_default()
            ),
            details,
        ),
    }
}

fn bucket_not_public(trail: &Trail) -> Verdict {
    let bucket = &trail.bucket.name;
    let (grants, policy, block, account_block) = match &trail.bucket.state {
        TrailBucketState::Read {
            public_acl_grants,
            policy,
            public_access_block,
            account_public_access_block,
            ..
        } => (
            public_acl_grants,
            policy,
            public_access_block.unwrap_or_default(),
            account_public_access_block,
        ),
        TrailBucketState::Unreadable { error } => {
            return Verdict::unknown(error.clone(), json!({ "bucket": bucket }));
        }
        TrailBucketState::Unknown => {
            return Verdict::unknown(
                format!("bucket {bucket} was not examined"),
                json!({ "bucket": bucket }),
            );
        }
    };
    let account = match account_block {
        AccountPublicAccessBlock::Set(a) => Some(*a),
        AccountPublicAccessBlock::Absent => Some(Default::default()),
        AccountPublicAccessBlock::Unknown { .. } => None,
    };
    let effective = block.combined(account.unwrap_or_default());
    let mut exposures = Vec::new();
    if !effective.ignore_public_acls {
        exposures.extend(grants.iter().map(|g| format!("ACL grants {g}")));
    }
    if !effective.restrict_public_buckets
        && let Some(policy) = policy
    {
        match policy::public_statements(policy) {
            Ok(statements) => exposures.extend(statements),
            Err(e) => {
                return Verdict::unknown(
                    format!("bucket {bucket}: {e}"),
                    json!({ "bucket": bucket, "policy_error": e.to_string() }),
                );
            }
        }
    }
    let details = json!({
        "bucket": bucket,
        "public_acl_grants": grants,
        "public_access_block": effective,
    });
    match (exposures.is_empty(), account) {
        (true, _) => Verdict::pass(
            format!("bucket {bucket} grants nothing to everyone"),
            details,
        ),
        // The account-level block, unreadable, might neutralise them.
        (false, None) => Verdict::unknown(
            format!(
                "bucket {bucket} would be public ({}) unless the account's public access block, which could not be read, blocks it",
                exposures.join("; ")
            ),
            details,
        ),
        (false, Some(_)) => Verdict::fail(
            format!("bucket {bucket} is public: {}", exposures.join("; ")),
            details,
        ),
    }
}

fn bucket_access_logging(trail: &Trail) -> Verdict {
    let bucket = &trail.bucket.name;
    match &trail.bucket.state {
        TrailBucketState::Read {
            logging: Some(logging),
            ..
        } => Verdict::pass(
            format!(
                "access to bucket {bucket} is logged to s3://{}/{}",
                logging.target_bucket, logging.target_prefix
            ),
            json!({ "bucket": bucket, "target_bucket": logging.target_bucket }),
        ),
        TrailBucketState::Read { logging: None, .. } => Verdict::fail(
            format!("server access logging is off on bucket {bucket}"),
            json!({ "bucket": bucket }),
        ),
        TrailBucketState::Unreadable { error } => {
            Verdict::unknown(error.clone(), json!({ "bucket": bucket }))
        }
        TrailBucketState::Unknown => Verdict::unknown(
            format!("bucket {bucket} was not examined"),
            json!({ "bucket": bucket }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::{
        AccessLogging, AdvancedSelector, ClassicSelector, FieldSelector, PublicAccessBlock,
        TrailBucket, TrailStatus,
    };
    use serde_json::{Value, json};

    fn status_of(
        resource_type: ResourceType,
        document: Value,
        control: &str,
    ) -> (FindingStatus, String) {
        let (_, verdict) = verdicts(resource_type, &document, &RuleSettings::default())
            .into_iter()
            .find(|(id, _)| *id == control)
            .unwrap_or_else(|| panic!("{control} evaluated"));
        let message = verdict.evidence["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (verdict.status, message)
    }

    fn classic(rw: Option<&str>, management: Option<bool>, exclude: &[&str]) -> ClassicSelector {
        ClassicSelector {
            read_write_type: rw.map(str::to_string),
            include_management_events: management,
            exclude_management_event_sources: exclude.iter().map(|s| s.to_string()).collect(),
            data_resources: vec![],
        }
    }

    fn field(name: &str, equals: &[&str], not_equals: &[&str]) -> FieldSelector {
        FieldSelector {
            field: name.into(),
            equals: equals.iter().map(|s| s.to_string()).collect(),
            not_equals: not_equals.iter().map(|s| s.to_string()).collect(),
            ..FieldSelector::default()
        }
    }

    fn advanced(fields: Vec<FieldSelector>) -> AdvancedSelector {
        AdvancedSelector {
            name: Some("Management events selector".into()),
            field_selectors: fields,
        }
    }

    fn account(trails: Vec<MultiRegionTrail>) -> (FindingStatus, String) {
        let account = Account {
            account_id: "123456789012".into(),
            arn: "arn:aws:account::123456789012:account".into(),
            multi_region_trails: trails,
            s3_public_access_block: crate::model::AccountPublicAccessBlock::Absent,
        };
        status_of(
            ResourceType::Account,
            serde_json::to_value(account).expect("serialises"),
            "cloudtrail.multi_region",
        )
    }

    fn trail_with(selectors: EventSelectors) -> MultiRegionTrail {
        MultiRegionTrail {
            arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit".into(),
            name: "audit".into(),
            home_region: "us-east-1".into(),
            organization_trail: false,
            is_logging: Some(true),
            event_selectors: Some(selectors),
            error: None,
            log_group_arn: None,
            log_monitoring: None,
        }
    }

    fn with_classic(selectors: Vec<ClassicSelector>) -> MultiRegionTrail {
        trail_with(EventSelectors {
            classic: selectors,
            advanced: vec![],
        })
    }

    fn with_advanced(selectors: Vec<AdvancedSelector>) -> MultiRegionTrail {
        trail_with(EventSelectors {
            classic: vec![],
            advanced: selectors,
        })
    }

    #[test]
    fn classic_selectors_must_record_read_and_write_management_events_from_every_source() {
        assert_eq!(
            account(vec![with_classic(vec![classic(
                Some("All"),
                Some(true),
                &[]
            )])])
            .0,
            Pass
        );
        // The API's defaults: ReadWriteType All, management events included.
        assert_eq!(
            account(vec![with_classic(vec![classic(None, None, &[])])]).0,
            Pass
        );
        let (s, m) = account(vec![with_classic(vec![classic(
            Some("ReadOnly"),
            None,
            &[],
        )])]);
        assert_eq!(s, Fail);
        assert!(m.contains("no write management events"), "{m}");
        assert_eq!(
            account(vec![with_classic(vec![classic(
                Some("WriteOnly"),
                None,
                &[]
            )])])
            .0,
            Fail
        );
        // Read and write in two selectors is the union: everything.
        let split = vec![
            classic(Some("ReadOnly"), None, &[]),
            classic(Some("WriteOnly"), None, &[]),
        ];
        assert_eq!(account(vec![with_classic(split)]).0, Pass);
        // Excluding KMS events leaves a hole (AWS Config's reading).
        let (s, m) = account(vec![with_classic(vec![classic(
            Some("All"),
            None,
            &["kms.amazonaws.com"],
        )])]);
        assert_eq!(s, Fail);
        assert!(m.contains("excludes kms.amazonaws.com"), "{m}");
        assert_eq!(
            account(vec![with_classic(vec![classic(
                Some("All"),
                Some(false),
                &[]
            )])])
            .0,
            Fail
        );
    }

    #[test]
    fn advanced_selectors_are_read_field_by_field() {
        let management = || field("eventCategory", &["Management"], &[]);
        assert_eq!(
            account(vec![with_advanced(vec![advanced(vec![management()])])]).0,
            Pass
        );
        let read_only = advanced(vec![management(), field("readOnly", &["true"], &[])]);
        assert_eq!(
            account(vec![with_advanced(vec![read_only.clone()])]).0,
            Fail
        );
        let write_only = advanced(vec![management(), field("readOnly", &["false"], &[])]);
        assert_eq!(
            account(vec![with_advanced(vec![read_only, write_only])]).0,
            Pass
        );
        let no_kms = advanced(vec![
            management(),
            field("eventSource", &[], &["kms.amazonaws.com"]),
        ]);
        let (s, m) = account(vec![with_advanced(vec![no_kms])]);
        assert_eq!(s, Fail);
        assert!(m.contains("eventSource is filtered"), "{m}");
        let data = advanced(vec![field("eventCategory", &["Data"], &[])]);
        assert_eq!(account(vec![with_advanced(vec![data])]).0, Fail);
    }

    #[test]
    fn a_stopped_or_silent_trail_does_not_count_and_an_unreadable_one_is_unknown() {
        assert_eq!(account(vec![]).0, Fail);
        let mut stopped = with_classic(vec![classic(None, None, &[])]);
        stopped.is_logging = Some(false);
        let (s, m) = account(vec![stopped.clone()]);
        assert_eq!(s, Fail);
        assert!(m.contains("logging is stopped"), "{m}");
        let silent = trail_with(EventSelectors::default());
        assert!(account(vec![silent]).1.contains("no event selectors"));
        let organization = MultiRegionTrail {
            arn: "arn:aws:cloudtrail:us-east-1:999999999999:trail/org".into(),
            organization_trail: true,
            is_logging: None,
            event_selectors: None,
            error: Some("GetTrailStatus: AccessDenied".into()),
            ..stopped.clone()
        };
        assert_eq!(
            account(vec![stopped.clone(), organization.clone()]).0,
            Unknown
        );
        // A readable qualifying trail decides, whatever else is unreadable.
        let good = with_classic(vec![classic(None, None, &[])]);
        assert_eq!(account(vec![organization, good]).0, Pass);
    }

    fn trail() -> Trail {
        Trail {
            name: "audit".into(),
            arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit".into(),
            home_region: "us-east-1".into(),
            log_file_validation: true,
            kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
            cloudwatch_logs_log_group_arn: Some(
                "arn:aws:logs:us-east-1:123456789012:log-group:t:*".into(),
            ),
            status: TrailStatus {
                is_logging: true,
                cloudwatch_delivery: CloudWatchDelivery::WithinLastDay,
                cloudwatch_delivery_error: None,
            },
            bucket: TrailBucket {
                name: "audit-logs".into(),
                state: TrailBucketState::Read {
                    public_acl_grants: vec![],
                    policy: None,
                    public_access_block: None,
                    account_public_access_block: AccountPublicAccessBlock::Absent,
                    logging: Some(AccessLogging {
                        target_bucket: "access-logs".into(),
                        target_prefix: "audit/".into(),
                    }),
                },
            },
            ..Trail::default()
        }
    }

    fn on(t: &Trail, control: &str) -> (FindingStatus, String) {
        status_of(
            ResourceType::CloudTrailTrail,
            serde_json::to_value(t).expect("serialises"),
            control,
        )
    }

    fn set_bucket(
        t: &mut Trail,
        grants: &[&str],
        policy: Option<Value>,
        block: Option<PublicAccessBlock>,
        account: AccountPublicAccessBlock,
    ) {
        t.bucket.state = TrailBucketState::Read {
            public_acl_grants: grants.iter().map(|g| g.to_string()).collect(),
            policy,
            public_access_block: block,
            account_public_access_block: account,
            logging: None,
        };
    }

    #[test]
    fn a_hardened_trail_passes_every_trail_control() {
        let t = trail();
        for control in [
            "cloudtrail.log_validation",
            "cloudtrail.kms_encrypted",
            "cloudtrail.cloudwatch_delivery",
            "cloudtrail.bucket_not_public",
            "cloudtrail.bucket_access_logging",
        ] {
            assert_eq!(on(&t, control).0, Pass, "{control}");
        }
    }

    #[test]
    fn cloudwatch_delivery_needs_a_group_and_a_recent_delivery() {
        let mut t = trail();
        t.status.cloudwatch_delivery = CloudWatchDelivery::OlderThanADay;
        assert!(
            on(&t, "cloudtrail.cloudwatch_delivery")
                .1
                .contains("more than 24 hours")
        );
        t.status.cloudwatch_delivery = CloudWatchDelivery::Never;
        t.status.cloudwatch_delivery_error = Some("AccessDeniedException".into());
        let (s, m) = on(&t, "cloudtrail.cloudwatch_delivery");
        assert_eq!(s, Fail);
        assert!(m.contains("AccessDeniedException"), "{m}");
        t.cloudwatch_logs_log_group_arn = None;
        assert!(
            on(&t, "cloudtrail.cloudwatch_delivery")
                .1
                .contains("not configured")
        );
    }

    /// ACL grants, policy, the bucket's own block, and the verdict.
    type BucketCase = (
        &'static [&'static str],
        Option<Value>,
        Option<PublicAccessBlock>,
        FindingStatus,
    );

    #[test]
    fn bucket_exposure_follows_acls_policies_and_the_public_access_block() {
        let mut t = trail();
        let everyone = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::audit-logs/*"}]});
        let org_only = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::audit-logs/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}]});
        let wildcard_org = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringLike": {"aws:PrincipalOrgID": "o-*"}}}]});
        let not_principal = json!({"Statement": {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*", "Resource": "*"}});
        let cases: Vec<BucketCase> = vec![
            (&["AllUsers: READ"], None, None, Fail),
            (&["AuthenticatedUsers: READ_ACP"], None, None, Fail),
            (&[], Some(everyone.clone()), None, Fail),
            (&[], Some(org_only), None, Pass),
            (&[], Some(wildcard_org), None, Fail),
            (&[], Some(not_principal), None, Fail),
            (&[], Some(json!("not json {")), None, Unknown),
            // The bucket's own block neutralises what it covers, no more.
            (
                &["AllUsers: READ"],
                None,
                Some(PublicAccessBlock {
                    ignore_public_acls: true,
                    ..Default::default()
                }),
                Pass,
            ),
            (
                &[],
                Some(everyone.clone()),
                Some(PublicAccessBlock {
                    ignore_public_acls: true,
                    ..Default::default()
                }),
                Fail,
            ),
            (
                &[],
                Some(everyone.clone()),
                Some(PublicAccessBlock {
                    restrict_public_buckets: true,
                    ..Default::default()
                }),
                Pass,
            ),
        ];
        for (i, (grants, policy, block, expected)) in cases.into_iter().enumerate() {
            set_bucket(
                &mut t,
                grants,
                policy,
                block,
                AccountPublicAccessBlock::Absent,
            );
            assert_eq!(
                on(&t, "cloudtrail.bucket_not_public").0,
                expected,
                "case {i}"
            );
        }
        // The account's block applies too; unreadable, it leaves exposure unknown.
        let account = PublicAccessBlock {
            restrict_public_buckets: true,
            ..Default::default()
        };
        set_bucket(
            &mut t,
            &[],
            Some(everyone.clone()),
            None,
            AccountPublicAccessBlock::Set(account),
        );
        assert_eq!(on(&t, "cloudtrail.bucket_not_public").0, Pass);
        set_bucket(
            &mut t,
            &[],
            Some(everyone),
            None,
            AccountPublicAccessBlock::Unknown {
                error: "AccessDenied".into(),
            },
        );
        assert_eq!(on(&t, "cloudtrail.bucket_not_public").0, Unknown);
        set_bucket(
            &mut t,
            &[],
            None,
            None,
            AccountPublicAccessBlock::Unknown {
                error: "AccessDenied".into(),
            },
        );
        assert_eq!(on(&t, "cloudtrail.bucket_not_public").0, Pass);
    }

    #[test]
    fn an_unreadable_bucket_is_unknown_for_both_bucket_controls() {
        let mut t = trail();
        t.bucket.state = TrailBucketState::Unreadable {
            error: "bucket audit-logs is in another account".into(),
        };
        for control in [
            "cloudtrail.bucket_not_public",
            "cloudtrail.bucket_access_logging",
        ] {
            let (s, m) = on(&t, control);
            assert_eq!(s, Unknown, "{control}");
            assert!(m.contains("another account"), "{m}");
        }
        set_bucket(&mut t, &[], None, None, AccountPublicAccessBlock::Absent);
        assert_eq!(on(&t, "cloudtrail.bucket_access_logging").0, Fail);
    }

    mod s3_data_events {
        use super::*;

        const WRITE: &str = "cloudtrail.s3_write_data_events";
        const READ: &str = "cloudtrail.s3_read_data_events";

        fn judge(trails: Vec<MultiRegionTrail>, control: &str) -> (FindingStatus, String) {
            let account = Account {
                account_id: "123456789012".into(),
                arn: "arn:aws:account::123456789012:account".into(),
                multi_region_trails: trails,
                ..Account::default()
            };
            status_of(
                ResourceType::Account,
                serde_json::to_value(account).expect("serialises"),
                control,
            )
        }

        fn objects(rw: &str, values: &[&str]) -> ClassicSelector {
            ClassicSelector {
                data_resources: vec![crate::model::DataResource {
                    resource_type: "AWS::S3::Object".into(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                }],
                ..classic(Some(rw), Some(true), &[])
            }
        }

        fn both(trails: Vec<MultiRegionTrail>) -> (FindingStatus, FindingStatus) {
            (
                judge(trails.clone(), WRITE).0,
                judge(trails, READ).0,
            )
        }

        #[test]
        fn classic_selectors_for_all_buckets_by_read_write_type() {
            assert_eq!(both(vec![with_classic(vec![objects("All", &["arn:aws:s3"])])]), (Pass, Pass));
            assert_eq!(both(vec![with_classic(vec![objects("All", &["arn:aws:s3:::"])])]), (Pass, Pass));
            assert_eq!(both(vec![with_classic(vec![objects("WriteOnly", &["arn:aws:s3"])])]), (Pass, Fail));
            assert_eq!(both(vec![with_classic(vec![objects("ReadOnly", &["arn:aws:s3"])])]), (Fail, Pass));
            // Two selectors together cover both halves.
            let split = vec![objects("WriteOnly", &["arn:aws:s3"]), objects("ReadOnly", &["arn:aws:s3"])];
            assert_eq!(both(vec![with_classic(split)]), (Pass, Pass));
            // Other partitions spell "every bucket" the same way.
            assert_eq!(both(vec![with_classic(vec![objects("All", &["arn:aws-us-gov:s3"])])]), (Pass, Pass));
        }

        #[test]
        fn one_bucket_or_no_data_events_is_not_all_buckets() {
            let (s, m) = judge(vec![with_classic(vec![objects("All", &["arn:aws:s3:::payments/"])])], WRITE);
            assert_eq!(s, Fail);
            assert!(m.contains("only for arn:aws:s3:::payments/"), "{m}");
            let (s, m) = judge(vec![with_classic(vec![classic(Some("All"), Some(true), &[])])], READ);
            assert_eq!(s, Fail);
            assert!(m.contains("no event selector records S3 object data events"), "{m}");
            // Lambda data events are not S3 object events.
            let lambda = ClassicSelector {
                data_resources: vec![crate::model::DataResource {
                    resource_type: "AWS::Lambda::Function".into(),
                    values: vec!["arn:aws:lambda".into()],
                }],
                ..classic(Some("All"), Some(true), &[])
            };
            assert_eq!(both(vec![with_classic(vec![lambda])]), (Fail, Fail));
            assert_eq!(judge(vec![], WRITE).0, Fail);
        }

        #[test]
        fn advanced_selectors_pass_only_unnarrowed() {
            let data = field("eventCategory", &["Data"], &[]);
            let s3 = field("resources.type", &["AWS::S3::Object"], &[]);
            let all = advanced(vec![data.clone(), s3.clone()]);
            assert_eq!(both(vec![with_advanced(vec![all])]), (Pass, Pass));

            let write_only = advanced(vec![data.clone(), s3.clone(), field("readOnly", &["false"], &[])]);
            assert_eq!(both(vec![with_advanced(vec![write_only])]), (Pass, Fail));
            let not_read = advanced(vec![data.clone(), s3.clone(), field("readOnly", &[], &["true"])]);
            assert_eq!(both(vec![with_advanced(vec![not_read])]), (Pass, Fail));

            let every_arn = advanced(vec![
                data.clone(),
                s3.clone(),
                FieldSelector { field: "resources.ARN".into(), starts_with: vec!["arn:aws:s3:::".into()], ..FieldSelector::default() },
            ]);
            assert_eq!(both(vec![with_advanced(vec![every_arn])]), (Pass, Pass));

            let one_bucket = advanced(vec![
                data.clone(),
                s3.clone(),
                FieldSelector { field: "resources.ARN".into(), starts_with: vec!["arn:aws:s3:::payments/".into()], ..FieldSelector::default() },
            ]);
            let (s, m) = judge(vec![with_advanced(vec![one_bucket])], WRITE);
            assert_eq!(s, Fail);
            assert!(m.contains("resources.ARN is filtered"), "{m}");

            let some_calls = advanced(vec![data.clone(), s3.clone(), field("eventName", &["PutObject"], &[])]);
            assert_eq!(both(vec![with_advanced(vec![some_calls])]), (Fail, Fail));
            let excluded_bucket = advanced(vec![
                data.clone(),
                s3.clone(),
                FieldSelector { field: "resources.ARN".into(), not_starts_with: vec!["arn:aws:s3:::logs/".into()], ..FieldSelector::default() },
            ]);
            assert_eq!(both(vec![with_advanced(vec![excluded_bucket])]), (Fail, Fail));
            // A management selector alone records no data events.
            let management = advanced(vec![field("eventCategory", &["Management"], &[])]);
            assert_eq!(both(vec![with_advanced(vec![management])]), (Fail, Fail));
        }

        #[test]
        fn a_stopped_or_unreadable_trail_never_passes() {
            let mut stopped = with_classic(vec![objects("All", &["arn:aws:s3"])]);
            stopped.is_logging = Some(false);
            let (s, m) = judge(vec![stopped], WRITE);
            assert_eq!(s, Fail);
            assert!(m.contains("logging is stopped"), "{m}");

            let mut unreadable = with_classic(vec![]);
            unreadable.event_selectors = None;
            assert_eq!(judge(vec![unreadable.clone()], READ).0, Unknown);
            // A readable trail that records them decides, whatever the other.
            let good = with_classic(vec![objects("All", &["arn:aws:s3"])]);
            assert_eq!(judge(vec![unreadable, good], READ).0, Pass);
        }
    }
}
