//! Puts resources into moto through the real SDK, in a chosen account (the
//! default credentials' or one reached by assuming a role) and region:
//! the shapes every integration test builds, in one place.

use aws_config::SdkConfig;
use aws_sdk_s3::types::{
    BucketLoggingStatus, BucketVersioningStatus, DeleteMarkerReplication,
    DeleteMarkerReplicationStatus, Destination, LoggingEnabled, PublicAccessBlockConfiguration,
    ReplicationConfiguration, ReplicationRule, ReplicationRuleFilter, ReplicationRuleStatus,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};
use serde_json::json;

/// Clients of one account, aimed at any region.
#[derive(Clone)]
pub struct Account {
    pub config: SdkConfig,
}

macro_rules! regional {
    ($name:ident, $krate:ident) => {
        pub fn $name(&self, region: &str) -> $krate::Client {
            $krate::Client::from_conf(
                $krate::config::Builder::from(&self.config)
                    .region($krate::config::Region::new(region.to_string()))
                    .build(),
            )
        }
    };
}

impl Account {
    /// The account `role_arn` lives in: moto files everything done with the
    /// assumed role's credentials under the role's account.
    pub async fn assumed(base: &SdkConfig, role_arn: &str) -> Account {
        let credentials = aws_sdk_sts::Client::new(base)
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("test-seed")
            .send()
            .await
            .expect("assume role")
            .credentials()
            .cloned()
            .expect("credentials");
        let config = base
            .clone()
            .into_builder()
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new(
                    credentials.access_key_id(),
                    credentials.secret_access_key(),
                    Some(credentials.session_token().to_string()),
                    None,
                    "assumed",
                ),
            ))
            .build();
        Account { config }
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .force_path_style(true)
                .build(),
        )
    }

    regional!(ec2, aws_sdk_ec2);
    regional!(rds, aws_sdk_rds);
    regional!(logs, aws_sdk_cloudwatchlogs);
    regional!(eks, aws_sdk_eks);
    regional!(ecr, aws_sdk_ecr);
}

// ---- S3 ----

pub fn tls_policy(bucket: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
    .to_string()
}

pub fn all_blocked() -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build()
}

pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

pub async fn put_policy(s3: &aws_sdk_s3::Client, bucket: &str, policy: &str) {
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .expect("put policy");
}

pub async fn enable_versioning(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    status: BucketVersioningStatus,
) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("put versioning");
}

pub async fn encrypt(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    algorithm: ServerSideEncryption,
    key: Option<&str>,
) {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(algorithm)
        .set_kms_master_key_id(key.map(str::to_string))
        .build()
        .expect("encryption default");
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(default)
                        .build(),
                )
                .build()
                .expect("encryption config"),
        )
        .send()
        .await
        .expect("put encryption");
}

pub async fn block_public_access(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    config: PublicAccessBlockConfiguration,
) {
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(config)
        .send()
        .await
        .expect("put public access block");
}

pub async fn log_to(s3: &aws_sdk_s3::Client, bucket: &str, target: &str) {
    s3.put_bucket_acl()
        .bucket(target)
        .acl(aws_sdk_s3::types::BucketCannedAcl::from(
            "log-delivery-write",
        ))
        .send()
        .await
        .expect("log-delivery ACL on target");
    s3.put_bucket_logging()
        .bucket(bucket)
        .bucket_logging_status(
            BucketLoggingStatus::builder()
                .logging_enabled(
                    LoggingEnabled::builder()
                        .target_bucket(target)
                        .target_prefix(format!("{bucket}/"))
                        .build()
                        .expect("logging"),
                )
                .build(),
        )
        .send()
        .await
        .expect("put logging");
}

/// One replication rule of `prefix` to bucket `destination`.
pub fn replication_rule(
    id: &str,
    priority: i32,
    prefix: &str,
    destination: &str,
    status: ReplicationRuleStatus,
) -> ReplicationRule {
    ReplicationRule::builder()
        .id(id)
        .priority(priority)
        .status(status)
        .filter(ReplicationRuleFilter::builder().prefix(prefix).build())
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::Disabled)
                .build(),
        )
        .destination(
            Destination::builder()
                .bucket(format!("arn:aws:s3:::{destination}"))
                .build()
                .expect("destination"),
        )
        .build()
        .expect("rule")
}

