//! RDS snapshots of one region: the manual DB and DB cluster snapshots the
//! account owns, with who besides the account may restore them.
//!
//! Only manual snapshots are collected: automated ones cannot be shared
//! (AWS requires copying them to a manual snapshot first), so they can
//! never be public. No listing says whether a snapshot is shared: each
//! manual snapshot needs its Describe…SnapshotAttributes (`restore`).

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{RdsSnapshot, ResourceRecord, ResourceType, Sharing};
use aws_sdk_rds::error::ProvideErrorMetadata;
use futures_util::{StreamExt, stream};
use std::collections::BTreeSet;

pub const NAME: &str = "rds_snapshots";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::RdsSnapshot, ResourceType::RdsClusterSnapshot],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "rds:DescribeDBClusterSnapshotAttributes",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBSnapshotAttributes",
    "rds:DescribeDBSnapshots",
    "sts:GetCallerIdentity",
];

/// A listed snapshot: which kind, its identifier, ARN and encryption.
#[derive(Debug, Clone)]
struct Listed {
    kind: Kind,
    identifier: String,
    arn: String,
    source: Option<String>,
    encrypted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Instance,
    Cluster,
}

pub async fn collect(account: &AwsAccount, region: &str, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let rds = crate::counted_client!(aws_sdk_rds, "rds", &account.in_region(region));
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        collect_region(&rds, region, concurrency).await,
    )
}

async fn collect_region(
    rds: &aws_sdk_rds::Client,
    region: &str,
    concurrency: usize,
) -> Result<Vec<ResourceRecord>, String> {
    let mut listed = db_snapshots(rds, None).await?;
    listed.extend(cluster_snapshots(rds, None).await?);
    let records: Vec<Option<ResourceRecord>> = stream::iter(listed)
        .map(|snapshot| snapshot_record(rds, snapshot, region))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    Ok(records.into_iter().flatten().collect())
}

async fn db_snapshots(
    rds: &aws_sdk_rds::Client,
    id: Option<&str>,
) -> Result<Vec<Listed>, String> {
    let mut request = rds.describe_db_snapshots().snapshot_type("manual");
    if let Some(id) = id {
        request = request.db_snapshot_identifier(id);
    }
    let mut pages = request.into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if id.is_some() && e.code() == Some("DBSnapshotNotFound") => break,
            Err(e) => return Err(format!("DescribeDBSnapshots: {}", describe_error(&e))),
        };
        found.extend(page.db_snapshots().iter().filter_map(|s| {
            Some(Listed {
                kind: Kind::Instance,
                identifier: s.db_snapshot_identifier()?.to_string(),
                arn: s.db_snapshot_arn()?.to_string(),
                source: s.db_instance_identifier().map(str::to_string),
                encrypted: s.encrypted().unwrap_or(false),
            })
        }));
    }
    Ok(found)
}

async fn cluster_snapshots(
    rds: &aws_sdk_rds::Client,
    id: Option<&str>,
) -> Result<Vec<Listed>, String> {
    let mut request = rds.describe_db_cluster_snapshots().snapshot_type("manual");
    if let Some(id) = id {
        request = request.db_cluster_snapshot_identifier(id);
    }
    let mut pages = request.into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(e) if id.is_some() && e.code() == Some("DBClusterSnapshotNotFoundFault") => break,
            Err(e) => {
                return Err(format!(
                    "DescribeDBClusterSnapshots: {}",
                    describe_error(&e)
                ));
            }
        };
        found.extend(page.db_cluster_snapshots().iter().filter_map(|s| {
            Some(Listed {
                kind: Kind::Cluster,
                identifier: s.db_cluster_snapshot_identifier()?.to_string(),
                arn: s.db_cluster_snapshot_arn()?.to_string(),
                source: s.db_cluster_identifier().map(str::to_string),
                encrypted: s.storage_encrypted().unwrap_or(false),
            })
        }));
    }
    Ok(found)
}

/// `None` for a snapshot deleted since it was listed.
async fn snapshot_record(
    rds: &aws_sdk_rds::Client,
    snapshot: Listed,
    region: &str,
) -> Option<ResourceRecord> {
    let sharing = match restore_permissions(rds, &snapshot).await {
        Ok(Some(sharing)) => sharing,
        Ok(None) => return None,
        Err(error) => Sharing::Unreadable { error },
    };
    let resource_type = match snapshot.kind {
        Kind::Instance => ResourceType::RdsSnapshot,
        Kind::Cluster => ResourceType::RdsClusterSnapshot,
    };
    let record = RdsSnapshot {
        identifier: snapshot.identifier.clone(),
        arn: snapshot.arn.clone(),
        region: region.to_string(),
        source: snapshot.source,
        encrypted: snapshot.encrypted,
        sharing,
    };
    Some(ResourceRecord {
        arn: snapshot.arn,
        resource_type,
        name: snapshot.identifier,
        region: region.to_string(),
        document: crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise RDS snapshot record: {e}")),
    })
}

