//! CIS section 4 on the emulator through the real SDK: a multi-region
//! trail delivering to a CloudWatch Logs group, metric filters on it,
//! CloudWatch alarms on their metrics and an SNS topic with a subscriber,
//! read by the `account` collector and decided on the account resource.
//!
//! `aws-sdk-cloudwatch` speaks Smithy RPC v2 CBOR, which moto 5.1 does not
//! serve; CloudWatch calls (the collector's and the seeding's) go through
//! the fault proxy, which carries them to moto's CloudWatch over JSON 1.0
//! (tests/support/cbor_bridge.rs). Everything else talks to moto directly.

mod support;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use aws_sdk_cloudwatchlogs::types::MetricTransformation;
use driftwatch::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, Store};
use std::collections::BTreeMap;
use support::Moto;
use support::fault_proxy::{Action, Fault, FaultProxy};

const GROUP: &str = "CloudTrail/audit";
const ROOT: &str = "cloudwatch.root_usage_alarm";
const IAM: &str = "cloudwatch.iam_policy_changes_alarm";

struct Estate {
    moto: Moto,
    proxy: FaultProxy,
    topic: String,
}

impl Estate {
    /// A logging multi-region trail delivering to `GROUP`, and an SNS topic
    /// nobody is subscribed to yet.
    async fn start() -> Estate {
        let moto = Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint).await;
        support::seed::create_bucket(&moto.s3(), "audit-logs").await;
        support::seed::log_group(&moto.logs(), GROUP, Some(365)).await;
        let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk_config());
        ct.create_trail()
            .name("audit")
            .s3_bucket_name("audit-logs")
            .is_multi_region_trail(true)
            .cloud_watch_logs_log_group_arn(format!(
                "arn:aws:logs:{}:123456789012:log-group:{GROUP}:*",
                support::REGION
            ))
            .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/CloudTrailToLogs")
            .send()
            .await
            .expect("multi-region trail");
        // moto leaves a new trail without selectors; AWS gives it this one.
        ct.put_event_selectors()
            .trail_name("audit")
            .event_selectors(
                aws_sdk_cloudtrail::types::EventSelector::builder()
                    .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::All)
                    .include_management_events(true)
                    .build(),
            )
            .send()
            .await
            .expect("management events");
        // moto 5.1.22 takes the trail's name here, not its ARN.
        ct.start_logging()
            .name("audit")
            .send()
            .await
            .expect("start logging");
        let topic = aws_sdk_sns::Client::new(&moto.sdk_config())
            .create_topic()
            .name("security-alerts")
            .send()
            .await
            .expect("topic")
            .topic_arn()
            .expect("topic arn")
            .to_string();
        Estate { moto, proxy, topic }
    }

    fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        let config = aws_sdk_cloudwatch::config::Builder::from(&self.moto.sdk_config())
            .endpoint_url(&self.proxy.endpoint)
            .build();
        aws_sdk_cloudwatch::Client::from_conf(config)
    }

    fn config(&self, url: &str) -> driftwatch::config::Config {
        let mut config = self.moto.config(url, &["account"]);
        config.aws.endpoint_url = Some(self.proxy.endpoint.clone());
        config
    }

    async fn metric_filter(&self, name: &str, pattern: &str) {
        self.moto
            .logs()
            .put_metric_filter()
            .log_group_name(GROUP)
            .filter_name(name)
            .filter_pattern(pattern)
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name(name)
                    .metric_namespace("CISBenchmark")
                    .metric_value("1")
                    .build()
                    .expect("transformation"),
            )
            .send()
            .await
            .expect("metric filter");
    }

    async fn alarm_on(&self, metric: &str) {
        self.cloudwatch()
            .put_metric_alarm()
            .alarm_name(format!("{metric}-alarm"))
            .metric_name(metric)
            .namespace("CISBenchmark")
            .statistic(Statistic::Sum)
            .period(300)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .alarm_actions(&self.topic)
            .send()
            .await
            .expect("alarm");
    }

    async fn subscribe(&self) {
        aws_sdk_sns::Client::new(&self.moto.sdk_config())
            .subscribe()
            .topic_arn(&self.topic)
            .protocol("sqs")
            .endpoint("arn:aws:sqs:us-east-1:123456789012:security-inbox")
            .send()
            .await
            .expect("subscription");
    }
}

