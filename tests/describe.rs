//! `describe` against moto through the real SDK, collector by collector:
//! every resource a full collection returns, described again by its ARN,
//! comes back identical (scope-derived fields aside) and with only the
//! calls that resource needs; a resource deleted since is `Ok(None)`; and a
//! failed call is an error or a failed document, never "deleted".

mod support;

use aws_sdk_ec2::types::{
    FlowLogsResourceType, HttpTokensState, LaunchTemplateHttpTokensState, LogDestinationType,
    TrafficType,
};
use aws_sdk_eks::types::LaunchTemplateSpecification;
use driftwatch::collect::{self, AwsAccount, Collector, Described, GLOBAL_SCOPE};
use driftwatch::config::{AccountConfig, AwsConfig};
use driftwatch::model::{Document, ResourceRecord};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::fault_proxy::{Action, Fault, FaultProxy, Seen};
use support::seed::{self, Db};
use support::{ACCOUNT_ID, Moto, REGION};

const EU: &str = "eu-west-1";

/// The default credentials' account, with every call sent to `endpoint`.
async fn account_at(endpoint: &str) -> AwsAccount {
    let aws = AwsConfig {
        endpoint_url: Some(endpoint.to_string()),
        max_attempts: 2,
        ..AwsConfig::default()
    };
    collect::connect_account(&aws, &AccountConfig::default(), REGION)
        .await
        .expect("connect to the emulator")
}

/// What must agree between a scan and a describe: the record's identity and
/// its document without the fields only a scan of the scope can compute.
fn comparable(
    collector: &Collector,
    record: &ResourceRecord,
) -> (String, String, String, String, Result<Value, String>) {
    let document = record.document.as_ref().map(|document| {
        let mut document = document.to_value();
        if let Some(fields) = document.as_object_mut() {
            for field in collector.scope_derived_fields {
                fields.remove(*field);
            }
        }
        document
    });
    let document = document.map_err(Clone::clone);
    (
        record.arn.clone(),
        record.resource_type.to_string(),
        record.name.clone(),
        record.region.clone(),
        document,
    )
}

/// Collects each of `regions` in full and describes every resource returned
/// by its ARN: each answer must be the scan's record, with the scope-derived
/// fields left empty. Returns the scan's records.
async fn describe_matches_collect(
    collector: &Collector,
    account: &AwsAccount,
    regions: &[&str],
) -> Vec<ResourceRecord> {
    let mut scanned = Vec::new();
    for region in regions {
        let collection = (collector.collect)(account, region, 4).await;
        assert!(
            collection.is_complete(),
            "{} {region}: {:?} {:?} {:?}",
            collector.name,
            collection.listing,
            collection.warnings,
            collection.resources
        );
        scanned.extend(collection.resources);
    }
    let types: BTreeSet<_> = scanned.iter().map(|r| r.resource_type).collect();
    let declared: BTreeSet<_> = collector.resource_types.iter().copied().collect();
    assert_eq!(types, declared, "every resource type was seeded");
    for record in &scanned {
        let described = present(
            (collector.describe)(account, &record.arn).await,
            &record.arn,
        );
        assert_eq!(
            comparable(collector, &described),
            comparable(collector, record),
            "{}",
            record.arn
        );
        for field in collector.scope_derived_fields {
            let document = described.document.as_ref().ok().map(Document::to_value);
            let value = document.as_ref().and_then(|d| d.get(*field));
            assert!(
                value.is_none_or(is_empty),
                "{}: describe leaves {field} empty, got {value:?}",
                record.arn
            );
        }
    }
    scanned
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

fn present(answer: Described, arn: &str) -> ResourceRecord {
    match answer {
        Ok(Some(record)) => record,
        Ok(None) => panic!("{arn} exists, but describe says it does not"),
        Err(error) => panic!("describe {arn}: {error}"),
    }
}

fn record<'a>(records: &'a [ResourceRecord], name: &str) -> &'a ResourceRecord {
    records
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} was collected"))
}

fn document(record: &ResourceRecord) -> Value {
    record
        .document
        .as_ref()
        .unwrap_or_else(|e| panic!("{}: {e}", record.arn))
        .to_value()
}

async fn assert_gone(collector: &Collector, account: &AwsAccount, arn: &str) {
    let answer = (collector.describe)(account, arn).await;
    assert!(matches!(answer, Ok(None)), "{arn} was deleted: {answer:?}");
}

