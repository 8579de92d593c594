//! The per-region detection and recording settings on the emulator through
//! the real SDK: AWS Config recorders (`config.recorder_enabled`), GuardDuty
//! detectors (`guardduty.enabled`) and Security Hub (`securityhub.enabled`)
//! each failing, then passing, then failing again as AWS reports them; and
//! one setting that cannot be read leaving only its own control unknown.
//!
//! moto has no IAM Access Analyzer: every ListAnalyzers call fails there,
//! so `accessanalyzer.enabled` is `unknown` on the emulator (never pass) and
//! its rule is tested on recorded AWS-shaped ListAnalyzers answers in
//! src/evaluate/detection.rs; its error path is driven here through the
//! fault proxy as well.
//!
//! moto answers DescribeHub of an unsubscribed account with an XML error
//! body (no `x-amzn-ErrorType`), which a REST-JSON client cannot read as
//! AWS's `InvalidAccessException`: there `securityhub.enabled` is `unknown`
//! until Security Hub is enabled. Its fail verdict on AWS's answer is
//! tested at unit level (src/collect/account_region.rs and
//! src/evaluate/detection.rs).

mod support;

use aws_sdk_config::types::{
    ConfigurationRecorder, DeliveryChannel, RecordingGroup, RecordingStrategy,
    RecordingStrategyType, ResourceType,
};
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::{ScopeReport, scan_once};
use driftwatch::store::{FindingFilter, ScanStatus, Store};
use std::collections::BTreeMap;
use support::fault_proxy::{Action, Fault, FaultProxy};
use support::{ACCOUNT_ID, Moto, REGION};

const CONFIG: &str = "config.recorder_enabled";
const GUARDDUTY: &str = "guardduty.enabled";
const HUB: &str = "securityhub.enabled";
const ANALYZER: &str = "accessanalyzer.enabled";
const EBS: &str = "ec2.ebs_default_encryption";

fn region_arn() -> String {
    format!("arn:aws:account:{REGION}:{ACCOUNT_ID}:account")
}

/// control → (status, message) of the region resource's findings.
async fn findings(store: &Store) -> BTreeMap<String, (String, String)> {
    let arn = region_arn();
    store
        .findings(&FindingFilter {
            status: None,
            ..FindingFilter::default()
        })
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.arn == arn)
        .map(|f| {
            let message = f.evidence["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (f.control_id, (f.status.to_string(), message))
        })
        .collect()
}

async fn status_of(store: &Store, control: &str) -> String {
    findings(store)
        .await
        .get(control)
        .map(|(status, _)| status.clone())
        .unwrap_or_else(|| panic!("no {control} finding"))
}

fn assert_ok(reports: &[ScopeReport]) {
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
}

fn kinds(reports: &[ScopeReport]) -> BTreeMap<String, TransitionKind> {
    reports
        .iter()
        .flat_map(|r| &r.transitions)
        .map(|t| (t.control_id.to_string(), t.kind))
        .collect()
}

fn recorder(group: RecordingGroup) -> ConfigurationRecorder {
    ConfigurationRecorder::builder()
        .name("default")
        .role_arn(format!(
            "arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
        ))
        .recording_group(group)
        .build()
}

fn buckets_only() -> RecordingGroup {
    RecordingGroup::builder()
        .all_supported(false)
        .include_global_resource_types(false)
        .resource_types(ResourceType::Bucket)
        .recording_strategy(
            RecordingStrategy::builder()
                .use_only(RecordingStrategyType::InclusionByResourceTypes)
                .build(),
        )
        .build()
}

fn all_supported() -> RecordingGroup {
    RecordingGroup::builder()
        .all_supported(true)
        .include_global_resource_types(true)
        .build()
}

