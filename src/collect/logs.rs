//! CloudWatch Logs: every log group of one region with its retention, and
//! what writes to it (VPC flow logs), which puts it in scope of
//! `logs.retention`.

use super::{AwsAccount, Collection, describe_error};
use crate::model::{LogGroup, ResourceRecord, ResourceType, partition_for_region};
use chrono::Utc;
use std::collections::BTreeMap;

pub const NAME: &str = "logs";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::LogGroup],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
};

pub const IAM_ACTIONS: &[&str] = &[
    "logs:DescribeLogGroups",
    "ec2:DescribeFlowLogs",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = Utc::now();
    Collection::finish(
        NAME,
        region,
        started_at,
        collect_region(account, region).await,
    )
}

/// Every log group of the region with its retention, keyed by name.
pub(super) async fn log_groups(
    logs: &aws_sdk_cloudwatchlogs::Client,
) -> Result<BTreeMap<String, aws_sdk_cloudwatchlogs::types::LogGroup>, String> {
    let mut groups = BTreeMap::new();
    let mut pages = logs.describe_log_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeLogGroups: {}", describe_error(&e)))?;
        for group in page.log_groups() {
            if let Some(name) = group.log_group_name() {
                groups.insert(name.to_string(), group.clone());
            }
        }
    }
    Ok(groups)
}

async fn collect_region(account: &AwsAccount, region: &str) -> Result<Vec<ResourceRecord>, String> {
    let config = account.in_region(region);
    let logs = crate::counted_client!(aws_sdk_cloudwatchlogs, "logs", &config);
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &config);
    let mut writers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pages = ec2
        .describe_flow_logs()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeFlowLogs: {}", describe_error(&e)))?;
        for f in page.flow_logs() {
            if let Some(group) = f.log_group_name() {
                writers.entry(group.to_string()).or_default().push(format!(
                    "VPC flow log {} ({})",
                    f.flow_log_id().unwrap_or("?"),
                    f.resource_id().unwrap_or("?")
                ));
            }
        }
    }
    let partition = partition_for_region(region);
    let resources = log_groups(&logs)
        .await?
        .into_iter()
        .map(|(name, group)| {
            let arn = group
                .arn()
                .map(|a| a.trim_end_matches(":*").to_string())
                .unwrap_or_else(|| {
                    format!(
                        "arn:{partition}:logs:{region}:{}:log-group:{name}",
                        account.account_id
                    )
                });
            let mut written_by = writers.remove(&name).unwrap_or_default();
            written_by.sort();
            let record = LogGroup {
                name: name.clone(),
                arn: arn.clone(),
                region: region.to_string(),
                retention_in_days: group.retention_in_days(),
                kms_key_id: group.kms_key_id().map(str::to_string),
                written_by,
            };
            ResourceRecord {
                arn,
                resource_type: ResourceType::LogGroup,
                name,
                region: region.to_string(),
                document: serde_json::to_value(&record)
                    .map_err(|e| format!("cannot serialise log group record: {e}")),
            }
        })
        .collect();
    Ok(resources)
}
