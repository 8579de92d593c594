//! EBS and AMIs in one region: the volumes (encryption at rest), and the
//! snapshots and images the account owns with who else may use them.
//!
//! Public snapshots are found by listing, not by asking each snapshot:
//! DescribeSnapshots with `RestorableByUserIds=all` returns exactly the
//! snapshots everyone may restore. Each one that listing names is then
//! confirmed with DescribeSnapshotAttribute, which also gives the accounts
//! a snapshot is shared with; on AWS that is one call per public snapshot
//! (normally none), never one per snapshot. An emulator that ignores the
//! filter costs a call per snapshot but still gets the right answer.

use super::arn::{Arn, not_described, resource_parts};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{EbsSnapshot, EbsVolume, MachineImage, ResourceRecord, ResourceType, Sharing};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{Image, Snapshot, SnapshotAttributeName, Volume};
use futures_util::{StreamExt, stream};
use std::collections::BTreeSet;

pub const NAME: &str = "ebs";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[
        ResourceType::EbsVolume,
        ResourceType::EbsSnapshot,
        ResourceType::MachineImage,
    ],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeImages",
    "ec2:DescribeSnapshotAttribute",
    "ec2:DescribeSnapshots",
    "ec2:DescribeVolumes",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region));
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        collect_region(&ec2, account, region, concurrency).await,
    )
}

/// `Err` when any listing fails: then nothing may be declared deleted.
async fn collect_region(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    concurrency: usize,
) -> Result<Vec<ResourceRecord>, String> {
    let mut resources = Vec::new();
    for volume in volumes(ec2, None).await? {
        resources.extend(volume_record(&volume, account, region));
    }
    let snapshots = owned_snapshots(ec2, None).await?;
    let snapshots: Vec<Snapshot> = snapshots
        .into_iter()
        .filter(|s| owned_by(s.owner_id(), account))
        .collect();
    let public = public_snapshot_ids(ec2, None).await?;
    let records: Vec<Option<ResourceRecord>> = stream::iter(snapshots)
        .map(|snapshot| snapshot_record(ec2, snapshot, &public, region))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    resources.extend(records.into_iter().flatten());
    for image in owned_images(ec2, None).await? {
        if owned_by(image.owner_id(), account) {
            resources.extend(image_record(&image, region));
        }
    }
    Ok(resources)
}

async fn volumes(
    ec2: &aws_sdk_ec2::Client,
    id: Option<&str>,
) -> Result<Vec<Volume>, String> {
    let mut found = Vec::new();
    let mut request = ec2.describe_volumes();
    request = match id {
        Some(id) => request.volume_ids(id),
        None => request.max_results(500),
    };
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(page.volumes().iter().cloned()),
            Err(e) if id.is_some() && e.code() == Some("InvalidVolume.NotFound") => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(format!("DescribeVolumes: {}", describe_error(&e))),
        }
    }
    Ok(found)
}

async fn owned_snapshots(
    ec2: &aws_sdk_ec2::Client,
    id: Option<&str>,
) -> Result<Vec<Snapshot>, String> {
    let mut found = Vec::new();
    let mut request = ec2.describe_snapshots().owner_ids("self");
    request = match id {
        Some(id) => request.snapshot_ids(id),
        None => request.max_results(1000),
    };
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(page.snapshots().iter().cloned()),
            Err(e) if id.is_some() && e.code() == Some("InvalidSnapshot.NotFound") => {
                return Ok(Vec::new());
            }
            Err(e) => return Err(format!("DescribeSnapshots: {}", describe_error(&e))),
        }
    }
    Ok(found)
}

