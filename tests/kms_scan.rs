//! KMS keys on the emulator through the real SDK: rotation judged only
//! where the key's owner chooses it (customer managed symmetric keys with
//! KMS-generated material), a scheduled deletion failing until cancelled,
//! and both changes recorded as drift and resolutions.

mod support;

use driftwatch::evaluate::lifecycle::TransitionKind;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use std::collections::BTreeMap;
use support::Moto;

async fn key(kms: &aws_sdk_kms::Client, label: &str, signing: bool) -> String {
    let mut request = kms.create_key().description(label);
    if signing {
        request = request
            .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify);
    }
    let created = request.send().await.expect("create key");
    created
        .key_metadata()
        .map(|m| m.key_id().to_string())
        .expect("a key id")
}

#[tokio::test]
async fn rotation_and_scheduled_deletion_fail_and_pass_as_kms_reports_them() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let kms = aws_sdk_kms::Client::new(&moto.sdk_config());
    let rotating = key(&kms, "rotating", false).await;
    kms.enable_key_rotation()
        .key_id(&rotating)
        .send()
        .await
        .expect("enable rotation");
    let plain = key(&kms, "plain", false).await;
    let signing = key(&kms, "signing", true).await;
    let doomed = key(&kms, "doomed", false).await;
    kms.schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .expect("schedule deletion");
    let label: BTreeMap<String, &str> = [
        (rotating.clone(), "rotating"),
        (plain.clone(), "plain"),
        (signing.clone(), "signing"),
        (doomed.clone(), "doomed"),
    ]
    .into_iter()
    .collect();
    let name = |arn: &str| {
        let id = arn.rsplit('/').next().unwrap_or_default();
        label.get(id).copied().unwrap_or("other").to_string()
    };

    let config = moto.config(&url, &["kms"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    assert_eq!(
        support::failing(&store, &name).await,
        support::pairs(&[
            ("plain", "kms.key_rotation"),
            ("doomed", "kms.not_pending_deletion"),
        ])
    );
    let findings = store
        .findings(&FindingFilter {
            status: None,
            ..FindingFilter::default()
        })
        .await
        .expect("findings");
    let judged: BTreeMap<(String, String), String> = findings
        .iter()
        .map(|f| ((name(&f.arn), f.control_id.clone()), f.status.to_string()))
        .collect();
    assert_eq!(
        judged
            .get(&("rotating".into(), "kms.key_rotation".into()))
            .map(String::as_str),
        Some("pass")
    );
    // AWS cannot rotate an asymmetric key, nor a key on its way out.
    for label in ["signing", "doomed"] {
        assert!(
            !judged.contains_key(&(label.to_string(), "kms.key_rotation".to_string())),
            "{label}: {judged:?}"
        );
    }
    assert_eq!(
        judged
            .get(&("signing".into(), "kms.not_pending_deletion".into()))
            .map(String::as_str),
        Some("pass")
    );

    kms.enable_key_rotation()
        .key_id(&plain)
        .send()
        .await
        .expect("enable rotation");
    kms.cancel_key_deletion()
        .key_id(&doomed)
        .send()
        .await
        .expect("cancel deletion");
    let reports = scan_once(&config, &store).await.expect("rescan");
    // A key called back from deletion is Disabled, and now its owner's
    // rotation choice applies to it: off.
    assert_eq!(
        support::failing(&store, &name).await,
        support::pairs(&[("doomed", "kms.key_rotation")])
    );
    let mut resolutions: Vec<(String, &str)> = reports
        .iter()
        .flat_map(|r| &r.transitions)
        .filter(|t| t.kind == TransitionKind::Resolution)
        .map(|t| (name(&t.arn), &*t.control_id))
        .collect();
    resolutions.sort();
    assert_eq!(
        resolutions,
        [
            ("doomed".to_string(), "kms.not_pending_deletion"),
            ("plain".to_string(), "kms.key_rotation"),
        ]
    );
    let mut drifted: Vec<(String, Vec<String>)> = reports
        .iter()
        .flat_map(|r| &r.drift)
        .map(|d| {
            (
                name(&d.arn),
                d.changes.iter().map(|c| c.path.clone()).collect(),
            )
        })
        .collect();
    drifted.sort();
    assert_eq!(drifted.len(), 2, "{drifted:?}");
    assert_eq!(drifted[0].0, "doomed");
    assert!(drifted[0].1.iter().any(|p| p == "state"), "{drifted:?}");
    assert_eq!(drifted[1].0, "plain");
    assert!(
        drifted[1].1.iter().any(|p| p.starts_with("rotation")),
        "{drifted:?}"
    );
}
