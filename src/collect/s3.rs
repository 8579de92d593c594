//! S3: every bucket of the account, with the configuration the S3 controls
//! read. Buckets are global, so one collection covers the whole account
//! (scope region `global`); each bucket is described through a client for
//! its own region, as S3 requires.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, Fetched, describe_error};
use crate::model::{
    AccessLogging, AccountPublicAccessBlock, Encryption, EncryptionRule, PublicAccessBlock,
    Replication, ReplicationFilter, ReplicationRule, ResourceRecord, ResourceType, S3Bucket, Versioning,
    partition_for_region, s3_bucket_arn,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

pub const NAME: &str = "s3";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::AccountWide,
    resource_types: &[ResourceType::S3Bucket],
    iam_actions: IAM_ACTIONS,
    collect: |account, _region, concurrency| Box::pin(collect(account, concurrency)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &["receives_access_logs_from"],
};

/// The read-only API actions this collector calls (IAM names).
pub const IAM_ACTIONS: &[&str] = &[
    "s3:ListAllMyBuckets",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicy",
    "s3:GetReplicationConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketVersioning",
    "s3:GetBucketLogging",
    "s3:GetBucketTagging",
    "s3:GetAccountPublicAccessBlock",
    "sts:GetCallerIdentity",
];

/// Why describing a bucket stopped.
enum DescribeError {
    /// Deleted between listing and describing: simply not there.
    Vanished,
    Failed(String),
}

/// Classifies an SDK error: a documented "not configured" code is absence,
/// `NoSuchBucket` means the bucket is gone, anything else is a failure.
fn classify<T, E, R>(
    operation: &str,
    result: Result<T, SdkError<E, R>>,
    absent_codes: &[&str],
) -> Result<Fetched<T>, DescribeError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(value) => Ok(Fetched::Present(value)),
        Err(err) => match err.code() {
            Some(code) if absent_codes.contains(&code) => Ok(Fetched::Absent),
            Some("NoSuchBucket") => Err(DescribeError::Vanished),
            _ => Err(DescribeError::Failed(format!(
                "{operation}: {}",
                describe_error(&err)
            ))),
        },
    }
}

/// The describe calls of one bucket, accumulated.
#[derive(Default)]
struct Outcome {
    failures: Vec<String>,
    vanished: bool,
}

impl Outcome {
    fn keep<T>(&mut self, result: Result<Fetched<T>, DescribeError>) -> Option<T> {
        match result {
            Ok(Fetched::Present(value)) => Some(value),
            Ok(Fetched::Absent) => None,
            Err(DescribeError::Vanished) => {
                self.vanished = true;
                None
            }
            Err(DescribeError::Failed(e)) => {
                self.failures.push(e);
                None
            }
        }
    }
}

/// One S3 client per region, built on first use.
struct RegionalClients<'a> {
    account: &'a AwsAccount,
    clients: Mutex<HashMap<String, aws_sdk_s3::Client>>,
}

impl<'a> RegionalClients<'a> {
    fn new(account: &'a AwsAccount) -> Self {
        RegionalClients {
            account,
            clients: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| client_in(self.account, region))
            .clone()
    }
}

/// The region of the account's own configuration: where listings and
/// account settings are asked, and which gives bucket ARNs their partition.
pub(super) fn home_region(account: &AwsAccount) -> String {
    account
        .sdk_config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_string())
}

