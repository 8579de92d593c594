//! EC2 and VPC in one region: VPCs with their flow logs, instances and
//! launch templates with their metadata (IMDS) options.

use super::arn::{Arn, not_described, resource_parts};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    DestinationRetention, Ec2Instance, FlowLog, LaunchTemplate, LaunchTemplateVersion,
    MetadataOptions, ResourceRecord, ResourceType, Vpc, partition_for_region,
};
use aws_sdk_cloudwatchlogs::types::LogGroup as LogGroupState;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use futures_util::{StreamExt, stream};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "ec2";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[
        ResourceType::Ec2Instance,
        ResourceType::LaunchTemplate,
        ResourceType::Vpc,
    ],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, concurrency| Box::pin(collect(account, region, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeVpcs",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeInstances",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:DescribeRegions",
    "logs:DescribeLogGroups",
    "s3:GetLifecycleConfiguration",
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
    // One call for every flow log of the region, joined to VPCs in memory.
    let mut flow_logs = flow_logs_by_resource(ec2, None).await?;
    resolve_destination_retention(account, region, &mut flow_logs, GroupLookup::ListRegion).await;
    let mut resources = Vec::new();
    let mut pages = ec2
        .describe_vpcs()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeVpcs: {}", describe_error(&e)))?;
        resources.extend(
            page.vpcs()
                .iter()
                .filter_map(|v| vpc_record(v, &mut flow_logs, account, region)),
        );
    }

    let mut pages = ec2
        .describe_instances()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeInstances: {}", describe_error(&e)))?;
        resources.extend(
            page.reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter_map(|i| instance_record(i, account, region)),
        );
    }

    let mut templates = Vec::new();
    let mut pages = ec2
        .describe_launch_templates()
        .max_results(200)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeLaunchTemplates: {}", describe_error(&e)))?;
        templates.extend(page.launch_templates().iter().cloned());
    }
    if templates.is_empty() {
        return Ok(resources);
    }
    // One account-wide call answers the default and latest version of every
    // template, instead of one call per template.
    let mut versions = all_default_and_latest_versions(ec2).await;
    let template_records: Vec<Option<ResourceRecord>> = stream::iter(templates)
        .map(|template| {
            let known = match &mut versions {
                Ok(by_template) => template
                    .launch_template_id()
                    .and_then(|id| by_template.remove(id))
                    .map(Ok),
                Err(error) => Some(Err(error.clone())),
            };
            launch_template_record(ec2, account, region, template, known)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    resources.extend(template_records.into_iter().flatten());

    Ok(resources)
}

fn ec2_arn(account: &AwsAccount, region: &str, kind: &str, id: &str) -> String {
    format!(
        "arn:{}:ec2:{region}:{}:{kind}/{id}",
        partition_for_region(region),
        account.account_id
    )
}

/// The flow logs matching `filter` (all of the region without one), by the
/// resource they watch; destination retention not yet resolved.
async fn flow_logs_by_resource(
    ec2: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
) -> Result<BTreeMap<String, Vec<FlowLog>>, String> {
    let mut flow_logs: BTreeMap<String, Vec<FlowLog>> = BTreeMap::new();
    for f in describe_flow_logs(ec2, filter).await? {
        let Some(resource_id) = f.resource_id() else {
            continue;
        };
        flow_logs
            .entry(resource_id.to_string())
            .or_default()
            .push(FlowLog {
                id: f.flow_log_id().unwrap_or_default().to_string(),
                status: f.flow_log_status().map(str::to_string),
                traffic_type: f.traffic_type().map(|t| t.as_str().to_string()),
                destination_type: f.log_destination_type().map(|t| t.as_str().to_string()),
                destination: f
                    .log_group_name()
                    .or(f.log_destination())
                    .map(str::to_string),
                destination_retention: DestinationRetention::Unknown,
            });
    }
    Ok(flow_logs)
}

/// Every flow log matching `filter` (all of the region without one), in
/// the largest pages EC2 serves: the one listing both the EC2 and the Logs
/// collector read.
pub(super) async fn describe_flow_logs(
    ec2: &aws_sdk_ec2::Client,
    filter: Option<Filter>,
) -> Result<Vec<aws_sdk_ec2::types::FlowLog>, String> {
    let mut all = Vec::new();
    let mut pages = ec2
        .describe_flow_logs()
        .set_filter(filter.map(|f| vec![f]))
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeFlowLogs: {}", describe_error(&e)))?;
        all.extend(page.flow_logs().iter().cloned());
    }
    Ok(all)
}

