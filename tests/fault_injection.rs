//! AWS failing in chosen places, through a fault-injecting proxy in front of
//! the real moto server: one region's EC2 API denied, transient throttling
//! and truncated responses, a persistent server error on one resource.
//! Every failure must stay where it happened: the other regions, services
//! and resources are recorded in full, and nothing is reported deleted.

mod support;

use driftwatch::drift::DriftKind;
use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::{ScopeReport, scan_once};
use driftwatch::store::{DriftFilter, FindingFilter, ScanStatus};
use std::collections::BTreeMap;
use support::Moto;
use support::fault_proxy::{Action, Fault, FaultProxy};

const EU: &str = "eu-west-1";

/// (collector, region) → (status, error)
fn outcomes(reports: &[ScopeReport]) -> BTreeMap<(String, String), (ScanStatus, String)> {
    reports
        .iter()
        .map(|r| {
            (
                (r.scope.collector.clone(), r.scope.region.clone()),
                (r.status, r.error.clone().unwrap_or_default()),
            )
        })
        .collect()
}

/// The (status, error) of the scan of one collector in one region.
fn outcome(reports: &[ScopeReport], collector: &str, region: &str) -> (ScanStatus, String) {
    let got = outcomes(reports);
    got.get(&(collector.to_string(), region.to_string()))
        .cloned()
        .unwrap_or_else(|| panic!("no {collector} scan in {region}: {got:?}"))
}

/// Nothing changed in AWS: whatever failed, no resource may be recorded
/// as deleted.
async fn assert_nothing_deleted(store: &driftwatch::store::Store, why: &str) {
    let drift = store
        .drift_events(&DriftFilter::default())
        .await
        .expect("drift");
    assert!(
        drift.iter().all(|d| d.kind != DriftKind::Deleted),
        "{why}: {drift:?}"
    );
}

/// The status of `control` for the resource whose ARN ends with `suffix`.
async fn finding_status(store: &driftwatch::store::Store, suffix: &str, control: &str) -> String {
    store
        .findings(&FindingFilter::default())
        .await
        .expect("findings")
        .into_iter()
        .find(|f| f.arn.ends_with(suffix) && f.control_id == control)
        .map(|f| f.status.to_string())
        .unwrap_or_else(|| panic!("no {control} finding for {suffix}"))
}

