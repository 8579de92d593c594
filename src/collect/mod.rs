//! Collectors: AWS APIs in, typed resource records out.
//!
//! Collectors know nothing of rules or SQL. A collector returns a
//! [`Collection`]: what it listed, each resource's document or the error
//! that prevented describing it, and whether the listing itself completed.

pub mod api_calls;
mod arn;
pub mod change_events;
mod log_monitoring;
pub mod organizations;

use crate::clock::Clock;
use crate::config::{AccountConfig, AwsConfig, RetryMode};
use crate::model::{ResourceRecord, ResourceType};
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{Region, SdkConfig};
use aws_sdk_s3::error::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CollectError {
    #[error("account {account}: cannot establish credentials: {reason}")]
    Credentials { account: String, reason: String },
    /// The SDK's whole credential chain came up empty: what a newcomer
    /// without AWS set up sees first, so it says the way out.
    #[error(
        "account {account}: no AWS credentials found (none in the environment, an AWS profile, web identity, ECS or instance metadata). Set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give the account a profile or role_arn in the config; to try driftwatch without an AWS account, run scripts/demo."
    )]
    NoCredentials { account: String },
}

/// A connected account: credentials resolved and its id known.
#[derive(Clone, Debug)]
pub struct AwsAccount {
    /// The configured label, or the account id.
    pub name: String,
    pub account_id: String,
    pub sdk_config: SdkConfig,
    /// Set when API calls go to an emulator: some services then need
    /// path-style addressing or a fixed endpoint.
    pub endpoint_override: Option<String>,
    /// The scan's clock: collections are timed by it.
    pub clock: Clock,
}

impl AwsAccount {
    /// The account's configuration aimed at `region`, for a service client:
    /// `aws_sdk_x::Client::new(&account.in_region(region))`.
    pub fn in_region(&self, region: &str) -> SdkConfig {
        self.sdk_config
            .clone()
            .into_builder()
            .region(Region::new(region.to_string()))
            .build()
    }
}

/// Loads credentials for `account` (profile, role assumption) and confirms
/// them with STS GetCallerIdentity, which also gives the account id.
pub async fn connect_account(
    aws: &AwsConfig,
    account: &AccountConfig,
    home_region: &str,
) -> Result<AwsAccount, CollectError> {
    let label = account
        .name
        .clone()
        .or_else(|| account.profile.clone())
        .or_else(|| account.role_arn.clone())
        .unwrap_or_else(|| "default".to_string());
    let retry = match aws.retry_mode {
        RetryMode::Standard => RetryConfig::standard(),
        RetryMode::Adaptive => RetryConfig::adaptive(),
    }
    .with_max_attempts(aws.max_attempts);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(aws.attempt_timeout_seconds))
        .operation_timeout(Duration::from_secs(aws.call_timeout_seconds))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(home_region.to_string()))
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &account.profile {
        // Credentials from that profile and nothing else: the default chain
        // would prefer AWS_ACCESS_KEY_ID from the environment, silently
        // scanning another account under this account's name.
        let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build();
        loader = loader
            .profile_name(profile)
            .credentials_provider(credentials);
    }
    if let Some(url) = &aws.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk_config = loader.load().await;
    let sdk_config = match &account.role_arn {
        Some(role_arn) => {
            assume_role(
                &sdk_config,
                role_arn,
                account.external_id.as_deref(),
                account.session_name.as_deref(),
                home_region,
            )
            .await
        }
        None => sdk_config,
    };
    verify(sdk_config, label, account.name.clone(), aws).await
}

/// Connects to a member account of an organization by assuming its audit
/// role with the management account's credentials.
pub async fn connect_member(
    aws: &AwsConfig,
    management: &AwsAccount,
    member: &organizations::MemberAccount,
    home_region: &str,
) -> Result<AwsAccount, CollectError> {
    let sdk_config = assume_role(
        &management.sdk_config,
        &member.role_arn,
        member.external_id.as_deref(),
        member.session_name.as_deref(),
        home_region,
    )
    .await;
    let connected = verify(
        sdk_config,
        member.name.clone(),
        Some(member.name.clone()),
        aws,
    )
    .await?;
    if connected.account_id != member.id {
        // A role trust misconfigured to land in another account must not
        // file that account's resources under this one.
        return Err(CollectError::Credentials {
            account: member.name.clone(),
            reason: format!(
                "assuming {} gave credentials for account {}, not {}",
                member.role_arn, connected.account_id, member.id
            ),
        });
    }
    Ok(connected)
}

