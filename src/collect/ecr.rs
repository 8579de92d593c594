//! ECR: repositories of one region with their lifecycle policies.

use super::{AwsAccount, Collection, describe_error};
use crate::model::{EcrRepository, ResourceRecord, ResourceType};
use aws_sdk_s3::error::ProvideErrorMetadata;
use chrono::Utc;

pub const COLLECTOR: &str = "ecr";

pub const IAM_ACTIONS: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = Utc::now();
    let ecr = aws_sdk_ecr::Client::new(&account.in_region(region));
    Collection::finish(
        COLLECTOR,
        region,
        started_at,
        repositories(&ecr, region).await,
    )
}

async fn repositories(
    ecr: &aws_sdk_ecr::Client,
    region: &str,
) -> Result<Vec<ResourceRecord>, String> {
    let mut repositories = Vec::new();
    let mut pages = ecr.describe_repositories().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeRepositories: {}", describe_error(&e)))?;
        repositories.extend(page.repositories().iter().cloned());
    }
    let mut resources = Vec::new();
    for repository in repositories {
        let (Some(name), Some(arn)) = (repository.repository_name(), repository.repository_arn())
        else {
            continue;
        };
        let policy = ecr
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await;
        let document = match policy {
            Ok(output) => Ok(output.lifecycle_policy_text().map(|text| {
                serde_json::from_str(text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
            })),
            Err(e) if e.code() == Some("LifecyclePolicyNotFoundException") => Ok(None),
            Err(e) if e.code() == Some("RepositoryNotFoundException") => continue,
            Err(e) => Err(format!("GetLifecyclePolicy: {}", describe_error(&e))),
        }
        .and_then(|lifecycle_policy| {
            let record = EcrRepository {
                name: name.to_string(),
                arn: arn.to_string(),
                region: region.to_string(),
                lifecycle_policy,
            };
            serde_json::to_value(&record)
                .map_err(|e| format!("cannot serialise ECR repository record: {e}"))
        });
        resources.push(ResourceRecord {
            arn: arn.to_string(),
            resource_type: ResourceType::EcrRepository,
            name: name.to_string(),
            region: region.to_string(),
            document,
        });
    }
    Ok(resources)
}
