//! Storage growth: records repeated scans of a synthetic fleet through the
//! real recording path (diff, evaluation, one transaction per scan) into a
//! real PostgreSQL and prints what each scan costs in time and bytes.
//!
//!   cargo bench --bench storage
//!
//! Environment: `BENCH_RESOURCES` (default 10000), `BENCH_SCANS` (10),
//! `BENCH_CHANGE_PERCENT` (1), `DRIFTWATCH_BENCH_DATABASE_URL` (an empty
//! database to use; default: a local PostgreSQL under target/bench-postgres,
//! started with the system's initdb/pg_ctl, with a fresh database per run).

use chrono::Utc;
use driftwatch::collect::Collection;
use driftwatch::model::{ResourceRecord, ResourceType, S3Bucket, Versioning};
use driftwatch::scan::record_collection;
use driftwatch::store::Store;
use driftwatch::store::local::LocalPostgres;
use serde_json::json;
use sqlx::Connection;
use std::time::Instant;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bucket(i: usize, generation: usize) -> ResourceRecord {
    let name = format!("bench-bucket-{i:06}");
    let arn = format!("arn:aws:s3:::{name}");
    let record = S3Bucket {
        name: name.clone(),
        arn: arn.clone(),
        region: "us-east-1".into(),
        policy: Some(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                "Action": "s3:*", "Resource": [arn.clone(), format!("{arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        })),
        versioning: Versioning {
            status: Some(
                if generation.is_multiple_of(2) {
                    "Enabled"
                } else {
                    "Suspended"
                }
                .into(),
            ),
            mfa_delete: None,
        },
        ..S3Bucket::default()
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::S3Bucket,
        name,
        region: "us-east-1".into(),
        document: driftwatch::model::Document::of(&record).map_err(|e| e.to_string()),
    }
}

async fn database() -> (String, Option<LocalPostgres>) {
    if let Ok(url) = std::env::var("DRIFTWATCH_BENCH_DATABASE_URL") {
        return (url, None);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-postgres");
    let server = LocalPostgres::start(&dir).expect("start the bench PostgreSQL");
    let name = format!("bench_{}", Utc::now().timestamp_micros());
    let mut admin = sqlx::PgConnection::connect(&server.admin_url())
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    (server.url_for(&name), Some(server))
}

/// Table and index bytes after a plain VACUUM, as autovacuum leaves them in
/// production: space of rows that updates replaced is reused, not grown.
async fn stored_bytes(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query("VACUUM")
        .execute(&mut conn)
        .await
        .expect("vacuum");
    sqlx::query_scalar(
        "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("table sizes")
}

/// The server's write-ahead log position: the difference across a scan is
/// every byte that scan made PostgreSQL write durably, updates in place
/// included, which table sizes after VACUUM do not show.
async fn wal_position(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
        .fetch_one(&mut conn)
        .await
        .expect("WAL position")
}

#[tokio::main]
async fn main() {
    let resources = env_number("BENCH_RESOURCES", 10_000);
    let scans = env_number("BENCH_SCANS", 10).max(3);
    let change_percent = env_number("BENCH_CHANGE_PERCENT", 1);
    let (url, server) = database().await;
    let store = Store::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let config = driftwatch::config::Config::defaults();
    let settings = config.rule_settings();
    let scope = driftwatch::store::Scope {
        collector: "s3".into(),
        account_id: "123456789012".into(),
        account_name: "bench".into(),
        region: "global".into(),
    };
    // Bucket i changes in scan k when i is among the first change_percent%
    // after rotating by k: a different 1% each time.
    let changed_per_scan = resources * change_percent / 100;
    let mut generation = vec![0usize; resources];

    println!(
        "storage benchmark: {resources} resources, {scans} scans, {change_percent}% changed per scan"
    );
    println!("scan  seconds  resources/s  bytes added  bytes/resource  WAL bytes/resource");
    let baseline = stored_bytes(&url).await;
    let mut after_first = baseline;
    let mut after_second = baseline;
    let mut previous = baseline;
    for k in 0..scans {
        if k > 0 {
            for j in 0..changed_per_scan {
                generation[(k * changed_per_scan + j) % resources] += 1;
            }
        }
        let collection = Collection::finish(
            "s3",
            "global",
            Utc::now(),
            &driftwatch::clock::Clock::system(),
            Ok((0..resources).map(|i| bucket(i, generation[i])).collect()),
        );
        let wal_before = wal_position(&url).await;
        let started = Instant::now();
        let report = record_collection(&store, scope.clone(), &collection, &settings, None, None)
            .await
            .expect("record");
        let seconds = started.elapsed().as_secs_f64();
        let wal = wal_position(&url).await - wal_before;
        let bytes = stored_bytes(&url).await;
        println!(
            "{:>4}  {:>7.2}  {:>11.0}  {:>11}  {:>14.1}  {:>18.1}   drift events: {}",
            k + 1,
            seconds,
            resources as f64 / seconds,
            bytes - previous,
            (bytes - previous) as f64 / resources as f64,
            wal as f64 / resources as f64,
            report.drift.len()
        );
        match k {
            0 => after_first = bytes,
            1 => after_second = bytes,
            _ => {}
        }
        previous = bytes;
    }
    // Rows are rewritten only when they change, so the second scan is
    // already steady; it is reported apart because any row rewritten there
    // leaves a first dead version whose space is reused only later.
    let per_resource_per_scan =
        (previous - after_second) as f64 / (resources as f64 * (scans - 2) as f64);
    println!(
        "first scan: {} bytes for {resources} resources ({:.0} bytes/resource)",
        after_first - baseline,
        (after_first - baseline) as f64 / resources as f64
    );
    println!(
        "second scan (row versions before reuse): {:.0} bytes/resource",
        (after_second - after_first) as f64 / resources as f64
    );
    println!(
        "steady state, scans 3-{scans} ({change_percent}% changed each): {per_resource_per_scan:.1} bytes per resource per scan"
    );
    store.close().await;
    if let Some(server) = server {
        let _ = server.stop();
    }
}