#[tokio::test]
async fn a_denied_region_fails_alone_and_transient_faults_are_retried() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    for region in [support::REGION, EU] {
        let ec2 = moto.ec2_in(region);
        ec2.create_vpc()
            .cidr_block("10.20.0.0/16")
            .send()
            .await
            .expect("vpc");
        support::seed::ecr_repository(
            &moto.account().ecr(region),
            &format!("images-{region}"),
            None,
        )
        .await;
    }
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["ec2", "ecr"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    config.aws.default_regions = vec![support::REGION.into(), EU.into()];
    config.aws.max_attempts = 3;
    config.aws.retry_mode = driftwatch::config::RetryMode::Standard;

    let first = scan_once(&config, &store).await.expect("first scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );
    let before = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let eu_findings = before.iter().filter(|f| f.region == EU).count();
    assert!(eu_findings >= 2, "VPCs and a repository in {EU}");

    // The audit role loses EC2 in eu-west-1 (an SCP, say); ECR in
    // us-east-1 throttles twice and truncates one response; one EU
    // repository's lifecycle policy keeps failing with 500s.
    proxy.inject(Fault::new(Action::AccessDenied).service("ec2").region(EU));
    proxy.inject(
        Fault::new(Action::Throttle)
            .service("ecr")
            .region(support::REGION)
            .operation("DescribeRepositories")
            .times(2),
    );
    proxy.inject(
        Fault::new(Action::Truncate)
            .service("ecr")
            .region(support::REGION)
            .operation("GetLifecyclePolicy")
            .times(1),
    );
    proxy.inject(
        Fault::new(Action::ServerError)
            .service("ecr")
            .region(EU)
            .operation("GetLifecyclePolicy"),
    );

    let second = scan_once(&config, &store).await.expect("second scan");
    let status = |collector: &str, region: &str| outcome(&second, collector, region);
    let (ec2_eu, ec2_eu_error) = status("ec2", EU);
    assert_eq!(ec2_eu, ScanStatus::Failed);
    assert!(
        ec2_eu_error.contains("UnauthorizedOperation"),
        "{ec2_eu_error}"
    );
    assert_eq!(status("ec2", support::REGION).0, ScanStatus::Ok);
    // Throttling and a truncated body were retried away.
    assert_eq!(
        status("ecr", support::REGION),
        (ScanStatus::Ok, String::new())
    );
    // The repository whose policy cannot be read is the only casualty.
    let (ecr_eu, ecr_eu_error) = status("ecr", EU);
    assert_eq!(ecr_eu, ScanStatus::Partial);
    assert!(
        ecr_eu_error.contains("images-eu-west-1") && ecr_eu_error.contains("InternalError"),
        "{ecr_eu_error}"
    );

    // Nothing changed in AWS, so nothing drifted: the denied region's VPCs
    // and the unreadable repository are not "deleted".
    assert!(second.iter().all(|r| r.drift.is_empty()), "{second:?}");
    assert_nothing_deleted(&store, "no deletion from a failed scope").await;
    let after = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let vpc_findings_eu = |rows: &[driftwatch::store::FindingRow]| {
        rows.iter()
            .filter(|f| f.region == EU && f.resource_type == "ec2.vpc")
            .map(|f| (f.arn.clone(), f.control_id.clone(), f.status.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        vpc_findings_eu(&after),
        vpc_findings_eu(&before),
        "the denied region keeps its last known findings"
    );
    let unreadable = after
        .iter()
        .find(|f| f.arn.ends_with("repository/images-eu-west-1"))
        .expect("EU repository finding");
    assert_eq!(unreadable.status, FindingStatus::Unknown);

    let seen = proxy.seen();
    let throttled = seen
        .iter()
        .filter(|s| s.faulted && s.operation == "DescribeRepositories")
        .count();
    assert_eq!(throttled, 2);
    let truncated = seen
        .iter()
        .filter(|s| s.faulted && s.region == support::REGION && s.operation == "GetLifecyclePolicy")
        .count();
    assert_eq!(truncated, 1);
    let denied_calls = seen
        .iter()
        .filter(|s| s.faulted && s.service == "ec2" && s.region == EU)
        .count();
    assert_eq!(
        denied_calls, 1,
        "access denied is not retried, and stops the region"
    );
}

#[tokio::test]
async fn hung_calls_cost_one_attempt_and_a_stalled_bucket_fails_alone() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    for bucket in ["steady-bucket", "stalled-bucket", "slowed-bucket"] {
        support::seed::create_bucket(&s3, bucket).await;
        support::seed::put_policy(&s3, bucket, &support::seed::tls_policy(bucket)).await;
    }
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["s3"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    config.aws.max_attempts = 3;
    config.aws.retry_mode = driftwatch::config::RetryMode::Standard;
    config.aws.attempt_timeout_seconds = 2;
    config.aws.call_timeout_seconds = 5;

    let first = scan_once(&config, &store).await.expect("first scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );

    // The listing hangs once (a dropped connection), one bucket answers
    // SlowDown twice, and one bucket's policy endpoint never answers.
    proxy.inject(
        Fault::new(Action::Hang)
            .service("s3")
            .target_contains("x-id=ListBuckets")
            .times(1),
    );
    proxy.inject(
        Fault::new(Action::Throttle)
            .service("s3")
            .target_contains("/slowed-bucket/?policy")
            .times(2),
    );
    proxy.inject(
        Fault::new(Action::Hang)
            .service("s3")
            .target_contains("/stalled-bucket/?policy"),
    );

    let started = std::time::Instant::now();
    let second = scan_once(&config, &store).await.expect("second scan");
    let took = started.elapsed();
    assert_eq!(second.len(), 1, "{second:?}");
    let report = &second[0];
    assert_eq!(report.status, ScanStatus::Partial, "{:?}", report.error);
    assert_eq!(report.resources, 3);
    assert_eq!(report.failed_resources, 1);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(error.contains("arn:aws:s3:::stalled-bucket"), "{error}");
    assert!(
        error.contains("timeout") || error.contains("timed out"),
        "{error}"
    );
    assert!(!error.contains("slowed-bucket"), "{error}");
    // Bounded by the call timeout, not by the hang.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");

    let seen = proxy.seen();
    let hits = |fragment: &str| {
        seen.iter()
            .filter(|s| s.target.contains(fragment))
            .map(|s| s.faulted)
            .collect::<Vec<_>>()
    };
    // First scan: one listing; second: the hung one, then its retry.
    assert_eq!(hits("x-id=ListBuckets"), vec![false, true, false]);
    assert_eq!(
        hits("/slowed-bucket/?policy"),
        vec![false, true, true, false],
        "throttled twice, then answered"
    );
    let stalled = hits("/stalled-bucket/?policy");
    assert!(
        stalled.len() >= 2 && stalled[1..].iter().all(|&f| f),
        "each attempt hung until its timeout: {stalled:?}"
    );

    for (bucket, expected) in [
        (":::steady-bucket", "pass"),
        (":::slowed-bucket", "pass"),
        (":::stalled-bucket", "unknown"),
    ] {
        assert_eq!(
            finding_status(&store, bucket, "s3.tls_only").await,
            expected,
            "{bucket}"
        );
    }
    assert_nothing_deleted(&store, "a bucket that did not answer is not deleted").await;
}

#[tokio::test]
async fn responses_that_are_not_utf8_fail_their_call_and_nothing_else() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    for bucket in ["plain-bucket", "garbled-bucket"] {
        support::seed::create_bucket(&s3, bucket).await;
        support::seed::put_policy(&s3, bucket, &support::seed::tls_policy(bucket)).await;
    }
    for name in ["images-a", "images-b"] {
        support::seed::ecr_repository(&moto.ecr(), name, None).await;
    }
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let mut config = moto.config(&url, &["s3", "ecr"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    let first = scan_once(&config, &store).await.expect("first scan");
    assert!(
        first.iter().all(|r| r.status == ScanStatus::Ok),
        "{first:?}"
    );

    proxy.inject(
        Fault::new(Action::NotUtf8)
            .service("s3")
            .target_contains("/garbled-bucket/?policy"),
    );
    proxy.inject(
        Fault::new(Action::NotUtf8)
            .service("ecr")
            .operation("DescribeRepositories"),
    );
    let second = scan_once(&config, &store).await.expect("second scan");
    let (s3_status, s3_error) = outcome(&second, "s3", "global");
    assert_eq!(s3_status, ScanStatus::Partial, "{s3_error}");
    assert!(
        s3_error.contains("arn:aws:s3:::garbled-bucket") && !s3_error.contains("plain-bucket"),
        "{s3_error}"
    );
    let (ecr_status, ecr_error) = outcome(&second, "ecr", support::REGION);
    assert_eq!(ecr_status, ScanStatus::Failed);
    assert!(ecr_error.contains("DescribeRepositories"), "{ecr_error}");

    assert_nothing_deleted(&store, "an unreadable listing deletes nothing").await;
    assert_eq!(
        finding_status(&store, ":::plain-bucket", "s3.tls_only").await,
        "pass"
    );
    assert_eq!(
        finding_status(&store, ":::garbled-bucket", "s3.tls_only").await,
        "unknown"
    );
    // The repositories keep their last known findings.
    assert_eq!(
        finding_status(&store, "repository/images-a", "ecr.image_retention").await,
        "pass"
    );
}
