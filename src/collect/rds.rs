//! RDS: DB instances and clusters of one region, with the ingress rules of
//! the security groups attached to each instance (for `rds.not_public`).

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use super::network;
use crate::model::{
    ClusterMember, RdsCluster, RdsInstance, ResourceRecord, ResourceType,
    SecurityGroup, partition_for_region,
};
use aws_sdk_rds::types::{DbCluster, DbInstance};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "rds";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "ec2:DescribeSecurityGroups",
    "ec2:GetManagedPrefixListEntries",
    "sts:GetCallerIdentity",
];

/// DescribeSecurityGroups accepts at most 200 values per filter.
const SECURITY_GROUP_BATCH: usize = 200;

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = account.clock.now();
    let config = account.in_region(region);
    let rds = crate::counted_client!(aws_sdk_rds, "rds", &config);
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &config);
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        collect_region(&rds, &ec2, account, region).await,
    )
}

async fn collect_region(
    rds: &aws_sdk_rds::Client,
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
) -> Result<Vec<ResourceRecord>, String> {
    let mut instances = Vec::new();
    let mut pages = rds.describe_db_instances().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeDBInstances: {}", describe_error(&e)))?;
        instances.extend(page.db_instances().iter().cloned());
    }
    let mut clusters = Vec::new();
    let mut pages = rds.describe_db_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeDBClusters: {}", describe_error(&e)))?;
        clusters.extend(page.db_clusters().iter().cloned());
    }

    let groups = security_groups(ec2, &attached_groups(&instances)).await;
    let zones = zones_of(&instances);
    let mut resources: Vec<ResourceRecord> = instances
        .iter()
        .map(|instance| instance_record(instance, &groups, account, region))
        .collect();
    resources.extend(
        clusters
            .iter()
            .map(|cluster| cluster_record(cluster, &zones, account, region)),
    );
    Ok(resources)
}

/// Every security group attached to one of `instances`.
fn attached_groups(instances: &[DbInstance]) -> BTreeSet<String> {
    instances
        .iter()
        .flat_map(|i| i.vpc_security_groups())
        .filter_map(|m| m.vpc_security_group_id().map(str::to_string))
        .collect()
}

/// Each instance's availability zone, by identifier: where cluster
/// members run.
fn zones_of(instances: &[DbInstance]) -> BTreeMap<String, Option<String>> {
    instances
        .iter()
        .map(|i| {
            (
                i.db_instance_identifier().unwrap_or_default().to_string(),
                i.availability_zone().map(str::to_string),
            )
        })
        .collect()
}

/// One instance's record, with its security groups resolved from `groups`
/// (failing with them when they could not be read).
fn instance_record(
    instance: &DbInstance,
    groups: &Result<BTreeMap<String, SecurityGroup>, String>,
    account: &AwsAccount,
    region: &str,
) -> ResourceRecord {
    let partition = partition_for_region(region);
    let identifier = instance
        .db_instance_identifier()
        .unwrap_or_default()
        .to_string();
    let arn = instance
        .db_instance_arn()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "arn:{partition}:rds:{region}:{}:db:{identifier}",
                account.account_id
            )
        });
    let engine = instance.engine().unwrap_or_default().to_string();
    // Sorted: the order RDS lists them in means nothing.
    let mut attached: Vec<&str> = instance
        .vpc_security_groups()
        .iter()
        .filter_map(|m| m.vpc_security_group_id())
        .collect();
    attached.sort_unstable();
    attached.dedup();
    let document = match groups {
        Err(error) => Err(format!("security groups {}: {error}", attached.join(", "))),
        Ok(groups) => {
            let record = RdsInstance {
                identifier: identifier.clone(),
                arn: arn.clone(),
                region: region.to_string(),
                port: instance
                    .endpoint()
                    .and_then(|e| e.port())
                    .or(instance.db_instance_port().filter(|p| *p > 0))
                    .or_else(|| default_port(&engine)),
                engine,
                engine_version: instance.engine_version().map(str::to_string),
                instance_class: instance.db_instance_class().map(str::to_string),
                auto_minor_version_upgrade: instance.auto_minor_version_upgrade().unwrap_or(false),
                deletion_protection: instance.deletion_protection().unwrap_or(false),
                cluster_identifier: instance.db_cluster_identifier().map(str::to_string),
                multi_az: instance.multi_az().unwrap_or(false),
                publicly_accessible: instance.publicly_accessible().unwrap_or(false),
                storage_encrypted: instance.storage_encrypted().unwrap_or(false),
                kms_key_id: instance.kms_key_id().map(str::to_string),
                backup_retention_days: instance.backup_retention_period().unwrap_or(0),
                // A group listed on the instance but not returned by EC2
                // is recorded without rules: it admits nothing.
                security_groups: attached
                    .iter()
                    .map(|id| {
                        groups.get(*id).cloned().unwrap_or_else(|| SecurityGroup {
                            id: id.to_string(),
                            ..SecurityGroup::default()
                        })
                    })
                    .collect(),
            };
            crate::model::Document::of(&record)
                .map_err(|e| format!("cannot serialise instance record: {e}"))
        }
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::RdsInstance,
        name: identifier,
        region: region.to_string(),
        document,
    }
}