async fn monitoring(store: &Store) -> BTreeMap<String, (FindingStatus, String)> {
    store
        .findings(&FindingFilter::default())
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.control_id.ends_with("_alarm"))
        .map(|f| {
            let message = f.evidence["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (f.control_id, (f.status, message))
        })
        .collect()
}

fn status(findings: &BTreeMap<String, (FindingStatus, String)>, control: &str) -> FindingStatus {
    findings
        .get(control)
        .unwrap_or_else(|| panic!("no finding for {control}: {findings:?}"))
        .0
}

#[tokio::test]
async fn a_filter_an_alarm_and_a_subscriber_make_a_watched_event_class() {
    let estate = Estate::start().await;
    let (store, url) = support::database().await;
    let config = estate.config(&url);

    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(findings.len(), 15, "{findings:?}");
    assert!(findings.values().all(|(s, _)| *s == Fail), "{findings:?}");
    assert!(
        findings[ROOT]
            .1
            .contains("no metric filter on log group CloudTrail/audit"),
        "{findings:?}"
    );

    estate
        .metric_filter(
            "RootUsage",
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#,
        )
        .await;
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Fail);
    assert!(
        findings[ROOT].1.contains("no alarm reads its metric"),
        "{findings:?}"
    );

    estate.alarm_on("RootUsage").await;
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Fail);
    assert!(
        findings[ROOT].1.contains("no confirmed subscription"),
        "{findings:?}"
    );

    estate.subscribe().await;
    // CIS 4.4 in another spelling: bare values, another order, no
    // eventSource narrowing (wider, so it still covers).
    let names = [
        "DetachGroupPolicy",
        "AttachGroupPolicy",
        "DetachUserPolicy",
        "AttachUserPolicy",
        "DetachRolePolicy",
        "AttachRolePolicy",
        "DeletePolicyVersion",
        "CreatePolicyVersion",
        "DeletePolicy",
        "CreatePolicy",
        "PutUserPolicy",
        "PutRolePolicy",
        "PutGroupPolicy",
        "DeleteUserPolicy",
        "DeleteRolePolicy",
        "DeleteGroupPolicy",
    ];
    let iam_pattern = names
        .iter()
        .map(|n| format!("($.eventName={n})"))
        .collect::<Vec<_>>()
        .join("||");
    estate
        .metric_filter("IAMPolicyChanges", &format!("{{{iam_pattern}}}"))
        .await;
    estate.alarm_on("IAMPolicyChanges").await;
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Pass, "{findings:?}");
    assert!(findings[ROOT].1.contains("RootUsage-alarm"), "{findings:?}");
    assert_eq!(status(&findings, IAM), Pass, "{findings:?}");
    let passing = findings.values().filter(|(s, _)| *s == Pass).count();
    assert_eq!(passing, 2, "{findings:?}");

    // One missing name is not CIS 4.4. (moto 5.1.22 adds a second filter
    // of the same name where AWS replaces it, so delete it first.)
    estate
        .moto
        .logs()
        .delete_metric_filter()
        .log_group_name(GROUP)
        .filter_name("IAMPolicyChanges")
        .send()
        .await
        .expect("delete filter");
    let narrower = names[1..]
        .iter()
        .map(|n| format!("($.eventName={n})"))
        .collect::<Vec<_>>()
        .join("||");
    estate
        .metric_filter("IAMPolicyChanges", &format!("{{{narrower}}}"))
        .await;
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(status(&monitoring(&store).await, IAM), Fail);

    aws_sdk_cloudtrail::Client::new(&estate.moto.sdk_config())
        .stop_logging()
        .name("audit")
        .send()
        .await
        .expect("stop logging");
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Fail);
    assert!(
        findings[ROOT].1.contains("logging is stopped"),
        "{findings:?}"
    );
}

