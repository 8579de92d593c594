//! The acceptance scan of the spec: two accounts (the default credentials'
//! and one reached by assuming a role) × two regions, every control of
//! `controls.md` present in both its pass and its fail state, scanned once
//! through the real path; then one setting flipped per service in one
//! account and region, and a second scan must report exactly those drifts
//! and regressions.

mod support;

use aws_sdk_ec2::types::{HttpTokensState, LaunchTemplateHttpTokensState};
use driftwatch::config::AccountConfig;
use driftwatch::drift::DriftKind;
use driftwatch::evaluate::CONTROLS;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use std::collections::{BTreeMap, BTreeSet};
use support::seed::{self, Account, Db};
use support::{ACCOUNT_ID, Moto, resource_name};

const OTHER_ACCOUNT: &str = "111111111111";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// The controls of `controls.md`'s table: this fleet is their acceptance.
/// Controls added since are proven by their own scan tests.
const SPEC: &[&str] = &[
    "s3.tls_only",
    "s3.replication",
    "s3.encryption",
    "s3.public_access_block",
    "s3.versioning",
    "s3.access_logging",
    "rds.multi_az",
    "rds.not_public",
    "rds.encrypted",
    "rds.backups",
    "vpc.flow_logs",
    "vpc.flow_log_retention",
    "ec2.imdsv2",
    "eks.endpoint_restricted",
    "eks.control_plane_logs",
    "logs.retention",
    "ecr.image_retention",
];

/// (account, region, resource, control) → status
type Table = BTreeMap<(String, String, String, String), String>;

/// What one account and region was seeded with, by expected verdict.
#[derive(Default)]
struct Expected {
    rows: Vec<(String, &'static str, &'static str)>,
}

impl Expected {
    fn add(&mut self, resource: impl Into<String>, control: &'static str, status: &'static str) {
        self.rows.push((resource.into(), control, status));
    }
}

/// Returns what to expect and the id of the template requiring IMDSv2.
async fn seed_region(account: &Account, region: &str) -> (Expected, String) {
    let mut expected = Expected::default();
    let ec2 = account.ec2(region);
    let logs = account.logs(region);

    seed::log_group(&logs, "flow-kept", Some(400)).await;
    seed::log_group(&logs, "flow-short", Some(30)).await;
    let kept = seed::vpc(&ec2, "10.10.0.0/16").await;
    seed::flow_log_to_group(&ec2, &kept, "flow-kept").await;
    let short = seed::vpc(&ec2, "10.11.0.0/16").await;
    seed::flow_log_to_group(&ec2, &short, "flow-short").await;
    let unlogged = seed::vpc(&ec2, "10.12.0.0/16").await;
    expected.add(&kept, "vpc.flow_logs", "pass");
    expected.add(&kept, "vpc.flow_log_retention", "pass");
    expected.add(&short, "vpc.flow_logs", "pass");
    expected.add(&short, "vpc.flow_log_retention", "fail");
    expected.add(&unlogged, "vpc.flow_logs", "fail");
    expected.add("flow-kept", "logs.retention", "pass");
    expected.add("flow-short", "logs.retention", "fail");

    let image = seed::any_image(&ec2).await;
    let v2 = seed::instance(&ec2, &image, HttpTokensState::Required).await;
    let v1 = seed::instance(&ec2, &image, HttpTokensState::Optional).await;
    expected.add(v2, "ec2.imdsv2", "pass");
    expected.add(v1, "ec2.imdsv2", "fail");
    let strict =
        seed::launch_template(&ec2, "strict", LaunchTemplateHttpTokensState::Required).await;
    let lax = seed::launch_template(&ec2, "lax", LaunchTemplateHttpTokensState::Optional).await;
    expected.add(&strict, "ec2.imdsv2", "pass");
    expected.add(&lax, "ec2.imdsv2", "fail");

    let eks = account.eks(region);
    seed::eks_cluster(&eks, "locked", false, true).await;
    seed::eks_cluster(&eks, "open", true, false).await;
    seed::log_group(&logs, "/aws/eks/locked/cluster", None).await;
    seed::log_group(&logs, "/aws/eks/open/cluster", Some(7)).await;
    expected.add("locked", "eks.endpoint_restricted", "pass");
    expected.add("locked", "eks.control_plane_logs", "pass");
    expected.add("open", "eks.endpoint_restricted", "fail");
    expected.add("open", "eks.control_plane_logs", "fail");
    expected.add("/aws/eks/locked/cluster", "logs.retention", "pass");
    expected.add("/aws/eks/open/cluster", "logs.retention", "fail");
    seed::nodegroup(
        &eks,
        "locked",
        "strict-nodes",
        Some(
            aws_sdk_eks::types::LaunchTemplateSpecification::builder()
                .id(&strict)
                .build(),
        ),
    )
    .await;
    seed::nodegroup(&eks, "locked", "generated-nodes", None).await;
    expected.add("strict-nodes", "ec2.imdsv2", "pass");
    expected.add("generated-nodes", "ec2.imdsv2", "fail");

    let rds = account.rds(region);
    let internal = seed::security_group(&ec2, "db-internal", 5432, "10.0.0.0/8").await;
    seed::db_instance(
        &rds,
        Db {
            id: "ledger-db",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 14,
            group: Some(&internal),
        },
    )
    .await;
    let open = seed::security_group(&ec2, "db-open", 5432, "0.0.0.0/0").await;
    seed::db_instance(
        &rds,
        Db {
            id: "scratch-db",
            multi_az: false,
            public: true,
            encrypted: false,
            retention: 1,
            group: Some(&open),
        },
    )
    .await;
    for control in [
        "rds.multi_az",
        "rds.not_public",
        "rds.encrypted",
        "rds.backups",
    ] {
        expected.add("ledger-db", control, "pass");
        expected.add("scratch-db", control, "fail");
    }

    let ecr = account.ecr(region);
    seed::ecr_repository(&ecr, "kept-images", None).await;
    seed::ecr_repository(
        &ecr,
        "purged-images",
        Some(seed::expire("sinceImagePushed", 30)),
    )
    .await;
    expected.add("kept-images", "ecr.image_retention", "pass");
    expected.add("purged-images", "ecr.image_retention", "fail");

    let _ = lax;
    (expected, strict)
}

