//! Network: the security groups and network ACLs of one region, with the
//! managed prefix lists their rules reference resolved to CIDRs (read once
//! per list, not per rule).

use super::arn::{Arn, not_described, resource_parts};
use super::{AwsAccount, Collection, Described, describe_error};
use crate::model::{
    Ec2SecurityGroup, IngressRule, NaclEntry, NetworkAcl, PrefixListSource, ResourceRecord,
    ResourceType, partition_for_region,
};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup as Ec2Group};
use std::collections::{BTreeMap, BTreeSet};

pub const NAME: &str = "network";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::Regional,
    resource_types: &[ResourceType::Ec2SecurityGroup, ResourceType::NetworkAcl],
    iam_actions: IAM_ACTIONS,
    collect: |account, region, _concurrency| Box::pin(collect(account, region)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSecurityGroups",
    "ec2:GetManagedPrefixListEntries",
    "sts:GetCallerIdentity",
];

/// Each referenced prefix list's CIDRs (sorted), or why they are unknown.
pub(crate) type PrefixLists = BTreeMap<String, Result<Vec<String>, String>>;

pub async fn collect(account: &AwsAccount, region: &str) -> Collection {
    let started_at = account.clock.now();
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region));
    Collection::finish(
        NAME,
        region,
        started_at,
        &account.clock,
        collect_region(&ec2, account, region).await,
    )
}

async fn collect_region(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
) -> Result<Vec<ResourceRecord>, String> {
    // Each page becomes records as it arrives: a region of 100 000 groups
    // held as models until the last page is ~60 MB. The prefix lists a page
    // references are read before its groups are modelled, each list once
    // per collection however many pages name it.
    let mut lists = PrefixLists::new();
    let mut resources = Vec::new();
    let mut pages = ec2
        .describe_security_groups()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeSecurityGroups: {}", describe_error(&e)))?;
        let unread: BTreeSet<String> = referenced_prefix_lists(page.security_groups())
            .into_iter()
            .filter(|id| !lists.contains_key(id))
            .collect();
        lists.extend(prefix_lists(ec2, &unread).await);
        resources.extend(
            (page.security_groups().iter())
                .map(|group| group_record(group_model(group, &lists, account, region))),
        );
    }

    let mut pages = ec2
        .describe_network_acls()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("DescribeNetworkAcls: {}", describe_error(&e)))?;
        resources.extend(
            (page.network_acls().iter()).map(|acl| acl_record(acl, account, region)),
        );
    }
    Ok(resources)
}

/// Every prefix list a rule of `groups` references, in either direction.
fn referenced_prefix_lists(groups: &[Ec2Group]) -> BTreeSet<String> {
    prefix_list_ids(
        groups
            .iter()
            .flat_map(|g| g.ip_permissions().iter().chain(g.ip_permissions_egress())),
    )
}

/// Every prefix list an ingress rule of `groups` references (what a
/// database's exposure depends on).
pub(crate) fn ingress_prefix_lists(groups: &[Ec2Group]) -> BTreeSet<String> {
    prefix_list_ids(groups.iter().flat_map(|g| g.ip_permissions()))
}

fn prefix_list_ids<'a>(permissions: impl Iterator<Item = &'a IpPermission>) -> BTreeSet<String> {
    permissions
        .flat_map(|p| p.prefix_list_ids())
        .filter_map(|p| p.prefix_list_id().map(str::to_string))
        .collect()
}

/// GetManagedPrefixListEntries once per list; a list that cannot be read
/// is kept with its reason (what it admits is then unknown).
pub(crate) async fn prefix_lists(ec2: &aws_sdk_ec2::Client, ids: &BTreeSet<String>) -> PrefixLists {
    let mut lists = BTreeMap::new();
    for id in ids {
        lists.insert(id.clone(), prefix_list_entries(ec2, id).await);
    }
    lists
}

