//! Retention: history older than the window is pruned, but the latest
//! snapshot of every live resource survives whatever its age, so evidence
//! of the current state and the next diff are never lost.

mod support;

use driftwatch::scan::scan_once;
use driftwatch::store::DriftFilter;
use sqlx::Connection;
use support::Moto;
use support::seed;

async fn count(conn: &mut sqlx::PgConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

#[tokio::test]
async fn pruning_keeps_each_live_resources_latest_snapshot() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    seed::create_bucket(&s3, "steady").await;
    seed::create_bucket(&s3, "changing").await;
    seed::create_bucket(&s3, "doomed").await;
    let config = moto.config(&url, &["s3"]);

    scan_once(&config, &store).await.expect("scan 1");
    seed::enable_versioning(
        &s3,
        "changing",
        aws_sdk_s3::types::BucketVersioningStatus::Enabled,
    )
    .await;
    scan_once(&config, &store).await.expect("scan 2");
    s3.delete_bucket()
        .bucket("doomed")
        .send()
        .await
        .expect("delete bucket");
    scan_once(&config, &store).await.expect("scan 3");

    // Everything so far happened "400 days ago".
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    for sql in [
        "UPDATE scans SET started_at = started_at - interval '400 days',
                          finished_at = finished_at - interval '400 days'",
        "UPDATE drift_events SET detected_at = detected_at - interval '400 days'",
        "UPDATE finding_transitions SET at = at - interval '400 days'",
    ] {
        sqlx::query(sql)
            .execute(&mut conn)
            .await
            .expect("age history");
    }
    // Snapshots are written on change: 3 first, then the versioning change.
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM resource_snapshots").await,
        4
    );

    let report = store
        .prune(chrono::Utc::now() - chrono::Duration::days(365))
        .await
        .expect("prune");
    // steady keeps its only snapshot, changing its latest; the older one of
    // changing and the deleted bucket's go.
    assert_eq!(report.snapshots, 2, "{report:?}");
    assert_eq!(
        report.drift_events, 5,
        "3 created, 1 modified, 1 deleted: {report:?}"
    );
    let kept: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.name, rs.scan_id FROM resource_snapshots rs JOIN resources r ON r.id = rs.resource_id
          ORDER BY r.name",
    )
    .fetch_all(&mut conn)
    .await
    .expect("kept snapshots");
    let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["changing", "steady"]);
    assert!(
        kept[0].1 > kept[1].1,
        "changing's state is newer than steady's"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM documents").await,
        2,
        "only the documents still referenced"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM drift_events").await,
        0
    );
    // Current findings stay: they are the present, not history.
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM findings WHERE retired_at IS NULL AND resolved_at IS NULL AND status = 'fail'").await,
        i64::try_from(2 * driftwatch::evaluate::controls_for(driftwatch::model::ResourceType::S3Bucket).count() - 1)
            .expect("a small count"),
        "steady: every bucket control failing, changing: all but versioning (now passing)"
    );

    // The next scan diffs against the kept snapshots: nothing drifted.
    let reports = scan_once(&config, &store).await.expect("scan after prune");
    assert!(reports.iter().all(|r| r.drift.is_empty()), "{reports:?}");
    let drift = store
        .drift_events(&DriftFilter::default())
        .await
        .expect("drift");
    assert!(drift.is_empty(), "{drift:?}");
    // Old but current snapshots stay, however often the prune runs.
    let cutoff = chrono::Utc::now() - chrono::Duration::days(365);
    let again = store.prune(cutoff).await.expect("prune again");
    assert_eq!(again, driftwatch::store::jobs::PruneReport::default());
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM resource_snapshots").await,
        2
    );
}
