//! The account in one region: the settings AWS keeps per account and
//! region (EBS encryption by default, the AWS Config recorders, GuardDuty,
//! Security Hub, IAM Access Analyzer), and whether the account has the
//! region enabled at all. A region the account has not opted in to is
//! recorded as not enabled, which is a state, not a failed collection.
//!
//! Each setting is read on its own and concurrently: a call that fails
//! leaves only its own setting unreadable. A documented "not configured"
//! answer (no recorder, no detector, not subscribed) is a state.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    AccessAnalyzer, AccountRegion, ConfigRecorder, ConfigRecorderStatus, GuardDutyDetector,
    RegionSetting, ResourceRecord, ResourceType, SecurityHub, account_region_arn,
    partition_for_region,
};
use aws_config::SdkConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;

pub const NAME: &str = "account_region";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::AccountRegion],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe_arn(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "access-analyzer:ListAnalyzers",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeConfigurationRecorders",
    "ec2:DescribeRegions",
    "ec2:GetEbsEncryptionByDefault",
    "guardduty:GetDetector",
    "guardduty:ListDetectors",
    "securityhub:DescribeHub",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = account.clock.now();
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        Ok(vec![record(account, region).await]),
    )
}

/// One region's account resource (`arn:<partition>:account:<region>:<id>:account`)
/// is the whole of its scope: describing it is collecting it.
pub async fn describe_arn(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "account", account)?;
    if parsed.resource != "account" {
        return Err(not_described(arn, &COLLECTOR));
    }
    Ok(Some(record(account, parsed.region).await))
}

async fn record(account: &AwsAccount, region: &str) -> ResourceRecord {
    let record = describe(account, region).await;
    ResourceRecord {
        arn: account_region_arn(partition_for_region(region), region, &account.account_id),
        resource_type: ResourceType::AccountRegion,
        name: format!("{} in {region}", account.name),
        region: region.to_string(),
        document: record.and_then(|r| {
            crate::model::Document::of(&r).map_err(|e| format!("cannot serialise account region: {e}"))
        }),
    }
}

/// Whether the region is enabled decides whether anything else is asked,
/// so only that call fails the whole record.
async fn describe(account: &AwsAccount, region: &str) -> Result<AccountRegion, String> {
    let opt_in_status = opt_in_status(account, region).await?;
    let enabled = opt_in_status != "not-opted-in";
    let mut record = AccountRegion {
        account_id: account.account_id.clone(),
        region: region.to_string(),
        opt_in_status,
        enabled,
        ..AccountRegion::default()
    };
    if enabled {
        let config = account.in_region(region);
        let (ebs, recorders, detectors, hub, analyzers) = tokio::join!(
            ebs_encryption_by_default(&config),
            config_recorders(&config),
            guardduty_detectors(&config),
            security_hub(&config),
            access_analyzers(&config),
        );
        record.ebs_encryption_by_default = setting(ebs);
        record.config_recorders = setting(recorders);
        record.guardduty_detectors = setting(detectors);
        record.security_hub = setting(hub);
        record.access_analyzers = setting(analyzers);
    }
    Ok(record)
}

fn setting<T>(read: Result<T, String>) -> RegionSetting<T> {
    match read {
        Ok(value) => RegionSetting::Read { value },
        Err(error) => RegionSetting::Unreadable { error },
    }
}

/// Asked from the account's home region: a region the account has not
/// enabled answers no API call of its own.
async fn opt_in_status(account: &AwsAccount, region: &str) -> Result<String, String> {
    let output = crate::counted_client!(aws_sdk_ec2, "ec2", &account.sdk_config)
        .describe_regions()
        .all_regions(true)
        .region_names(region)
        .send()
        .await
        .map_err(|e| format!("DescribeRegions: {}", describe_error(&e)))?;
    let found = output
        .regions()
        .iter()
        .find(|r| r.region_name() == Some(region))
        .ok_or_else(|| format!("DescribeRegions does not know region {region}"))?;
    Ok(found
        .opt_in_status()
        .unwrap_or("opt-in-not-required")
        .to_string())
}

async fn ebs_encryption_by_default(config: &SdkConfig) -> Result<bool, String> {
    let output = crate::counted_client!(aws_sdk_ec2, "ec2", config)
        .get_ebs_encryption_by_default()
        .send()
        .await
        .map_err(|e| format!("GetEbsEncryptionByDefault: {}", describe_error(&e)))?;
    Ok(output.ebs_encryption_by_default().unwrap_or(false))
}

/// The recorders and their status: no recorder is an empty list, not an
/// error.
async fn config_recorders(config: &SdkConfig) -> Result<Vec<ConfigRecorder>, String> {
    let client = crate::counted_client!(aws_sdk_config, "config", config);
    let (recorders, statuses) = tokio::join!(
        client.describe_configuration_recorders().send(),
        client.describe_configuration_recorder_status().send(),
    );
    let recorders = recorders
        .map_err(|e| format!("DescribeConfigurationRecorders: {}", describe_error(&e)))?;
    let statuses = statuses
        .map_err(|e| format!("DescribeConfigurationRecorderStatus: {}", describe_error(&e)))?;
    Ok(recorders
        .configuration_recorders()
        .iter()
        .map(|recorder| config_recorder(recorder, statuses.configuration_recorders_status()))
        .collect())
}