async fn seed_buckets(account: &Account, prefix: &str) -> Expected {
    let s3 = account.s3();
    let (good, bare, replica, logs) = (
        format!("{prefix}-evidence"),
        format!("{prefix}-scratch"),
        format!("{prefix}-replica"),
        format!("{prefix}-access-logs"),
    );
    seed::create_bucket(&s3, &replica).await;
    seed::create_bucket(&s3, &logs).await;
    seed::compliant_bucket(&s3, &good, &replica, &logs).await;
    seed::create_bucket(&s3, &bare).await;
    let mut expected = Expected::default();
    // The S3 controls on buckets (the account-level one is on the account).
    let on_buckets = CONTROLS.iter().filter(|c| {
        SPEC.contains(&c.id)
            && c.resource_types
                .contains(&driftwatch::model::ResourceType::S3Bucket)
    });
    for control in on_buckets {
        let control = control.id;
        expected.add(&good, control, "pass");
        for failing in [&bare, &replica, &logs] {
            expected.add(failing, control, "fail");
        }
    }
    expected
}

async fn table(store: &driftwatch::store::Store, known: &BTreeSet<String>) -> Table {
    store
        .findings(&FindingFilter::default())
        .await
        .expect("findings")
        .into_iter()
        .map(|f| {
            (
                (f.account_id, f.region, resource_name(&f.arn), f.control_id),
                f.status.to_string(),
            )
        })
        .filter(|((_, _, resource, control), _)| {
            known.contains(resource) && SPEC.contains(&control.as_str())
        })
        .collect()
}

