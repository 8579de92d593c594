//! ECR: repositories of one region with their lifecycle policies.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{EcrRepository, ResourceRecord, ResourceType};
use aws_sdk_s3::error::ProvideErrorMetadata;
use futures_util::{StreamExt, stream};

pub const NAME: &str = "ecr";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::EcrRepository],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let ecr = crate::counted_client!(aws_sdk_ecr, "ecr", &account.in_region(region));
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        repositories(&ecr, region, concurrency).await,
    )
}

async fn repositories(
    ecr: &aws_sdk_ecr::Client,
    region: &str,
    concurrency: usize,
) -> Result<Vec<ResourceRecord>, String> {
    let mut repositories = Vec::new();
    let mut pages = ecr
        .describe_repositories()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeRepositories: {}", describe_error(&e)))?;
        repositories.extend(page.repositories().iter().cloned());
    }
    let resources: Vec<Option<ResourceRecord>> = stream::iter(repositories)
        .map(|repository| repository_record(ecr, region, repository))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    Ok(resources.into_iter().flatten().collect())
}

/// `None` for a repository without name or ARN, or deleted since listed.
async fn repository_record(
    ecr: &aws_sdk_ecr::Client,
    region: &str,
    repository: aws_sdk_ecr::types::Repository,
) -> Option<ResourceRecord> {
    let (Some(name), Some(arn)) = (repository.repository_name(), repository.repository_arn())
    else {
        return None;
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
        Err(e) if e.code() == Some("RepositoryNotFoundException") => return None,
        Err(e) => Err(format!("GetLifecyclePolicy: {}", describe_error(&e))),
    }
    .and_then(|lifecycle_policy| {
        let record = EcrRepository {
            name: name.to_string(),
            arn: arn.to_string(),
            region: region.to_string(),
            lifecycle_policy,
        };
        crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise ECR repository record: {e}"))
    });
    Some(ResourceRecord {
        arn: arn.to_string(),
        resource_type: ResourceType::EcrRepository,
        name: name.to_string(),
        region: region.to_string(),
        document,
    })
}

/// Re-collects one repository (`arn:…:ecr:region:account:repository/name`,
/// the name possibly with slashes): DescribeRepositories for that name,
/// then its lifecycle policy as a scan reads it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "ecr", account)?;
    let name = parsed
        .resource
        .strip_prefix("repository/")
        .filter(|name| !name.is_empty())
        .ok_or_else(|| not_described(arn, &COLLECTOR))?;
    let ecr = crate::counted_client!(aws_sdk_ecr, "ecr", &account.in_region(parsed.region));
    let described = ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await;
    let repository = match described {
        Ok(output) => output
            .repositories()
            .iter()
            .find(|r| r.repository_name() == Some(name))
            .cloned(),
        Err(e) if e.code() == Some("RepositoryNotFoundException") => None,
        Err(e) => {
            return Err(format!(
                "{arn}: DescribeRepositories: {}",
                describe_error(&e)
            ));
        }
    };
    match repository {
        Some(repository) => Ok(repository_record(&ecr, parsed.region, repository).await),
        None => Ok(None),
    }
}