pub async fn collect(account: &AwsAccount, concurrency: usize) -> Collection {
    let started_at = account.clock.now();
    let home_region = home_region(account);
    let partition = partition_for_region(&home_region);
    let clients = RegionalClients::new(account);
    let home = clients.get(&home_region);

    let listed = match list_buckets(&home).await {
        Ok(listed) => listed,
        Err(error) => {
            return Collection {
                collector: NAME,
                scope_region: super::GLOBAL_SCOPE.to_string(),
                started_at,
                finished_at: account.clock.now(),
                listing: Err(error),
                resources: Vec::new(),
                warnings: Vec::new(),
            };
        }
    };

    let mut warnings = Vec::new();
    let account_block = account_public_access_block(account, &home_region).await;
    if let AccountPublicAccessBlock::Unknown { error } = &account_block {
        warnings.push(format!("account public access block unknown: {error}"));
    }

    let described: Vec<(String, String, Result<S3Bucket, DescribeError>)> =
        futures_util::stream::iter(listed)
            .map(|(name, listed_region)| {
                let clients = &clients;
                let home = &home;
                let account_block = &account_block;
                async move {
                    let region = match listed_region {
                        Some(region) => Ok(region),
                        None => bucket_region(home, &name, None).await,
                    };
                    match region {
                        Ok(region) => {
                            let client = clients.get(&region);
                            let arn = s3_bucket_arn(partition, &name);
                            let result =
                                describe_bucket(&client, home, &name, &arn, &region, account_block)
                                    .await;
                            (name, region, result)
                        }
                        Err(e) => (name, "unknown".to_string(), Err(e)),
                    }
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;

    // Which buckets deliver their access logs to which: context for the
    // access-logging control, computed from what was just collected.
    let mut log_sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, _, result) in &described {
        if let Ok(bucket) = result
            && let Some(logging) = &bucket.logging
            && logging.target_bucket != *name
        {
            log_sources
                .entry(logging.target_bucket.clone())
                .or_default()
                .push(name.clone());
        }
    }

    let mut resources: Vec<ResourceRecord> = described
        .into_iter()
        .filter_map(|(name, region, result)| {
            let log_sources = log_sources.remove(&name).unwrap_or_default();
            bucket_record(partition, name, region, result, log_sources)
        })
        .collect();
    resources.sort_by(|a, b| a.arn.cmp(&b.arn));

    Collection {
        collector: NAME,
        scope_region: super::GLOBAL_SCOPE.to_string(),
        started_at,
        finished_at: account.clock.now(),
        listing: Ok(()),
        resources,
        warnings,
    }
}

/// A described bucket as a record, with the buckets that log into it;
/// `None` when it vanished while being described.
fn bucket_record(
    partition: &str,
    name: String,
    region: String,
    described: Result<S3Bucket, DescribeError>,
    mut receives_access_logs_from: Vec<String>,
) -> Option<ResourceRecord> {
    let document = match described {
        Ok(mut bucket) => {
            receives_access_logs_from.sort();
            bucket.receives_access_logs_from = receives_access_logs_from;
            crate::model::Document::of(&bucket)
                .map_err(|e| format!("cannot serialise bucket record: {e}"))
        }
        Err(DescribeError::Vanished) => return None,
        Err(DescribeError::Failed(error)) => Err(error),
    };
    Some(ResourceRecord {
        arn: s3_bucket_arn(partition, &name),
        resource_type: ResourceType::S3Bucket,
        name,
        region,
        document,
    })
}

/// Re-collects one bucket: its region, then the calls a scan makes for it
/// and the account's public access block that its record carries.
/// `receives_access_logs_from` stays empty: it is derived from every other
/// bucket's logging configuration.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let home_region = home_region(account);
    let partition = partition_for_region(&home_region);
    let name = bucket_of(arn, partition)?;
    let clients = RegionalClients::new(account);
    let home = clients.get(&home_region);
    // The ARN names no account: only a bucket this account owns is the
    // bucket a scan of it would list.
    let region = match bucket_region(&home, name, Some(&account.account_id)).await {
        Ok(region) => region,
        Err(DescribeError::Vanished) => return Ok(None),
        Err(DescribeError::Failed(error)) => return Err(format!("{arn}: {error}")),
    };
    let account_block = account_public_access_block(account, &home_region).await;
    let client = clients.get(&region);
    let arn = s3_bucket_arn(partition, name);
    let described = describe_bucket(&client, &home, name, &arn, &region, &account_block).await;
    Ok(bucket_record(
        partition,
        name.to_string(),
        region,
        described,
        Vec::new(),
    ))
}

/// The bucket an S3 bucket ARN names (`arn:partition:s3:::name`); object
/// and access point ARNs are not buckets.
fn bucket_of<'a>(arn: &'a str, partition: &str) -> Result<&'a str, String> {
    let parsed = Arn::parse(arn)?
        .of_service(arn, "s3")?
        .in_partition(arn, partition)?;
    if !parsed.region.is_empty() || !parsed.account.is_empty() || parsed.resource.contains('/') {
        return Err(not_described(arn, &COLLECTOR));
    }
    Ok(parsed.resource)
}

