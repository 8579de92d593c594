//! `deploy/events`: the EventBridge rule that feeds driftwatch's change
//! events, as one pattern file, three CloudFormation templates and three
//! Terraform modules. The pattern must match the write events of every
//! service driftwatch collects (the change-event table's sources), and
//! nothing else it would have to throw away: a test for each form, and one
//! that puts CloudTrail-shaped events through a real EventBridge rule with
//! that pattern (moto) into a real SQS queue and reads back what arrives.
//!
//! No `cfn-lint` or `terraform` binary can be installed from this
//! machine's registries, so the templates are parsed as YAML (long-form
//! intrinsic functions only, so no custom tags) and the Terraform modules
//! are checked for reading the shared pattern file.

mod support;

use aws_sdk_eventbridge::types::{PutEventsRequestEntry, Target as RuleTarget};
use driftwatch::collect::change_events::{self, ChangeEvent, Disposition, Target};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{ACCOUNT_ID, Moto, REGION};

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/events")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn pattern() -> Value {
    let path = events_dir().join("event-pattern.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template(name: &str) -> Value {
    let path = events_dir().join("cloudformation").join(name);
    serde_yaml_ng::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const TEMPLATES: [&str; 3] = [
    "account.yaml",
    "organization-central.yaml",
    "organization-member.yaml",
];

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

#[test]
fn the_pattern_matches_exactly_the_sources_whose_writes_change_what_is_collected() {
    let pattern = pattern();
    let matched: BTreeSet<&str> = pattern["detail"]["eventSource"]
        .as_array()
        .expect("detail.eventSource")
        .iter()
        .map(|s| s.as_str().expect("an event source"))
        .collect();
    let collected: BTreeSet<&str> = change_events::collected_event_sources()
        .into_iter()
        .collect();
    assert_eq!(matched, collected);
    assert_eq!(
        pattern["detail-type"],
        json!([
            "AWS API Call via CloudTrail",
            "AWS Service Event via CloudTrail"
        ])
    );
    // Only AWS may put an `aws.` source: no principal can pose as CloudTrail.
    assert_eq!(pattern["source"], json!([{"prefix": "aws."}]));
    // Data events (PutObject, ...) are not changes of what is collected.
    assert_eq!(pattern["detail"]["managementEvent"], json!([true]));
    // Reads and refused calls change nothing: EventBridge drops them.
    assert_eq!(pattern["detail"]["readOnly"], json!([false]));
    assert_eq!(pattern["detail"]["errorCode"], json!([{"exists": false}]));
}

#[test]
fn every_template_routes_the_pattern_and_keeps_what_it_cannot_deliver() {
    for name in TEMPLATES {
        let template = template(name);
        let rules = resources_of_type(&template, "AWS::Events::Rule");
        assert_eq!(rules.len(), 1, "{name}: one rule");
        let rule = &rules[0].1["Properties"];
        assert_eq!(
            rule["EventPattern"],
            pattern(),
            "{name}: the shared pattern"
        );
        assert_eq!(rule["State"], "ENABLED", "{name}");
        for target in rule["Targets"].as_array().expect("Targets") {
            assert!(
                target["RetryPolicy"]["MaximumEventAgeInSeconds"].as_u64() >= Some(3600),
                "{name}: a target retries for at least an hour"
            );
        }
    }
}

#[test]
fn every_queue_keeps_events_through_an_outage_and_dead_letters_poison() {
    for name in ["account.yaml", "organization-central.yaml"] {
        let template = template(name);
        let queues = resources_of_type(&template, "AWS::SQS::Queue");
        let (_, queue) = queues
            .iter()
            .find(|(_, q)| !q["Properties"]["RedrivePolicy"].is_null())
            .unwrap_or_else(|| panic!("{name}: a queue with a redrive policy"));
        let properties = &queue["Properties"];
        let dead_letter = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            .as_str()
            .expect("deadLetterTargetArn by Fn::GetAtt");
        assert!(
            template["Resources"][dead_letter]["Type"] == "AWS::SQS::Queue",
            "{name}: the dead-letter queue is in the template"
        );
        assert!(properties["MessageRetentionPeriod"].as_u64() >= Some(4 * 86400));
        assert!(properties["VisibilityTimeout"].as_u64() >= Some(60));
        assert_eq!(properties["SqsManagedSseEnabled"], true, "{name}");
        // Only this rule may send: the policy's condition names it.
        let policies = resources_of_type(&template, "AWS::SQS::QueuePolicy");
        let statements = &policies[0].1["Properties"]["PolicyDocument"]["Statement"];
        let sends = statements
            .as_array()
            .expect("Statement")
            .iter()
            .find(|s| s["Action"] == "sqs:SendMessage")
            .unwrap_or_else(|| panic!("{name}: a statement letting EventBridge send"));
        let (rule, _) = resources_of_type(&template, "AWS::Events::Rule")[0];
        assert_eq!(
            sends["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"],
            json!([rule, "Arn"]),
            "{name}"
        );
    }
}

#[test]
fn members_forward_to_the_central_bus_that_admits_only_the_organization() {
    let central = template("organization-central.yaml");
    let (_, policy) = resources_of_type(&central, "AWS::Events::EventBusPolicy")[0];
    assert_eq!(
        policy["Properties"]["Statement"]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
        json!({"Ref": "OrganizationId"})
    );
    assert_eq!(
        policy["Properties"]["Statement"]["Condition"]["ArnLike"]["aws:PrincipalArn"],
        "arn:*:iam::*:role/driftwatch/*",
        "only the forwarding roles may put"
    );
    let (_, rule) = resources_of_type(&central, "AWS::Events::Rule")[0];
    assert!(
        !rule["Properties"]["EventBusName"].is_null(),
        "the central rule reads the central bus, not the default one"
    );
    let member = template("organization-member.yaml");
    let (_, rule) = resources_of_type(&member, "AWS::Events::Rule")[0];
    let target = &rule["Properties"]["Targets"][0];
    assert_eq!(target["Arn"], json!({"Ref": "CentralEventBusArn"}));
    assert!(
        !target["RoleArn"].is_null(),
        "cross-account targets need a role"
    );
    let (role, _) = resources_of_type(&member, "AWS::IAM::Role")[0];
    assert_eq!(
        member["Resources"][role]["Properties"]["Path"], "/driftwatch/",
        "the path the central bus admits"
    );
    // Permission errors are not retried: without a dead-letter queue a
    // misconfigured forward would drop events silently.
    assert!(!target["DeadLetterConfig"]["Arn"].is_null());
}

#[test]
fn every_terraform_module_reads_the_same_pattern_file() {
    for module in ["account", "organization-central", "organization-member"] {
        let path = events_dir().join("terraform").join(module).join("main.tf");
        let text = read(&path);
        assert!(
            text.contains(r#"event_pattern = file("${path.module}/../../event-pattern.json")"#)
                || text.contains(
                    r#"event_pattern  = file("${path.module}/../../event-pattern.json")"#
                ),
            "{}: the rule reads the shared pattern",
            path.display()
        );
        for resource in ["aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"] {
            assert!(text.contains(resource), "{}: {resource}", path.display());
        }
    }
}

/// A CloudTrail management event as EventBridge's `detail`.
fn cloudtrail(event_name: &str, read_only: bool, error: Option<&str>, event_id: &str) -> Value {
    management(event_name, read_only, error, event_id, true)
}

fn management(
    event_name: &str,
    read_only: bool,
    error: Option<&str>,
    event_id: &str,
    management_event: bool,
) -> Value {
    let mut detail = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:alice",
            "arn": format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/Admin/alice"),
            "accountId": ACCOUNT_ID,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": format!("arn:aws:iam::{ACCOUNT_ID}:role/Admin"),
                    "accountId": ACCOUNT_ID,
                    "userName": "Admin"
                }
            }
        },
        "eventTime": "2026-12-01T03:12:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": event_name,
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"bucketName": "card-vault", "policy": ""},
        "responseElements": null,
        "requestID": "8E3B6C1A2F",
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": management_event,
        "recipientAccountId": ACCOUNT_ID,
    });
    if let Some(code) = error {
        detail["errorCode"] = json!(code);
    }
    detail
}

