//! Configuration: a TOML file (see `config/driftwatch.toml`), then
//! environment overrides, then validation that names every bad field.

use crate::collect;
use crate::evaluate::{self, CustomControls, RuleSettings, Severity};
use crate::model::ResourceType;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

pub const ENV_DATABASE_URL: &str = "DRIFTWATCH_DATABASE_URL";
pub const ENV_DATA_DIR: &str = "DRIFTWATCH_DATA_DIR";
pub const ENV_AWS_ENDPOINT: &str = "AWS_ENDPOINT_URL";
/// In a region list, alone: every region enabled for the account
/// (DescribeRegions), resolved at each scan.
pub const ALL_REGIONS: &str = "all";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub aws: AwsConfig,
    /// Empty means one account: whatever the default credential chain gives.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub collectors: CollectorsConfig,
    /// `[rules."<control id>"]`: `enabled`, `severity` and the control's
    /// own settings, validated against the control catalog.
    #[serde(default)]
    pub rules: BTreeMap<String, toml::Table>,
    #[serde(default)]
    pub daemon: DaemonConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Documented exceptions kept in the config file (also `driftwatch waive`).
    #[serde(default)]
    pub waivers: Vec<WaiverConfig>,
    #[serde(default)]
    pub report: ReportConfig,
    /// `[custom_controls]`: where a team's Rego controls are.
    #[serde(default)]
    pub custom_controls: CustomControlsConfig,
    /// `[events]`: the SQS queues CloudTrail change events arrive on.
    #[serde(default)]
    pub events: EventsConfig,
    /// The custom controls loaded from `custom_controls.paths` (by
    /// [`Config::load`] or [`Config::load_custom_controls`]).
    #[serde(skip)]
    pub custom: Arc<CustomControls>,
}

/// `[custom_controls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomControlsConfig {
    /// `.rego` files or folders (read recursively); relative paths are
    /// relative to the config file's folder.
    pub paths: Vec<PathBuf>,
    /// A team's own framework files (`.toml` shaped like `frameworks/`,
    /// files or folders), whose requirements may list custom controls;
    /// relative to the config file's folder.
    pub frameworks: Vec<PathBuf>,
    /// The longest one evaluation of one control may run before it is
    /// `unknown`.
    pub timeout_ms: u64,
}

impl Default for CustomControlsConfig {
    fn default() -> Self {
        CustomControlsConfig {
            paths: Vec::new(),
            frameworks: Vec::new(),
            timeout_ms: 250,
        }
    }
}

/// Where regressions page, and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The lowest finding severity that pages (routes may ask for more).
    pub min_severity: String,
    /// A finding that passes again keeps its incident open this long before
    /// the resolve is sent; failing again within it does not page twice.
    pub flap_window_seconds: u64,
    /// How long one delivery attempt may take before it is retried.
    pub timeout_seconds: u64,
    /// Longest wait between retries of an undeliverable alert.
    pub max_backoff_seconds: u64,
    /// Base URL of the findings API linked from each alert, e.g.
    /// `https://driftwatch.internal:9187`; no link when unset.
    pub link_base_url: Option<String>,
    /// How often the daemon re-decides alerts (waivers expiring, held
    /// resolves) and looks for undelivered ones.
    pub poll_seconds: u64,
    pub sinks: BTreeMap<String, SinkConfig>,
    /// Empty: every sink gets every alert at or above `min_severity`.
    pub routes: Vec<RouteConfig>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            min_severity: "high".to_string(),
            flap_window_seconds: 900,
            timeout_seconds: 10,
            max_backoff_seconds: 300,
            link_base_url: None,
            poll_seconds: 5,
            sinks: BTreeMap::new(),
            routes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// PagerDuty Events API v2.
    Pagerduty,
    /// A JSON POST (Slack incoming webhooks, chat bridges, SIEMs).
    Webhook,
}

/// One destination. Its secret (routing key, or a webhook URL that embeds
/// a token) comes from the environment or a file, never from this config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub kind: SinkKind,
    /// PagerDuty: the Events API endpoint (default
    /// `https://events.pagerduty.com/v2/enqueue`). Webhook: the URL, unless
    /// it is secret and given by `url_env` / `url_file`.
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    /// PagerDuty: the integration's routing key.
    pub routing_key_env: Option<String>,
    pub routing_key_file: Option<PathBuf>,
    /// The largest body this receiver accepts: evidence and drift are cut
    /// to fit, with a link to the whole finding. PagerDuty: at most (and
    /// by default) 512000; webhook: 262144 by default.
    pub max_body_bytes: Option<u64>,
}

/// Alerts matching every given criterion go to `sinks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Account ids or `[[accounts]]` names; empty matches every account.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Control ids; empty matches every control.
    #[serde(default)]
    pub controls: Vec<String>,
    /// Defaults to `alerts.min_severity`.
    pub min_severity: Option<String>,
    pub sinks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverConfig {
    pub control: String,
    /// The resource's ARN.
    pub resource: String,
    pub reason: String,
    pub approved_by: String,
    /// `YYYY-MM-DD` (end of that day, UTC) or an RFC 3339 time.
    pub expires: String,
}

impl WaiverConfig {
    /// When the waiver ends (`validate` has checked that it parses).
    pub fn expires_at(&self) -> Result<chrono::DateTime<chrono::Utc>, String> {
        parse_expiry(&self.expires)
    }
}

/// The daily compliance report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    /// When the daemon builds the previous day's report (cron with seconds).
    pub schedule: String,
    /// Where report files are written; default `<data dir>/reports`.
    pub out_dir: Option<PathBuf>,
    /// Formats written by the scheduled job.
    pub formats: Vec<String>,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            schedule: "0 30 0 * * *".to_string(),
            out_dir: None,
            formats: vec!["html".into(), "json".into(), "csv".into(), "md".into()],
        }
    }
}

