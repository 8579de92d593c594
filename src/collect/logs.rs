//! CloudWatch Logs: every log group of one region with its retention, and
//! what writes to it (VPC flow logs), which puts it in scope of
//! `logs.retention`.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{LogGroup, ResourceRecord, ResourceType, partition_for_region};
use aws_sdk_cloudwatchlogs::types::LogGroup as LogGroupState;
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "logs";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::LogGroup],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "logs:DescribeLogGroups",
    "ec2:DescribeFlowLogs",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = account.clock.now();
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        collect_region(account, region).await,
    )
}

/// Every log group of the region with its retention, keyed by name.
pub(super) async fn log_groups(
    logs: &aws_sdk_cloudwatchlogs::Client,
) -> Result<BTreeMap<String, LogGroupState>, String> {
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

/// The log groups among `names` that exist, by name: one prefix query per
/// name instead of the region's whole listing.
pub(super) async fn log_groups_named(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &BTreeSet<String>,
) -> Result<BTreeMap<String, LogGroupState>, String> {
    let mut groups = BTreeMap::new();
    for name in names {
        if let Some(group) = log_group_named(logs, name).await? {
            groups.insert(name.clone(), group);
        }
    }
    Ok(groups)
}

/// The log group called exactly `name`. DescribeLogGroups takes only a
/// prefix; groups come sorted by name, so the exact one is on the first
/// page, and the rest is read only if AWS ever orders them otherwise.
async fn log_group_named(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
) -> Result<Option<LogGroupState>, String> {
    let mut pages = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeLogGroups: {}", describe_error(&e)))?;
        if let Some(group) = page
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
        {
            return Ok(Some(group.clone()));
        }
    }
    Ok(None)
}

async fn collect_region(account: &AwsAccount, region: &str) -> Result<Vec<ResourceRecord>, String> {
    let config = account.in_region(region);
    let logs = crate::counted_client!(aws_sdk_cloudwatchlogs, "logs", &config);
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &config);
    let mut writers = flow_log_writers(&ec2, None).await?;
    let resources = log_groups(&logs)
        .await?
        .into_iter()
        .map(|(name, group)| {
            let written_by = writers.remove(&name).unwrap_or_default();
            log_group_record(name, &group, written_by, account, region)
        })
        .collect();
    Ok(resources)
}

/// What the flow logs matching `filter` (all of the region without one)
/// write to, by log group name.
async fn flow_log_writers(
    ec2: &aws_sdk_ec2::Client,
    filter: Option<aws_sdk_ec2::types::Filter>,
) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut writers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in super::ec2::describe_flow_logs(ec2, filter).await? {
        if let Some(group) = f.log_group_name() {
            writers.entry(group.to_string()).or_default().push(format!(
                "VPC flow log {} ({})",
                f.flow_log_id().unwrap_or("?"),
                f.resource_id().unwrap_or("?")
            ));
        }
    }
    Ok(writers)
}

fn log_group_record(
    name: String,
    group: &LogGroupState,
    mut written_by: Vec<String>,
    account: &AwsAccount,
    region: &str,
) -> ResourceRecord {
    let partition = partition_for_region(region);
    let arn = group
        .arn()
        .map(|a| a.trim_end_matches(":*").to_string())
        .unwrap_or_else(|| {
            format!(
                "arn:{partition}:logs:{region}:{}:log-group:{name}",
                account.account_id
            )
        });
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
        document: crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise log group record: {e}")),
    }
}

/// Re-collects one log group (`arn:…:logs:region:account:log-group:name`,
/// with or without the trailing `:*`): the group by name, then the flow
/// logs that write to it, asked with a filter on that name.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "logs", account)?;
    let name = parsed
        .resource
        .strip_prefix("log-group:")
        .map(|rest| rest.strip_suffix(":*").unwrap_or(rest))
        .filter(|name| !name.is_empty() && !name.contains(':'))
        .ok_or_else(|| not_described(arn, &COLLECTOR))?;
    let config = account.in_region(parsed.region);
    let logs = crate::counted_client!(aws_sdk_cloudwatchlogs, "logs", &config);
    let Some(group) = log_group_named(&logs, name)
        .await
        .map_err(|error| format!("{arn}: {error}"))?
    else {
        return Ok(None);
    };
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &config);
    let into_this = aws_sdk_ec2::types::Filter::builder()
        .name("log-group-name")
        .values(name)
        .build();
    let record =
        |written_by| log_group_record(name.to_string(), &group, written_by, account, parsed.region);
    match flow_log_writers(&ec2, Some(into_this)).await {
        Ok(mut writers) => Ok(Some(record(writers.remove(name).unwrap_or_default()))),
        // The group exists; whether something writes to it is unknown.
        Err(error) => Ok(Some(ResourceRecord {
            document: Err(error),
            ..record(Vec::new())
        })),
    }
}