/// Credentials that assume `role_arn` from `base`'s, refreshed by the SDK
/// before they expire.
async fn assume_role(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    session_name: Option<&str>,
    home_region: &str,
) -> SdkConfig {
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(session_name.unwrap_or("driftwatch"))
        .region(Region::new(home_region.to_string()));
    if let Some(external_id) = external_id {
        builder = builder.external_id(external_id);
    }
    let provider = builder.configure(base).build().await;
    base.clone()
        .into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Proves the credentials work with STS GetCallerIdentity, which also gives
/// the account id.
async fn verify(
    sdk_config: SdkConfig,
    label: String,
    name: Option<String>,
    aws: &AwsConfig,
) -> Result<AwsAccount, CollectError> {
    let identity = crate::counted_client!(aws_sdk_sts, "sts", &sdk_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| credentials_error(&label, describe_error(&e)))?;
    let account_id = identity
        .account()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| CollectError::Credentials {
            account: label.clone(),
            reason: "GetCallerIdentity returned no account id".to_string(),
        })?
        .to_string();
    Ok(AwsAccount {
        name: name.unwrap_or_else(|| account_id.clone()),
        account_id,
        sdk_config,
        endpoint_override: aws.endpoint_url.clone(),
        clock: Clock::system(),
    })
}

/// The chain's own six-line account of where it looked stays in the debug
/// log; the error says what to do.
fn credentials_error(account: &str, reason: String) -> CollectError {
    if reason.contains("no credentials found in chain") {
        tracing::debug!(account, chain = %reason, "no credentials");
        return CollectError::NoCredentials {
            account: account.to_string(),
        };
    }
    CollectError::Credentials {
        account: account.to_string(),
        reason,
    }
}

/// The scope region of account-wide collections (S3 buckets, the account
/// itself): one scope per account, not per region.
pub const GLOBAL_SCOPE: &str = "global";

/// Whether a collector runs once per account or once per region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectorScope {
    /// One collection per account, recorded under [`GLOBAL_SCOPE`].
    AccountWide,
    /// One collection per account and configured region.
    Regional,
}

/// What [`Collector::describe`] answers for one ARN: the resource's record,
/// `None` when AWS says it does not exist, or why that is not known.
pub type Described = Result<Option<ResourceRecord>, String>;

/// One collector's declaration: everything scan, daemon, config and the
/// IAM policy need to know about it. `scan` and `daemon` iterate
/// [`COLLECTORS`] and never name a collector.
pub struct Collector {
    /// Its name in config (`[collectors.<name>]`) and in stored scans.
    pub name: &'static str,
    pub scope: CollectorScope,
    /// What its collections contain.
    pub resource_types: &'static [ResourceType],
    /// The read-only IAM actions it calls.
    pub iam_actions: &'static [&'static str],
    /// Collects one scope: `region` is [`GLOBAL_SCOPE`] for account-wide
    /// collectors; `concurrency` bounds the describe calls in flight.
    pub collect: for<'a> fn(&'a AwsAccount, &'a str, usize) -> BoxFuture<'a, Collection>,
    /// Re-collects one resource of this collector by ARN, with only the calls that
    /// resource needs: `Ok(Some(record))` (its document may be `Err` when it exists
    /// but a describe call failed, exactly as in a scan), `Ok(None)` when AWS says it
    /// does not exist, `Err(reason)` when even that could not be determined.
    pub describe: for<'a> fn(&'a AwsAccount, &'a str) -> BoxFuture<'a, Described>,
    /// Top-level fields of a document that are derived from *other* resources of the
    /// scope and that `describe` cannot recompute without re-listing the scope; the
    /// caller carries them over from the stored snapshot. Empty for most collectors.
    pub scope_derived_fields: &'static [&'static str],
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// The scopes this collector covers in an account with `regions`.
    pub fn scope_regions(&self, regions: &[String]) -> Vec<String> {
        match self.scope {
            CollectorScope::AccountWide => vec![GLOBAL_SCOPE.to_string()],
            CollectorScope::Regional => regions.to_vec(),
        }
    }
}

