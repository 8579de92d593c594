//! The account in one region: the settings AWS keeps per account and
//! region (today: EBS encryption by default), and whether the account has
//! the region enabled at all. A region the account has not opted in to is
//! recorded as not enabled, which is a state, not a failed collection.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    AccountRegion, ResourceRecord, ResourceType, account_region_arn, partition_for_region,
};
use chrono::Utc;

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
    "ec2:DescribeRegions",
    "ec2:GetEbsEncryptionByDefault",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = Utc::now();
    Collection::finish(
        NAME,
        region,
        started_at,
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
            serde_json::to_value(&r).map_err(|e| format!("cannot serialise account region: {e}"))
        }),
    }
}

async fn describe(account: &AwsAccount, region: &str) -> Result<AccountRegion, String> {
    let opt_in_status = opt_in_status(account, region).await?;
    let enabled = opt_in_status != "not-opted-in";
    let ebs_encryption_by_default = if enabled {
        let output = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region))
            .get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| format!("GetEbsEncryptionByDefault: {}", describe_error(&e)))?;
        Some(output.ebs_encryption_by_default().unwrap_or(false))
    } else {
        None
    };
    Ok(AccountRegion {
        account_id: account.account_id.clone(),
        region: region.to_string(),
        opt_in_status,
        enabled,
        ebs_encryption_by_default,
    })
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