/// The existence question could not be answered: an error naming the ARN
/// and the call that failed.
fn assert_undetermined(answer: Described, arn: &str, call: &str) {
    match answer {
        Err(error) => assert!(
            error.contains(arn) && error.contains(call),
            "{arn}: {error}"
        ),
        Ok(answer) => panic!("{arn}: {call} failed, yet describe answered {answer:?}"),
    }
}

/// The resource exists but one of its describe calls failed: a record
/// whose document is that failure, as a scan records it.
fn assert_failed_document(answer: Described, arn: &str, call: &str) {
    match answer {
        Ok(Some(ResourceRecord {
            document: Err(error),
            ..
        })) => assert!(error.contains(call), "{arn}: {error}"),
        other => panic!("{arn}: {call} failed, yet describe answered {other:?}"),
    }
}

/// The calls one describe made, by operation (REST calls by subresource or
/// path), sorted; the account's own STS check aside.
async fn calls_of(proxy: &FaultProxy, describe: impl Future<Output = Described>) -> Vec<String> {
    let before = proxy.seen().len();
    let answer = describe.await;
    assert!(matches!(answer, Ok(Some(_))), "{answer:?}");
    let mut calls: Vec<String> = proxy.seen()[before..].iter().map(call_name).collect();
    calls.sort();
    calls
}

fn call_name(seen: &Seen) -> String {
    if !seen.operation.is_empty() {
        return format!("{}:{}", seen.service, seen.operation);
    }
    let path = seen.target.split('?').next().unwrap_or_default();
    let query = seen.target.split_once('?').map_or("", |(_, q)| q);
    let subresource = query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .find(|key| !key.is_empty() && *key != "x-id");
    match subresource {
        Some(key) => format!("{}:?{key}", seen.service),
        None => format!("{}:{} {path}", seen.service, seen.method),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    items.sort();
    items
}

#[tokio::test]
async fn s3_buckets_are_described_as_scanned_with_their_region_found() {
    let moto = Moto::start();
    let s3 = moto.s3();
    seed::create_bucket(&s3, "replica").await;
    seed::create_bucket(&s3, "access-logs").await;
    seed::compliant_bucket(&s3, "evidence", "replica", "access-logs").await;
    seed::create_bucket(&s3, "scratch").await;
    moto.s3_in(EU)
        .create_bucket()
        .bucket("eu-archive")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("bucket in eu-west-1");
    moto.s3control()
        .put_public_access_block()
        .account_id(ACCOUNT_ID)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .expect("account public access block");
    let collector = &collect::s3::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[GLOBAL_SCOPE]).await;
    assert_eq!(record(&scanned, "eu-archive").region, EU);
    // What describe cannot know without every other bucket, a scan does.
    assert_eq!(
        document(record(&scanned, "access-logs"))["receives_access_logs_from"],
        json!(["evidence"])
    );
    assert_eq!(
        document(record(&scanned, "evidence"))["account_public_access_block"]["state"],
        json!("set")
    );

    s3.delete_bucket()
        .bucket("scratch")
        .send()
        .await
        .expect("delete");
    assert_gone(collector, &account, "arn:aws:s3:::scratch").await;
    assert_gone(collector, &account, "arn:aws:s3:::never-created").await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let evidence = "arn:aws:s3:::evidence";
    let calls = calls_of(&proxy, (collector.describe)(&via_proxy, evidence)).await;
    // Region, account block, the six configurations, the tags, and the
    // replication destination's region.
    let expected = [
        "s3:?location",
        "s3:?location",
        // S3 Control signs as s3.
        "s3:GET /v20180820/configuration/publicAccessBlock",
        "s3:?policy",
        "s3:?replication",
        "s3:?encryption",
        "s3:?publicAccessBlock",
        "s3:?versioning",
        "s3:?logging",
        "s3:?tagging",
    ];
    assert_eq!(calls, strings(&expected));

    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("s3")
            .target_contains("?policy"),
    );
    assert_failed_document(
        (collector.describe)(&via_proxy, evidence).await,
        evidence,
        "GetBucketPolicy",
    );
    proxy.clear();
    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("s3")
            .target_contains("?location"),
    );
    assert_undetermined(
        (collector.describe)(&via_proxy, evidence).await,
        evidence,
        "GetBucketLocation",
    );
}

async fn aurora_cluster(rds: &aws_sdk_rds::Client, id: &str, members: &[(&str, &str)]) {
    rds.create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .storage_encrypted(true)
        .backup_retention_period(7)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create cluster {id}: {e:?}"));
    for (member, zone) in members {
        rds.create_db_instance()
            .db_instance_identifier(*member)
            .db_cluster_identifier(id)
            .db_instance_class("db.r6g.large")
            .engine("aurora-postgresql")
            .availability_zone(*zone)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create cluster member {member}: {e:?}"));
    }
}