/// A cluster's members by identifier (RDS lists them in no set order).
fn cluster_members(
    cluster: &aws_sdk_rds::types::DbCluster,
    zones: &BTreeMap<String, Option<String>>,
) -> Vec<ClusterMember> {
    let mut members: Vec<ClusterMember> = cluster
        .db_cluster_members()
        .iter()
        .map(|m| {
            let id = m.db_instance_identifier().unwrap_or_default().to_string();
            ClusterMember {
                availability_zone: zones.get(&id).cloned().flatten(),
                writer: m.is_cluster_writer().unwrap_or(false),
                identifier: id,
            }
        })
        .collect();
    members.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    members
}

/// One cluster's record, its members' zones looked up in `zones`.
fn cluster_record(
    cluster: &DbCluster,
    zones: &BTreeMap<String, Option<String>>,
    account: &AwsAccount,
    region: &str,
) -> ResourceRecord {
    let partition = partition_for_region(region);
    let identifier = cluster
        .db_cluster_identifier()
        .unwrap_or_default()
        .to_string();
    let arn = cluster
        .db_cluster_arn()
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "arn:{partition}:rds:{region}:{}:cluster:{identifier}",
                account.account_id
            )
        });
    let record = RdsCluster {
        identifier: identifier.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        engine: cluster.engine().unwrap_or_default().to_string(),
        multi_az: cluster.multi_az().unwrap_or(false),
        deletion_protection: cluster.deletion_protection().unwrap_or(false),
        storage_encrypted: cluster.storage_encrypted().unwrap_or(false),
        kms_key_id: cluster.kms_key_id().map(str::to_string),
        backup_retention_days: cluster.backup_retention_period().unwrap_or(0),
        members: cluster_members(cluster, zones),
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::RdsCluster,
        name: identifier,
        region: region.to_string(),
        document: crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise cluster record: {e}")),
    }
}

/// Re-collects one instance (`arn:…:rds:region:account:db:id`) or cluster
/// (`…:cluster:id`) with the calls a scan makes for it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "rds", account)?;
    let config = account.in_region(parsed.region);
    let rds = crate::counted_client!(aws_sdk_rds, "rds", &config);
    let described = match parsed.resource.split_once(':') {
        Some(("db", id)) if !id.is_empty() && !id.contains(':') => {
            let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &config);
            describe_instance(&rds, &ec2, account, parsed.region, id).await
        }
        Some(("cluster", id)) if !id.is_empty() && !id.contains(':') => {
            describe_cluster(&rds, account, parsed.region, id).await
        }
        _ => return Err(not_described(arn, &COLLECTOR)),
    };
    described.map_err(|error| format!("{arn}: {error}"))
}

