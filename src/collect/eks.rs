//! EKS: clusters of one region with endpoint exposure and control-plane
//! logging, and their managed node groups resolved to the launch template
//! version their nodes start from (for IMDS settings).

use super::arn::{Arn, not_described, resource_parts};
use super::ec2::template_metadata_options;
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    EksAccess, EksAccessEntry, EksAccessPolicy, EksCluster, EksNodegroup,
    NodegroupLaunchTemplate, ResourceRecord, ResourceType, partition_for_region,
};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_eks::primitives::{DateTime, DateTimeFormat};
use futures_util::{StreamExt, stream};

pub const NAME: &str = "eks";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::EksCluster, ResourceType::EksNodegroup],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "eks:ListClusters",
    "eks:DescribeCluster",
    "eks:ListNodegroups",
    "eks:DescribeNodegroup",
    "eks:ListAccessEntries",
    "eks:ListAssociatedAccessPolicies",
    "ec2:DescribeLaunchTemplateVersions",
    "sts:GetCallerIdentity",
];

pub async fn collect(account: &AwsAccount, region: &str, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let clients = Clients {
        eks: crate::counted_client!(aws_sdk_eks, "eks", &account.in_region(region)),
        ec2: crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region)),
    };
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        clusters(&clients, account, region, concurrency).await,
    )
}

struct Clients {
    eks: aws_sdk_eks::Client,
    ec2: aws_sdk_ec2::Client,
}

async fn clusters(
    clients: &Clients,
    account: &AwsAccount,
    region: &str,
    concurrency: usize,
) -> Result<Vec<ResourceRecord>, String> {
    let mut names = Vec::new();
    let mut pages = clients.eks.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListClusters: {}", describe_error(&e)))?;
        names.extend(page.clusters().iter().cloned());
    }
    let per_cluster: Vec<Result<Vec<ResourceRecord>, String>> = stream::iter(names)
        .map(|name| cluster_and_nodegroups(clients, account, region, name))
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut resources = Vec::new();
    for cluster in per_cluster {
        resources.extend(cluster?);
    }
    Ok(resources)
}

/// One cluster's record followed by its node groups' records. Listing the
/// node groups failing fails the whole collection: a node group missing
/// from a partial list must not look deleted.
async fn cluster_and_nodegroups(
    clients: &Clients,
    account: &AwsAccount,
    region: &str,
    name: String,
) -> Result<Vec<ResourceRecord>, String> {
    let described = match describe_cluster(&clients.eks, &name).await {
        // Deleted between list and describe: it is gone, not failed.
        Ok(None) => return Ok(Vec::new()),
        Ok(Some(cluster)) => Ok(cluster),
        Err(error) => Err(error),
    };
    let (described, access) = match described {
        Ok(cluster) => match access_of(&clients.eks, &cluster, &name).await {
            Ok(access) => (Ok(cluster), access),
            Err(error) => (Err(error), None),
        },
        Err(error) => (Err(error), None),
    };
    let mut resources = vec![cluster_resource(
        described.as_ref(),
        access,
        &name,
        account,
        region,
    )];

    let mut nodegroup_names = Vec::new();
    let mut pages = clients
        .eks
        .list_nodegroups()
        .cluster_name(&name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListNodegroups {name}: {}", describe_error(&e)))?;
        nodegroup_names.extend(page.nodegroups().iter().cloned());
    }
    for nodegroup in nodegroup_names {
        let described = match describe_nodegroup(&clients.eks, &name, &nodegroup).await {
            Ok(None) => continue,
            Ok(Some(described)) => Ok(described),
            Err(error) => Err(error),
        };
        resources.push(
            nodegroup_resource(
                clients,
                described.as_ref(),
                account,
                region,
                &name,
                &nodegroup,
            )
            .await,
        );
    }
    Ok(resources)
}

/// DescribeCluster: `None` when the cluster does not exist.
async fn describe_cluster(
    eks: &aws_sdk_eks::Client,
    name: &str,
) -> Result<Option<aws_sdk_eks::types::Cluster>, String> {
    match eks.describe_cluster().name(name).send().await {
        Ok(output) => Ok(output.cluster().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("DescribeCluster: {}", describe_error(&e))),
    }
}

/// The cluster's access config and, in the modes that use them, its
/// access entries. Entries AWS refuses to list (a role without the
/// permission: a lasting state) are recorded as unreadable and the rest of
/// the cluster stands; any other failure fails the cluster's description,
/// as a transient error written into the document would be drift.
async fn access_of(
    eks: &aws_sdk_eks::Client,
    cluster: &aws_sdk_eks::types::Cluster,
    name: &str,
) -> Result<Option<EksAccess>, String> {
    let Some(config) = cluster.access_config() else {
        return Ok(None);
    };
    let authentication_mode = config.authentication_mode().map(|m| m.as_str().to_string());
    let uses_entries = matches!(
        authentication_mode.as_deref(),
        Some("API" | "API_AND_CONFIG_MAP")
    );
    let (entries, entries_unreadable) = if uses_entries {
        match access_entries(eks, name).await {
            Ok(entries) => (Some(entries), None),
            Err(error) if super::api_calls::error_text_kind(&error) == Some("access_denied") => {
                (None, Some(error))
            }
            Err(error) => return Err(error),
        }
    } else {
        (None, None)
    };
    Ok(Some(EksAccess {
        authentication_mode,
        bootstrap_cluster_creator_admin_permissions: config
            .bootstrap_cluster_creator_admin_permissions(),
        cluster_created_at: cluster.created_at().and_then(rfc3339),
        entries,
        entries_unreadable,
    }))
}