fn config_recorder(
    recorder: &aws_sdk_config::types::ConfigurationRecorder,
    statuses: &[aws_sdk_config::types::ConfigurationRecorderStatus],
) -> ConfigRecorder {
    let name = recorder.name().unwrap_or_default().to_string();
    let group = recorder.recording_group();
    // Sorted: Config keeps no order for them.
    let type_names = |types: &[aws_sdk_config::types::ResourceType]| {
        let mut names: Vec<String> = types.iter().map(|t| t.as_str().to_string()).collect();
        names.sort();
        names.dedup();
        names
    };
    ConfigRecorder {
        service_principal: recorder.service_principal().map(str::to_string),
        all_supported: group.is_some_and(|g| g.all_supported()),
        include_global_resource_types: group.is_some_and(|g| g.include_global_resource_types()),
        recording_strategy: group
            .and_then(|g| g.recording_strategy())
            .and_then(|s| s.use_only())
            .map(|s| s.as_str().to_string()),
        resource_types: group.map(|g| type_names(g.resource_types())).unwrap_or_default(),
        excluded_resource_types: group
            .and_then(|g| g.exclusion_by_resource_types())
            .map(|e| type_names(e.resource_types()))
            .unwrap_or_default(),
        status: statuses
            .iter()
            .find(|s| s.name() == Some(name.as_str()))
            .map(|s| ConfigRecorderStatus {
                recording: s.recording(),
                last_status: s.last_status().map(|l| l.as_str().to_string()),
                last_error_code: s.last_error_code().map(str::to_string),
            }),
        name,
    }
}

/// No detector is an empty list. AWS allows one detector per region, so
/// the GetDetector calls are at most one.
async fn guardduty_detectors(config: &SdkConfig) -> Result<Vec<GuardDutyDetector>, String> {
    let client = crate::counted_client!(aws_sdk_guardduty, "guardduty", config);
    let mut ids = Vec::new();
    let mut pages = client.list_detectors().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListDetectors: {}", describe_error(&e)))?;
        ids.extend(page.detector_ids().iter().cloned());
    }
    let mut detectors = Vec::with_capacity(ids.len());
    for id in ids {
        let output = client
            .get_detector()
            .detector_id(&id)
            .send()
            .await
            .map_err(|e| format!("GetDetector {id}: {}", describe_error(&e)))?;
        detectors.push(GuardDutyDetector {
            status: output
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            id,
        });
    }
    detectors.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(detectors)
}

/// An account that has not enabled Security Hub gets
/// `InvalidAccessException` ("… is not subscribed to AWS Security Hub"):
/// that is the state "not enabled". Any other InvalidAccessException is a
/// failure to read.
async fn security_hub(config: &SdkConfig) -> Result<Option<SecurityHub>, String> {
    let client = crate::counted_client!(aws_sdk_securityhub, "securityhub", config);
    match client.describe_hub().send().await {
        Ok(output) => Ok(output.hub_arn().map(|arn| SecurityHub {
            hub_arn: arn.to_string(),
            subscribed_at: output.subscribed_at().map(str::to_string),
        })),
        Err(e) if is_not_subscribed(e.code(), e.message()) => Ok(None),
        Err(e) => Err(format!("DescribeHub: {}", describe_error(&e))),
    }
}

fn is_not_subscribed(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("InvalidAccessException")
        && message.is_some_and(|m| m.to_ascii_lowercase().contains("not subscribed"))
}

/// Every analyzer, of every type: the rule decides which kinds count.
async fn access_analyzers(config: &SdkConfig) -> Result<Vec<AccessAnalyzer>, String> {
    let client = crate::counted_client!(aws_sdk_accessanalyzer, "access-analyzer", config);
    let mut analyzers = Vec::new();
    let mut pages = client.list_analyzers().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAnalyzers: {}", describe_error(&e)))?;
        analyzers.extend(page.analyzers().iter().map(|a| AccessAnalyzer {
            arn: a.arn().to_string(),
            name: a.name().to_string(),
            analyzer_type: a.r#type().as_str().to_string(),
            status: a.status().as_str().to_string(),
            status_reason: a.status_reason().map(|r| r.code().as_str().to_string()),
        }));
    }
    analyzers.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(analyzers)
}

#[cfg(test)]
mod tests {
    use super::is_not_subscribed;

    #[test]
    fn only_the_not_subscribed_answer_means_security_hub_is_off() {
        let code = Some("InvalidAccessException");
        assert!(is_not_subscribed(
            code,
            Some("Account 123456789012 is not subscribed to AWS Security Hub")
        ));
        assert!(!is_not_subscribed(code, Some("not authorized")));
        assert!(!is_not_subscribed(code, None));
        assert!(!is_not_subscribed(
            Some("AccessDeniedException"),
            Some("is not subscribed")
        ));
    }
}