#[tokio::test]
async fn rds_instances_and_clusters_are_described_as_scanned() {
    let moto = Moto::start();
    let rds = moto.rds_in(REGION);
    let ec2 = moto.ec2_in(REGION);
    let internal = seed::security_group(&ec2, "db-internal", 5432, "10.0.0.0/8").await;
    let open = seed::security_group(&ec2, "db-open", 5432, "0.0.0.0/0").await;
    let db = |id, group| Db {
        id,
        multi_az: false,
        public: false,
        encrypted: false,
        retention: 1,
        group,
    };
    seed::db_instance(
        &rds,
        Db {
            multi_az: true,
            encrypted: true,
            retention: 14,
            ..db("ledger-db", Some(&internal))
        },
    )
    .await;
    seed::db_instance(
        &rds,
        Db {
            public: true,
            ..db("scratch-db", Some(&open))
        },
    )
    .await;
    aurora_cluster(
        &rds,
        "orders",
        &[("orders-1", "us-east-1a"), ("orders-2", "us-east-1b")],
    )
    .await;
    aurora_cluster(&rds, "empty", &[]).await;
    let collector = &collect::rds::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[REGION]).await;
    let members = &document(record(&scanned, "orders"))["members"];
    assert_eq!(members[0]["availability_zone"], json!("us-east-1a"));
    assert_eq!(members[1]["availability_zone"], json!("us-east-1b"));
    assert_eq!(
        document(record(&scanned, "scratch-db"))["security_groups"][0]["ingress"][0]["cidrs"],
        json!(["0.0.0.0/0"])
    );

    let arn = |kind: &str, id: &str| format!("arn:aws:rds:{REGION}:{ACCOUNT_ID}:{kind}:{id}");
    rds.delete_db_instance()
        .db_instance_identifier("scratch-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete instance");
    rds.delete_db_cluster()
        .db_cluster_identifier("empty")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete cluster");
    assert_gone(collector, &account, &arn("db", "scratch-db")).await;
    assert_gone(collector, &account, &arn("cluster", "empty")).await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let (ledger, orders) = (arn("db", "ledger-db"), arn("cluster", "orders"));
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &ledger)).await,
        strings(&["rds:DescribeDBInstances", "ec2:DescribeSecurityGroups"])
    );
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &orders)).await,
        strings(&["rds:DescribeDBClusters", "rds:DescribeDBInstances"])
    );

    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("ec2")
            .operation("DescribeSecurityGroups"),
    );
    assert_failed_document(
        (collector.describe)(&via_proxy, &ledger).await,
        &ledger,
        "DescribeSecurityGroups",
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeDBInstances"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &ledger).await,
        &ledger,
        "DescribeDBInstances",
    );
    // The cluster exists; where its members run is unknown.
    assert_failed_document(
        (collector.describe)(&via_proxy, &orders).await,
        &orders,
        "DescribeDBInstances",
    );
}

async fn flow_log_to_bucket(ec2: &aws_sdk_ec2::Client, vpc: &str, destination: &str) {
    ec2.create_flow_logs()
        .resource_ids(vpc)
        .resource_type(FlowLogsResourceType::Vpc)
        .traffic_type(TrafficType::Reject)
        .log_destination_type(LogDestinationType::S3)
        .log_destination(destination)
        .send()
        .await
        .expect("flow log to S3");
}

async fn expire_after(s3: &aws_sdk_s3::Client, bucket: &str, days: i32) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .id("expire")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(days).build())
        .build()
        .expect("lifecycle rule");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .expect("lifecycle"),
        )
        .send()
        .await
        .expect("put lifecycle");
}