pub async fn replicate(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    destination: &str,
    status: ReplicationRuleStatus,
) {
    let rule = replication_rule("replicate-all", 1, "", destination, status);
    s3.put_bucket_replication()
        .bucket(bucket)
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role(format!(
                    "arn:aws:iam::{}:role/replication",
                    super::ACCOUNT_ID
                ))
                .rules(rule)
                .build()
                .expect("replication"),
        )
        .send()
        .await
        .expect("put replication");
}

/// A bucket passing every S3 control: TLS-only policy, replication to
/// `replica`, KMS encryption, all public access blocked, versioning, access
/// logs to `logs`.
pub async fn compliant_bucket(s3: &aws_sdk_s3::Client, bucket: &str, replica: &str, logs: &str) {
    create_bucket(s3, bucket).await;
    put_policy(s3, bucket, &tls_policy(bucket)).await;
    enable_versioning(s3, bucket, BucketVersioningStatus::Enabled).await;
    encrypt(
        s3,
        bucket,
        ServerSideEncryption::AwsKms,
        Some("alias/audit"),
    )
    .await;
    block_public_access(s3, bucket, all_blocked()).await;
    replicate(s3, bucket, replica, ReplicationRuleStatus::Enabled).await;
    log_to(s3, bucket, logs).await;
}

// ---- EC2 ----

pub async fn vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("create vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string()
}

/// A flow log of all traffic from `vpc` into the CloudWatch log group.
pub async fn flow_log_to_group(ec2: &aws_sdk_ec2::Client, vpc: &str, group: &str) -> String {
    ec2.create_flow_logs()
        .resource_ids(vpc)
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_group_name(group)
        .deliver_logs_permission_arn(format!("arn:aws:iam::{}:role/flow-logs", super::ACCOUNT_ID))
        .send()
        .await
        .expect("flow log to CloudWatch Logs")
        .flow_log_ids()
        .first()
        .cloned()
        .expect("flow log id")
}

pub async fn any_image(ec2: &aws_sdk_ec2::Client) -> String {
    ec2.describe_images()
        .owners("amazon")
        .send()
        .await
        .expect("images")
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("moto ships images")
        .to_string()
}

pub async fn instance(
    ec2: &aws_sdk_ec2::Client,
    image: &str,
    tokens: aws_sdk_ec2::types::HttpTokensState,
) -> String {
    ec2.run_instances()
        .image_id(image)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .metadata_options(
            aws_sdk_ec2::types::InstanceMetadataOptionsRequest::builder()
                .http_tokens(tokens)
                .build(),
        )
        .send()
        .await
        .expect("run instance")
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("instance id")
        .to_string()
}

pub fn template_data(
    tokens: aws_sdk_ec2::types::LaunchTemplateHttpTokensState,
) -> aws_sdk_ec2::types::RequestLaunchTemplateData {
    aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
        .metadata_options(
            aws_sdk_ec2::types::LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(tokens)
                .build(),
        )
        .build()
}

/// A launch template whose only version sets `tokens`; returns its id.
pub async fn launch_template(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    tokens: aws_sdk_ec2::types::LaunchTemplateHttpTokensState,
) -> String {
    ec2.create_launch_template()
        .launch_template_name(name)
        .launch_template_data(template_data(tokens))
        .send()
        .await
        .expect("create launch template")
        .launch_template()
        .and_then(|t| t.launch_template_id())
        .expect("template id")
        .to_string()
}

/// Adds a version setting `tokens` and makes it the default.
pub async fn new_default_version(
    ec2: &aws_sdk_ec2::Client,
    template_id: &str,
    tokens: aws_sdk_ec2::types::LaunchTemplateHttpTokensState,
) {
    let version = ec2
        .create_launch_template_version()
        .launch_template_id(template_id)
        .launch_template_data(template_data(tokens))
        .send()
        .await
        .expect("new template version")
        .launch_template_version()
        .and_then(|v| v.version_number())
        .expect("version number");
    ec2.modify_launch_template()
        .launch_template_id(template_id)
        .default_version(version.to_string())
        .send()
        .await
        .expect("make it the default");
}

