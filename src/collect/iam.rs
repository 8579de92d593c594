//! IAM, account-wide (IAM is global: asked in the account's home region):
//! the credential report joined with GetAccountAuthorizationDetails, so an
//! account of any size costs the same handful of calls, never one per user.
//!
//! Records: `iam.account` (root user, account summary flags, password
//! policy, root's virtual MFA, support roles), `iam.user`, `iam.role`,
//! `iam.group`, `iam.policy` (customer managed, default version document)
//! and `iam.server_certificate`. A credential report that cannot be read
//! fails the records built on it (user and account): their controls are
//! `unknown`, never pass.

use super::arn::{Arn, not_described};
use super::{AwsAccount, Collection, Described, GLOBAL_SCOPE, describe_error};
use crate::model::{
    IamAccessKey, IamAccount, IamCredentials, IamGroup, IamInlinePolicy, IamPassword,
    IamPasswordPolicy, IamPolicy, IamRole, IamServerCertificate, IamUser, ResourceRecord,
    ResourceType, partition_for_region,
};
use crate::retry::Backoff;
use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::primitives::DateTimeFormat;
use aws_sdk_iam::types::{AttachedPolicy, EntityType, PolicyDetail, ReportStateType};
use aws_sdk_s3::error::ProvideErrorMetadata;
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const NAME: &str = "iam";

pub static COLLECTOR: super::Collector = super::Collector {
    name: NAME,
    scope: super::CollectorScope::AccountWide,
    resource_types: &[
        ResourceType::IamAccount,
        ResourceType::IamUser,
        ResourceType::IamRole,
        ResourceType::IamGroup,
        ResourceType::IamPolicy,
        ResourceType::IamServerCertificate,
    ],
    iam_actions: IAM_ACTIONS,
    collect: |account, _region, _concurrency| Box::pin(collect(account)),
    describe: |account, arn| Box::pin(describe(account, arn)),
    scope_derived_fields: &[],
};

pub const IAM_ACTIONS: &[&str] = &[
    "iam:GenerateCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountPasswordPolicy",
    "iam:GetAccountSummary",
    "iam:GetCredentialReport",
    "iam:ListServerCertificates",
    "iam:ListVirtualMFADevices",
    "sts:GetCallerIdentity",
];

/// The AWS managed policy CIS 1.16 asks to see attached to a role.
const SUPPORT_POLICY: &str = "AWSSupportAccess";

/// How long a scan waits for IAM to finish generating the credential
/// report (usually seconds) before the records built on it are failed.
const REPORT_WAIT: Duration = Duration::from_secs(30);
const REPORT_POLL: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));

/// The credential report's name for the root user's row.
const ROOT_ROW: &str = "<root_account>";

fn client(account: &AwsAccount) -> aws_sdk_iam::Client {
    let home = super::s3::home_region(account);
    crate::counted_client!(aws_sdk_iam, "iam", &account.in_region(&home))
}

pub async fn collect(account: &AwsAccount) -> Collection {
    let started_at = account.clock.now();
    let iam = client(account);
    let entities = [
        EntityType::User,
        EntityType::Role,
        EntityType::Group,
        EntityType::LocalManagedPolicy,
    ];
    let (report, details, settings, certificates) = tokio::join!(
        credential_report(&iam),
        authorization_details(&iam, &entities),
        account_settings(&iam),
        server_certificates(&iam),
    );
    let listing = details.map(|details| {
        let mut records = vec![account_record(account, &report, settings, &details)];
        records.extend(user_records(&details, &report));
        records.extend(details.roles.iter().map(role_record));
        records.extend(details.groups.iter().map(group_record));
        records.extend(details.policies.iter().map(policy_record));
        records
    });
    let mut collection = Collection::finish(NAME, GLOBAL_SCOPE, started_at, &account.clock, listing);
    match certificates {
        Ok(certificates) => {
            if collection.listing.is_ok() {
                collection
                    .resources
                    .extend(certificates.iter().map(certificate_record));
                collection.resources.sort_by(|a, b| a.arn.cmp(&b.arn));
            }
        }
        // The other records stand; the scan is incomplete, so no
        // certificate is reported deleted.
        Err(reason) => collection.warnings.push(reason),
    }
    collection
}

