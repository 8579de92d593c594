//! PagerDuty alerts end to end: real scans of moto into Postgres decide
//! alerts in the scan's transaction; the real sender delivers them over
//! HTTP to a loopback receiver that validates the Events API v2 and fails
//! on command. Regressions page once, fixes resolve, outages lose nothing,
//! order per dedup key holds, flapping does not page twice, waivers
//! resolve and their expiry pages again, a killed sender's work is taken
//! over, and the day's report opened in a browser shows all of it.

mod support;

use driftwatch::alert::Sender;
use driftwatch::alert::plan::AlertPolicy;
use driftwatch::alert::sinks::Sinks;
use driftwatch::clock::{Clock, ClockHand};
use driftwatch::config::Config;
use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::{scan_once, scan_once_by};
use driftwatch::store::Store;
use driftwatch::store::alerts::OutboxState;
use driftwatch::store::waivers::NewWaiver;
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use support::Moto;
use support::receiver::{Fault, Receiver};
use support::seed::{create_bucket, put_policy, tls_policy};

/// 32 characters, as PagerDuty integration keys are.
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";

struct Setup {
    config: Config,
    _key_dir: tempfile::TempDir,
}

/// S3 scans whose s3.tls_only failures page the receiver.
fn alerting(moto: &Moto, url: &str, receiver_url: &str, key: &str, flap_seconds: u64) -> Setup {
    let key_dir = tempfile::tempdir().expect("temp dir");
    let key_file = key_dir.path().join("routing-key");
    std::fs::write(&key_file, format!("{key}\n")).expect("write key");
    let mut config = moto.config(url, &["s3"]);
    config.alerts = toml::from_str(&format!(
        r#"
        min_severity = "high"
        flap_window_seconds = {flap_seconds}
        timeout_seconds = 1
        max_backoff_seconds = 1
        poll_seconds = 1
        link_base_url = "https://driftwatch.example"
        [sinks.pd]
        kind = "pagerduty"
        url = "{receiver_url}"
        routing_key_file = "{}"
        [[routes]]
        controls = ["s3.tls_only"]
        sinks = ["pd"]
        "#,
        key_file.display()
    ))
    .expect("alerts config");
    assert_eq!(config.validate(), vec![]);
    Setup {
        config,
        _key_dir: key_dir,
    }
}

/// A test's world: emulator, database, PagerDuty receiver, alerting
/// config and a sender.
struct Harness {
    moto: Moto,
    store: Store,
    url: String,
    pd: support::receiver::Running,
    setup: Setup,
    sender: Sender,
    /// The scans' and the sender's clock, moved instead of slept through.
    clock: Clock,
    hand: ClockHand,
}

async fn harness(routing_key: &str, flap_seconds: u64) -> Harness {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let pd = Receiver::start().await;
    let setup = alerting(&moto, &url, &pd.url(), routing_key, flap_seconds);
    let (clock, hand) = Clock::adjustable();
    let sender = sender(&setup.config, &store, "test-sender").with_clock(clock.clone());
    Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        clock,
        hand,
    }
}

/// The same config for `driftwatch run`: S3 scanned every 2 s.
fn as_daemon(config: &Config) -> Config {
    let mut config = config.clone();
    config.collectors.get_mut("s3").schedule = "*/2 * * * * *".into();
    config.http.bind = "127.0.0.1:0".into();
    config.daemon.poll_seconds = 1;
    config.daemon.lease_seconds = 6;
    config
}

fn sender(config: &Config, store: &Store, owner: &str) -> Sender {
    let sinks = Sinks::load(&config.alerts, |_| None).expect("sinks load");
    Sender::new(
        store.clone(),
        sinks,
        AlertPolicy::from_config(&config.alerts, &config.custom),
        Duration::from_secs(config.alerts.timeout_seconds),
        Duration::from_secs(config.alerts.max_backoff_seconds),
        owner.to_string(),
    )
    .expect("sender")
}

