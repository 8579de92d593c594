//! EC2 and VPC through the real scan path against moto: flow logs per VPC,
//! IMDSv2 on instances and launch templates, and drift when an instance
//! falls back to IMDSv1.

mod support;

use aws_sdk_ec2::types::{
    FlowLogsResourceType, HttpTokensState, LaunchTemplateHttpTokensState,
    LaunchTemplateInstanceMetadataOptionsRequest, LogDestinationType, RequestLaunchTemplateData,
    TrafficType,
};
use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use std::collections::BTreeSet;
use support::Moto;
use support::seed::{any_image, instance};

async fn vpc_with_flow_log(
    ec2: &aws_sdk_ec2::Client,
    cidr: &str,
    traffic: Option<TrafficType>,
) -> String {
    let vpc = support::seed::vpc(ec2, cidr).await;
    if let Some(traffic) = traffic {
        ec2.create_flow_logs()
            .resource_ids(&vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(traffic)
            .log_destination_type(LogDestinationType::S3)
            .log_destination("arn:aws:s3:::flow-logs")
            .send()
            .await
            .expect("create flow log");
    }
    vpc
}

#[tokio::test]
async fn flow_logs_and_imdsv2_then_an_instance_falls_back_to_imdsv1() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    moto.s3()
        .create_bucket()
        .bucket("flow-logs")
        .send()
        .await
        .expect("bucket");

    let logged = vpc_with_flow_log(&ec2, "10.1.0.0/16", Some(TrafficType::All)).await;
    let rejects_only = vpc_with_flow_log(&ec2, "10.2.0.0/16", Some(TrafficType::Reject)).await;
    let unlogged = vpc_with_flow_log(&ec2, "10.3.0.0/16", None).await;
    let default_vpc = ec2
        .describe_vpcs()
        .send()
        .await
        .expect("vpcs")
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("moto creates a default VPC")
        .to_string();

    let image = any_image(&ec2).await;
    let v2 = instance(&ec2, &image, HttpTokensState::Required).await;
    let v1 = instance(&ec2, &image, HttpTokensState::Optional).await;

    ec2.create_launch_template()
        .launch_template_name("hardened")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .metadata_options(
                    LaunchTemplateInstanceMetadataOptionsRequest::builder()
                        .http_tokens(LaunchTemplateHttpTokensState::Required)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("launch template");
    ec2.create_launch_template()
        .launch_template_name("legacy")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .build(),
        )
        .send()
        .await
        .expect("launch template");

    let config = moto.config(&url, &["ec2"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, ScanStatus::Ok, "{:?}", reports[0].error);

    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let status_of = |id: &str| -> BTreeSet<(String, String)> {
        findings
            .iter()
            .filter(|f| f.arn.ends_with(&format!("/{id}")))
            .map(|f| (f.control_id.clone(), f.status.to_string()))
            .collect()
    };
    let one =
        |control: &str, status: &str| BTreeSet::from([(control.to_string(), status.to_string())]);
    let two = |a: (&str, &str), b: (&str, &str)| {
        BTreeSet::from([
            (a.0.to_string(), a.1.to_string()),
            (b.0.to_string(), b.1.to_string()),
        ])
    };
    // The flow-log bucket has no expiring lifecycle rule: retention passes.
    assert_eq!(
        status_of(&logged),
        two(
            ("vpc.flow_logs", "pass"),
            ("vpc.flow_log_retention", "pass")
        )
    );
    assert_eq!(
        status_of(&rejects_only),
        two(
            ("vpc.flow_logs", "fail"),
            ("vpc.flow_log_retention", "pass")
        )
    );
    assert_eq!(status_of(&unlogged), one("vpc.flow_logs", "fail"));
    assert_eq!(status_of(&default_vpc), one("vpc.flow_logs", "fail"));
    // Neither instance has an instance profile (CIS 1.17).
    assert_eq!(
        status_of(&v2),
        two(("ec2.imdsv2", "pass"), ("ec2.instance_profile", "fail"))
    );
    assert_eq!(
        status_of(&v1),
        two(("ec2.imdsv2", "fail"), ("ec2.instance_profile", "fail"))
    );
    let templates: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f.resource_type == "ec2.launch_template")
        .map(|f| {
            (
                f.evidence["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                f.status.to_string(),
            )
        })
        .collect();
    assert_eq!(templates.len(), 2, "{templates:?}");
    assert!(templates.contains(&(
        "default and latest versions require IMDSv2".to_string(),
        "pass".to_string()
    )));
    assert!(
        templates
            .iter()
            .any(|(m, s)| s == "fail" && m.contains("no metadata options")),
        "{templates:?}"
    );

    // The logged VPC loses its flow log. (moto 5.1.22 answers
    // ModifyInstanceMetadataOptions with a 500, so the IMDS flip of an
    // instance cannot be emulated; the rule is unit-tested.)
    let flow_log_id = ec2
        .describe_flow_logs()
        .send()
        .await
        .expect("flow logs")
        .flow_logs()
        .iter()
        .find(|f| f.resource_id() == Some(logged.as_str()))
        .and_then(|f| f.flow_log_id())
        .expect("flow log of the logged VPC")
        .to_string();
    ec2.delete_flow_logs()
        .flow_log_ids(&flow_log_id)
        .send()
        .await
        .expect("delete flow log");
    let reports = scan_once(&config, &store).await.expect("second scan");
    let drift: Vec<_> = reports.iter().flat_map(|r| r.drift.iter()).collect();
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert!(drift[0].arn.ends_with(&format!("vpc/{logged}")));
    let paths: Vec<&str> = drift[0].changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["flow_logs[0]"]);
    assert_eq!(drift[0].changes[0].new, None, "the flow log is gone");
    let transitions: Vec<_> = reports
        .iter()
        .flat_map(|r| r.transitions.iter())
        .map(|t| (&*t.control_id, t.kind))
        .collect();
    assert_eq!(
        transitions,
        vec![("vpc.flow_logs", TransitionKind::Regression)]
    );
    let failing = store
        .findings(&FindingFilter {
            status: Some(FindingStatus::Fail),
            control_id: Some("vpc.flow_logs".into()),
            ..Default::default()
        })
        .await
        .expect("findings");
    assert_eq!(failing.len(), 4, "every VPC now fails");
    // Retention no longer applies to a VPC without flow logs: not listed.
    let retention = store
        .findings(&FindingFilter {
            status: None,
            control_id: Some("vpc.flow_log_retention".into()),
            ..Default::default()
        })
        .await
        .expect("findings");
    let vpcs: Vec<&str> = retention.iter().map(|f| f.arn.as_str()).collect();
    assert_eq!(
        vpcs,
        vec![format!(
            "arn:aws:ec2:us-east-1:{}:vpc/{rejects_only}",
            support::ACCOUNT_ID
        )]
    );
}

