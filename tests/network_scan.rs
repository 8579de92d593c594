//! Security groups and network ACLs on the emulator through the real SDK:
//! each network control failing and passing, the exposure decided on the
//! union of the rules (two halves of the internet are the internet), a
//! managed prefix list resolved to its entries, and network ACL entries
//! evaluated in rule-number order.

mod support;

use aws_sdk_ec2::types::{
    AddPrefixListEntry, IpPermission, IpRange, Ipv6Range, PortRange, PrefixListId, RuleAction,
};
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus, Store};
use std::collections::{BTreeMap, BTreeSet};
use support::Moto;

fn tcp(port: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
}

fn v4(cidr: &str) -> IpRange {
    IpRange::builder().cidr_ip(cidr).build()
}

async fn group(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    name: &str,
    rules: Vec<IpPermission>,
) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .expect("create security group")
        .group_id()
        .expect("a group id")
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .set_ip_permissions(Some(rules))
        .send()
        .await
        .expect("authorize ingress");
    id
}

async fn acl_entry(
    ec2: &aws_sdk_ec2::Client,
    acl: &str,
    rule_number: i32,
    protocol: &str,
    ports: (i32, i32),
    action: RuleAction,
) {
    ec2.create_network_acl_entry()
        .network_acl_id(acl)
        .rule_number(rule_number)
        .protocol(protocol)
        .port_range(PortRange::builder().from(ports.0).to(ports.1).build())
        .cidr_block("0.0.0.0/0")
        .egress(false)
        .rule_action(action)
        .send()
        .await
        .expect("create network ACL entry");
}

async fn new_acl(ec2: &aws_sdk_ec2::Client, vpc: &str) -> String {
    ec2.create_network_acl()
        .vpc_id(vpc)
        .send()
        .await
        .expect("create network ACL")
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .expect("an ACL id")
        .to_string()
}

/// Every finding's status by (resource label, control).
async fn statuses(
    store: &Store,
    name: &impl Fn(&str) -> String,
) -> BTreeMap<(String, String), String> {
    let findings = store
        .findings(&FindingFilter {
            status: None,
            ..FindingFilter::default()
        })
        .await
        .expect("findings");
    findings
        .iter()
        .map(|f| ((name(&f.arn), f.control_id.clone()), f.status.to_string()))
        .collect()
}