fn key(bucket: &str) -> String {
    format!(
        "driftwatch/{}/s3.tls_only/arn:aws:s3:::{bucket}",
        support::ACCOUNT_ID
    )
}

fn pair(action: &str, bucket: &str) -> (String, String) {
    (action.to_string(), key(bucket))
}

async fn scan(config: &Config, store: &Store) {
    scan_once(config, store).await.expect("scan recorded");
}

/// A scan timed by a test's clock.
async fn scan_at(config: &Config, store: &Store, clock: &Clock) {
    scan_once_by(config, store, clock)
        .await
        .expect("scan recorded");
}

async fn pending(url: &str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar("SELECT count(*) FROM alert_outbox WHERE state = 'pending'")
        .fetch_one(&mut conn)
        .await
        .expect("count")
}

/// Delivers until the outbox is empty (retries wait out their backoff).
async fn drain_all(sender: &Sender, url: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while pending(url).await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "outbox not drained in time"
        );
        sender.drain(None).await.expect("drain");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The receiver goes down (500, then 429 with Retry-After, then a hang past
/// the timeout) while alpha loses its TLS policy and beta gains one; the
/// scan's alerts are then drained through the outage.
async fn outage_while_alpha_regresses_and_beta_is_fixed(
    pd: &support::receiver::Running,
    s3: &aws_sdk_s3::Client,
    config: &Config,
    store: &Store,
    sender: &Sender,
    url: &str,
) {
    pd.receiver
        .fail_next(&[Fault::ServerError, Fault::RateLimited(1), Fault::Hang]);
    s3.delete_bucket_policy()
        .bucket("alpha")
        .send()
        .await
        .expect("delete policy");
    put_policy(s3, "beta", &tls_policy("beta")).await;
    scan(config, store).await;
    drain_all(sender, url).await;
}

#[tokio::test]
async fn regressions_page_once_fixes_resolve_and_an_outage_loses_nothing() {
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        ..
    } = harness(ROUTING_KEY, 0).await;
    let config = &setup.config;
    let s3 = moto.s3();
    create_bucket(&s3, "alpha").await;
    put_policy(&s3, "alpha", &tls_policy("alpha")).await;
    create_bucket(&s3, "beta").await;

    // A new failing resource pages once, with everything PagerDuty shows.
    scan(config, &store).await;
    sender.drain(None).await.expect("drain");
    assert_eq!(pd.receiver.actions(), vec![pair("trigger", "beta")]);
    let received = pd.receiver.received();
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    let event = &received[0].event;
    assert_eq!(event["routing_key"], ROUTING_KEY);
    assert_eq!(event["payload"]["severity"], "error", "high maps to error");
    assert_eq!(event["payload"]["source"], "arn:aws:s3:::beta");
    assert_eq!(event["payload"]["component"], "beta");
    assert_eq!(event["payload"]["class"], "s3.tls_only");
    assert!(
        event["payload"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("beta fails s3.tls_only")),
        "{event}"
    );
    assert_eq!(
        event["payload"]["custom_details"]["soc2"],
        serde_json::json!(["CC6.1", "CC6.7"])
    );
    assert!(event["payload"]["custom_details"]["evidence"].is_object());
    assert_eq!(
        event["links"][0]["href"],
        "https://driftwatch.example/api/findings?arn=arn%3Aaws%3As3%3A%3A%3Abeta&control=s3.tls_only"
    );

    // Nothing changed: nothing sent.
    scan(config, &store).await;
    sender.drain(None).await.expect("drain");
    assert_eq!(pd.receiver.actions().len(), 1);

    outage_while_alpha_regresses_and_beta_is_fixed(&pd, &s3, config, &store, &sender, &url).await;
    let actions = pd.receiver.actions();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions.contains(&pair("resolve", "beta")));
    assert!(actions.contains(&pair("trigger", "alpha")));
    assert_eq!(pd.receiver.attempts(), 3 + 3, "each fault cost one retry");
    let rows = store.outbox(100).await.expect("outbox");
    assert!(
        rows.iter().all(|r| r.state == OutboxState::Delivered),
        "{rows:?}"
    );
    assert_eq!(rows.iter().map(|r| r.attempts).sum::<i32>(), 6);

    // Trigger and resolve of one key queued during an outage arrive in
    // that order.
    pd.receiver.fail_always(Some(Fault::ServerError));
    create_bucket(&s3, "gamma").await;
    scan(config, &store).await;
    sender.drain(None).await.expect("drain");
    put_policy(&s3, "gamma", &tls_policy("gamma")).await;
    scan(config, &store).await;
    sender.drain(None).await.expect("drain");
    assert_eq!(pending(&url).await, 2);
    pd.receiver.fail_always(None);
    drain_all(&sender, &url).await;
    let actions = pd.receiver.actions();
    assert_eq!(
        actions[3..].to_vec(),
        vec![pair("trigger", "gamma"), pair("resolve", "gamma")]
    );

    // A resource deleted while failing resolves its incident.
    s3.delete_bucket()
        .bucket("alpha")
        .send()
        .await
        .expect("delete");
    scan(config, &store).await;
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions().last(),
        Some(&pair("resolve", "alpha"))
    );
    assert!(pd.receiver.rejected().is_empty());
}