#[tokio::test]
async fn ec2_instances_templates_and_vpcs_are_described_as_scanned() {
    let moto = Moto::start();
    let ec2 = moto.ec2_in(REGION);
    let logs = moto.logs();
    let s3 = moto.s3();
    seed::log_group(&logs, "flow-kept", Some(400)).await;
    // Shares the prefix: a lookup by name must take the exact group.
    seed::log_group(&logs, "flow-kept-archive", Some(1)).await;
    let kept = seed::vpc(&ec2, "10.10.0.0/16").await;
    seed::flow_log_to_group(&ec2, &kept, "flow-kept").await;
    let orphaned = seed::vpc(&ec2, "10.11.0.0/16").await;
    seed::flow_log_to_group(&ec2, &orphaned, "flow-never-created").await;
    seed::create_bucket(&s3, "flow-archive").await;
    expire_after(&s3, "flow-archive", 30).await;
    let archived = seed::vpc(&ec2, "10.12.0.0/16").await;
    flow_log_to_bucket(&ec2, &archived, "arn:aws:s3:::flow-archive").await;
    let unlogged = seed::vpc(&ec2, "10.13.0.0/16").await;

    let image = seed::any_image(&ec2).await;
    let v2 = seed::instance(&ec2, &image, HttpTokensState::Required).await;
    let v1 = seed::instance(&ec2, &image, HttpTokensState::Optional).await;
    let strict =
        seed::launch_template(&ec2, "strict", LaunchTemplateHttpTokensState::Required).await;
    let lax = seed::launch_template(&ec2, "lax", LaunchTemplateHttpTokensState::Optional).await;
    seed::new_default_version(&ec2, &lax, LaunchTemplateHttpTokensState::Required).await;
    // A latest version that is not the default.
    ec2.create_launch_template_version()
        .launch_template_id(&lax)
        .launch_template_data(seed::template_data(LaunchTemplateHttpTokensState::Optional))
        .send()
        .await
        .expect("new latest version");
    let collector = &collect::ec2::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[REGION]).await;
    let retention = |vpc: &str| {
        document(record(&scanned, vpc))["flow_logs"][0]["destination_retention"].clone()
    };
    assert_eq!(retention(&kept), json!({"kind": "days", "days": 400}));
    assert_eq!(retention(&orphaned), json!({"kind": "missing"}));
    assert_eq!(retention(&archived), json!({"kind": "days", "days": 30}));
    let versions = &document(record(&scanned, "lax"))["versions"];
    assert_eq!(versions.as_array().map(Vec::len), Some(2), "{versions}");

    let arn = |kind: &str, id: &str| format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:{kind}/{id}");
    ec2.terminate_instances()
        .instance_ids(&v1)
        .send()
        .await
        .expect("terminate");
    ec2.delete_vpc()
        .vpc_id(&unlogged)
        .send()
        .await
        .expect("delete VPC");
    ec2.delete_launch_template()
        .launch_template_id(&strict)
        .send()
        .await
        .expect("delete template");
    // A terminated instance runs nothing: a scan no longer lists it either.
    assert_gone(collector, &account, &arn("instance", &v1)).await;
    assert_gone(collector, &account, &arn("vpc", &unlogged)).await;
    assert_gone(collector, &account, &arn("launch-template", &strict)).await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let (instance, template) = (arn("instance", &v2), arn("launch-template", &lax));
    let (kept_vpc, archived_vpc) = (arn("vpc", &kept), arn("vpc", &archived));
    let describe = |arn| (collector.describe)(&via_proxy, arn);
    assert_eq!(
        calls_of(&proxy, describe(&instance)).await,
        strings(&["ec2:DescribeInstances"])
    );
    assert_eq!(
        calls_of(&proxy, describe(&template)).await,
        strings(&[
            "ec2:DescribeLaunchTemplates",
            "ec2:DescribeLaunchTemplateVersions"
        ])
    );
    assert_eq!(
        calls_of(&proxy, describe(&kept_vpc)).await,
        strings(&[
            "ec2:DescribeVpcs",
            "ec2:DescribeFlowLogs",
            "logs:DescribeLogGroups"
        ])
    );
    assert_eq!(
        calls_of(&proxy, describe(&archived_vpc)).await,
        strings(&["ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "s3:?lifecycle"])
    );

    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeFlowLogs"));
    assert_failed_document(describe(&kept_vpc).await, &kept_vpc, "DescribeFlowLogs");
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeLaunchTemplateVersions"));
    assert_failed_document(
        describe(&template).await,
        &template,
        "DescribeLaunchTemplateVersions",
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeInstances"));
    assert_undetermined(describe(&instance).await, &instance, "DescribeInstances");
}

#[tokio::test]
async fn log_groups_are_described_as_scanned_with_their_writers() {
    let moto = Moto::start();
    let logs = moto.logs();
    let ec2 = moto.ec2_in(REGION);
    seed::log_group(&logs, "/aws/eks/prod/cluster", Some(90)).await;
    seed::log_group(&logs, "/app/web", None).await;
    seed::log_group(&logs, "vpc-flow", Some(30)).await;
    seed::log_group(&logs, "vpc-flow-archive", Some(400)).await;
    for cidr in ["10.1.0.0/16", "10.2.0.0/16"] {
        let vpc = seed::vpc(&ec2, cidr).await;
        seed::flow_log_to_group(&ec2, &vpc, "vpc-flow").await;
    }
    let collector = &collect::logs::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[REGION]).await;
    let written_by = |name: &str| document(record(&scanned, name))["written_by"].clone();
    assert_eq!(written_by("vpc-flow").as_array().map(Vec::len), Some(2));
    assert_eq!(written_by("vpc-flow-archive"), json!([]));

    let arn = |name: &str| format!("arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}");
    // The form DescribeLogGroups itself reports.
    let with_star = present(
        (collector.describe)(&account, &format!("{}:*", arn("vpc-flow"))).await,
        "vpc-flow:*",
    );
    assert_eq!(
        comparable(collector, &with_star),
        comparable(collector, record(&scanned, "vpc-flow"))
    );
    logs.delete_log_group()
        .log_group_name("/app/web")
        .send()
        .await
        .expect("delete");
    assert_gone(collector, &account, &arn("/app/web")).await;
    assert_gone(collector, &account, &arn("vpc-flow-arch")).await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let flow = arn("vpc-flow");
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &flow)).await,
        strings(&["logs:DescribeLogGroups", "ec2:DescribeFlowLogs"])
    );

    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeFlowLogs"));
    assert_failed_document(
        (collector.describe)(&via_proxy, &flow).await,
        &flow,
        "DescribeFlowLogs",
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeLogGroups"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &flow).await,
        &flow,
        "DescribeLogGroups",
    );
}

