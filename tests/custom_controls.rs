//! A team's own controls in Rego, end to end: modules and sidecars on disk,
//! loaded by the config, evaluated in the real scan path over buckets
//! created through the real SDK in moto, stored in a real PostgreSQL, and
//! then listed, paged, waived and reported exactly as built-in controls.

mod support;

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, ReplicationRuleStatus,
};
use driftwatch::alert::plan::AlertPolicy;
use driftwatch::config::Config;
use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::report;
use driftwatch::scan::scan_once;
use driftwatch::store::waivers::NewWaiver;
use driftwatch::store::{FindingFilter, FindingRow, Store};
use sqlx::Connection;
use std::path::Path;
use std::process::Command;
use support::Moto;
use support::fault_proxy::{Action, Fault, FaultProxy};
use support::seed::{create_bucket, enable_versioning, replicate};

const CONTROL: &str = "team.payments_replicate_eu";

/// The shipped example of the same rule, `controls/examples/`.
const SHIPPED: &str = "examples.payments_replication";

/// "Payments buckets replicate to eu-west-1": one of the issue's own
/// examples, written against the stored S3 bucket document.
const PAYMENTS_REGO: &str = r#"package team.payments

applicable if startswith(input.name, "payments-")

replicates_to(region) if {
    some rule in input.replication.rules
    rule.status == "Enabled"
    rule.destination_region == region
}

deny contains msg if {
    not replicates_to("eu-west-1")
    msg := sprintf("%s does not replicate to eu-west-1", [input.name])
}
"#;

const PAYMENTS_TOML: &str = r#"id = "team.payments_replicate_eu"
title = "Payments buckets replicate to eu-west-1"
resource_types = ["s3.bucket"]
severity = "high"
rationale = "The payments recovery plan restores from eu-west-1; a bucket not replicated there is not recoverable."
remediation = "aws s3api put-bucket-replication --bucket NAME with a rule whose destination bucket is in eu-west-1"

[requirements]
soc2 = ["A1.2"]
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from)
        .expect("read dir")
        .map(|e| e.expect("entry"))
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write control file");
}

async fn bucket_in(moto: &Moto, name: &str, region: &str) {
    let s3 = moto.s3_in(region);
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
}

async fn findings_of(store: &Store, control: &str) -> Vec<FindingRow> {
    store
        .findings(&FindingFilter {
            control_id: Some(control.to_string()),
            ..FindingFilter::default()
        })
        .await
        .expect("findings")
}

fn status_of(findings: &[FindingRow], bucket: &str) -> Option<FindingStatus> {
    let arn = format!("arn:aws:s3:::{bucket}");
    findings.iter().find(|f| f.arn == arn).map(|f| f.status)
}

/// The config the test scans with: S3 only, the controls folder loaded
/// by the same loader `Config::load` uses, and a PagerDuty sink routed
/// by the custom control's id.
fn config_with_controls(moto: &Moto, url: &str, base: &Path) -> Config {
    let mut config = moto.config(url, &["s3"]);
    config.custom_controls.paths = vec!["controls".into()];
    config.alerts = toml::from_str(&format!(
        r#"
        min_severity = "high"
        flap_window_seconds = 0
        [sinks.pd]
        kind = "pagerduty"
        url = "http://127.0.0.1:9/unused"
        routing_key_file = "{}"
        [[routes]]
        controls = ["{SHIPPED}"]
        sinks = ["pd"]
        "#,
        base.join("key").display()
    ))
    .expect("alerts config");
    let issues = config.load_custom_controls(base);
    assert_eq!(issues, vec![]);
    assert_eq!(config.validate(), vec![]);
    config
}

/// The alerts queued for the custom control, oldest first: (action, title).
async fn queued_alerts(url: &str, control: &str) -> Vec<(String, String)> {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    sqlx::query_as(
        "SELECT action, alert->>'control_title' FROM alert_outbox
          WHERE alert->>'control_id' = $1 ORDER BY id",
    )
    .bind(control)
    .fetch_all(&mut conn)
    .await
    .expect("outbox")
}

