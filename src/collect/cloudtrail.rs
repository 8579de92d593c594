//! CloudTrail: the trails homed in one region (each recorded once, in its
//! home region, by the account that owns it), with their status and the
//! exposure and logging of the bucket they deliver to; and, for the
//! account resource, the multi-region trails that record the account.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    AccessLogging, AdvancedSelector, ClassicSelector, CloudWatchDelivery, DataResource, EventSelectors,
    FieldSelector, MultiRegionTrail, ResourceRecord, ResourceType, Trail, TrailBucket,
    TrailBucketState, TrailStatus,
};
use aws_sdk_cloudtrail::types::Trail as SdkTrail;
use aws_sdk_s3::error::ProvideErrorMetadata;

pub const NAME: &str = "cloudtrail";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::CloudTrailTrail],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "s3:GetBucketLocation",
    "s3:GetBucketAcl",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketLogging",
    "s3:GetAccountPublicAccessBlock",
    "sts:GetCallerIdentity",
];

/// A CloudWatch Logs delivery older than this is stale (CIS: "a recent
/// (~one day old) timestamp"; AWS Config's default window).
const DELIVERY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

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

fn client(account: &AwsAccount, region: &str) -> aws_sdk_cloudtrail::Client {
    crate::counted_client!(aws_sdk_cloudtrail, "cloudtrail", &account.in_region(region))
}

/// Every trail visible from `region`, shadows included (a member account
/// sees its organization's trails only that way).
async fn describe_trails(account: &AwsAccount, region: &str) -> Result<Vec<SdkTrail>, String> {
    client(account, region)
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map(|output| output.trail_list().to_vec())
        .map_err(|e| format!("DescribeTrails: {}", describe_error(&e)))
}

async fn collect_region(account: &AwsAccount, region: &str) -> Result<Vec<ResourceRecord>, String> {
    let trails = describe_trails(account, region).await?;
    let owned: Vec<&SdkTrail> = trails
        .iter()
        .filter(|t| owned_here(t, account, region))
        .collect();
    if owned.is_empty() {
        // Most regions home no trail: no bucket to judge, no account-level
        // block to read.
        return Ok(Vec::new());
    }
    let account_block = super::s3::account_public_access_block(account, region).await;
    let mut records = Vec::new();
    for trail in owned {
        records.push(trail_record(account, region, trail, &account_block).await);
    }
    Ok(records)
}

/// One trail by ARN (`arn:<partition>:cloudtrail:<home>:<id>:trail/<name>`),
/// with the same calls a scan makes for it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "cloudtrail", account)?;
    if parsed
        .resource
        .strip_prefix("trail/")
        .is_none_or(str::is_empty)
    {
        return Err(not_described(arn, &COLLECTOR));
    }
    let output = client(account, parsed.region)
        .describe_trails()
        .trail_name_list(arn)
        .include_shadow_trails(false)
        .send()
        .await;
    let trails = match output {
        Ok(output) => output.trail_list().to_vec(),
        Err(e) if e.code() == Some("TrailNotFoundException") => return Ok(None),
        Err(e) => return Err(format!("{arn}: DescribeTrails: {}", describe_error(&e))),
    };
    // An emulator may answer with every trail: pick this one.
    let Some(trail) = trails.iter().find(|t| t.trail_arn() == Some(arn)) else {
        return Ok(None);
    };
    let account_block = super::s3::account_public_access_block(account, parsed.region).await;
    Ok(Some(
        trail_record(account, parsed.region, trail, &account_block).await,
    ))
}

/// A trail is recorded by the account that owns it, in its home region:
/// shadows (its copies in other regions and in member accounts) are the
/// same trail.
fn owned_here(trail: &SdkTrail, account: &AwsAccount, region: &str) -> bool {
    let arn = trail.trail_arn().unwrap_or_default();
    let owner = arn.split(':').nth(4).unwrap_or_default();
    trail.home_region() == Some(region) && owner == account.account_id
}

/// A failing describe of one trail fails that trail alone (its controls
/// are unknown), as a failing bucket does in the S3 collector.
async fn trail_record(
    account: &AwsAccount,
    region: &str,
    trail: &SdkTrail,
    account_block: &crate::model::AccountPublicAccessBlock,
) -> ResourceRecord {
    let arn = trail.trail_arn().unwrap_or_default().to_string();
    let name = trail.name().unwrap_or_default().to_string();
    let document = describe_trail(account, region, trail, account_block)
        .await
        .and_then(|record| {
            crate::model::Document::of(&record).map_err(|e| format!("cannot serialise trail record: {e}"))
        });
    ResourceRecord {
        arn,
        resource_type: ResourceType::CloudTrailTrail,
        name,
        region: region.to_string(),
        document,
    }
}