/// A VPC's record, taking its flow logs out of `flow_logs`; `None` for a
/// VPC without an id.
fn vpc_record(
    vpc: &aws_sdk_ec2::types::Vpc,
    flow_logs: &mut BTreeMap<String, Vec<FlowLog>>,
    account: &AwsAccount,
    region: &str,
) -> Option<ResourceRecord> {
    let id = vpc.vpc_id()?;
    let mut logs = flow_logs.remove(id).unwrap_or_default();
    logs.sort_by(|a, b| a.id.cmp(&b.id));
    let record = Vpc {
        id: id.to_string(),
        arn: ec2_arn(account, region, "vpc", id),
        region: region.to_string(),
        is_default: vpc.is_default().unwrap_or(false),
        cidr_block: vpc.cidr_block().map(str::to_string),
        flow_logs: logs,
    };
    Some(record_of(
        &record.arn,
        ResourceType::Vpc,
        id,
        region,
        &record,
    ))
}

/// An instance's record; `None` for one terminated or terminating, which
/// lingers in the API for a while but runs nothing.
fn instance_record(
    instance: &aws_sdk_ec2::types::Instance,
    account: &AwsAccount,
    region: &str,
) -> Option<ResourceRecord> {
    let id = instance.instance_id()?;
    let state = instance
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string());
    if matches!(state.as_deref(), Some("terminated") | Some("shutting-down")) {
        return None;
    }
    let options = instance.metadata_options();
    let record = Ec2Instance {
        id: id.to_string(),
        arn: ec2_arn(account, region, "instance", id),
        region: region.to_string(),
        state,
        vpc_id: instance.vpc_id().map(str::to_string),
        iam_instance_profile_arn: instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(str::to_string),
        metadata_options: MetadataOptions {
            http_tokens: options
                .and_then(|o| o.http_tokens())
                .map(|t| t.as_str().to_string()),
            http_endpoint: options
                .and_then(|o| o.http_endpoint())
                .map(|e| e.as_str().to_string()),
            http_put_response_hop_limit: options.and_then(|o| o.http_put_response_hop_limit()),
        },
    };
    Some(record_of(
        &record.arn,
        ResourceType::Ec2Instance,
        id,
        region,
        &record,
    ))
}

/// Re-collects one instance, launch template or VPC
/// (`arn:…:ec2:region:account:kind/id`) with the calls a scan makes for it.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "ec2", account)?;
    let region = parsed.region;
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region));
    let described = match resource_parts::<2>(parsed.resource) {
        Some(["instance", id]) => describe_instance(&ec2, account, region, id).await,
        Some(["launch-template", id]) => describe_launch_template(&ec2, account, region, id).await,
        Some(["vpc", id]) => describe_vpc(&ec2, account, region, id).await,
        _ => return Err(not_described(arn, &COLLECTOR)),
    };
    described.map_err(|error| format!("{arn}: {error}"))
}

/// Whether EC2 answered that the resource asked for does not exist.
fn not_found<E: ProvideErrorMetadata>(error: &E, codes: &[&str]) -> bool {
    error.code().is_some_and(|code| codes.contains(&code))
}

async fn describe_instance(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let output = match ec2.describe_instances().instance_ids(id).send().await {
        Ok(output) => output,
        Err(e) if not_found(&e, &["InvalidInstanceID.NotFound"]) => return Ok(None),
        Err(e) => return Err(format!("DescribeInstances: {}", describe_error(&e))),
    };
    Ok(output
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(id))
        .and_then(|i| instance_record(i, account, region)))
}

/// The template, then its default and latest versions asked for it alone,
/// as a scan does for a template created after its account-wide call.
async fn describe_launch_template(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let output = match ec2
        .describe_launch_templates()
        .launch_template_ids(id)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) if not_found(&e, &["InvalidLaunchTemplateId.NotFound"]) => return Ok(None),
        Err(e) => return Err(format!("DescribeLaunchTemplates: {}", describe_error(&e))),
    };
    let Some(template) = output
        .launch_templates()
        .iter()
        .find(|t| t.launch_template_id() == Some(id))
        .cloned()
    else {
        return Ok(None);
    };
    Ok(launch_template_record(ec2, account, region, template, None).await)
}