// The collector modules and `COLLECTORS`, one per `src/collect/*.rs` declaring
// `pub static COLLECTOR` (build.rs): a new collector is its own file.
include!(concat!(env!("OUT_DIR"), "/collectors.rs"));

/// The collector named `name`.
pub fn collector(name: &str) -> Option<&'static Collector> {
    COLLECTORS.iter().copied().find(|c| c.name == name)
}

/// The collector whose collections contain `resource_type`.
pub fn collector_of(resource_type: ResourceType) -> Option<&'static Collector> {
    COLLECTORS
        .iter()
        .copied()
        .find(|c| c.resource_types.contains(&resource_type))
}

/// Whether one collection holds both types: the same collector, whose
/// scope (an account, or an account's region) lists them together.
pub fn same_collection(a: ResourceType, b: ResourceType) -> bool {
    match (collector_of(a), collector_of(b)) {
        (Some(a), Some(b)) => a.name == b.name,
        _ => false,
    }
}

/// Every read-only IAM action the collectors call; `config/iam-policy.json`
/// must grant exactly these (a test holds the two together).
pub fn iam_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = COLLECTORS
        .iter()
        .flat_map(|c| c.iam_actions.iter())
        .chain(organizations::IAM_ACTIONS)
        .copied()
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The regions enabled for the account (opted-in or on by default), for
/// `regions = ["all"]`.
pub async fn enabled_regions(account: &AwsAccount) -> Result<Vec<String>, String> {
    let output = crate::counted_client!(aws_sdk_ec2, "ec2", &account.sdk_config)
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|e| format!("DescribeRegions: {}", describe_error(&e)))?;
    let mut regions: Vec<String> = output
        .regions()
        .iter()
        .filter(|r| r.opt_in_status() != Some("not-opted-in"))
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    if regions.is_empty() {
        return Err("DescribeRegions returned no enabled region".to_string());
    }
    Ok(regions)
}

/// What one collector saw in one scope.
#[derive(Debug)]
pub struct Collection {
    pub collector: &'static str,
    /// The region collected, or `global` for account-wide services.
    pub scope_region: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `Err` when the scope could not be enumerated: nothing can be said
    /// about which resources exist.
    pub listing: Result<(), String>,
    pub resources: Vec<ResourceRecord>,
    /// Problems that did not fail a resource but leave the scan incomplete.
    pub warnings: Vec<String>,
}

impl Collection {
    /// A collection whose listing ended with `listing`: its resources, or
    /// the error that stopped the enumeration (then nothing is known about
    /// which resources exist).
    pub fn finish(
        collector: &'static str,
        scope_region: &str,
        started_at: DateTime<Utc>,
        clock: &Clock,
        listing: Result<Vec<ResourceRecord>, String>,
    ) -> Collection {
        let (listing, mut resources) = match listing {
            Ok(resources) => (Ok(()), resources),
            Err(error) => (Err(error), Vec::new()),
        };
        resources.sort_by(|a, b| a.arn.cmp(&b.arn));
        Collection {
            collector,
            scope_region: scope_region.to_string(),
            started_at,
            finished_at: clock.now(),
            listing,
            resources,
            warnings: Vec::new(),
        }
    }

    /// Complete only when everything was listed and described: the one case
    /// in which an absent resource may be declared deleted.
    pub fn is_complete(&self) -> bool {
        self.listed_completely() && self.resources.iter().all(|r| r.document.is_ok())
    }

    /// The listing finished without error or warning (whether every
    /// resource in it was described is [`Collection::is_complete`]'s part).
    pub fn listed_completely(&self) -> bool {
        self.listing.is_ok() && self.warnings.is_empty()
    }
}