async fn describe_trail(
    account: &AwsAccount,
    region: &str,
    trail: &SdkTrail,
    account_block: &crate::model::AccountPublicAccessBlock,
) -> Result<Trail, String> {
    let arn = trail.trail_arn().unwrap_or_default().to_string();
    let status = trail_status(account, region, &arn).await?;
    let bucket_name = trail.s3_bucket_name().unwrap_or_default().to_string();
    let bucket = TrailBucket {
        state: trail_bucket(account, &bucket_name, account_block).await?,
        name: bucket_name,
    };
    Ok(Trail {
        name: trail.name().unwrap_or_default().to_string(),
        arn,
        home_region: region.to_string(),
        multi_region: trail.is_multi_region_trail().unwrap_or(false),
        organization_trail: trail.is_organization_trail().unwrap_or(false),
        log_file_validation: trail.log_file_validation_enabled().unwrap_or(false),
        kms_key_id: non_empty(trail.kms_key_id()),
        cloudwatch_logs_log_group_arn: non_empty(trail.cloud_watch_logs_log_group_arn()),
        status,
        bucket,
    })
}

/// `None` for an absent or empty value (an emulator echoes `""` for a
/// setting that was cleared).
fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_string)
}

async fn trail_status(account: &AwsAccount, home: &str, arn: &str) -> Result<TrailStatus, String> {
    let status = client(account, home)
        .get_trail_status()
        .name(arn)
        .send()
        .await
        .map_err(|e| format!("GetTrailStatus: {}", describe_error(&e)))?;
    let cloudwatch_delivery = match status.latest_cloud_watch_logs_delivery_time() {
        None => CloudWatchDelivery::Never,
        Some(at) => {
            let age = account.clock.now().timestamp() - at.secs();
            if age <= DELIVERY_WINDOW.num_seconds() {
                CloudWatchDelivery::WithinLastDay
            } else {
                CloudWatchDelivery::OlderThanADay
            }
        }
    };
    Ok(TrailStatus {
        is_logging: status.is_logging().unwrap_or(false),
        cloudwatch_delivery,
        cloudwatch_delivery_error: non_empty(status.latest_cloud_watch_logs_delivery_error()),
    })
}

/// What the trail's bucket exposes and whether its access is logged. A
/// bucket in another account (the usual log-archive setup) or unreadable
/// is recorded as such: its controls are then `unknown`, never pass.
async fn trail_bucket(
    account: &AwsAccount,
    bucket: &str,
    account_block: &crate::model::AccountPublicAccessBlock,
) -> Result<TrailBucketState, String> {
    match read_trail_bucket(account, bucket, account_block).await {
        Ok(state) => Ok(state),
        // Refused or absent is what the bucket is to this account: a state
        // to record. Anything else (throttling, a 500) fails the trail's
        // describe, so a passing outage is not recorded as drift.
        Err(BucketError::Refused(error)) => Ok(TrailBucketState::Unreadable { error }),
        Err(BucketError::Failed(error)) => Err(error),
    }
}

enum BucketError {
    Refused(String),
    Failed(String),
}

async fn read_trail_bucket(
    account: &AwsAccount,
    bucket: &str,
    account_block: &crate::model::AccountPublicAccessBlock,
) -> Result<TrailBucketState, BucketError> {
    let home = super::s3::client_in(account, &super::s3::home_region(account));
    let location = home
        .get_bucket_location()
        .bucket(bucket)
        .expected_bucket_owner(&account.account_id)
        .send()
        .await
        .map_err(|e| bucket_error("GetBucketLocation", bucket, &e))?;
    let region = super::s3::location_to_region(
        location
            .location_constraint()
            .map(|c| c.as_str())
            .unwrap_or_default(),
    );
    let client = super::s3::client_in(account, &region);
    let owner = account.account_id.as_str();
    let (acl, policy, block, logging) = tokio::join!(
        client
            .get_bucket_acl()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send(),
        client
            .get_bucket_policy()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send(),
        client
            .get_public_access_block()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send(),
        client
            .get_bucket_logging()
            .bucket(bucket)
            .expected_bucket_owner(owner)
            .send(),
    );
    let acl = acl.map_err(|e| bucket_error("GetBucketAcl", bucket, &e))?;
    let public_acl_grants = acl
        .grants()
        .iter()
        .filter_map(|g| g.grantee()?.uri().map(|uri| (uri, g.permission())))
        .filter(|(uri, _)| {
            uri.ends_with("/global/AllUsers") || uri.ends_with("/global/AuthenticatedUsers")
        })
        .map(|(uri, permission)| {
            let group = uri.rsplit('/').next().unwrap_or(uri);
            let permission = permission.map(|p| p.as_str()).unwrap_or("?");
            format!("{group}: {permission}")
        })
        .collect();
    let policy = match policy {
        Ok(output) => output.policy().map(super::s3::policy_document),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(bucket_error("GetBucketPolicy", bucket, &e)),
    };
    let public_access_block = match block {
        Ok(output) => output
            .public_access_block_configuration()
            .map(super::s3::block_settings),
        Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => None,
        Err(e) => return Err(bucket_error("GetPublicAccessBlock", bucket, &e)),
    };
    let logging = logging
        .map_err(|e| bucket_error("GetBucketLogging", bucket, &e))?
        .logging_enabled()
        .map(|l| AccessLogging {
            target_bucket: l.target_bucket().to_string(),
            target_prefix: l.target_prefix().to_string(),
        });
    Ok(TrailBucketState::Read {
        public_acl_grants,
        policy,
        public_access_block,
        account_public_access_block: account_block.clone(),
        logging,
    })
}

