//! CloudTrail change events end to end: a change made through the real SDK
//! on moto, its CloudTrail record (in AWS's documented EventBridge shape)
//! put on a real SQS queue (moto), `driftwatch run` consuming it. The drift
//! names the actor, the finding regresses, the page says who; duplicates,
//! reads, other services and malformed bodies record nothing twice and
//! lose nothing; a late event explains the drift a scan already found; an
//! event never rewinds state; an unreachable queue is retried while scans
//! go on; a message whose deletion failed is redelivered and records
//! nothing twice.
//!
//! moto keeps no CloudTrail of its own calls, so each event is written
//! here, as EventBridge delivers CloudTrail records (`detail`), with the
//! identity shapes of AWS's userIdentity documentation.

mod support;

use driftwatch::config::{Config, EventQueueConfig};
use driftwatch::daemon::{self, RunningDaemon};
use driftwatch::model::S3Bucket;
use driftwatch::scan::{self, TargetedCollection};
use driftwatch::store::{DriftFilter, DriftRow, NO_EVENT_RECEIVED, Scope, Store};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use support::fault_proxy::{Action, Fault, FaultProxy};
use support::receiver::Receiver;
use support::seed::{create_bucket, put_policy, tls_policy};
use support::{ACCOUNT_ID, Moto, REGION};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";

/// alice, through the role Admin (AWS's AssumedRole example).
fn alice_via_admin() -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAIDPPEZS35WEXAMPLE:alice",
        "arn": format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/Admin/alice"),
        "accountId": ACCOUNT_ID,
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAIDPPEZS35WEXAMPLE",
                "arn": format!("arn:aws:iam::{ACCOUNT_ID}:role/Admin"),
                "accountId": ACCOUNT_ID,
                "userName": "Admin"
            },
            "attributes": {"creationDate": "2026-12-06T09:00:00Z", "mfaAuthenticated": "true"}
        }
    })
}

/// An IAM user, as AWS documents the IAMUser identity.
fn iam_user(name: &str) -> Value {
    json!({
        "type": "IAMUser",
        "principalId": "AIDAJ45Q7YFFAREXAMPLE",
        "arn": format!("arn:aws:iam::{ACCOUNT_ID}:user/{name}"),
        "accountId": ACCOUNT_ID,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": name
    })
}

/// An EventBridge "AWS API Call via CloudTrail" event of an S3 bucket call.
fn bucket_event(
    event_id: &str,
    name: &str,
    bucket: &str,
    identity: Value,
    at: chrono::DateTime<chrono::Utc>,
    read_only: bool,
) -> String {
    let parameters =
        json!({"bucketName": bucket, "Host": format!("{bucket}.s3.amazonaws.com"), "policy": ""});
    let mut event = api_call(event_id, "s3", name, identity, parameters, at);
    event["detail"]["readOnly"] = json!(read_only);
    event.to_string()
}

/// An EventBridge "AWS API Call via CloudTrail" event: `service`'s call
/// `name` with its request parameters, as CloudTrail records them.
fn api_call(
    event_id: &str,
    service: &str,
    name: &str,
    identity: Value,
    parameters: Value,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let time = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({
        "version": "0",
        "id": format!("eb-{event_id}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{service}"),
        "account": ACCOUNT_ID,
        "time": time,
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": time,
            "eventSource": format!("{service}.amazonaws.com"),
            "eventName": name,
            "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "[aws-cli/2.15.0 Python/3.11.6]",
            "requestParameters": parameters,
            "responseElements": null,
            "requestID": format!("REQ{event_id}"),
            "eventID": event_id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT_ID,
            "eventCategory": "Management"
        }
    })
}

fn sqs(moto: &Moto) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&moto.sdk_config())
}

async fn create_queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name("driftwatch-events")
        .send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

async fn send(sqs: &aws_sdk_sqs::Client, queue: &str, body: &str) {
    sqs.send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .expect("send message");
}