#[tokio::test]
async fn eks_clusters_and_node_groups_are_described_as_scanned() {
    let moto = Moto::start();
    let eks = moto.eks();
    let ec2 = moto.ec2_in(REGION);
    seed::eks_cluster(&eks, "locked", false, true).await;
    seed::eks_cluster(&eks, "open", true, false).await;
    let strict =
        seed::launch_template(&ec2, "node-strict", LaunchTemplateHttpTokensState::Required).await;
    let by_id = LaunchTemplateSpecification::builder().id(&strict).build();
    seed::nodegroup(&eks, "locked", "strict-nodes", Some(by_id)).await;
    seed::nodegroup(&eks, "locked", "generated-nodes", None).await;
    let by_name = LaunchTemplateSpecification::builder()
        .name("node-strict")
        .version("1")
        .build();
    seed::nodegroup(&eks, "open", "pinned-nodes", Some(by_name.clone())).await;
    let collector = &collect::eks::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[REGION]).await;
    let template = &document(record(&scanned, "locked/strict-nodes"))["launch_template"];
    assert_eq!(template["resolved_version"], json!(1));
    assert_eq!(
        template["metadata_options"]["http_tokens"],
        json!("required")
    );

    // The same name again is another node group, with another ARN.
    let pinned = record(&scanned, "open/pinned-nodes").arn.clone();
    eks.delete_nodegroup()
        .cluster_name("open")
        .nodegroup_name("pinned-nodes")
        .send()
        .await
        .expect("delete node group");
    assert_gone(collector, &account, &pinned).await;
    seed::nodegroup(&eks, "open", "pinned-nodes", Some(by_name)).await;
    assert_gone(collector, &account, &pinned).await;
    let generated = record(&scanned, "locked/generated-nodes").arn.clone();
    eks.delete_nodegroup()
        .cluster_name("locked")
        .nodegroup_name("generated-nodes")
        .send()
        .await
        .expect("delete node group");
    assert_gone(collector, &account, &generated).await;
    assert_gone(
        collector,
        &account,
        &format!("arn:aws:eks:{REGION}:{ACCOUNT_ID}:cluster/never-created"),
    )
    .await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let locked = record(&scanned, "locked").arn.clone();
    let nodes = record(&scanned, "locked/strict-nodes").arn.clone();
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &locked)).await,
        strings(&["eks:GET /clusters/locked"])
    );
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &nodes)).await,
        strings(&[
            "eks:GET /clusters/locked/node-groups/strict-nodes",
            "ec2:DescribeLaunchTemplateVersions"
        ])
    );

    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeLaunchTemplateVersions"));
    assert_failed_document(
        (collector.describe)(&via_proxy, &nodes).await,
        &nodes,
        "DescribeLaunchTemplateVersions",
    );
    proxy.clear();
    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("eks")
            .target_contains("/clusters/locked"),
    );
    assert_undetermined(
        (collector.describe)(&via_proxy, &locked).await,
        &locked,
        "DescribeCluster",
    );
    assert_undetermined(
        (collector.describe)(&via_proxy, &nodes).await,
        &nodes,
        "DescribeNodegroup",
    );
}

