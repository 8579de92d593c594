//! CloudWatch Logs, EKS and ECR through the real scan path against moto,
//! with the flow-log → log-group join that `logs.retention` and
//! `vpc.flow_log_retention` depend on.

mod support;

use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use serde_json::json;
use std::collections::BTreeSet;
use support::seed::{
    ecr_repository, eks_cluster, expire, launch_template as node_template, log_group, nodegroup,
    template_data,
};
use support::{Moto, resource_name};

#[tokio::test]
async fn log_retention_eks_exposure_and_ecr_lifecycle() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let logs = moto.logs();
    let ec2 = moto.ec2_in(support::REGION);

    log_group(&logs, "/aws/eks/prod/cluster", Some(90)).await;
    log_group(&logs, "/aws/eks/staging/cluster", None).await;
    log_group(&logs, "/app/web", Some(1)).await;
    log_group(&logs, "vpc-flow", Some(30)).await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .expect("vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    ec2.create_flow_logs()
        .resource_ids(&vpc)
        .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
        .traffic_type(aws_sdk_ec2::types::TrafficType::All)
        .log_group_name("vpc-flow")
        .deliver_logs_permission_arn(format!(
            "arn:aws:iam::{}:role/flow-logs",
            support::ACCOUNT_ID
        ))
        .send()
        .await
        .expect("flow log to CloudWatch Logs");

    let eks = moto.eks();
    eks_cluster(&eks, "open", true, false).await;
    eks_cluster(&eks, "private", false, true).await;

    let ecr = moto.ecr();
    ecr_repository(&ecr, "kept", None).await;
    ecr_repository(&ecr, "short-lived", Some(expire("sinceImagePushed", 30))).await;
    ecr_repository(&ecr, "count-based", Some(expire("imageCountMoreThan", 10))).await;
    ecr_repository(&ecr, "year-plus", Some(expire("sinceImagePushed", 400))).await;

    let config = moto.config(&url, &["ec2", "logs", "eks", "ecr"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    for r in &reports {
        assert_eq!(
            r.status,
            ScanStatus::Ok,
            "{}: {:?}",
            r.scope.collector,
            r.error
        );
    }

    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let results: BTreeSet<(String, String, String)> = findings
        .iter()
        .filter(|f| f.control_id != "vpc.flow_logs" && f.control_id != "ec2.imdsv2")
        .map(|f| {
            let name = f
                .arn
                .rsplit(['/', ':'])
                .next()
                .unwrap_or_default()
                .to_string();
            (name, f.control_id.clone(), f.status.to_string())
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        // Log groups in scope; /app/web is not (no writer, no pattern).
        ("cluster", "logs.retention", "fail"), // /aws/eks/prod/cluster, 90 days
        ("cluster", "logs.retention", "pass"), // /aws/eks/staging/cluster, never expires
        ("vpc-flow", "logs.retention", "fail"), // a flow log writes here, 30 days
        (vpc.as_str(), "vpc.flow_log_retention", "fail"),
        ("open", "eks.endpoint_restricted", "fail"),
        ("open", "eks.control_plane_logs", "fail"),
        ("private", "eks.endpoint_restricted", "pass"),
        ("private", "eks.control_plane_logs", "pass"),
        ("kept", "ecr.image_retention", "pass"),
        ("short-lived", "ecr.image_retention", "fail"),
        ("count-based", "ecr.image_retention", "fail"),
        ("year-plus", "ecr.image_retention", "pass"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(results, expected);

    let find = |suffix: &str, control: &str| {
        findings
            .iter()
            .find(|f| f.arn.ends_with(suffix) && f.control_id == control)
            .unwrap_or_else(|| panic!("{suffix} {control}"))
    };
    assert_eq!(
        find("log-group:vpc-flow", "logs.retention").evidence["in_scope_because"][0],
        json!(format!(
            "VPC flow log {} ({vpc})",
            find(&vpc, "vpc.flow_logs").evidence["flow_logs"][0]["id"]
                .as_str()
                .unwrap_or_default()
        ))
    );
    let retention = find(&vpc, "vpc.flow_log_retention").evidence["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        retention.contains("keeps 30 days in vpc-flow"),
        "{retention}"
    );
    let count = find("repository/count-based", "ecr.image_retention").evidence["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        count.contains("count-based, cannot prove 365 days"),
        "{count}"
    );
}

#[tokio::test]
async fn all_regions_are_discovered_and_scanned() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let sydney = "ap-southeast-2";
    let ecr = moto.account().ecr(sydney);
    ecr_repository(&ecr, "far-away", Some(expire("sinceImagePushed", 7))).await;

    let mut config = moto.config(&url, &["ecr"]);
    config.aws.default_regions = vec!["all".into()];
    assert_eq!(config.validate(), vec![]);
    let reports = scan_once(&config, &store).await.expect("scan");

    let listed = moto
        .ec2_in(support::REGION)
        .describe_regions()
        .send()
        .await
        .expect("regions");
    // Opt-in regions the account has not enabled are not scanned.
    let (enabled, not_opted_in): (Vec<_>, Vec<_>) = listed
        .regions()
        .iter()
        .partition(|r| r.opt_in_status() != Some("not-opted-in"));
    let name = |r: &&aws_sdk_ec2::types::Region| r.region_name().unwrap_or_default().to_string();
    let scanned: BTreeSet<String> = reports.iter().map(|r| r.scope.region.clone()).collect();
    assert_eq!(scanned, enabled.iter().map(name).collect::<BTreeSet<_>>());
    assert!(scanned.len() > 10, "{scanned:?}");
    assert!(!not_opted_in.is_empty(), "moto lists opt-in regions");
    assert!(not_opted_in.iter().map(name).all(|r| !scanned.contains(&r)));
    assert!(reports.iter().all(|r| r.status == ScanStatus::Ok));
    let failing = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].region, sydney);
    assert_eq!(failing[0].status, FindingStatus::Fail);
}

#[tokio::test]
async fn node_groups_are_judged_by_the_launch_template_version_they_launch() {
    use aws_sdk_ec2::types::LaunchTemplateHttpTokensState::{Optional, Required};
    use aws_sdk_eks::types::LaunchTemplateSpecification;

    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let eks = moto.eks();
    eks_cluster(&eks, "prod", false, true).await;

    let strict = node_template(&ec2, "strict-nodes", Required).await;
    let lax = node_template(&ec2, "lax-nodes", Optional).await;
    // Named by id and pinned to version 1.
    nodegroup(
        &eks,
        "prod",
        "pinned-strict",
        Some(
            LaunchTemplateSpecification::builder()
                .id(&strict)
                .version("1")
                .build(),
        ),
    )
    .await;
    // Named by name with no version: the template's default version applies.
    nodegroup(
        &eks,
        "prod",
        "default-lax",
        Some(
            LaunchTemplateSpecification::builder()
                .name("lax-nodes")
                .build(),
        ),
    )
    .await;
    nodegroup(&eks, "prod", "eks-generated", None).await;

    let config = moto.config(&url, &["eks"]);
    let reports = scan_once(&config, &store).await.expect("first scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    let imds = |findings: &[driftwatch::store::FindingRow]| -> BTreeSet<(String, String)> {
        findings
            .iter()
            .filter(|f| f.control_id == "ec2.imdsv2")
            .map(|f| (resource_name(&f.arn), f.status.to_string()))
            .collect()
    };
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert_eq!(
        imds(&findings),
        support::pairs(&[
            ("pinned-strict", "pass"),
            ("default-lax", "fail"),
            ("eks-generated", "fail"),
        ])
    );
    let lax_finding = findings
        .iter()
        .find(|f| resource_name(&f.arn) == "default-lax" && f.control_id == "ec2.imdsv2")
        .expect("default-lax finding");
    let message = lax_finding.evidence["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("lax-nodes version 1: HttpTokens is optional"),
        "{message}"
    );

    // Fix the lax template the way operators do: a new version that
    // requires tokens, made the default.
    ec2.create_launch_template_version()
        .launch_template_id(&lax)
        .launch_template_data(template_data(Required))
        .send()
        .await
        .expect("new template version");
    ec2.modify_launch_template()
        .launch_template_id(&lax)
        .default_version("2")
        .send()
        .await
        .expect("make version 2 the default");

    let reports = scan_once(&config, &store).await.expect("second scan");
    let drift: Vec<_> = reports
        .iter()
        .flat_map(|r| r.drift.iter())
        .filter(|d| d.arn.contains(":nodegroup/"))
        .collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(resource_name(&drift[0].arn), "default-lax");
    let paths: BTreeSet<&str> = drift[0].changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "launch_template.metadata_options.http_tokens",
            "launch_template.resolved_version",
        ])
    );
    let transitions: Vec<_> = reports
        .iter()
        .flat_map(|r| r.transitions.iter())
        .filter(|t| t.control_id == "ec2.imdsv2")
        .map(|t| (resource_name(&t.arn), t.kind))
        .collect();
    assert_eq!(
        transitions,
        vec![(
            "default-lax".to_string(),
            driftwatch::evaluate::lifecycle::TransitionKind::Resolution
        )]
    );
}
