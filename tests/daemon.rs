//! `driftwatch run` as a service: cron-scheduled scans against moto, the
//! HTTP endpoint, several replicas sharing one Postgres, a replica killed
//! mid-scan, and Postgres stopped and restarted under a running daemon.

mod support;

use driftwatch::clock::Clock;
use driftwatch::config::Config;
use driftwatch::daemon::{self, RunningDaemon};
use driftwatch::store::Store;
use driftwatch::store::local::{self, LocalPostgres};
use sqlx::Connection;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::Moto;
use support::fault_proxy::{Action, Fault, FaultProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A daemon config scanning S3 every `every` seconds.
fn every_seconds(moto_endpoint: &str, url: &str, every: u32) -> Config {
    let mut config = support::config_with_collectors(&["s3"]);
    config.database.url = Some(url.into());
    config.aws.endpoint_url = Some(moto_endpoint.to_string());
    config.aws.max_attempts = 2;
    config.collectors.get_mut("s3").schedule = format!("*/{every} * * * * *");
    config.http.bind = "127.0.0.1:0".into();
    config.daemon.poll_seconds = 1;
    config.daemon.lease_seconds = 6;
    config.daemon.grace_seconds = 10;
    assert_eq!(config.validate(), vec![]);
    config
}

async fn start(config: &Config, store: &Store, owner: &str) -> RunningDaemon {
    daemon::start(Arc::new(config.clone()), store.clone(), owner.to_string())
        .await
        .expect("daemon starts")
}

/// GET `path` with HTTP/1.0; returns the status code and the body.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the daemon");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{auth}\r\n").as_bytes())
        .await
        .expect("send request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

async fn query_i64(url: &str, sql: &'static str) -> i64 {
    try_query_i64(url, sql).await.expect("query")
}

async fn try_query_i64(url: &str, sql: &'static str) -> Result<i64, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query_scalar(sql).fetch_one(&mut conn).await
}

/// Polls until `sql` (a count) reaches `at_least`, or fails after `within`.
async fn wait_for_count(url: &str, sql: &'static str, at_least: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        // Until the daemon has migrated the database, the tables are absent.
        let n = try_query_i64(url, sql).await.unwrap_or(0);
        if n >= at_least {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "only {n} of {at_least} after {within:?}: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `/readyz` answers 200 (migrated and working), or fails
/// after `within`.
async fn wait_for_ready(addr: SocketAddr, within: Duration) {
    let deadline = Instant::now() + within;
    while get(addr, "/readyz", None).await.0 != 200 {
        assert!(Instant::now() < deadline, "not ready after {within:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

const SCANS: &str = "SELECT count(*) FROM scans WHERE job_id IS NOT NULL";

#[tokio::test]
async fn scheduled_scans_serve_metrics_readiness_and_the_api_and_stop_gracefully() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    support::seed::create_bucket(&moto.s3(), "scheduled-bucket").await;
    let config = every_seconds(&moto.endpoint, &url, 2);
    let daemon = start(&config, &store, "replica-a").await;
    let addr = daemon.http_addr;
    assert!(addr.ip().is_loopback());

    wait_for_count(&url, SCANS, 2, Duration::from_secs(20)).await;
    let (status, body) = get(addr, "/healthz", None).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = get(addr, "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(addr, "/readyz?scope=replica", None).await.0, 200);
    assert_eq!(get(addr, "/readyz?scope=everything", None).await.0, 400);

    let (status, metrics) = get(addr, "/metrics", None).await;
    assert_eq!(status, 200);
    for expected in [
        "driftwatch_scans_total{collector=\"s3\",status=\"ok\"}",
        "driftwatch_scan_duration_seconds_bucket{collector=\"s3\",le=\"+Inf\"}",
        "driftwatch_findings{control=\"s3.versioning\",status=\"fail\"} 1",
        "driftwatch_scan_jobs{state=\"done\"}",
        "driftwatch_jobs_total{outcome=\"completed\"}",
        "driftwatch_database_up 1",
        "driftwatch_aws_api_calls_total{service=\"s3\",outcome=\"ok\"}",
        "driftwatch_aws_api_calls_total{service=\"sts\",outcome=\"ok\"}",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }

    assert!(
        metrics.contains("driftwatch_account_findings{account=\"123456789012\",status=\"fail\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("driftwatch_scan_jobs_oldest_pending_seconds "),
        "{metrics}"
    );
    let unserved = dashboard_metrics_not_served(&metrics);
    assert!(
        unserved.is_empty(),
        "the dashboard queries {unserved:?}, which /metrics does not serve"
    );

    let (status, body) = get(addr, "/api/findings?status=fail", None).await;
    assert_eq!(status, 200, "{body}");
    let findings: serde_json::Value = serde_json::from_str(&body).expect("JSON findings");
    let controls: Vec<&str> = findings
        .as_array()
        .expect("an array")
        .iter()
        .filter(|f| f["arn"] == "arn:aws:s3:::scheduled-bucket")
        .filter_map(|f| f["control_id"].as_str())
        .collect();
    assert_eq!(
        controls.len(),
        driftwatch::evaluate::controls_for(driftwatch::model::ResourceType::S3Bucket).count(),
        "{body}"
    );
    let (status, body) = get(addr, "/api/findings?status=maybe", None).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(addr, "/api/drift?limit=10", None).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"kind\":\"created\""), "{body}");

    // Never two scans of one tick, and no tick scanned twice.
    let duplicates = query_i64(
        &url,
        "SELECT count(*) FROM (SELECT j.scheduled_for FROM scans s JOIN scan_jobs j ON j.id = s.job_id
          GROUP BY j.scheduled_for, s.collector, s.account_id, s.region HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(duplicates, 0);

    let stopping = Instant::now();
    daemon.shutdown().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(config.daemon.grace_seconds + 5),
        "stopped in {:?}",
        stopping.elapsed()
    );
    let running = query_i64(
        &url,
        "SELECT count(*) FROM scan_jobs WHERE state = 'running'",
    )
    .await;
    assert_eq!(running, 0, "nothing is left claimed after a graceful stop");
}

#[tokio::test]
async fn a_job_whose_replica_died_counts_as_waiting_from_when_its_lease_ran_out() {
    let (store, _url) = support::database().await;
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T03:00:00Z")
        .expect("a time")
        .to_utc();
    let at = |seconds: i64| t0 + chrono::Duration::seconds(seconds);
    let oldest = |now| {
        let store = store.clone();
        async move {
            store
                .stored_figures(now)
                .await
                .expect("figures")
                .oldest_pending_job_seconds
        }
    };
    assert_eq!(oldest(t0).await, 0.0, "no job: nothing waits");
    let scope = [("default".to_string(), "*".to_string())];
    store.enqueue_jobs("s3", &scope, t0).await.expect("enqueue");
    store
        .claim_job("replica-doomed", Duration::from_secs(60), t0)
        .await
        .expect("claim")
        .expect("the job");
    store
        .enqueue_jobs("s3", &scope, at(500))
        .await
        .expect("enqueue");
    // Under a live lease the running job is not waiting; the next tick is
    // not due yet.
    assert_eq!(oldest(at(30)).await, 0.0);
    // The lease ran out at 60 s: by 600 s that job has waited 540 s,
    // longer than the tick due at 500 s.
    assert_eq!(oldest(at(600)).await, 540.0);
}

#[tokio::test]
async fn beyond_loopback_the_endpoint_requires_a_bearer_token() {
    let (store, url) = support::database().await;
    let mut config = every_seconds("http://127.0.0.1:9", &url, 30);
    config.http.bind = "0.0.0.0:0".into();
    let refused = daemon::start(Arc::new(config.clone()), store.clone(), "open".into()).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("DRIFTWATCH_HTTP_TOKEN"), "{message}");

    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cr3t-token\n").expect("token file");
    config.http.token_file = Some(token_file);
    let daemon = start(&config, &store, "guarded").await;
    let addr: SocketAddr = format!("127.0.0.1:{}", daemon.http_addr.port())
        .parse()
        .expect("addr");
    assert_eq!(get(addr, "/healthz", None).await.0, 200);
    // Probes send no token: readiness answers without one.
    assert_ne!(get(addr, "/readyz", None).await.0, 401);
    assert_eq!(get(addr, "/metrics", None).await.0, 401);
    assert_eq!(get(addr, "/api/findings", Some("wrong")).await.0, 401);
    assert_eq!(get(addr, "/metrics", Some("s3cr3t-token")).await.0, 200);
    daemon.shutdown().await;
}

#[tokio::test]
async fn three_replicas_run_each_scheduled_scan_exactly_once() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    support::seed::create_bucket(&moto.s3(), "shared-bucket").await;
    let mut config = every_seconds(&moto.endpoint, &url, 2);
    config.collectors.get_mut("ecr").enabled = true;
    config.collectors.get_mut("ecr").schedule = "*/3 * * * * *".into();
    // Regional collectors fan out per region: two ECR jobs per tick.
    config.aws.default_regions = vec![support::REGION.into(), "eu-west-1".into()];
    let replicas = [
        start(&config, &store, "replica-1").await,
        start(&config, &store, "replica-2").await,
        start(&config, &store, "replica-3").await,
    ];
    wait_for_count(&url, SCANS, 8, Duration::from_secs(30)).await;
    for replica in replicas {
        replica.shutdown().await;
    }

    // One job per tick and collector, each done, each with exactly one scan.
    let per_job = query_i64(
        &url,
        "SELECT count(*) FROM scan_jobs j WHERE j.state <> 'done'
             OR (SELECT count(*) FROM scans s WHERE s.job_id = j.id) <> 1",
    )
    .await;
    let jobs = query_i64(&url, "SELECT count(*) FROM scan_jobs").await;
    let scans = query_i64(&url, SCANS).await;
    // A tick enqueued just before shutdown may have been handed back.
    let pending = query_i64(
        &url,
        "SELECT count(*) FROM scan_jobs WHERE state = 'pending'",
    )
    .await;
    assert_eq!(per_job, pending, "every other job done with one scan");
    assert_eq!(scans, jobs - pending);
    let per_tick = query_i64(
        &url,
        "SELECT count(*) FROM (SELECT collector, region, scheduled_for FROM scan_jobs
          GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(per_tick, 0, "three replicas enqueued each tick once");
    // Ticks are consecutive: none was skipped.
    let gaps = query_i64(
        &url,
        "SELECT count(*) FROM (SELECT collector, scheduled_for - lag(scheduled_for)
              OVER (PARTITION BY collector, region ORDER BY scheduled_for) AS step FROM scan_jobs) t
          WHERE step IS NOT NULL
            AND step <> CASE collector WHEN 's3' THEN interval '2 s' ELSE interval '3 s' END",
    )
    .await;
    assert_eq!(gaps, 0);
    let owners = query_i64(
        &url,
        "SELECT count(DISTINCT owner) FROM scan_jobs WHERE state = 'done'",
    )
    .await;
    assert!(
        owners >= 2,
        "the work was shared: {owners} replica(s) did it"
    );
}

#[tokio::test]
async fn a_killed_replica_loses_its_job_to_another_when_the_lease_runs_out() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    support::seed::create_bucket(&moto.s3(), "orphaned-bucket").await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    // The first replica hangs in ListBuckets, as on a network partition.
    proxy.inject(
        Fault::new(Action::Hang)
            .service("s3")
            .target_contains("x-id=ListBuckets")
            .times(1),
    );
    let mut config = every_seconds(&proxy.endpoint, &url, 30);
    // One tick only, far from the next: the takeover is what is measured.
    config.collectors.get_mut("s3").schedule = "0 0 0 1 1 *".into();
    let (clock, hand) = Clock::adjustable();
    let start = |owner: &str| {
        daemon::start_by(
            Arc::new(config.clone()),
            store.clone(),
            owner.to_string(),
            clock.clone(),
        )
    };
    let a = start("replica-doomed").await.expect("daemon starts");
    let tick = clock.now();
    store
        .enqueue_jobs("s3", &[("default".to_string(), "*".to_string())], tick)
        .await
        .expect("enqueue");
    wait_for_count(
        &url,
        "SELECT count(*) FROM scan_jobs WHERE owner = 'replica-doomed' AND state = 'running'",
        1,
        Duration::from_secs(10),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill();

    let b = start("replica-survivor").await.expect("daemon starts");
    // The survivor is up and polling (every second), but the lease has
    // not run out by the clock: the job stays the dead replica's.
    wait_for_ready(b.http_addr, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        query_i64(
            &url,
            "SELECT count(*) FROM scan_jobs WHERE owner = 'replica-doomed' AND state = 'running'"
        )
        .await,
        1,
        "not taken over before the lease ran out"
    );
    hand.advance(Duration::from_secs(config.daemon.lease_seconds + 1));
    wait_for_count(
        &url,
        "SELECT count(*) FROM scan_jobs WHERE owner = 'replica-survivor' AND state = 'done'",
        1,
        Duration::from_secs(30),
    )
    .await;
    b.shutdown().await;
    assert_eq!(query_i64(&url, SCANS).await, 1, "recorded once");
    assert_eq!(
        query_i64(&url, "SELECT max(attempts)::bigint FROM scan_jobs").await,
        2
    );
}

#[tokio::test]
async fn postgres_stopped_and_restarted_under_a_running_daemon_loses_no_tick() {
    support::init();
    let moto = Moto::start();
    support::seed::create_bucket(&moto.s3(), "resilient-bucket").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("postgres");
    let server = LocalPostgres::start(&data_dir).expect("own PostgreSQL");
    local::ensure_database(&server)
        .await
        .expect("driftwatch database");
    let url = server.url();
    let store = Store::connect_lazy(&url, 4).expect("lazy store");
    let config = every_seconds(&moto.endpoint, &url, 2);
    let daemon = start(&config, &store, "replica-resilient").await;
    let addr = daemon.http_addr;
    wait_for_count(&url, SCANS, 2, Duration::from_secs(20)).await;

    server.stop().expect("stop PostgreSQL");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = get(addr, "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let (_, metrics) = get(addr, "/metrics", None).await;
    assert!(metrics.contains("driftwatch_database_up 0"), "{metrics}");
    assert_eq!(get(addr, "/healthz", None).await.0, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let server = LocalPostgres::start(&data_dir).expect("PostgreSQL back");
    let before = query_i64(&url, SCANS).await;
    // The ticks of the outage are enqueued late, then scanned.
    wait_for_count(&url, SCANS, before + 4, Duration::from_secs(40)).await;
    wait_for_ready(addr, Duration::from_secs(20)).await;
    daemon.shutdown().await;

    let gaps = query_i64(
        &url,
        "SELECT count(*) FROM (SELECT scheduled_for - lag(scheduled_for)
              OVER (ORDER BY scheduled_for) AS step FROM scan_jobs) t
          WHERE step IS NOT NULL AND step <> interval '2 s'",
    )
    .await;
    assert_eq!(gaps, 0, "every tick of the outage was kept");
    let twice = query_i64(
        &url,
        "SELECT count(*) FROM (SELECT job_id FROM scans WHERE job_id IS NOT NULL
          GROUP BY job_id HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(twice, 0, "no scan recorded twice");
    let unscanned = query_i64(
        &url,
        "SELECT count(*) FROM scan_jobs j WHERE j.state = 'done'
            AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.job_id = j.id)",
    )
    .await;
    assert_eq!(unscanned, 0);
    drop(store);
    server.stop().expect("stop PostgreSQL");
}

/// The metric names `deploy/grafana/driftwatch.json` queries that are not
/// a family of `metrics` (a histogram's `_bucket`, `_sum` and `_count`
/// belong to it).
fn dashboard_metrics_not_served(metrics: &str) -> Vec<String> {
    let families: std::collections::BTreeMap<&str, &str> = metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|line| line.split_once(' '))
        .collect();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/grafana/driftwatch.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    let mut queried = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr");
            let mut rest = expr;
            while let Some(start) = rest.find("driftwatch_") {
                let tail = &rest[start..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                    .unwrap_or(tail.len());
                queried.insert(tail[..end].to_string());
                rest = &tail[end..];
            }
        }
    }
    assert!(
        queried.len() >= 12,
        "the dashboard queries too little: {queried:?}"
    );
    let served = |name: &str| {
        families.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .is_some_and(|base| families.get(base) == Some(&"histogram"))
            })
    };
    queried.into_iter().filter(|name| !served(name)).collect()
}
