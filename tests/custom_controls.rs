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

/// The shipped examples copied to a folder of their own (kept while the
/// returned guard lives), loaded by a config scanning `collectors` through
/// `proxy`, with the example framework file when `frameworks`.
fn shipped_examples(
    moto: &Moto,
    url: &str,
    collectors: &[&str],
    proxy: &FaultProxy,
    frameworks: bool,
) -> (tempfile::TempDir, Config) {
    let base = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("controls/examples"),
        &base.path().join("controls"),
    );
    let mut config = moto.config(url, collectors);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    config.custom_controls.paths = vec!["controls".into()];
    if frameworks {
        config.custom_controls.frameworks = vec!["controls/frameworks".into()];
    }
    assert_eq!(config.load_custom_controls(base.path()), vec![]);
    (base, config)
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
        stdout.contains("5 controls, 79 tests: 79 passed, 0 failed"),
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
    assert!(stdout.contains("77 passed, 2 failed"), "{stdout}");
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
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let (_base, config) = shipped_examples(&moto, &url, &["s3"], &proxy, false);

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

/// AWS's DenyAllExceptListedIfNoMFA, as its IAM user guide prints it.
const REQUIRE_MFA: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AllowManageOwnUserMFA", "Effect": "Allow",
     "Action": ["iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ResyncMFADevice"],
     "Resource": "arn:aws:iam::*:user/${aws:username}"},
    {"Sid": "DenyAllExceptListedIfNoMFA", "Effect": "Deny",
     "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser",
                   "iam:GetMFADevice", "iam:ListMFADevices", "iam:ListVirtualMFADevices",
                   "iam:ResyncMFADevice", "sts:GetSessionToken"],
     "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}
  ]
}"#;

/// The same statement with `Bool`: requests signed with a long-term access
/// key carry no aws:MultiFactorAuthPresent, so it does not deny them.
const BOOL_MFA: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Deny", "NotAction": "sts:GetSessionToken", "Resource": "*",
                 "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]
}"#;