/// Every bucket with its region when ListBuckets reports it.
async fn list_buckets(
    client: &aws_sdk_s3::Client,
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut buckets = Vec::new();
    // AWS includes each bucket's BucketRegion only when the request has a
    // parameter; without one every bucket costs a GetBucketLocation.
    let mut pages = client
        .list_buckets()
        .max_buckets(10_000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListBuckets: {}", describe_error(&e)))?;
        for bucket in page.buckets() {
            if let Some(name) = bucket.name() {
                let region = bucket
                    .bucket_region()
                    .filter(|r| !r.is_empty())
                    .map(str::to_string);
                buckets.push((name.to_string(), region));
            }
        }
    }
    Ok(buckets)
}

/// The bucket's region; with `expected_owner`, S3 refuses to answer for a
/// bucket another account owns.
async fn bucket_region(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    expected_owner: Option<&str>,
) -> Result<String, DescribeError> {
    let result = client
        .get_bucket_location()
        .bucket(bucket)
        .set_expected_bucket_owner(expected_owner.map(str::to_string))
        .send()
        .await;
    match classify("GetBucketLocation", result, &[])? {
        Fetched::Present(output) => Ok(location_to_region(
            output
                .location_constraint()
                .map(|c| c.as_str())
                .unwrap_or_default(),
        )),
        Fetched::Absent => Ok("us-east-1".to_string()),
    }
}

/// GetBucketLocation's legacy values: empty is us-east-1, `EU` eu-west-1.
pub(super) fn location_to_region(constraint: &str) -> String {
    match constraint {
        "" => "us-east-1".to_string(),
        "EU" => "eu-west-1".to_string(),
        other => other.to_string(),
    }
}

async fn describe_bucket(
    client: &aws_sdk_s3::Client,
    home: &aws_sdk_s3::Client,
    name: &str,
    arn: &str,
    region: &str,
    account_block: &AccountPublicAccessBlock,
) -> Result<S3Bucket, DescribeError> {
    let (policy, replication, encryption, public_access_block, versioning, logging, tagging) = tokio::join!(
        client.get_bucket_policy().bucket(name).send(),
        client.get_bucket_replication().bucket(name).send(),
        client.get_bucket_encryption().bucket(name).send(),
        client.get_public_access_block().bucket(name).send(),
        client.get_bucket_versioning().bucket(name).send(),
        client.get_bucket_logging().bucket(name).send(),
        client.get_bucket_tagging().bucket(name).send(),
    );

    // Report every failing call, not just the first, so one look at the
    // error says which permissions are missing.
    let mut outcome = Outcome::default();
    let policy = outcome.keep(classify("GetBucketPolicy", policy, &["NoSuchBucketPolicy"]));
    let replication = outcome.keep(classify(
        "GetBucketReplication",
        replication,
        &["ReplicationConfigurationNotFoundError"],
    ));
    let encryption = outcome.keep(classify(
        "GetBucketEncryption",
        encryption,
        &["ServerSideEncryptionConfigurationNotFoundError"],
    ));
    let public_access_block = outcome.keep(classify(
        "GetPublicAccessBlock",
        public_access_block,
        &["NoSuchPublicAccessBlockConfiguration"],
    ));
    let versioning = outcome.keep(classify("GetBucketVersioning", versioning, &[]));
    let logging = outcome.keep(classify("GetBucketLogging", logging, &[]));
    // Tags are context no built-in control reads: a refusal to read them
    // (a role without s3:GetBucketTagging, a lasting state) is kept in the
    // document, their controls unknown, rather than failing the bucket. Any
    // other failure is transient: kept in the document it would be drift.
    let (tags, tags_unreadable) = match classify("GetBucketTagging", tagging, &["NoSuchTagSet"]) {
        Ok(Fetched::Present(output)) => (
            output
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            None,
        ),
        Ok(Fetched::Absent) => (BTreeMap::new(), None),
        Err(DescribeError::Vanished) => {
            outcome.vanished = true;
            (BTreeMap::new(), None)
        }
        Err(DescribeError::Failed(reason))
            if super::api_calls::error_text_kind(&reason) == Some("access_denied") =>
        {
            (BTreeMap::new(), Some(reason))
        }
        Err(DescribeError::Failed(reason)) => {
            outcome.failures.push(reason);
            (BTreeMap::new(), None)
        }
    };
    if outcome.vanished {
        return Err(DescribeError::Vanished);
    }
    if !outcome.failures.is_empty() {
        return Err(DescribeError::Failed(outcome.failures.join("; ")));
    }

    let policy = policy.and_then(|p| p.policy().map(policy_document));

    let replication = match replication.and_then(|r| r.replication_configuration().cloned()) {
        Some(config) => {
            let mut rules = Vec::new();
            for rule in config.rules() {
                let destination = rule.destination();
                let destination_bucket = destination
                    .map(|d| d.bucket().to_string())
                    .unwrap_or_default();
                let status = rule.status().as_str().to_string();
                let destination_region = if status == "Enabled" {
                    destination_region(home, &destination_bucket).await
                } else {
                    None
                };
                rules.push(ReplicationRule {
                    id: rule.id().map(str::to_string),
                    status,
                    priority: rule.priority(),
                    destination_bucket,
                    destination_account: destination.and_then(|d| d.account()).map(str::to_string),
                    destination_region,
                    filter: replication_filter(rule),
                });
            }
            // By priority, then id: S3 evaluates by priority, and the
            // order it returns them in is not a change.
            rules.sort_by(|a, b| {
                (a.priority, &a.id, &a.destination_bucket)
                    .cmp(&(b.priority, &b.id, &b.destination_bucket))
            });
            Some(Replication {
                role: Some(config.role().to_string()).filter(|r| !r.is_empty()),
                rules,
            })
        }
        None => None,
    };

    let encryption = encryption
        .and_then(|e| e.server_side_encryption_configuration().cloned())
        .map(|config| Encryption {
            rules: config
                .rules()
                .iter()
                .filter_map(|rule| {
                    let default = rule.apply_server_side_encryption_by_default()?;
                    Some(EncryptionRule {
                        algorithm: default.sse_algorithm().as_str().to_string(),
                        kms_key_id: default.kms_master_key_id().map(str::to_string),
                        bucket_key_enabled: rule.bucket_key_enabled(),
                    })
                })
                .collect(),
        });

    let public_access_block =
        public_access_block.and_then(|p| p.public_access_block_configuration().map(block_settings));

    let versioning = versioning
        .map(|v| Versioning {
            status: v.status().map(|s| s.as_str().to_string()),
            mfa_delete: v.mfa_delete().map(|m| m.as_str().to_string()),
        })
        .unwrap_or_default();

    let logging = logging
        .and_then(|l| l.logging_enabled().cloned())
        .map(|l| AccessLogging {
            target_bucket: l.target_bucket().to_string(),
            target_prefix: l.target_prefix().to_string(),
        });

    Ok(S3Bucket {
        name: name.to_string(),
        arn: arn.to_string(),
        region: region.to_string(),
        policy,
        replication,
        encryption,
        public_access_block,
        account_public_access_block: account_block.clone(),
        versioning,
        logging,
        receives_access_logs_from: Vec::new(),
        tags,
        tags_unreadable,
    })
}