/// Re-collects one IAM resource by ARN with the same calls and record
/// builders a scan uses, narrowed to its entity type.
pub async fn describe(account: &AwsAccount, arn: &str) -> Described {
    let parsed = Arn::parse(arn)?.of_service(arn, "iam")?;
    if !parsed.region.is_empty() {
        return Err(not_described(arn, &COLLECTOR));
    }
    if parsed.account != account.account_id {
        return Err(format!(
            "ARN {arn} belongs to account {:?}, not to {} ({})",
            parsed.account, account.account_id, account.name
        ));
    }
    let home = super::s3::home_region(account);
    parsed.in_partition(arn, partition_for_region(&home))?;
    let kind = parsed.resource.split('/').next().unwrap_or_default();
    let named = parsed.resource.len() > kind.len() + 1 && !parsed.resource.ends_with('/');
    let iam = client(account);
    let failed = |reason: String| format!("{arn}: {reason}");
    let found = match (kind, named) {
        ("root", false) if parsed.resource == "root" => {
            let (report, details, settings) = tokio::join!(
                credential_report(&iam),
                authorization_details(&iam, &[EntityType::Role]),
                account_settings(&iam),
            );
            let details = details.map_err(failed)?;
            Some(account_record(account, &report, settings, &details))
        }
        ("user", true) => {
            let (report, details) = tokio::join!(
                credential_report(&iam),
                authorization_details(&iam, &[EntityType::User]),
            );
            user_records(&details.map_err(failed)?, &report)
                .into_iter()
                .find(|r| r.arn == arn)
        }
        ("role", true) => authorization_details(&iam, &[EntityType::Role])
            .await
            .map_err(failed)?
            .roles
            .iter()
            .find(|r| r.arn == arn)
            .map(role_record),
        ("group", true) => authorization_details(&iam, &[EntityType::Group])
            .await
            .map_err(failed)?
            .groups
            .iter()
            .find(|g| g.arn == arn)
            .map(group_record),
        ("policy", true) => authorization_details(&iam, &[EntityType::LocalManagedPolicy])
            .await
            .map_err(failed)?
            .policies
            .iter()
            .find(|p| p.arn == arn)
            .map(policy_record),
        ("server-certificate", true) => server_certificates(&iam)
            .await
            .map_err(failed)?
            .iter()
            .find(|c| c.arn == arn)
            .map(certificate_record),
        _ => return Err(not_described(arn, &COLLECTOR)),
    };
    Ok(found)
}

// ---- the credential report -------------------------------------------

/// Each row of the credential report by user name (`<root_account>` for
/// root), or why the report could not be read.
type Report = Result<BTreeMap<String, Result<IamCredentials, String>>, String>;

async fn credential_report(iam: &aws_sdk_iam::Client) -> Report {
    generated(iam).await?;
    let output = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| format!("GetCredentialReport: {}", describe_error(&e)))?;
    let content = output
        .content()
        .ok_or("GetCredentialReport: the answer has no report content")?;
    parse_report(content.as_ref())
}

/// Asks IAM to (re)generate the report and polls until it is COMPLETE,
/// for at most [`REPORT_WAIT`]. IAM answers COMPLETE at once while its
/// last report is less than four hours old.
async fn generated(iam: &aws_sdk_iam::Client) -> Result<(), String> {
    let deadline = Instant::now() + REPORT_WAIT;
    let mut backoff = REPORT_POLL;
    loop {
        let output = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| format!("GenerateCredentialReport: {}", describe_error(&e)))?;
        if output.state() == Some(&ReportStateType::Complete) {
            return Ok(());
        }
        let delay = backoff.next_delay();
        if Instant::now() + delay > deadline {
            return Err(format!(
                "the credential report was not ready within {} seconds (state {:?})",
                REPORT_WAIT.as_secs(),
                output.state().map(|s| s.as_str())
            ));
        }
        tokio::time::sleep(delay).await;
    }
}

