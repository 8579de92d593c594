//! Lists whose order AWS does not define are recorded in a canonical
//! order, so that AWS returning them in another order is not drift: on the
//! emulator through the real SDK, each list is put back in the reverse
//! order and the rescan records no drift event.

mod support;

use aws_sdk_ec2::types::{IpPermission, IpRange};
use aws_sdk_s3::types::{ReplicationConfiguration, ReplicationRule, ReplicationRuleStatus};
use driftwatch::scan::scan_once;
use support::{Moto, REGION};

/// Drift events a scan recorded, as `kind arn` lines.
fn drift_of(reports: &[driftwatch::scan::ScopeReport]) -> Vec<String> {
    reports
        .iter()
        .flat_map(|r| &r.drift)
        .map(|d| format!("{:?} {} {:?}", d.kind, d.arn, d.changes))
        .collect()
}

fn replication_rule(id: &str, priority: i32, destination: &str) -> ReplicationRule {
    support::seed::replication_rule(
        id,
        priority,
        id,
        destination,
        ReplicationRuleStatus::Enabled,
    )
}

async fn put_replication(s3: &aws_sdk_s3::Client, rules: Vec<ReplicationRule>) {
    s3.put_bucket_replication()
        .bucket("ledger")
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role(format!(
                    "arn:aws:iam::{}:role/replication",
                    support::ACCOUNT_ID
                ))
                .set_rules(Some(rules))
                .build()
                .expect("replication"),
        )
        .send()
        .await
        .expect("put replication");
}

#[tokio::test]
async fn replication_rules_in_another_order_are_not_drift() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    for bucket in ["ledger", "replica-a", "replica-b"] {
        support::seed::create_bucket(&s3, bucket).await;
        support::seed::enable_versioning(
            &s3,
            bucket,
            aws_sdk_s3::types::BucketVersioningStatus::Enabled,
        )
        .await;
    }
    let a = || replication_rule("to-a", 1, "replica-a");
    let b = || replication_rule("to-b", 2, "replica-b");
    put_replication(&s3, vec![a(), b()]).await;
    let config = moto.config(&url, &["s3"]);
    scan_once(&config, &store).await.expect("scan");

    put_replication(&s3, vec![b(), a()]).await;
    let returned = s3
        .get_bucket_replication()
        .bucket("ledger")
        .send()
        .await
        .expect("get replication");
    let first = returned
        .replication_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.id());
    assert_eq!(first, Some("to-b"), "the emulator returns them reordered");
    let rescan = scan_once(&config, &store).await.expect("rescan");
    assert_eq!(drift_of(&rescan), Vec::<String>::new());

    // A real change still is.
    put_replication(&s3, vec![a()]).await;
    let changed = scan_once(&config, &store).await.expect("rescan");
    assert_eq!(drift_of(&changed).len(), 1, "{:?}", drift_of(&changed));
}

fn tcp(port: i32, cidrs: &[&str]) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .set_ip_ranges(Some(
            cidrs
                .iter()
                .map(|c| IpRange::builder().cidr_ip(*c).build())
                .collect(),
        ))
        .build()
}

#[tokio::test]
async fn security_group_rules_and_ranges_in_another_order_are_not_drift() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(REGION);
    let group = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .send()
        .await
        .expect("group")
        .group_id()
        .expect("group id")
        .to_string();
    let rules = [
        tcp(443, &["10.0.0.0/8", "192.168.0.0/16"]),
        tcp(22, &["172.16.0.0/12", "10.1.0.0/16"]),
    ];
    let authorize = |permissions: Vec<IpPermission>| {
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .set_ip_permissions(Some(permissions))
            .send()
    };
    authorize(rules.to_vec()).await.expect("authorize");
    let config = moto.config(&url, &["network"]);
    scan_once(&config, &store).await.expect("scan");

    ec2.revoke_security_group_ingress()
        .group_id(&group)
        .set_ip_permissions(Some(rules.to_vec()))
        .send()
        .await
        .expect("revoke");
    // The same rules, the rules and each one's ranges reversed.
    authorize(vec![
        tcp(22, &["10.1.0.0/16", "172.16.0.0/12"]),
        tcp(443, &["192.168.0.0/16", "10.0.0.0/8"]),
    ])
    .await
    .expect("authorize reversed");
    let rescan = scan_once(&config, &store).await.expect("rescan");
    assert_eq!(drift_of(&rescan), Vec::<String>::new());
}

#[tokio::test]
async fn eks_public_cidrs_in_another_order_are_not_drift() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let eks = moto.eks();
    let ec2 = moto.ec2_in(REGION);
    let vpc = support::seed::vpc(&ec2, "10.20.0.0/16").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.20.0.0/24")
        .send()
        .await
        .expect("subnet")
        .subnet()
        .and_then(|s| s.subnet_id())
        .expect("subnet id")
        .to_string();
    let cidrs = |list: &[&str]| {
        aws_sdk_eks::types::VpcConfigRequest::builder()
            .subnet_ids(&subnet)
            .endpoint_public_access(true)
            .set_public_access_cidrs(Some(list.iter().map(|c| c.to_string()).collect()))
            .build()
    };
    eks.create_cluster()
        .name("prod")
        .role_arn(format!("arn:aws:iam::{}:role/eks", support::ACCOUNT_ID))
        .resources_vpc_config(cidrs(&["203.0.113.0/24", "198.51.100.0/24"]))
        .send()
        .await
        .expect("cluster");
    let config = moto.config(&url, &["eks"]);
    scan_once(&config, &store).await.expect("scan");

    eks.update_cluster_config()
        .name("prod")
        .resources_vpc_config(cidrs(&["198.51.100.0/24", "203.0.113.0/24"]))
        .send()
        .await
        .expect("reorder the CIDRs");
    let returned = eks
        .describe_cluster()
        .name("prod")
        .send()
        .await
        .expect("describe");
    let first = returned
        .cluster()
        .and_then(|c| c.resources_vpc_config())
        .and_then(|v| v.public_access_cidrs().first().cloned());
    assert_eq!(
        first.as_deref(),
        Some("198.51.100.0/24"),
        "the emulator returns them reordered"
    );
    let rescan = scan_once(&config, &store).await.expect("rescan");
    assert_eq!(drift_of(&rescan), Vec::<String>::new());
}