#[tokio::test]
async fn unreadable_alarms_or_subscriptions_are_unknown_never_pass() {
    let estate = Estate::start().await;
    let (store, url) = support::database().await;
    let config = estate.config(&url);
    estate
        .metric_filter("RootUsage", r#"{ $.userIdentity.type = "Root" }"#)
        .await;
    estate.alarm_on("RootUsage").await;
    estate.subscribe().await;
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(status(&monitoring(&store).await, ROOT), Pass);

    estate.proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("monitoring")
            .operation("DescribeAlarms"),
    );
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Unknown, "{findings:?}");
    assert!(findings[ROOT].1.contains("DescribeAlarms"), "{findings:?}");

    estate.proxy.clear();
    estate.proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("sns")
            .operation("ListSubscriptionsByTopic"),
    );
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Unknown, "{findings:?}");
    assert!(findings[ROOT].1.contains("security-alerts"), "{findings:?}");

    estate.proxy.clear();
    estate.proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("logs")
            .operation("DescribeMetricFilters"),
    );
    scan_once(&config, &store).await.expect("scan");
    let findings = monitoring(&store).await;
    assert_eq!(status(&findings, ROOT), Unknown, "{findings:?}");
    // A control no filter could ever satisfy is unknown too: the filters
    // were not read, not absent.
    assert_eq!(status(&findings, IAM), Unknown, "{findings:?}");
}

/// The calls of the monitoring part of one account scan, by operation.
fn monitoring_calls(proxy: &FaultProxy, from: usize) -> BTreeMap<String, usize> {
    let mut calls = BTreeMap::new();
    for seen in &proxy.seen()[from..] {
        if matches!(seen.service.as_str(), "logs" | "monitoring" | "sns") {
            *calls
                .entry(format!("{}:{}", seen.service, seen.operation))
                .or_default() += 1;
        }
    }
    calls
}

#[tokio::test]
async fn calls_follow_the_data_not_the_number_of_alarms() {
    let estate = Estate::start().await;
    let (store, url) = support::database().await;
    let config = estate.config(&url);

    // No filter: nothing to ask CloudWatch or SNS about.
    scan_once(&config, &store).await.expect("scan");
    let calls = monitoring_calls(&estate.proxy, 0);
    assert_eq!(
        calls,
        BTreeMap::from([("logs:DescribeMetricFilters".to_string(), 1)])
    );

    // Three filters, three alarms, one topic: one listing of each kind.
    for (name, pattern) in [
        ("RootUsage", r#"{ $.userIdentity.type = "Root" }"#),
        (
            "ConsoleFailures",
            r#"{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }"#,
        ),
        (
            "TrailChanges",
            "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
        ),
    ] {
        estate.metric_filter(name, pattern).await;
        estate.alarm_on(name).await;
    }
    estate.subscribe().await;
    let from = estate.proxy.seen().len();
    scan_once(&config, &store).await.expect("scan");
    let calls = monitoring_calls(&estate.proxy, from);
    assert_eq!(
        calls,
        BTreeMap::from([
            ("logs:DescribeMetricFilters".to_string(), 1),
            ("monitoring:DescribeAlarms".to_string(), 1),
            ("sns:ListSubscriptionsByTopic".to_string(), 1),
        ])
    );
    let findings = monitoring(&store).await;
    let passing: Vec<&str> = findings
        .iter()
        .filter(|(_, (s, _))| *s == Pass)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(
        passing,
        [
            "cloudwatch.cloudtrail_changes_alarm",
            "cloudwatch.console_authentication_failures_alarm",
            "cloudwatch.root_usage_alarm"
        ]
    );
}