/// DescribeDBInstances for one identifier, then its security groups.
async fn describe_instance(
    rds: &aws_sdk_rds::Client,
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let instance = match rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(output) => output.db_instances().first().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_instance_not_found_fault()) =>
        {
            None
        }
        Err(e) => return Err(format!("DescribeDBInstances: {}", describe_error(&e))),
    };
    let Some(instance) = instance else {
        return Ok(None);
    };
    let instances = [instance];
    let groups = security_groups(ec2, &attached_groups(&instances)).await;
    Ok(Some(instance_record(
        &instances[0],
        &groups,
        account,
        region,
    )))
}

/// DescribeDBClusters for one identifier, then its members' zones (a scan
/// reads them from its instance listing).
async fn describe_cluster(
    rds: &aws_sdk_rds::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let cluster = match rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
    {
        Ok(output) => output.db_clusters().first().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_db_cluster_not_found_fault()) =>
        {
            None
        }
        Err(e) => return Err(format!("DescribeDBClusters: {}", describe_error(&e))),
    };
    let Some(cluster) = cluster else {
        return Ok(None);
    };
    let members: Vec<String> = cluster
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier().map(str::to_string))
        .collect();
    Ok(Some(match member_instances(rds, members).await {
        Ok(instances) => cluster_record(&cluster, &zones_of(&instances), account, region),
        Err(error) => ResourceRecord {
            document: Err(error),
            ..cluster_record(&cluster, &BTreeMap::new(), account, region)
        },
    }))
}

/// The instances named `identifiers` (a cluster has at most 16 members,
/// well within one filter); no call for none.
async fn member_instances(
    rds: &aws_sdk_rds::Client,
    identifiers: Vec<String>,
) -> Result<Vec<DbInstance>, String> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let filter = aws_sdk_rds::types::Filter::builder()
        .name("db-instance-id")
        .set_values(Some(identifiers))
        .build();
    let mut instances = Vec::new();
    let mut pages = rds
        .describe_db_instances()
        .filters(filter)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeDBInstances: {}", describe_error(&e)))?;
        instances.extend(page.db_instances().iter().cloned());
    }
    Ok(instances)
}

/// The groups `ids`, their ingress rules with referenced prefix lists
/// resolved (each list read once).
async fn security_groups(
    ec2: &aws_sdk_ec2::Client,
    ids: &BTreeSet<String>,
) -> Result<BTreeMap<String, SecurityGroup>, String> {
    let mut found = Vec::new();
    let ids: Vec<&String> = ids.iter().collect();
    for batch in ids.chunks(SECURITY_GROUP_BATCH) {
        let filter = aws_sdk_ec2::types::Filter::builder()
            .name("group-id")
            .set_values(Some(batch.iter().map(|s| s.to_string()).collect()))
            .build();
        let mut pages = ec2
            .describe_security_groups()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| format!("DescribeSecurityGroups: {}", describe_error(&e)))?;
            found.extend(page.security_groups().iter().cloned());
        }
    }
    let lists = network::prefix_lists(ec2, &network::ingress_prefix_lists(&found)).await;
    Ok(found
        .iter()
        .filter_map(|group| {
            let id = group.group_id()?.to_string();
            let record = SecurityGroup {
                id: id.clone(),
                name: group.group_name().map(str::to_string),
                ingress: network::rules(group.ip_permissions(), &lists),
            };
            Some((id, record))
        })
        .collect())
}

fn default_port(engine: &str) -> Option<i32> {
    if engine.contains("postgres") {
        Some(5432)
    } else if engine.contains("mysql") || engine.contains("mariadb") {
        Some(3306)
    } else if engine.starts_with("oracle") {
        Some(1521)
    } else if engine.starts_with("sqlserver") {
        Some(1433)
    } else {
        None
    }
}