#[tokio::test]
async fn a_rego_control_is_scanned_paged_waived_and_reported_like_a_built_in() {
    const CONTROL: &str = SHIPPED;
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    bucket_in(&moto, "replica-eu", "eu-west-1").await;
    create_bucket(&s3, "replica-us").await;
    for (bucket, destination) in [("payments-eu", "replica-eu"), ("payments-us", "replica-us")] {
        create_bucket(&s3, bucket).await;
        enable_versioning(
            &s3,
            bucket,
            aws_sdk_s3::types::BucketVersioningStatus::Enabled,
        )
        .await;
        replicate(&s3, bucket, destination, ReplicationRuleStatus::Enabled).await;
    }
    create_bucket(&s3, "logs").await;

    // The shipped example, copied so that the test can change it.
    let base = tempfile::tempdir().expect("temp dir");
    write(base.path(), "key", "R0UT1NGKEY0123456789abcdef012345\n");
    let controls = base.path().join("controls");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("controls/examples"),
        &controls,
    );
    let config = config_with_controls(&moto, &url, base.path());
    scan_once(&config, &store).await.expect("scan");
    let findings = findings_of(&store, CONTROL).await;
    assert_eq!(findings.len(), 2, "only payments buckets: {findings:#?}");
    assert_eq!(
        status_of(&findings, "payments-eu"),
        Some(FindingStatus::Pass)
    );
    assert_eq!(
        status_of(&findings, "payments-us"),
        Some(FindingStatus::Fail)
    );
    let failing = findings
        .iter()
        .find(|f| f.status == FindingStatus::Fail)
        .expect("one failure");
    assert_eq!(
        failing.evidence["message"],
        "payments-us does not replicate to eu-west-1"
    );
    let version = config.custom.get(CONTROL).expect("loaded").version.clone();
    assert_eq!(failing.evidence["control_version"], version.as_str());
    assert_eq!(failing.severity, driftwatch::evaluate::Severity::High);

    // `controls eval` shows the same verdict on the stored document, with
    // each rule's value.
    write(
        base.path(),
        "driftwatch.toml",
        "[custom_controls]\npaths = [\"controls\"]\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .arg("--config")
        .arg(base.path().join("driftwatch.toml"))
        .args(["controls", "eval", "--control", CONTROL, "--resource"])
        .arg("arn:aws:s3:::payments-us")
        .env_remove("DRIFTWATCH_CONFIG")
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run controls eval");
    assert!(output.status.success(), "{output:?}");
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(shown["verdict"]["status"], "fail", "{shown}");
    assert_eq!(shown["control_version"], version.as_str());
    assert_eq!(shown["rules"]["applicable"], true);
    assert_eq!(
        shown["rules"]["deny"],
        serde_json::json!(["payments-us does not replicate to eu-west-1"])
    );

    // Paged at its severity, with its own title, like a built-in.
    assert_eq!(
        queued_alerts(&url, CONTROL).await,
        [(
            "trigger".to_string(),
            "Payments buckets replicate to the recovery region (eu-west-1)".to_string()
        )]
    );

    // Waived: the incident resolves.
    let policy = AlertPolicy::from_config(&config.alerts, &config.custom);
    let now = chrono::Utc::now();
    driftwatch::waive::add(
        &store,
        &NewWaiver {
            control_id: CONTROL,
            resource_arn: "arn:aws:s3:::payments-us",
            reason: "US-only product until the EU launch, ticket PAY-9",
            approved_by: "ciso@example.com",
            expires_at: now + chrono::Duration::days(30),
        },
        "cli",
        now,
        policy.as_ref(),
    )
    .await
    .expect("waive");
    let actions: Vec<String> = queued_alerts(&url, CONTROL)
        .await
        .into_iter()
        .map(|a| a.0)
        .collect();
    assert_eq!(actions, ["trigger", "resolve"]);

    // In the day's report: the control with its version and mapping, the
    // waived finding, and the SOC 2 requirement it evidences.
    let today = chrono::Utc::now().date_naive();
    let built = report::report_for(&store, &config.custom, today, chrono::Utc::now())
        .await
        .expect("report");
    let summary = built
        .control(CONTROL)
        .expect("custom control in the report");
    assert_eq!(summary.custom_version.as_deref(), Some(version.as_str()));
    assert_eq!(summary.soc2, ["A1.2", "CC9.1"]);
    assert_eq!(summary.counts.waived, 1, "{summary:?}");
    let soc2 = built
        .frameworks
        .iter()
        .find(|f| f.id == "soc2")
        .expect("soc2");
    let a12 = soc2
        .requirements
        .iter()
        .find(|r| r.id == "A1.2")
        .expect("A1.2");
    assert!(a12.controls.iter().any(|c| c == CONTROL), "{a12:?}");

    // A changed source is a new version: the verdicts it decides say so,
    // and a bucket it now fails is a regression like any other.
    let module = controls.join("payments_replication.rego");
    let source = std::fs::read_to_string(&module).expect("read");
    std::fs::write(&module, source.replace("\"eu-west-1\"", "\"eu-central-1\"")).expect("write");
    let config = config_with_controls(&moto, &url, base.path());
    let changed = config.custom.get(CONTROL).expect("loaded").version.clone();
    assert_ne!(changed, version);
    scan_once(&config, &store).await.expect("rescan");
    let findings = findings_of(&store, CONTROL).await;
    assert_eq!(
        status_of(&findings, "payments-eu"),
        Some(FindingStatus::Fail)
    );
    assert!(
        findings
            .iter()
            .all(|f| f.evidence["control_version"] == changed.as_str())
    );
    let regressions = store
        .transitions_between(
            now - chrono::Duration::hours(1),
            now + chrono::Duration::hours(1),
        )
        .await
        .expect("transitions")
        .into_iter()
        .filter(|t| t.control_id == CONTROL && t.kind == TransitionKind::Regression)
        .count();
    assert_eq!(regressions, 1);
}