/// The VPC, then only its own flow logs and their destinations' retention.
async fn describe_vpc(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let output = match ec2.describe_vpcs().vpc_ids(id).send().await {
        Ok(output) => output,
        Err(e) if not_found(&e, &["InvalidVpcID.NotFound"]) => return Ok(None),
        Err(e) => return Err(format!("DescribeVpcs: {}", describe_error(&e))),
    };
    let Some(vpc) = output.vpcs().iter().find(|v| v.vpc_id() == Some(id)) else {
        return Ok(None);
    };
    let own = Filter::builder().name("resource-id").values(id).build();
    let mut flow_logs = match flow_logs_by_resource(ec2, Some(own)).await {
        Ok(flow_logs) => flow_logs,
        // The VPC exists; what it logs is unknown.
        Err(error) => {
            let record = vpc_record(vpc, &mut BTreeMap::new(), account, region);
            return Ok(record.map(|record| ResourceRecord {
                document: Err(error),
                ..record
            }));
        }
    };
    resolve_destination_retention(account, region, &mut flow_logs, GroupLookup::ByName).await;
    Ok(vpc_record(vpc, &mut flow_logs, account, region))
}

type TemplateVersions = Vec<aws_sdk_ec2::types::LaunchTemplateVersion>;

/// The `$Default` and `$Latest` versions of every launch template in the
/// region, by template id.
async fn all_default_and_latest_versions(
    ec2: &aws_sdk_ec2::Client,
) -> Result<BTreeMap<String, TemplateVersions>, String> {
    let mut by_template: BTreeMap<String, TemplateVersions> = BTreeMap::new();
    let mut pages = ec2
        .describe_launch_template_versions()
        .versions("$Default")
        .versions("$Latest")
        .max_results(200)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("DescribeLaunchTemplateVersions: {}", describe_error(&e)))?;
        for version in page.launch_template_versions() {
            if let Some(id) = version.launch_template_id() {
                by_template
                    .entry(id.to_string())
                    .or_default()
                    .push(version.clone());
            }
        }
    }
    Ok(by_template)
}

/// The default and latest versions of one launch template, from `known`
/// when the account-wide call answered them, else asked for that template
/// alone (it was created after that call). `None` for a template without
/// an id.
async fn launch_template_record(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    template: aws_sdk_ec2::types::LaunchTemplate,
    known: Option<Result<TemplateVersions, String>>,
) -> Option<ResourceRecord> {
    let id = template.launch_template_id()?;
    let template_arn = format!(
        "arn:{}:ec2:{region}:{}:launch-template/{id}",
        partition_for_region(region),
        account.account_id
    );
    let name = template.launch_template_name().map(str::to_string);
    let latest = template.latest_version_number();
    let fetched = match known {
        Some(known) => known,
        None => ec2
            .describe_launch_template_versions()
            .launch_template_id(id)
            .versions("$Default")
            .versions("$Latest")
            .send()
            .await
            .map(|output| output.launch_template_versions().to_vec())
            .map_err(|e| format!("DescribeLaunchTemplateVersions: {}", describe_error(&e))),
    };
    let document = fetched.and_then(|fetched| {
        let mut versions: Vec<LaunchTemplateVersion> = fetched
            .iter()
            .map(|v| {
                let number = v.version_number().unwrap_or_default();
                let options = v.launch_template_data().and_then(|d| d.metadata_options());
                LaunchTemplateVersion {
                    number,
                    is_default: v.default_version().unwrap_or(false),
                    is_latest: Some(number) == latest,
                    metadata_options: options.map(template_metadata_options),
                }
            })
            .collect();
        versions.sort_by_key(|v| v.number);
        versions.dedup_by_key(|v| v.number);
        let record = LaunchTemplate {
            id: id.to_string(),
            name: name.clone(),
            arn: template_arn.clone(),
            region: region.to_string(),
            versions,
        };
        crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise launch template record: {e}"))
    });
    Some(ResourceRecord {
        arn: template_arn,
        resource_type: ResourceType::LaunchTemplate,
        name: name.unwrap_or_else(|| id.to_string()),
        region: region.to_string(),
        document,
    })
}

/// How flow-log destination groups are found: a scan lists the region's
/// groups once for every VPC; one VPC asks for its own groups by name.
#[derive(Debug, Clone, Copy)]
enum GroupLookup {
    ListRegion,
    ByName,
}