/// The `restore` attribute: `all` makes the snapshot public; account ids
/// share it with those accounts. `Ok(None)` when the snapshot is gone.
async fn restore_permissions(
    rds: &aws_sdk_rds::Client,
    snapshot: &Listed,
) -> Result<Option<Sharing>, String> {
    let attributes: Vec<(String, Vec<String>)> = match snapshot.kind {
        Kind::Instance => {
            let answer = rds
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(&snapshot.identifier)
                .send()
                .await;
            match answer {
                Ok(output) => output
                    .db_snapshot_attributes_result()
                    .map(|r| {
                        r.db_snapshot_attributes()
                            .iter()
                            .map(|a| {
                                (
                                    a.attribute_name().unwrap_or_default().to_string(),
                                    a.attribute_values().to_vec(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(e) if e.code() == Some("DBSnapshotNotFound") => return Ok(None),
                Err(e) => {
                    return Err(format!(
                        "DescribeDBSnapshotAttributes: {}",
                        describe_error(&e)
                    ));
                }
            }
        }
        Kind::Cluster => {
            let answer = rds
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(&snapshot.identifier)
                .send()
                .await;
            match answer {
                Ok(output) => output
                    .db_cluster_snapshot_attributes_result()
                    .map(|r| {
                        r.db_cluster_snapshot_attributes()
                            .iter()
                            .map(|a| {
                                (
                                    a.attribute_name().unwrap_or_default().to_string(),
                                    a.attribute_values().to_vec(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(e) if e.code() == Some("DBClusterSnapshotNotFoundFault") => return Ok(None),
                Err(e) => {
                    return Err(format!(
                        "DescribeDBClusterSnapshotAttributes: {}",
                        describe_error(&e)
                    ));
                }
            }
        }
    };
    Ok(Some(sharing_of(&attributes)))
}

fn sharing_of(attributes: &[(String, Vec<String>)]) -> Sharing {
    let restore: BTreeSet<&str> = attributes
        .iter()
        .filter(|(name, _)| name == "restore")
        .flat_map(|(_, values)| values.iter().map(String::as_str))
        .collect();
    if restore.contains("all") {
        Sharing::Public
    } else if restore.is_empty() {
        Sharing::Private
    } else {
        Sharing::Accounts {
            account_ids: restore.into_iter().map(str::to_string).collect(),
        }
    }
}

/// Re-collects one manual snapshot (`arn:…:rds:region:account:snapshot:<id>`
/// or `…:cluster-snapshot:<id>`) with the calls a scan makes for it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "rds", account)?;
    let rds = crate::counted_client!(aws_sdk_rds, "rds", &account.in_region(parsed.region));
    let listed = match parsed.resource.split_once(':') {
        Some(("snapshot", id)) if !id.is_empty() => db_snapshots(&rds, Some(id)).await,
        Some(("cluster-snapshot", id)) if !id.is_empty() => {
            cluster_snapshots(&rds, Some(id)).await
        }
        _ => return Err(not_described(arn, &COLLECTOR)),
    }
    .map_err(|error| format!("{arn}: {error}"))?;
    match listed.into_iter().next() {
        Some(snapshot) => Ok(snapshot_record(&rds, snapshot, parsed.region).await),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restore(values: &[&str]) -> Vec<(String, Vec<String>)> {
        vec![(
            "restore".to_string(),
            values.iter().map(|v| v.to_string()).collect(),
        )]
    }

    #[test]
    fn the_restore_attribute_decides_sharing() {
        assert_eq!(sharing_of(&[]), Sharing::Private);
        assert_eq!(sharing_of(&restore(&[])), Sharing::Private);
        assert_eq!(sharing_of(&restore(&["all"])), Sharing::Public);
        assert_eq!(sharing_of(&restore(&["210987654321", "all"])), Sharing::Public);
        assert_eq!(
            sharing_of(&restore(&["222222222222", "111111111111"])),
            Sharing::Accounts {
                account_ids: vec!["111111111111".into(), "222222222222".into()]
            }
        );
    }
}