#[tokio::test]
async fn a_looping_policy_is_unknown_and_the_scan_finishes() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    for i in 0..6 {
        create_bucket(&s3, &format!("payments-{i}")).await;
    }
    let base = tempfile::tempdir().expect("temp dir");
    let controls = base.path().join("controls");
    std::fs::create_dir(&controls).expect("controls dir");
    write(base.path(), "key", "R0UT1NGKEY0123456789abcdef012345\n");
    // Billions of iterations: only the per-evaluation bound ends it.
    write(
        &controls,
        "payments.rego",
        "package team.payments\n\nn := numbers.range(1, 5000)\n\n\
         deny contains \"never\" if {\n  some i in n\n  some j in n\n  some k in n\n  i * j * k == 0\n}\n",
    );
    write(&controls, "payments.toml", PAYMENTS_TOML);
    let mut config = moto.config(&url, &["s3"]);
    config.custom_controls.paths = vec!["controls".into()];
    config.custom_controls.timeout_ms = 100;
    assert_eq!(config.load_custom_controls(base.path()), vec![]);

    let started = std::time::Instant::now();
    scan_once(&config, &store).await.expect("scan");
    let findings = findings_of(&store, CONTROL).await;
    assert_eq!(findings.len(), 6);
    for finding in &findings {
        assert_eq!(finding.status, FindingStatus::Unknown, "{finding:?}");
    }
    assert!(
        findings.iter().any(|f| f.evidence["error"]
            .as_str()
            .unwrap_or("")
            .contains("time limit")),
        "{findings:#?}"
    );
    // Three timeouts, then the control is skipped: not one per bucket.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // The built-in controls were decided as usual.
    assert!(!findings_of(&store, "s3.versioning").await.is_empty());
}