/// ListAccessEntries, then each entry's ListAssociatedAccessPolicies.
async fn access_entries(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
) -> Result<Vec<EksAccessEntry>, String> {
    let mut principals = Vec::new();
    let mut pages = eks
        .list_access_entries()
        .cluster_name(cluster)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListAccessEntries: {}", describe_error(&e)))?;
        principals.extend(page.access_entries().iter().cloned());
    }
    principals.sort();
    principals.dedup();
    let mut entries = Vec::with_capacity(principals.len());
    for principal_arn in principals {
        let mut policies = Vec::new();
        let mut pages = eks
            .list_associated_access_policies()
            .cluster_name(cluster)
            .principal_arn(&principal_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                format!(
                    "ListAssociatedAccessPolicies {principal_arn}: {}",
                    describe_error(&e)
                )
            })?;
            policies.extend(page.associated_access_policies().iter().map(access_policy));
        }
        policies.sort_by(|a, b| (&a.policy_arn, &a.scope).cmp(&(&b.policy_arn, &b.scope)));
        entries.push(EksAccessEntry {
            principal_arn,
            policies,
        });
    }
    Ok(entries)
}

fn access_policy(policy: &aws_sdk_eks::types::AssociatedAccessPolicy) -> EksAccessPolicy {
    let scope = policy.access_scope();
    EksAccessPolicy {
        policy_arn: policy.policy_arn().unwrap_or_default().to_string(),
        scope: scope.and_then(|s| s.r#type()).map(|t| t.as_str().to_string()),
        namespaces: sorted(scope.map(|s| s.namespaces().to_vec())),
        associated_at: policy.associated_at().and_then(rfc3339),
    }
}

fn rfc3339(at: &DateTime) -> Option<String> {
    at.fmt(DateTimeFormat::DateTime).ok()
}

/// A cluster's record, or the error that prevented describing it.
fn cluster_resource(
    described: Result<&aws_sdk_eks::types::Cluster, &String>,
    access: Option<EksAccess>,
    name: &str,
    account: &AwsAccount,
    region: &str,
) -> ResourceRecord {
    let fallback_arn = format!(
        "arn:{}:eks:{region}:{}:cluster/{name}",
        partition_for_region(region),
        account.account_id
    );
    let (arn, document) = match described {
        Err(error) => (fallback_arn, Err(error.clone())),
        Ok(cluster) => {
            let arn = cluster.arn().map(str::to_string).unwrap_or(fallback_arn);
            let record = cluster_record(cluster, access, name, &arn, region);
            let document = crate::model::Document::of(&record)
                .map_err(|e| format!("cannot serialise EKS cluster record: {e}"));
            (arn, document)
        }
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::EksCluster,
        name: name.to_string(),
        region: region.to_string(),
        document,
    }
}

fn cluster_record(
    cluster: &aws_sdk_eks::types::Cluster,
    access: Option<EksAccess>,
    name: &str,
    arn: &str,
    region: &str,
) -> EksCluster {
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
    EksCluster {
        name: name.to_string(),
        arn: arn.to_string(),
        region: region.to_string(),
        version: cluster.version().map(str::to_string),
        endpoint_public_access: vpc.map(|v| v.endpoint_public_access()).unwrap_or(false),
        endpoint_private_access: vpc.map(|v| v.endpoint_private_access()).unwrap_or(false),
        public_access_cidrs: sorted(vpc.map(|v| v.public_access_cidrs().to_vec())),
        enabled_log_types,
        access,
    }
}

/// DescribeNodegroup: `None` when the node group does not exist.
async fn describe_nodegroup(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<aws_sdk_eks::types::Nodegroup>, String> {
    let described = eks
        .describe_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .send()
        .await;
    match described {
        Ok(output) => Ok(output.nodegroup().cloned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("DescribeNodegroup: {}", describe_error(&e))),
    }
}

/// A node group's record with the launch template version it launches
/// from, or the error that prevented describing it.
async fn nodegroup_resource(
    clients: &Clients,
    described: Result<&aws_sdk_eks::types::Nodegroup, &String>,
    account: &AwsAccount,
    region: &str,
    cluster: &str,
    name: &str,
) -> ResourceRecord {
    let fallback_arn = format!(
        "arn:{}:eks:{region}:{}:nodegroup/{cluster}/{name}",
        partition_for_region(region),
        account.account_id
    );
    let (arn, document) = match described {
        Err(error) => (fallback_arn, Err(error.clone())),
        Ok(nodegroup) => {
            let arn = nodegroup
                .nodegroup_arn()
                .map(str::to_string)
                .unwrap_or(fallback_arn);
            let launch_template = match nodegroup.launch_template() {
                None => Ok(None),
                Some(spec) => resolve_launch_template(&clients.ec2, spec).await.map(Some),
            };
            let document = launch_template.and_then(|launch_template| {
                let record = EksNodegroup {
                    name: name.to_string(),
                    cluster: cluster.to_string(),
                    arn: arn.clone(),
                    region: region.to_string(),
                    status: nodegroup.status().map(|s| s.as_str().to_string()),
                    launch_template,
                };
                crate::model::Document::of(&record)
                    .map_err(|e| format!("cannot serialise EKS node group record: {e}"))
            });
            (arn, document)
        }
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::EksNodegroup,
        name: format!("{cluster}/{name}"),
        region: region.to_string(),
        document,
    }
}

/// Re-collects one cluster (`arn:…:eks:region:account:cluster/name`) or
/// node group (`…:nodegroup/cluster/name/uuid`) with the calls a scan
/// makes for it. A node group of that name with another uuid is another
/// node group: the one asked for no longer exists.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "eks", account)?;
    let region = parsed.region;
    let clients = Clients {
        eks: crate::counted_client!(aws_sdk_eks, "eks", &account.in_region(region)),
        ec2: crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region)),
    };
    let fail = |error: String| format!("{arn}: {error}");
    if let Some(["cluster", name]) = resource_parts::<2>(parsed.resource) {
        let Some(cluster) = describe_cluster(&clients.eks, name).await.map_err(fail)? else {
            return Ok(None);
        };
        let record = match access_of(&clients.eks, &cluster, name).await {
            Ok(access) => cluster_resource(Ok(&cluster), access, name, account, region),
            Err(error) => cluster_resource(Err(&error), None, name, account, region),
        };
        return Ok(Some(record));
    }
    let (cluster, name, uuid) = match (
        resource_parts::<4>(parsed.resource),
        resource_parts::<3>(parsed.resource),
    ) {
        (Some(["nodegroup", cluster, name, uuid]), _) => (cluster, name, Some(uuid)),
        // The form a scan records when AWS gives a node group no ARN.
        (_, Some(["nodegroup", cluster, name])) => (cluster, name, None),
        _ => return Err(not_described(arn, &COLLECTOR)),
    };
    let Some(nodegroup) = describe_nodegroup(&clients.eks, cluster, name)
        .await
        .map_err(fail)?
    else {
        return Ok(None);
    };
    let same = match (uuid, nodegroup.nodegroup_arn()) {
        (Some(_), Some(actual)) => actual == arn,
        _ => true,
    };
    if !same {
        return Ok(None);
    }
    let record = nodegroup_resource(&clients, Ok(&nodegroup), account, region, cluster, name);
    Ok(Some(record.await))
}

