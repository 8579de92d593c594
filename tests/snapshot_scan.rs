//! Data at rest on the emulator through the real SDK: EBS volumes and the
//! snapshots and images the account owns (`ebs` collector), RDS manual
//! snapshots (`rds_snapshots`), and the RDS instance settings that keep a
//! database patched and undeletable by one call. Each control is seen
//! failing, then passing once the resource is fixed.
//!
//! moto 5.1.22 ignores DescribeSnapshots' `RestorableByUserIds` filter and
//! lists every snapshot as restorable by all; the collector confirms each
//! candidate with DescribeSnapshotAttribute, so the verdicts here are still
//! AWS's (tests/api_economy.rs counts those confirmations).

mod support;

use aws_sdk_ec2::types::{
    LaunchPermission, LaunchPermissionModifications, OperationType, SnapshotAttributeName,
};
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus, Store};
use std::collections::BTreeMap;
use support::Moto;

/// (name, control) → status for the controls of `prefixes`.
async fn statuses(
    store: &Store,
    prefixes: &[&str],
    name: &dyn Fn(&str) -> String,
) -> BTreeMap<(String, String), String> {
    store
        .findings(&FindingFilter {
            status: None,
            ..FindingFilter::default()
        })
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| prefixes.iter().any(|p| f.control_id.starts_with(p)))
        .map(|f| ((name(&f.arn), f.control_id.clone()), f.status.to_string()))
        .collect()
}

fn expect(items: &[(&str, &str, &str)]) -> BTreeMap<(String, String), String> {
    items
        .iter()
        .map(|(n, c, s)| ((n.to_string(), c.to_string()), s.to_string()))
        .collect()
}

async fn volume(ec2: &aws_sdk_ec2::Client, encrypted: bool) -> String {
    ec2.create_volume()
        .availability_zone(format!("{}a", support::REGION))
        .size(8)
        .encrypted(encrypted)
        .send()
        .await
        .expect("create volume")
        .volume_id()
        .expect("volume id")
        .to_string()
}

async fn snapshot(ec2: &aws_sdk_ec2::Client, volume: &str) -> String {
    ec2.create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .expect("create snapshot")
        .snapshot_id()
        .expect("snapshot id")
        .to_string()
}