async fn prefix_list_entries(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Vec<String>, String> {
    let mut cidrs = Vec::new();
    let mut pages = ec2
        .get_managed_prefix_list_entries()
        .prefix_list_id(id)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("GetManagedPrefixListEntries {id}: {}", describe_error(&e)))?;
        cidrs.extend(
            (page.entries().iter()).filter_map(|e| e.cidr().map(str::to_string)),
        );
    }
    cidrs.sort();
    cidrs.dedup();
    Ok(cidrs)
}

/// A group's rules in one direction as the model records them, each rule's
/// sources and the rules themselves sorted (EC2 keeps no order).
pub(crate) fn rules(permissions: &[IpPermission], lists: &PrefixLists) -> Vec<IngressRule> {
    let mut rules: Vec<IngressRule> = permissions
        .iter()
        .map(|p| rule(p, lists))
        .collect();
    rules.sort_by(|a, b| {
        (&a.protocol, a.from_port, a.to_port, &a.cidrs, &a.source_groups)
            .cmp(&(&b.protocol, b.from_port, b.to_port, &b.cidrs, &b.source_groups))
            .then_with(|| prefix_ids(a).cmp(&prefix_ids(b)))
    });
    rules
}

fn prefix_ids(rule: &IngressRule) -> Vec<&str> {
    rule.prefix_lists.iter().map(|p| p.id.as_str()).collect()
}

fn rule(permission: &IpPermission, lists: &PrefixLists) -> IngressRule {
    let mut cidrs: Vec<String> = (permission.ip_ranges().iter())
        .filter_map(|r| r.cidr_ip().map(str::to_string))
        .chain(
            (permission.ipv6_ranges().iter()).filter_map(|r| r.cidr_ipv6().map(str::to_string)),
        )
        .collect();
    cidrs.sort();
    let mut source_groups: Vec<String> = (permission.user_id_group_pairs().iter())
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    source_groups.sort();
    let mut prefix_lists: Vec<PrefixListSource> = (permission.prefix_list_ids().iter())
        .filter_map(|p| p.prefix_list_id())
        .map(|id| prefix_list_source(id, lists))
        .collect();
    prefix_lists.sort_by(|a, b| a.id.cmp(&b.id));
    IngressRule {
        protocol: permission.ip_protocol().unwrap_or("-1").to_string(),
        // EC2 reports -1 for "all ports" on some protocols.
        from_port: permission.from_port().filter(|port| *port >= 0),
        to_port: permission.to_port().filter(|port| *port >= 0),
        cidrs,
        source_groups,
        prefix_lists,
    }
}

fn prefix_list_source(id: &str, lists: &PrefixLists) -> PrefixListSource {
    let (cidrs, unreadable) = match lists.get(id) {
        Some(Ok(cidrs)) => (cidrs.clone(), None),
        Some(Err(reason)) => (Vec::new(), Some(reason.clone())),
        None => (Vec::new(), Some(format!("prefix list {id} was not read"))),
    };
    PrefixListSource {
        id: id.to_string(),
        cidrs,
        unreadable,
    }
}

fn group_model(
    group: &Ec2Group,
    lists: &PrefixLists,
    account: &AwsAccount,
    region: &str,
) -> Ec2SecurityGroup {
    let id = group.group_id().unwrap_or_default().to_string();
    let arn = format!(
        "arn:{}:ec2:{region}:{}:security-group/{id}",
        partition_for_region(region),
        account.account_id
    );
    let name = group.group_name().unwrap_or_default().to_string();
    Ec2SecurityGroup {
        id,
        arn,
        region: region.to_string(),
        // Every VPC has exactly one group named `default`, and no other
        // group may take that name.
        is_default: name == "default",
        name,
        vpc_id: group.vpc_id().map(str::to_string),
        ingress: rules(group.ip_permissions(), lists),
        egress: rules(group.ip_permissions_egress(), lists),
    }
}

fn group_record(group: Ec2SecurityGroup) -> ResourceRecord {
    ResourceRecord {
        document: crate::model::Document::of(&group)
            .map_err(|e| format!("cannot serialise security group record: {e}")),
        resource_type: ResourceType::Ec2SecurityGroup,
        name: group.id,
        region: group.region,
        arn: group.arn,
    }
}

