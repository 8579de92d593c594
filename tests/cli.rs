//! The `driftwatch` binary as a user runs it: exit codes, messages, and the
//! zero-setup path with its own local PostgreSQL.

mod support;

use driftwatch::store::ScanStatus;
use std::process::{Command, Output};
use support::Moto;

fn driftwatch() -> Command {
    support::init();
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    command
        .env_remove("DRIFTWATCH_CONFIG")
        .env_remove("DRIFTWATCH_DATABASE_URL")
        .env_remove("DRIFTWATCH_DATA_DIR")
        .env_remove("AWS_ENDPOINT_URL")
        .env("RUST_LOG", "warn")
        .env("AWS_REGION", support::REGION);
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run driftwatch");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).to_string(),
        String::from_utf8_lossy(&stderr).to_string(),
    )
}

/// `driftwatch --config FILE config check` on a file holding `contents`.
fn config_check(file_name: &str, contents: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(file_name);
    std::fs::write(&path, contents).expect("write config");
    run(driftwatch()
        .arg("--config")
        .arg(&path)
        .args(["config", "check"]))
}

#[test]
fn config_check_names_the_file_line_and_field_of_a_syntax_error() {
    let (code, _, stderr) = config_check(
        "bad.toml",
        "[aws]\nmax_attempts = 3\nendpont_url = \"http://x\"\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("bad.toml"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("unknown field `endpont_url`"), "{stderr}");
}

#[test]
fn config_check_reports_every_invalid_field() {
    let (code, _, stderr) = config_check(
        "invalid.toml",
        "[[accounts]]\nrole_arn = \"arn:aws:iam::1:role/x\"\n[collectors.s3]\nschedule = \"hourly\"\n",
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("2 error(s)"), "{stderr}");
    assert!(stderr.contains("accounts[0].role_arn"), "{stderr}");
    assert!(stderr.contains("collectors.s3.schedule"), "{stderr}");
}

#[test]
fn the_shipped_config_checks_clean() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/driftwatch.toml");
    let (code, stdout, stderr) = run(driftwatch().args(["--config", path, "config", "check"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": ok"), "{stdout}");
}

#[test]
fn an_unreachable_postgres_is_a_clear_error_with_the_password_hidden() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    // Nothing listens on `port` once the listener above is dropped.
    let url = format!("postgres://driftwatch:hunter2@127.0.0.1:{port}/driftwatch");
    let (code, _, stderr) = run(driftwatch()
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .arg("findings"));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("cannot connect to PostgreSQL at postgres://driftwatch:***@127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn scan_once_then_findings_and_drift_as_json() {
    let moto = Moto::start();
    let (_store, url) = support::database().await;
    moto.s3()
        .create_bucket()
        .bucket("cli-bucket")
        .send()
        .await
        .expect("create bucket");

    let scan = |extra: &[&str]| {
        let mut command = driftwatch();
        command
            .env("DRIFTWATCH_DATABASE_URL", &url)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .args(extra);
        run(&mut command)
    };
    let (code, stdout, stderr) = scan(&["scan", "--once"]);
    assert_eq!(code, 0, "{stderr}");
    // Seven S3 controls for the bucket, vpc.flow_logs for moto's default VPC,
    // cloudtrail.multi_region and the two S3 data-event controls (no trail
    // records the account), ec2.ebs_default_encryption (off by default in
    // the region), s3.account_public_access_block (no account-level block),
    // for the default VPC's default security group (allow-all egress) and
    // default network ACL (allow all): ec2.default_sg_restricts_all and
    // vpc.nacl_no_public_admin_ports; config.recorder_enabled,
    // guardduty.enabled (none set up in the region); iam.root_mfa and
    // iam.root_hardware_mfa (moto's root has no MFA), the two password
    // policy controls (no policy) and iam.support_role (no support role);
    // and the fifteen CIS section 4 alarms (no trail to filter).
    assert!(stdout.contains("Failing controls (37)"), "{stdout}");
    assert!(
        stdout.contains("created  arn:aws:s3:::cli-bucket"),
        "{stdout}"
    );

    let (code, stdout, stderr) =
        scan(&["findings", "--control", "s3.versioning", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let findings: serde_json::Value = serde_json::from_str(&stdout).expect("findings JSON");
    assert_eq!(findings.as_array().map(Vec::len), Some(1));
    assert_eq!(findings[0]["arn"], "arn:aws:s3:::cli-bucket");
    assert!(
        findings
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| f["status"] == "fail")
    );

    let (code, stdout, _) = scan(&[
        "drift",
        "--since",
        "1h",
        "--arn",
        "arn:aws:s3:::cli-bucket",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let drift: serde_json::Value = serde_json::from_str(&stdout).expect("drift JSON");
    assert_eq!(drift.as_array().map(Vec::len), Some(1));
    assert_eq!(drift[0]["kind"], "created");

    let (code, stdout, _) = scan(&["scans"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(" ok "), "{stdout}");
}

#[test]
fn a_scan_that_reaches_no_account_exits_2_and_is_recorded() {
    let mut moto = Moto::start();
    moto.kill();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (store, url) = rt.block_on(support::database());
    let (code, stdout, stderr) = run(driftwatch()
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .args(["scan", "--once"]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("failed"), "{stdout}");
    let scans = rt.block_on(store.scans(100)).expect("scans");
    // One failed scan per collector scope: one per collector, account-wide
    // ones in `global`, regional ones in us-east-1.
    assert_eq!(scans.len(), driftwatch::collect::COLLECTORS.len());
    assert!(
        scans
            .iter()
            .all(|s| s.status == ScanStatus::Failed && s.error.is_some()),
        "{scans:?}"
    );
}

/// A newcomer's first run, with no AWS set up: one short paragraph with
/// the way out, not the credential chain once per collector.
#[test]
fn a_scan_without_credentials_says_so_once_with_the_way_out() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_store, url) = rt.block_on(support::database());
    let home = tempfile::tempdir().expect("empty home");
    let nowhere = home.path().join("none");
    let (code, stdout, stderr) = run(driftwatch()
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .args(["scan", "--once"]));
    assert_eq!(code, 2, "{stdout}{stderr}");
    let said = "no AWS credentials found";
    assert_eq!(stdout.matches(said).count(), 1, "{stdout}");
    assert!(stderr.matches(said).count() <= 1, "{stderr}");
    assert!(
        stdout.contains("AWS_PROFILE") && stdout.contains("scripts/demo"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Attempted:") && !stderr.contains("Attempted:"),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "{} scans failed the same way",
            driftwatch::collect::COLLECTORS.len()
        )),
        "{stdout}"
    );
}

/// The main job with no database configured: driftwatch initialises and
/// runs its own PostgreSQL under the data directory, and stops it after.
#[tokio::test]
async fn without_a_database_url_driftwatch_runs_its_own_postgres() {
    let moto = Moto::start();
    moto.s3()
        .create_bucket()
        .bucket("local-db")
        .send()
        .await
        .expect("create bucket");
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let mut command = driftwatch();
    command
        .env("DRIFTWATCH_DATA_DIR", &data_dir)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .args(["scan", "--once"]);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("arn:aws:s3:::local-db"), "{stdout}");
    assert!(data_dir.join("pgdata/PG_VERSION").exists());
    let conf = std::fs::read_to_string(data_dir.join("pgdata/postgresql.conf")).expect("conf");
    assert!(conf.contains("listen_addresses = '127.0.0.1'"));
    assert!(
        !data_dir.join("pgdata/postmaster.pid").exists(),
        "the server it started is stopped"
    );

    // A second run reuses the same cluster and sees the first run's data.
    let (code, stdout, stderr) = run(driftwatch()
        .env("DRIFTWATCH_DATA_DIR", &data_dir)
        .args(["drift"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("created   arn:aws:s3:::local-db")
            || stdout.contains("created  arn:aws:s3:::local-db"),
        "{stdout}"
    );
}