fn bucket_error<E, R>(
    operation: &str,
    bucket: &str,
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> BucketError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = describe_error(e);
    match e.code() {
        Some("AccessDenied") => BucketError::Refused(format!(
            "bucket {bucket} is in another account or not readable with these credentials ({operation}: {detail})"
        )),
        Some("NoSuchBucket") => BucketError::Refused(format!(
            "bucket {bucket} does not exist ({operation}: {detail})"
        )),
        _ => BucketError::Failed(format!("bucket {bucket}: {operation}: {detail}")),
    }
}

/// The multi-region trails recording the account, for the account
/// resource: read from one region (a multi-region trail shows in every
/// region), each trail's status and selectors asked in its home region.
///
/// A failure reading a trail the account owns fails the account's describe
/// (transient, not state); for an organization trail another account owns,
/// a refusal is what the member can see, and is recorded.
pub async fn multi_region_trails(
    account: &AwsAccount,
    home_region: &str,
) -> Result<Vec<MultiRegionTrail>, String> {
    let trails = describe_trails(account, home_region).await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut multi_region = Vec::new();
    for trail in trails
        .iter()
        .filter(|t| t.is_multi_region_trail() == Some(true))
    {
        let arn = trail.trail_arn().unwrap_or_default().to_string();
        if !seen.insert(arn.clone()) {
            continue;
        }
        let home = trail.home_region().unwrap_or(home_region).to_string();
        let (status, selectors) = tokio::join!(
            trail_status(account, &home, &arn),
            event_selectors(account, &home, &arn)
        );
        let error = [status.as_ref().err(), selectors.as_ref().err()]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>();
        let owner = arn.split(':').nth(4).unwrap_or_default();
        if !error.is_empty() && owner == account.account_id {
            return Err(format!("trail {arn}: {}", error.join("; ")));
        }
        let log_group_arn = non_empty(trail.cloud_watch_logs_log_group_arn());
        let log_monitoring = match &log_group_arn {
            Some(group) => Some(super::log_monitoring::log_monitoring(account, group).await),
            None => None,
        };
        multi_region.push(MultiRegionTrail {
            log_group_arn,
            log_monitoring,
            name: trail.name().unwrap_or_default().to_string(),
            home_region: home,
            organization_trail: trail.is_organization_trail().unwrap_or(false),
            is_logging: status.ok().map(|s| s.is_logging),
            event_selectors: selectors.ok(),
            error: (!error.is_empty()).then(|| error.join("; ")),
            arn,
        });
    }
    multi_region.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(multi_region)
}

async fn event_selectors(
    account: &AwsAccount,
    home: &str,
    arn: &str,
) -> Result<EventSelectors, String> {
    let output = client(account, home)
        .get_event_selectors()
        .trail_name(arn)
        .send()
        .await
        .map_err(|e| format!("GetEventSelectors: {}", describe_error(&e)))?;
    let classic = output
        .event_selectors()
        .iter()
        .map(|s| ClassicSelector {
            read_write_type: s.read_write_type().map(|t| t.as_str().to_string()),
            include_management_events: s.include_management_events(),
            exclude_management_event_sources: s.exclude_management_event_sources().to_vec(),
            data_resources: s
                .data_resources()
                .iter()
                .map(|d| DataResource {
                    resource_type: d.r#type().unwrap_or_default().to_string(),
                    values: d.values().to_vec(),
                })
                .collect(),
        })
        .collect();
    let advanced = output
        .advanced_event_selectors()
        .iter()
        .map(|s| AdvancedSelector {
            name: s.name().map(str::to_string),
            field_selectors: s
                .field_selectors()
                .iter()
                .map(|f| FieldSelector {
                    field: f.field().to_string(),
                    equals: f.equals().to_vec(),
                    not_equals: f.not_equals().to_vec(),
                    starts_with: f.starts_with().to_vec(),
                    not_starts_with: f.not_starts_with().to_vec(),
                    ends_with: f.ends_with().to_vec(),
                    not_ends_with: f.not_ends_with().to_vec(),
                })
                .collect(),
        })
        .collect();
    Ok(EventSelectors { classic, advanced })
}