/// CIS 1.17 on the emulator: an instance launched without an instance
/// profile fails; one associated with a profile (created through the real
/// IAM client) passes, and the association is a drift and a resolution.
#[tokio::test]
async fn an_instance_passes_once_it_runs_with_an_instance_profile() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let ec2 = moto.ec2_in(support::REGION);
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let image = any_image(&ec2).await;
    let bare = instance(&ec2, &image, HttpTokensState::Required).await;
    let config = moto.config(&url, &["ec2"]);
    let judge = |store: &driftwatch::store::Store| {
        let store = store.clone();
        let bare = bare.clone();
        async move {
            store
                .findings(&FindingFilter {
                    control_id: Some("ec2.instance_profile".into()),
                    status: None,
                    ..FindingFilter::default()
                })
                .await
                .expect("findings")
                .into_iter()
                .find(|f| f.arn.ends_with(&format!("/{bare}")))
                .map(|f| f.status)
        }
    };
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(judge(&store).await, Some(FindingStatus::Fail));

    iam.create_role()
        .role_name("web")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("role");
    iam.create_instance_profile()
        .instance_profile_name("web")
        .send()
        .await
        .expect("instance profile");
    iam.add_role_to_instance_profile()
        .instance_profile_name("web")
        .role_name("web")
        .send()
        .await
        .expect("role in profile");
    ec2.associate_iam_instance_profile()
        .instance_id(&bare)
        .iam_instance_profile(
            aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                .name("web")
                .build(),
        )
        .send()
        .await
        .expect("associate profile");
    let reports = scan_once(&config, &store).await.expect("rescan");
    assert_eq!(judge(&store).await, Some(FindingStatus::Pass));
    assert!(
        reports.iter().flat_map(|r| &r.transitions).any(|t| {
            t.control_id == "ec2.instance_profile" && t.kind == TransitionKind::Resolution
        }),
        "{reports:?}"
    );
}