#[tokio::test]
async fn an_eventbridge_rule_with_the_pattern_delivers_writes_and_drops_reads_and_refusals() {
    let moto = Moto::start();
    let config = moto.sdk_config();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let queue_url = sqs
        .create_queue()
        .queue_name("driftwatch-change-events")
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:driftwatch-change-events");
    events
        .put_rule()
        .name("driftwatch-change-events")
        .event_pattern(pattern().to_string())
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule("driftwatch-change-events")
        .targets(
            RuleTarget::builder()
                .id("driftwatch-queue")
                .arn(&queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");

    let sent = [
        (
            "aws.s3",
            cloudtrail("DeleteBucketPolicy", false, None, "write"),
        ),
        ("aws.s3", cloudtrail("GetBucketPolicy", true, None, "read")),
        (
            "aws.s3",
            cloudtrail("DeleteBucketPolicy", false, Some("AccessDenied"), "refused"),
        ),
        (
            "aws.s3",
            management("PutObject", false, None, "data event", false),
        ),
        // AWS refuses an `aws.` source from PutEvents; moto does not, which
        // lets the genuine events above be sent. A principal's own event:
        (
            "acme.audit",
            cloudtrail("DeleteBucketPolicy", false, None, "forged"),
        ),
    ];
    let mut put = events.put_events();
    for (source, detail) in &sent {
        put = put.entries(
            PutEventsRequestEntry::builder()
                .source(*source)
                .detail_type("AWS API Call via CloudTrail")
                .detail(detail.to_string())
                .build(),
        );
    }
    let put = put.send().await.expect("put events");
    assert_eq!(put.failed_entry_count, 0, "{put:?}");

    // What arrives within a few seconds; moto delivers synchronously, so
    // once the write is here nothing else is still on its way.
    let mut arrived = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while arrived.is_empty() && Instant::now() < deadline {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        arrived.extend(
            received
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.body),
        );
    }
    assert_eq!(
        arrived.len(),
        1,
        "only the successful management write from AWS: {arrived:#?}"
    );
    let event = ChangeEvent::parse(&arrived[0]).expect("the delivered body is an event");
    assert_eq!(event.event_id, "write");
    assert_eq!(event.actor.describe(), "alice via role Admin");
    assert_eq!(
        event.disposition(),
        Disposition::Changed(vec![Target::Resource(
            "arn:aws:s3:::card-vault".to_string()
        )])
    );
}
