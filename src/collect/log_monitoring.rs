//! What watches a trail's CloudWatch Logs group: its metric filters, the
//! metric alarms on their metrics and the subscriptions of the SNS topics
//! those alarms notify (CIS section 4's audit procedure, in that order).
//!
//! Calls follow the data: DescribeAlarms only when a filter publishes a
//! metric, ListSubscriptionsByTopic once per topic an alarm on such a
//! metric notifies; nothing per alarm or per filter.

use super::{AwsAccount, describe_error};
use crate::model::{AlarmTopic, FilterMetric, LogMonitoring, MetricAlarm, MetricFilter};
use aws_sdk_cloudwatch::types::MetricAlarm as SdkAlarm;
use std::collections::{BTreeMap, BTreeSet};

/// A metric's identity as CloudWatch matches it: namespace, name and the
/// set of dimension names.
type MetricKey = (String, String, BTreeSet<String>);

/// Reads the monitoring of the log group `log_group_arn`
/// (`arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
pub async fn log_monitoring(account: &AwsAccount, log_group_arn: &str) -> LogMonitoring {
    let Some((region, owner, name)) = parse_log_group_arn(log_group_arn) else {
        return LogMonitoring {
            error: Some(format!("{log_group_arn} is not a log group ARN")),
            ..LogMonitoring::default()
        };
    };
    let mut monitoring = LogMonitoring {
        log_group_name: name.clone(),
        region: region.clone(),
        metric_filters: None,
        error: None,
    };
    if owner != account.account_id {
        monitoring.error = Some(format!(
            "log group {name} belongs to account {owner}: its metric filters and alarms are read there"
        ));
        return monitoring;
    }
    let mut filters = match metric_filters(account, &region, &name).await {
        Ok(filters) => filters,
        Err(e) => {
            monitoring.error = Some(e);
            return monitoring;
        }
    };
    let mut errors = Vec::new();
    if filters.iter().any(|f| !f.metrics.is_empty()) {
        match alarms_by_metric(account, &region).await {
            Ok(alarms) => attach_alarms(&mut filters, &alarms),
            Err(e) => errors.push(e),
        }
        errors.extend(count_subscriptions(account, &mut filters).await);
    }
    monitoring.metric_filters = Some(filters);
    monitoring.error = (!errors.is_empty()).then(|| errors.join("; "));
    monitoring
}

fn parse_log_group_arn(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "logs", region, owner, "log-group", rest] if !region.is_empty() => {
            let name = rest.strip_suffix(":*").unwrap_or(rest);
            Some((region.to_string(), owner.to_string(), name.to_string()))
        }
        _ => None,
    }
}

async fn metric_filters(
    account: &AwsAccount,
    region: &str,
    log_group: &str,
) -> Result<Vec<MetricFilter>, String> {
    let logs = crate::counted_client!(aws_sdk_cloudwatchlogs, "logs", &account.in_region(region));
    let mut pages = logs
        .describe_metric_filters()
        .log_group_name(log_group)
        .into_paginator()
        .send();
    let mut filters = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "DescribeMetricFilters of {log_group}: {}",
                describe_error(&e)
            )
        })?;
        for filter in page.metric_filters() {
            let metrics = filter
                .metric_transformations()
                .iter()
                .map(|t| FilterMetric {
                    namespace: t.metric_namespace().to_string(),
                    name: t.metric_name().to_string(),
                    dimensions: t
                        .dimensions()
                        .map(|d| {
                            let mut names: Vec<String> = d.keys().cloned().collect();
                            names.sort();
                            names
                        })
                        .unwrap_or_default(),
                    alarms: None,
                })
                .collect();
            filters.push(MetricFilter {
                name: filter.filter_name().unwrap_or_default().to_string(),
                pattern: filter.filter_pattern().unwrap_or_default().to_string(),
                metrics,
            });
        }
    }
    filters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(filters)
}

/// Every metric alarm of the region under each metric it reads.
async fn alarms_by_metric(
    account: &AwsAccount,
    region: &str,
) -> Result<BTreeMap<MetricKey, Vec<MetricAlarm>>, String> {
    let cloudwatch =
        crate::counted_client!(aws_sdk_cloudwatch, "cloudwatch", &account.in_region(region));
    let mut pages = cloudwatch.describe_alarms().into_paginator().send();
    let mut by_metric: BTreeMap<MetricKey, Vec<MetricAlarm>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeAlarms: {}", describe_error(&e)))?;
        for alarm in page.metric_alarms() {
            let record = MetricAlarm {
                name: alarm.alarm_name().unwrap_or_default().to_string(),
                arn: alarm.alarm_arn().unwrap_or_default().to_string(),
                actions_enabled: alarm.actions_enabled().unwrap_or(true),
                topics: alarm
                    .alarm_actions()
                    .iter()
                    .filter(|a| a.split(':').nth(2) == Some("sns"))
                    .map(|arn| AlarmTopic {
                        arn: arn.clone(),
                        confirmed_subscriptions: None,
                    })
                    .collect(),
            };
            for key in metrics_read(alarm) {
                by_metric.entry(key).or_default().push(record.clone());
            }
        }
    }
    Ok(by_metric)
}