/// The report's CSV, by its documented column names (not positions: AWS
/// may add columns).
pub fn parse_report(content: &[u8]) -> Report {
    let mut reader = csv::Reader::from_reader(content);
    let headers = reader
        .headers()
        .map_err(|e| format!("credential report header: {e}"))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let user = column("user").ok_or("credential report has no `user` column")?;
    let mut rows = BTreeMap::new();
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| format!("credential report row {}: {e}", line + 1))?;
        let field = |name: &str| column(name).and_then(|i| row.get(i));
        let name = row.get(user).unwrap_or_default().to_string();
        rows.insert(name, credentials(&field));
    }
    Ok(rows)
}

fn credentials<'r>(field: &impl Fn(&str) -> Option<&'r str>) -> Result<IamCredentials, String> {
    let required = |name: &str| field(name).ok_or_else(|| format!("no `{name}` column"));
    let created =
        date(required("user_creation_time")?)?.ok_or("user_creation_time is not a date")?;
    // Root's `password_enabled` is `not_supported`: root always has a
    // password, and its `password_last_used` is real.
    let password = match required("password_enabled")? {
        "true" | "TRUE" | "not_supported" => Some(IamPassword {
            last_used: date(required("password_last_used")?)?,
            last_changed: date(required("password_last_changed")?)?,
        }),
        "false" | "FALSE" => None,
        other => return Err(format!("password_enabled is {other:?}")),
    };
    let mut access_keys = Vec::new();
    for slot in [1u8, 2] {
        let key = |what: &str| required(&format!("access_key_{slot}_{what}"));
        // `N/A`: the slot holds no key.
        if let Some(last_rotated) = date(key("last_rotated")?)? {
            access_keys.push(IamAccessKey {
                slot,
                active: flag(key("active")?)?,
                last_rotated,
                last_used: date(key("last_used_date")?)?,
            });
        }
    }
    Ok(IamCredentials {
        created,
        password,
        mfa_active: flag(required("mfa_active")?)?,
        access_keys,
    })
}

fn flag(value: &str) -> Result<bool, String> {
    match value {
        "true" | "TRUE" => Ok(true),
        "false" | "FALSE" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// An ISO 8601 time of the report to its day; the documented "no date"
/// values (`N/A`: not applicable or never, `no_information`: never or not
/// since IAM began tracking, `not_supported`: root has no such value) are
/// `None`. Anything else is an error, never silently "never used".
fn date(value: &str) -> Result<Option<NaiveDate>, String> {
    match value {
        "N/A" | "no_information" | "not_supported" => Ok(None),
        text => chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| Some(at.with_timezone(&Utc).date_naive()))
            .map_err(|e| format!("{text:?} is not a date: {e}")),
    }
}

// ---- account settings --------------------------------------------------

/// What the account record reads besides the report and the roles.
struct AccountSettings {
    root_mfa_enabled: bool,
    root_access_keys_present: bool,
    root_virtual_mfa_devices: Vec<String>,
    password_policy: Option<IamPasswordPolicy>,
}

async fn account_settings(iam: &aws_sdk_iam::Client) -> Result<AccountSettings, String> {
    let (summary, policy, devices) = tokio::join!(
        iam.get_account_summary().send(),
        password_policy(iam),
        root_virtual_mfa_devices(iam),
    );
    let summary = summary.map_err(|e| format!("GetAccountSummary: {}", describe_error(&e)))?;
    let summary = summary.summary_map();
    let present = |key| {
        summary
            .and_then(|m| m.get(&key).copied())
            .ok_or_else(|| format!("GetAccountSummary has no {}", key.as_str()))
            .map(|n| n > 0)
    };
    use aws_sdk_iam::types::SummaryKeyType;
    Ok(AccountSettings {
        root_mfa_enabled: present(SummaryKeyType::AccountMfaEnabled)?,
        root_access_keys_present: present(SummaryKeyType::AccountAccessKeysPresent)?,
        root_virtual_mfa_devices: devices?,
        password_policy: policy?,
    })
}

/// `None` when the account has no password policy (NoSuchEntity): a state.
async fn password_policy(iam: &aws_sdk_iam::Client) -> Result<Option<IamPasswordPolicy>, String> {
    match iam.get_account_password_policy().send().await {
        Ok(output) => {
            let policy = output
                .password_policy()
                .ok_or("GetAccountPasswordPolicy: the answer has no policy")?;
            Ok(Some(IamPasswordPolicy {
                minimum_length: policy.minimum_password_length().unwrap_or(6),
                reuse_prevention: policy.password_reuse_prevention(),
                require_symbols: policy.require_symbols(),
                require_numbers: policy.require_numbers(),
                require_uppercase: policy.require_uppercase_characters(),
                require_lowercase: policy.require_lowercase_characters(),
                max_age_days: policy.max_password_age(),
            }))
        }
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(format!("GetAccountPasswordPolicy: {}", describe_error(&e))),
    }
}

/// Serial numbers of the assigned virtual MFA devices whose user is root
/// (its ARN ends in `:root`): CIS 1.5's test that root's MFA is hardware.
async fn root_virtual_mfa_devices(iam: &aws_sdk_iam::Client) -> Result<Vec<String>, String> {
    let mut serials = Vec::new();
    let mut pages = iam
        .list_virtual_mfa_devices()
        .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListVirtualMFADevices: {}", describe_error(&e)))?;
        serials.extend(
            page.virtual_mfa_devices()
                .iter()
                .filter(|d| d.user().is_some_and(|u| u.arn().ends_with(":root")))
                .map(|d| d.serial_number().to_string()),
        );
    }
    serials.sort();
    Ok(serials)
}