#[tokio::test]
async fn the_mfa_example_follows_users_to_their_groups_policies_and_is_unknown_on_an_incomplete_scope()
 {
    const MFA: &str = "examples.iam_mfa_required";
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let policy_arn = |name: &str| format!("arn:aws:iam::{}:policy/{name}", support::ACCOUNT_ID);
    for (name, document) in [("require-mfa", REQUIRE_MFA), ("bool-mfa", BOOL_MFA)] {
        iam.create_policy()
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .unwrap_or_else(|e| panic!("policy {name}: {e:?}"));
    }
    iam.create_group()
        .group_name("humans")
        .send()
        .await
        .expect("group");
    iam.attach_group_policy()
        .group_name("humans")
        .policy_arn(policy_arn("require-mfa"))
        .send()
        .await
        .expect("attach to group");
    // alice signs in and is in the group; bob signs in and is not; carol
    // holds an access key under the `Bool` variant; svc holds nothing.
    for user in ["alice", "bob", "carol", "svc"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .unwrap_or_else(|e| panic!("user {user}: {e:?}"));
    }
    for user in ["alice", "bob"] {
        iam.create_login_profile()
            .user_name(user)
            .password("Correct-Horse-9")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{user}'s password: {e:?}"));
    }
    iam.add_user_to_group()
        .group_name("humans")
        .user_name("alice")
        .send()
        .await
        .expect("alice joins");
    iam.create_access_key()
        .user_name("carol")
        .send()
        .await
        .expect("carol's key");
    iam.attach_user_policy()
        .user_name("carol")
        .policy_arn(policy_arn("bool-mfa"))
        .send()
        .await
        .expect("attach to carol");

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let (base, config) = shipped_examples(&moto, &url, &["iam"], &proxy, true);
    scan_once(&config, &store).await.expect("scan");
    let user = |name: &str| format!("arn:aws:iam::{}:user/{name}", support::ACCOUNT_ID);
    let status = |findings: &[FindingRow], name: &str| {
        findings
            .iter()
            .find(|f| f.arn == user(name))
            .map(|f| f.status)
    };
    let findings = findings_of(&store, MFA).await;
    assert_eq!(status(&findings, "alice"), Some(FindingStatus::Pass));
    assert_eq!(status(&findings, "bob"), Some(FindingStatus::Fail));
    assert_eq!(status(&findings, "carol"), Some(FindingStatus::Fail));
    assert_eq!(
        status(&findings, "svc"),
        None,
        "no credentials: not applicable"
    );
    let bob = findings.iter().find(|f| f.arn == user("bob")).expect("bob");
    assert!(
        bob.evidence["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("bob has a console password, but no policy")),
        "{bob:#?}"
    );

    // The team's own framework file maps the custom control and a built-in
    // one to its requirement; the report gives it its own section.
    let built = report::report_for(
        &store,
        &config.custom,
        chrono::Utc::now().date_naive(),
        chrono::Utc::now(),
    )
    .await
    .expect("report");
    let baseline = built
        .frameworks
        .iter()
        .find(|f| f.id == "acme-baseline")
        .expect("the team's framework in the report");
    assert_eq!(
        (baseline.requirements_total, baseline.requirements_covered),
        (5, 4)
    );
    let identity = baseline
        .requirements
        .iter()
        .find(|r| r.id == "AB-4")
        .expect("AB-4");
    let mut expected = built.control(MFA).expect("custom control").counts;
    let console = built
        .control("iam.user_console_mfa")
        .expect("built-in")
        .counts;
    expected.pass += console.pass;
    expected.fail += console.fail;
    expected.waived += console.waived;
    expected.unknown += console.unknown;
    assert_eq!(identity.counts, expected);
    assert_eq!(built.control(MFA).expect("custom").counts.pass, 1);

    // `controls eval` reads the same policies and groups from the store.
    write(
        base.path(),
        "driftwatch.toml",
        "[collectors.iam]\nenabled = true\n[custom_controls]\npaths = [\"controls\"]\n\
         frameworks = [\"controls/frameworks\"]\n",
    );
    let (code, stdout, stderr) = driftwatch(
        &base.path().join("driftwatch.toml"),
        &[
            "controls",
            "--framework",
            "acme-baseline",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let shown: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(
        shown["requirements"][3]["controls"],
        serde_json::json!(["iam.user_console_mfa", MFA])
    );
    let (code, stdout, stderr) = driftwatch(
        &base.path().join("driftwatch.toml"),
        &["controls", "--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let catalog: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let mapped = |id: &str| {
        catalog
            .as_array()
            .and_then(|all| all.iter().find(|c| c["id"] == id))
            .map(|c| c["frameworks"]["acme-baseline"].clone())
    };
    assert_eq!(mapped(MFA), Some(serde_json::json!(["AB-4"])));
    assert_eq!(mapped("s3.versioning"), Some(serde_json::json!(["AB-2"])));
    let output = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .arg("--config")
        .arg(base.path().join("driftwatch.toml"))
        .args(["controls", "eval", "--control", MFA, "--resource"])
        .arg(user("alice"))
        .env_remove("DRIFTWATCH_CONFIG")
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run controls eval");
    assert!(output.status.success(), "{output:?}");
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(shown["verdict"]["status"], "pass", "{shown}");

    // The group's policy is fixed to the `Bool` variant: alice is no longer
    // governed, on the next scan.
    iam.detach_group_policy()
        .group_name("humans")
        .policy_arn(policy_arn("require-mfa"))
        .send()
        .await
        .expect("detach");
    iam.attach_group_policy()
        .group_name("humans")
        .policy_arn(policy_arn("bool-mfa"))
        .send()
        .await
        .expect("attach the Bool variant");
    scan_once(&config, &store).await.expect("rescan");
    let findings = findings_of(&store, MFA).await;
    assert_eq!(status(&findings, "alice"), Some(FindingStatus::Fail));

    // A scope listed incompletely may be missing the policy that governs:
    // unknown, never fail or pass, while the built-in user controls,
    // which read only the user, are still decided.
    proxy.inject(Fault::new(Action::AccessDenied).operation("ListServerCertificates"));
    scan_once(&config, &store).await.expect("incomplete scan");
    let findings = findings_of(&store, MFA).await;
    for name in ["alice", "bob", "carol"] {
        let finding = findings.iter().find(|f| f.arn == user(name)).expect(name);
        assert_eq!(finding.status, FindingStatus::Unknown, "{finding:#?}");
        assert!(
            finding.evidence["message"]
                .as_str()
                .is_some_and(|m| m.contains("not listed completely")),
            "{finding:#?}"
        );
    }
    let console_mfa = findings_of(&store, "iam.user_console_mfa").await;
    assert_eq!(status(&console_mfa, "bob"), Some(FindingStatus::Fail));
}

// moto's EKS has no access config and no access entries: these are
// DescribeCluster, ListAccessEntries and ListAssociatedAccessPolicies
// answers in the shapes of the EKS API reference, served by the fault
// proxy in moto's place and parsed by the real SDK client.
const PAYMENTS_CLUSTER: &str = r#"{"cluster": {
  "name": "payments",
  "arn": "arn:aws:eks:us-east-1:123456789012:cluster/payments",
  "createdAt": 1772618400.0,
  "version": "1.31",
  "roleArn": "arn:aws:iam::123456789012:role/eks",
  "resourcesVpcConfig": {"subnetIds": ["subnet-1"], "endpointPublicAccess": false,
                         "endpointPrivateAccess": true, "publicAccessCidrs": []},
  "logging": {"clusterLogging": [{"types": ["api", "audit", "authenticator"], "enabled": true}]},
  "status": "ACTIVE",
  "accessConfig": {"bootstrapClusterCreatorAdminPermissions": true,
                   "authenticationMode": "API_AND_CONFIG_MAP"}
}}"#;

const TWO_ENTRIES: &str = r#"{"accessEntries": [
  "arn:aws:iam::123456789012:role/github-deploy",
  "arn:aws:iam::123456789012:role/platform-admin"]}"#;