#[tokio::test]
async fn a_refused_event_is_recorded_with_the_response_and_not_retried() {
    // PagerDuty refuses a routing key that is not 32 characters.
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        clock,
        hand,
    } = harness("not-a-key", 0).await;
    create_bucket(&moto.s3(), "beta").await;
    scan_at(&setup.config, &store, &clock).await;
    let round = sender.drain(None).await.expect("drain");
    assert_eq!((round.delivered, round.rejected), (0, 1));
    let rows = store.outbox(10).await.expect("outbox");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, OutboxState::Failed);
    assert_eq!(rows[0].response_status, Some(400));
    assert!(
        rows[0]
            .response_body
            .as_deref()
            .is_some_and(|b| b.contains("routing_key must be 32 characters")),
        "{rows:?}"
    );
    // Not retried however long one waits, and the figure operators watch
    // shows it.
    hand.advance(Duration::from_secs(24 * 3600));
    sender.drain(None).await.expect("drain");
    assert_eq!(pd.receiver.attempts(), 1);
    let figures = store.outbox_figures(clock.now()).await.expect("figures");
    assert_eq!((figures.pending, figures.failed), (0, 1));
    assert_eq!(pending(&url).await, 0);
}

/// Long enough that the scans of a loaded machine all fall inside it: the
/// clock, not the wall, takes the test past it.
const FLAP_WINDOW: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn flapping_inside_the_window_pages_once_and_the_resolve_waits_it_out() {
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        clock,
        hand,
    } = harness(ROUTING_KEY, FLAP_WINDOW.as_secs()).await;
    let config = &setup.config;
    let s3 = moto.s3();
    create_bucket(&s3, "beta").await;
    scan_at(config, &store, &clock).await;
    // fail → pass → fail within the window.
    put_policy(&s3, "beta", &tls_policy("beta")).await;
    scan_at(config, &store, &clock).await;
    s3.delete_bucket_policy()
        .bucket("beta")
        .send()
        .await
        .expect("delete policy");
    scan_at(config, &store, &clock).await;
    drain_all(&sender, &url).await;
    assert_eq!(pd.receiver.actions(), vec![pair("trigger", "beta")]);

    // Fixed for good: no resolve until the window has passed.
    put_policy(&s3, "beta", &tls_policy("beta")).await;
    scan_at(config, &store, &clock).await;
    sender.decide().await.expect("decide");
    drain_all(&sender, &url).await;
    assert_eq!(pd.receiver.actions().len(), 1);
    // Just inside the window: still no resolve.
    hand.advance(FLAP_WINDOW - Duration::from_secs(60));
    sender.decide().await.expect("decide");
    drain_all(&sender, &url).await;
    assert_eq!(pd.receiver.actions().len(), 1);
    hand.advance(Duration::from_secs(61));
    sender.decide().await.expect("decide");
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions(),
        vec![pair("trigger", "beta"), pair("resolve", "beta")]
    );
}