// ---- authorization details ----------------------------------------------

struct Principal {
    name: String,
    arn: String,
    attached_policies: Vec<String>,
    inline_policies: Vec<IamInlinePolicy>,
    groups: Vec<String>,
}

struct ManagedPolicy {
    name: String,
    arn: String,
    attachment_count: i32,
    default_version: String,
    document: Option<serde_json::Value>,
}

#[derive(Default)]
struct Details {
    users: Vec<Principal>,
    roles: Vec<Principal>,
    groups: Vec<Principal>,
    policies: Vec<ManagedPolicy>,
}

async fn authorization_details(
    iam: &aws_sdk_iam::Client,
    entities: &[EntityType],
) -> Result<Details, String> {
    let mut details = Details::default();
    let mut pages = iam
        .get_account_authorization_details()
        .set_filter(Some(entities.to_vec()))
        .max_items(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("GetAccountAuthorizationDetails: {}", describe_error(&e)))?;
        add_page(&mut details, &page);
    }
    Ok(details)
}

fn add_page(details: &mut Details, page: &GetAccountAuthorizationDetailsOutput) {
    let text = |value: Option<&str>| value.unwrap_or_default().to_string();
    details
        .users
        .extend(page.user_detail_list().iter().map(|u| {
            let mut groups: Vec<String> = u.group_list().to_vec();
            groups.sort();
            Principal {
                name: text(u.user_name()),
                arn: text(u.arn()),
                attached_policies: attached(u.attached_managed_policies()),
                inline_policies: inline(u.user_policy_list()),
                groups,
            }
        }));
    details
        .roles
        .extend(page.role_detail_list().iter().map(|r| Principal {
            name: text(r.role_name()),
            arn: text(r.arn()),
            attached_policies: attached(r.attached_managed_policies()),
            inline_policies: inline(r.role_policy_list()),
            groups: Vec::new(),
        }));
    details
        .groups
        .extend(page.group_detail_list().iter().map(|g| Principal {
            name: text(g.group_name()),
            arn: text(g.arn()),
            attached_policies: attached(g.attached_managed_policies()),
            inline_policies: inline(g.group_policy_list()),
            groups: Vec::new(),
        }));
    details.policies.extend(page.policies().iter().map(|p| {
        let default_version = text(p.default_version_id());
        let document = p
            .policy_version_list()
            .iter()
            .find(|v| v.is_default_version() || v.version_id() == Some(default_version.as_str()))
            .and_then(|v| v.document())
            .map(decode_policy);
        ManagedPolicy {
            name: text(p.policy_name()),
            arn: text(p.arn()),
            attachment_count: p.attachment_count().unwrap_or(0),
            default_version,
            document,
        }
    }));
}

fn attached(policies: &[AttachedPolicy]) -> Vec<String> {
    let mut arns: Vec<String> = policies
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect();
    arns.sort();
    arns
}

fn inline(policies: &[PolicyDetail]) -> Vec<IamInlinePolicy> {
    let mut policies: Vec<IamInlinePolicy> = policies
        .iter()
        .map(|p| IamInlinePolicy {
            name: p.policy_name().unwrap_or_default().to_string(),
            document: p
                .policy_document()
                .map(decode_policy)
                .unwrap_or(serde_json::Value::Null),
        })
        .collect();
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    policies
}