#[tokio::test]
async fn two_accounts_two_regions_every_control_in_both_states_then_one_flip_per_service() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let main = moto.account();
    let role_arn = format!("arn:aws:iam::{OTHER_ACCOUNT}:role/driftwatch-audit");
    let other = Account::assumed(&moto.sdk_config(), &role_arn).await;

    let mut expected = Table::new();
    let mut strict_templates = BTreeMap::new();
    for (account_id, account, prefix) in [
        (ACCOUNT_ID, &main, "main"),
        (OTHER_ACCOUNT, &other, "other"),
    ] {
        for row in seed_buckets(account, prefix).await.rows {
            // Buckets are scanned account-wide; their findings carry the
            // bucket's own region.
            expected.insert(
                (account_id.into(), REGIONS[0].into(), row.0, row.1.into()),
                row.2.into(),
            );
        }
        for region in REGIONS {
            let (seeded, strict) = seed_region(account, region).await;
            strict_templates.insert((account_id, region), strict);
            for row in seeded.rows {
                expected.insert(
                    (account_id.into(), region.into(), row.0, row.1.into()),
                    row.2.into(),
                );
            }
        }
    }
    let known: BTreeSet<String> = expected.keys().map(|k| k.2.clone()).collect();

    let mut config = moto.config(&url, &["s3", "rds", "ec2", "logs", "eks", "ecr"]);
    config.aws.default_regions = REGIONS.iter().map(|r| r.to_string()).collect();
    config.accounts = vec![
        AccountConfig {
            name: Some("main".into()),
            ..AccountConfig::default()
        },
        AccountConfig {
            name: Some("other".into()),
            role_arn: Some(role_arn.clone()),
            ..AccountConfig::default()
        },
    ];
    assert_eq!(config.validate(), vec![]);

    let reports = scan_once(&config, &store).await.expect("first scan");
    // 2 accounts × (S3 once + 5 regional collectors × 2 regions)
    assert_eq!(reports.len(), 2 * (1 + 5 * 2));
    for r in &reports {
        assert_eq!(r.status, ScanStatus::Ok, "{:?}: {:?}", r.scope, r.error);
    }
    let first = table(&store, &known).await;
    assert_eq!(
        first, expected,
        "the findings table matches the spec row by row"
    );

    // Every control of the spec (those on what the six collectors above
    // produce) appears passing and failing in every account, and each
    // regional control in every region.
    let scanned: Vec<_> = ["s3", "rds", "ec2", "logs", "eks", "ecr"]
        .iter()
        .filter_map(|name| driftwatch::collect::collector(name))
        .flat_map(|c| c.resource_types.iter().copied())
        .collect();
    let spec_controls = CONTROLS
        .iter()
        .filter(|c| SPEC.contains(&c.id) && c.resource_types.iter().any(|t| scanned.contains(t)));
    for control in spec_controls {
        for account in [ACCOUNT_ID, OTHER_ACCOUNT] {
            for status in ["pass", "fail"] {
                let regions: BTreeSet<&str> = first
                    .iter()
                    .filter(|((a, _, _, c), s)| a == account && c == control.id && *s == status)
                    .map(|((_, r, _, _), _)| r.as_str())
                    .collect();
                let wanted: BTreeSet<&str> = if control.id.starts_with("s3.") {
                    BTreeSet::from([REGIONS[0]])
                } else {
                    REGIONS.into_iter().collect()
                };
                assert_eq!(regions, wanted, "{} {status} in {account}", control.id);
            }
        }
    }

    // One flip per service, all in the other account's eu-west-1 (S3 is
    // account-wide).
    let eu = REGIONS[1];
    let s3 = other.s3();
    s3.delete_bucket_policy()
        .bucket("other-evidence")
        .send()
        .await
        .expect("drop the TLS-only policy");
    other
        .rds(eu)
        .modify_db_instance()
        .db_instance_identifier("ledger-db")
        .multi_az(false)
        .apply_immediately(true)
        .send()
        .await
        .expect("single-AZ");
    let strict = &strict_templates[&(OTHER_ACCOUNT, eu)];
    seed::new_default_version(
        &other.ec2(eu),
        strict,
        LaunchTemplateHttpTokensState::Optional,
    )
    .await;
    seed::disable_control_plane_logs(&other.eks(eu), "locked").await;
    seed::set_retention(&other.logs(eu), "flow-kept", 90).await;
    seed::put_lifecycle(
        &other.ecr(eu),
        "kept-images",
        seed::expire("sinceImagePushed", 14),
    )
    .await;

    let reports = scan_once(&config, &store).await.expect("second scan");
    assert!(reports.iter().all(|r| r.status == ScanStatus::Ok));
    let mut regressions: Vec<(String, String, String)> = reports
        .iter()
        .flat_map(|r| {
            r.transitions.iter().map(move |t| {
                (
                    r.scope.region.clone(),
                    resource_name(&t.arn),
                    t.control_id.to_string(),
                    t.kind,
                )
            })
        })
        .map(|(region, name, control, kind)| {
            assert_eq!(kind, TransitionKind::Regression, "{name} {control}");
            (region, name, control)
        })
        .collect();
    regressions.sort();
    let strict_nodes_expected = (
        "eu-west-1".to_string(),
        "strict-nodes".to_string(),
        "ec2.imdsv2".to_string(),
    );
    let mut wanted: Vec<(String, String, String)> = [
        ("global", "other-evidence", "s3.tls_only"),
        (eu, "ledger-db", "rds.multi_az"),
        (eu, strict.as_str(), "ec2.imdsv2"),
        (eu, "locked", "eks.control_plane_logs"),
        (eu, "flow-kept", "logs.retention"),
        (eu, "kept-images", "ecr.image_retention"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    // The node group launches the strict template's default version, so
    // it regresses with it: one flip, two findings, as in AWS.
    wanted.push(strict_nodes_expected);
    // The flow log's destination now keeps 90 days: the VPC writing there
    // regresses on vpc.flow_log_retention too.
    let kept_vpc = first
        .iter()
        .find(|((a, r, _, c), s)| {
            a == OTHER_ACCOUNT && r == eu && c == "vpc.flow_log_retention" && *s == "pass"
        })
        .map(|((_, _, name, _), _)| name.clone())
        .expect("the VPC logging to flow-kept");
    wanted.push((
        eu.to_string(),
        kept_vpc.clone(),
        "vpc.flow_log_retention".to_string(),
    ));
    wanted.sort();
    assert_eq!(regressions, wanted);

    let drifted: BTreeSet<String> = reports
        .iter()
        .flat_map(|r| r.drift.iter())
        .map(|d| {
            assert_eq!(d.kind, DriftKind::Modified, "{d:?}");
            resource_name(&d.arn)
        })
        .collect();
    assert_eq!(
        drifted,
        BTreeSet::from([
            "other-evidence".to_string(),
            "ledger-db".to_string(),
            strict.clone(),
            "strict-nodes".to_string(),
            "locked".to_string(),
            "flow-kept".to_string(),
            kept_vpc,
            "kept-images".to_string(),
        ])
    );
    // The main account and the other account's us-east-1 resources are
    // untouched (its buckets, listed in us-east-1, are account-wide).
    let second = table(&store, &known).await;
    for (key, status) in &first {
        if key.0 == ACCOUNT_ID || (key.1 == REGIONS[0] && !key.3.starts_with("s3.")) {
            assert_eq!(second.get(key), Some(status), "{key:?}");
        }
    }
}