fn driftwatch(config: &Path, args: &[&str]) -> (i32, String, String) {
    support::init();
    let output = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("DRIFTWATCH_CONFIG")
        .env_remove("DRIFTWATCH_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run driftwatch");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[test]
fn config_check_names_the_file_and_line_and_controls_lists_custom_ones() {
    let base = tempfile::tempdir().expect("temp dir");
    let controls = base.path().join("controls");
    std::fs::create_dir(&controls).expect("controls dir");
    write(&controls, "payments.rego", PAYMENTS_REGO);
    write(&controls, "payments.toml", PAYMENTS_TOML);
    let config = base.path().join("driftwatch.toml");
    write(
        base.path(),
        "driftwatch.toml",
        &format!(
            "[custom_controls]\npaths = [\"controls\"]\n\n[rules.\"{CONTROL}\"]\nseverity = \"critical\"\n"
        ),
    );

    let (code, stdout, stderr) = driftwatch(&config, &["config", "check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = driftwatch(&config, &["controls", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let catalog: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let custom = catalog
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == CONTROL))
        .expect("listed");
    assert_eq!(custom["frameworks"]["soc2"], serde_json::json!(["A1.2"]));
    assert_eq!(custom["resource_types"], serde_json::json!(["s3.bucket"]));

    write(
        &controls,
        "payments.rego",
        &PAYMENTS_REGO.replace("\"payments-\")", "\"payments-\""),
    );
    let (code, _, stderr) = driftwatch(&config, &["config", "check"]);
    assert_ne!(code, 0);
    let file = format!("{}:", controls.join("payments.rego").display());
    let after = stderr.split_once(&file).map(|(_, rest)| rest).unwrap_or("");
    assert!(
        after.starts_with(|c: char| c.is_ascii_digit()),
        "names file:line:column: {stderr}"
    );

    write(&controls, "payments.rego", PAYMENTS_REGO);
    write(
        &controls,
        "payments.toml",
        &PAYMENTS_TOML.replace("s3.bucket", "s3.bukket"),
    );
    let (code, _, stderr) = driftwatch(&config, &["config", "check"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("payments.toml"), "{stderr}");
    assert!(stderr.contains("s3.bukket"), "{stderr}");
}

/// The collectors section of a config scanning only S3, every second.
fn only_s3_every_second() -> String {
    let mut text = String::new();
    for collector in driftwatch::collect::COLLECTORS {
        if collector.name == "s3" {
            text.push_str("[collectors.s3]\nschedule = \"* * * * * *\"\n");
        } else {
            text.push_str(&format!(
                "[collectors.{}]\nenabled = false\n",
                collector.name
            ));
        }
    }
    text
}

/// Polls until `ready` holds, for at most `seconds`.
async fn eventually<F, Fut>(seconds: u64, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !ready().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

fn signal(child: &std::process::Child, signal: libc::c_int) {
    // SAFETY: signalling our own child process by its pid.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(sent, 0);
}

#[tokio::test]
async fn a_control_dropped_in_and_a_sighup_later_is_scanned_by_the_running_daemon() {
    support::init();
    let moto = Moto::start();
    let (store, url) = support::database().await;
    create_bucket(&moto.s3(), "payments-new").await;
    let base = tempfile::tempdir().expect("temp dir");
    let controls = base.path().join("controls");
    std::fs::create_dir(&controls).expect("controls dir");
    let config = base.path().join("driftwatch.toml");
    write(
        base.path(),
        "driftwatch.toml",
        &format!(
            "[http]\nbind = \"127.0.0.1:0\"\n\n[daemon]\npoll_seconds = 1\ngrace_seconds = 5\n\n\
             [custom_controls]\npaths = [\"controls\"]\n\n{}",
            only_s3_every_second()
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("DRIFTWATCH_CONFIG")
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start driftwatch run");

    eventually(60, "a first scan of the bucket", || async {
        !findings_of(&store, "s3.versioning").await.is_empty()
    })
    .await;
    assert!(findings_of(&store, CONTROL).await.is_empty());

    write(&controls, "payments.rego", PAYMENTS_REGO);
    write(&controls, "payments.toml", PAYMENTS_TOML);
    signal(&child, libc::SIGHUP);
    eventually(60, "the new control's finding", || async {
        status_of(&findings_of(&store, CONTROL).await, "payments-new") == Some(FindingStatus::Fail)
    })
    .await;

    // A broken change is refused and the running set kept: the daemon
    // neither stops nor loses the control.
    write(
        &controls,
        "payments.rego",
        "package team.payments\n\ndeny contains {\n",
    );
    signal(&child, libc::SIGHUP);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the daemon is running"
    );
    let before = findings_of(&store, CONTROL).await[0].last_seen_at;
    eventually(60, "scans going on with the kept control", || async {
        findings_of(&store, CONTROL).await[0].last_seen_at > before
    })
    .await;

    signal(&child, libc::SIGTERM);
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
}

#[test]
fn controls_test_passes_the_shipped_examples_and_fails_a_broken_fixture() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("controls/examples");
    let (code, stdout, stderr) = driftwatch(Path::new("/dev/null"), &["controls", "test"]);
    assert_ne!(code, 0, "no paths: {stdout}{stderr}");
    let run = |dir: &Path| {
        driftwatch(
            Path::new("/dev/null"),
            &["controls", "test", &dir.display().to_string()],
        )
    };
    let (code, stdout, stderr) = run(&shipped);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("3 controls, 34 tests: 34 passed, 0 failed"),
        "{stdout}"
    );

    let broken = tempfile::tempdir().expect("temp dir");
    copy_dir(&shipped, broken.path());
    let fixture = broken
        .path()
        .join("tests/postgres_from_vpn_only/internet.json");
    let text = std::fs::read_to_string(&fixture).expect("read");
    std::fs::write(&fixture, text.replace("\"fail\"", "\"pass\"")).expect("write");
    let shape = broken
        .path()
        .join("tests/payments_replication/replicated.json");
    let text = std::fs::read_to_string(&shape).expect("read");
    std::fs::write(&shape, text.replace("\"versioning\"", "\"versionning\"")).expect("write");
    let (code, stdout, _) = run(broken.path());
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("32 passed, 2 failed"), "{stdout}");
    assert!(
        stdout.contains("FAIL examples.postgres_from_vpn_only internet.json")
            && stdout.contains("expected Pass, got Fail"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL examples.payments_replication replicated.json")
            && stdout.contains("not a stored S3 bucket record"),
        "{stdout}"
    );
}

#[tokio::test]
async fn the_tag_policy_example_reads_the_collected_tags_and_is_unknown_when_they_are_not() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    for bucket in ["tagged", "untagged", "mislabelled"] {
        create_bucket(&s3, bucket).await;
    }
    let tag = |key: &str, value: &str| {
        aws_sdk_s3::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .expect("tag")
    };
    for (bucket, level) in [("tagged", "internal"), ("mislabelled", "top-secret")] {
        s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .tag_set(tag("owner", "payments-team"))
                    .tag_set(tag("data-classification", level))
                    .build()
                    .expect("tagging"),
            )
            .send()
            .await
            .expect("put tags");
    }
    let base = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("controls/examples"),
        &base.path().join("controls"),
    );
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["s3"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    config.custom_controls.paths = vec!["controls".into()];
    assert_eq!(config.load_custom_controls(base.path()), vec![]);

    const TAGS: &str = "examples.bucket_tags";
    scan_once(&config, &store).await.expect("scan");
    let findings = findings_of(&store, TAGS).await;
    assert_eq!(status_of(&findings, "tagged"), Some(FindingStatus::Pass));
    assert_eq!(status_of(&findings, "untagged"), Some(FindingStatus::Fail));
    assert_eq!(
        status_of(&findings, "mislabelled"),
        Some(FindingStatus::Fail)
    );

    // Without s3:GetBucketTagging the tag policy cannot be decided; the
    // built-in controls still are.
    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("s3")
            .target_contains("?tagging"),
    );
    scan_once(&config, &store).await.expect("rescan");
    let findings = findings_of(&store, TAGS).await;
    for bucket in ["tagged", "untagged", "mislabelled"] {
        assert_eq!(
            status_of(&findings, bucket),
            Some(FindingStatus::Unknown),
            "{bucket}"
        );
    }
    let versioning = findings_of(&store, "s3.versioning").await;
    assert!(
        versioning.iter().all(|f| f.status == FindingStatus::Fail),
        "{versioning:#?}"
    );
}
