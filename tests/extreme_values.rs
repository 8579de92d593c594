//! No input ends a run in a panic: every numeric CLI flag and every
//! numeric config field, given 0, a negative number, `i64::MAX`, a number
//! no integer type holds and a very long string, is either accepted or
//! refused with an error naming the flag or field, never exit code 101 or
//! a backtrace.

mod support;

use std::path::Path;
use std::process::{Command, Output};

const VALUES: &[&str] = &[
    "0",
    "-1",
    "9223372036854775807",
    "99999999999999999999999999",
];

fn long_text() -> String {
    "9".repeat(20_000)
}

fn driftwatch(args: &[&str], config: Option<&Path>, database_url: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftwatch"));
    command
        .args(args)
        .env("DRIFTWATCH_DATABASE_URL", database_url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("DRIFTWATCH_CONFIG")
        .env_remove("RUST_BACKTRACE");
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    command.output().expect("driftwatch runs")
}

/// The run ended on purpose: not a panic, and whatever it refused is named.
fn assert_no_panic(output: &Output, what: &str, name: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_ne!(
        output.status.code(),
        Some(101),
        "{what}: panicked\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{what}: {stderr}"
    );
    if !output.status.success() {
        let said = format!("{stdout}{stderr}");
        assert!(
            said.contains(name),
            "{what}: the error does not name {name}: {said}"
        );
    }
}

/// What a table needs besides the field under test to be read at all.
fn prelude(table: &str) -> &'static str {
    match table {
        "alerts.sinks.pd" => "kind = \"pagerduty\"\nrouting_key_env = \"PD_KEY\"\n",
        "alerts.sinks.hook" => "kind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n",
        _ => "",
    }
}

#[tokio::test]
async fn numeric_config_fields_are_bounded_with_an_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("driftwatch.toml");
    let fields: &[(&str, &str)] = &[
        ("database", "max_connections"),
        ("aws", "max_attempts"),
        ("aws", "attempt_timeout_seconds"),
        ("aws", "call_timeout_seconds"),
        ("alerts", "flap_window_seconds"),
        ("alerts", "timeout_seconds"),
        ("alerts", "max_backoff_seconds"),
        ("alerts", "poll_seconds"),
        ("daemon", "workers"),
        ("daemon", "lease_seconds"),
        ("daemon", "grace_seconds"),
        ("daemon", "poll_seconds"),
        ("retention", "days"),
        ("collectors.s3", "concurrency"),
        ("rules.\"rds.backups\"", "min_retention_days"),
        ("rules.\"logs.retention\"", "min_retention_days"),
        ("rules.\"iam.password_min_length\"", "min_length"),
        ("rules.\"iam.access_keys_rotated\"", "days"),
        ("alerts.sinks.pd", "max_body_bytes"),
        ("alerts.sinks.hook", "max_body_bytes"),
    ];
    let long = long_text();
    for (table, key) in fields {
        for value in VALUES.iter().copied().chain([long.as_str()]) {
            let value = if value == long {
                format!("\"{value}\"")
            } else {
                value.to_string()
            };
            std::fs::write(
                &path,
                format!("[{table}]\n{}{key} = {value}\n", prelude(table)),
            )
            .expect("write config");
            let output = driftwatch(&["config", "check"], Some(&path), "postgres://unused");
            let what = format!("[{table}] {key} = {}", &value[..value.len().min(30)]);
            assert_no_panic(&output, &what, key);
        }
        // The largest value is never accepted: every field has a bound.
        std::fs::write(
            &path,
            format!("[{table}]\n{}{key} = 9223372036854775807\n", prelude(table)),
        )
        .expect("write config");
        let output = driftwatch(&["config", "check"], Some(&path), "postgres://unused");
        assert!(
            !output.status.success(),
            "[{table}] {key} = i64::MAX was accepted"
        );
    }
}

#[tokio::test]
async fn numeric_and_time_flags_are_bounded_with_an_error_naming_the_flag() {
    let (_store, url) = support::database().await;
    let long = long_text();
    let flags: &[(&[&str], &str)] = &[
        (&["drift", "--since"], "--since"),
        (&["drift", "--limit"], "--limit"),
        (&["alerts", "--limit"], "--limit"),
        (&["scans", "--limit"], "--limit"),
        (
            &["report", "--format", "json", "--out", "/tmp", "--date"],
            "--date",
        ),
        (
            &[
                "waive",
                "s3.versioning",
                "arn:aws:s3:::b",
                "--reason",
                "r",
                "--by",
                "me",
                "--until",
            ],
            "--until",
        ),
        // An id is any integer; one that names no waiver is an error.
        (&["unwaive", "--by", "me"], ""),
    ];
    let mut values: Vec<String> = VALUES.iter().map(|v| v.to_string()).collect();
    values.extend([
        "100000000d".to_string(),
        "9999999999h".to_string(),
        "262143-12-31".to_string(),
        "+262142-01-01T00:00:00Z".to_string(),
        long,
    ]);
    for (args, name) in flags {
        for value in &values {
            let mut argv: Vec<&str> = args.to_vec();
            argv.push(value);
            let output = driftwatch(&argv, None, &url);
            let what = format!("{} {}", args.join(" "), &value[..value.len().min(30)]);
            assert_no_panic(&output, &what, name);
        }
    }
    // The issue's own case: a clear message, not a panic.
    let output = driftwatch(&["drift", "--since", "100000000d"], None, &url);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("at most 36500d"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