/// IAM returns policy documents URL-encoded (RFC 3986): decoded and read
/// as JSON; text that is not JSON is kept verbatim as a string so the rule
/// can say why it cannot read it.
pub fn decode_policy(encoded: &str) -> serde_json::Value {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or_else(|_| serde_json::Value::String(text.into_owned()))
}

// ---- records ---------------------------------------------------------------

fn resource<T: Serialize>(
    resource_type: ResourceType,
    arn: &str,
    name: &str,
    document: Result<T, String>,
) -> ResourceRecord {
    ResourceRecord {
        arn: arn.to_string(),
        resource_type,
        name: name.to_string(),
        region: GLOBAL_SCOPE.to_string(),
        document: document.and_then(|record| {
            crate::model::Document::of(&record)
                .map_err(|e| format!("cannot serialise {}: {e}", resource_type.label()))
        }),
    }
}

fn account_record(
    account: &AwsAccount,
    report: &Report,
    settings: Result<AccountSettings, String>,
    details: &Details,
) -> ResourceRecord {
    let partition = partition_for_region(&super::s3::home_region(account));
    let arn = format!("arn:{partition}:iam::{}:root", account.account_id);
    let document = report
        .as_ref()
        .map_err(|reason| format!("credential report: {reason}"))
        .and_then(|rows| rows.get(ROOT_ROW).cloned().transpose())
        .and_then(|root| {
            let settings = settings?;
            let mut support_roles: Vec<String> = details
                .roles
                .iter()
                .filter(|r| r.attached_policies.iter().any(|p| is_support_policy(p)))
                .map(|r| r.name.clone())
                .collect();
            support_roles.sort();
            Ok(IamAccount {
                account_id: account.account_id.clone(),
                arn: arn.clone(),
                root,
                root_mfa_enabled: settings.root_mfa_enabled,
                root_access_keys_present: settings.root_access_keys_present,
                root_virtual_mfa_devices: settings.root_virtual_mfa_devices,
                password_policy: settings.password_policy,
                support_roles,
            })
        });
    resource(ResourceType::IamAccount, &arn, &account.name, document)
}

/// `arn:<partition>:iam::aws:policy/AWSSupportAccess` (AWS managed policies
/// live in the `aws` account; any partition).
fn is_support_policy(arn: &str) -> bool {
    arn.split_once(":iam::aws:policy/")
        .is_some_and(|(_, name)| name.rsplit('/').next() == Some(SUPPORT_POLICY))
}

fn user_records(details: &Details, report: &Report) -> Vec<ResourceRecord> {
    details
        .users
        .iter()
        .map(|user| {
            let credentials =
                match report {
                    Ok(rows) => rows.get(&user.name).cloned().transpose().map_err(|reason| {
                        format!("credential report row of {}: {reason}", user.name)
                    }),
                    Err(reason) => Err(format!("credential report: {reason}")),
                };
            let document = credentials.map(|credentials| IamUser {
                name: user.name.clone(),
                arn: user.arn.clone(),
                credentials,
                attached_policies: user.attached_policies.clone(),
                inline_policies: user.inline_policies.clone(),
                groups: user.groups.clone(),
            });
            resource(ResourceType::IamUser, &user.arn, &user.name, document)
        })
        .collect()
}

fn role_record(role: &Principal) -> ResourceRecord {
    let record = IamRole {
        name: role.name.clone(),
        arn: role.arn.clone(),
        attached_policies: role.attached_policies.clone(),
        inline_policies: role.inline_policies.clone(),
    };
    resource(ResourceType::IamRole, &role.arn, &role.name, Ok(record))
}

fn group_record(group: &Principal) -> ResourceRecord {
    let record = IamGroup {
        name: group.name.clone(),
        arn: group.arn.clone(),
        attached_policies: group.attached_policies.clone(),
        inline_policies: group.inline_policies.clone(),
    };
    resource(ResourceType::IamGroup, &group.arn, &group.name, Ok(record))
}