/// The result of one describe call: the configuration, its documented
/// absence, or a failure.
pub(crate) enum Fetched<T> {
    Present(T),
    Absent,
}

/// A readable one-line description of an SDK error: the AWS error code and
/// message where the service sent one, otherwise the chain of causes
/// (timeouts, connection failures, unreadable responses) without the raw
/// response dump.
pub fn describe_error<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(code) = err.code() {
        return match err.message() {
            Some(message) => format!("{code}: {message}"),
            None => code.to_string(),
        };
    }
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::{AwsAccount, COLLECTORS};

    /// A well-formed ARN of a resource each collector describes.
    const OWN_ARNS: &[(&str, &str)] = &[
        ("s3", "arn:aws:s3:::evidence"),
        ("rds", "arn:aws:rds:us-east-1:123456789012:db:ledger"),
        ("ec2", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0123"),
        ("logs", "arn:aws:logs:us-east-1:123456789012:log-group:app"),
        ("eks", "arn:aws:eks:us-east-1:123456789012:cluster/prod"),
        ("ecr", "arn:aws:ecr:us-east-1:123456789012:repository/app"),
        (
            "kms",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        ("account", "arn:aws:account::123456789012:account"),
        (
            "account_region",
            "arn:aws:account:us-east-1:123456789012:account",
        ),
        (
            "cloudtrail",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit",
        ),
        ("ebs", "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123"),
        (
            "rds_snapshots",
            "arn:aws:rds:us-east-1:123456789012:snapshot:nightly",
        ),
        (
            "network",
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123",
        ),
        ("iam", "arn:aws:iam::123456789012:user/alice"),
        (
            "efs",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123",
        ),
    ];

    /// Of the collector's own service, but not something it describes: the
    /// wrong type, account, partition or shape.
    const NOT_DESCRIBED: &[(&str, &str)] = &[
        (
            "efs",
            "arn:aws:elasticfilesystem:us-east-1:999999999999:file-system/fs-0123",
        ),
        (
            "efs",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123",
        ),
        (
            "efs",
            "arn:aws-cn:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123",
        ),
        (
            "efs",
            "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/",
        ),
        ("account", "arn:aws:account::999999999999:account"),
        ("account", "arn:aws:account::123456789012:region/us-east-1"),
        (
            "account_region",
            "arn:aws:account:us-east-1:999999999999:account",
        ),
        (
            "cloudtrail",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/",
        ),
        (
            "cloudtrail",
            "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x",
        ),
        (
            "cloudtrail",
            "arn:aws:cloudtrail:us-east-1:999999999999:trail/audit",
        ),
        ("s3", "arn:aws:s3:::evidence/object.json"),
        ("s3", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap"),
        ("s3", "arn:aws-cn:s3:::evidence"),
        ("rds", "arn:aws:rds:us-east-1:123456789012:snapshot:nightly"),
        ("rds", "arn:aws:rds:us-east-1:123456789012:db:"),
        ("rds", "arn:aws:rds:us-east-1:999999999999:db:ledger"),
        ("ec2", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1"),
        ("ec2", "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1/extra"),
        ("ec2", "arn:aws:ec2::123456789012:vpc/vpc-1"),
        (
            "network",
            "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1",
        ),
        (
            "network",
            "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1/extra",
        ),
        (
            "network",
            "arn:aws:ec2:us-east-1:999999999999:network-acl/acl-1",
        ),
        ("logs", "arn:aws:logs:us-east-1:123456789012:destination:d"),
        (
            "logs",
            "arn:aws:logs:us-east-1:123456789012:log-group:app:log-stream:s",
        ),
        (
            "eks",
            "arn:aws:eks:us-east-1:123456789012:addon/prod/vpc-cni/uuid",
        ),
        ("eks", "arn:aws:eks:us-east-1:123456789012:nodegroup/prod"),
        ("ecr", "arn:aws:ecr:us-east-1:123456789012:repository/"),
        (
            "ecr",
            "arn:aws-cn:ecr:us-east-1:123456789012:repository/app",
        ),
        ("kms", "arn:aws:kms:us-east-1:123456789012:alias/payments"),
        ("kms", "arn:aws:kms:us-east-1:123456789012:key/"),
        ("kms", "arn:aws:kms:us-east-1:999999999999:key/1234abcd"),
        ("ebs", "arn:aws:ec2:us-east-1:999999999999:volume/vol-0123"),
        // Snapshot and image ARNs carry no account.
        (
            "ebs",
            "arn:aws:ec2:us-east-1:123456789012:snapshot/snap-0123",
        ),
        ("ebs", "arn:aws:ec2:us-east-1::instance/i-0123"),
        ("ebs", "arn:aws:ec2::123456789012:volume/vol-0123"),
        (
            "rds_snapshots",
            "arn:aws:rds:us-east-1:123456789012:snapshot:",
        ),
        (
            "rds_snapshots",
            "arn:aws:rds:us-east-1:999999999999:snapshot:nightly",
        ),
        (
            "rds_snapshots",
            "arn:aws:rds:us-east-1:123456789012:db:ledger",
        ),
        ("iam", "arn:aws:iam::999999999999:user/alice"),
        ("iam", "arn:aws:iam:us-east-1:123456789012:user/alice"),
        ("iam", "arn:aws:iam::123456789012:user/"),
        ("iam", "arn:aws:iam::123456789012:mfa/alice"),
        ("iam", "arn:aws:iam::123456789012:root/x"),
        ("iam", "arn:aws-cn:iam::123456789012:user/alice"),
    ];

    const MALFORMED: &[&str] = &["", "vpc-0123", "arn:aws:ec2", "arn:aws:s3:::"];

    /// An account no call can reach: the ARNs must be refused before any.
    fn offline_account() -> AwsAccount {
        AwsAccount {
            name: "test".to_string(),
            account_id: "123456789012".to_string(),
            sdk_config: aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .build(),
            endpoint_override: None,
            clock: crate::clock::Clock::system(),
        }
    }

    #[tokio::test]
    async fn every_collector_refuses_arns_it_does_not_describe_naming_them() {
        let account = offline_account();
        for collector in COLLECTORS {
            assert!(
                OWN_ARNS.iter().any(|(name, _)| *name == collector.name),
                "{} has a sample ARN",
                collector.name
            );
            let refused = OWN_ARNS
                .iter()
                .filter(|(name, _)| *name != collector.name)
                .chain(
                    NOT_DESCRIBED
                        .iter()
                        .filter(|(name, _)| *name == collector.name),
                )
                .map(|(_, arn)| *arn)
                .chain(MALFORMED.iter().copied());
            for arn in refused {
                let answer = (collector.describe)(&account, arn).await;
                match answer {
                    Err(error) => assert!(error.contains(arn), "{}: {error}", collector.name),
                    Ok(record) => panic!("{} described {arn:?}: {record:?}", collector.name),
                }
            }
        }
    }

    #[test]
    fn every_resource_type_has_exactly_one_collector() {
        for t in crate::model::ResourceType::ALL {
            let producers = super::COLLECTORS
                .iter()
                .filter(|c| c.resource_types.contains(t))
                .count();
            assert_eq!(producers, 1, "{t}");
        }
        let mut names: Vec<_> = super::COLLECTORS.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            super::COLLECTORS.len(),
            "collector names are unique"
        );
    }

    #[test]
    fn the_shipped_iam_policy_grants_exactly_the_actions_collectors_call() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/iam-policy.json");
        let text = std::fs::read_to_string(path).expect("config/iam-policy.json exists");
        let policy: serde_json::Value = serde_json::from_str(&text).expect("policy is JSON");
        let mut granted: Vec<String> = policy["Statement"]
            .as_array()
            .expect("Statement list")
            .iter()
            .filter(|s| s["Effect"] == "Allow")
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        granted.sort_unstable();
        assert_eq!(granted, super::iam_actions());
        assert!(
            granted.iter().all(|a| !a.contains('*')),
            "no wildcards in a least-privilege policy"
        );
    }
}