const ONE_ENTRY: &str = r#"{"accessEntries": ["arn:aws:iam::123456789012:role/platform-admin"]}"#;

/// The creator's admin, associated four seconds into the cluster's creation.
const CREATOR_POLICIES: &str = r#"{"clusterName": "payments",
  "principalArn": "arn:aws:iam::123456789012:role/github-deploy",
  "associatedAccessPolicies": [{
    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    "accessScope": {"type": "cluster", "namespaces": []},
    "associatedAt": 1772618404.0, "modifiedAt": 1772618404.0}]}"#;

/// An admin the platform team added once the cluster was up.
const CHOSEN_ADMIN_POLICIES: &str = r#"{"clusterName": "payments",
  "principalArn": "arn:aws:iam::123456789012:role/platform-admin",
  "associatedAccessPolicies": [{
    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    "accessScope": {"type": "cluster", "namespaces": []},
    "associatedAt": 1772620260.0, "modifiedAt": 1772620260.0}]}"#;

fn serve_payments_access(proxy: &FaultProxy, entries: &'static str) {
    proxy.clear();
    for (target, body) in [
        ("github-deploy/access-policies", CREATOR_POLICIES),
        ("platform-admin/access-policies", CHOSEN_ADMIN_POLICIES),
        ("/clusters/payments/access-entries", entries),
    ] {
        proxy.inject(Fault::new(Action::Respond(body)).target_contains(target));
    }
    proxy.inject(Fault::new(Action::Respond(PAYMENTS_CLUSTER)).target_is("/clusters/payments"));
}

