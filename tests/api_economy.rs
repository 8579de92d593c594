//! What one scan costs in API calls, counted by a pass-through proxy in
//! front of moto: list calls answer everything they can, so the count grows
//! per resource only where AWS has no list form (S3 bucket configuration,
//! ECR lifecycle policies), and a rescan costs exactly what the scan did.

mod support;

use aws_sdk_ec2::types::LaunchTemplateHttpTokensState;
use driftwatch::scan::scan_once;
use driftwatch::store::ScanStatus;
use std::collections::BTreeMap;
use support::Moto;
use support::fault_proxy::{FaultProxy, Seen};

const TEMPLATES: usize = 5;
const VPCS: usize = 3;
const REPOSITORIES: usize = 4;
const BUCKETS: usize = 3;

/// Requests per operation; S3 (REST) requests by their subresource.
fn calls(seen: &[Seen]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in seen {
        let operation = if request.operation.is_empty() {
            let query = request.target.split_once('?').map_or("", |(_, q)| q);
            let first = query.split('&').next().unwrap_or_default();
            let name = first.split('=').next().unwrap_or_default();
            if name == "x-id" || name.is_empty() {
                request
                    .target
                    .split("x-id=")
                    .nth(1)
                    .map(|rest| rest.split('&').next().unwrap_or_default().to_string())
                    .unwrap_or_else(|| format!("{} {}", request.method, request.target))
            } else {
                format!("?{name}")
            }
        } else {
            request.operation.clone()
        };
        *counts
            .entry(format!("{}:{operation}", request.service))
            .or_insert(0) += 1;
    }
    counts
}

/// The counts of one service's operations (`prefix` is `"ec2:"`, …).
fn of_service<'a>(counts: &'a BTreeMap<String, usize>, prefix: &str) -> BTreeMap<&'a str, usize> {
    counts
        .iter()
        .filter(|(operation, _)| operation.starts_with(prefix))
        .map(|(operation, n)| (operation.as_str(), *n))
        .collect()
}