/// The owned snapshots everyone may restore, as AWS's own filter lists them.
async fn public_snapshot_ids(
    ec2: &aws_sdk_ec2::Client,
    id: Option<&str>,
) -> Result<BTreeSet<String>, String> {
    let mut found = BTreeSet::new();
    let mut request = ec2
        .describe_snapshots()
        .owner_ids("self")
        .restorable_by_user_ids("all");
    request = match id {
        Some(id) => request.snapshot_ids(id),
        None => request.max_results(1000),
    };
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(
                page.snapshots()
                    .iter()
                    .filter_map(|s| s.snapshot_id().map(str::to_string)),
            ),
            // Asked by id, a snapshot that is not public is "not found".
            Err(e) if id.is_some() && e.code() == Some("InvalidSnapshot.NotFound") => {}
            Err(e) => {
                return Err(format!(
                    "DescribeSnapshots (restorable by all): {}",
                    describe_error(&e)
                ));
            }
        }
    }
    Ok(found)
}

async fn owned_images(
    ec2: &aws_sdk_ec2::Client,
    id: Option<&str>,
) -> Result<Vec<Image>, String> {
    let mut found = Vec::new();
    let mut request = ec2.describe_images().owners("self");
    request = match id {
        Some(id) => request.image_ids(id),
        None => request.max_results(1000),
    };
    let mut pages = request.into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => found.extend(page.images().iter().cloned()),
            Err(e)
                if id.is_some()
                    && matches!(e.code(), Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")) =>
            {
                return Ok(Vec::new());
            }
            Err(e) => return Err(format!("DescribeImages: {}", describe_error(&e))),
        }
    }
    Ok(found)
}

/// `owner self` already asks AWS for the account's own; the owner is
/// checked again so that a snapshot or image another account owns is never
/// recorded (and judged) as this account's.
fn owned_by(owner: Option<&str>, account: &AwsAccount) -> bool {
    owner == Some(account.account_id.as_str())
}

fn volume_arn(partition: &str, region: &str, account_id: &str, id: &str) -> String {
    format!("arn:{partition}:ec2:{region}:{account_id}:volume/{id}")
}

/// Snapshot and image ARNs carry no account: their ids are global.
fn accountless_arn(partition: &str, region: &str, kind: &str, id: &str) -> String {
    format!("arn:{partition}:ec2:{region}::{kind}/{id}")
}

fn volume_record(volume: &Volume, account: &AwsAccount, region: &str) -> Option<ResourceRecord> {
    let id = volume.volume_id()?.to_string();
    let partition = crate::model::partition_for_region(region);
    let arn = volume_arn(partition, region, &account.account_id, &id);
    let attached_to: BTreeSet<String> = volume
        .attachments()
        .iter()
        .filter_map(|a| a.instance_id().map(str::to_string))
        .collect();
    let record = EbsVolume {
        volume_id: id.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        encrypted: volume.encrypted().unwrap_or(false),
        kms_key_id: volume.kms_key_id().map(str::to_string),
        state: volume.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        attached_to: attached_to.into_iter().collect(),
    };
    Some(to_record(arn, ResourceType::EbsVolume, id, region, &record))
}

/// `None` for a snapshot deleted since it was listed.
async fn snapshot_record(
    ec2: &aws_sdk_ec2::Client,
    snapshot: Snapshot,
    public_candidates: &BTreeSet<String>,
    region: &str,
) -> Option<ResourceRecord> {
    let id = snapshot.snapshot_id()?.to_string();
    let sharing = if public_candidates.contains(&id) {
        match create_volume_permissions(ec2, &id).await {
            Ok(Some(sharing)) => sharing,
            Ok(None) => return None,
            Err(error) => Sharing::Unreadable { error },
        }
    } else {
        Sharing::Private
    };
    let partition = crate::model::partition_for_region(region);
    let arn = accountless_arn(partition, region, "snapshot", &id);
    let record = EbsSnapshot {
        snapshot_id: id.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        volume_id: snapshot.volume_id().map(str::to_string),
        encrypted: snapshot.encrypted().unwrap_or(false),
        sharing,
    };
    Some(to_record(arn, ResourceType::EbsSnapshot, id, region, &record))
}

