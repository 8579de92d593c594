//! The S3 slice end to end: buckets created through the real SDK in a real
//! moto server, scanned by driftwatch's real scan path into a real
//! PostgreSQL, then findings and drift read back as a user would.

mod support;

use aws_sdk_s3::types::{
    BucketVersioningStatus, PublicAccessBlockConfiguration, ReplicationRuleStatus,
    ServerSideEncryption,
};
use driftwatch::drift::DriftKind;
use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::Severity;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::{ScopeReport, scan_once};
use driftwatch::store::{DriftFilter, FindingFilter, ScanStatus, Store};
use serde_json::json;
use sqlx::Connection;
use std::collections::BTreeSet;
use support::seed::{
    block_public_access, compliant_bucket, create_bucket as create, enable_versioning, encrypt,
    put_policy, replicate, tls_policy,
};
use support::{ACCOUNT_ID, Moto};

/// The failing (bucket, control) pairs of the spec's S3 controls. moto
/// cannot enable MFA Delete, so `s3.mfa_delete` fails on every bucket here;
/// tests/data_events_scan.rs and its unit tests prove it.
async fn failing(store: &Store) -> BTreeSet<(String, String)> {
    support::failing(store, |arn| {
        arn.trim_start_matches("arn:aws:s3:::").to_string()
    })
    .await
    .into_iter()
    .filter(|(_, control)| ALL_S3.contains(&control.as_str()))
    .collect()
}

/// The S3 bucket controls of `controls.md`.
const ALL_S3: [&str; 6] = [
    "s3.tls_only",
    "s3.replication",
    "s3.encryption",
    "s3.public_access_block",
    "s3.versioning",
    "s3.access_logging",
];

fn only_report(reports: Vec<ScopeReport>) -> ScopeReport {
    assert_eq!(reports.len(), 1, "one account, one collector");
    reports.into_iter().next().expect("one report")
}

