//! Typed resource records: the contract between collectors (which fill them
//! from AWS) and rules/drift (which read them back from stored snapshots).
//!
//! Nothing here knows about the AWS SDK or SQL. Every record serialises to a
//! canonical JSON document; that document is what is stored, hashed and
//! diffed, so a field added here is automatically tracked for drift.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Declares the resource types: one line each gives the variant, the id
/// stored in Postgres and shown to users (it must stay stable), what a
/// person calls it, and the record its documents deserialise to.
macro_rules! resource_types {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $label:literal, $record:ty;)*) => {
        /// The kinds of resource driftwatch collects.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ResourceType {
            $($(#[$doc])* #[serde(rename = $id)] $variant,)*
        }

        impl ResourceType {
            pub const ALL: &'static [ResourceType] = &[$(ResourceType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResourceType::$variant => $id,)*
                }
            }

            /// What a person calls it.
            pub fn label(self) -> &'static str {
                match self {
                    $(ResourceType::$variant => $label,)*
                }
            }

            /// A stored document read back as this type's record (rules
            /// downcast it to the record they decide on).
            pub fn read_record(
                self,
                document: &Document,
            ) -> Result<Box<dyn std::any::Any + Send + Sync>, serde_json::Error> {
                match self {
                    $(ResourceType::$variant => {
                        document.read::<$record>().map(|r| Box::new(r) as Box<_>)
                    })*
                }
            }
        }
    };
}

resource_types! {
    S3Bucket = "s3.bucket", "S3 bucket", S3Bucket;
    RdsInstance = "rds.instance", "RDS instance", RdsInstance;
    RdsCluster = "rds.cluster", "RDS cluster", RdsCluster;
    Ec2Instance = "ec2.instance", "EC2 instance", Ec2Instance;
    LaunchTemplate = "ec2.launch_template", "launch template", LaunchTemplate;
    Vpc = "ec2.vpc", "VPC", Vpc;
    LogGroup = "logs.log_group", "log group", LogGroup;
    EksCluster = "eks.cluster", "EKS cluster", EksCluster;
    EksNodegroup = "eks.nodegroup", "EKS node group", EksNodegroup;
    EcrRepository = "ecr.repository", "ECR repository", EcrRepository;
    /// The account itself: settings AWS keeps once per account.
    Account = "aws.account", "AWS account", Account;
    CloudTrailTrail = "cloudtrail.trail", "CloudTrail trail", Trail;
    /// The account in one region: settings AWS keeps per region.
    AccountRegion = "aws.account_region", "AWS account region", AccountRegion;
    KmsKey = "kms.key", "KMS key", KmsKey;
    EbsVolume = "ec2.volume", "EBS volume", EbsVolume;
    EbsSnapshot = "ec2.snapshot", "EBS snapshot", EbsSnapshot;
    MachineImage = "ec2.image", "AMI", MachineImage;
    RdsSnapshot = "rds.snapshot", "RDS snapshot", RdsSnapshot;
    RdsClusterSnapshot = "rds.cluster_snapshot", "RDS cluster snapshot", RdsSnapshot;
    Ec2SecurityGroup = "ec2.security_group", "security group", Ec2SecurityGroup;
    NetworkAcl = "ec2.network_acl", "network ACL", NetworkAcl;
    /// The account's IAM settings and its root user (IAM is global).
    IamAccount = "iam.account", "IAM account settings", IamAccount;
    IamUser = "iam.user", "IAM user", IamUser;
    IamRole = "iam.role", "IAM role", IamRole;
    IamGroup = "iam.group", "IAM group", IamGroup;
    IamPolicy = "iam.policy", "IAM customer managed policy", IamPolicy;
    IamServerCertificate = "iam.server_certificate", "IAM server certificate", IamServerCertificate;
    EfsFileSystem = "efs.file_system", "EFS file system", EfsFileSystem;
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
    pub document: Result<Document, String>,
}

/// A resource's state as canonical JSON text: object keys sorted at every
/// depth, no whitespace. It is what is hashed, stored and diffed. Kept as
/// text, not as a tree, because a scope's whole collection is held until
/// it is recorded: a security group is ~0.5 KB of text and ~2.5 KB of
/// `serde_json::Value`.
#[derive(Clone, PartialEq, Eq)]
pub struct Document(Box<str>);