/// The metrics an alarm reads: its own metric, or each metric of its
/// metric-math queries.
fn metrics_read(alarm: &SdkAlarm) -> BTreeSet<MetricKey> {
    let own = metric_key(alarm.namespace(), alarm.metric_name(), alarm.dimensions());
    let in_math = alarm
        .metrics()
        .iter()
        .filter_map(|q| q.metric_stat().and_then(|s| s.metric()))
        .filter_map(|m| metric_key(m.namespace(), m.metric_name(), m.dimensions()));
    own.into_iter().chain(in_math).collect()
}

fn metric_key(
    namespace: Option<&str>,
    name: Option<&str>,
    dimensions: &[aws_sdk_cloudwatch::types::Dimension],
) -> Option<MetricKey> {
    let names = dimensions
        .iter()
        .filter_map(|d| d.name().map(str::to_string));
    Some((namespace?.to_string(), name?.to_string(), names.collect()))
}

fn attach_alarms(filters: &mut [MetricFilter], alarms: &BTreeMap<MetricKey, Vec<MetricAlarm>>) {
    for metric in filters.iter_mut().flat_map(|f| f.metrics.iter_mut()) {
        let key = (
            metric.namespace.clone(),
            metric.name.clone(),
            metric.dimensions.iter().cloned().collect(),
        );
        metric.alarms = Some(alarms.get(&key).cloned().unwrap_or_default());
    }
}

/// Fills in each topic's confirmed subscriptions, one listing per distinct
/// topic; returns what could not be read.
async fn count_subscriptions(account: &AwsAccount, filters: &mut [MetricFilter]) -> Vec<String> {
    let topics: BTreeSet<String> = filters
        .iter()
        .flat_map(|f| &f.metrics)
        .flat_map(|m| m.alarms.iter().flatten())
        .flat_map(|a| a.topics.iter().map(|t| t.arn.clone()))
        .collect();
    let mut counts = BTreeMap::new();
    let mut errors = Vec::new();
    for topic in topics {
        match confirmed_subscriptions(account, &topic).await {
            Ok(n) => {
                counts.insert(topic, n);
            }
            Err(e) => errors.push(e),
        }
    }
    let all_topics = filters
        .iter_mut()
        .flat_map(|f| f.metrics.iter_mut())
        .flat_map(|m| m.alarms.iter_mut().flatten())
        .flat_map(|a| a.topics.iter_mut());
    for topic in all_topics {
        topic.confirmed_subscriptions = counts.get(&topic.arn).copied();
    }
    errors
}

async fn confirmed_subscriptions(account: &AwsAccount, topic: &str) -> Result<u32, String> {
    let region = topic.split(':').nth(3).unwrap_or_default();
    let sns = crate::counted_client!(aws_sdk_sns, "sns", &account.in_region(region));
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    let mut confirmed = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "ListSubscriptionsByTopic of {topic}: {}",
                describe_error(&e)
            )
        })?;
        let arns = page
            .subscriptions()
            .iter()
            .filter_map(|s| s.subscription_arn());
        confirmed += arns.filter(|arn| arn.starts_with("arn:")).count() as u32;
    }
    Ok(confirmed)
}

#[cfg(test)]
mod tests {
    use super::parse_log_group_arn;

    #[test]
    fn log_group_arns_with_and_without_the_stream_suffix() {
        assert_eq!(
            parse_log_group_arn("arn:aws:logs:eu-west-1:123456789012:log-group:CloudTrail/audit:*"),
            Some((
                "eu-west-1".into(),
                "123456789012".into(),
                "CloudTrail/audit".into()
            ))
        );
        assert_eq!(
            parse_log_group_arn("arn:aws-us-gov:logs:us-gov-west-1:1:log-group:a:b"),
            Some(("us-gov-west-1".into(), "1".into(), "a:b".into()))
        );
        assert_eq!(parse_log_group_arn("arn:aws:s3:::bucket"), None);
        assert_eq!(parse_log_group_arn("log-group:x"), None);
    }
}