/// Who may create volumes from the snapshot; `Ok(None)` when it is gone.
async fn create_volume_permissions(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Option<Sharing>, String> {
    let output = match ec2
        .describe_snapshot_attribute()
        .snapshot_id(id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) if e.code() == Some("InvalidSnapshot.NotFound") => return Ok(None),
        Err(e) => return Err(format!("DescribeSnapshotAttribute: {}", describe_error(&e))),
    };
    let permissions = output.create_volume_permissions();
    if permissions
        .iter()
        .any(|p| p.group().is_some_and(|g| g.as_str() == "all"))
    {
        return Ok(Some(Sharing::Public));
    }
    let accounts: BTreeSet<String> = permissions
        .iter()
        .filter_map(|p| p.user_id().map(str::to_string))
        .collect();
    Ok(Some(if accounts.is_empty() {
        Sharing::Private
    } else {
        Sharing::Accounts {
            account_ids: accounts.into_iter().collect(),
        }
    }))
}

fn image_record(image: &Image, region: &str) -> Option<ResourceRecord> {
    let id = image.image_id()?.to_string();
    let partition = crate::model::partition_for_region(region);
    let arn = accountless_arn(partition, region, "image", &id);
    let record = MachineImage {
        image_id: id.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        name: image.name().map(str::to_string),
        state: image.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        public: image.public().unwrap_or(false),
    };
    let name = record.name.clone().unwrap_or(id);
    Some(to_record(arn, ResourceType::MachineImage, name, region, &record))
}

fn to_record<T: serde::Serialize>(
    arn: String,
    resource_type: ResourceType,
    name: String,
    region: &str,
    record: &T,
) -> ResourceRecord {
    ResourceRecord {
        arn,
        resource_type,
        name,
        region: region.to_string(),
        document: crate::model::Document::of(record)
            .map_err(|e| format!("cannot serialise {} record: {e}", resource_type.label())),
    }
}

/// Re-collects one volume (`arn:…:ec2:region:account:volume/<id>`),
/// snapshot or image (`arn:…:ec2:region::snapshot/<id>`, `…::image/<id>`)
/// with the calls a scan makes for it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::parse(arn)?.of_service(arn, "ec2")?;
    if parsed.region.is_empty() {
        return Err(format!("ARN {arn} names no region"));
    }
    let parsed =
        parsed.in_partition(arn, crate::model::partition_for_region(parsed.region))?;
    let [kind, id] =
        resource_parts::<2>(parsed.resource).ok_or_else(|| not_described(arn, &COLLECTOR))?;
    let region = parsed.region;
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region));
    let with_arn = |reason: String| format!("{arn}: {reason}");
    match kind {
        "volume" => {
            // Volume ARNs carry the account; snapshot and image ids are
            // global, and `owner self` keeps another account's out.
            Arn::regional(arn, "ec2", account)?;
            let found = volumes(&ec2, Some(id)).await.map_err(with_arn)?;
            Ok(found.first().and_then(|v| volume_record(v, account, region)))
        }
        "snapshot" if parsed.account.is_empty() => {
            let Some(snapshot) = owned_snapshots(&ec2, Some(id))
                .await
                .map_err(with_arn)?
                .into_iter()
                .find(|s| owned_by(s.owner_id(), account))
            else {
                return Ok(None);
            };
            let public = public_snapshot_ids(&ec2, Some(id)).await.map_err(with_arn)?;
            Ok(snapshot_record(&ec2, snapshot, &public, region).await)
        }
        "image" if parsed.account.is_empty() => {
            let found = owned_images(&ec2, Some(id)).await.map_err(with_arn)?;
            Ok(found
                .iter()
                .find(|i| owned_by(i.owner_id(), account))
                .and_then(|i| image_record(i, region)))
        }
        _ => Err(not_described(arn, &COLLECTOR)),
    }
}