impl Document {
    /// The canonical text of `value`.
    pub fn from_value(value: &serde_json::Value) -> Document {
        Document(canonical_json(value).into_boxed_str())
    }

    /// The document of a typed record.
    pub fn of<T: Serialize>(record: &T) -> Result<Document, serde_json::Error> {
        serde_json::to_value(record).map(|value| Document::from_value(&value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document as a tree, for what walks it (drift, tests). The text
    /// is JSON by construction; `Null` stands in if it ever were not.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }

    /// The document read as `T`.
    pub fn read<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Canonical JSON (object keys sorted at every depth) so that equal
/// documents hash equally whatever order they were built in.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    write(item, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::String(text) => write_string(text, out),
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    fn write_string(text: &str, out: &mut String) {
        // Serialising a `str` cannot fail; an empty string stands in if it did.
        out.push_str(&serde_json::to_string(text).unwrap_or_default());
    }
    let mut out = String::new();
    write(value, &mut out);
    out
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
    /// The bucket's tags (GetBucketTagging). Left out of the document when
    /// there are none, so an untagged bucket's document is what it was
    /// before tags were read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Why the tags could not be read (a missing s3:GetBucketTagging
    /// permission): controls over tags are then unknown, the others are
    /// decided as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_unreadable: Option<String>,
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
    /// The objects the rule replicates when not all of them: a key prefix
    /// and tags an object must carry. `None`: every object of the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ReplicationFilter>,
}

/// A replication rule's filter (`Filter`, or the older top-level `Prefix`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplicationFilter {
    /// `None` or absent: no prefix condition.
    pub prefix: Option<String>,
    /// Every tag an object must carry (key → value).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
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

/// An RDS DB instance. Instances that belong to an Aurora cluster carry
/// `cluster_identifier`; availability is then the cluster's property.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdsInstance {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    pub engine: String,
    pub engine_version: Option<String>,
    pub instance_class: Option<String>,
    pub cluster_identifier: Option<String>,
    pub multi_az: bool,
    pub publicly_accessible: bool,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    pub backup_retention_days: i32,
    #[serde(default)]
    pub auto_minor_version_upgrade: bool,
    /// An Aurora member's is its cluster's.
    #[serde(default)]
    pub deletion_protection: bool,
    /// The port the database listens on (from its endpoint, or the engine default).
    pub port: Option<i32>,
    pub security_groups: Vec<SecurityGroup>,
}

/// An Aurora (or Multi-AZ DB) cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdsCluster {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    pub engine: String,
    pub multi_az: bool,
    pub storage_encrypted: bool,
    pub kms_key_id: Option<String>,
    pub backup_retention_days: i32,
    #[serde(default)]
    pub deletion_protection: bool,
    /// Identifier and availability zone of each member instance.
    pub members: Vec<ClusterMember>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterMember {
    pub identifier: String,
    pub availability_zone: Option<String>,
    pub writer: bool,
}

/// A VPC security group, as far as ingress exposure is concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: Option<String>,
    pub ingress: Vec<IngressRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngressRule {
    /// `tcp`, `udp`, `icmp`, or `-1` for all protocols.
    pub protocol: String,
    /// `None` with protocol `-1`: every port.
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidrs: Vec<String>,
    /// Other security groups allowed in (not an internet exposure).
    pub source_groups: Vec<String>,
    /// Managed prefix lists allowed in, with their entries resolved.
    #[serde(default)]
    pub prefix_lists: Vec<PrefixListSource>,
}

/// A managed prefix list a rule references, and the CIDRs it holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixListSource {
    pub id: String,
    /// Its entries, sorted.
    pub cidrs: Vec<String>,
    /// Why its entries could not be read: what it admits is then unknown.
    pub unreadable: Option<String>,
}

impl IngressRule {
    /// Whether the rule admits TCP traffic to `port`.
    pub fn admits_tcp_port(&self, port: i32) -> bool {
        self.admits_port(&[Transport::Tcp], port)
    }