#[tokio::test]
async fn a_waiver_resolves_the_incident_and_its_expiry_pages_again() {
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        clock,
        hand,
    } = harness(ROUTING_KEY, 0).await;
    let config = &setup.config;
    create_bucket(&moto.s3(), "beta").await;
    scan_at(config, &store, &clock).await;
    drain_all(&sender, &url).await;

    let policy = AlertPolicy::from_config(&config.alerts, &config.custom);
    let now = clock.now();
    let waiver = driftwatch::waive::add(
        &store,
        &NewWaiver {
            control_id: "s3.tls_only",
            resource_arn: "arn:aws:s3:::beta",
            reason: "legacy client without TLS, migration ticket SEC-42",
            approved_by: "ciso@example.com",
            expires_at: now + chrono::Duration::hours(8),
        },
        "cli",
        now,
        policy.as_ref(),
    )
    .await
    .expect("waiver");
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions(),
        vec![pair("trigger", "beta"), pair("resolve", "beta")]
    );
    assert!(
        pd.receiver.accepted()[1]["dedup_key"]
            .as_str()
            .is_some_and(|k| k == key("beta"))
    );
    let listed = store
        .findings(&driftwatch::store::FindingFilter {
            arn: Some("arn:aws:s3:::beta".into()),
            control_id: Some("s3.tls_only".into()),
            ..Default::default()
        })
        .await
        .expect("findings");
    assert_eq!(listed[0].status, FindingStatus::Fail);
    assert_eq!(listed[0].waiver_id, Some(waiver.id));

    // A scan while waived does not page.
    scan_at(config, &store, &clock).await;
    drain_all(&sender, &url).await;
    assert_eq!(pd.receiver.actions().len(), 2);

    // Expired: fails again and pages again, without a scan.
    hand.advance(Duration::from_secs(8 * 3600 + 1));
    sender.decide().await.expect("decide");
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions(),
        vec![
            pair("trigger", "beta"),
            pair("resolve", "beta"),
            pair("trigger", "beta")
        ]
    );
}

/// Invariant 13 for the config file's `[[waivers]]`: recording one
/// resolves its finding's incident and removing it pages again, each in the
/// sync's own transaction, with no scan in between.
#[tokio::test]
async fn a_config_waiver_resolves_the_incident_and_its_removal_pages_again() {
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        ..
    } = harness(ROUTING_KEY, 0).await;
    create_bucket(&moto.s3(), "beta").await;
    scan(&setup.config, &store).await;
    drain_all(&sender, &url).await;
    assert_eq!(pd.receiver.actions(), vec![pair("trigger", "beta")]);

    let waivers = toml::from_str::<WaiverFile>(
        r#"
        [[waivers]]
        control = "s3.tls_only"
        resource = "arn:aws:s3:::beta"
        reason = "legacy client without TLS, migration ticket SEC-42"
        approved_by = "ciso@example.com"
        expires = "2099-01-01"
        "#,
    )
    .expect("waivers")
    .waivers;
    let policy = AlertPolicy::from_config(&setup.config.alerts, &setup.config.custom);
    let sync = |waivers: Vec<driftwatch::config::WaiverConfig>| {
        let (store, policy) = (&store, policy.as_ref());
        async move { driftwatch::waive::sync_config(store, &waivers, chrono::Utc::now(), policy).await }
    };
    assert_eq!(sync(waivers.clone()).await.expect("sync"), (1, 0));
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions(),
        vec![pair("trigger", "beta"), pair("resolve", "beta")]
    );
    // Unchanged file: nothing recorded, nothing decided.
    assert_eq!(sync(waivers.clone()).await.expect("sync"), (0, 0));
    assert_eq!(pending(&url).await, 0);

    assert_eq!(sync(Vec::new()).await.expect("sync"), (0, 1));
    drain_all(&sender, &url).await;
    assert_eq!(
        pd.receiver.actions(),
        vec![
            pair("trigger", "beta"),
            pair("resolve", "beta"),
            pair("trigger", "beta")
        ]
    );
}

