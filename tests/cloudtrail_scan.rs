//! CloudTrail through the catalog, end to end: trails and their buckets
//! created through the real SDK in moto, scanned by the `account` and
//! `cloudtrail` collectors, every CloudTrail control seen passing and
//! failing, and a trail whose logging stops regressing the account.
//!
//! moto 5.1.22 never returns `LatestCloudWatchLogsDeliveryTime`, so
//! `cloudtrail.cloudwatch_delivery` can only fail here; its passing and
//! stale paths are unit tests on recorded AWS-shaped records
//! (src/evaluate/cloudtrail.rs).

mod support;

use aws_sdk_cloudtrail::types::{EventSelector, ReadWriteType};
use aws_sdk_s3::types::BucketCannedAcl;
use driftwatch::evaluate::FindingStatus;
use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::scan_once;
use driftwatch::store::{DriftFilter, FindingFilter, Store};
use std::collections::BTreeMap;
use support::seed::{all_blocked, block_public_access, create_bucket, log_to};
use support::{ACCOUNT_ID, Moto};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:trail:*";

fn cloudtrail(moto: &Moto) -> aws_sdk_cloudtrail::Client {
    aws_sdk_cloudtrail::Client::new(&moto.sdk_config())
}

/// Every current (resource name, control) → status of the CloudTrail
/// controls.
async fn statuses(store: &Store) -> BTreeMap<(String, String), FindingStatus> {
    store
        .findings(&FindingFilter::default())
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.control_id.starts_with("cloudtrail."))
        .map(|f| {
            // The account resource by its id, a trail by its name.
            let name = match f.arn.strip_suffix(":account") {
                Some(prefix) => prefix.rsplit(':').next(),
                None => f.arn.rsplit('/').next(),
            }
            .unwrap_or_default()
            .to_string();
            let status = f.status;
            ((name, f.control_id), status)
        })
        .collect()
}

async fn seed(moto: &Moto) {
    let s3 = moto.s3();
    for bucket in ["audit-logs", "open-logs", "access-logs"] {
        create_bucket(&s3, bucket).await;
    }
    block_public_access(&s3, "audit-logs", all_blocked()).await;
    log_to(&s3, "audit-logs", "access-logs").await;
    s3.put_bucket_acl()
        .bucket("open-logs")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect("public-read ACL");

    let ct = cloudtrail(moto);
    ct.create_trail()
        .name("audit")
        .s3_bucket_name("audit-logs")
        .is_multi_region_trail(true)
        .enable_log_file_validation(true)
        .kms_key_id(KEY)
        .cloud_watch_logs_log_group_arn(GROUP)
        .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/trail-to-logs")
        .send()
        .await
        .expect("multi-region trail");
    ct.put_event_selectors()
        .trail_name("audit")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::All)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .expect("selectors");
    // moto 5.1.22 takes the trail's name here, not its ARN.
    ct.start_logging()
        .name("audit")
        .send()
        .await
        .expect("start logging");
    ct.create_trail()
        .name("regional")
        .s3_bucket_name("open-logs")
        .send()
        .await
        .expect("single-region trail");
}

fn expected(pairs: &[(&str, &str, FindingStatus)]) -> BTreeMap<(String, String), FindingStatus> {
    pairs
        .iter()
        .map(|(name, control, status)| ((name.to_string(), control.to_string()), *status))
        .collect()
}

#[tokio::test]
async fn every_cloudtrail_control_passes_and_fails_and_a_stopped_trail_regresses_the_account() {
    use FindingStatus::{Fail, Pass, Unknown};
    let moto = Moto::start();
    let (store, url) = support::database().await;
    seed(&moto).await;
    let config = moto.config(&url, &["account", "cloudtrail"]);
    scan_once(&config, &store).await.expect("scan");

    assert_eq!(
        statuses(&store).await,
        expected(&[
            (ACCOUNT_ID, "cloudtrail.multi_region", Pass),
            // Management events only: no S3 object-level events.
            (ACCOUNT_ID, "cloudtrail.s3_write_data_events", Fail),
            (ACCOUNT_ID, "cloudtrail.s3_read_data_events", Fail),
            ("audit", "cloudtrail.log_validation", Pass),
            ("audit", "cloudtrail.kms_encrypted", Pass),
            ("audit", "cloudtrail.cloudwatch_delivery", Fail),
            ("audit", "cloudtrail.bucket_not_public", Pass),
            ("audit", "cloudtrail.bucket_access_logging", Pass),
            ("regional", "cloudtrail.log_validation", Fail),
            ("regional", "cloudtrail.kms_encrypted", Fail),
            ("regional", "cloudtrail.cloudwatch_delivery", Fail),
            ("regional", "cloudtrail.bucket_not_public", Fail),
            ("regional", "cloudtrail.bucket_access_logging", Fail),
        ])
    );
    let findings = store
        .findings(&FindingFilter {
            control_id: Some("cloudtrail.bucket_not_public".into()),
            status: Some(Fail),
            ..FindingFilter::default()
        })
        .await
        .expect("findings");
    let message = findings[0].evidence["message"].as_str().unwrap_or_default();
    assert!(message.contains("ACL grants AllUsers: READ"), "{message}");

    // Logging stops on the only multi-region trail; the regional trail now
    // delivers to a bucket this account cannot read.
    let ct = cloudtrail(&moto);
    ct.stop_logging().name("audit").send().await.expect("stop");
    ct.update_trail()
        .name("regional")
        .s3_bucket_name("someone-elses-bucket")
        .send()
        .await
        .expect("update trail");
    let reports = scan_once(&config, &store).await.expect("rescan");
    let statuses = statuses(&store).await;
    assert_eq!(
        statuses[&(
            ACCOUNT_ID.to_string(),
            "cloudtrail.multi_region".to_string()
        )],
        Fail
    );
    for control in [
        "cloudtrail.bucket_not_public",
        "cloudtrail.bucket_access_logging",
    ] {
        assert_eq!(
            statuses[&("regional".to_string(), control.to_string())],
            Unknown,
            "{control}: a bucket that cannot be read is never pass nor fail"
        );
    }
    let account = reports
        .iter()
        .find(|r| r.scope.collector == "account")
        .expect("account scope");
    assert!(
        account
            .transitions
            .iter()
            .any(|t| t.control_id == "cloudtrail.multi_region"
                && t.kind == TransitionKind::Regression),
        "{:?}",
        account.transitions
    );
    let drift = store
        .drift_events(&DriftFilter {
            arn: Some(format!("arn:aws:account::{ACCOUNT_ID}:account")),
            ..DriftFilter::default()
        })
        .await
        .expect("drift");
    assert!(
        drift
            .iter()
            .any(|d| d.changes.to_string().contains("is_logging")),
        "the account's drift names the field that changed: {drift:?}"
    );
}
