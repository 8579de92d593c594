//! The account as a resource per region: EBS encryption by default read
//! in each region scanned, recorded with snapshots, drift and findings
//! (`ec2.ebs_default_encryption`) like any other resource. (The detection
//! settings on the same record are tested in tests/regional_scan.rs.)
//!
//! moto reports every region as `opt-in-not-required`, so the "region not
//! enabled" state cannot be produced here; the collector records it from
//! DescribeRegions' `OptInStatus` without calling the region.

mod support;

use driftwatch::scan::scan_once;
use sqlx::Connection;
use support::{ACCOUNT_ID, Moto, REGION};

/// The resource's latest stored document, as a scan recorded it.
async fn document(url: &str, arn: &str) -> serde_json::Value {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(
        "SELECT d.body FROM resources r
           JOIN resource_snapshots s ON s.resource_id = r.id
           JOIN documents d ON d.hash = s.document_hash
          WHERE r.arn = $1 ORDER BY s.scan_id DESC LIMIT 1",
    )
    .bind(arn)
    .fetch_one(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("no document stored for {arn}: {e}"))
}

#[tokio::test]
async fn each_region_scanned_is_a_resource_and_turning_ebs_encryption_on_is_drift() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let other = "eu-west-1";
    let mut config = moto.config(&url, &["account_region"]);
    config.aws.default_regions = vec![REGION.to_string(), other.to_string()];
    let ec2_other = moto.ec2_in(other);
    ec2_other
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .expect("enable EBS encryption by default");

    let reports = scan_once(&config, &store).await.expect("scan");
    assert_eq!(reports.len(), 2, "one scope per region");
    let here = format!("arn:aws:account:{REGION}:{ACCOUNT_ID}:account");
    let there = format!("arn:aws:account:{other}:{ACCOUNT_ID}:account");
    assert_eq!(
        document(&url, &there).await["ebs_encryption_by_default"]["value"],
        true
    );
    let created = document(&url, &here).await;
    assert_eq!(created["ebs_encryption_by_default"]["value"], false);
    assert_eq!(created["enabled"], true, "{created}");

    moto.ec2_in(REGION)
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .expect("enable here too");
    let ebs_failing = || async {
        support::failing(&store, |arn| arn.to_string())
            .await
            .into_iter()
            .filter(|(_, control)| control == "ec2.ebs_default_encryption")
            .collect::<std::collections::BTreeSet<_>>()
    };
    let failing = ebs_failing().await;
    assert_eq!(
        failing,
        support::pairs(&[(here.as_str(), "ec2.ebs_default_encryption")]),
        "off in {REGION} only"
    );
    let reports = scan_once(&config, &store).await.expect("rescan");
    assert!(ebs_failing().await.is_empty());
    let resolutions: Vec<_> = reports
        .iter()
        .flat_map(|r| &r.transitions)
        .map(|t| (&*t.control_id, t.kind))
        .collect();
    assert_eq!(
        resolutions,
        [(
            "ec2.ebs_default_encryption",
            driftwatch::evaluate::lifecycle::TransitionKind::Resolution
        )]
    );
    let drift: Vec<_> = reports.iter().flat_map(|r| &r.drift).collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(
        document(&url, &here).await["ebs_encryption_by_default"]["value"],
        true
    );
    let paths: Vec<&str> = drift[0].changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        ["ebs_encryption_by_default.value"],
        "the drift names the setting"
    );
}

#[tokio::test]
async fn the_accounts_own_block_public_access_fails_until_all_four_settings_are_on() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let config = moto.config(&url, &["account"]);
    let account = format!("arn:aws:account::{ACCOUNT_ID}:account");
    let block = |restrict: bool| {
        aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(restrict)
            .build()
    };
    let put = |restrict: bool| {
        moto.s3control()
            .put_public_access_block()
            .account_id(ACCOUNT_ID)
            .public_access_block_configuration(block(restrict))
            .send()
    };
    let control = "s3.account_public_access_block";
    let failing_here = || async {
        support::failing(&store, |arn| arn.to_string())
            .await
            .contains(&(account.clone(), control.to_string()))
    };

    scan_once(&config, &store).await.expect("scan");
    assert!(failing_here().await, "no account-level block");

    put(false).await.expect("three of four settings");
    scan_once(&config, &store).await.expect("rescan");
    assert!(failing_here().await, "RestrictPublicBuckets off");
    assert_eq!(
        document(&url, &account).await["s3_public_access_block"]["restrict_public_buckets"],
        false
    );

    put(true).await.expect("all four settings");
    let reports = scan_once(&config, &store).await.expect("rescan");
    assert!(!failing_here().await);
    let kinds: Vec<_> = reports
        .iter()
        .flat_map(|r| &r.transitions)
        .filter(|t| t.control_id == control)
        .map(|t| t.kind)
        .collect();
    assert_eq!(
        kinds,
        [driftwatch::evaluate::lifecycle::TransitionKind::Resolution]
    );
}