    /// Whether the rule admits traffic of one of `transports` to `port`
    /// (protocol `-1` admits every protocol and port).
    pub fn admits_port(&self, transports: &[Transport], port: i32) -> bool {
        admits_port(
            &self.protocol,
            self.from_port,
            self.to_port,
            transports,
            port,
        )
    }
}

/// A transport protocol with ports, as EC2 names it in a rule (by name in
/// security groups, by number in network ACLs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    fn matches(self, protocol: &str) -> bool {
        match self {
            Transport::Tcp => matches!(protocol, "tcp" | "6"),
            Transport::Udp => matches!(protocol, "udp" | "17"),
        }
    }
}

/// Whether a rule of `protocol` over `from..=to` admits one of
/// `transports` to `port`; no port range on a transport means every port.
pub fn admits_port(
    protocol: &str,
    from: Option<i32>,
    to: Option<i32>,
    transports: &[Transport],
    port: i32,
) -> bool {
    let protocol = protocol.trim().to_ascii_lowercase();
    if matches!(protocol.as_str(), "-1" | "all") {
        return true;
    }
    if !transports.iter().any(|t| t.matches(&protocol)) {
        return false;
    }
    match (from, to) {
        (Some(from), Some(to)) => from <= port && port <= to,
        (None, None) => true,
        (Some(p), None) | (None, Some(p)) => p == port,
    }
}

/// Instance metadata service settings, as EC2 reports them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataOptions {
    /// `required` (IMDSv2 only) or `optional`; `None` when not set (a launch
    /// template then defers to the account's default).
    pub http_tokens: Option<String>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
    pub http_put_response_hop_limit: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ec2Instance {
    pub id: String,
    pub arn: String,
    pub region: String,
    pub state: Option<String>,
    pub vpc_id: Option<String>,
    pub metadata_options: MetadataOptions,
    /// The instance profile it runs with (the role its applications get
    /// credentials from); `None` when it has none.
    #[serde(default)]
    pub iam_instance_profile_arn: Option<String>,
}

/// A launch template with the versions that matter for what gets launched:
/// the default (used when no version is named) and the latest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: Option<String>,
    pub arn: String,
    pub region: String,
    pub versions: Vec<LaunchTemplateVersion>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplateVersion {
    pub number: i64,
    pub is_default: bool,
    pub is_latest: bool,
    /// `None` when the version sets no metadata options at all.
    pub metadata_options: Option<MetadataOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub arn: String,
    pub region: String,
    pub is_default: bool,
    pub cidr_block: Option<String>,
    pub flow_logs: Vec<FlowLog>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowLog {
    pub id: String,
    /// `ACTIVE` when delivering.
    pub status: Option<String>,
    /// `ALL`, `ACCEPT` or `REJECT`.
    pub traffic_type: Option<String>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    pub destination_type: Option<String>,
    /// The log group name (CloudWatch Logs) or the destination ARN.
    pub destination: Option<String>,
    /// How long the destination keeps what the flow log delivers.
    #[serde(default)]
    pub destination_retention: DestinationRetention,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DestinationRetention {
    /// A log group without a retention setting, or a bucket with no
    /// expiring lifecycle rule.
    NeverExpires,
    /// The shortest expiry that can apply: `retentionInDays`, or the
    /// smallest expiration of an enabled lifecycle rule.
    Days {
        days: i32,
    },
    /// The destination no longer exists.
    Missing,
    /// Could not be read (or a destination type not examined).
    #[default]
    Unknown,
    Unreadable {
        error: String,
    },
}

/// A CloudWatch Logs log group. `written_by` records what delivers to it
/// (flow logs, an EKS control plane), which decides whether retention is
/// in scope for `logs.retention`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    pub arn: String,
    pub region: String,
    /// `None`: never expire.
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    pub written_by: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EksCluster {
    pub name: String,
    pub arn: String,
    pub region: String,
    pub version: Option<String>,
    pub endpoint_public_access: bool,
    pub endpoint_private_access: bool,
    pub public_access_cidrs: Vec<String>,
    /// Control-plane log types enabled: api, audit, authenticator, …
    pub enabled_log_types: Vec<String>,
    /// Who may reach the Kubernetes API: DescribeCluster `accessConfig`
    /// and, when the cluster authenticates with access entries, those
    /// entries. `None` when EKS reported no access config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<EksAccess>,
}

/// A cluster's access configuration and access entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EksAccess {
    /// `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`.
    pub authentication_mode: Option<String>,
    /// Whether EKS made the principal that created the cluster a cluster
    /// admin at creation: an access entry with AmazonEKSClusterAdminPolicy
    /// (API modes), or an invisible `system:masters` binding (CONFIG_MAP).
    pub bootstrap_cluster_creator_admin_permissions: Option<bool>,
    /// When the cluster was created (RFC 3339): the bootstrap entry's
    /// policy is associated then.
    pub cluster_created_at: Option<String>,
    /// Every access entry with its associated access policies, by principal;
    /// `None` when the mode has none (CONFIG_MAP) or they could not be read.
    pub entries: Option<Vec<EksAccessEntry>>,
    /// Why the entries could not be read (ListAccessEntries or
    /// ListAssociatedAccessPolicies refused or failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries_unreadable: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EksAccessEntry {
    pub principal_arn: String,
    pub policies: Vec<EksAccessPolicy>,
}

/// An EKS access policy associated with an access entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EksAccessPolicy {
    pub policy_arn: String,
    /// `cluster`, or `namespace` with the namespaces it is limited to.
    pub scope: Option<String>,
    pub namespaces: Vec<String>,
    /// When it was associated (RFC 3339).
    pub associated_at: Option<String>,
}