/// A waiver's expiry: a date means the end of that day (UTC).
pub fn parse_expiry(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{text}` is not a date (YYYY-MM-DD) or an RFC 3339 time"))
}

/// `driftwatch run`: how this replica takes part in the shared schedule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Jobs (one collector × one account entry) this replica runs at once.
    pub workers: usize,
    /// How long a claimed job stays this replica's without a renewal; a
    /// replica that dies loses its jobs to the others after this long.
    pub lease_seconds: u64,
    /// On SIGTERM/SIGINT, how long in-flight jobs may run before they are
    /// handed back unfinished.
    pub grace_seconds: u64,
    /// How often an idle worker looks for jobs enqueued by other replicas.
    pub poll_seconds: u64,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            workers: 2,
            lease_seconds: 120,
            grace_seconds: 30,
            poll_seconds: 2,
        }
    }
}

/// `[events]`: CloudTrail write events, delivered by an EventBridge rule
/// (`deploy/events/`) to SQS queues that `driftwatch run` long-polls; each
/// event re-describes only the resources it changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    pub queues: Vec<EventQueueConfig>,
    /// Events one replica processes at once, over all its queues.
    pub max_in_flight: usize,
    /// How long one receive waits for a message (SQS long polling).
    pub wait_seconds: u64,
    /// How long a received message stays hidden from other consumers
    /// while it is processed; it is redelivered after that unless deleted.
    pub visibility_timeout_seconds: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            queues: Vec::new(),
            max_in_flight: 8,
            wait_seconds: 20,
            visibility_timeout_seconds: 120,
        }
    }
}

/// `[[events.queues]]`: one queue and whose credentials read it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQueueConfig {
    /// The queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
    pub url: String,
    /// The `[[accounts]]` entry (its name, profile or role ARN) whose
    /// credentials receive from the queue; an organization entry's member
    /// accounts are described through its role, as in scans. Defaults to
    /// the only entry when there is one.
    pub account: Option<String>,
    /// The queue's region; defaults to the one in its URL.
    pub region: Option<String>,
}

impl EventQueueConfig {
    /// The queue's region: configured, or read from an AWS queue URL.
    pub fn queue_region(&self) -> Option<String> {
        self.region.clone().or_else(|| {
            let rest = self
                .url
                .split_once("://")
                .map_or(self.url.as_str(), |(_, r)| r);
            let host = rest.split('/').next()?;
            let mut parts = host.split('.');
            (parts.next() == Some("sqs")).then(|| parts.next().map(str::to_string))?
        })
    }
}

/// The daemon's HTTP endpoint: health, readiness, metrics, read-only API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `host:port`; loopback by default. Any other address requires a
    /// bearer token (`DRIFTWATCH_HTTP_TOKEN` or `token_file`).
    pub bind: String,
    /// A file holding the bearer token (first line).
    pub token_file: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: "127.0.0.1:9187".to_string(),
            token_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default on a terminal).
    #[default]
    Human,
    /// One JSON object per line, for log pipelines.
    Json,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    pub format: LogFormat,
}

/// History kept for evidence, and when it is pruned.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Scans, snapshots, drift and finding history younger than this are
    /// kept. 365 days covers a SOC 2 Type II observation window.
    pub days: u32,
    /// When the prune runs (cron with seconds).
    pub schedule: String,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            days: 365,
            schedule: "0 17 3 * * *".to_string(),
        }
    }
}

/// Parses a cron expression with seconds the way the scheduler does.
pub fn parse_schedule(expression: &str) -> Result<croner::Cron, String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expression)
        .map_err(|e| {
            format!(
                "`{expression}` is not a cron expression with seconds (sec min hour dom month dow): {e}"
            )
        })
}

pub const ENV_HTTP_TOKEN: &str = "DRIFTWATCH_HTTP_TOKEN";
pub const ENV_HTTP_BIND: &str = "DRIFTWATCH_HTTP_BIND";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A PostgreSQL URL. Absent: driftwatch runs its own local server.
    /// Secret: it may carry the password, so `{:?}` never prints it.
    pub url: Option<SecretString>,
    /// Where the local server keeps its data when `url` is absent.
    pub data_dir: Option<PathBuf>,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            data_dir: None,
            max_connections: default_max_connections(),
        }
    }
}

impl DatabaseConfig {
    /// `data_dir`, or the default when none is configured: under
    /// `$XDG_DATA_HOME` or `~/.local/share`, or `/var/lib/driftwatch` for
    /// root (whose home the `postgres` user cannot enter).
    pub fn effective_data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            return PathBuf::from("/var/lib/driftwatch");
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(xdg).join("driftwatch");
        }
        match std::env::var_os("HOME") {
            Some(home) => PathBuf::from(home).join(".local/share/driftwatch"),
            None => PathBuf::from(".driftwatch"),
        }
    }
}

fn default_max_connections() -> u32 {
    8
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Send every AWS API call here instead of AWS (an emulator).
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub retry_mode: RetryMode,
    /// Attempts per API call, the first included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Longest one attempt of an API call may take before it is abandoned
    /// and retried: a hung connection costs this, not the whole scan.
    #[serde(default = "default_attempt_timeout_seconds")]
    pub attempt_timeout_seconds: u64,
    /// Longest one API call may take across all its attempts.
    #[serde(default = "default_call_timeout_seconds")]
    pub call_timeout_seconds: u64,
    /// Regions for accounts that do not list their own.
    #[serde(default = "default_regions")]
    pub default_regions: Vec<String>,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            endpoint_url: None,
            retry_mode: RetryMode::default(),
            max_attempts: default_max_attempts(),
            attempt_timeout_seconds: default_attempt_timeout_seconds(),
            call_timeout_seconds: default_call_timeout_seconds(),
            default_regions: default_regions(),
        }
    }
}

fn default_max_attempts() -> u32 {
    5
}

fn default_attempt_timeout_seconds() -> u64 {
    30
}

fn default_call_timeout_seconds() -> u64 {
    120
}

fn default_regions() -> Vec<String> {
    vec!["us-east-1".to_string()]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryMode {
    Standard,
    /// Standard retries plus client-side rate limiting when throttled: the
    /// right default for a scanner that fans out across many resources.
    #[default]
    Adaptive,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// A label for logs and reports; defaults to the account id.
    pub name: Option<String>,
    /// A profile of the shared AWS config/credentials files. With
    /// `role_arn`, the profile supplies the credentials that assume it.
    pub profile: Option<String>,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    /// Regions to scan; defaults to `aws.default_regions`.
    pub regions: Option<Vec<String>>,
    /// When set, this account is an AWS Organizations management (or
    /// delegated administrator) account: every ACTIVE member account is
    /// discovered at each scan and scanned through `role_name`.
    pub organization: Option<OrganizationConfig>,
}

impl AccountConfig {
    /// What identifies this entry across replicas and restarts (scheduled
    /// jobs name it): its name, else its profile, else its role ARN.
    pub fn key(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.profile.clone())
            .or_else(|| self.role_arn.clone())
            .unwrap_or_else(|| "default".to_string())
    }
}

/// `organization = { role_name = "...", exclude = [...] }` on an account.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationConfig {
    /// The role every member account provides for driftwatch, assumed from
    /// this account's credentials: `arn:aws:iam::<member>:role/<role_name>`.
    pub role_name: String,
    /// Account ids not to scan (the management account itself included,
    /// when listed).
    #[serde(default)]
    pub exclude: Vec<String>,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
}

/// `[collectors.<name>]`: settings per collector of
/// [`crate::collect::COLLECTORS`]; a collector not named runs with the
/// defaults. Names are checked against the registry by `validate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct CollectorsConfig(BTreeMap<String, CollectorConfig>);

impl CollectorsConfig {
    /// The settings of the collector `name` (its defaults when not configured).
    pub fn get(&self, name: &str) -> CollectorConfig {
        self.0.get(name).cloned().unwrap_or_default()
    }

    /// The settings of `name`, to change them (tests, overrides).
    pub fn get_mut(&mut self, name: &str) -> &mut CollectorConfig {
        self.0.entry(name.to_string()).or_default()
    }

    fn configured(&self) -> impl Iterator<Item = (&String, &CollectorConfig)> {
        self.0.iter()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Cron expression with seconds: `sec min hour day-of-month month day-of-week`.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Describe calls in flight at once for this service within one scope
    /// (account, or account and region): the per-service limit that keeps
    /// a large estate under the API's throttling thresholds.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            enabled: true,
            schedule: default_schedule(),
            concurrency: default_concurrency(),
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_schedule() -> String {
    "0 0 * * * *".to_string()
}

fn default_concurrency() -> usize {
    8
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {origin} has {} error(s):\n{}", issues.len(), issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        origin: String,
        issues: Vec<ConfigIssue>,
    },
}

impl Config {
    /// Loads `path` (or built-in defaults when `None`), applies environment
    /// overrides and validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (mut config, origin) = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                (Config::parse(&text, path)?, path.display().to_string())
            }
            None => (Config::defaults(), "(built-in defaults)".to_string()),
        };
        config.apply_env(|key| std::env::var(key).ok());
        let base = path.and_then(Path::parent).unwrap_or(Path::new("."));
        let mut issues = config.load_custom_controls(base);
        issues.extend(config.validate());
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid { origin, issues })
        }
    }

    /// Loads the custom controls of `[custom_controls]`, relative paths
    /// from `base` (they are kept resolved, for reloads); each problem is
    /// an issue naming its file.
    pub fn load_custom_controls(&mut self, base: &Path) -> Vec<ConfigIssue> {
        let controls = &mut self.custom_controls;
        for path in controls.paths.iter_mut().chain(&mut controls.frameworks) {
            *path = base.join(&*path);
        }
        self.reload_custom_controls()
    }

    /// Loads the custom controls again from the paths already resolved.
    pub fn reload_custom_controls(&mut self) -> Vec<ConfigIssue> {
        let paths = &self.custom_controls.paths;
        let timeout = Duration::from_millis(self.custom_controls.timeout_ms);
        match CustomControls::load(paths, timeout, |id| evaluate::control(id).is_some()) {
            Ok(mut custom) => {
                let mut issues = data_outside_scope(&custom);
                issues.extend(
                    custom
                        .load_frameworks(&self.custom_controls.frameworks)
                        .into_iter()
                        .map(|p| ConfigIssue {
                            field: "custom_controls.frameworks".into(),
                            message: p.to_string(),
                        }),
                );
                if issues.is_empty() {
                    self.custom = Arc::new(custom);
                }
                issues
            }
            Err(problems) => problems
                .into_iter()
                .map(|p| ConfigIssue {
                    field: "custom_controls".into(),
                    message: p.to_string(),
                })
                .collect(),
        }
    }

    /// Whether `id` is a control of the catalog: built-in or custom.
    pub fn knows_control(&self, id: &str) -> bool {
        evaluate::control(id).is_some() || self.custom.get(id).is_some()
    }

    pub fn defaults() -> Config {
        toml::from_str("")
            .unwrap_or_else(|_| unreachable!("an empty config deserialises to defaults"))
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })
    }

    /// Environment wins over the file, so that secrets and per-deployment
    /// endpoints need not be committed.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(url) = var(ENV_DATABASE_URL).filter(|v| !v.is_empty()) {
            self.database.url = Some(url.into());
        }
        if let Some(dir) = var(ENV_DATA_DIR).filter(|v| !v.is_empty()) {
            self.database.data_dir = Some(PathBuf::from(dir));
        }
        if let Some(url) = var(ENV_AWS_ENDPOINT).filter(|v| !v.is_empty()) {
            self.aws.endpoint_url = Some(url);
        }
        if let Some(bind) = var(ENV_HTTP_BIND).filter(|v| !v.is_empty()) {
            self.http.bind = bind;
        }
    }

    /// Every problem, each with the path of its field.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut issue =
            |field: String, message: String| issues.push(ConfigIssue { field, message });
        for (field, value, range, why) in self.numbers() {
            if !range.contains(&value) {
                issue(
                    field,
                    format!(
                        "must be between {} and {} ({why}), not {value}",
                        range.start(),
                        range.end()
                    ),
                );
            }
        }
        self.validate_connections(&mut issue);
        self.validate_accounts(&mut issue);
        self.validate_events(&mut issue);
        self.validate_collectors(&mut issue);
        self.validate_service(&mut issue);
        self.validate_alerts(&mut issue);
        self.validate_waivers(&mut issue);
        self.validate_report(&mut issue);
        for problem in RuleSettings::from_tables(&self.rules, self.custom.clone()).1 {
            issue(problem.field, problem.message);
        }
        issues
    }

    /// Every number of the file with the range it must be in and why the
    /// range ends there: durations and sizes are bounded here, at the edge,
    /// so that no arithmetic on them can overflow later.
    fn numbers(&self) -> Vec<(String, u64, std::ops::RangeInclusive<u64>, &'static str)> {
        const DAY: u64 = 86_400;
        let (aws, alerts, daemon) = (&self.aws, &self.alerts, &self.daemon);
        let mut numbers = vec![
            (
                "database.max_connections",
                u64::from(self.database.max_connections),
                1..=1_000,
                "connections of one replica's pool",
            ),
            (
                "aws.max_attempts",
                u64::from(aws.max_attempts),
                1..=20,
                "attempts of one AWS call",
            ),
            (
                "aws.attempt_timeout_seconds",
                aws.attempt_timeout_seconds,
                1..=3_600,
                "one attempt, up to an hour",
            ),
            (
                "aws.call_timeout_seconds",
                aws.call_timeout_seconds,
                1..=DAY,
                "one call with its retries, up to a day",
            ),
            (
                "custom_controls.timeout_ms",
                self.custom_controls.timeout_ms,
                1..=60_000,
                "one evaluation of one resource, up to a minute",
            ),
            (
                "alerts.flap_window_seconds",
                alerts.flap_window_seconds,
                0..=7 * DAY,
                "up to a week",
            ),
            (
                "alerts.timeout_seconds",
                alerts.timeout_seconds,
                1..=600,
                "one delivery attempt",
            ),
            (
                "alerts.max_backoff_seconds",
                alerts.max_backoff_seconds,
                1..=DAY,
                "up to a day between retries",
            ),
            (
                "alerts.poll_seconds",
                alerts.poll_seconds,
                1..=3_600,
                "up to an hour",
            ),
            (
                "daemon.workers",
                daemon.workers as u64,
                1..=64,
                "jobs one replica runs at once",
            ),
            (
                "daemon.lease_seconds",
                daemon.lease_seconds,
                5..=DAY,
                "a lease shorter than 5 s expires between renewals",
            ),
            (
                "daemon.grace_seconds",
                daemon.grace_seconds,
                0..=3_600,
                "up to an hour",
            ),
            (
                "daemon.poll_seconds",
                daemon.poll_seconds,
                1..=3_600,
                "up to an hour",
            ),
            (
                "events.max_in_flight",
                self.events.max_in_flight as u64,
                1..=256,
                "events one replica processes at once",
            ),
            (
                "events.wait_seconds",
                self.events.wait_seconds,
                0..=20,
                "SQS long polling waits at most 20 s",
            ),
            (
                "events.visibility_timeout_seconds",
                self.events.visibility_timeout_seconds,
                10..=43_200,
                "SQS allows up to 12 hours",
            ),
            (
                "retention.days",
                u64::from(self.retention.days),
                1..=36_500,
                "up to 100 years",
            ),
        ]
        .into_iter()
        .map(|(field, value, range, why)| (field.to_string(), value, range, why))
        .collect::<Vec<_>>();
        for (name, sink) in &alerts.sinks {
            if let Some(cap) = sink.max_body_bytes {
                let (most, why) = match sink.kind {
                    SinkKind::Pagerduty => (
                        crate::alert::fit::PAGERDUTY_MAX_EVENT_BYTES as u64,
                        "PagerDuty refuses events over 512 KB",
                    ),
                    SinkKind::Webhook => (64 << 20, "from 16 KiB to 64 MiB"),
                };
                numbers.push((
                    format!("alerts.sinks.{name}.max_body_bytes"),
                    cap,
                    crate::alert::fit::SMALLEST_CAP as u64..=most,
                    why,
                ));
            }
        }
        for (name, collector) in self.collectors.configured() {
            numbers.push((
                format!("collectors.{name}.concurrency"),
                collector.concurrency as u64,
                1..=256,
                "calls in flight per service",
            ));
        }
        numbers
    }

    /// `[database]` and `[aws]`.
    fn validate_connections(&self, issue: &mut impl FnMut(String, String)) {
        if let Some(url) = self.database.url.as_ref().map(|u| u.expose_secret())
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            issue(
                "database.url".into(),
                "must be a postgres:// or postgresql:// URL".into(),
            );
        }
        if let Some(url) = &self.aws.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            issue(
                "aws.endpoint_url".into(),
                format!("`{url}` must start with http:// or https://"),
            );
        }
        if self.aws.call_timeout_seconds < self.aws.attempt_timeout_seconds {
            issue(
                "aws.call_timeout_seconds".into(),
                format!(
                    "must be at least aws.attempt_timeout_seconds ({})",
                    self.aws.attempt_timeout_seconds
                ),
            );
        }
        if self.aws.default_regions.is_empty() {
            issue(
                "aws.default_regions".into(),
                "must name at least one region".into(),
            );
        }
        for (i, message) in check_regions(&self.aws.default_regions) {
            issue(format!("aws.default_regions[{i}]"), message);
        }
    }

    /// `[[accounts]]`: each entry, and that each is told apart from the others.
    fn validate_events(&self, issue: &mut impl FnMut(String, String)) {
        let mut urls = BTreeSet::new();
        for (i, queue) in self.events.queues.iter().enumerate() {
            let at = |field: &str| format!("events.queues[{i}].{field}");
            if !(queue.url.starts_with("https://") || queue.url.starts_with("http://")) {
                issue(
                    at("url"),
                    format!(
                        "`{}` is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
                        queue.url
                    ),
                );
            }
            if !urls.insert(queue.url.as_str()) {
                issue(at("url"), format!("`{}` is listed twice", queue.url));
            }
            match queue.queue_region() {
                Some(region) => {
                    if let Err(message) = check_region(&region) {
                        issue(at("region"), message);
                    }
                }
                None => issue(
                    at("region"),
                    "is required: the URL does not name the queue's region".into(),
                ),
            }
            if let Err(message) = self.event_queue_account(queue) {
                issue(at("account"), message);
            }
        }
    }

    /// The `[[accounts]]` entry whose credentials read `queue`.
    pub fn event_queue_account(&self, queue: &EventQueueConfig) -> Result<AccountConfig, String> {
        let accounts = self.effective_accounts();
        match &queue.account {
            Some(key) => accounts
                .into_iter()
                .find(|a| &a.key() == key)
                .ok_or_else(|| {
                    format!("`{key}` is not an [[accounts]] entry (its name, profile or role_arn)")
                }),
            None if accounts.len() == 1 => Ok(accounts.into_iter().next().unwrap_or_default()),
            None => Err("is required when more than one [[accounts]] entry is configured".into()),
        }
    }

    fn validate_accounts(&self, issue: &mut impl FnMut(String, String)) {
        for (i, account) in self.accounts.iter().enumerate() {
            let at = |field: &str| format!("accounts[{i}].{field}");
            if let Some(arn) = &account.role_arn
                && let Err(message) = check_role_arn(arn)
            {
                issue(at("role_arn"), message);
            }
            if account.role_arn.is_none() {
                if account.external_id.is_some() {
                    issue(at("external_id"), "is only used with role_arn".into());
                }
                if account.session_name.is_some() {
                    issue(at("session_name"), "is only used with role_arn".into());
                }
            }
            if let Some(profile) = &account.profile
                && profile.trim().is_empty()
            {
                issue(at("profile"), "must not be empty".into());
            }
            if let Some(organization) = &account.organization {
                let at = |field: &str| format!("accounts[{i}].organization.{field}");
                if let Err(message) = check_role_name(&organization.role_name) {
                    issue(at("role_name"), message);
                }
                for (j, id) in organization.exclude.iter().enumerate() {
                    if !is_account_id(id) {
                        issue(
                            format!("accounts[{i}].organization.exclude[{j}]"),
                            format!("`{id}` is not a 12-digit AWS account id"),
                        );
                    }
                }
            }
            if let Some(regions) = &account.regions {
                if regions.is_empty() {
                    issue(at("regions"), "must name at least one region".into());
                }
                for (j, message) in check_regions(regions) {
                    issue(format!("accounts[{i}].regions[{j}]"), message);
                }
            }
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, account) in self.accounts.iter().enumerate() {
            let key = account.key();
            if !keys.insert(key.clone()) {
                let field = if account.name.is_some() {
                    format!("accounts[{i}].name")
                } else {
                    format!("accounts[{i}]")
                };
                issue(
                    field,
                    format!(
                        "`{key}` identifies another account entry too; give each a distinct `name`"
                    ),
                );
            }
        }
    }

    /// `[collectors.<name>]`, against the collector registry.
    fn validate_collectors(&self, issue: &mut impl FnMut(String, String)) {
        for (name, collector) in self.collectors.configured() {
            if crate::collect::collector(name).is_none() {
                let known: Vec<&str> = crate::collect::COLLECTORS.iter().map(|c| c.name).collect();
                issue(
                    format!("collectors.{name}"),
                    format!(
                        "unknown collector `{name}` (expected one of {})",
                        known.join(", ")
                    ),
                );
                continue;
            }
            if let Err(message) = parse_schedule(&collector.schedule) {
                issue(format!("collectors.{name}.schedule"), message);
            }
        }
    }

    /// `[retention]`, `[daemon]` and `[http]`.
    fn validate_service(&self, issue: &mut impl FnMut(String, String)) {
        if let Err(message) = parse_schedule(&self.retention.schedule) {
            issue("retention.schedule".into(), message);
        }
        if let Err(e) = self.http.bind.parse::<std::net::SocketAddr>() {
            issue(
                "http.bind".into(),
                format!(
                    "`{}` is not an address and port (127.0.0.1:9187): {e}",
                    self.http.bind
                ),
            );
        }
    }

    /// `[[waivers]]`.
    fn validate_waivers(&self, issue: &mut impl FnMut(String, String)) {
        for (i, waiver) in self.waivers.iter().enumerate() {
            let at = |field: &str| format!("waivers[{i}].{field}");
            if !self.knows_control(&waiver.control) {
                issue(
                    at("control"),
                    format!("`{}` is not a control", waiver.control),
                );
            }
            if !waiver.resource.starts_with("arn:") {
                issue(at("resource"), "must be the resource's ARN".into());
            }
            if waiver.reason.trim().is_empty() {
                issue(
                    at("reason"),
                    "a waiver needs a written justification".into(),
                );
            }
            if waiver.approved_by.trim().is_empty() {
                issue(at("approved_by"), "a waiver needs its approver".into());
            }
            if let Err(message) = parse_expiry(&waiver.expires) {
                issue(at("expires"), message);
            }
        }
    }

    /// `[report]`.
    fn validate_report(&self, issue: &mut impl FnMut(String, String)) {
        if let Err(message) = parse_schedule(&self.report.schedule) {
            issue("report.schedule".into(), message);
        }
        for (i, format) in self.report.formats.iter().enumerate() {
            if !["html", "json", "csv", "md"].contains(&format.as_str()) {
                issue(
                    format!("report.formats[{i}]"),
                    format!("`{format}` is not one of html, json, csv, md"),
                );
            }
        }
    }

    fn validate_alerts(&self, issue: &mut impl FnMut(String, String)) {
        let alerts = &self.alerts;
        if let Err(message) = alerts.min_severity.parse::<Severity>() {
            issue("alerts.min_severity".into(), message);
        }
        if let Some(url) = &alerts.link_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            issue(
                "alerts.link_base_url".into(),
                format!("`{url}` must start with http:// or https://"),
            );
        }
        for (name, sink) in &alerts.sinks {
            let at = |field: &str| format!("alerts.sinks.{name}.{field}");
            let url_sources = [
                sink.url.is_some(),
                sink.url_env.is_some(),
                sink.url_file.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count();
            if url_sources > 1 {
                issue(at("url"), "give one of url, url_env, url_file".into());
            }
            if let Some(url) = &sink.url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                issue(
                    at("url"),
                    format!("`{url}` must start with http:// or https://"),
                );
            }
            match sink.kind {
                SinkKind::Pagerduty => {
                    if sink.routing_key_env.is_some() == sink.routing_key_file.is_some() {
                        issue(
                            at("routing_key_env"),
                            "give exactly one of routing_key_env or routing_key_file \
                             (the key itself never goes in the config)"
                                .into(),
                        );
                    }
                }
                SinkKind::Webhook => {
                    if url_sources == 0 {
                        issue(at("url"), "a webhook needs url, url_env or url_file".into());
                    }
                    if sink.routing_key_env.is_some() || sink.routing_key_file.is_some() {
                        issue(at("routing_key_env"), "applies only to pagerduty".into());
                    }
                }
            }
        }
        for (i, route) in alerts.routes.iter().enumerate() {
            let at = |field: &str| format!("alerts.routes[{i}].{field}");
            if route.sinks.is_empty() {
                issue(at("sinks"), "must name at least one sink".into());
            }
            for (j, sink) in route.sinks.iter().enumerate() {
                if !alerts.sinks.contains_key(sink) {
                    issue(
                        format!("alerts.routes[{i}].sinks[{j}]"),
                        format!("no sink `{sink}` under [alerts.sinks]"),
                    );
                }
            }
            for (j, control) in route.controls.iter().enumerate() {
                if !self.knows_control(control) {
                    issue(
                        format!("alerts.routes[{i}].controls[{j}]"),
                        format!("`{control}` is not a control"),
                    );
                }
            }
            if let Some(severity) = &route.min_severity
                && let Err(message) = severity.parse::<Severity>()
            {
                issue(at("min_severity"), message);
            }
        }
    }

    /// The rule settings, assuming `validate` passed.
    /// The enabled collectors, in registry order, with their settings.
    pub fn enabled_collectors(&self) -> Vec<(&'static crate::collect::Collector, CollectorConfig)> {
        crate::collect::COLLECTORS
            .iter()
            .map(|c| (*c, self.collectors.get(c.name)))
            .filter(|(_, settings)| settings.enabled)
            .collect()
    }

    /// The controls' settings (assuming `validate` passed: an invalid
    /// table is left at its defaults).
    pub fn rule_settings(&self) -> RuleSettings {
        RuleSettings::from_tables(&self.rules, self.custom.clone()).0
    }

    /// Where report files go: `report.out_dir`, or `reports` in the data
    /// directory.
    pub fn report_dir(&self) -> PathBuf {
        self.report
            .out_dir
            .clone()
            .unwrap_or_else(|| self.database.effective_data_dir().join("reports"))
    }

    /// The accounts to scan: those configured, or one for the default chain.
    pub fn effective_accounts(&self) -> Vec<AccountConfig> {
        if self.accounts.is_empty() {
            vec![AccountConfig::default()]
        } else {
            self.accounts.clone()
        }
    }

    /// The region used for account-wide calls (STS, S3 listing): the first
    /// region named for the account, or in `aws.default_regions`.
    pub fn home_region(&self, account: &AccountConfig) -> String {
        account
            .regions
            .iter()
            .flatten()
            .chain(&self.aws.default_regions)
            .find(|r| *r != ALL_REGIONS)
            .cloned()
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    /// The configured regions of an account (possibly `["all"]`).
    pub fn regions_of<'a>(&'a self, account: &'a AccountConfig) -> &'a [String] {
        account
            .regions
            .as_deref()
            .unwrap_or(&self.aws.default_regions)
    }
}