// ---- RDS ----

pub struct Db<'a> {
    pub id: &'a str,
    pub multi_az: bool,
    pub public: bool,
    pub encrypted: bool,
    pub retention: i32,
    pub group: Option<&'a str>,
}

pub async fn db_instance(rds: &aws_sdk_rds::Client, db: Db<'_>) {
    rds.create_db_instance()
        .db_instance_identifier(db.id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .multi_az(db.multi_az)
        .publicly_accessible(db.public)
        .storage_encrypted(db.encrypted)
        .backup_retention_period(db.retention)
        .set_vpc_security_group_ids(db.group.map(|g| vec![g.to_string()]))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {}: {e:?}", db.id));
}

/// A security group in the region's default VPC admitting `cidr` on `port`.
pub async fn security_group(
    ec2: &aws_sdk_ec2::Client,
    name: &str,
    port: i32,
    cidr: &str,
) -> String {
    let id = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .send()
        .await
        .expect("create security group")
        .group_id()
        .expect("group id")
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .expect("authorize ingress");
    id
}

// ---- CloudWatch Logs, EKS, ECR ----

pub async fn log_group(logs: &aws_sdk_cloudwatchlogs::Client, name: &str, retention: Option<i32>) {
    logs.create_log_group()
        .log_group_name(name)
        .send()
        .await
        .expect("create log group");
    if let Some(days) = retention {
        set_retention(logs, name, days).await;
    }
}

pub async fn set_retention(logs: &aws_sdk_cloudwatchlogs::Client, name: &str, days: i32) {
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .expect("retention");
}

fn control_plane_logging(enabled: bool) -> aws_sdk_eks::types::Logging {
    use aws_sdk_eks::types::{LogSetup, LogType, Logging};
    Logging::builder()
        .cluster_logging(
            LogSetup::builder()
                .types(LogType::Api)
                .types(LogType::Audit)
                .types(LogType::Authenticator)
                .enabled(enabled)
                .build(),
        )
        .build()
}

pub async fn eks_cluster(eks: &aws_sdk_eks::Client, name: &str, public: bool, logged: bool) {
    let mut request = eks
        .create_cluster()
        .name(name)
        .role_arn(format!("arn:aws:iam::{}:role/eks", super::ACCOUNT_ID))
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .endpoint_public_access(public)
                .endpoint_private_access(true)
                .build(),
        );
    if logged {
        request = request.logging(control_plane_logging(true));
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create cluster {name}: {e:?}"));
}

pub async fn disable_control_plane_logs(eks: &aws_sdk_eks::Client, cluster: &str) {
    eks.update_cluster_config()
        .name(cluster)
        .logging(control_plane_logging(false))
        .send()
        .await
        .expect("update cluster logging");
}

pub async fn nodegroup(
    eks: &aws_sdk_eks::Client,
    cluster: &str,
    name: &str,
    template: Option<aws_sdk_eks::types::LaunchTemplateSpecification>,
) {
    let mut request = eks
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(name)
        .node_role(format!("arn:aws:iam::{}:role/nodes", super::ACCOUNT_ID))
        .subnets("subnet-1");
    if let Some(template) = template {
        request = request.launch_template(template);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create node group {name}: {e:?}"));
}

pub async fn ecr_repository(
    ecr: &aws_sdk_ecr::Client,
    name: &str,
    policy: Option<serde_json::Value>,
) {
    ecr.create_repository()
        .repository_name(name)
        .send()
        .await
        .expect("create repository");
    if let Some(policy) = policy {
        put_lifecycle(ecr, name, policy).await;
    }
}

pub async fn put_lifecycle(ecr: &aws_sdk_ecr::Client, name: &str, policy: serde_json::Value) {
    ecr.put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .expect("lifecycle policy");
}

/// An ECR lifecycle policy expiring images by `count_type` after `n`.
pub fn expire(count_type: &str, n: i64) -> serde_json::Value {
    json!({"rules": [{"rulePriority": 1, "description": "expire",
        "selection": {"tagStatus": "any", "countType": count_type, "countUnit": "days", "countNumber": n},
        "action": {"type": "expire"}}]})
}