/// An EKS managed node group and what its nodes launch with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EksNodegroup {
    pub name: String,
    pub cluster: String,
    pub arn: String,
    pub region: String,
    pub status: Option<String>,
    /// `None` when the node group names no launch template of its own: EKS
    /// then launches nodes from a template it generates and manages.
    pub launch_template: Option<NodegroupLaunchTemplate>,
}

/// The customer launch template a node group names, resolved to the version
/// its nodes are launched from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodegroupLaunchTemplate {
    pub id: Option<String>,
    pub name: Option<String>,
    /// The version as the node group names it (a number, or none for the
    /// template's default version).
    pub requested_version: Option<String>,
    /// The version number that was looked up; `None` when the template or
    /// version no longer exists.
    pub resolved_version: Option<i64>,
    /// `None` when the resolved version sets no metadata options.
    pub metadata_options: Option<MetadataOptions>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EcrRepository {
    pub name: String,
    pub arn: String,
    pub region: String,
    /// The lifecycle policy as parsed JSON (or verbatim text when not JSON);
    /// `None` when the repository has none.
    pub lifecycle_policy: Option<serde_json::Value>,
}

/// The account itself, with the settings AWS keeps once per account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub arn: String,
    /// The multi-region trails that record this account's events (its own
    /// and organization trails), read in each trail's home region.
    pub multi_region_trails: Vec<MultiRegionTrail>,
    /// S3 Block Public Access for the whole account (S3 Control).
    pub s3_public_access_block: AccountPublicAccessBlock,
}

/// A multi-region trail and what it records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MultiRegionTrail {
    pub arn: String,
    pub name: String,
    pub home_region: String,
    pub organization_trail: bool,
    /// `None` when GetTrailStatus failed (see `error`).
    pub is_logging: Option<bool>,
    /// Its event selectors; `None` when GetEventSelectors failed.
    pub event_selectors: Option<EventSelectors>,
    /// Why the status or selectors of a trail another account owns (an
    /// organization trail seen from a member) could not be read.
    pub error: Option<String>,
    /// The CloudWatch Logs group the trail delivers to.
    #[serde(default)]
    pub log_group_arn: Option<String>,
    /// What watches that log group; `None` when the trail delivers to none.
    #[serde(default)]
    pub log_monitoring: Option<LogMonitoring>,
}