/// Messages in the queue, visible and in flight.
async fn messages_left(sqs: &aws_sdk_sqs::Client, queue: &str) -> i64 {
    use aws_sdk_sqs::types::QueueAttributeName as Name;
    let answer = sqs
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(Name::ApproximateNumberOfMessages)
        .attribute_names(Name::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let attributes = answer.attributes().cloned().unwrap_or_default();
    [
        Name::ApproximateNumberOfMessages,
        Name::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|n| {
        attributes
            .get(n)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// S3 scanned once a year (only events and the test's own scans record
/// anything), failing s3.tls_only paging the receiver, the queue consumed.
fn config(
    endpoint: &str,
    url: &str,
    queue: &str,
    receiver_url: &str,
    key_dir: &std::path::Path,
) -> Config {
    let key_file = key_dir.join("routing-key");
    std::fs::write(&key_file, format!("{ROUTING_KEY}\n")).expect("write key");
    let mut config = support::config_with_collectors(&["s3"]);
    config.database.url = Some(url.into());
    config.aws.endpoint_url = Some(endpoint.to_string());
    config.aws.max_attempts = 2;
    config.aws.default_regions = vec![REGION.to_string()];
    config.collectors.get_mut("s3").schedule = "0 0 0 1 1 *".into();
    config.http.bind = "127.0.0.1:0".into();
    config.daemon.poll_seconds = 1;
    config.daemon.lease_seconds = 6;
    config.alerts = toml::from_str(&format!(
        r#"
        min_severity = "high"
        flap_window_seconds = 0
        timeout_seconds = 1
        max_backoff_seconds = 1
        poll_seconds = 1
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
    config.events.queues = vec![EventQueueConfig {
        url: queue.to_string(),
        account: None,
        region: Some(REGION.to_string()),
    }];
    config.events.wait_seconds = 1;
    config.events.visibility_timeout_seconds = 10;
    assert_eq!(config.validate(), vec![]);
    config
}

async fn start(config: &Config, store: &Store) -> RunningDaemon {
    daemon::start(
        Arc::new(config.clone()),
        store.clone(),
        "events-test".into(),
    )
    .await
    .expect("daemon starts")
}

/// Polls `check` until it answers `Some`, for at most 60 s (a loaded
/// 2-core machine, redeliveries after a 10 s visibility timeout).
async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn drift_of(store: &Store, bucket: &str) -> Vec<DriftRow> {
    drift_at(store, &format!("arn:aws:s3:::{bucket}")).await
}

async fn drift_at(store: &Store, arn: &str) -> Vec<DriftRow> {
    store
        .drift_events(&DriftFilter {
            arn: Some(arn.to_string()),
            ..DriftFilter::default()
        })
        .await
        .expect("drift events")
}

async fn tls_only_status(store: &Store, bucket: &str) -> String {
    store
        .findings(&driftwatch::store::FindingFilter {
            arn: Some(format!("arn:aws:s3:::{bucket}")),
            control_id: Some("s3.tls_only".into()),
            ..Default::default()
        })
        .await
        .expect("findings")
        .first()
        .map(|f| f.status.to_string())
        .unwrap_or_default()
}

async fn metrics(daemon: &RunningDaemon) -> String {
    let mut stream = tokio::net::TcpStream::connect(daemon.http_addr)
        .await
        .expect("connect to the daemon");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .await
        .expect("request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response");
    response
}

fn outcome_count(metrics: &str, outcome: &str) -> u64 {
    let prefix = format!("driftwatch_change_events_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn count(url: &str, sql: &'static str) -> i64 {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .expect("count")
}

/// A test's world: moto (behind a fault proxy when asked), a database, a
/// PagerDuty receiver, a queue, the config, and `bucket` with a TLS-only
/// policy recorded by a baseline scan.
struct World {
    _moto: Moto,
    proxy: Option<FaultProxy>,
    store: Store,
    url: String,
    pd: support::receiver::Running,
    _keys: tempfile::TempDir,
    sqs: aws_sdk_sqs::Client,
    queue: String,
    config: Config,
    s3: aws_sdk_s3::Client,
}

impl World {
    async fn new(bucket: &str, proxied: bool, s3_schedule: Option<&str>) -> World {
        let moto = Moto::start();
        let proxy = if proxied {
            Some(FaultProxy::start(&moto.endpoint).await)
        } else {
            None
        };
        let (store, url) = support::database().await;
        let pd = Receiver::start().await;
        let keys = tempfile::tempdir().expect("temp dir");
        let sqs = sqs(&moto);
        let queue = create_queue(&sqs).await;
        let endpoint = proxy.as_ref().map_or(&moto.endpoint, |p| &p.endpoint);
        let mut config = config(endpoint, &url, &queue, &pd.url(), keys.path());
        if let Some(schedule) = s3_schedule {
            config.collectors.get_mut("s3").schedule = schedule.into();
        }
        let s3 = moto.s3();
        create_bucket(&s3, bucket).await;
        put_policy(&s3, bucket, &tls_policy(bucket)).await;
        scan::scan_once(&config, &store)
            .await
            .expect("baseline scan");
        World {
            _moto: moto,
            proxy,
            store,
            url,
            pd,
            _keys: keys,
            sqs,
            queue,
            config,
            s3,
        }
    }

    fn proxy(&self) -> &FaultProxy {
        self.proxy.as_ref().expect("a world behind the fault proxy")
    }
}

#[tokio::test]
async fn an_assumed_role_removing_a_tls_policy_is_drift_by_alice_via_role_admin_and_pages_so() {
    let world = World::new("card-vault", false, None).await;
    let World {
        store,
        url,
        pd,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;
    assert_eq!(tls_only_status(store, "card-vault").await, "pass");
    let daemon = start(config, store).await;

    s3.delete_bucket_policy()
        .bucket("card-vault")
        .send()
        .await
        .expect("delete the policy");
    let changed_at = chrono::Utc::now();
    send(
        sqs,
        queue,
        &bucket_event(
            "e-1",
            "DeleteBucketPolicy",
            "card-vault",
            alice_via_admin(),
            changed_at,
            false,
        ),
    )
    .await;

    let drift = eventually("the drift by alice", || async {
        drift_of(store, "card-vault")
            .await
            .into_iter()
            .find(|d| d.actor.is_some())
    })
    .await;
    assert_eq!(drift.actor.as_deref(), Some("alice via role Admin"));
    let event = drift.change_event.as_ref().expect("the event");
    assert_eq!(event["identity"]["type"], "AssumedRole");
    assert_eq!(event["identity"]["session_name"], "alice");
    assert_eq!(
        event["identity"]["session_issuer_arn"],
        format!("arn:aws:iam::{ACCOUNT_ID}:role/Admin")
    );
    assert_eq!(event["event_name"], "DeleteBucketPolicy");
    assert_eq!(event["event_id"], "e-1");
    assert_eq!(event["source_ip"], "203.0.113.7");
    assert_eq!(event["request_id"], "REQe-1");
    assert!(
        drift.changes.to_string().contains("policy"),
        "{}",
        drift.changes
    );
    assert_eq!(tls_only_status(store, "card-vault").await, "fail");

    // The page names who made the change.
    let page = eventually("the page", || async {
        pd.receiver
            .received()
            .into_iter()
            .map(|r| r.event)
            .find(|e| e["event_action"] == "trigger")
    })
    .await;
    let changed_by = &page["payload"]["custom_details"]["changed_by"];
    assert_eq!(changed_by["actor"], "alice via role Admin", "{page}");
    assert_eq!(changed_by["identity"]["session_name"], "alice");

    // Deleted once what it caused was committed.
    eventually("the queue emptied", || async {
        (messages_left(sqs, queue).await == 0).then_some(())
    })
    .await;
    // Only the bucket was described again: one targeted scan, no listing.
    assert_eq!(
        count(url, "SELECT count(*) FROM scans WHERE targeted").await,
        1
    );
    assert_eq!(
        count(url, "SELECT count(*) FROM scans WHERE NOT targeted").await,
        1
    );
    daemon.shutdown().await;

    // What a person runs.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .args(["drift", "--arn", "arn:aws:s3:::card-vault"])
        .env("DRIFTWATCH_DATABASE_URL", url)
        .output()
        .expect("driftwatch drift");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("ACTOR") && text.contains("alice via role Admin"),
        "{text}"
    );
}

#[tokio::test]
async fn duplicates_reads_other_services_and_malformed_bodies_record_nothing_twice_and_lose_nothing()
 {
    let world = World::new("ledger", false, None).await;
    let World {
        store,
        url,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;
    let daemon = start(config, store).await;

    s3.delete_bucket_policy()
        .bucket("ledger")
        .send()
        .await
        .expect("delete the policy");
    let now = chrono::Utc::now();
    let change = bucket_event(
        "d-1",
        "DeleteBucketPolicy",
        "ledger",
        iam_user("bob"),
        now,
        false,
    );
    send(sqs, queue, &change).await;
    let read = bucket_event(
        "r-1",
        "GetBucketPolicy",
        "ledger",
        iam_user("bob"),
        now,
        true,
    );
    send(sqs, queue, &read).await;
    let mut other: Value = serde_json::from_str(&change).expect("json");
    other["source"] = json!("aws.sagemaker");
    other["detail"]["eventSource"] = json!("sagemaker.amazonaws.com");
    other["detail"]["eventName"] = json!("CreateNotebookInstance");
    other["detail"]["eventID"] = json!("o-1");
    send(sqs, queue, &other.to_string()).await;
    send(sqs, queue, "{\"detail\": \"not a CloudTrail record\"").await;

    eventually("the change", || async {
        let metrics = metrics(&daemon).await;
        (outcome_count(&metrics, "changed") == 1).then_some(())
    })
    .await;
    // The same event again (a redelivery, or EventBridge's at-least-once).
    send(sqs, queue, &change).await;
    let metrics = eventually("every outcome counted", || async {
        let metrics = metrics(&daemon).await;
        let done = outcome_count(&metrics, "duplicate") == 1
            && outcome_count(&metrics, "read_only") == 1
            && outcome_count(&metrics, "not_collected") == 1
            && outcome_count(&metrics, "malformed") >= 1;
        done.then_some(metrics)
    })
    .await;
    assert_eq!(outcome_count(&metrics, "changed"), 1, "{metrics}");
    // Created by the baseline scan, then bob's change, once.
    let drift = drift_of(store, "ledger").await;
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert_eq!(drift[0].actor_text(), NO_EVENT_RECEIVED);
    assert_eq!(drift[1].actor.as_deref(), Some("IAM user bob"));
    assert_eq!(count(url, "SELECT count(*) FROM change_events").await, 1);
    // The malformed body is left for the dead-letter queue; the rest is gone.
    eventually("only the malformed message left", || async {
        (messages_left(sqs, queue).await == 1).then_some(())
    })
    .await;
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_late_event_explains_the_drift_a_scan_found_and_an_old_event_rewinds_nothing() {
    let world = World::new("audit-logs", false, None).await;
    let World {
        store,
        url,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;

    // CloudTrail's eventTime is in whole seconds: a change is a second
    // apart from the scan before it, as it is in any real estate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The scan finds the change before its event arrives.
    let deleted_at = chrono::Utc::now();
    s3.delete_bucket_policy()
        .bucket("audit-logs")
        .send()
        .await
        .expect("delete the policy");
    scan::scan_once(config, store).await.expect("scan");
    let drift = drift_of(store, "audit-logs").await;
    assert_eq!(drift.len(), 2, "created, then the deletion: {drift:?}");
    assert!(drift.iter().all(|d| d.actor_text() == NO_EVENT_RECEIVED));

    // The policy is put back; its event arrives first, then the late
    // delete's: neither rewinds the bucket to what it was in between.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let put_at = chrono::Utc::now();
    put_policy(s3, "audit-logs", &tls_policy("audit-logs")).await;
    scan::scan_once(config, store).await.expect("scan");
    assert_eq!(drift_of(store, "audit-logs").await.len(), 3);
    let daemon = start(config, store).await;
    let put_event = bucket_event(
        "p-1",
        "PutBucketPolicy",
        "audit-logs",
        iam_user("carol"),
        put_at,
        false,
    );
    send(sqs, queue, &put_event).await;
    send(
        sqs,
        queue,
        &bucket_event(
            "l-1",
            "DeleteBucketPolicy",
            "audit-logs",
            alice_via_admin(),
            deleted_at,
            false,
        ),
    )
    .await;
    eventually("both events processed", || async {
        (count(
            url,
            "SELECT count(*) FROM change_events WHERE processed_at IS NOT NULL",
        )
        .await
            == 2)
            .then_some(())
    })
    .await;
    let drift = drift_of(store, "audit-logs").await;
    assert_eq!(drift.len(), 3, "no drift recorded twice: {drift:?}");
    assert_eq!(drift[0].actor_text(), NO_EVENT_RECEIVED, "the creation");
    assert_eq!(
        drift[1].actor.as_deref(),
        Some("alice via role Admin"),
        "{drift:?}"
    );
    assert_eq!(
        drift[2].actor.as_deref(),
        Some("IAM user carol"),
        "{drift:?}"
    );
    assert_eq!(tls_only_status(store, "audit-logs").await, "pass");
    daemon.shutdown().await;
}

fn bucket(name: &str, versioning: &str) -> driftwatch::model::ResourceRecord {
    support::bucket_record(&S3Bucket {
        name: name.to_string(),
        arn: format!("arn:aws:s3:::{name}"),
        region: REGION.into(),
        versioning: driftwatch::model::Versioning {
            status: Some(versioning.to_string()),
            mfa_delete: None,
        },
        ..S3Bucket::default()
    })
}

#[tokio::test]
async fn a_scan_begun_before_a_targeted_one_does_not_overwrite_what_that_saw() {
    let (store, url) = support::database().await;
    let scope = Scope {
        collector: "s3".into(),
        account_id: ACCOUNT_ID.into(),
        account_name: "test".into(),
        region: "global".into(),
    };
    let settings = driftwatch::evaluate::RuleSettings::default();
    let t0 = chrono::Utc::now();
    let collection =
        |started: chrono::DateTime<chrono::Utc>, records| driftwatch::collect::Collection {
            collector: "s3",
            scope_region: "global".into(),
            started_at: started,
            finished_at: started + chrono::Duration::seconds(5),
            listing: Ok(()),
            resources: records,
            warnings: Vec::new(),
        };
    scan::record_collection(
        &store,
        scope.clone(),
        &collection(
            t0,
            vec![bucket("vault", "Suspended"), bucket("other", "Suspended")],
        ),
        &settings,
        None,
        None,
    )
    .await
    .expect("first scan");

    // A change event's describe at t0+20 s sees versioning enabled...
    let event = store
        .record_change_event(
            &driftwatch::store::change_events::NewChangeEvent {
                event_id: "v-1",
                event_time: t0 + chrono::Duration::seconds(19),
                account_id: ACCOUNT_ID,
                region: REGION,
                event_source: "s3.amazonaws.com",
                event_name: "PutBucketVersioning",
                actor: "IAM user dave",
                actor_detail: &json!({}),
            },
            t0 + chrono::Duration::seconds(20),
        )
        .await
        .expect("event");
    let described = BTreeMap::from([(
        "arn:aws:s3:::vault".to_string(),
        Ok(Some(bucket("vault", "Enabled"))),
    )]);
    let targeted = TargetedCollection {
        started_at: t0 + chrono::Duration::seconds(20),
        finished_at: t0 + chrono::Duration::seconds(21),
        described,
        change_event_id: event.id,
    };
    let report = scan::record_targeted(&store, scope.clone(), &targeted, &settings, None)
        .await
        .expect("targeted scan");
    assert_eq!(report.drift.len(), 1);
    // Not a listing: what was last seen is still the first scan's.
    let first_listing = t0 + chrono::Duration::seconds(5);
    assert_last_seen(&store, first_listing).await;

    // ...then a scheduled scan that began at t0+10 s, before the change,
    // commits what it saw then: the vault keeps its newer state, the other
    // bucket is recorded, nothing is deleted.
    scan::record_collection(
        &store,
        scope.clone(),
        &collection(
            t0 + chrono::Duration::seconds(10),
            vec![bucket("vault", "Suspended"), bucket("other", "Enabled")],
        ),
        &settings,
        None,
        None,
    )
    .await
    .expect("late scheduled scan");
    let vault = store
        .current_snapshot("arn:aws:s3:::vault")
        .await
        .expect("read")
        .expect("stored");
    assert!(vault.document.expect("document").contains("\"Enabled\""));
    assert_eq!(
        drift_of(&store, "vault").await.len(),
        2,
        "created, then the event's change"
    );
    assert_eq!(
        drift_of(&store, "other").await.len(),
        2,
        "created, then modified"
    );
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_last_seen(&store, t0 + chrono::Duration::seconds(15)).await;

    // An event's describe at t0+40 s finds `other` gone; a scheduled scan
    // begun at t0+30 s, before the deletion, still lists it: it stays
    // deleted, with no second creation.
    let gone = TargetedCollection {
        started_at: t0 + chrono::Duration::seconds(40),
        finished_at: t0 + chrono::Duration::seconds(41),
        described: BTreeMap::from([("arn:aws:s3:::other".to_string(), Ok(None))]),
        change_event_id: event.id,
    };
    let report = scan::record_targeted(&store, scope.clone(), &gone, &settings, None)
        .await
        .expect("targeted deletion");
    assert_eq!(report.drift.len(), 1);
    scan::record_collection(
        &store,
        scope.clone(),
        &collection(
            t0 + chrono::Duration::seconds(30),
            vec![bucket("vault", "Enabled"), bucket("other", "Enabled")],
        ),
        &settings,
        None,
        None,
    )
    .await
    .expect("scheduled scan begun before the deletion");
    let kinds: Vec<String> = drift_of(&store, "other")
        .await
        .iter()
        .map(|d| d.kind.to_string())
        .collect();
    assert_eq!(kinds, ["created", "modified", "deleted"]);
    assert_eq!(
        count(
            &url,
            "SELECT count(*) FROM resources WHERE deleted_at IS NOT NULL"
        )
        .await,
        1
    );
}

/// Every current finding was last seen by the listing that finished at `at`.
async fn assert_last_seen(store: &Store, at: chrono::DateTime<chrono::Utc>) {
    let findings = store
        .findings(&driftwatch::store::FindingFilter::default())
        .await
        .expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| (f.last_seen_at - at).num_milliseconds() == 0),
        "{findings:?}"
    );
}

#[tokio::test]
async fn an_unreachable_queue_is_retried_while_scans_go_on_and_a_failed_delete_records_nothing_twice()
 {
    let world = World::new("reports", true, Some("*/2 * * * * *")).await;
    let World {
        store,
        url,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;

    world
        .proxy()
        .inject(Fault::new(Action::ServerError).service("sqs"));
    let daemon = start(config, store).await;
    let scans_before = count(url, "SELECT count(*) FROM scans").await;
    eventually("receive errors counted while scans go on", || async {
        let metrics = metrics(&daemon).await;
        let errors = metrics
            .lines()
            .find_map(|l| l.strip_prefix("driftwatch_event_receive_errors_total "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        let scans = count(url, "SELECT count(*) FROM scans").await;
        (errors >= 2 && scans > scans_before).then_some(())
    })
    .await;

    // The queue comes back, but deleting fails (as if the replica died
    // between its commit and the delete): the message is redelivered after
    // its visibility timeout, found processed, and deleted.
    world.proxy().clear();
    world.proxy().inject(
        Fault::new(Action::ServerError)
            .service("sqs")
            .operation("DeleteMessage")
            .times(2),
    );
    s3.delete_bucket_policy()
        .bucket("reports")
        .send()
        .await
        .expect("delete the policy");
    send(
        sqs,
        queue,
        &bucket_event(
            "f-1",
            "DeleteBucketPolicy",
            "reports",
            alice_via_admin(),
            chrono::Utc::now(),
            false,
        ),
    )
    .await;
    eventually("the redelivery found processed", || async {
        let metrics = metrics(&daemon).await;
        (outcome_count(&metrics, "duplicate") >= 1).then_some(())
    })
    .await;
    eventually("the queue emptied", || async {
        (messages_left(sqs, queue).await == 0).then_some(())
    })
    .await;
    let by_event: Vec<DriftRow> = drift_of(store, "reports")
        .await
        .into_iter()
        .filter(|d| d.actor.is_some())
        .collect();
    assert_eq!(by_event.len(), 1, "{by_event:?}");
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_resource_that_cannot_be_described_now_is_described_again_on_redelivery() {
    let world = World::new("payroll", true, None).await;
    let World {
        store,
        url,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;
    let daemon = start(config, store).await;

    // Both attempts of the describe's GetBucketPolicy fail: not known now.
    world.proxy().inject(
        Fault::new(Action::ServerError)
            .service("s3")
            .target_contains("?policy")
            .times(2),
    );
    s3.delete_bucket_policy()
        .bucket("payroll")
        .send()
        .await
        .expect("delete the policy");
    send(
        sqs,
        queue,
        &bucket_event(
            "t-1",
            "DeleteBucketPolicy",
            "payroll",
            alice_via_admin(),
            chrono::Utc::now(),
            false,
        ),
    )
    .await;
    let drift = eventually("the drift by alice, on redelivery", || async {
        drift_of(store, "payroll")
            .await
            .into_iter()
            .find(|d| d.actor.is_some())
    })
    .await;
    assert_eq!(drift.actor.as_deref(), Some("alice via role Admin"));
    let metrics = metrics(&daemon).await;
    assert!(outcome_count(&metrics, "describe_failed") >= 1, "{metrics}");
    assert_eq!(outcome_count(&metrics, "changed"), 1, "{metrics}");
    assert_eq!(
        count(url, "SELECT count(*) FROM scans WHERE targeted").await,
        1
    );
    daemon.shutdown().await;
}

/// The root user, as AWS documents the Root identity.
fn root() -> Value {
    json!({
        "type": "Root",
        "principalId": ACCOUNT_ID,
        "arn": format!("arn:aws:iam::{ACCOUNT_ID}:root"),
        "accountId": ACCOUNT_ID,
        "accessKeyId": "ASIAIOSFODNN7EXAMPLE"
    })
}

/// A call an AWS service made (AWSService identity).
fn aws_service(service: &str) -> Value {
    json!({"type": "AWSService", "invokedBy": service})
}

#[tokio::test]
async fn a_write_of_each_collected_service_is_drift_by_its_actor() {
    use aws_sdk_ec2::types::{IpPermission, IpRange, LaunchTemplateHttpTokensState as Tokens};
    use support::seed::{
        Db, db_instance, ecr_repository, expire, launch_template, log_group, new_default_version,
        put_lifecycle, security_group, set_retention,
    };
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let pd = Receiver::start().await;
    let keys = tempfile::tempdir().expect("temp dir");
    let sqs = sqs(&moto);
    let queue = create_queue(&sqs).await;
    let mut config = config(&moto.endpoint, &url, &queue, &pd.url(), keys.path());
    let collected = ["network", "logs", "ecr", "ec2", "rds"];
    for collector in driftwatch::collect::COLLECTORS {
        let settings = config.collectors.get_mut(collector.name);
        settings.enabled = collected.contains(&collector.name);
        settings.schedule = "0 0 0 1 1 *".into();
    }
    let ec2 = moto.ec2_in(REGION);
    let logs = moto.logs();
    let ecr = moto.ecr();
    let rds = moto.rds_in(REGION);
    let group = security_group(&ec2, "web", 443, "10.0.0.0/8").await;
    log_group(&logs, "app", Some(365)).await;
    ecr_repository(&ecr, "images", Some(expire("sinceImagePushed", 30))).await;
    let template = launch_template(&ec2, "workers", Tokens::Optional).await;
    db_instance(
        &rds,
        Db {
            id: "ledger",
            multi_az: true,
            public: false,
            encrypted: true,
            retention: 7,
            group: None,
        },
    )
    .await;
    scan::scan_once(&config, &store)
        .await
        .expect("baseline scan");
    let daemon = start(&config, &store).await;
    let arn = |resource: &str, service: &str| {
        format!("arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}")
    };

    // Each change through the SDK, then its event; its drift names its actor.
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("open ssh");
    let open_ssh = json!({"groupId": group, "ipPermissions": {"items": [{"ipProtocol": "tcp",
        "fromPort": 22, "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}});
    let cases = [(
        arn(&format!("security-group/{group}"), "ec2"),
        api_call(
            "c-sg",
            "ec2",
            "AuthorizeSecurityGroupIngress",
            root(),
            open_ssh,
            chrono::Utc::now(),
        ),
        format!("the root user of {ACCOUNT_ID}"),
    )];
    check_attributed(&store, &sqs, &queue, &cases).await;

    set_retention(&logs, "app", 7).await;
    let cases = [(
        arn("log-group:app", "logs"),
        api_call(
            "c-logs",
            "logs",
            "PutRetentionPolicy",
            aws_service("cloudformation.amazonaws.com"),
            json!({"logGroupName": "app", "retentionInDays": 7}),
            chrono::Utc::now(),
        ),
        "AWS service cloudformation.amazonaws.com".to_string(),
    )];
    check_attributed(&store, &sqs, &queue, &cases).await;

    put_lifecycle(&ecr, "images", expire("imageCountMoreThan", 10)).await;
    // (moto 5.1.22 answers ModifyInstanceMetadataOptions with a 500: the
    // instance's mapping is held by the change-event unit tests.)
    new_default_version(&ec2, &template, Tokens::Required).await;
    rds.modify_db_instance()
        .db_instance_identifier("ledger")
        .publicly_accessible(true)
        .apply_immediately(true)
        .send()
        .await
        .expect("make public");
    let now = chrono::Utc::now();
    let cases = [
        (
            arn("repository/images", "ecr"),
            api_call(
                "c-ecr",
                "ecr",
                "PutLifecyclePolicy",
                iam_user("erin"),
                json!({"repositoryName": "images", "lifecyclePolicyText": "..."}),
                now,
            ),
            "IAM user erin".to_string(),
        ),
        (
            arn(&format!("launch-template/{template}"), "ec2"),
            api_call(
                "c-template",
                "ec2",
                "ModifyLaunchTemplate",
                alice_via_admin(),
                json!({"ModifyLaunchTemplateRequest": {"LaunchTemplateId": template, "SetDefaultVersion": "2"}}),
                now,
            ),
            "alice via role Admin".to_string(),
        ),
        (
            arn("db:ledger", "rds"),
            api_call(
                "c-rds",
                "rds",
                "ModifyDBInstance",
                iam_user("frank"),
                json!({"dBInstanceIdentifier": "ledger", "publiclyAccessible": true, "applyImmediately": true}),
                now,
            ),
            "IAM user frank".to_string(),
        ),
    ];
    check_attributed(&store, &sqs, &queue, &cases).await;
    daemon.shutdown().await;
}

/// Sends each case's event and waits for its resource's drift by its actor.
async fn check_attributed(
    store: &Store,
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    cases: &[(String, Value, String)],
) {
    for (_, event, _) in cases {
        send(sqs, queue, &event.to_string()).await;
    }
    for (arn, _, actor) in cases {
        let drift = eventually(&format!("the drift of {arn} by {actor}"), || async {
            drift_at(store, arn)
                .await
                .into_iter()
                .find(|d| d.actor.is_some())
        })
        .await;
        assert_eq!(drift.actor.as_deref(), Some(actor.as_str()), "{arn}");
        assert_eq!(drift.kind.to_string(), "modified", "{arn}");
    }
}

#[tokio::test]
async fn a_replica_killed_between_its_commit_and_the_delete_loses_and_duplicates_nothing() {
    let world = World::new("invoices", true, None).await;
    let World {
        store,
        url,
        sqs,
        queue,
        config,
        s3,
        ..
    } = &world;
    // The delete never answers: the replica is killed while it waits.
    world.proxy().inject(
        Fault::new(Action::Hang)
            .service("sqs")
            .operation("DeleteMessage"),
    );
    let first = start(config, store).await;
    s3.delete_bucket_policy()
        .bucket("invoices")
        .send()
        .await
        .expect("delete the policy");
    send(
        sqs,
        queue,
        &bucket_event(
            "k-1",
            "DeleteBucketPolicy",
            "invoices",
            alice_via_admin(),
            chrono::Utc::now(),
            false,
        ),
    )
    .await;
    eventually("the event's work committed", || async {
        (count(
            url,
            "SELECT count(*) FROM change_events WHERE processed_at IS NOT NULL",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    first.kill();

    // Another replica gets the message once its visibility runs out.
    world.proxy().clear();
    let second = start(config, store).await;
    eventually("the queue emptied", || async {
        (messages_left(sqs, queue).await == 0).then_some(())
    })
    .await;
    let metrics = metrics(&second).await;
    assert_eq!(outcome_count(&metrics, "duplicate"), 1, "{metrics}");
    let by_event: Vec<DriftRow> = drift_of(store, "invoices")
        .await
        .into_iter()
        .filter(|d| d.actor.is_some())
        .collect();
    assert_eq!(by_event.len(), 1, "{by_event:?}");
    assert_eq!(by_event[0].actor.as_deref(), Some("alice via role Admin"));
    second.shutdown().await;
}
