//! The account itself: one resource per account for the settings AWS
//! keeps once per account: which multi-region trails record it, and its S3
//! Block Public Access, and what watches each trail's CloudWatch Logs group
//! (metric filters, alarms, SNS subscribers).

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, GLOBAL_SCOPE};
use crate::model::{Account, ResourceRecord, ResourceType, account_arn, partition_for_region};

pub const NAME: &str = "account";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::AccountWide,
    resource_types: &[ResourceType::Account],
    iam_actions: IAM_ACTIONS,
    collect: |account, _region, _concurrency| Box::pin(collect(account)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "cloudwatch:DescribeAlarms",
    "logs:DescribeMetricFilters",
    "s3:GetAccountPublicAccessBlock",
    "sns:ListSubscriptionsByTopic",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount) -> Collection {
    let started_at = account.clock.now();
    Collection::finish(
        NAME,
        GLOBAL_SCOPE,
        started_at,
        &account.clock,
        Ok(vec![record(account).await]),
    )
}

/// The account resource is the whole of its scope: describing it is
/// collecting it (`arn:<partition>:account::<id>:account`).
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::parse(arn)?.of_service(arn, "account")?;
    if !parsed.region.is_empty() || parsed.resource != "account" {
        return Err(not_described(arn, &COLLECTOR));
    }
    if parsed.account != account.account_id {
        return Err(format!(
            "ARN {arn} belongs to account {:?}, not to {} ({})",
            parsed.account, account.account_id, account.name
        ));
    }
    let record = record(account).await;
    if record.arn != arn {
        return Err(format!("ARN {arn} is not in this account's partition"));
    }
    Ok(Some(record))
}

async fn record(account: &AwsAccount) -> ResourceRecord {
    let home = super::s3::home_region(account);
    let arn = account_arn(partition_for_region(&home), &account.account_id);
    let (trails, s3_public_access_block) = tokio::join!(
        super::cloudtrail::multi_region_trails(account, &home),
        super::s3::account_public_access_block(account, &home),
    );
    let document = trails.and_then(|multi_region_trails| {
            let record = Account {
                account_id: account.account_id.clone(),
                arn: arn.clone(),
                multi_region_trails,
                s3_public_access_block,
            };
            crate::model::Document::of(&record)
                .map_err(|e| format!("cannot serialise account record: {e}"))
        });
    ResourceRecord {
        arn,
        resource_type: ResourceType::Account,
        name: account.name.clone(),
        region: GLOBAL_SCOPE.to_string(),
        document,
    }
}