#[derive(serde::Deserialize)]
struct WaiverFile {
    waivers: Vec<driftwatch::config::WaiverConfig>,
}

#[tokio::test]
async fn a_webhook_sink_gets_the_same_alerts_through_the_outbox() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let hook = Receiver::start().await;
    let mut config = moto.config(&url, &["s3"]);
    config.alerts = toml::from_str(&format!(
        r#"
        flap_window_seconds = 0
        [sinks.slack]
        kind = "webhook"
        url = "http://{}/hook"
        [[routes]]
        controls = ["s3.tls_only"]
        sinks = ["slack"]
        "#,
        hook.addr
    ))
    .expect("config");
    assert_eq!(config.validate(), vec![]);
    let sender = sender(&config, &store, "test-sender");
    create_bucket(&moto.s3(), "beta").await;
    scan(&config, &store).await;
    drain_all(&sender, &url).await;
    let events = hook.receiver.accepted();
    assert_eq!(events.len(), 1);
    assert!(
        events[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("[FAIL] beta fails s3.tls_only")),
        "{}",
        events[0]
    );
    assert_eq!(events[0]["dedup_key"], key("beta"));
    assert_eq!(events[0]["alert"]["resource"]["arn"], "arn:aws:s3:::beta");
}

#[tokio::test]
async fn a_sender_killed_mid_delivery_loses_nothing_and_another_replica_delivers() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let pd = Receiver::start().await;
    let setup = alerting(&moto, &url, &pd.url(), ROUTING_KEY, 0);
    let mut config = as_daemon(&setup.config);
    config.alerts.timeout_seconds = 3;
    create_bucket(&moto.s3(), "beta").await;
    create_bucket(&moto.s3(), "delta").await;
    pd.receiver.fail_next(&[Fault::Hang]);
    let (clock, hand) = Clock::adjustable();
    let start = |owner: &str| {
        driftwatch::daemon::start_by(
            Arc::new(config.clone()),
            store.clone(),
            owner.into(),
            clock.clone(),
        )
    };

    let first = start("first").await.expect("daemon starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // One alert delivered (and recorded), the other's request hanging.
    while pd.receiver.hanging() == 0 || pd.receiver.accepted().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no delivery began");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Killed while a request is in flight: its claim stays until the lease
    // (2 × timeout + 5 s), which the clock then runs past.
    first.kill();
    hand.advance(Duration::from_secs(60));

    let second = start("second").await.expect("daemon starts");
    let accepted = pd.receiver.wait_for(2, Duration::from_secs(40)).await;
    second.shutdown().await;
    let mut actions = pd.receiver.actions();
    actions.sort();
    assert_eq!(
        actions,
        vec![pair("trigger", "beta"), pair("trigger", "delta")],
        "{accepted:?}"
    );
    assert_eq!(pending(&url).await, 0);
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let incidents: i64 = sqlx::query_scalar("SELECT count(*) FROM finding_alerts WHERE open")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(incidents, 2, "each failing bucket has one open incident");
}