#[tokio::test]
async fn security_groups_and_network_acls_fail_and_pass_as_aws_decides() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config());
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .expect("create vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("a vpc id")
        .to_string();

    // 0.0.0.0/1 + 128.0.0.0/1 on 22, in two rules: the whole internet.
    let halves = group(
        &ec2,
        &vpc,
        "halves",
        vec![
            tcp(22).ip_ranges(v4("0.0.0.0/1")).build(),
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(20)
                .to_port(25)
                .ip_ranges(v4("128.0.0.0/1"))
                .build(),
        ],
    )
    .await;
    // Two /8s, each no more than the threshold, together more.
    let eights = group(
        &ec2,
        &vpc,
        "eights",
        vec![
            tcp(22).ip_ranges(v4("52.0.0.0/8")).build(),
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(20)
                .to_port(25)
                .ip_ranges(v4("53.0.0.0/8"))
                .build(),
        ],
    )
    .await;
    let private = group(
        &ec2,
        &vpc,
        "private",
        vec![tcp(22).ip_ranges(v4("10.0.0.0/8")).build()],
    )
    .await;
    let rdp_v6 = group(
        &ec2,
        &vpc,
        "rdp-v6",
        vec![
            tcp(3389)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        ],
    )
    .await;
    let smb = group(
        &ec2,
        &vpc,
        "smb",
        vec![tcp(445).ip_ranges(v4("0.0.0.0/0")).build()],
    )
    .await;
    let anywhere = ec2
        .create_managed_prefix_list()
        .prefix_list_name("anywhere")
        .address_family("IPv4")
        .max_entries(5)
        .entries(AddPrefixListEntry::builder().cidr("0.0.0.0/0").build())
        .send()
        .await
        .expect("create prefix list")
        .prefix_list()
        .and_then(|p| p.prefix_list_id())
        .expect("a prefix list id")
        .to_string();
    let listed = group(
        &ec2,
        &vpc,
        "listed",
        vec![
            tcp(22)
                .prefix_list_ids(PrefixListId::builder().prefix_list_id(&anywhere).build())
                .build(),
        ],
    )
    .await;
    let default_group = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .expect("describe default group")
        .security_groups()
        .first()
        .and_then(|g| g.group_id())
        .expect("the VPC's default group")
        .to_string();

    // Deny 22 and 3389 at 100/110 before allowing everything at 200.
    let guarded = new_acl(&ec2, &vpc).await;
    acl_entry(&ec2, &guarded, 100, "6", (22, 22), RuleAction::Deny).await;
    acl_entry(&ec2, &guarded, 110, "6", (3389, 3389), RuleAction::Deny).await;
    acl_entry(&ec2, &guarded, 120, "17", (3389, 3389), RuleAction::Deny).await;
    acl_entry(&ec2, &guarded, 200, "6", (0, 65535), RuleAction::Allow).await;
    let open = new_acl(&ec2, &vpc).await;
    acl_entry(&ec2, &open, 100, "6", (0, 65535), RuleAction::Allow).await;

    let label: BTreeMap<String, &str> = [
        (halves.clone(), "halves"),
        (eights.clone(), "eights"),
        (private.clone(), "private"),
        (rdp_v6.clone(), "rdp-v6"),
        (smb.clone(), "smb"),
        (listed.clone(), "listed"),
        (default_group.clone(), "default-sg"),
        (guarded.clone(), "guarded"),
        (open.clone(), "open"),
    ]
    .into_iter()
    .collect();
    let name = |arn: &str| {
        let id = arn.rsplit('/').next().unwrap_or_default();
        label.get(id).copied().unwrap_or("other").to_string()
    };
    let failing = |all: BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        all.into_iter().filter(|(n, _)| n != "other").collect()
    };

    let config = moto.config(&url, &["network"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    assert_eq!(
        failing(support::failing(&store, &name).await),
        support::pairs(&[
            ("halves", "ec2.sg_no_public_admin_ports_ipv4"),
            ("eights", "ec2.sg_no_public_admin_ports_ipv4"),
            ("rdp-v6", "ec2.sg_no_public_admin_ports_ipv6"),
            ("smb", "ec2.sg_cifs_restricted"),
            ("listed", "ec2.sg_no_public_admin_ports_ipv4"),
            // moto, like AWS, gives a new VPC's default group an allow-all
            // egress rule.
            ("default-sg", "ec2.default_sg_restricts_all"),
            ("open", "vpc.nacl_no_public_admin_ports"),
        ])
    );
    let judged = statuses(&store, &name).await;
    for (resource, control) in [
        ("private", "ec2.sg_no_public_admin_ports_ipv4"),
        ("halves", "ec2.sg_no_public_admin_ports_ipv6"),
        ("guarded", "vpc.nacl_no_public_admin_ports"),
        ("smb", "ec2.sg_no_public_admin_ports_ipv4"),
    ] {
        assert_eq!(
            judged
                .get(&(resource.to_string(), control.to_string()))
                .map(String::as_str),
            Some("pass"),
            "{resource} {control}: {judged:?}"
        );
    }
    assert!(
        !judged.contains_key(&(
            "private".to_string(),
            "ec2.default_sg_restricts_all".to_string()
        )),
        "only default groups are judged for CIS 5.5"
    );

    // Fix them: narrow the eights to one /8, empty the default group, deny 22 ahead
    // of the open ACL's allow (3389 too).
    ec2.revoke_security_group_ingress()
        .group_id(&eights)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(20)
                .to_port(25)
                .ip_ranges(v4("53.0.0.0/8"))
                .build(),
        )
        .send()
        .await
        .expect("revoke ingress");
    ec2.revoke_security_group_egress()
        .group_id(&default_group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(v4("0.0.0.0/0"))
                .build(),
        )
        .send()
        .await
        .expect("revoke egress");
    acl_entry(&ec2, &open, 50, "6", (22, 22), RuleAction::Deny).await;
    acl_entry(&ec2, &open, 60, "6", (3389, 3389), RuleAction::Deny).await;

    let reports = scan_once(&config, &store).await.expect("rescan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    assert_eq!(
        failing(support::failing(&store, &name).await),
        support::pairs(&[
            ("halves", "ec2.sg_no_public_admin_ports_ipv4"),
            ("rdp-v6", "ec2.sg_no_public_admin_ports_ipv6"),
            ("smb", "ec2.sg_cifs_restricted"),
            ("listed", "ec2.sg_no_public_admin_ports_ipv4"),
        ])
    );
}
