//! IAM on the emulator through the real SDK: the credential report joined
//! with the account authorization details, each control failing and then
//! passing as the account is fixed.
//!
//! moto gaps, tested at unit level in src/evaluate/iam.rs on recorded AWS
//! answers instead: its credential report has no `<root_account>` row
//! (`iam.root_not_used` is unknown here), GetAccountSummary always says
//! AccountMFAEnabled 0 and AccountAccessKeysPresent 0 (root MFA can only
//! fail, root keys only pass), root cannot be assigned an MFA device, and
//! every server certificate expires on 2012-05-08 (only the failure shows).
//! moto dates keys and passwords "now" and cannot move its clock, so the
//! ages are shown by judging the scanned records as of a later day.

mod support;

use driftwatch::collect::{self, AwsAccount};
use driftwatch::config::{AccountConfig, AwsConfig};
use driftwatch::evaluate::{FindingStatus, RuleSettings};
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use std::collections::BTreeMap;
use support::fault_proxy::{Action, Fault, FaultProxy};
use support::{Moto, REGION};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

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

async fn statuses(store: &driftwatch::store::Store) -> BTreeMap<(String, String), FindingStatus> {
    store
        .findings(&FindingFilter {
            status: None,
            ..FindingFilter::default()
        })
        .await
        .expect("findings")
        .into_iter()
        .map(|f| ((support::resource_name(&f.arn), f.control_id), f.status))
        .collect()
}

fn status<'a>(
    all: &'a BTreeMap<(String, String), FindingStatus>,
    name: &str,
    control: &str,
) -> Option<&'a FindingStatus> {
    all.get(&(name.to_string(), control.to_string()))
}