#[tokio::test]
async fn postgres_stopped_and_restarted_during_delivery_loses_and_duplicates_nothing() {
    use driftwatch::store::local::{self, LocalPostgres};
    support::init();
    let moto = Moto::start();
    let pd = Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("postgres");
    let server = LocalPostgres::start(&data_dir).expect("own PostgreSQL");
    local::ensure_database(&server).await.expect("database");
    let url = server.url();
    let store = Store::connect_lazy(&url, 4).expect("lazy store");
    let setup = alerting(&moto, &url, &pd.url(), ROUTING_KEY, 0);
    let config = as_daemon(&setup.config);
    for bucket in ["beta", "delta", "epsilon"] {
        create_bucket(&moto.s3(), bucket).await;
    }
    // The receiver is down: alerts are queued and retried.
    pd.receiver.fail_always(Some(Fault::ServerError));
    let daemon = driftwatch::daemon::start(Arc::new(config), store.clone(), "resilient".into())
        .await
        .expect("daemon starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pd.receiver.attempts() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery attempted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // PostgreSQL goes away while deliveries are being retried; the
    // receiver recovers meanwhile; then PostgreSQL comes back.
    server.stop().expect("stop PostgreSQL");
    pd.receiver.fail_always(None);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let server = LocalPostgres::start(&data_dir).expect("PostgreSQL back");

    pd.receiver.wait_for(3, Duration::from_secs(40)).await;
    // Later scans and decisions add nothing: each incident paged once.
    tokio::time::sleep(Duration::from_secs(4)).await;
    daemon.shutdown().await;
    let mut actions = pd.receiver.actions();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            pair("trigger", "beta"),
            pair("trigger", "delta"),
            pair("trigger", "epsilon")
        ]
    );
    assert_eq!(pending(&url).await, 0);
    drop(store);
    server.stop().expect("stop PostgreSQL");
}

