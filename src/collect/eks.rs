//! EKS: clusters of one region with endpoint exposure and control-plane
//! logging.

use super::{AwsAccount, Collection, describe_error};
use crate::model::{EksCluster, ResourceRecord, ResourceType, partition_for_region};
use chrono::Utc;

pub const COLLECTOR: &str = "eks";

pub const IAM_ACTIONS: &[&str] = &[
    "eks:ListClusters",
    "eks:DescribeCluster",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = Utc::now();
    let eks = aws_sdk_eks::Client::new(&account.in_region(region));
    Collection::finish(
        COLLECTOR,
        region,
        started_at,
        clusters(&eks, account, region).await,
    )
}

async fn clusters(
    eks: &aws_sdk_eks::Client,
    account: &AwsAccount,
    region: &str,
) -> Result<Vec<ResourceRecord>, String> {
    let mut names = Vec::new();
    let mut pages = eks.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListClusters: {}", describe_error(&e)))?;
        names.extend(page.clusters().iter().cloned());
    }
    let partition = partition_for_region(region);
    let mut resources = Vec::new();
    for name in names {
        let fallback_arn = format!(
            "arn:{partition}:eks:{region}:{}:cluster/{name}",
            account.account_id
        );
        let described = eks.describe_cluster().name(&name).send().await;
        let (arn, document) = match described {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                continue;
            }
            Err(e) => (
                fallback_arn,
                Err(format!("DescribeCluster: {}", describe_error(&e))),
            ),
            Ok(output) => {
                let Some(cluster) = output.cluster() else {
                    continue;
                };
                let arn = cluster.arn().map(str::to_string).unwrap_or(fallback_arn);
                let vpc = cluster.resources_vpc_config();
                let mut enabled_log_types: Vec<String> = cluster
                    .logging()
                    .map(|l| l.cluster_logging())
                    .unwrap_or_default()
                    .iter()
                    .filter(|setup| setup.enabled().unwrap_or(false))
                    .flat_map(|setup| setup.types().iter().map(|t| t.as_str().to_string()))
                    .collect();
                enabled_log_types.sort();
                enabled_log_types.dedup();
                let record = EksCluster {
                    name: name.clone(),
                    arn: arn.clone(),
                    region: region.to_string(),
                    version: cluster.version().map(str::to_string),
                    endpoint_public_access: vpc
                        .map(|v| v.endpoint_public_access())
                        .unwrap_or(false),
                    endpoint_private_access: vpc
                        .map(|v| v.endpoint_private_access())
                        .unwrap_or(false),
                    public_access_cidrs: vpc
                        .map(|v| v.public_access_cidrs().to_vec())
                        .unwrap_or_default(),
                    enabled_log_types,
                };
                let document = serde_json::to_value(&record)
                    .map_err(|e| format!("cannot serialise EKS cluster record: {e}"));
                (arn, document)
            }
        };
        resources.push(ResourceRecord {
            arn,
            resource_type: ResourceType::EksCluster,
            name,
            region: region.to_string(),
            document,
        });
    }
    Ok(resources)
}