#[tokio::test]
async fn the_eks_example_finds_the_creators_admin_entry_until_it_is_deleted() {
    const CREATOR: &str = "examples.eks_creator_admin";
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let eks = moto.eks();
    support::seed::eks_cluster(&eks, "payments", false, true).await;
    support::seed::eks_cluster(&eks, "legacy", false, true).await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let (_base, config) = shipped_examples(&moto, &url, &["eks"], &proxy, false);
    let cluster = |name: &str| {
        format!(
            "arn:aws:eks:{}:{}:cluster/{name}",
            support::REGION,
            support::ACCOUNT_ID
        )
    };
    let finding = |findings: &[FindingRow], name: &str| {
        findings
            .iter()
            .find(|f| f.arn == cluster(name))
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {findings:#?}"))
    };

    serve_payments_access(&proxy, TWO_ENTRIES);
    scan_once(&config, &store).await.expect("scan");
    let findings = findings_of(&store, CREATOR).await;
    let payments = finding(&findings, "payments");
    assert_eq!(payments.status, FindingStatus::Fail, "{payments:#?}");
    assert_eq!(
        payments.evidence["violations"][0]["principal"],
        "arn:aws:iam::123456789012:role/github-deploy"
    );
    // moto reports no access config: not known, never pass.
    assert_eq!(finding(&findings, "legacy").status, FindingStatus::Unknown);
    let stored = store
        .current_snapshot(&cluster("payments"))
        .await
        .expect("read")
        .expect("stored");
    let document: serde_json::Value =
        serde_json::from_str(stored.document.as_deref().expect("described")).expect("json");
    assert_eq!(
        document["access"]["cluster_created_at"],
        "2026-03-04T10:00:00Z"
    );
    assert_eq!(
        document["access"]["entries"][0]["policies"][0]["associated_at"],
        "2026-03-04T10:00:04Z"
    );

    // The creator's entry is deleted: the control passes on the next scan,
    // and the drift says which entry went.
    serve_payments_access(&proxy, ONE_ENTRY);
    scan_once(&config, &store).await.expect("rescan");
    let findings = findings_of(&store, CREATOR).await;
    assert_eq!(finding(&findings, "payments").status, FindingStatus::Pass);
    let now = chrono::Utc::now();
    let resolutions = store
        .transitions_between(
            now - chrono::Duration::hours(1),
            now + chrono::Duration::hours(1),
        )
        .await
        .expect("transitions")
        .into_iter()
        .filter(|t| t.control_id == CREATOR && t.arn == cluster("payments"))
        .map(|t| t.kind)
        .collect::<Vec<_>>();
    assert_eq!(
        resolutions,
        [TransitionKind::New, TransitionKind::Resolution]
    );
    let drift = store
        .drift_events(&driftwatch::store::DriftFilter {
            arn: Some(cluster("payments")),
            ..Default::default()
        })
        .await
        .expect("drift");
    assert!(
        drift
            .iter()
            .any(|d| d.changes.to_string().contains("github-deploy")),
        "{drift:#?}"
    );

    // Without eks:ListAccessEntries the entries are unreadable: the control
    // cannot decide, and the cluster's other controls still do.
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).target_contains("/access-entries"));
    proxy.inject(Fault::new(Action::Respond(PAYMENTS_CLUSTER)).target_is("/clusters/payments"));
    scan_once(&config, &store)
        .await
        .expect("scan without the permission");
    let payments = finding(&findings_of(&store, CREATOR).await, "payments");
    assert_eq!(payments.status, FindingStatus::Unknown, "{payments:#?}");
    assert!(
        payments.evidence["message"]
            .as_str()
            .is_some_and(|m| m.contains("ListAccessEntries: AccessDeniedException")),
        "{payments:#?}"
    );
    let logs = finding(
        &findings_of(&store, "eks.control_plane_logs").await,
        "payments",
    );
    assert_eq!(logs.status, FindingStatus::Pass);

    // A throttled listing is transient: it fails the cluster's description
    // (every control unknown, the scan partial) instead of being written
    // into the document, where it would be drift.
    let drift_of_payments = || async {
        store
            .drift_events(&driftwatch::store::DriftFilter {
                arn: Some(cluster("payments")),
                ..Default::default()
            })
            .await
            .expect("drift")
            .len()
    };
    let drift_before = drift_of_payments().await;
    proxy.clear();
    proxy.inject(Fault::new(Action::Throttle).target_contains("/access-entries"));
    proxy.inject(Fault::new(Action::Respond(PAYMENTS_CLUSTER)).target_is("/clusters/payments"));
    scan_once(&config, &store).await.expect("throttled scan");
    let logs = finding(
        &findings_of(&store, "eks.control_plane_logs").await,
        "payments",
    );
    assert_eq!(logs.status, FindingStatus::Unknown, "{logs:#?}");
    assert_eq!(
        drift_of_payments().await,
        drift_before,
        "a failed description is not drift"
    );
}

