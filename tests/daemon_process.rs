//! `driftwatch run` as a process, the way a service manager runs it: JSON
//! logs that carry each scan's identifiers and never a secret, and a clean
//! exit on SIGTERM within the grace period.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::Moto;

const SECRETS: [&str; 7] = [
    "aws-secret-key-SENTINEL",
    "aws-session-token-SENTINEL",
    "external-id-SENTINEL",
    "http-token-SENTINEL",
    "file-token-SENTINEL",
    // 32 characters, as PagerDuty routing keys are.
    "pd-routing-key-SENTINEL-00000000",
    "webhook-token-SENTINEL",
];

#[tokio::test]
async fn json_logs_name_each_scan_and_never_a_secret_and_sigterm_stops_cleanly() {
    support::init();
    let moto = Moto::start();
    let (_store, url) = support::database().await;
    support::seed::create_bucket(&moto.s3(), "logged-bucket").await;
    let receiver = support::receiver::Receiver::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", SECRETS[4])).expect("token file");
    let config_path = dir.path().join("driftwatch.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[logging]
format = "json"

[http]
bind = "127.0.0.1:0"
token_file = "{token_file}"

[daemon]
poll_seconds = 1
grace_seconds = 5

[[accounts]]
name = "audited"
role_arn = "arn:aws:iam::{account}:role/driftwatch-audit"
external_id = "{external_id}"

[alerts]
poll_seconds = 1
[alerts.sinks.pd]
kind = "pagerduty"
url = "http://{receiver}/v2/enqueue"
routing_key_env = "DRIFTWATCH_TEST_PD_KEY"
[alerts.sinks.chat]
kind = "webhook"
url_env = "DRIFTWATCH_TEST_WEBHOOK_URL"

[collectors.s3]
schedule = "* * * * * *"
[collectors.rds]
enabled = false
[collectors.ec2]
enabled = false
[collectors.logs]
enabled = false
[collectors.eks]
enabled = false
[collectors.ecr]
enabled = false
"#,
            token_file = token_file.display(),
            account = support::ACCOUNT_ID,
            external_id = SECRETS[2],
            receiver = receiver.addr,
        ),
    )
    .expect("config");

    let mut child = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .arg("--config")
        .arg(&config_path)
        .arg("run")
        .env("DRIFTWATCH_DATABASE_URL", &url)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "AKIDSENTINELEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRETS[0])
        .env("AWS_SESSION_TOKEN", SECRETS[1])
        .env("DRIFTWATCH_HTTP_TOKEN", SECRETS[3])
        .env("DRIFTWATCH_TEST_PD_KEY", SECRETS[5])
        .env(
            "DRIFTWATCH_TEST_WEBHOOK_URL",
            format!("http://{}/hook?token={}", receiver.addr, SECRETS[6]),
        )
        // Everything at debug, the SDK and sqlx included: secrets must not
        // leak at any level an operator might turn on.
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start driftwatch run");
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });

    // Wait until a scan is recorded (its log line says so).
    let mut log = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut recorded = None;
    while recorded.is_none() {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(remaining)
            .unwrap_or_else(|_| panic!("no scan recorded; log so far:\n{}", log.join("\n")));
        let event: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if event["fields"]["message"] == "scan recorded" {
            recorded = Some(event);
        }
        log.push(line);
    }
    let recorded = recorded.expect("scan recorded");
    let spans = recorded["spans"].as_array().cloned().unwrap_or_default();
    let scan_span = spans
        .iter()
        .find(|s| s["name"] == "scan")
        .unwrap_or_else(|| panic!("no scan span in {recorded}"));
    assert_eq!(scan_span["collector"], "s3");
    assert_eq!(scan_span["account"], support::ACCOUNT_ID);
    assert_eq!(scan_span["region"], "global");
    assert!(
        spans
            .iter()
            .any(|s| s["name"] == "job" && s["job_id"].is_number()),
        "{recorded}"
    );

    // Alerts reach both sinks, the routing key with them.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let events = receiver.receiver.accepted();
        let to_pd = events
            .iter()
            .filter(|e| e["routing_key"] == SECRETS[5])
            .count();
        let to_chat = events.iter().filter(|e| e["text"].is_string()).count();
        if to_pd > 0 && to_chat > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alerts not delivered: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let stopping = Instant::now();
    // SAFETY: signalling our own child process by its pid.
    let signalled = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(signalled, 0);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(5 + 10),
            "did not stop within the grace period"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status}");
    reader.join().expect("log reader");
    log.extend(lines.try_iter());

    let text = log.join("\n");
    assert!(text.contains("shutdown requested"), "{text}");
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
    let password = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|auth| auth.split(':').nth(1))
        .expect("the test database URL has a password");
    assert!(
        !text.contains(password),
        "the database password appears in the logs"
    );
}
