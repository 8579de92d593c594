//! Typed resource records: the contract between collectors (which fill them
//! from AWS) and rules/drift (which read them back from stored snapshots).
//!
//! Nothing here knows about the AWS SDK or SQL. Every record serialises to a
//! canonical JSON document; that document is what is stored, hashed and
//! diffed, so a field added here is automatically tracked for drift.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kinds of resource driftwatch collects. The string form is stored in
/// Postgres and shown to users, so it must stay stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ResourceType {
    #[serde(rename = "s3.bucket")]
    S3Bucket,
}

impl ResourceType {
    pub const ALL: &'static [ResourceType] = &[ResourceType::S3Bucket];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::S3Bucket => "s3.bucket",
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown resource type `{s}`"))
    }
}

/// One resource as seen by one collection. `document` is `Err` when the
/// resource was listed but describing it failed: the resource exists, its
/// state is unknown, and it must be neither diffed nor reported deleted.
#[derive(Debug, Clone)]
pub struct ResourceRecord {
    pub arn: String,
    pub resource_type: ResourceType,
    pub name: String,
    pub region: String,
    pub document: Result<serde_json::Value, String>,
}

/// The normalised state of one S3 bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Bucket {
    pub name: String,
    pub arn: String,
    pub region: String,
    /// The bucket policy as parsed JSON. If the text returned by S3 is not
    /// valid JSON it is kept verbatim as a JSON string, so nothing is lost and
    /// the policy rule can report the parse error as evidence.
    pub policy: Option<serde_json::Value>,
    pub replication: Option<Replication>,
    pub encryption: Option<Encryption>,
    pub public_access_block: Option<PublicAccessBlock>,
    pub account_public_access_block: AccountPublicAccessBlock,
    pub versioning: Versioning,
    pub logging: Option<AccessLogging>,
    /// Buckets (of the same collection) that deliver their access logs here.
    /// A log-target bucket is the usual documented exception for
    /// `s3.access_logging`, so the rule shows this as context.
    #[serde(default)]
    pub receives_access_logs_from: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Replication {
    pub role: Option<String>,
    pub rules: Vec<ReplicationRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationRule {
    pub id: Option<String>,
    pub status: String,
    pub priority: Option<i32>,
    pub destination_bucket: String,
    pub destination_account: Option<String>,
    /// Region of the destination bucket when it could be determined
    /// (GetBucketLocation on the destination); `None` when it could not.
    pub destination_region: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Encryption {
    pub rules: Vec<EncryptionRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EncryptionRule {
    /// As S3 reports it: `AES256`, `aws:kms`, `aws:kms:dsse`.
    pub algorithm: String,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub fn all_enabled(&self) -> bool {
        self.block_public_acls
            && self.ignore_public_acls
            && self.block_public_policy
            && self.restrict_public_buckets
    }

    /// AWS applies the most restrictive combination of bucket and account
    /// settings, setting by setting.
    pub fn combined(self, other: PublicAccessBlock) -> PublicAccessBlock {
        PublicAccessBlock {
            block_public_acls: self.block_public_acls || other.block_public_acls,
            ignore_public_acls: self.ignore_public_acls || other.ignore_public_acls,
            block_public_policy: self.block_public_policy || other.block_public_policy,
            restrict_public_buckets: self.restrict_public_buckets || other.restrict_public_buckets,
        }
    }

    pub fn disabled_settings(&self) -> Vec<&'static str> {
        let mut off = Vec::new();
        if !self.block_public_acls {
            off.push("BlockPublicAcls");
        }
        if !self.ignore_public_acls {
            off.push("IgnorePublicAcls");
        }
        if !self.block_public_policy {
            off.push("BlockPublicPolicy");
        }
        if !self.restrict_public_buckets {
            off.push("RestrictPublicBuckets");
        }
        off
    }
}

/// The account-wide public access block, which can be unknown (no
/// permission, API failure) independently of the bucket's own settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AccountPublicAccessBlock {
    #[default]
    Absent,
    Set(PublicAccessBlock),
    Unknown {
        error: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Versioning {
    /// `Enabled`, `Suspended`, or `None` for a bucket never versioned.
    pub status: Option<String>,
    pub mfa_delete: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessLogging {
    pub target_bucket: String,
    pub target_prefix: String,
}

/// S3 bucket ARNs carry no region or account, only the partition.
pub fn s3_bucket_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// The ARN partition a region belongs to.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_type_round_trips_through_its_stored_name() {
        for t in ResourceType::ALL {
            assert_eq!(t.as_str().parse::<ResourceType>(), Ok(*t));
        }
        assert!("s3.object".parse::<ResourceType>().is_err());
    }

    #[test]
    fn public_access_block_combines_setting_by_setting() {
        let bucket = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: false,
            block_public_policy: true,
            restrict_public_buckets: false,
        };
        let account = PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: true,
            block_public_policy: false,
            restrict_public_buckets: true,
        };
        assert!(!bucket.all_enabled());
        assert!(bucket.combined(account).all_enabled());
        assert_eq!(
            bucket.disabled_settings(),
            vec!["IgnorePublicAcls", "RestrictPublicBuckets"]
        );
    }

    #[test]
    fn partitions_follow_region_prefixes() {
        assert_eq!(partition_for_region("eu-west-1"), "aws");
        assert_eq!(partition_for_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(s3_bucket_arn("aws", "b"), "arn:aws:s3:::b");
    }
}
