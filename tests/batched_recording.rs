//! A scope larger than one recording batch is recorded as exactly as a
//! small one: drift, findings and deletions across batch boundaries, a
//! repeated ARN, a failed description, all in the scope's one transaction.
//! Synthetic S3 records through the real recording path and PostgreSQL.

mod support;

use chrono::Utc;
use driftwatch::collect::Collection;
use driftwatch::drift::DriftKind;
use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::model::{ResourceRecord, S3Bucket, Versioning};
use driftwatch::scan::{ScopeReport, record_collection};
use driftwatch::store::{FindingFilter, Scope, Store};
use sqlx::Connection;

/// More than two batches of 1 000.
const BUCKETS: usize = 2_500;

fn name(i: usize) -> String {
    format!("batch-bucket-{i:05}")
}

fn bucket(i: usize, versioned: bool) -> ResourceRecord {
    let name = name(i);
    let arn = format!("arn:aws:s3:::{name}");
    support::bucket_record(&S3Bucket {
        name,
        arn,
        region: "us-east-1".into(),
        versioning: Versioning {
            status: versioned.then(|| "Enabled".to_string()),
            mfa_delete: None,
        },
        ..S3Bucket::default()
    })
}

fn scope() -> Scope {
    Scope {
        collector: "s3".into(),
        account_id: support::ACCOUNT_ID.into(),
        account_name: "batches".into(),
        region: "global".into(),
    }
}

async fn record(store: &Store, resources: Vec<ResourceRecord>) -> ScopeReport {
    let collection = Collection::finish(
        "s3",
        "global",
        Utc::now(),
        &driftwatch::clock::Clock::system(),
        Ok(resources),
    );
    record_collection(store, scope(), &collection, &Default::default(), None, None)
        .await
        .expect("recorded")
}

fn arn(i: usize) -> String {
    format!("arn:aws:s3:::{}", name(i))
}

#[tokio::test]
async fn drift_and_findings_are_exact_across_batches() {
    let (store, url) = support::database().await;
    let first = record(&store, (0..BUCKETS).map(|i| bucket(i, false)).collect()).await;
    assert_eq!(first.drift.len(), BUCKETS);
    assert!(first.drift.iter().all(|e| e.kind == DriftKind::Created));
    assert!(
        first.drift.windows(2).all(|w| w[0].arn < w[1].arn),
        "drift in ARN order"
    );

    // Changes in the first and last batch, one deletion in the middle, one
    // new resource, and a listing that repeats two: a known one as it is,
    // and a new one whose last copy (the one kept) differs.
    let second = || {
        let mut listed: Vec<ResourceRecord> = (0..=BUCKETS)
            .filter(|&i| i != 1_500)
            .map(|i| bucket(i, i == 5 || i == 2_400))
            .collect();
        listed.insert(10, bucket(BUCKETS + 1, false));
        listed.push(bucket(42, false));
        listed.push(bucket(BUCKETS + 1, true));
        listed
    };
    let report = record(&store, second()).await;

    let drift: Vec<(&str, DriftKind)> = report
        .drift
        .iter()
        .map(|e| (e.arn.as_str(), e.kind))
        .collect();
    let (five, last, gone, new) = (arn(5), arn(2_400), arn(1_500), arn(BUCKETS));
    let repeated = arn(BUCKETS + 1);
    assert_eq!(
        drift,
        vec![
            (five.as_str(), DriftKind::Modified),
            (last.as_str(), DriftKind::Modified),
            (new.as_str(), DriftKind::Created),
            (repeated.as_str(), DriftKind::Created),
            (gone.as_str(), DriftKind::Deleted),
        ]
    );
    assert_eq!(report.resources, BUCKETS + 1, "one record per ARN");
    let versioning = store
        .findings(&FindingFilter {
            arn: Some(repeated.clone()),
            control_id: Some("s3.versioning".into()),
            ..FindingFilter::default()
        })
        .await
        .expect("findings");
    assert_eq!(versioning.len(), 1);
    assert_eq!(
        versioning[0].status,
        FindingStatus::Pass,
        "the last copy listed is the one recorded"
    );
    let changed = &report.drift[0].changes;
    assert!(
        changed.iter().any(|c| c.path.starts_with("versioning")),
        "{changed:?}"
    );
    let resolved: Vec<&str> = report
        .transitions
        .iter()
        .filter(|t| t.kind == TransitionKind::Resolution && t.control_id == "s3.versioning")
        .map(|t| &*t.arn)
        .collect();
    // Fixed, and gone (the risk went with it).
    assert_eq!(resolved, vec![five.as_str(), last.as_str(), gone.as_str()]);

    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let counts = |scan_id: i64| {
        sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT count(*) FROM resources WHERE deleted_at IS NULL),
                    (SELECT count(*) FROM resource_snapshots WHERE scan_id = $1)",
        )
        .bind(scan_id)
    };
    let (live, snapshots) = counts(report.scan_id)
        .fetch_one(&mut conn)
        .await
        .expect("counts");
    assert_eq!(live as usize, BUCKETS + 1, "one deleted, two created");
    // Only what changed gets a snapshot: two modified, two new.
    assert_eq!(snapshots, 4);

    // A description that fails is unknown, neither drift nor a deletion,
    // and the listing is then partial: nothing else is deleted either.
    let mut third = second();
    third.retain(|r| r.arn != arn(2_000));
    third[700].document = Err("AccessDenied: GetBucketPolicy".into());
    let failing = third[700].arn.clone();
    let partial = record(&store, third).await;
    assert!(partial.drift.is_empty(), "{:?}", partial.drift);
    let findings = store
        .findings(&FindingFilter {
            arn: Some(failing),
            ..FindingFilter::default()
        })
        .await
        .expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f.status == FindingStatus::Unknown),
        "a failed description is unknown, never pass"
    );
    let (live, snapshots) = counts(partial.scan_id)
        .fetch_one(&mut conn)
        .await
        .expect("counts");
    assert_eq!(live as usize, BUCKETS + 1);
    assert_eq!(snapshots, 1, "the failure is recorded");

    // The second listing again: the failed one is described again, and
    // its state is what it was: no drift.
    let again = record(&store, second()).await;
    assert!(again.drift.is_empty(), "{:?}", again.drift);
}