#[tokio::test]
async fn ecr_repositories_are_described_as_scanned_in_their_region() {
    let moto = Moto::start();
    let ecr = moto.ecr();
    seed::ecr_repository(&ecr, "kept", None).await;
    seed::ecr_repository(
        &ecr,
        "short-lived",
        Some(seed::expire("sinceImagePushed", 30)),
    )
    .await;
    seed::ecr_repository(
        &ecr,
        "team/service",
        Some(seed::expire("imageCountMoreThan", 10)),
    )
    .await;
    seed::ecr_repository(
        &moto.account().ecr(EU),
        "far-away",
        Some(seed::expire("sinceImagePushed", 400)),
    )
    .await;
    let collector = &collect::ecr::COLLECTOR;
    let account = account_at(&moto.endpoint).await;

    let scanned = describe_matches_collect(collector, &account, &[REGION, EU]).await;
    assert_eq!(record(&scanned, "far-away").region, EU);
    assert_eq!(
        document(record(&scanned, "team/service"))["lifecycle_policy"]["rules"][0]["selection"]["countType"],
        json!("imageCountMoreThan")
    );

    let arn = |name: &str| format!("arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/{name}");
    ecr.delete_repository()
        .repository_name("kept")
        .send()
        .await
        .expect("delete");
    assert_gone(collector, &account, &arn("kept")).await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let service = arn("team/service");
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &service)).await,
        strings(&["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy"])
    );
    proxy.inject(Fault::new(Action::AccessDenied).operation("GetLifecyclePolicy"));
    assert_failed_document(
        (collector.describe)(&via_proxy, &service).await,
        &service,
        "GetLifecyclePolicy",
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeRepositories"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &service).await,
        &service,
        "DescribeRepositories",
    );
}

#[tokio::test]
async fn the_account_its_regions_and_its_trails_are_described_as_scanned() {
    let moto = Moto::start();
    let s3 = moto.s3();
    seed::create_bucket(&s3, "trail-logs").await;
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&moto.sdk_config());
    cloudtrail
        .create_trail()
        .name("audit")
        .s3_bucket_name("trail-logs")
        .is_multi_region_trail(true)
        .send()
        .await
        .expect("trail");
    cloudtrail
        .start_logging()
        .name("audit")
        .send()
        .await
        .expect("start logging");
    // The region's record carries its detection settings too.
    aws_sdk_guardduty::Client::new(&moto.sdk_config())
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("detector");
    let account = account_at(&moto.endpoint).await;
    for (name, scope) in [
        ("account", GLOBAL_SCOPE),
        ("account_region", REGION),
        ("cloudtrail", REGION),
    ] {
        let collector = collect::collector(name).expect("registered");
        describe_matches_collect(collector, &account, &[scope]).await;
    }
    let trails = collect::collector("cloudtrail").expect("registered");
    let arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT_ID}:trail/audit");
    cloudtrail
        .delete_trail()
        .name("audit")
        .send()
        .await
        .expect("delete trail");
    assert_gone(trails, &account, &arn).await;
}

#[tokio::test]
async fn kms_keys_are_described_as_scanned() {
    let moto = Moto::start();
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config());
    let symmetric = kms.create_key().send().await.expect("key");
    let symmetric = symmetric
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .expect("id");
    kms.create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("signing key");
    let collector = &collect::kms::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    describe_matches_collect(collector, &account, &[REGION]).await;

    let arn = |id: &str| format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{id}");
    assert_gone(
        collector,
        &account,
        &arn("00000000-0000-4000-8000-000000000000"),
    )
    .await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let key = arn(&symmetric);
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &key)).await,
        strings(&["kms:DescribeKey", "kms:GetKeyRotationStatus"])
    );
    // A key policy that does not let the scanner read rotation is common:
    // the key is recorded, its rotation unreadable (the control: unknown).
    proxy.inject(Fault::new(Action::AccessDenied).operation("GetKeyRotationStatus"));
    let described = present((collector.describe)(&via_proxy, &key).await, &key);
    assert_eq!(
        document(&described)["rotation"]["status"],
        json!("unreadable")
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeKey"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &key).await,
        &key,
        "DescribeKey",
    );
}

