//! Several accounts in one scan: the default credentials' account, an
//! account reached by assuming a role (moto maps the assumed role's
//! credentials to the role's account), and an account whose profile does
//! not exist. The broken account fails alone; the others are scanned in full
//! and their resources and findings carry their own account ids.

mod support;

use driftwatch::config::AccountConfig;
use driftwatch::scan::{ScopeReport, scan_once};
use driftwatch::store::{FindingFilter, ScanStatus};
use support::{ACCOUNT_ID, Moto};

const PAYMENTS_ACCOUNT: &str = "111111111111";

/// (account name, account id, status, resources) of each scope, in order.
fn summary(reports: &[ScopeReport]) -> Vec<(&str, &str, ScanStatus, usize)> {
    reports
        .iter()
        .map(|r| {
            (
                r.scope.account_name.as_str(),
                r.scope.account_id.as_str(),
                r.status,
                r.resources,
            )
        })
        .collect()
}

async fn s3_as_role(moto: &Moto, role_arn: &str) -> aws_sdk_s3::Client {
    support::seed::Account::assumed(&moto.sdk_config(), role_arn)
        .await
        .s3()
}

#[tokio::test]
async fn each_account_is_scanned_with_its_own_credentials_and_fails_alone() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let role_arn = format!("arn:aws:iam::{PAYMENTS_ACCOUNT}:role/driftwatch-audit");

    moto.s3()
        .create_bucket()
        .bucket("main-bucket")
        .send()
        .await
        .expect("main bucket");
    s3_as_role(&moto, &role_arn)
        .await
        .create_bucket()
        .bucket("payments-bucket")
        .send()
        .await
        .expect("payments bucket");

    let mut config = moto.config(&url, &["s3"]);
    config.accounts = vec![
        AccountConfig {
            name: Some("main".into()),
            ..AccountConfig::default()
        },
        AccountConfig {
            name: Some("payments".into()),
            role_arn: Some(role_arn.clone()),
            external_id: Some("shared-secret".into()),
            session_name: Some("driftwatch-test".into()),
            ..AccountConfig::default()
        },
        AccountConfig {
            name: Some("broken".into()),
            profile: Some("no-such-profile".into()),
            ..AccountConfig::default()
        },
    ];
    assert_eq!(config.validate(), vec![]);

    let reports = scan_once(&config, &store).await.expect("scan");
    assert_eq!(
        summary(&reports),
        vec![
            ("main", ACCOUNT_ID, ScanStatus::Ok, 1),
            ("payments", PAYMENTS_ACCOUNT, ScanStatus::Ok, 1),
            ("broken", "broken", ScanStatus::Failed, 0),
        ]
    );
    let broken_error = reports[2].error.as_deref().unwrap_or_default();
    assert!(broken_error.contains("account broken"), "{broken_error}");

    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    for f in &findings {
        let expected = if f.arn.ends_with("main-bucket") {
            ACCOUNT_ID
        } else {
            PAYMENTS_ACCOUNT
        };
        assert_eq!(f.account_id, expected, "{}", f.arn);
    }
    assert_eq!(
        findings.len(),
        2 * driftwatch::evaluate::controls_for(driftwatch::model::ResourceType::S3Bucket).count(),
        "every S3 bucket control for each of the two buckets"
    );

    // A later scan where the broken account is still broken deletes nothing.
    let reports = scan_once(&config, &store).await.expect("second scan");
    assert!(reports.iter().all(|r| r.drift.is_empty()), "{reports:?}");
}

async fn member_account(org: &aws_sdk_organizations::Client, name: &str) -> String {
    org.create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .expect("create account")
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id (moto creates accounts at once)")
        .to_string()
}

#[tokio::test]
async fn organization_member_accounts_are_discovered_and_scanned_through_the_audit_role() {
    use driftwatch::config::OrganizationConfig;

    let moto = Moto::start();
    let (store, url) = support::database().await;
    let org = aws_sdk_organizations::Client::new(&moto.sdk_config());
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    let payments = member_account(&org, "payments").await;
    let sandbox = member_account(&org, "sandbox").await;
    moto.s3()
        .create_bucket()
        .bucket("management-bucket")
        .send()
        .await
        .expect("management bucket");
    s3_as_role(&moto, &format!("arn:aws:iam::{payments}:role/audit"))
        .await
        .create_bucket()
        .bucket("payments-ledger")
        .send()
        .await
        .expect("payments bucket");

    let mut config = moto.config(&url, &["s3"]);
    config.accounts = vec![AccountConfig {
        name: Some("management".into()),
        organization: Some(OrganizationConfig {
            role_name: "audit".into(),
            exclude: vec![sandbox.clone()],
            ..OrganizationConfig::default()
        }),
        ..AccountConfig::default()
    }];
    assert_eq!(config.validate(), vec![]);

    let reports = scan_once(&config, &store).await.expect("scan");
    assert_eq!(
        summary(&reports),
        vec![
            ("management", ACCOUNT_ID, ScanStatus::Ok, 1),
            ("payments", payments.as_str(), ScanStatus::Ok, 1),
        ],
        "the excluded sandbox account is not scanned"
    );
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let ledger: Vec<_> = findings
        .iter()
        .filter(|f| f.arn.ends_with("payments-ledger"))
        .collect();
    assert_eq!(
        ledger.len(),
        driftwatch::evaluate::controls_for(driftwatch::model::ResourceType::S3Bucket).count()
    );
    assert!(ledger.iter().all(|f| f.account_id == payments));

    // Excluding the management account scans only its members.
    config.accounts[0]
        .organization
        .as_mut()
        .expect("organization")
        .exclude = vec![ACCOUNT_ID.into(), sandbox];
    let reports = scan_once(&config, &store).await.expect("members only");
    let scanned: Vec<&str> = reports
        .iter()
        .map(|r| r.scope.account_id.as_str())
        .collect();
    assert_eq!(scanned, vec![payments.as_str()]);
}

#[tokio::test]
async fn an_organization_that_cannot_be_listed_is_a_failed_scope_not_an_empty_one() {
    use driftwatch::config::OrganizationConfig;
    use support::fault_proxy::{Action, Fault, FaultProxy};

    let moto = Moto::start();
    let (store, url) = support::database().await;
    let org = aws_sdk_organizations::Client::new(&moto.sdk_config());
    org.create_organization()
        .send()
        .await
        .expect("create organization");
    let member = member_account(&org, "payments").await;
    let proxy = FaultProxy::start(&moto.endpoint).await;
    // The credentials lack organizations:ListAccounts.
    proxy.inject(
        Fault::new(Action::AccessDenied)
            .service("organizations")
            .operation("ListAccounts"),
    );
    let mut config = moto.config(&url, &["s3"]);
    config.aws.endpoint_url = Some(proxy.endpoint.clone());
    config.accounts = vec![AccountConfig {
        name: Some("management".into()),
        organization: Some(OrganizationConfig {
            role_name: "audit".into(),
            ..OrganizationConfig::default()
        }),
        ..AccountConfig::default()
    }];
    let reports = scan_once(&config, &store).await.expect("scan");
    let summary: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.scope.collector.as_str(),
                r.scope.account_id.as_str(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("s3", ACCOUNT_ID, ScanStatus::Ok),
            ("organizations", ACCOUNT_ID, ScanStatus::Failed),
        ],
        "the member {member} cannot be known, and the gap is recorded"
    );
    let error = reports[1].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("ListAccounts: AccessDeniedException"),
        "{error}"
    );
    assert_eq!(
        proxy.seen().iter().filter(|s| s.faulted).count(),
        1,
        "access denied is not retried"
    );
}
