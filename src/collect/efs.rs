//! EFS: every file system of one region with its encryption at rest.
//! DescribeFileSystems answers everything the controls need; nothing is
//! asked per file system.

use super::arn::{Arn, not_described, resource_parts};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{EfsFileSystem, ResourceRecord, ResourceType, partition_for_region};
use aws_sdk_efs::error::ProvideErrorMetadata;
use aws_sdk_efs::types::FileSystemDescription;

pub const NAME: &str = "efs";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::EfsFileSystem],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &["elasticfilesystem:DescribeFileSystems", "sts:GetCallerIdentity"];

fn client(account: &AwsAccount, region: &str) -> aws_sdk_efs::Client {
    crate::counted_client!(aws_sdk_efs, "efs", &account.in_region(region))
}

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = account.clock.now();
    let result = file_systems(&client(account, region), None).await.map(|found| {
        found
            .iter()
            .filter_map(|fs| record(fs, account, region))
            .collect()
    });
    Collection::finish(NAME, region, started_at, &account.clock, result)
}

/// The region's file systems, or the one named `id` (none when it is gone).
async fn file_systems(
    efs: &aws_sdk_efs::Client,
    id: Option<&str>,
) -> Result<Vec<FileSystemDescription>, String> {
    // AWS's default page is 100; say so, for emulators that default to 10.
    let mut pages = efs
        .describe_file_systems()
        .set_file_system_id(id.map(str::to_string))
        .set_max_items(id.is_none().then_some(100))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(page.file_systems().iter().cloned()),
            Err(e) if id.is_some() && e.code() == Some("FileSystemNotFound") => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(format!("DescribeFileSystems: {}", describe_error(&e))),
        }
    }
    Ok(found)
}

/// `None` for a file system already deleted (AWS lists it for a while).
fn record(fs: &FileSystemDescription, account: &AwsAccount, region: &str) -> Option<ResourceRecord> {
    let state = fs.life_cycle_state().as_str().to_string();
    if state == "deleted" {
        return None;
    }
    let id = fs.file_system_id().to_string();
    let arn = fs
        .file_system_arn()
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| file_system_arn(partition_for_region(region), region, &account.account_id, &id));
    let record = EfsFileSystem {
        file_system_id: id.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        name: fs.name().map(str::to_string),
        encrypted: fs.encrypted().unwrap_or(false),
        kms_key_id: fs.kms_key_id().map(str::to_string),
        life_cycle_state: state,
    };
    Some(ResourceRecord {
        arn,
        resource_type: ResourceType::EfsFileSystem,
        name: fs.name().map(str::to_string).unwrap_or_else(|| id.clone()),
        region: region.to_string(),
        document: crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise EFS file system record: {e}")),
    })
}

fn file_system_arn(partition: &str, region: &str, account: &str, id: &str) -> String {
    format!("arn:{partition}:elasticfilesystem:{region}:{account}:file-system/{id}")
}

/// Re-collects one file system
/// (`arn:…:elasticfilesystem:<region>:<account>:file-system/<id>`).
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "elasticfilesystem", account)?;
    let parsed = parsed.in_partition(arn, partition_for_region(parsed.region))?;
    let [kind, id] =
        resource_parts::<2>(parsed.resource).ok_or_else(|| not_described(arn, &COLLECTOR))?;
    if kind != "file-system" {
        return Err(not_described(arn, &COLLECTOR));
    }
    let region = parsed.region;
    let found = file_systems(&client(account, region), Some(id))
        .await
        .map_err(|e| format!("{arn}: {e}"))?;
    Ok(found.first().and_then(|fs| record(fs, account, region)))
}