#[tokio::test]
async fn volumes_snapshots_and_images_are_described_as_scanned() {
    let moto = Moto::start();
    let ec2 = moto.ec2_in(REGION);
    let volume = ec2
        .create_volume()
        .availability_zone(format!("{REGION}a"))
        .size(8)
        .send()
        .await
        .expect("volume");
    let volume = volume.volume_id().expect("volume id").to_string();
    let snapshot = ec2
        .create_snapshot()
        .volume_id(&volume)
        .send()
        .await
        .expect("snapshot");
    let snapshot = snapshot.snapshot_id().expect("snapshot id").to_string();
    let image = seed::any_image(&ec2).await;
    let instance =
        seed::instance(&ec2, &image, aws_sdk_ec2::types::HttpTokensState::Required).await;
    ec2.create_image()
        .instance_id(&instance)
        .name("golden")
        .send()
        .await
        .expect("image");
    let collector = &collect::ebs::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    describe_matches_collect(collector, &account, &[REGION]).await;

    assert_gone(
        collector,
        &account,
        &format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:volume/vol-00000000000000000"),
    )
    .await;
    assert_gone(
        collector,
        &account,
        &format!("arn:aws:ec2:{REGION}::snapshot/snap-00000000000000000"),
    )
    .await;
    // moto ships images owned by others: not this account's to describe.
    assert_gone(
        collector,
        &account,
        &format!("arn:aws:ec2:{REGION}::image/{image}"),
    )
    .await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let snapshot_arn = format!("arn:aws:ec2:{REGION}::snapshot/{snapshot}");
    // Who may restore it could not be confirmed: recorded, the control unknown.
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeSnapshotAttribute"));
    let described = present(
        (collector.describe)(&via_proxy, &snapshot_arn).await,
        &snapshot_arn,
    );
    assert_eq!(
        document(&described)["sharing"]["state"],
        json!("unreadable")
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeSnapshots"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &snapshot_arn).await,
        &snapshot_arn,
        "DescribeSnapshots",
    );
}

#[tokio::test]
async fn rds_snapshots_are_described_as_scanned() {
    let moto = Moto::start();
    let rds = moto.rds_in(REGION);
    seed::db_instance(
        &rds,
        Db {
            id: "ledger",
            multi_az: false,
            public: false,
            encrypted: true,
            retention: 7,
            group: None,
        },
    )
    .await;
    rds.create_db_snapshot()
        .db_instance_identifier("ledger")
        .db_snapshot_identifier("nightly")
        .send()
        .await
        .expect("snapshot");
    aurora_cluster(&rds, "aurora", &[]).await;
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier("aurora")
        .db_cluster_snapshot_identifier("aurora-nightly")
        .send()
        .await
        .expect("cluster snapshot");
    let collector = &collect::rds_snapshots::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    describe_matches_collect(collector, &account, &[REGION]).await;
    assert_gone(
        collector,
        &account,
        &format!("arn:aws:rds:{REGION}:{ACCOUNT_ID}:snapshot:gone"),
    )
    .await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let arn = format!("arn:aws:rds:{REGION}:{ACCOUNT_ID}:snapshot:nightly");
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &arn)).await,
        strings(&[
            "rds:DescribeDBSnapshotAttributes",
            "rds:DescribeDBSnapshots"
        ])
    );
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeDBSnapshotAttributes"));
    let described = present((collector.describe)(&via_proxy, &arn).await, &arn);
    assert_eq!(
        document(&described)["sharing"]["state"],
        json!("unreadable")
    );
}

#[tokio::test]
async fn security_groups_and_network_acls_are_described_as_scanned() {
    let moto = Moto::start();
    let ec2 = moto.ec2_in(REGION);
    let list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("office")
        .address_family("IPv4")
        .max_entries(5)
        .entries(
            aws_sdk_ec2::types::AddPrefixListEntry::builder()
                .cidr("52.10.0.0/16")
                .build(),
        )
        .send()
        .await
        .expect("prefix list")
        .prefix_list()
        .and_then(|p| p.prefix_list_id())
        .expect("a prefix list id")
        .to_string();
    let group = ec2
        .create_security_group()
        .group_name("office-ssh")
        .description("ssh from the office list")
        .send()
        .await
        .expect("group")
        .group_id()
        .expect("a group id")
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .prefix_list_ids(
                    aws_sdk_ec2::types::PrefixListId::builder()
                        .prefix_list_id(&list)
                        .build(),
                )
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.0.0.0/8")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("authorize");
    let collector = &collect::network::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    let scanned = describe_matches_collect(collector, &account, &[REGION]).await;
    let ingress = &document(record(&scanned, &group))["ingress"][0];
    assert_eq!(ingress["prefix_lists"][0]["cidrs"], json!(["52.10.0.0/16"]));

    let arn = |resource: &str| format!("arn:aws:ec2:{REGION}:{ACCOUNT_ID}:{resource}");
    assert_gone(
        collector,
        &account,
        &arn("security-group/sg-00000000000000000"),
    )
    .await;
    // moto answers DescribeNetworkAcls for an unknown id with
    // InvalidRouteTableID.NotFound, not AWS's InvalidNetworkAclID.NotFound:
    // the vanished ACL is not asserted here.

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let group_arn = arn(&format!("security-group/{group}"));
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &group_arn)).await,
        strings(&[
            "ec2:DescribeSecurityGroups",
            "ec2:GetManagedPrefixListEntries"
        ])
    );
    // An unreadable prefix list leaves the group recorded, the list's
    // entries unknown (its exposure controls: unknown).
    proxy.inject(Fault::new(Action::AccessDenied).operation("GetManagedPrefixListEntries"));
    let described = present(
        (collector.describe)(&via_proxy, &group_arn).await,
        &group_arn,
    );
    let unreadable = &document(&described)["ingress"][0]["prefix_lists"][0]["unreadable"];
    assert!(
        unreadable
            .as_str()
            .is_some_and(|r| r.contains("GetManagedPrefixListEntries")),
        "{unreadable}"
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("DescribeSecurityGroups"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &group_arn).await,
        &group_arn,
        "DescribeSecurityGroups",
    );
}