/// Fills in how long each flow log's destination keeps records: the log
/// group's retention, or the shortest expiration among the destination
/// bucket's enabled lifecycle rules. A failure here leaves that flow log's
/// retention unreadable; it does not fail the collection.
async fn resolve_destination_retention(
    account: &AwsAccount,
    region: &str,
    flow_logs: &mut BTreeMap<String, Vec<FlowLog>>,
    lookup: GroupLookup,
) {
    let groups = destination_groups(account, region, flow_logs, lookup).await;
    let mut s3_config = aws_sdk_s3::config::Builder::from(&account.in_region(region));
    if account.endpoint_override.is_some() {
        s3_config = s3_config.force_path_style(true);
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        s3_config
            .interceptor(super::api_calls::CountCalls("s3"))
            .build(),
    );
    let mut bucket_retention: BTreeMap<String, DestinationRetention> = BTreeMap::new();

    for flow_log in flow_logs.values_mut().flatten() {
        let destination = flow_log.destination.clone().unwrap_or_default();
        flow_log.destination_retention = match flow_log.destination_type.as_deref() {
            Some("cloud-watch-logs") => match &groups {
                Some(Ok(groups)) => match groups.get(&destination) {
                    Some(group) => match group.retention_in_days() {
                        Some(days) => DestinationRetention::Days { days },
                        None => DestinationRetention::NeverExpires,
                    },
                    None => DestinationRetention::Missing,
                },
                Some(Err(error)) => DestinationRetention::Unreadable {
                    error: error.clone(),
                },
                None => DestinationRetention::Unknown,
            },
            Some("s3") => {
                // arn:aws:s3:::bucket[/prefix]
                let bucket = destination
                    .rsplit(":::")
                    .next()
                    .and_then(|rest| rest.split('/').next())
                    .unwrap_or_default()
                    .to_string();
                if !bucket_retention.contains_key(&bucket) {
                    let retention = lifecycle_retention(&s3, &bucket).await;
                    bucket_retention.insert(bucket.clone(), retention);
                }
                bucket_retention.get(&bucket).cloned().unwrap_or_default()
            }
            _ => DestinationRetention::Unknown,
        };
    }
}

/// The log groups flow logs deliver to, by name; `None` when none does.
async fn destination_groups(
    account: &AwsAccount,
    region: &str,
    flow_logs: &BTreeMap<String, Vec<FlowLog>>,
    lookup: GroupLookup,
) -> Option<Result<BTreeMap<String, LogGroupState>, String>> {
    let names: BTreeSet<String> = flow_logs
        .values()
        .flatten()
        .filter(|f| f.destination_type.as_deref() == Some("cloud-watch-logs"))
        .map(|f| f.destination.clone().unwrap_or_default())
        .collect();
    if names.is_empty() {
        return None;
    }
    let logs = crate::counted_client!(aws_sdk_cloudwatchlogs, "logs", &account.in_region(region));
    Some(match lookup {
        GroupLookup::ListRegion => super::logs::log_groups(&logs).await,
        GroupLookup::ByName => super::logs::log_groups_named(&logs, &names).await,
    })
}

async fn lifecycle_retention(s3: &aws_sdk_s3::Client, bucket: &str) -> DestinationRetention {
    match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(output) => output
            .rules()
            .iter()
            .filter(|r| r.status().as_str() == "Enabled")
            .filter_map(|r| r.expiration().and_then(|e| e.days()))
            .min()
            .map(|days| DestinationRetention::Days { days })
            .unwrap_or(DestinationRetention::NeverExpires),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => {
            DestinationRetention::NeverExpires
        }
        Err(e) if e.code() == Some("NoSuchBucket") => DestinationRetention::Missing,
        Err(e) => DestinationRetention::Unreadable {
            error: format!(
                "GetBucketLifecycleConfiguration {bucket}: {}",
                describe_error(&e)
            ),
        },
    }
}

/// A launch template version's metadata options as a record. Shared with the
/// EKS collector, which resolves node groups' launch templates.
pub(super) fn template_metadata_options(
    options: &aws_sdk_ec2::types::LaunchTemplateInstanceMetadataOptions,
) -> MetadataOptions {
    MetadataOptions {
        http_tokens: options.http_tokens().map(|t| t.as_str().to_string()),
        http_endpoint: options.http_endpoint().map(|e| e.as_str().to_string()),
        http_put_response_hop_limit: options.http_put_response_hop_limit(),
    }
}

fn record_of<T: serde::Serialize>(
    arn: &str,
    resource_type: ResourceType,
    name: &str,
    region: &str,
    record: &T,
) -> ResourceRecord {
    ResourceRecord {
        arn: arn.to_string(),
        resource_type,
        name: name.to_string(),
        region: region.to_string(),
        document: crate::model::Document::of(record)
            .map_err(|e| format!("cannot serialise {resource_type} record: {e}")),
    }
}