/// GetBucketReplication of a rule limited to a prefix, as the S3 API
/// reference prints it: moto answers every rule with an empty prefix.
const PARTIAL_REPLICATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role>arn:aws:iam::123456789012:role/replication</Role>
  <Rule>
    <ID>invoices-only</ID>
    <Priority>1</Priority>
    <Status>Enabled</Status>
    <DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>
    <Filter><And><Prefix>invoices/</Prefix><Tag><Key>class</Key><Value>pci</Value></Tag></And></Filter>
    <Destination><Bucket>arn:aws:s3:::replica-eu</Bucket></Destination>
  </Rule>
</ReplicationConfiguration>"#;

#[tokio::test]
async fn a_replication_rule_limited_to_a_prefix_is_collected_and_fails_the_payments_example() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    bucket_in(&moto, "replica-eu", "eu-west-1").await;
    create_bucket(&s3, "payments-partial").await;
    enable_versioning(
        &s3,
        "payments-partial",
        aws_sdk_s3::types::BucketVersioningStatus::Enabled,
    )
    .await;
    // moto keeps the rule but answers it with an empty prefix: the proxy
    // serves the rule as AWS returns it.
    replicate(
        &s3,
        "payments-partial",
        "replica-eu",
        ReplicationRuleStatus::Enabled,
    )
    .await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    proxy.inject(
        Fault::new(Action::Respond(PARTIAL_REPLICATION))
            .target_contains("/payments-partial/?replication"),
    );
    let (_base, config) = shipped_examples(&moto, &url, &["s3"], &proxy, false);
    scan_once(&config, &store).await.expect("scan");

    let stored = store
        .current_snapshot("arn:aws:s3:::payments-partial")
        .await
        .expect("read")
        .expect("stored");
    let document: serde_json::Value =
        serde_json::from_str(stored.document.as_deref().expect("described")).expect("json");
    assert_eq!(
        document["replication"]["rules"][0]["filter"],
        serde_json::json!({"prefix": "invoices/", "tags": {"class": "pci"}})
    );
    let findings = findings_of(&store, SHIPPED).await;
    let partial = findings
        .iter()
        .find(|f| f.arn == "arn:aws:s3:::payments-partial")
        .expect("judged");
    assert_eq!(partial.status, FindingStatus::Fail, "{partial:#?}");
    assert!(
        partial.evidence["message"].as_str().is_some_and(
            |m| m.contains("only the objects matching invoices-only (prefix invoices/")
        ),
        "{partial:#?}"
    );
    // The built-in control asks only for an enabled rule, as the
    // specification does.
    let built_in = findings_of(&store, "s3.replication").await;
    assert!(
        built_in
            .iter()
            .any(|f| f.arn == "arn:aws:s3:::payments-partial" && f.status == FindingStatus::Pass),
        "{built_in:#?}"
    );
}