fn acl_record(
    acl: &aws_sdk_ec2::types::NetworkAcl,
    account: &AwsAccount,
    region: &str,
) -> ResourceRecord {
    let id = acl.network_acl_id().unwrap_or_default().to_string();
    let arn = format!(
        "arn:{}:ec2:{region}:{}:network-acl/{id}",
        partition_for_region(region),
        account.account_id
    );
    let mut entries: Vec<NaclEntry> = acl.entries().iter().map(nacl_entry).collect();
    entries.sort_by(|a, b| {
        (a.egress, a.rule_number, &a.cidr).cmp(&(b.egress, b.rule_number, &b.cidr))
    });
    let mut subnet_ids: Vec<String> = (acl.associations().iter())
        .filter_map(|a| a.subnet_id().map(str::to_string))
        .collect();
    subnet_ids.sort();
    let record = NetworkAcl {
        id: id.clone(),
        arn: arn.clone(),
        region: region.to_string(),
        vpc_id: acl.vpc_id().map(str::to_string),
        is_default: acl.is_default().unwrap_or(false),
        entries,
        subnet_ids,
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::NetworkAcl,
        name: id,
        region: region.to_string(),
        document: crate::model::Document::of(&record)
            .map_err(|e| format!("cannot serialise network ACL record: {e}")),
    }
}

fn nacl_entry(entry: &aws_sdk_ec2::types::NetworkAclEntry) -> NaclEntry {
    let ports = entry.port_range();
    NaclEntry {
        rule_number: entry.rule_number().unwrap_or_default(),
        egress: entry.egress().unwrap_or(false),
        protocol: entry.protocol().unwrap_or("-1").to_string(),
        from_port: ports.and_then(|p| p.from()),
        to_port: ports.and_then(|p| p.to()),
        cidr: (entry.cidr_block())
            .or(entry.ipv6_cidr_block())
            .unwrap_or_default()
            .to_string(),
        allow: entry.rule_action().map(|a| a.as_str()) == Some("allow"),
    }
}

/// Re-collects one security group (`…:security-group/sg-…`, with the
/// prefix lists it references) or network ACL (`…:network-acl/acl-…`).
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::regional(arn, "ec2", account)?;
    let region = parsed.region;
    let ec2 = crate::counted_client!(aws_sdk_ec2, "ec2", &account.in_region(region));
    let described = match resource_parts::<2>(parsed.resource) {
        Some(["security-group", id]) => describe_group(&ec2, account, region, id).await,
        Some(["network-acl", id]) => describe_acl(&ec2, account, region, id).await,
        _ => return Err(not_described(arn, &COLLECTOR)),
    };
    described.map_err(|error| format!("{arn}: {error}"))
}

fn not_found<E: ProvideErrorMetadata>(error: &E, code: &str) -> bool {
    error.code() == Some(code)
}

async fn describe_group(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let output = match ec2.describe_security_groups().group_ids(id).send().await {
        Ok(output) => output,
        Err(e) if not_found(&e, "InvalidGroup.NotFound") => return Ok(None),
        Err(e) => return Err(format!("DescribeSecurityGroups: {}", describe_error(&e))),
    };
    let groups: Vec<Ec2Group> = (output.security_groups().iter())
        .filter(|g| g.group_id() == Some(id))
        .cloned()
        .collect();
    let Some(group) = groups.first() else {
        return Ok(None);
    };
    let lists = prefix_lists(ec2, &referenced_prefix_lists(&groups)).await;
    Ok(Some(group_record(group_model(group, &lists, account, region))))
}

async fn describe_acl(
    ec2: &aws_sdk_ec2::Client,
    account: &AwsAccount,
    region: &str,
    id: &str,
) -> Described {
    let output = match ec2.describe_network_acls().network_acl_ids(id).send().await {
        Ok(output) => output,
        Err(e) if not_found(&e, "InvalidNetworkAclID.NotFound") => return Ok(None),
        Err(e) => return Err(format!("DescribeNetworkAcls: {}", describe_error(&e))),
    };
    Ok((output.network_acls().iter())
        .find(|a| a.network_acl_id() == Some(id))
        .map(|acl| acl_record(acl, account, region)))
}