/// The metric filters of a trail's log group, each with the alarms on its
/// metrics and the SNS topics those alarms notify: what CIS section 4 reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogMonitoring {
    pub log_group_name: String,
    pub region: String,
    /// `None` when they could not be read (see `error`).
    pub metric_filters: Option<Vec<MetricFilter>>,
    /// What could not be read: the filters, the alarms or a topic's
    /// subscriptions.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricFilter {
    pub name: String,
    pub pattern: String,
    /// The metrics it publishes to.
    pub metrics: Vec<FilterMetric>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilterMetric {
    pub namespace: String,
    pub name: String,
    /// The dimension names it publishes with: an alarm receives the metric
    /// only with the same dimensions.
    pub dimensions: Vec<String>,
    /// The metric alarms that read this metric (directly or in metric
    /// math); `None` when DescribeAlarms failed.
    pub alarms: Option<Vec<MetricAlarm>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricAlarm {
    pub name: String,
    pub arn: String,
    /// Whether its actions run on a state change at all.
    pub actions_enabled: bool,
    /// The SNS topics among its ALARM-state actions.
    pub topics: Vec<AlarmTopic>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmTopic {
    pub arn: String,
    /// Subscriptions that are confirmed (not `PendingConfirmation`);
    /// `None` when ListSubscriptionsByTopic failed.
    pub confirmed_subscriptions: Option<u32>,
}

/// A trail's event selectors as CloudTrail returns them: classic or
/// advanced (AWS keeps one kind at a time).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSelectors {
    pub classic: Vec<ClassicSelector>,
    pub advanced: Vec<AdvancedSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassicSelector {
    /// `All`, `ReadOnly` or `WriteOnly`; `None` means the default, `All`.
    pub read_write_type: Option<String>,
    /// `None` means the default, true.
    pub include_management_events: Option<bool>,
    pub exclude_management_event_sources: Vec<String>,
    /// The data events it records: resource types and ARN prefixes
    /// (`AWS::S3::Object` with `arn:aws:s3` is every object of every bucket).
    #[serde(default)]
    pub data_resources: Vec<DataResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataResource {
    pub resource_type: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvancedSelector {
    pub name: Option<String>,
    pub field_selectors: Vec<FieldSelector>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldSelector {
    pub field: String,
    pub equals: Vec<String>,
    pub not_equals: Vec<String>,
    pub starts_with: Vec<String>,
    pub not_starts_with: Vec<String>,
    pub ends_with: Vec<String>,
    pub not_ends_with: Vec<String>,
}

/// A CloudTrail trail, in its home region, with the bucket it delivers to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub organization_trail: bool,
    pub log_file_validation: bool,
    pub kms_key_id: Option<String>,
    pub cloudwatch_logs_log_group_arn: Option<String>,
    pub status: TrailStatus,
    pub bucket: TrailBucket,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailStatus {
    pub is_logging: bool,
    /// The last delivery to CloudWatch Logs, bucketed so that the record
    /// changes when the state does, not at every delivery.
    pub cloudwatch_delivery: CloudWatchDelivery,
    pub cloudwatch_delivery_error: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudWatchDelivery {
    /// No delivery recorded.
    #[default]
    Never,
    WithinLastDay,
    OlderThanADay,
}

/// The trail's log bucket as far as its exposure and logging go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailBucket {
    pub name: String,
    pub state: TrailBucketState,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrailBucketState {
    Read {
        /// ACL grants to everyone or to any authenticated AWS user.
        public_acl_grants: Vec<String>,
        policy: Option<serde_json::Value>,
        public_access_block: Option<PublicAccessBlock>,
        account_public_access_block: AccountPublicAccessBlock,
        logging: Option<AccessLogging>,
    },
    /// In another account, gone, or refused to these credentials.
    Unreadable { error: String },
    #[default]
    Unknown,
}

/// The account in one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountRegion {
    pub account_id: String,
    pub region: String,
    /// As DescribeRegions reports it: `opt-in-not-required`, `opted-in` or
    /// `not-opted-in`.
    pub opt_in_status: String,
    /// Whether the account can use the region; the settings below are
    /// only read where it can.
    pub enabled: bool,
    /// Each setting is read on its own: one that could not be read leaves
    /// the others decided.
    pub ebs_encryption_by_default: RegionSetting<bool>,
    /// The AWS Config configuration recorders, with their status.
    pub config_recorders: RegionSetting<Vec<ConfigRecorder>>,
    /// The GuardDuty detectors (AWS allows one per account and region).
    pub guardduty_detectors: RegionSetting<Vec<GuardDutyDetector>>,
    /// The Security Hub hub; `None` when the account is not subscribed.
    pub security_hub: RegionSetting<Option<SecurityHub>>,
    /// The IAM Access Analyzer analyzers of every kind.
    pub access_analyzers: RegionSetting<Vec<AccessAnalyzer>>,
}

/// The per-region account resource's ARN: the account's, qualified by the
/// region.
pub fn account_region_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:account:{region}:{account_id}:account")
}

/// The account resource's ARN (the AWS Account Management form).
pub fn account_arn(partition: &str, account_id: &str) -> String {
    format!("arn:{partition}:account::{account_id}:account")
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

/// A KMS key of one region, as DescribeKey (and, where AWS can rotate it,
/// GetKeyRotationStatus) reports it. The enumerations are AWS's own names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmsKey {
    pub key_id: String,
    pub arn: String,
    pub region: String,
    /// `CUSTOMER` or `AWS` (AWS managed keys rotate every year, always).
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `HMAC_256`, …
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`, `KEY_AGREEMENT`.
    pub usage: String,
    /// Where the key material lives: `AWS_KMS`, `EXTERNAL` (imported),
    /// `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingReplicaDeletion`,
    /// `PendingImport`, `Unavailable`, `Creating`, `Updating`.
    pub state: String,
    /// When a key pending deletion will be deleted (RFC 3339).
    pub deletion_date: Option<String>,
    /// `PRIMARY` or `REPLICA` for a multi-Region key.
    pub multi_region: Option<String>,
    pub rotation: KeyRotation,
}

impl KmsKey {
    /// Whether AWS can rotate this key automatically and its owner decides
    /// whether it does: a customer managed symmetric encryption key
    /// (`SYMMETRIC_DEFAULT` keys only encrypt and decrypt) whose material KMS
    /// generated (not imported, not in a custom key store), not on its way
    /// out. AWS managed keys always rotate. Only what DescribeKey states
    /// rules a key out: a field it left empty does not.
    pub fn has_optional_rotation(&self) -> bool {
        self.manager != "AWS"
            && matches!(self.spec.as_str(), "SYMMETRIC_DEFAULT" | "")
            && matches!(self.origin.as_str(), "AWS_KMS" | "")
            && !self.is_pending_deletion()
    }

    pub fn is_pending_deletion(&self) -> bool {
        matches!(
            self.state.as_str(),
            "PendingDeletion" | "PendingReplicaDeletion"
        )
    }
}

/// A key's automatic rotation, as GetKeyRotationStatus answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum KeyRotation {
    /// Not asked: the key's rotation is not its owner's choice
    /// ([`KmsKey::has_optional_rotation`] is false).
    NotApplicable,
    Enabled {
        period_days: Option<i32>,
    },
    Disabled,
    /// The call failed (a key policy that does not grant the scanner
    /// `kms:GetKeyRotationStatus` is common).
    Unreadable {
        reason: String,
    },
}

/// An EBS volume of one region, as far as encryption at rest goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EbsVolume {
    pub volume_id: String,
    pub arn: String,
    pub region: String,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// `creating`, `available`, `in-use`, `deleting`, `deleted`, `error`.
    pub state: String,
    /// The instances it is attached to, sorted.
    pub attached_to: Vec<String>,
}

/// An EFS file system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EfsFileSystem {
    pub file_system_id: String,
    pub arn: String,
    pub region: String,
    /// Its `Name` tag.
    pub name: Option<String>,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// `creating`, `available`, `updating`, `deleting`, `error`.
    pub life_cycle_state: String,
}

/// An EBS snapshot the account owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EbsSnapshot {
    pub snapshot_id: String,
    pub arn: String,
    pub region: String,
    pub volume_id: Option<String>,
    pub encrypted: bool,
    pub sharing: Sharing,
}

/// Who besides its owner may use a snapshot or an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Sharing {
    /// Shared with nobody, or only with the accounts listed (sorted).
    #[default]
    Private,
    Accounts {
        account_ids: Vec<String>,
    },
    /// Everyone may use it (the `all` group).
    Public,
    /// Its permissions could not be read.
    Unreadable {
        error: String,
    },
}

/// An AMI the account owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineImage {
    pub image_id: String,
    pub arn: String,
    pub region: String,
    pub name: Option<String>,
    pub state: String,
    /// DescribeImages' `Public`: launch permission for everyone.
    pub public: bool,
}

/// A manual RDS DB snapshot or DB cluster snapshot the account owns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RdsSnapshot {
    pub identifier: String,
    pub arn: String,
    pub region: String,
    /// The instance or cluster it was taken from.
    pub source: Option<String>,
    pub encrypted: bool,
    pub sharing: Sharing,
}

// ---- Network: security groups and network ACLs (collector `network`) ----

/// A VPC security group with its rules in both directions, each list
/// sorted canonically (EC2 returns them in no defined order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ec2SecurityGroup {
    pub id: String,
    pub arn: String,
    pub region: String,
    pub name: String,
    pub vpc_id: Option<String>,
    /// A VPC's default group (the one named `default`).
    pub is_default: bool,
    pub ingress: Vec<IngressRule>,
    /// Destinations in `cidrs`, `source_groups` and `prefix_lists`.
    pub egress: Vec<IngressRule>,
}

/// A network ACL, its entries sorted by direction then rule number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub arn: String,
    pub region: String,
    pub vpc_id: Option<String>,
    /// The VPC's default network ACL.
    pub is_default: bool,
    pub entries: Vec<NaclEntry>,
    /// The subnets it is associated with, sorted.
    pub subnet_ids: Vec<String>,
}

/// One network ACL entry (ICMP type and code are not recorded: no control
/// reads them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NaclEntry {
    /// Evaluated in increasing order; 32767 is the catch-all `*` entry.
    pub rule_number: i32,
    pub egress: bool,
    /// A protocol number (`6` TCP, `17` UDP) or `-1` for all.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    /// The IPv4 or IPv6 CIDR the entry matches.
    pub cidr: String,
    /// `allow`, else deny.
    pub allow: bool,
}

// ---- IAM (collector `iam`): the credential report joined with the account
// authorization details. Credential dates are kept to the day: the controls
// judge ages in days, and a finer "last used" would make every sign-in a
// drift event.

/// The account's IAM settings and its root user, read from the home region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamAccount {
    pub account_id: String,
    /// The root user's ARN (`arn:<partition>:iam::<id>:root`).
    pub arn: String,
    /// The credential report's `<root_account>` row; `None` when the
    /// report has none (emulators leave it out).
    pub root: Option<IamCredentials>,
    /// GetAccountSummary `AccountMFAEnabled`: the root user has MFA.
    pub root_mfa_enabled: bool,
    /// GetAccountSummary `AccountAccessKeysPresent`: the root user has keys.
    pub root_access_keys_present: bool,
    /// Serial numbers of virtual MFA devices assigned to the root user.
    pub root_virtual_mfa_devices: Vec<String>,
    /// `None`: the account has no password policy (NoSuchEntity), so IAM's
    /// defaults apply (8 characters, no reuse prevention).
    pub password_policy: Option<IamPasswordPolicy>,
    /// Roles with the AWS managed policy `AWSSupportAccess` attached.
    pub support_roles: Vec<String>,
}

/// GetAccountPasswordPolicy, the fields the controls read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamPasswordPolicy {
    pub minimum_length: i32,
    /// `None`: reuse prevention is not set.
    pub reuse_prevention: Option<i32>,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub max_age_days: Option<i32>,
}

/// One row of the credential report, to the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamCredentials {
    pub created: chrono::NaiveDate,
    /// `None`: no console password (`password_enabled` false; root's is
    /// `not_supported`, and root always has one).
    pub password: Option<IamPassword>,
    pub mfa_active: bool,
    /// The key slots that hold a key (`access_key_N_last_rotated` not `N/A`).
    pub access_keys: Vec<IamAccessKey>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamPassword {
    /// `None`: never used (`no_information`: not since IAM began tracking
    /// in October 2014, or never).
    pub last_used: Option<chrono::NaiveDate>,
    /// `None` where the report does not say (`N/A`, `not_supported`).
    pub last_changed: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamAccessKey {
    /// 1 or 2, the report's column pair.
    pub slot: u8,
    pub active: bool,
    /// When the key was created or last rotated.
    pub last_rotated: chrono::NaiveDate,
    /// `None`: never used (`N/A`).
    pub last_used: Option<chrono::NaiveDate>,
}

/// A policy embedded in a user, group or role, its document decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamInlinePolicy {
    pub name: String,
    /// The policy as JSON; kept verbatim as a string if it is not JSON.
    pub document: serde_json::Value,
}

/// An IAM user: its credential report row and what is attached to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamUser {
    pub name: String,
    pub arn: String,
    /// `None`: the user is not in the credential report (it was created
    /// after the report, which IAM regenerates at most every four hours).
    pub credentials: Option<IamCredentials>,
    /// ARNs of the managed policies attached directly to the user.
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<IamInlinePolicy>,
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamRole {
    pub name: String,
    pub arn: String,
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<IamInlinePolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamGroup {
    pub name: String,
    pub arn: String,
    pub attached_policies: Vec<String>,
    pub inline_policies: Vec<IamInlinePolicy>,
}

/// A customer managed policy with its default version's document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamPolicy {
    pub name: String,
    pub arn: String,
    /// Users, groups and roles it is attached to.
    pub attachment_count: i32,
    pub default_version: String,
    /// The default version as JSON; `None` if IAM did not return it; kept
    /// verbatim as a string if it is not JSON.
    pub document: Option<serde_json::Value>,
}

/// A server certificate stored in IAM (for load balancers, CloudFront).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IamServerCertificate {
    pub name: String,
    pub arn: String,
    /// RFC 3339; `None` if IAM did not say.
    pub expiration: Option<String>,
}

// ---------------------------------------------------------------------------
// Regional detection and recording settings (on `AccountRegion`).

/// One setting of the account in a region, as the collector could read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegionSetting<T> {
    Read {
        value: T,
    },
    /// The call failed (denied, throttled, unreachable): nothing is known.
    Unreadable {
        error: String,
    },
    /// Not asked: the account has not enabled the region.
    #[default]
    NotRead,
}

/// An AWS Config configuration recorder and its recording status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigRecorder {
    pub name: String,
    /// Set on a service-linked recorder: the service it records for.
    pub service_principal: Option<String>,
    /// `recordingGroup.allSupported`.
    pub all_supported: bool,
    /// `recordingGroup.includeGlobalResourceTypes`.
    pub include_global_resource_types: bool,
    /// `recordingGroup.recordingStrategy.useOnly`:
    /// `ALL_SUPPORTED_RESOURCE_TYPES`, `INCLUSION_BY_RESOURCE_TYPES` or
    /// `EXCLUSION_BY_RESOURCE_TYPES`.
    pub recording_strategy: Option<String>,
    /// The types recorded (inclusion) or not recorded (exclusion).
    pub resource_types: Vec<String>,
    pub excluded_resource_types: Vec<String>,
    /// From DescribeConfigurationRecorderStatus; `None` when it has no
    /// status entry for this recorder.
    pub status: Option<ConfigRecorderStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigRecorderStatus {
    pub recording: bool,
    /// `Pending`, `Success` or `Failure` (of the last recording attempt).
    pub last_status: Option<String>,
    pub last_error_code: Option<String>,
}

/// A GuardDuty detector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuardDutyDetector {
    pub id: String,
    /// `ENABLED` or `DISABLED` (suspended).
    pub status: String,
}

/// The Security Hub hub of a subscribed account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityHub {
    pub hub_arn: String,
    pub subscribed_at: Option<String>,
}

/// An IAM Access Analyzer analyzer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessAnalyzer {
    pub arn: String,
    pub name: String,
    /// `ACCOUNT`, `ORGANIZATION` (external access), `*_UNUSED_ACCESS`,
    /// `*_INTERNAL_ACCESS`.
    pub analyzer_type: String,
    /// `ACTIVE`, `CREATING`, `DISABLED` or `FAILED`.
    pub status: String,
    pub status_reason: Option<String>,
}
