//! KMS: the keys of one region, with their rotation where their owner
//! chooses it.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{KeyRotation, KmsKey, ResourceRecord, ResourceType};
use aws_sdk_kms::types::KeyMetadata;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::DateTimeFormat;
use futures_util::{StreamExt, stream};

pub const NAME: &str = "kms";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::KmsKey],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "kms:DescribeKey",
    "kms:GetKeyRotationStatus",
    "kms:ListKeys",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let kms = crate::counted_client!(aws_sdk_kms, "kms", &account.in_region(region));
    Collection::finish(NAME, region, started_at, &account.clock, keys(&kms, region, concurrency).await)
}

async fn keys(
    kms: &aws_sdk_kms::Client,
    region: &str,
    concurrency: usize,
) -> Result<Vec<ResourceRecord>, String> {
    let mut keys = Vec::new();
    let mut pages = kms.list_keys().limit(1000).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListKeys: {}", describe_error(&e)))?;
        keys.extend(
            page.keys()
                .iter()
                .filter_map(|k| Some((k.key_id()?.to_string(), k.key_arn()?.to_string()))),
        );
    }
    // ListKeys has no attributes: each key needs its DescribeKey.
    let resources: Vec<Option<ResourceRecord>> = stream::iter(keys)
        .map(|(key_id, arn)| key_record(kms, region, key_id, arn))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    Ok(resources.into_iter().flatten().collect())
}

/// `None` for a key deleted since it was listed.
async fn key_record(
    kms: &aws_sdk_kms::Client,
    region: &str,
    key_id: String,
    arn: String,
) -> Option<ResourceRecord> {
    let metadata = describe_key(kms, &key_id).await.transpose()?;
    Some(record(kms, region, key_id, arn, metadata).await)
}

/// DescribeKey: `Ok(None)` when KMS says there is no such key.
async fn describe_key(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
) -> Result<Option<KeyMetadata>, String> {
    match kms.describe_key().key_id(key_id).send().await {
        Ok(output) => output
            .key_metadata
            .map(Some)
            .ok_or_else(|| "DescribeKey: no key metadata in the answer".to_string()),
        Err(e) if e.code() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(format!("DescribeKey: {}", describe_error(&e))),
    }
}

async fn record(
    kms: &aws_sdk_kms::Client,
    region: &str,
    key_id: String,
    arn: String,
    metadata: Result<KeyMetadata, String>,
) -> ResourceRecord {
    let document = match metadata {
        Ok(metadata) => crate::model::Document::of(&key(kms, region, &metadata).await)
            .map_err(|e| format!("cannot serialise KMS key record: {e}")),
        Err(reason) => Err(reason),
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::KmsKey,
        name: key_id,
        region: region.to_string(),
        document,
    }
}

async fn key(kms: &aws_sdk_kms::Client, region: &str, metadata: &KeyMetadata) -> KmsKey {
    let text = |value: Option<&str>| value.unwrap_or("").to_string();
    let mut key = KmsKey {
        key_id: metadata.key_id().to_string(),
        arn: text(metadata.arn()),
        region: region.to_string(),
        manager: text(metadata.key_manager().map(|m| m.as_str())),
        spec: text(metadata.key_spec().map(|s| s.as_str())),
        usage: text(metadata.key_usage().map(|u| u.as_str())),
        origin: text(metadata.origin().map(|o| o.as_str())),
        state: text(metadata.key_state().map(|s| s.as_str())),
        deletion_date: metadata
            .deletion_date()
            .and_then(|at| at.fmt(DateTimeFormat::DateTime).ok()),
        multi_region: metadata
            .multi_region_configuration()
            .and_then(|c| c.multi_region_key_type())
            .map(|t| t.as_str().to_string()),
        rotation: KeyRotation::NotApplicable,
    };
    if key.has_optional_rotation() {
        key.rotation = rotation(kms, &key.key_id).await;
    }
    key
}

async fn rotation(kms: &aws_sdk_kms::Client, key_id: &str) -> KeyRotation {
    match kms.get_key_rotation_status().key_id(key_id).send().await {
        Ok(status) if status.key_rotation_enabled() => KeyRotation::Enabled {
            period_days: status.rotation_period_in_days(),
        },
        Ok(_) => KeyRotation::Disabled,
        Err(e) => KeyRotation::Unreadable {
            reason: format!("GetKeyRotationStatus: {}", describe_error(&e)),
        },
    }
}

/// Re-collects one key (`arn:…:kms:region:account:key/<key id>`) as a scan
/// reads it: DescribeKey, then its rotation where it has one to read.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "kms", account)?;
    let key_id = parsed
        .resource
        .strip_prefix("key/")
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| not_described(arn, &COLLECTOR))?;
    let kms = crate::counted_client!(aws_sdk_kms, "kms", &account.in_region(parsed.region));
    let Some(metadata) = describe_key(&kms, key_id)
        .await
        .map_err(|reason| format!("{arn}: {reason}"))?
    else {
        return Ok(None);
    };
    let record = record(&kms, parsed.region, key_id.to_string(), arn.to_string(), Ok(metadata));
    Ok(Some(record.await))
}