#[tokio::test]
async fn varied_buckets_fail_exactly_the_controls_the_spec_implies() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();

    create(&s3, "replica").await;
    create(&s3, "logs").await;
    compliant_bucket(&s3, "compliant", "replica", "logs").await;

    // Near-misses, each otherwise like `compliant` except for one control.
    compliant_bucket(&s3, "objects-only-deny", "replica", "logs").await;
    put_policy(
        &s3,
        "objects-only-deny",
        &json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": "arn:aws:s3:::objects-only-deny/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
        .to_string(),
    )
    .await;
    compliant_bucket(&s3, "allow-tls-true", "replica", "logs").await;
    put_policy(
        &s3,
        "allow-tls-true",
        &json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::allow-tls-true/*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})
        .to_string(),
    )
    .await;
    compliant_bucket(&s3, "suspended", "replica", "logs").await;
    enable_versioning(&s3, "suspended", BucketVersioningStatus::Suspended).await;
    compliant_bucket(&s3, "three-of-four", "replica", "logs").await;
    block_public_access(
        &s3,
        "three-of-four",
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(false)
            .build(),
    )
    .await;
    compliant_bucket(&s3, "sse-s3", "replica", "logs").await;
    encrypt(&s3, "sse-s3", ServerSideEncryption::Aes256, None).await;
    compliant_bucket(&s3, "replication-off", "replica", "logs").await;
    replicate(
        &s3,
        "replication-off",
        "replica",
        ReplicationRuleStatus::Disabled,
    )
    .await;
    // A bucket in another region replicating back: cross-region passes.
    let s3_eu = moto.s3_in("eu-west-1");
    s3_eu
        .create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create eu bucket");
    put_policy(&s3_eu, "eu-bucket", &tls_policy("eu-bucket")).await;

    let config = moto.config(&url, &["s3"]);
    let report = only_report(scan_once(&config, &store).await.expect("scan"));
    assert_eq!(report.status, ScanStatus::Ok, "{:?}", report.error);
    assert_eq!(report.scope.account_id, ACCOUNT_ID);
    assert_eq!(report.resources, 10);

    let mut expected = vec![
        ("objects-only-deny", "s3.tls_only"),
        ("allow-tls-true", "s3.tls_only"),
        ("suspended", "s3.versioning"),
        ("three-of-four", "s3.public_access_block"),
        ("replication-off", "s3.replication"),
    ];
    // The two helper buckets and the EU bucket (TLS-only policy, nothing else).
    for control in ALL_S3 {
        expected.push(("replica", control));
        expected.push(("logs", control));
        if control != "s3.tls_only" {
            expected.push(("eu-bucket", control));
        }
    }
    assert_eq!(failing(&store).await, support::pairs(&expected));

    let all = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let find = |bucket: &str, control: &str| {
        all.iter()
            .find(|f| f.arn == format!("arn:aws:s3:::{bucket}") && f.control_id == control)
            .unwrap_or_else(|| panic!("finding {bucket} {control}"))
    };
    assert_eq!(
        find("compliant", "s3.encryption").evidence["encryption"],
        "SSE-KMS"
    );
    assert_eq!(
        find("compliant", "s3.encryption").evidence["kms_key_id"],
        "alias/audit"
    );
    assert_eq!(
        find("sse-s3", "s3.encryption").evidence["encryption"],
        "SSE-S3"
    );
    assert_eq!(
        find("compliant", "s3.replication").evidence["destinations"][0]["scope"],
        "same-region"
    );
    assert_eq!(
        find("compliant", "s3.tls_only").evidence["sid"],
        "DenyInsecureTransport"
    );
    assert_eq!(find("compliant", "s3.tls_only").severity, Severity::High);
    let logs_evidence = find("logs", "s3.access_logging").evidence["message"].to_string();
    assert!(logs_evidence.contains("log target of"), "{logs_evidence}");
    let objects_only = find("objects-only-deny", "s3.tls_only").evidence["reasons"][0].to_string();
    assert!(
        objects_only.contains("not the bucket itself"),
        "{objects_only}"
    );
    let eu = find("eu-bucket", "s3.tls_only");
    assert_eq!(eu.region, "eu-west-1");
    assert_eq!(eu.status, FindingStatus::Pass);

    // First sighting of every bucket is a `created` drift event.
    let drift = store
        .drift_events(&DriftFilter::default())
        .await
        .expect("drift");
    assert_eq!(drift.len(), 10);
    assert!(drift.iter().all(|d| d.kind == DriftKind::Created));
}

/// Which transaction wrote each resource and finding row: a row that is
/// rewritten, even to the same values, gets a new one.
async fn row_versions(url: &str) -> Vec<String> {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(
        "SELECT 'resource ' || id || ' ' || xmin::text FROM resources
         UNION ALL
         SELECT 'finding ' || id || ' ' || xmin::text FROM findings
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .expect("row versions")
}

/// When the payments bucket's findings were last seen, all alike.
async fn last_seen(store: &Store) -> chrono::DateTime<chrono::Utc> {
    let findings = store
        .findings(&driftwatch::store::FindingFilter {
            arn: Some("arn:aws:s3:::payments".into()),
            ..Default::default()
        })
        .await
        .expect("findings");
    assert!(!findings.is_empty());
    let first = findings[0].last_seen_at;
    assert!(findings.iter().all(|f| f.last_seen_at == first));
    first
}

#[tokio::test]
async fn removing_a_tls_policy_is_one_drift_event_and_one_regression() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    create(&s3, "replica").await;
    create(&s3, "logs").await;
    compliant_bucket(&s3, "payments", "replica", "logs").await;
    let config = moto.config(&url, &["s3"]);

    scan_once(&config, &store).await.expect("first scan");
    // An unchanged rescan changes nothing and stores nothing new.
    let before = store.storage_counts().await.expect("counts");
    let versions_before = row_versions(&url).await;
    let seen_before = last_seen(&store).await;
    let unchanged = only_report(scan_once(&config, &store).await.expect("rescan"));
    assert!(unchanged.drift.is_empty(), "{:?}", unchanged.drift);
    assert!(
        unchanged.transitions.is_empty(),
        "{:?}",
        unchanged.transitions
    );
    let after = store.storage_counts().await.expect("counts");
    assert_eq!(
        after.documents, before.documents,
        "unchanged resources reuse their stored document"
    );
    assert_eq!(
        after.snapshots, before.snapshots,
        "an unchanged rescan adds no snapshot row: storage grows with change"
    );
    assert_eq!(
        row_versions(&url).await,
        versions_before,
        "an unchanged rescan rewrites no resource or finding row"
    );
    let seen_after = last_seen(&store).await;
    assert!(
        seen_after > seen_before,
        "findings are last seen by the rescan: {seen_before} then {seen_after}"
    );

    s3.delete_bucket_policy()
        .bucket("payments")
        .send()
        .await
        .expect("delete policy");
    let report = only_report(scan_once(&config, &store).await.expect("scan after change"));

    assert_eq!(report.drift.len(), 1, "{:?}", report.drift);
    let event = &report.drift[0];
    assert_eq!(event.arn, "arn:aws:s3:::payments");
    assert_eq!(event.kind, driftwatch::drift::DriftKind::Modified);
    let paths: Vec<&str> = event.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["policy"]);
    assert_eq!(event.changes[0].new, Some(serde_json::Value::Null));
    assert_eq!(
        event.changes[0]
            .old
            .as_ref()
            .map(|p| p["Statement"][0]["Effect"].clone()),
        Some(json!("Deny"))
    );

    let transitions: Vec<_> = report
        .transitions
        .iter()
        .map(|t| (&*t.arn, &*t.control_id, t.kind))
        .collect();
    assert_eq!(
        transitions,
        vec![(
            "arn:aws:s3:::payments",
            "s3.tls_only",
            TransitionKind::Regression
        )]
    );
    let stored = store
        .drift_events(&DriftFilter {
            arn: Some("arn:aws:s3:::payments".into()),
            ..DriftFilter::default()
        })
        .await
        .expect("drift");
    assert_eq!(stored.last().map(|d| d.kind.as_str()), Some("modified"));
    assert_eq!(
        stored.last().map(|d| d.changes[0]["path"].clone()),
        Some(json!("policy"))
    );

    // Putting it back resolves the finding.
    put_policy(&s3, "payments", &tls_policy("payments")).await;
    let fixed = only_report(scan_once(&config, &store).await.expect("scan after fix"));
    assert_eq!(fixed.drift.len(), 1);
    let kinds: Vec<_> = fixed
        .transitions
        .iter()
        .map(|t| (&*t.control_id, t.kind))
        .collect();
    assert_eq!(kinds, vec![("s3.tls_only", TransitionKind::Resolution)]);
    let finding = store
        .findings(&FindingFilter {
            status: None,
            control_id: Some("s3.tls_only".into()),
            ..Default::default()
        })
        .await
        .expect("findings")
        .into_iter()
        .find(|f| f.arn == "arn:aws:s3:::payments")
        .expect("payments finding");
    assert_eq!(finding.status, FindingStatus::Pass);
    assert!(finding.resolved_at.is_some());
}

#[tokio::test]
async fn a_deleted_bucket_is_reported_by_a_complete_scan_and_its_failures_resolve() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    create(&s3, "keep").await;
    create(&s3, "doomed").await;
    let config = moto.config(&url, &["s3"]);
    scan_once(&config, &store).await.expect("first scan");

    s3.delete_bucket()
        .bucket("doomed")
        .send()
        .await
        .expect("delete bucket");
    let report = only_report(scan_once(&config, &store).await.expect("second scan"));
    assert_eq!(report.status, ScanStatus::Ok);
    let drift: Vec<_> = report
        .drift
        .iter()
        .map(|e| (e.arn.as_str(), e.kind))
        .collect();
    assert_eq!(
        drift,
        vec![("arn:aws:s3:::doomed", driftwatch::drift::DriftKind::Deleted)]
    );
    let resolved: BTreeSet<_> = report
        .transitions
        .iter()
        .filter(|t| t.kind == TransitionKind::Resolution && t.new_status == "deleted")
        .map(|t| &*t.control_id)
        .filter(|id| ALL_S3.contains(id))
        .collect();
    assert_eq!(resolved, ALL_S3.into_iter().collect());
    assert!(
        failing(&store)
            .await
            .iter()
            .all(|(bucket, _)| bucket == "keep")
    );
}

#[tokio::test]
async fn a_failed_collection_is_never_mistaken_for_deletions() {
    let mut moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    create(&s3, "precious").await;
    let config = moto.config(&url, &["s3"]);
    scan_once(&config, &store).await.expect("first scan");
    let before = failing(&store).await;

    moto.kill();
    let report = only_report(
        scan_once(&config, &store)
            .await
            .expect("scan with AWS unreachable"),
    );
    assert_eq!(report.status, ScanStatus::Failed);
    assert!(report.drift.is_empty());
    let error = report.error.expect("failure reason recorded");
    assert!(!error.is_empty());

    let drift = store
        .drift_events(&DriftFilter::default())
        .await
        .expect("drift");
    assert!(
        drift.iter().all(|d| d.kind != DriftKind::Deleted),
        "{drift:?}"
    );
    assert_eq!(
        failing(&store).await,
        before,
        "findings untouched by a failed scan"
    );
    let scans = store.scans(10).await.expect("scans");
    assert_eq!(scans[0].status, ScanStatus::Failed);
    assert!(scans[0].error.is_some());
}

#[tokio::test]
async fn account_level_public_access_block_covers_buckets_without_their_own() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    create(&s3, "inherits").await;
    moto.s3control()
        .put_public_access_block()
        .account_id(ACCOUNT_ID)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("put account public access block");
    let config = moto.config(&url, &["s3"]);
    scan_once(&config, &store).await.expect("scan");
    let failing = failing(&store).await;
    assert!(
        !failing.contains(&("inherits".into(), "s3.public_access_block".into())),
        "{failing:?}"
    );
    let finding = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Pass),
            control_id: Some("s3.public_access_block".into()),
            account_id: Some(ACCOUNT_ID.into()),
            ..Default::default()
        })
        .await
        .expect("findings");
    assert_eq!(finding.len(), 1);
    assert!(
        finding[0].evidence["message"]
            .as_str()
            .unwrap_or_default()
            .contains("account level")
    );
}

#[tokio::test]
async fn disabled_controls_and_severity_overrides_apply() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    create(&moto.s3(), "bare").await;
    let mut config = moto.config(&url, &["s3"]);
    config.rules = toml::from_str(
        r#"
        ["s3.access_logging"]
        enabled = false
        ["s3.versioning"]
        severity = "critical"
        "#,
    )
    .expect("rules");
    scan_once(&config, &store).await.expect("scan");
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let findings: Vec<_> = findings
        .into_iter()
        .filter(|f| ALL_S3.contains(&f.control_id.as_str()))
        .collect();
    assert_eq!(findings.len(), 5);
    assert!(findings.iter().all(|f| f.control_id != "s3.access_logging"));
    let versioning = findings
        .iter()
        .find(|f| f.control_id == "s3.versioning")
        .expect("versioning");
    assert_eq!(versioning.severity, Severity::Critical);
    assert_eq!(
        findings[0].control_id, "s3.versioning",
        "sorted by severity first"
    );
}
