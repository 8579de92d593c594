//! A finished day of over 100 000 findings is stored and read back whole:
//! one JSONB value holds at most 255 MB, so the model keeps its findings in
//! parts. Seeded through the real recording path (back-dated scans).

mod support;

use chrono::{Duration, Utc};
use driftwatch::collect::Collection;
use driftwatch::model::{ResourceRecord, S3Bucket};
use driftwatch::report::{self, FINDINGS_PER_PART, Format};
use driftwatch::scan::record_collection;
use driftwatch::store::Scope;
use sqlx::Connection;

/// Seven controls evaluate each bucket: 101 500 findings.
const BUCKETS: usize = 14_500;

fn bucket(i: usize) -> ResourceRecord {
    let name = format!("scale-bucket-{i:06}");
    let arn = format!("arn:aws:s3:::{name}");
    support::bucket_record(&S3Bucket {
        name,
        arn,
        region: "us-east-1".into(),
        ..S3Bucket::default()
    })
}

#[tokio::test]
async fn a_day_of_over_100_000_findings_is_stored_in_parts_and_read_back_whole() {
    let (store, url) = support::database().await;
    let yesterday = Utc::now().date_naive() - Duration::days(1);
    let noon = yesterday.and_hms_opt(12, 0, 0).expect("noon").and_utc();
    let mut collection = Collection::finish(
        "s3",
        "global",
        noon,
        &driftwatch::clock::Clock::system(),
        Ok((0..BUCKETS).map(bucket).collect()),
    );
    collection.finished_at = noon + Duration::seconds(30);
    let scope = Scope {
        collector: "s3".into(),
        account_id: support::ACCOUNT_ID.into(),
        account_name: "scale".into(),
        region: "global".into(),
    };
    record_collection(&store, scope, &collection, &Default::default(), None, None)
        .await
        .expect("recorded");
    drop(collection);

    let built = report::report_for(&store, &Default::default(), yesterday, Utc::now())
        .await
        .expect("the day's report is built and stored");
    let findings = built.findings.len();
    assert!(findings >= 100_000, "only {findings} findings");
    assert_eq!(built.summary.resources as usize, BUCKETS);

    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (parts, largest, model): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM report_findings WHERE report_date = $1),
                (SELECT max(octet_length(findings::text))::bigint FROM report_findings
                  WHERE report_date = $1),
                (SELECT octet_length(model_text)::bigint FROM reports WHERE report_date = $1)",
    )
    .bind(yesterday)
    .fetch_one(&mut conn)
    .await
    .expect("stored sizes");
    assert_eq!(parts as usize, findings.div_ceil(FINDINGS_PER_PART));
    assert!(largest < 64 << 20, "a part of {largest} bytes");
    // The rest of the model (a first day's drift and new failures are as
    // long as the estate) is text, which PostgreSQL holds up to 1 GB.
    assert!(model > 0 && model < 1 << 30, "{model} bytes");

    // Asked again, the day is the stored one, findings in the same order.
    let again = report::report_for(&store, &Default::default(), yesterday, Utc::now())
        .await
        .expect("the stored report");
    assert_eq!(again, built);
    let mut csv = Vec::new();
    Format::Csv.write(&again, &mut csv).expect("csv");
    let rows = csv.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(rows, findings + 1, "a header and a row per finding");
}