/// The issue's acceptance as one day on the emulator: regressions page once
/// each, a waiver resolves its page, fixes resolve, a receiver outage loses
/// nothing; then `driftwatch report` for the day, opened in headless
/// Chromium, shows what happened — checked against the findings table, not
/// against the report's own model.
#[tokio::test]
async fn the_days_report_opened_in_a_browser_shows_the_pages_waiver_fix_and_drift() {
    let Harness {
        moto,
        store,
        url,
        pd,
        setup,
        sender,
        ..
    } = harness(ROUTING_KEY, 0).await;
    let config = &setup.config;
    let day = chrono::Utc::now().date_naive();
    let s3 = moto.s3();
    create_bucket(&s3, "alpha").await;
    put_policy(&s3, "alpha", &tls_policy("alpha")).await;
    create_bucket(&s3, "beta").await;
    create_bucket(&s3, "gamma").await;

    scan(config, &store).await;
    drain_all(&sender, &url).await;
    let first_failures = store
        .findings(&driftwatch::store::FindingFilter {
            status: Some(driftwatch::evaluate::FindingStatus::Fail),
            ..Default::default()
        })
        .await
        .expect("findings")
        .len();

    let now = chrono::Utc::now();
    driftwatch::waive::add(
        &store,
        &NewWaiver {
            control_id: "s3.tls_only",
            resource_arn: "arn:aws:s3:::gamma",
            reason: "static assets behind CloudFront, ticket SEC-7",
            approved_by: "ciso@example.com",
            expires_at: now + chrono::Duration::days(30),
        },
        "cli",
        now,
        AlertPolicy::from_config(&config.alerts, &config.custom).as_ref(),
    )
    .await
    .expect("waiver");
    drain_all(&sender, &url).await;

    outage_while_alpha_regresses_and_beta_is_fixed(&pd, &s3, config, &store, &sender, &url).await;

    // Every page exactly once, in order per dedup key, nothing left behind.
    let actions = pd.receiver.actions();
    assert_eq!(actions.len(), 5, "{actions:?}");
    for bucket in ["alpha", "beta", "gamma"] {
        let of_bucket: Vec<&str> = actions
            .iter()
            .filter(|(_, dedup_key)| *dedup_key == key(bucket))
            .map(|(action, _)| action.as_str())
            .collect();
        let expected: &[&str] = if bucket == "alpha" {
            &["trigger"]
        } else {
            &["trigger", "resolve"]
        };
        assert_eq!(of_bucket, expected, "{bucket}: {actions:?}");
    }
    let outbox = store.outbox(100).await.expect("outbox");
    assert!(
        outbox.iter().all(|r| r.state == OutboxState::Delivered),
        "{outbox:?}"
    );
    assert!(pd.receiver.rejected().is_empty());
    if chrono::Utc::now().date_naive() != day {
        eprintln!("the day ended during the test; its report is checked another time");
        return;
    }

    // What the findings table says now, tallied independently.
    let current = store.findings(&Default::default()).await.expect("findings");
    let tally = |status: &str, waived: bool| {
        current
            .iter()
            .filter(|f| f.status.as_str() == status && f.waiver_id.is_some() == waived)
            .count()
    };
    let (passing, failing, waived) = (
        tally("pass", false),
        tally("fail", false),
        tally("fail", true),
    );
    assert_eq!(waived, 1);
    let compliance = (passing as f64 * 1000.0 / (passing + failing + waived) as f64).round() / 10.0;

    // The report of the day, as a user asks for it.
    let out = tempfile::tempdir().expect("tempdir");
    support::run_report(&url, &day.to_string(), "html,json", out.path());
    let html = std::fs::read_to_string(out.path().join(format!("driftwatch-report-{day}.html")))
        .expect("html report");
    let dom = support::browser::rendered_dom(&html, &format!("Compliance report — {day}"));
    let tile = |figure: &str| support::browser::tile(&dom, figure);
    assert_eq!(tile("compliance"), format!("{compliance:.1}%"));
    assert_eq!(tile("failing"), failing.to_string());
    assert_eq!(tile("waived"), "1");
    assert_eq!(tile("passing"), passing.to_string());
    assert_eq!(tile("resources"), "3");
    // Every failure of the first scan was new today, and alpha regressed.
    assert_eq!(tile("new failures"), (first_failures + 1).to_string());
    assert_eq!(tile("resolved"), "1", "beta's fix; a waiver is not a fix");
    assert_eq!(tile("drift events"), "5", "3 created, 2 policies changed");
    assert_eq!(tile("scans ok / partial / failed"), "2 / 0 / 0");

    // Charts: today's point on the trend, alpha the one TLS failure.
    let points: Vec<&str> = dom.matches("class=\"point\"").collect();
    assert_eq!(points.len(), 1);
    assert!(dom.contains(&format!(
        "data-date=\"{day}\" data-value=\"{compliance:.1}\""
    )));
    assert!(dom.contains("data-control=\"s3.tls_only\" data-fail=\"1\""));

    let waivers = support::browser::rows(support::browser::table(&dom, "waivers-in-force"));
    assert_eq!(waivers.len(), 1);
    for shown in [
        "arn:aws:s3:::gamma",
        "ticket SEC-7",
        "ciso@example.com",
        "s3.tls_only",
    ] {
        assert!(waivers[0].contains(shown), "{shown} not in {}", waivers[0]);
    }
    let changes = support::browser::rows(support::browser::table(&dom, "changes"));
    let change = |kind: &str, bucket: &str| {
        changes
            .iter()
            .filter(|row| {
                row.contains(&format!(">{kind}<"))
                    && row.contains(">s3.tls_only<")
                    && row.contains(&format!("arn:aws:s3:::{bucket}<"))
            })
            .count()
    };
    assert_eq!(change("regression", "alpha"), 1);
    assert_eq!(change("resolution", "beta"), 1);
    assert_eq!(change("resolution", "gamma"), 0);
    let drift = support::browser::rows(support::browser::table(&dom, "drift"));
    let drifted = |kind: &str, bucket: &str| {
        drift
            .iter()
            .filter(|row| {
                row.contains(&format!(">{kind}<"))
                    && row.contains(&format!("arn:aws:s3:::{bucket}<"))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(drift.len(), 5);
    for bucket in ["alpha", "beta", "gamma"] {
        assert_eq!(drifted("created", bucket).len(), 1, "{bucket} created");
    }
    for bucket in ["alpha", "beta"] {
        let modified = drifted("modified", bucket);
        assert_eq!(modified.len(), 1, "{bucket} modified");
        assert!(modified[0].contains("policy"), "{}", modified[0]);
    }
    let coverage = support::browser::rows(support::browser::table(&dom, "coverage"));
    assert_eq!(coverage.len(), 1);
    assert!(coverage[0].contains(">s3<"), "{}", coverage[0]);
}