/// Problems of a region list, by index: each name must be a region, or the
/// list must be exactly `["all"]`.
fn check_regions(regions: &[String]) -> Vec<(usize, String)> {
    if regions.len() == 1 && regions[0] == ALL_REGIONS {
        return Vec::new();
    }
    regions
        .iter()
        .enumerate()
        .filter_map(|(i, region)| {
            if region == ALL_REGIONS {
                Some((i, "`all` must be the only entry of the list".to_string()))
            } else {
                check_region(region).err().map(|message| (i, message))
            }
        })
        .collect()
}

fn check_region(region: &str) -> Result<(), String> {
    // e.g. us-east-1, eu-central-2, us-gov-west-1, cn-northwest-1
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`{region}` is not an AWS region name (like eu-west-1)"
        ))
    }
}

fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// IAM role names: 1–64 of letters, digits and `+=,.@_-`; a path is allowed
/// in front (`audit/driftwatch`).
fn check_role_name(name: &str) -> Result<(), String> {
    let (_, role) = name.rsplit_once('/').unwrap_or(("", name));
    let valid = !role.is_empty()
        && role.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an IAM role name (1-64 letters, digits or +=,.@_-)"
        ))
    }
}

fn check_role_arn(arn: &str) -> Result<(), String> {
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && is_account_id(parts[4])
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{arn}` is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
        ))
    }
}

/// A control's `data` must come from the collection its resources come
/// from: documents read together, at the same moment, in the same scope.
pub(crate) fn data_outside_scope(custom: &CustomControls) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for control in custom.iter() {
        for wanted in &control.data {
            let Some(outside) = control
                .resource_types
                .iter()
                .find(|t| !collect::same_collection(**t, *wanted))
            else {
                continue;
            };
            let collector =
                |t: ResourceType| collect::collector_of(t).map_or("no collector", |c| c.name);
            issues.push(ConfigIssue {
                field: "custom_controls".into(),
                message: format!(
                    "{}: data: `{wanted}` is collected by `{}` but `{outside}` by `{}`; \
                     a control reads data from its own resource's collection",
                    control.source.with_extension("toml").display(),
                    collector(*wanted),
                    collector(*outside),
                ),
            });
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("driftwatch.toml"))
    }

    fn fields(text: &str) -> Vec<String> {
        parse(text)
            .expect("parses")
            .validate()
            .into_iter()
            .map(|i| i.field)
            .collect()
    }

    #[test]
    fn empty_config_is_valid_defaults() {
        let config = Config::defaults();
        assert!(config.validate().is_empty());
        assert_eq!(config.effective_accounts().len(), 1);
        assert_eq!(config.aws.retry_mode, RetryMode::Adaptive);
        assert!(config.collectors.get("s3").enabled);
        assert_eq!(
            config.enabled_collectors().len(),
            crate::collect::COLLECTORS.len()
        );
    }

    #[test]
    fn alert_sinks_routes_waivers_and_report_errors_name_their_field() {
        let found = fields(
            r#"
            [alerts]
            min_severity = "urgent"
            [alerts.sinks.pd]
            kind = "pagerduty"
            [alerts.sinks.hook]
            kind = "webhook"
            routing_key_env = "X"
            [[alerts.routes]]
            controls = ["s3.nope"]
            sinks = ["missing"]
            [[waivers]]
            control = "s3.tls_only"
            resource = "my-bucket"
            reason = " "
            approved_by = "ciso"
            expires = "next week"
            [report]
            formats = ["pdf"]
            "#,
        );
        assert_eq!(
            found,
            vec![
                "alerts.min_severity",
                "alerts.sinks.hook.url",
                "alerts.sinks.hook.routing_key_env",
                "alerts.sinks.pd.routing_key_env",
                "alerts.routes[0].sinks[0]",
                "alerts.routes[0].controls[0]",
                "waivers[0].resource",
                "waivers[0].reason",
                "waivers[0].expires",
                "report.formats[0]",
            ]
        );
    }

    #[test]
    fn event_queues_name_their_field_and_find_their_region_and_account() {
        let found = fields(
            r#"
            [[accounts]]
            name = "prod"
            [[accounts]]
            name = "staging"
            [events]
            wait_seconds = 30
            [[events.queues]]
            url = "sqs.eu-west-1.amazonaws.com/111122223333/q"
            account = "prod"
            [[events.queues]]
            url = "https://sqs.eu-west-1.amazonaws.com/111122223333/q2"
            account = "nobody"
            [[events.queues]]
            url = "https://sqs.eu-west-1.amazonaws.com/111122223333/q2"
            [[events.queues]]
            url = "http://127.0.0.1:5000/111122223333/q3"
            account = "staging"
            "#,
        );
        assert_eq!(
            found,
            vec![
                "events.wait_seconds",
                "events.queues[0].url",
                "events.queues[1].account",
                "events.queues[2].url",
                "events.queues[2].account",
                "events.queues[3].region",
            ]
        );
        let queue = EventQueueConfig {
            url: "https://sqs.us-gov-west-1.amazonaws.com/111122223333/q".into(),
            account: None,
            region: None,
        };
        assert_eq!(queue.queue_region().as_deref(), Some("us-gov-west-1"));
        let config = Config::defaults();
        assert_eq!(
            config.event_queue_account(&queue).map(|a| a.key()),
            Ok("default".to_string()),
            "the only entry reads the queue"
        );
    }

    #[test]
    fn a_waiver_date_expires_at_the_end_of_that_day() {
        assert_eq!(
            parse_expiry("2027-06-30").map(|t| t.to_rfc3339()),
            Ok("2027-07-01T00:00:00+00:00".to_string())
        );
        assert!(parse_expiry("2027-06-30T12:00:00Z").is_ok());
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/driftwatch.toml");
        let text = std::fs::read_to_string(&path).expect("example config exists");
        let config = Config::parse(&text, &path).expect("example parses");
        assert_eq!(config.validate(), vec![]);
    }

    #[test]
    fn unknown_fields_are_rejected_with_file_and_field() {
        let err = parse("[aws]\nendpoint = \"http://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("driftwatch.toml"), "{err}");
        assert!(err.contains("unknown field `endpoint`"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn type_errors_name_the_line() {
        let err = parse("[collectors.s3]\nconcurrency = \"eight\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path() {
        let got = fields(
            r#"
            [database]
            url = "mysql://x"
            [aws]
            max_attempts = 0
            attempt_timeout_seconds = 60
            call_timeout_seconds = 30
            endpoint_url = "127.0.0.1:5000"
            [[accounts]]
            role_arn = "arn:aws:iam::12:role/x"
            regions = ["eu-west-1", "Europe"]
            [[accounts]]
            external_id = "abc"
            [collectors.s3]
            schedule = "every hour"
            concurrency = 0
            [collectors.s4]
            [rules."s3.nope"]
            [rules."s3.versioning"]
            severity = "urgent"
            "#,
        );
        assert_eq!(
            got,
            vec![
                // Numbers first (one table of ranges), then the rest.
                "aws.max_attempts",
                "collectors.s3.concurrency",
                "database.url",
                "aws.endpoint_url",
                "aws.call_timeout_seconds",
                "accounts[0].role_arn",
                "accounts[0].regions[1]",
                "accounts[1].external_id",
                "collectors.s3.schedule",
                "collectors.s4",
                "rules.\"s3.nope\"",
                "rules.\"s3.versioning\".severity",
            ]
        );
    }

    #[test]
    fn a_count_setting_says_what_it_counts() {
        let issues = parse("[rules.\"iam.password_min_length\"]\nmin_length = \"long\"\n")
            .expect("parses")
            .validate();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(
            issues[0].field,
            "rules.\"iam.password_min_length\".min_length"
        );
        assert!(
            issues[0].message.contains("whole number of characters"),
            "{issues:?}"
        );
    }

    #[test]
    fn rule_settings_are_checked_against_their_control() {
        let got = fields(
            r#"
            [rules."rds.backups"]
            min_retention_days = 90
            [rules."rds.not_public"]
            allowed_cidrs = ["10.0.0.0/8", "0.0.0.0/0", "ten"]
            [rules."s3.versioning"]
            allowed_cidrs = []
            "#,
        );
        assert_eq!(
            got,
            vec![
                "rules.\"rds.backups\".min_retention_days",
                "rules.\"rds.not_public\".allowed_cidrs[1]",
                "rules.\"rds.not_public\".allowed_cidrs[2]",
                "rules.\"s3.versioning\".allowed_cidrs",
            ]
        );
        let config = parse("[rules.\"rds.backups\"]\nmin_retention_days = 14\n[rules.\"rds.not_public\"]\nallowed_cidrs = [\"10.0.0.0/8\"]\n").expect("parses");
        let settings = config.rule_settings();
        let of = |id| settings.of(id).expect("configured");
        assert_eq!(
            evaluate::rds::MIN_BACKUP_DAYS.get(&of("rds.backups").settings),
            14
        );
        assert_eq!(
            evaluate::rds::ALLOWED_CIDRS.get(&of("rds.not_public").settings),
            ["10.0.0.0/8".parse::<ipnet::IpNet>().expect("cidr")]
        );
    }

    #[test]
    fn organization_settings_name_their_field() {
        let got = fields(
            r#"
            [[accounts]]
            name = "org"
            organization = { role_name = "audit role", exclude = ["123456789012", "sandbox"] }
            [[accounts]]
            organization = { role_name = "security/driftwatch-audit", exclude = [] }
            "#,
        );
        assert_eq!(
            got,
            vec![
                "accounts[0].organization.role_name",
                "accounts[0].organization.exclude[1]",
            ]
        );
        let err =
            parse("[[accounts]]\norganization = { role = \"x\" }\n").expect_err("unknown field");
        assert!(err.to_string().contains("role"), "{err}");
    }

    #[test]
    fn duplicate_account_names_are_rejected() {
        let got = fields("[[accounts]]\nname = \"a\"\n[[accounts]]\nname = \"a\"\n");
        assert_eq!(got, vec!["accounts[1].name"]);
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = parse("[database]\nurl = \"postgres://file/db\"\n").expect("parses");
        config.apply_env(|key| match key {
            ENV_DATABASE_URL => Some("postgres://env/db".into()),
            ENV_AWS_ENDPOINT => Some("http://127.0.0.1:5000".into()),
            _ => None,
        });
        assert_eq!(
            config.database.url.as_ref().map(|u| u.expose_secret()),
            Some("postgres://env/db")
        );
        assert_eq!(
            config.aws.endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
    }

    #[test]
    fn rule_overrides_reach_the_rule_settings() {
        let config = parse("[rules.\"s3.versioning\"]\nseverity = \"high\"\nenabled = false\n")
            .expect("parses");
        let settings = config.rule_settings();
        let configured = settings.of("s3.versioning").expect("configured");
        assert_eq!(configured.enabled, Some(false));
        assert_eq!(configured.severity, Some(Severity::High));
    }

    #[test]
    fn all_regions_must_stand_alone() {
        assert_eq!(
            fields("[aws]\ndefault_regions = [\"all\"]\n"),
            Vec::<String>::new()
        );
        assert_eq!(
            fields("[[accounts]]\nregions = [\"eu-west-1\", \"all\"]\n"),
            vec!["accounts[0].regions[1]"]
        );
        let config =
            parse("[aws]\ndefault_regions = [\"all\"]\n[[accounts]]\nregions = [\"all\"]\n")
                .expect("parses");
        assert_eq!(config.home_region(&config.accounts[0]), "us-east-1");
        let config = parse(
            "[aws]\ndefault_regions = [\"eu-central-1\"]\n[[accounts]]\nregions = [\"all\"]\n",
        )
        .expect("parses");
        assert_eq!(config.home_region(&config.accounts[0]), "eu-central-1");
    }

    #[test]
    fn region_and_arn_shapes() {
        assert!(check_region("us-gov-west-1").is_ok());
        assert!(check_region("eu-central-2").is_ok());
        assert!(check_region("eu-west").is_err());
        assert!(check_role_arn("arn:aws:iam::123456789012:role/path/audit").is_ok());
        assert!(check_role_arn("arn:aws:iam::123456789012:user/audit").is_err());
    }
    #[test]
    fn a_controls_data_must_come_from_its_resources_collection() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("x.rego"),
            "package team.x\n\ndeny contains \"x\" if false\n",
        )
        .expect("module");
        std::fs::write(
            dir.path().join("x.toml"),
            "id = \"team.x\"\ntitle = \"t\"\nresource_types = [\"s3.bucket\"]\n\
             data = [\"iam.policy\"]\nseverity = \"low\"\nrationale = \"r\"\nremediation = \"m\"\n",
        )
        .expect("sidecar");
        let mut config = Config::defaults();
        config.custom_controls.paths = vec![dir.path().to_path_buf()];
        let issues = config.reload_custom_controls();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert!(
            issues[0].message.contains(
                "x.toml: data: `iam.policy` is collected by `iam` but `s3.bucket` by `s3`"
            ),
            "{issues:?}"
        );
        assert!(config.custom.is_empty(), "a refused set is not installed");
    }
}
