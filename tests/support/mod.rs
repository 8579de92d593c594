//! Real servers for integration tests: PostgreSQL (driftwatch's own local
//! server code, one cluster shared by the test run, a fresh database per
//! test) and a moto AWS emulator per test (S3 listings are account-wide, so
//! tests sharing one emulator would see each other's buckets).
//!
//! `scripts/test` installs both and runs `cargo test`; running `cargo test`
//! directly works too when PostgreSQL's binaries and `moto_server` exist.
//! Environment:
//! * `DRIFTWATCH_TEST_DATABASE_URL`: use this server instead of starting one
//!   (tests create their own databases on it).
//! * `DRIFTWATCH_TEST_MOTO_SERVER`: the moto_server executable (default:
//!   `.test-env/venv/bin/moto_server`, then `moto_server` on PATH).

#![allow(dead_code)]

pub mod browser;
pub mod cbor_bridge;
pub mod fault_proxy;
pub mod receiver;
pub mod seed;

use driftwatch::config::Config;
use driftwatch::evaluate::FindingStatus;
use driftwatch::store::FindingFilter;
use driftwatch::store::Store;
use driftwatch::store::local::LocalPostgres;
use sqlx::Connection;
use std::collections::BTreeSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

static ENV: Once = Once::new();

/// Sets the emulator credentials once, before any test builds an AWS
/// client: the `Once` makes every other test thread wait for it.
pub fn init() {
    ENV.call_once(|| {
        // SAFETY: runs once, while every other test thread that could read
        // the environment is blocked on this `Once`.
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
            std::env::remove_var("AWS_SESSION_TOKEN");
            std::env::remove_var("AWS_PROFILE");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
            std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/driftwatch-test");
            std::env::set_var(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/driftwatch-test",
            );
        }
    });
}

fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test PostgreSQL server's admin URL; started on first use.
fn server_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    static START: Mutex<()> = Mutex::new(());
    if let Some(url) = URL.get() {
        return url.clone();
    }
    let _guard = START.lock().unwrap_or_else(|p| p.into_inner());
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DRIFTWATCH_TEST_DATABASE_URL") {
            return url;
        }
        let dir = repo_dir().join("target/test-postgres");
        let server = LocalPostgres::start(&dir)
            .unwrap_or_else(|e| panic!("starting the test PostgreSQL in {}: {e}", dir.display()));
        // Left running for the other tests of this run; scripts/test stops it.
        server.admin_url()
    })
    .clone()
}

/// A fresh, migrated database for one test.
pub async fn database() -> (Store, String) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let admin_url = server_url();
    let name = format!(
        "dw_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros()
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL: {e}"));
    // The name is built from numbers above, not from input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("creating the test database");
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("unexpected admin URL shape"),
    };
    let store = Store::connect(&url, 4)
        .await
        .expect("connecting to the test database");
    store.migrate().await.expect("migrating the test database");
    (store, url)
}

/// The failing (resource, control) pairs, each resource named by `name_of`
/// applied to its ARN.
pub async fn failing(
    store: &Store,
    name_of: impl Fn(&str) -> String,
) -> BTreeSet<(String, String)> {
    store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Fail),
            ..FindingFilter::default()
        })
        .await
        .expect("findings")
        .into_iter()
        .map(|f| (name_of(&f.arn), f.control_id))
        .collect()
}

pub fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The resource record of a synthetic S3 bucket, for tests that feed the
/// recording path directly.
pub fn bucket_record(bucket: &driftwatch::model::S3Bucket) -> driftwatch::model::ResourceRecord {
    driftwatch::model::ResourceRecord {
        arn: bucket.arn.clone(),
        resource_type: driftwatch::model::ResourceType::S3Bucket,
        name: bucket.name.clone(),
        region: bucket.region.clone(),
        document: driftwatch::model::Document::of(bucket).map_err(|e| e.to_string()),
    }
}

/// A readable name for a resource ARN: bucket, VPC id, log group name,
/// node group name (its ARN ends in a unique id), DB identifier, …
pub fn resource_name(arn: &str) -> String {
    if let Some(rest) = arn.split(":nodegroup/").nth(1) {
        return rest.split('/').nth(1).unwrap_or(rest).to_string();
    }
    if let Some(rest) = arn.split(":log-group:").nth(1) {
        return rest.trim_end_matches(":*").to_string();
    }
    arn.rsplit(['/', ':']).next().unwrap_or(arn).to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn moto_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("DRIFTWATCH_TEST_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let venv = repo_dir().join(".test-env/venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

/// A moto server on a loopback port, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        init();
        let port = free_port();
        let exe = moto_executable();
        // One machine image instead of moto's hundreds: each image moto
        // loads comes with a volume and a snapshot of its own, which the
        // `ebs` collector would then scan in every test.
        let images = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/moto-amis.json");
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_AMIS_PATH", images)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} (run scripts/test-env install): {e}",
                    exe.display()
                )
            });
        let moto = Moto {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// Stops the emulator now (to simulate AWS becoming unreachable).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "driftwatch-tests",
                ),
            ))
            .build()
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        self.s3_in(REGION)
    }

    pub fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        let config = aws_sdk_s3control::config::Builder::from(&self.sdk_config())
            .endpoint_resolver(driftwatch::collect::s3::FixedEndpoint(
                self.endpoint.clone(),
            ))
            .build();
        aws_sdk_s3control::Client::from_conf(config)
    }

    /// The default credentials' account, for clients in any region.
    pub fn account(&self) -> seed::Account {
        seed::Account {
            config: self.sdk_config(),
        }
    }

    pub fn rds_in(&self, region: &str) -> aws_sdk_rds::Client {
        self.account().rds(region)
    }

    pub fn ec2_in(&self, region: &str) -> aws_sdk_ec2::Client {
        self.account().ec2(region)
    }

    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.sdk_config())
    }

    pub fn eks(&self) -> aws_sdk_eks::Client {
        aws_sdk_eks::Client::new(&self.sdk_config())
    }

    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        aws_sdk_ecr::Client::new(&self.sdk_config())
    }

    /// A driftwatch config pointing at this emulator and `database_url`,
    /// with only `collectors` enabled.
    pub fn config(&self, database_url: &str, collectors: &[&str]) -> Config {
        let mut config = config_with_collectors(collectors);
        config.database.url = Some(database_url.into());
        config.aws.endpoint_url = Some(self.endpoint.clone());
        // Fail fast when a test stops the emulator on purpose.
        config.aws.max_attempts = 2;
        config.aws.default_regions = vec![REGION.to_string()];
        assert_eq!(config.validate(), vec![]);
        config
    }
}

/// Defaults with only `collectors` enabled.
pub fn config_with_collectors(collectors: &[&str]) -> Config {
    let mut config = Config::defaults();
    for collector in driftwatch::collect::COLLECTORS {
        config.collectors.get_mut(collector.name).enabled = collectors.contains(&collector.name);
    }
    config
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `driftwatch report --date DATE --format FORMATS --out DIR`, as a user
/// runs it, against the database at `url`; fails the test unless it exits 0.
pub fn run_report(url: &str, date: &str, formats: &str, out: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_driftwatch"))
        .args(["report", "--date", date, "--format", formats, "--out"])
        .arg(out)
        .env("DRIFTWATCH_DATABASE_URL", url)
        .env_remove("DRIFTWATCH_CONFIG")
        .env("RUST_LOG", "warn")
        .status()
        .expect("run driftwatch report");
    assert!(status.success(), "driftwatch report exited with {status}");
}