#[tokio::test]
async fn config_guardduty_and_security_hub_fail_and_pass_as_aws_reports_them() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let sdk = moto.sdk_config();
    let config_service = aws_sdk_config::Client::new(&sdk);
    let guardduty = aws_sdk_guardduty::Client::new(&sdk);
    let securityhub = aws_sdk_securityhub::Client::new(&sdk);
    let config = moto.config(&url, &["account_region"]);

    // Nothing set up: no recorder, no detector, not subscribed.
    let reports = scan_once(&config, &store).await.expect("scan");
    assert_ok(&reports);
    let seen = findings(&store).await;
    for (control, fragment) in [
        (CONFIG, "no AWS Config configuration recorder"),
        (GUARDDUTY, "no detector"),
    ] {
        let (status, message) = &seen[control];
        assert_eq!(status, "fail", "{control}: {message}");
        assert!(message.contains(fragment), "{control}: {message}");
    }
    // moto's unreadable not-subscribed answer: unknown, never pass.
    let (status, message) = &seen[HUB];
    assert_eq!(status, "unknown", "{message}");
    assert!(message.contains("DescribeHub"), "{message}");
    // moto lacks Access Analyzer: unreadable, so unknown, never pass.
    let (status, message) = &seen[ANALYZER];
    assert_eq!(status, "unknown", "{message}");
    assert!(message.contains("ListAnalyzers"), "{message}");
    assert_eq!(seen[EBS].0, "fail", "EBS still decided");

    // A recorder of one type, recording; a suspended detector.
    support::seed::create_bucket(&moto.s3(), "config-history").await;
    config_service
        .put_configuration_recorder()
        .configuration_recorder(recorder(buckets_only()))
        .send()
        .await
        .expect("recorder");
    config_service
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-history")
                .build(),
        )
        .send()
        .await
        .expect("delivery channel");
    config_service
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("start recorder");
    let detector = guardduty
        .create_detector()
        .enable(false)
        .send()
        .await
        .expect("detector")
        .detector_id()
        .expect("detector id")
        .to_string();
    scan_once(&config, &store).await.expect("rescan");
    let seen = findings(&store).await;
    assert_eq!(seen[CONFIG].0, "fail");
    assert!(
        seen[CONFIG]
            .1
            .contains("records only 1 chosen resource type"),
        "{}",
        seen[CONFIG].1
    );
    assert_eq!(seen[GUARDDUTY].0, "fail");
    assert!(
        seen[GUARDDUTY].1.contains("is DISABLED"),
        "{}",
        seen[GUARDDUTY].1
    );

    // All supported types (moto's status is Pending after a start), the
    // detector enabled, Security Hub subscribed.
    config_service
        .put_configuration_recorder()
        .configuration_recorder(recorder(all_supported()))
        .send()
        .await
        .expect("recorder of all types");
    guardduty
        .update_detector()
        .detector_id(&detector)
        .enable(true)
        .send()
        .await
        .expect("enable detector");
    securityhub
        .enable_security_hub()
        .send()
        .await
        .expect("enable Security Hub");
    let reports = scan_once(&config, &store).await.expect("rescan");
    for control in [CONFIG, GUARDDUTY, HUB] {
        assert_eq!(status_of(&store, control).await, "pass", "{control}");
    }
    let transitions = kinds(&reports);
    for control in [CONFIG, GUARDDUTY] {
        assert_eq!(
            transitions.get(control),
            Some(&TransitionKind::Resolution),
            "{control}: {transitions:?}"
        );
    }

    // Stopping the recorder fails the control again: a regression.
    config_service
        .stop_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("stop recorder");
    let reports = scan_once(&config, &store).await.expect("rescan");
    let seen = findings(&store).await;
    assert_eq!(seen[CONFIG].0, "fail");
    assert!(seen[CONFIG].1.contains("stopped"), "{}", seen[CONFIG].1);
    assert_eq!(
        kinds(&reports).get(CONFIG),
        Some(&TransitionKind::Regression)
    );
    assert_eq!(seen[GUARDDUTY].0, "pass");
    assert_eq!(seen[HUB].0, "pass");
}

/// A denied or throttled call leaves only its own setting unreadable: the
/// record is still collected, the scan complete, the other controls decided.
#[tokio::test]
async fn a_failing_call_leaves_only_its_own_control_unknown() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    moto.ec2_in(REGION)
        .enable_ebs_encryption_by_default()
        .send()
        .await
        .expect("EBS encryption by default");
    aws_sdk_guardduty::Client::new(&moto.sdk_config())
        .create_detector()
        .enable(true)
        .send()
        .await
        .expect("detector");
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["account_region"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());

    proxy.inject(Fault::new(Action::AccessDenied).service("guardduty"));
    proxy.inject(Fault::new(Action::AccessDenied).service("securityhub"));
    let reports = scan_once(&config, &store).await.expect("scan");
    assert_ok(&reports);
    let seen = findings(&store).await;
    // The proxy's REST-JSON denial: whatever the SDK makes of it, unknown.
    for (control, operation) in [(GUARDDUTY, "ListDetectors"), (HUB, "DescribeHub")] {
        let (status, message) = &seen[control];
        assert_eq!(status, "unknown", "{control}: denied is not 'off'");
        assert!(message.contains(operation), "{control}: {message}");
    }
    assert_eq!(seen[EBS].0, "pass");
    assert_eq!(seen[CONFIG].0, "fail", "no recorder: decided");

    // The denial lifts: the detector is seen enabled.
    proxy.clear();
    scan_once(&config, &store).await.expect("rescan");
    assert_eq!(status_of(&store, GUARDDUTY).await, "pass");
    assert_eq!(status_of(&store, HUB).await, "unknown", "moto: see above");

    // Access Analyzer denied (as on AWS without the permission), and
    // Config throttled past the retries.
    proxy.inject(Fault::new(Action::AccessDenied).service("access-analyzer"));
    proxy.inject(Fault::new(Action::Throttle).operation("DescribeConfigurationRecorderStatus"));
    let reports = scan_once(&config, &store).await.expect("rescan");
    assert_ok(&reports);
    let seen = findings(&store).await;
    let (status, message) = &seen[ANALYZER];
    assert_eq!(status, "unknown");
    assert!(message.contains("ListAnalyzers"), "{message}");
    let (status, message) = &seen[CONFIG];
    assert_eq!(status, "unknown");
    assert!(message.contains("Throttling"), "{message}");
    assert_eq!(seen[GUARDDUTY].0, "pass");
    assert_eq!(seen[EBS].0, "pass");
}