#[tokio::test]
async fn list_calls_answer_what_they_can_and_a_rescan_costs_the_same() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let logs = moto.logs();
    for i in 0..TEMPLATES {
        let tokens = if i % 2 == 0 {
            LaunchTemplateHttpTokensState::Required
        } else {
            LaunchTemplateHttpTokensState::Optional
        };
        let id = support::seed::launch_template(&ec2, &format!("template-{i}"), tokens).await;
        if i == 0 {
            support::seed::new_default_version(&ec2, &id, LaunchTemplateHttpTokensState::Optional)
                .await;
        }
    }
    for i in 0..VPCS {
        let vpc = support::seed::vpc(&ec2, &format!("10.{i}.0.0/16")).await;
        let group = format!("/flow/{vpc}");
        support::seed::log_group(&logs, &group, Some(365)).await;
        support::seed::flow_log_to_group(&ec2, &vpc, &group).await;
    }
    for i in 0..REPOSITORIES {
        let policy = (i % 2 == 0).then(|| support::seed::expire("sinceImagePushed", 30));
        support::seed::ecr_repository(&moto.ecr(), &format!("repository-{i}"), policy).await;
    }
    let s3 = moto.s3();
    for i in 0..BUCKETS {
        let bucket = format!("economy-bucket-{i}");
        support::seed::create_bucket(&s3, &bucket).await;
        support::seed::put_policy(&s3, &bucket, &support::seed::tls_policy(&bucket)).await;
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["s3", "ec2", "logs", "ecr"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());

    let first = scan_once(&config, &store).await.expect("first scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let count = |operation: &str| first_calls.get(operation).copied().unwrap_or(0);

    // Every launch template's default and latest versions in one call.
    assert_eq!(count("ec2:DescribeLaunchTemplates"), 1, "{first_calls:?}");
    assert_eq!(
        count("ec2:DescribeLaunchTemplateVersions"),
        1,
        "{first_calls:?}"
    );
    assert_eq!(count("ec2:DescribeVpcs"), 1, "{first_calls:?}");
    assert_eq!(count("ec2:DescribeInstances"), 1, "{first_calls:?}");
    // Once for the EC2 collector (VPCs), once for the Logs collector (which
    // groups flow logs write to): independent collectors, one listing each.
    assert_eq!(count("ec2:DescribeFlowLogs"), 2, "{first_calls:?}");
    assert_eq!(count("ecr:DescribeRepositories"), 1, "{first_calls:?}");
    // ECR has no batch form of GetLifecyclePolicy.
    assert_eq!(
        count("ecr:GetLifecyclePolicy"),
        REPOSITORIES,
        "{first_calls:?}"
    );
    // The EC2 collector reads its flow-log groups' retention with the same
    // listing the Logs collector uses: one call each, not one per group.
    assert_eq!(count("logs:DescribeLogGroups"), 2, "{first_calls:?}");
    // S3: one listing, asked with a parameter so that AWS includes each
    // bucket's region; then one call per configuration a control reads.
    assert_eq!(count("s3:ListBuckets"), 1, "{first_calls:?}");
    let listing = seen
        .iter()
        .find(|s| s.target.contains("x-id=ListBuckets"))
        .expect("ListBuckets seen");
    assert!(
        listing.target.contains("max-buckets="),
        "{}",
        listing.target
    );
    for subresource in [
        "?policy",
        "?encryption",
        "?replication",
        "?versioning",
        "?publicAccessBlock",
        "?logging",
        // Read by no built-in control: kept as context for custom
        // controls (tag policies) and for drift.
        "?tagging",
    ] {
        assert_eq!(
            count(&format!("s3:{subresource}")),
            BUCKETS,
            "{subresource}: {first_calls:?}"
        );
    }

    let second = scan_once(&config, &store).await.expect("rescan");
    assert!(
        second.iter().all(|r| r.status == ScanStatus::Ok),
        "{second:?}"
    );
    let all = proxy.seen();
    let second_calls = calls(&all[seen.len()..]);
    assert_eq!(
        second_calls, first_calls,
        "a rescan costs what the scan did"
    );
}

const TRAILS: usize = 3;

#[tokio::test]
async fn trails_cost_one_listing_per_collector_and_their_own_calls_only() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&moto.sdk_config());
    for i in 0..TRAILS {
        let bucket = format!("trail-bucket-{i}");
        support::seed::create_bucket(&s3, &bucket).await;
        cloudtrail
            .create_trail()
            .name(format!("trail-{i}"))
            .s3_bucket_name(&bucket)
            // One multi-region trail; the others single-region.
            .is_multi_region_trail(i == 0)
            .send()
            .await
            .expect("trail");
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["account", "cloudtrail"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let count = |operation: &str| first_calls.get(operation).copied().unwrap_or(0);

    // One listing per collector: the trails homed here, and the account's
    // multi-region trails.
    assert_eq!(count("cloudtrail:DescribeTrails"), 2, "{first_calls:?}");
    // Every trail's status; the multi-region one's again, with its
    // selectors, for the account.
    assert_eq!(
        count("cloudtrail:GetTrailStatus"),
        TRAILS + 1,
        "{first_calls:?}"
    );
    assert_eq!(count("cloudtrail:GetEventSelectors"), 1, "{first_calls:?}");
    // Each trail's bucket: where it is, then what the two bucket controls read.
    for subresource in [
        "?location",
        "?acl",
        "?policy",
        "?publicAccessBlock",
        "?logging",
    ] {
        assert_eq!(
            count(&format!("s3:{subresource}")),
            TRAILS,
            "{subresource}: {first_calls:?}"
        );
    }

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        calls(&all[seen.len()..]),
        first_calls,
        "a rescan costs what the scan did"
    );
}

/// ListKeys has no attributes, so each key costs its DescribeKey; only a
/// key whose rotation its owner chooses costs a GetKeyRotationStatus.
#[tokio::test]
async fn keys_cost_one_describe_each_and_rotation_only_where_it_is_a_choice() {
    const SYMMETRIC: usize = 3;
    const SIGNING: usize = 2;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config());
    for i in 0..SYMMETRIC + SIGNING {
        let mut request = kms.create_key();
        if i >= SYMMETRIC {
            request = request
                .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
                .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify);
        }
        request.send().await.expect("key");
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["kms"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let kms_calls = of_service(&first_calls, "kms:");
    let expected: BTreeMap<&str, usize> = [
        ("kms:ListKeys", 1),
        ("kms:DescribeKey", SYMMETRIC + SIGNING),
        ("kms:GetKeyRotationStatus", SYMMETRIC),
    ]
    .into_iter()
    .collect();
    assert_eq!(kms_calls, expected, "{first_calls:?}");

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        calls(&all[seen.len()..]),
        first_calls,
        "a rescan costs the same"
    );
}

