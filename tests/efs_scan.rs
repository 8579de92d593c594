//! EFS encryption at rest (CIS AWS Foundations 2.3.1) on the emulator
//! through the real SDK: an unencrypted file system fails, an encrypted
//! one passes, and a deleted one is retired, not left failing.

mod support;

use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::scan_once;
use driftwatch::store::FindingFilter;
use std::collections::BTreeMap;
use support::Moto;

#[tokio::test]
async fn unencrypted_file_systems_fail_and_encrypted_ones_pass() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let efs = aws_sdk_efs::Client::new(&moto.sdk_config());
    let mut ids = BTreeMap::new();
    for (token, encrypted) in [("plain", false), ("vault", true)] {
        let created = efs
            .create_file_system()
            .creation_token(token)
            .encrypted(encrypted)
            .tags(
                aws_sdk_efs::types::Tag::builder()
                    .key("Name")
                    .value(token)
                    .build()
                    .expect("tag"),
            )
            .send()
            .await
            .expect("file system");
        ids.insert(token, created.file_system_id().to_string());
    }
    let config = moto.config(&url, &["efs"]);
    scan_once(&config, &store).await.expect("scan");
    let statuses =
        |findings: Vec<driftwatch::store::FindingRow>| -> BTreeMap<String, FindingStatus> {
            findings
                .into_iter()
                .filter(|f| f.control_id == "efs.encrypted")
                .map(|f| (support::resource_name(&f.arn), f.status))
                .collect()
        };
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert_eq!(
        statuses(findings),
        BTreeMap::from([
            (ids["plain"].clone(), FindingStatus::Fail),
            (ids["vault"].clone(), FindingStatus::Pass),
        ])
    );

    efs.delete_file_system()
        .file_system_id(&ids["plain"])
        .send()
        .await
        .expect("delete");
    scan_once(&config, &store).await.expect("scan");
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert_eq!(
        statuses(findings),
        BTreeMap::from([(ids["vault"].clone(), FindingStatus::Pass)])
    );
}