async fn share_snapshot(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    operation: OperationType,
    with: Share,
) {
    let request = ec2
        .modify_snapshot_attribute()
        .snapshot_id(id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(operation);
    let request = match with {
        Share::Everyone => request.group_names("all"),
        Share::Account(account) => request.user_ids(account),
    };
    request.send().await.expect("modify snapshot attribute");
}

enum Share {
    Everyone,
    Account(&'static str),
}

#[tokio::test]
async fn volumes_snapshots_and_images_fail_when_unencrypted_or_public_and_pass_when_fixed() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let plain = volume(&ec2, false).await;
    let sealed = volume(&ec2, true).await;
    let public_snap = snapshot(&ec2, &plain).await;
    share_snapshot(&ec2, &public_snap, OperationType::Add, Share::Everyone).await;
    let shared_snap = snapshot(&ec2, &plain).await;
    share_snapshot(
        &ec2,
        &shared_snap,
        OperationType::Add,
        Share::Account("210987654321"),
    )
    .await;
    let private_snap = snapshot(&ec2, &sealed).await;
    let base = support::seed::any_image(&ec2).await;
    let instance =
        support::seed::instance(&ec2, &base, aws_sdk_ec2::types::HttpTokensState::Required).await;
    let image = ec2
        .create_image()
        .instance_id(&instance)
        .name("golden")
        .send()
        .await
        .expect("create image")
        .image_id()
        .expect("image id")
        .to_string();
    let public_permission = || {
        LaunchPermissionModifications::builder()
            .add(LaunchPermission::builder().group("all".into()).build())
            .build()
    };
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(public_permission())
        .send()
        .await
        .expect("publish image");

    let labels: BTreeMap<String, &str> = [
        (plain.clone(), "plain"),
        (sealed.clone(), "sealed"),
        (public_snap.clone(), "public-snap"),
        (shared_snap.clone(), "shared-snap"),
        (private_snap.clone(), "private-snap"),
        (image.clone(), "golden"),
    ]
    .into_iter()
    .collect();
    let name = |arn: &str| {
        let id = arn.rsplit('/').next().unwrap_or_default();
        labels.get(id).copied().unwrap_or("other").to_string()
    };

    let config = moto.config(&url, &["ebs"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    let judged = statuses(&store, &["ebs.", "ec2.image"], &name).await;
    let mine: BTreeMap<_, _> = judged
        .iter()
        .filter(|((n, _), _)| n != "other")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        mine,
        expect(&[
            ("plain", "ebs.volume_encrypted", "fail"),
            ("sealed", "ebs.volume_encrypted", "pass"),
            ("public-snap", "ebs.snapshot_not_public", "fail"),
            ("shared-snap", "ebs.snapshot_not_public", "pass"),
            ("private-snap", "ebs.snapshot_not_public", "pass"),
            ("golden", "ec2.image_not_public", "fail"),
        ])
    );
    // The instance's own root volume is collected too (moto leaves it unencrypted).
    assert!(
        judged
            .iter()
            .any(|((n, c), _)| n == "other" && c == "ebs.volume_encrypted"),
        "{judged:?}"
    );

    share_snapshot(&ec2, &public_snap, OperationType::Remove, Share::Everyone).await;
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .remove(LaunchPermission::builder().group("all".into()).build())
                .build(),
        )
        .send()
        .await
        .expect("unpublish image");
    scan_once(&config, &store).await.expect("rescan");
    let judged = statuses(&store, &["ebs.snapshot", "ec2.image"], &name).await;
    assert!(
        judged.values().all(|s| s == "pass"),
        "no public snapshot or image is left: {judged:?}"
    );
}

#[tokio::test]
async fn rds_snapshots_upgrades_and_deletion_protection_fail_and_pass() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let rds = moto.rds_in(support::REGION);
    support::seed::db_instance(
        &rds,
        support::seed::Db {
            id: "ledger",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 7,
            group: None,
        },
    )
    .await;
    rds.modify_db_instance()
        .db_instance_identifier("ledger")
        .auto_minor_version_upgrade(false)
        .deletion_protection(false)
        .apply_immediately(true)
        .send()
        .await
        .expect("turn both off");
    for id in ["ledger-public", "ledger-private"] {
        rds.create_db_snapshot()
            .db_instance_identifier("ledger")
            .db_snapshot_identifier(id)
            .send()
            .await
            .expect("snapshot");
    }
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("ledger-public")
        .attribute_name("restore")
        .values_to_add("all")
        .send()
        .await
        .expect("publish snapshot");

    let name = |arn: &str| arn.rsplit(':').next().unwrap_or_default().to_string();
    let config = moto.config(&url, &["rds", "rds_snapshots"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    let controls = [
        "rds.auto_minor_version_upgrade",
        "rds.deletion_protection",
        "rds.snapshot_not_public",
    ];
    assert_eq!(
        statuses(&store, &controls, &name).await,
        expect(&[
            ("ledger", "rds.auto_minor_version_upgrade", "fail"),
            ("ledger", "rds.deletion_protection", "fail"),
            ("ledger-public", "rds.snapshot_not_public", "fail"),
            ("ledger-private", "rds.snapshot_not_public", "pass"),
        ])
    );

    rds.modify_db_instance()
        .db_instance_identifier("ledger")
        .auto_minor_version_upgrade(true)
        .deletion_protection(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("turn both on");
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier("ledger-public")
        .attribute_name("restore")
        .values_to_remove("all")
        .values_to_add("210987654321")
        .send()
        .await
        .expect("share with one account instead");
    scan_once(&config, &store).await.expect("rescan");
    let judged = statuses(&store, &controls, &name).await;
    assert!(judged.values().all(|s| s == "pass"), "{judged:?}");
    assert_eq!(judged.len(), 4, "{judged:?}");
}