/// Region of a replication destination (`arn:aws:s3:::name`). Best effort:
/// the destination may be in another account we cannot read, which makes
/// the region unknown, not the bucket's collection failed.
async fn destination_region(home: &aws_sdk_s3::Client, destination_arn: &str) -> Option<String> {
    let name = destination_arn
        .rsplit(":::")
        .next()
        .filter(|n| !n.is_empty())?;
    bucket_region(home, name, None).await.ok()
}

pub(super) async fn account_public_access_block(
    account: &AwsAccount,
    home_region: &str,
) -> AccountPublicAccessBlock {
    let mut builder = aws_sdk_s3control::config::Builder::from(&account.sdk_config).region(
        aws_sdk_s3control::config::Region::new(home_region.to_string()),
    );
    if let Some(url) = &account.endpoint_override {
        // S3 Control's endpoint rules put the account id in the host name,
        // which an emulator on 127.0.0.1 cannot serve.
        builder = builder.endpoint_resolver(FixedEndpoint(url.clone()));
    }
    let client = aws_sdk_s3control::Client::from_conf(
        builder
            .interceptor(super::api_calls::CountCalls("s3control"))
            .build(),
    );
    let result = client
        .get_public_access_block()
        .account_id(&account.account_id)
        .send()
        .await;
    match result {
        Ok(output) => match output.public_access_block_configuration() {
            Some(c) => AccountPublicAccessBlock::Set(PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            }),
            None => AccountPublicAccessBlock::Absent,
        },
        Err(err) if err.code() == Some("NoSuchPublicAccessBlockConfiguration") => {
            AccountPublicAccessBlock::Absent
        }
        Err(err) => AccountPublicAccessBlock::Unknown {
            error: format!("GetPublicAccessBlock (account): {}", describe_error(&err)),
        },
    }
}

