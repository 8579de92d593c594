//! RDS across two regions through the real scan path: instances and an
//! Aurora cluster created with the real SDK in moto, findings and drift
//! read back from PostgreSQL.

mod support;

use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::Severity;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus, Store};
use std::collections::BTreeSet;
use support::Moto;
use support::seed::{Db, db_instance as create_instance, security_group};

const EU: &str = "eu-west-1";

/// The failing (database, control) pairs of the controls this file proves
/// (tests/snapshot_scan.rs proves minor-version upgrades and deletion
/// protection).
async fn failing(store: &Store) -> BTreeSet<(String, String)> {
    const PROVEN_HERE: [&str; 4] = [
        "rds.multi_az",
        "rds.not_public",
        "rds.encrypted",
        "rds.backups",
    ];
    support::failing(store, |arn| {
        arn.rsplit(':').next().unwrap_or_default().to_string()
    })
    .await
    .into_iter()
    .filter(|(_, control)| PROVEN_HERE.contains(&control.as_str()))
    .collect()
}

#[tokio::test]
async fn rds_controls_across_two_regions_then_a_flipped_setting_regresses() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let us = support::REGION;
    let (rds_us, ec2_us) = (moto.rds_in(us), moto.ec2_in(us));
    let (rds_eu, ec2_eu) = (moto.rds_in(EU), moto.ec2_in(EU));

    let private = security_group(&ec2_us, "db-private", 5432, "10.0.0.0/8").await;
    let open = security_group(&ec2_us, "db-open", 5432, "0.0.0.0/0").await;
    let https_only = security_group(&ec2_eu, "https-open", 443, "0.0.0.0/0").await;

    create_instance(
        &rds_us,
        Db {
            id: "orders-db",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 7,
            group: Some(&private),
        },
    )
    .await;
    create_instance(
        &rds_us,
        Db {
            id: "analytics-db",
            multi_az: false,
            public: true,
            encrypted: false,
            retention: 1,
            group: Some(&open),
        },
    )
    .await;
    create_instance(
        &rds_eu,
        Db {
            id: "eu-db",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 0,
            group: Some(&https_only),
        },
    )
    .await;

    // An Aurora cluster whose members sit in two zones.
    rds_eu
        .create_db_cluster()
        .db_cluster_identifier("ledger")
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .backup_retention_period(7)
        .send()
        .await
        .expect("create cluster");
    for (id, zone) in [("ledger-1", "eu-west-1a"), ("ledger-2", "eu-west-1b")] {
        rds_eu
            .create_db_instance()
            .db_instance_identifier(id)
            .db_cluster_identifier("ledger")
            .db_instance_class("db.r6g.large")
            .engine("aurora-postgresql")
            .availability_zone(zone)
            .send()
            .await
            .expect("create cluster member");
    }

    let mut config = moto.config(&url, &["rds"]);
    config.aws.default_regions = vec![us.to_string(), EU.to_string()];
    let reports = scan_once(&config, &store).await.expect("scan");
    let scopes: Vec<_> = reports
        .iter()
        .map(|r| (r.scope.region.as_str(), r.status, r.resources))
        .collect();
    assert_eq!(
        scopes,
        vec![(us, ScanStatus::Ok, 2), (EU, ScanStatus::Ok, 3 + 1)]
    );

    assert_eq!(
        failing(&store).await,
        support::pairs(&[
            ("analytics-db", "rds.multi_az"),
            ("analytics-db", "rds.not_public"),
            ("analytics-db", "rds.encrypted"),
            ("analytics-db", "rds.backups"),
            ("eu-db", "rds.backups"),
        ])
    );
    let all = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let not_public = all
        .iter()
        .find(|f| f.arn.ends_with(":db:analytics-db") && f.control_id == "rds.not_public")
        .expect("analytics not_public");
    assert_eq!(not_public.severity, Severity::Critical);
    let message = not_public.evidence["message"].as_str().unwrap_or_default();
    assert!(message.contains("PubliclyAccessible is true"), "{message}");
    assert!(
        message.contains(&format!("{open} admits 0.0.0.0/0 on port 5432")),
        "{message}"
    );
    let cluster = all
        .iter()
        .find(|f| f.arn.ends_with(":cluster:ledger") && f.control_id == "rds.multi_az")
        .expect("cluster multi_az");
    assert_eq!(cluster.status, FindingStatus::Pass);
    assert_eq!(cluster.region, EU);
    assert!(
        all.iter()
            .all(|f| !(f.arn.ends_with(":db:ledger-1") && f.control_id == "rds.multi_az")),
        "Aurora members leave availability to their cluster"
    );

    // orders-db loses Multi-AZ: one drift event on that field, one regression.
    rds_us
        .modify_db_instance()
        .db_instance_identifier("orders-db")
        .multi_az(false)
        .apply_immediately(true)
        .send()
        .await
        .expect("modify");
    let reports = scan_once(&config, &store).await.expect("second scan");
    let drift: Vec<_> = reports.iter().flat_map(|r| r.drift.iter()).collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].arn.ends_with(":db:orders-db"));
    let paths: Vec<&str> = drift[0].changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["multi_az"]);
    let transitions: Vec<_> = reports
        .iter()
        .flat_map(|r| r.transitions.iter())
        .map(|t| (&*t.control_id, t.kind))
        .collect();
    assert_eq!(
        transitions,
        vec![("rds.multi_az", TransitionKind::Regression)]
    );
}

#[tokio::test]
async fn allowed_cidrs_and_backup_days_come_from_config() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let us = support::REGION;
    // A public range outside the allowed CIDRs fails whatever its size; a
    // private one would not (controls.md, *Network exposure*).
    let group = security_group(&moto.ec2_in(us), "partner", 5432, "52.10.1.0/24").await;
    create_instance(
        &moto.rds_in(us),
        Db {
            id: "partner-db",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 14,
            group: Some(&group),
        },
    )
    .await;

    let mut config = moto.config(&url, &["rds"]);
    config.rules = toml::from_str(
        r#"
        ["rds.not_public"]
        allowed_cidrs = ["10.0.0.0/8"]
        ["rds.backups"]
        min_retention_days = 30
        "#,
    )
    .expect("rules");
    assert_eq!(config.validate(), vec![]);
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(
        failing(&store).await,
        support::pairs(&[
            ("partner-db", "rds.not_public"),
            ("partner-db", "rds.backups")
        ])
    );
}