/// Volumes, snapshots and images each cost one listing (snapshots two: the
/// account's own, and those restorable by all). On AWS the second listing
/// names only public snapshots, each confirmed by its attribute; moto 5.1.22
/// ignores `RestorableByUserIds` and names every snapshot, so here every
/// snapshot costs a confirmation: the pin shows the emulator's worst case.
#[tokio::test]
async fn ebs_costs_its_listings_and_one_confirmation_per_public_candidate() {
    const VOLUMES: usize = 3;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let mut volumes = Vec::new();
    for _ in 0..VOLUMES {
        let volume = ec2
            .create_volume()
            .availability_zone(format!("{}a", support::REGION))
            .size(8)
            .send()
            .await
            .expect("volume");
        volumes.push(volume.volume_id().expect("volume id").to_string());
    }
    for volume in &volumes {
        ec2.create_snapshot()
            .volume_id(volume)
            .send()
            .await
            .expect("snapshot");
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["ebs"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let ec2_calls = of_service(&first_calls, "ec2:");
    let expected: BTreeMap<&str, usize> = [
        ("ec2:DescribeVolumes", 1),
        ("ec2:DescribeSnapshots", 2),
        ("ec2:DescribeSnapshotAttribute", VOLUMES),
        ("ec2:DescribeImages", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(ec2_calls, expected, "{first_calls:?}");

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        calls(&all[seen.len()..]),
        first_calls,
        "a rescan costs the same"
    );
}

/// Security groups and network ACLs cost one paginated listing each, and
/// a managed prefix list one GetManagedPrefixListEntries however many
/// rules and groups reference it.
#[tokio::test]
async fn network_costs_one_listing_each_and_one_read_per_prefix_list() {
    const GROUPS: usize = 4;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let mut lists = Vec::new();
    for name in ["office", "partners"] {
        let created = ec2
            .create_managed_prefix_list()
            .prefix_list_name(name)
            .address_family("IPv4")
            .max_entries(5)
            .entries(
                aws_sdk_ec2::types::AddPrefixListEntry::builder()
                    .cidr("52.10.0.0/16")
                    .build(),
            )
            .send()
            .await
            .expect("prefix list");
        lists.push(
            created
                .prefix_list()
                .and_then(|p| p.prefix_list_id())
                .expect("a prefix list id")
                .to_string(),
        );
    }
    for i in 0..GROUPS {
        let id = ec2
            .create_security_group()
            .group_name(format!("group-{i}"))
            .description("referencing both lists")
            .send()
            .await
            .expect("group")
            .group_id()
            .expect("a group id")
            .to_string();
        let permissions = [22, 443].map(|port| {
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .set_prefix_list_ids(Some(
                    lists
                        .iter()
                        .map(|l| {
                            aws_sdk_ec2::types::PrefixListId::builder()
                                .prefix_list_id(l)
                                .build()
                        })
                        .collect(),
                ))
                .build()
        });
        ec2.authorize_security_group_ingress()
            .group_id(&id)
            .set_ip_permissions(Some(permissions.to_vec()))
            .send()
            .await
            .expect("authorize");
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["network"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let ec2_calls = of_service(&first_calls, "ec2:");
    let expected: BTreeMap<&str, usize> = [
        ("ec2:DescribeSecurityGroups", 1),
        ("ec2:GetManagedPrefixListEntries", lists.len()),
        ("ec2:DescribeNetworkAcls", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(ec2_calls, expected, "{first_calls:?}");

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        calls(&all[seen.len()..]),
        first_calls,
        "a rescan costs the same"
    );
}

/// The credential report and GetAccountAuthorizationDetails answer every
/// user at once: an account of many users costs the same handful of IAM
/// calls as an empty one, never one per user. moto answers the first
/// GenerateCredentialReport STARTED, so the first scan polls it once more.
#[tokio::test]
async fn iam_costs_the_same_handful_of_calls_for_any_number_of_users() {
    const USERS: usize = 25;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    for i in 0..USERS {
        let user = format!("user-{i}");
        iam.create_user()
            .user_name(&user)
            .send()
            .await
            .expect("user");
        iam.create_access_key()
            .user_name(&user)
            .send()
            .await
            .expect("key");
        iam.put_user_policy()
            .user_name(&user)
            .policy_name("inline")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#)
            .send()
            .await
            .expect("inline policy");
    }

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["iam"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let iam_calls = |seen: &[Seen]| -> BTreeMap<String, usize> {
        calls(seen)
            .into_iter()
            .filter(|(operation, _)| operation.starts_with("iam:"))
            .collect()
    };
    let expected = |generate: usize| -> BTreeMap<String, usize> {
        [
            ("iam:GenerateCredentialReport", generate),
            ("iam:GetCredentialReport", 1),
            ("iam:GetAccountAuthorizationDetails", 1),
            ("iam:GetAccountSummary", 1),
            ("iam:GetAccountPasswordPolicy", 1),
            ("iam:ListVirtualMFADevices", 1),
            ("iam:ListServerCertificates", 1),
        ]
        .into_iter()
        .map(|(operation, n)| (operation.to_string(), n))
        .collect()
    };
    assert_eq!(iam_calls(&seen), expected(2), "{:?}", calls(&seen));

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        iam_calls(&all[seen.len()..]),
        expected(1),
        "a rescan finds the report ready"
    );
}

/// The account in a region costs one call per setting (two for Config:
/// the recorders and their status; GuardDuty's GetDetector per detector,
/// at most one per region), whatever else the account holds.
#[tokio::test]
async fn a_region_costs_one_call_per_setting() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let detector = aws_sdk_guardduty::Client::new(&moto.sdk_config())
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("detector")
        .detector_id()
        .expect("detector id")
        .to_string();

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["account_region"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    let regional: BTreeMap<&str, usize> = first_calls
        .iter()
        .filter(|(operation, _)| !operation.starts_with("sts:"))
        .map(|(operation, n)| (operation.as_str(), *n))
        .collect();
    let get_detector = format!("guardduty:GET /detector/{detector}");
    let expected: BTreeMap<&str, usize> = [
        ("ec2:DescribeRegions", 1),
        ("ec2:GetEbsEncryptionByDefault", 1),
        ("config:DescribeConfigurationRecorders", 1),
        ("config:DescribeConfigurationRecorderStatus", 1),
        ("guardduty:GET /detector", 1),
        (get_detector.as_str(), 1),
        ("securityhub:GET /accounts", 1),
        // moto has no Access Analyzer and answers 500, which the SDK
        // retries once (max_attempts = 2 in tests); on AWS it is one call.
        ("access-analyzer:GET /analyzer", 2),
    ]
    .into_iter()
    .collect();
    assert_eq!(regional, expected, "{first_calls:?}");

    scan_once(&config, &store).await.expect("rescan");
    let all = proxy.seen();
    assert_eq!(
        calls(&all[seen.len()..]),
        first_calls,
        "a rescan costs the same"
    );
}

#[tokio::test]
async fn file_systems_cost_one_listing_however_many() {
    const FILE_SYSTEMS: usize = 4;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let efs = aws_sdk_efs::Client::new(&moto.sdk_config());
    for n in 0..FILE_SYSTEMS {
        efs.create_file_system()
            .creation_token(format!("fs-{n}"))
            .encrypted(n % 2 == 0)
            .send()
            .await
            .expect("file system");
    }
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["efs"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("scan");
    assert!(
        first
            .iter()
            .all(|r| r.status == ScanStatus::Ok && r.resources == FILE_SYSTEMS),
        "{first:?}"
    );
    let seen = proxy.seen();
    let first_calls = calls(&seen);
    // REST: GET /2015-02-01/file-systems?MaxItems=100, once for the region.
    let expected: BTreeMap<&str, usize> =
        [("elasticfilesystem:?MaxItems", 1)].into_iter().collect();
    assert_eq!(
        of_service(&first_calls, "elasticfilesystem:"),
        expected,
        "{first_calls:?}"
    );
    scan_once(&config, &store).await.expect("rescan");
    assert_eq!(
        calls(&proxy.seen()[seen.len()..]),
        first_calls,
        "a rescan costs the same"
    );
}
