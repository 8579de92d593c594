//! S3 object-level logging (CIS AWS Foundations 3.8 and 3.9) on the
//! emulator through the real SDK: a multi-region trail's classic and
//! advanced event selectors, read by the `account` collector, decide the
//! write and read data-event controls on the account resource; and S3 MFA
//! Delete (2.1.2) failing on a versioned bucket.
//!
//! moto 5.1.22 never reports `MFADelete: Enabled` (it does not implement
//! MFA Delete), so `s3.mfa_delete` can only fail here; its passing path is
//! a unit test on a recorded record (src/evaluate/s3.rs).

mod support;

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, DataResource, EventSelector, ReadWriteType,
};
use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, Store};
use std::collections::BTreeMap;
use support::Moto;

const WRITE: &str = "cloudtrail.s3_write_data_events";
const READ: &str = "cloudtrail.s3_read_data_events";

async fn data_event_statuses(store: &Store) -> BTreeMap<String, FindingStatus> {
    store
        .findings(&FindingFilter::default())
        .await
        .expect("findings")
        .into_iter()
        .filter(|f| f.control_id == WRITE || f.control_id == READ)
        .map(|f| (f.control_id, f.status))
        .collect()
}

fn expect(write: FindingStatus, read: FindingStatus) -> BTreeMap<String, FindingStatus> {
    [(WRITE.to_string(), write), (READ.to_string(), read)]
        .into_iter()
        .collect()
}

fn classic(read_write: ReadWriteType, values: &[&str]) -> EventSelector {
    EventSelector::builder()
        .read_write_type(read_write)
        .include_management_events(true)
        .data_resources(
            DataResource::builder()
                .r#type("AWS::S3::Object")
                .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
                .build(),
        )
        .build()
}

fn field(name: &str, equals: &[&str]) -> AdvancedFieldSelector {
    AdvancedFieldSelector::builder()
        .field(name)
        .set_equals(Some(equals.iter().map(|v| v.to_string()).collect()))
        .build()
        .expect("field selector")
}

#[tokio::test]
async fn object_level_selectors_decide_write_and_read_data_events() {
    use FindingStatus::{Fail, Pass};
    let moto = Moto::start();
    let (store, url) = support::database().await;
    support::seed::create_bucket(&moto.s3(), "audit-logs").await;
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk_config());
    ct.create_trail()
        .name("audit")
        .s3_bucket_name("audit-logs")
        .is_multi_region_trail(true)
        .send()
        .await
        .expect("multi-region trail");
    // moto 5.1.22 takes the trail's name here, not its ARN.
    ct.start_logging()
        .name("audit")
        .send()
        .await
        .expect("start logging");
    let put = |selector: EventSelector| {
        ct.put_event_selectors()
            .trail_name("audit")
            .event_selectors(selector)
            .send()
    };
    let config = moto.config(&url, &["account"]);

    put(classic(ReadWriteType::All, &["arn:aws:s3:::audit-logs/"]))
        .await
        .expect("one bucket only");
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(data_event_statuses(&store).await, expect(Fail, Fail));

    put(classic(ReadWriteType::All, &["arn:aws:s3"]))
        .await
        .expect("every bucket");
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(data_event_statuses(&store).await, expect(Pass, Pass));

    put(classic(ReadWriteType::WriteOnly, &["arn:aws:s3"]))
        .await
        .expect("writes only");
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(data_event_statuses(&store).await, expect(Pass, Fail));

    let reads_only = AdvancedEventSelector::builder()
        .name("S3 reads")
        .field_selectors(field("eventCategory", &["Data"]))
        .field_selectors(field("resources.type", &["AWS::S3::Object"]))
        .field_selectors(field("readOnly", &["true"]))
        .build()
        .expect("advanced selector");
    ct.put_event_selectors()
        .trail_name("audit")
        .advanced_event_selectors(reads_only)
        .send()
        .await
        .expect("advanced selectors");
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(data_event_statuses(&store).await, expect(Fail, Pass));

    ct.stop_logging()
        .name("audit")
        .send()
        .await
        .expect("stop logging");
    scan_once(&config, &store).await.expect("scan");
    assert_eq!(data_event_statuses(&store).await, expect(Fail, Fail));
}

#[tokio::test]
async fn a_versioned_bucket_without_mfa_delete_fails() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let s3 = moto.s3();
    support::seed::create_bucket(&s3, "ledger").await;
    support::seed::enable_versioning(
        &s3,
        "ledger",
        aws_sdk_s3::types::BucketVersioningStatus::Enabled,
    )
    .await;
    let config = moto.config(&url, &["s3"]);
    scan_once(&config, &store).await.expect("scan");
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let mfa: Vec<_> = findings
        .iter()
        .filter(|f| f.control_id == "s3.mfa_delete")
        .map(|f| (support::resource_name(&f.arn), f.status))
        .collect();
    assert_eq!(mfa, vec![("ledger".to_string(), FindingStatus::Fail)]);
}