/// Looks up the launch template version a node group launches from. A
/// template or version that no longer exists is a state worth recording
/// (the node group cannot scale correctly); any other error is a failure.
async fn resolve_launch_template(
    ec2: &aws_sdk_ec2::Client,
    spec: &aws_sdk_eks::types::LaunchTemplateSpecification,
) -> Result<NodegroupLaunchTemplate, String> {
    let requested_version = spec.version().map(str::to_string);
    let mut request = ec2
        .describe_launch_template_versions()
        .versions(requested_version.as_deref().unwrap_or("$Default"));
    request = match (spec.id(), spec.name()) {
        (Some(id), _) => request.launch_template_id(id),
        (None, Some(name)) => request.launch_template_name(name),
        (None, None) => {
            return Err("node group names a launch template without id or name".to_string());
        }
    };
    let mut record = NodegroupLaunchTemplate {
        id: spec.id().map(str::to_string),
        name: spec.name().map(str::to_string),
        requested_version,
        resolved_version: None,
        metadata_options: None,
    };
    match request.send().await {
        Ok(output) => {
            if let Some(version) = output.launch_template_versions().first() {
                record.resolved_version = version.version_number();
                record.metadata_options = version
                    .launch_template_data()
                    .and_then(|d| d.metadata_options())
                    .map(template_metadata_options);
            }
            Ok(record)
        }
        Err(e) => {
            let not_found = e.code().is_some_and(|code| {
                code.starts_with("InvalidLaunchTemplateId")
                    || code.starts_with("InvalidLaunchTemplateName")
            });
            if not_found {
                Ok(record)
            } else {
                Err(format!(
                    "DescribeLaunchTemplateVersions {}: {}",
                    record
                        .id
                        .as_deref()
                        .or(record.name.as_deref())
                        .unwrap_or("?"),
                    describe_error(&e)
                ))
            }
        }
    }
}

/// A list EKS keeps in no set order, sorted so a reordering is not drift.
fn sorted(list: Option<Vec<String>>) -> Vec<String> {
    let mut list = list.unwrap_or_default();
    list.sort();
    list.dedup();
    list
}