/// Resolves every S3 Control call to one URL: S3 Control's endpoint rules
/// put the account id in the host name, which an emulator on 127.0.0.1
/// cannot serve.
#[derive(Debug)]
pub struct FixedEndpoint(pub String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

/// An S3 client for buckets in `region` (S3 answers a bucket only in its
/// own region).
pub(super) fn client_in(account: &AwsAccount, region: &str) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(&account.sdk_config)
        .region(aws_sdk_s3::config::Region::new(region.to_string()));
    if account.endpoint_override.is_some() {
        // Emulators serve every bucket on one host.
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(
        builder
            .interceptor(super::api_calls::CountCalls("s3"))
            .build(),
    )
}

/// A bucket policy as stored: parsed JSON, or the text verbatim when it is
/// not JSON (the rule then reports the parse error).
pub(super) fn policy_document(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

pub(super) fn block_settings(
    c: &aws_sdk_s3::types::PublicAccessBlockConfiguration,
) -> PublicAccessBlock {
    PublicAccessBlock {
        block_public_acls: c.block_public_acls().unwrap_or(false),
        ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
        block_public_policy: c.block_public_policy().unwrap_or(false),
        restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
    }
}


/// What a replication rule is limited to: `None` when it replicates every
/// object (no filter, an empty one, or an empty prefix).
fn replication_filter(rule: &aws_sdk_s3::types::ReplicationRule) -> Option<ReplicationFilter> {
    let tag = |t: &aws_sdk_s3::types::Tag| (t.key().to_string(), t.value().to_string());
    let mut filter = ReplicationFilter::default();
    #[allow(deprecated)]
    let legacy_prefix = rule.prefix();
    if let Some(f) = rule.filter() {
        filter.prefix = f.prefix().map(str::to_string);
        filter.tags.extend(f.tag().map(tag));
        if let Some(and) = f.and() {
            filter.prefix = filter.prefix.or(and.prefix().map(str::to_string));
            filter.tags.extend(and.tags().iter().map(tag));
        }
    }
    filter.prefix = filter
        .prefix
        .or(legacy_prefix.map(str::to_string))
        .filter(|p| !p.is_empty());
    (filter.prefix.is_some() || !filter.tags.is_empty()).then_some(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(deprecated)]
    fn a_replication_rule_replicates_all_unless_a_prefix_or_tag_limits_it() {
        use aws_sdk_s3::types::{
            Destination, ReplicationRule as Rule, ReplicationRuleFilter, ReplicationRuleStatus, Tag,
        };
        let rule = |filter: Option<ReplicationRuleFilter>, legacy_prefix: Option<&str>| {
            let mut rule = Rule::builder()
                .status(ReplicationRuleStatus::Enabled)
                .destination(
                    Destination::builder()
                        .bucket("arn:aws:s3:::replica")
                        .build()
                        .expect("destination"),
                );
            if let Some(filter) = filter {
                rule = rule.filter(filter);
            }
            if let Some(prefix) = legacy_prefix {
                rule = rule.prefix(prefix);
            }
            rule.build().expect("rule")
        };
        let tag = Tag::builder().key("class").value("pci").build().expect("tag");
        assert_eq!(replication_filter(&rule(None, None)), None);
        let empty = ReplicationRuleFilter::builder().prefix("").build();
        assert_eq!(replication_filter(&rule(Some(empty), None)), None);
        assert_eq!(replication_filter(&rule(None, Some(""))), None);
        // The schema before Filter: a top-level Prefix.
        assert_eq!(
            replication_filter(&rule(None, Some("logs/"))),
            Some(ReplicationFilter {
                prefix: Some("logs/".into()),
                tags: BTreeMap::new(),
            })
        );
        let tagged = ReplicationRuleFilter::builder().tag(tag).build();
        assert_eq!(
            replication_filter(&rule(Some(tagged), None)),
            Some(ReplicationFilter {
                prefix: None,
                tags: BTreeMap::from([("class".to_string(), "pci".to_string())]),
            })
        );
    }

    #[test]
    fn legacy_location_constraints_map_to_regions() {
        assert_eq!(location_to_region(""), "us-east-1");
        assert_eq!(location_to_region("EU"), "eu-west-1");
        assert_eq!(location_to_region("ap-south-1"), "ap-south-1");
    }
}