fn policy_record(policy: &ManagedPolicy) -> ResourceRecord {
    let record = IamPolicy {
        name: policy.name.clone(),
        arn: policy.arn.clone(),
        attachment_count: policy.attachment_count,
        default_version: policy.default_version.clone(),
        document: policy.document.clone(),
    };
    resource(
        ResourceType::IamPolicy,
        &policy.arn,
        &policy.name,
        Ok(record),
    )
}

fn certificate_record(certificate: &IamServerCertificate) -> ResourceRecord {
    resource(
        ResourceType::IamServerCertificate,
        &certificate.arn,
        &certificate.name,
        Ok(certificate.clone()),
    )
}

async fn server_certificates(
    iam: &aws_sdk_iam::Client,
) -> Result<Vec<IamServerCertificate>, String> {
    let mut certificates = Vec::new();
    let mut pages = iam.list_server_certificates().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListServerCertificates: {}", describe_error(&e)))?;
        certificates.extend(page.server_certificate_metadata_list().iter().map(|m| {
            IamServerCertificate {
                name: m.server_certificate_name().to_string(),
                arn: m.arn().to_string(),
                expiration: m
                    .expiration()
                    .and_then(|at| at.fmt(DateTimeFormat::DateTime).ok()),
            }
        }));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_recorded_report_reads_root_and_users_with_the_documented_placeholders() {
        let report = format!(
            "{HEADER}\n\
             <root_account>,arn:aws:iam::123456789012:root,2019-01-01T00:00:00+00:00,not_supported,2026-11-30T10:11:12+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
             alice,arn:aws:iam::123456789012:user/alice,2024-05-01T08:00:00+00:00,true,no_information,2024-05-01T08:01:00+00:00,N/A,false,true,2024-05-02T00:00:00+00:00,N/A,N/A,N/A,false,2025-01-01T00:00:00+00:00,2025-02-03T23:59:59+00:00,us-east-1,s3,false,N/A,false,N/A\n"
        );
        let rows = parse_report(report.as_bytes()).expect("report");
        let root = rows[ROOT_ROW].clone().expect("root row");
        assert_eq!(
            root.password,
            Some(IamPassword {
                last_used: Some(day("2026-11-30")),
                last_changed: None,
            }),
            "root's password_enabled is not_supported, its last use real"
        );
        assert!(root.mfa_active);
        assert!(root.access_keys.is_empty(), "N/A slots hold no key");
        let alice = rows["alice"].clone().expect("alice");
        assert_eq!(
            alice.password,
            Some(IamPassword {
                last_used: None,
                last_changed: Some(day("2024-05-01")),
            })
        );
        assert_eq!(
            alice.access_keys,
            vec![
                IamAccessKey {
                    slot: 1,
                    active: true,
                    last_rotated: day("2024-05-02"),
                    last_used: None,
                },
                IamAccessKey {
                    slot: 2,
                    active: false,
                    last_rotated: day("2025-01-01"),
                    last_used: Some(day("2025-02-03")),
                },
            ]
        );
    }

    #[test]
    fn an_unexpected_value_fails_its_row_and_a_missing_column_the_report() {
        let report = format!(
            "{HEADER}\nbob,arn:aws:iam::1:user/bob,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        );
        let rows = parse_report(report.as_bytes()).expect("report");
        assert!(rows["bob"].is_err());
        assert!(parse_report(b"name,arn\nx,y\n").is_err());
    }

    #[test]
    fn policy_documents_are_url_decoded() {
        let decoded = decode_policy("%7B%22Version%22%3A%222012-10-17%22%7D");
        assert_eq!(decoded, serde_json::json!({ "Version": "2012-10-17" }));
        assert_eq!(decode_policy("not%20json"), serde_json::json!("not json"));
    }

    #[test]
    fn the_support_policy_is_recognised_in_any_partition_only_as_aws_managed() {
        assert!(is_support_policy(
            "arn:aws:iam::aws:policy/AWSSupportAccess"
        ));
        assert!(is_support_policy(
            "arn:aws-cn:iam::aws:policy/AWSSupportAccess"
        ));
        assert!(!is_support_policy(
            "arn:aws:iam::123456789012:policy/AWSSupportAccess"
        ));
        assert!(!is_support_policy(
            "arn:aws:iam::aws:policy/AWSSupportAccessX"
        ));
    }
}