#[tokio::test]
async fn iam_controls_fail_and_pass_as_the_account_is_fixed() {
    use FindingStatus::{Pass, Unknown};
    // moto knows AWS managed policies (AWSSupportAccess) only when asked
    // to load them; the server inherits this process's environment.
    // SAFETY: set before the server starts; no other thread of this test
    // binary reads this variable.
    unsafe { std::env::set_var("MOTO_IAM_LOAD_MANAGED_POLICIES", "true") };
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    // alice: console password without MFA, two active keys, a policy of her own.
    iam.create_user()
        .user_name("alice")
        .send()
        .await
        .expect("alice");
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-9")
        .send()
        .await
        .expect("alice's password");
    let mut keys = Vec::new();
    for _ in 0..2 {
        let key = iam
            .create_access_key()
            .user_name("alice")
            .send()
            .await
            .expect("alice's key");
        keys.push(
            key.access_key()
                .map(|k| k.access_key_id().to_string())
                .expect("key id"),
        );
    }
    let policy = iam
        .create_policy()
        .policy_name("read-objects")
        .policy_document(READ_ONLY)
        .send()
        .await
        .expect("policy");
    let policy_arn = policy
        .policy()
        .and_then(|p| p.arn())
        .expect("policy arn")
        .to_string();
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("attach to alice");
    // bob: a member of a group, no credentials of his own.
    iam.create_user()
        .user_name("bob")
        .send()
        .await
        .expect("bob");
    iam.create_group()
        .group_name("readers")
        .send()
        .await
        .expect("group");
    iam.attach_group_policy()
        .group_name("readers")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("attach to group");
    iam.add_user_to_group()
        .group_name("readers")
        .user_name("bob")
        .send()
        .await
        .expect("bob joins");
    iam.update_account_password_policy()
        .minimum_password_length(8)
        .password_reuse_prevention(5)
        .send()
        .await
        .expect("weak password policy");
    iam.upload_server_certificate()
        .server_certificate_name("old-web")
        .certificate_body("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")
        .private_key("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----")
        .send()
        .await
        .expect("server certificate");

    // "*" on "*" from a managed policy attached to a group, and inline on a role.
    let admin = iam
        .create_policy()
        .policy_name("admin-all")
        .policy_document(ADMIN)
        .send()
        .await
        .expect("admin policy");
    let admin_arn = admin
        .policy()
        .and_then(|p| p.arn())
        .expect("arn")
        .to_string();
    iam.attach_group_policy()
        .group_name("readers")
        .policy_arn(&admin_arn)
        .send()
        .await
        .expect("attach admin to the group");
    iam.create_role()
        .role_name("deployer")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("deployer role");
    iam.put_role_policy()
        .role_name("deployer")
        .policy_name("everything")
        .policy_document(ADMIN)
        .send()
        .await
        .expect("inline admin");
    iam.attach_role_policy()
        .role_name("deployer")
        .policy_arn("arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
        .send()
        .await
        .expect("attach AWSCloudShellFullAccess");

    let config = moto.config(&url, &["iam"]);
    let reports = scan_once(&config, &store).await.expect("scan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    let all = statuses(&store).await;
    assert_eq!(
        support::failing(&store, support::resource_name).await,
        support::pairs(&[
            ("root", "iam.root_mfa"),
            ("root", "iam.root_hardware_mfa"),
            ("root", "iam.password_min_length"),
            ("root", "iam.password_reuse_prevention"),
            ("root", "iam.support_role"),
            ("alice", "iam.user_console_mfa"),
            ("alice", "iam.single_active_access_key"),
            ("alice", "iam.user_no_direct_policies"),
            // A console password and keys never used (moto's are all N/A).
            ("alice", "iam.no_unused_setup_access_keys"),
            ("old-web", "iam.server_certificates_not_expired"),
            ("deployer", "iam.no_cloudshell_full_access"),
            ("admin-all", "iam.no_full_admin_policy"),
            ("deployer", "iam.no_full_admin_policy"),
        ]),
        "{all:?}"
    );
    assert_eq!(status(&all, "root", "iam.root_no_access_keys"), Some(&Pass));
    assert_eq!(
        status(&all, "root", "iam.root_not_used"),
        Some(&Unknown),
        "no root row in moto"
    );
    assert_eq!(
        status(&all, "alice", "iam.unused_credentials_disabled"),
        Some(&Pass)
    );
    assert_eq!(
        status(&all, "alice", "iam.access_keys_rotated"),
        Some(&Pass)
    );
    assert_eq!(
        status(&all, "bob", "iam.user_no_direct_policies"),
        Some(&Pass)
    );
    assert_eq!(
        status(&all, "bob", "iam.single_active_access_key"),
        Some(&Pass)
    );
    assert_eq!(
        status(&all, "bob", "iam.user_console_mfa"),
        None,
        "no console password"
    );
    assert_eq!(
        status(&all, "read-objects", "iam.no_full_admin_policy"),
        Some(&Pass)
    );
    assert_eq!(
        status(&all, "readers", "iam.no_full_admin_policy"),
        Some(&Pass),
        "no inline policy"
    );

    // Fix what the API can fix.
    let device = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice")
        .send()
        .await
        .expect("virtual MFA device");
    let serial = device
        .virtual_mfa_device()
        .map(|d| d.serial_number().to_string())
        .expect("serial");
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("enable MFA");
    iam.update_access_key()
        .user_name("alice")
        .access_key_id(&keys[0])
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .expect("deactivate the old key");
    iam.update_access_key()
        .user_name("alice")
        .access_key_id(&keys[1])
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .expect("deactivate the key she never used");
    iam.detach_role_policy()
        .role_name("deployer")
        .policy_arn("arn:aws:iam::aws:policy/AWSCloudShellFullAccess")
        .send()
        .await
        .expect("detach AWSCloudShellFullAccess");
    iam.detach_user_policy()
        .user_name("alice")
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("detach");
    iam.update_account_password_policy()
        .minimum_password_length(14)
        .password_reuse_prevention(24)
        .send()
        .await
        .expect("CIS password policy");
    iam.create_role()
        .role_name("aws-support")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("support role");
    iam.attach_role_policy()
        .role_name("aws-support")
        .policy_arn("arn:aws:iam::aws:policy/AWSSupportAccess")
        .send()
        .await
        .expect("attach AWSSupportAccess");
    iam.delete_server_certificate()
        .server_certificate_name("old-web")
        .send()
        .await
        .expect("delete the expired certificate");

    iam.detach_group_policy()
        .group_name("readers")
        .policy_arn(&admin_arn)
        .send()
        .await
        .expect("detach admin");
    iam.put_role_policy()
        .role_name("deployer")
        .policy_name("everything")
        .policy_document(READ_ONLY)
        .send()
        .await
        .expect("narrow the inline policy");

    let reports = scan_once(&config, &store).await.expect("rescan");
    assert!(
        reports.iter().all(|r| r.status == ScanStatus::Ok),
        "{reports:?}"
    );
    let all = statuses(&store).await;
    assert_eq!(
        support::failing(&store, support::resource_name).await,
        support::pairs(&[("root", "iam.root_mfa"), ("root", "iam.root_hardware_mfa")]),
        "{all:?}"
    );
    for (name, control) in [
        ("root", "iam.password_min_length"),
        ("root", "iam.password_reuse_prevention"),
        ("root", "iam.support_role"),
        ("alice", "iam.user_console_mfa"),
        ("alice", "iam.single_active_access_key"),
        ("alice", "iam.user_no_direct_policies"),
        ("deployer", "iam.no_full_admin_policy"),
        ("alice", "iam.no_unused_setup_access_keys"),
        ("deployer", "iam.no_cloudshell_full_access"),
    ] {
        assert_eq!(status(&all, name, control), Some(&Pass), "{name} {control}");
    }
    // Attached to nothing, the policy is no longer judged (CIS 1.15 reads
    // attached policies).
    assert_eq!(status(&all, "admin-all", "iam.no_full_admin_policy"), None);
}

/// moto dates every key and password "now": the same scanned records,
/// judged 100 days later, show the idle and unrotated credentials failing,
/// an inactive key ignored.
#[tokio::test]
async fn credentials_age_against_the_collection_time() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    for user in ["carol", "dave"] {
        iam.create_user()
            .user_name(user)
            .send()
            .await
            .expect("user");
    }
    iam.create_access_key()
        .user_name("carol")
        .send()
        .await
        .expect("carol's key");
    iam.create_login_profile()
        .user_name("carol")
        .password("Correct-Horse-9")
        .send()
        .await
        .expect("password");
    let dave_key = iam
        .create_access_key()
        .user_name("dave")
        .send()
        .await
        .expect("dave's key");
    iam.update_access_key()
        .user_name("dave")
        .access_key_id(
            dave_key
                .access_key()
                .map(|k| k.access_key_id())
                .unwrap_or_default(),
        )
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .expect("deactivate");
    let account = account_at(&moto.endpoint).await;
    let collection = collect::iam::collect(&account).await;
    assert!(collection.is_complete(), "{collection:?}");
    let later = collection.finished_at + chrono::Duration::days(100);
    let judged = |name: &str, at| -> BTreeMap<String, FindingStatus> {
        let record = collection
            .resources
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{name} collected"));
        driftwatch::evaluate::evaluate(record, &RuleSettings::default(), at)
            .into_iter()
            .map(|e| (e.control_id.into_owned(), e.status))
            .collect()
    };
    let now = judged("carol", collection.finished_at);
    assert_eq!(now["iam.unused_credentials_disabled"], FindingStatus::Pass);
    assert_eq!(now["iam.access_keys_rotated"], FindingStatus::Pass);
    let then = judged("carol", later);
    assert_eq!(then["iam.unused_credentials_disabled"], FindingStatus::Fail);
    assert_eq!(then["iam.access_keys_rotated"], FindingStatus::Fail);
    let dave = judged("dave", later);
    assert_eq!(dave["iam.unused_credentials_disabled"], FindingStatus::Pass);
    assert_eq!(dave["iam.access_keys_rotated"], FindingStatus::Pass);
}

/// A credential report that cannot be read fails the records built on it
/// (their controls unknown, never pass); a failed authorization listing
/// fails the scan's listing, so nothing is reported deleted.
#[tokio::test]
async fn unreadable_inputs_are_unknown_never_pass() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    iam.create_user()
        .user_name("erin")
        .send()
        .await
        .expect("user");
    let proxy = FaultProxy::start(&moto.endpoint).await;
    let account = account_at(&proxy.endpoint).await;

    proxy.inject(Fault::new(Action::AccessDenied).operation("GetCredentialReport"));
    let collection = collect::iam::collect(&account).await;
    assert!(collection.listing.is_ok(), "{:?}", collection.listing);
    for record in &collection.resources {
        let depends = matches!(
            record.resource_type,
            driftwatch::model::ResourceType::IamUser | driftwatch::model::ResourceType::IamAccount
        );
        match &record.document {
            Err(reason) if depends => assert!(reason.contains("GetCredentialReport"), "{reason}"),
            Ok(_) if !depends => {}
            other => panic!("{}: {other:?}", record.arn),
        }
        if depends {
            let evaluations = driftwatch::evaluate::evaluate(
                record,
                &RuleSettings::default(),
                chrono::Utc::now(),
            );
            assert!(!evaluations.is_empty());
            assert!(
                evaluations
                    .iter()
                    .all(|e| e.status == FindingStatus::Unknown)
            );
        }
    }
    proxy.clear();

    proxy.inject(Fault::new(Action::AccessDenied).operation("GetAccountPasswordPolicy"));
    let collection = collect::iam::collect(&account).await;
    let root = collection
        .resources
        .iter()
        .find(|r| r.arn.ends_with(":root"))
        .expect("the account record");
    assert!(
        root.document
            .as_ref()
            .is_err_and(|e| e.contains("GetAccountPasswordPolicy")),
        "{root:?}"
    );
    proxy.clear();

    proxy.inject(Fault::new(Action::AccessDenied).operation("GetAccountAuthorizationDetails"));
    let collection = collect::iam::collect(&account).await;
    assert!(collection.listing.is_err(), "{collection:?}");
    assert!(!collection.is_complete());
    proxy.clear();

    proxy.inject(Fault::new(Action::AccessDenied).operation("ListServerCertificates"));
    let collection = collect::iam::collect(&account).await;
    assert!(collection.listing.is_ok());
    assert!(
        !collection.is_complete(),
        "no certificate may be reported deleted"
    );
    assert!(collection.resources.iter().any(|r| r.name == "erin"));
}