#[tokio::test]
async fn iam_resources_are_described_as_scanned() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("user");
    iam.create_access_key()
        .user_name("alice")
        .send()
        .await
        .expect("key");
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("inline")
        .policy_document(document)
        .send()
        .await
        .expect("inline policy");
    iam.create_group()
        .group_name("readers")
        .send()
        .await
        .expect("group");
    iam.add_user_to_group()
        .group_name("readers")
        .user_name("alice")
        .send()
        .await
        .expect("member");
    iam.create_policy()
        .policy_name("read-objects")
        .policy_document(document)
        .send()
        .await
        .expect("policy");
    iam.create_role()
        .role_name("aws-support")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("role");
    iam.upload_server_certificate()
        .server_certificate_name("web")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----")
        .send()
        .await
        .expect("certificate");
    let collector = &collect::iam::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    let scanned = describe_matches_collect(collector, &account, &[GLOBAL_SCOPE]).await;
    assert_eq!(
        document_of(&scanned, "alice")["inline_policies"][0]["document"]["Statement"][0]["Action"],
        json!("s3:GetObject"),
        "policy documents are URL-decoded"
    );
    let user = format!("arn:aws:iam::{ACCOUNT_ID}:user/alice");
    assert_gone(
        collector,
        &account,
        &format!("arn:aws:iam::{ACCOUNT_ID}:user/nobody"),
    )
    .await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &user)).await,
        strings(&[
            "iam:GenerateCredentialReport",
            "iam:GetAccountAuthorizationDetails",
            "iam:GetCredentialReport",
        ])
    );
    proxy.inject(Fault::new(Action::AccessDenied).operation("GetCredentialReport"));
    assert_failed_document(
        (collector.describe)(&via_proxy, &user).await,
        &user,
        "GetCredentialReport",
    );
    proxy.clear();
    proxy.inject(Fault::new(Action::AccessDenied).operation("GetAccountAuthorizationDetails"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &user).await,
        &user,
        "GetAccountAuthorizationDetails",
    );
}

fn document_of(records: &[ResourceRecord], name: &str) -> Value {
    document(record(records, name))
}

#[tokio::test]
async fn efs_file_systems_are_described_as_scanned() {
    let moto = Moto::start();
    let efs = aws_sdk_efs::Client::new(&moto.sdk_config());
    let shared = efs
        .create_file_system()
        .creation_token("shared")
        .encrypted(true)
        .send()
        .await
        .expect("file system");
    let collector = &collect::efs::COLLECTOR;
    let account = account_at(&moto.endpoint).await;
    describe_matches_collect(collector, &account, &[REGION]).await;

    let arn =
        |id: &str| format!("arn:aws:elasticfilesystem:{REGION}:{ACCOUNT_ID}:file-system/{id}");
    assert_gone(collector, &account, &arn("fs-00000000")).await;

    let proxy = FaultProxy::start(&moto.endpoint).await;
    let via_proxy = account_at(&proxy.endpoint).await;
    let fs = arn(shared.file_system_id());
    assert_eq!(
        calls_of(&proxy, (collector.describe)(&via_proxy, &fs)).await,
        // REST: one GET of /file-systems?FileSystemId=<id>.
        strings(&["elasticfilesystem:?FileSystemId"])
    );
    proxy.inject(Fault::new(Action::AccessDenied).target_contains("/file-systems"));
    assert_undetermined(
        (collector.describe)(&via_proxy, &fs).await,
        &fs,
        "DescribeFileSystems",
    );
}
