//! IAM controls of CIS AWS Foundations v5.0 section 1, from the credential
//! report, the account summary, the password policy, the virtual MFA
//! devices and the account authorization details. Ages are judged in whole
//! days against when the record was collected (`Subject::observed_at`).

use super::catalog::{Control, DaysSetting, Remediation, Setting};
use super::{Severity, Subject, Verdict};
use crate::model::{
    IamAccessKey, IamAccount, IamCredentials, IamGroup, IamInlinePolicy, IamPolicy, IamRole,
    IamServerCertificate, IamUser, ResourceType,
};
use chrono::NaiveDate;
use serde_json::json;

/// `iam.root_not_used`: how recent a use of root fails.
static ROOT_QUIET_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "days",
    help: "root must not have signed in or used an access key in this many days",
    default: 30,
    min: 1,
    max: 365,
    range_reason: "the credential report keeps last use for longer, a year is a generous window",
};

/// `iam.unused_credentials_disabled`: CIS 1.11's 45 days.
static UNUSED_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "days",
    help: "a password or active access key unused for this many days fails",
    default: 45,
    min: 1,
    max: 365,
    range_reason: "beyond a year an unused credential is not a judgement call",
};

/// `iam.access_keys_rotated`: CIS 1.13's 90 days.
static KEY_MAX_AGE_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "days",
    help: "an active access key created or rotated longer ago than this many days fails",
    default: 90,
    min: 1,
    max: 365,
    range_reason: "beyond a year is no rotation policy",
};

/// `iam.password_min_length`: a count of characters, not days; IAM accepts
/// 6 to 128.
static MIN_PASSWORD_LENGTH: DaysSetting = DaysSetting {
    unit: "characters",
    name: "min_length",
    help: "the fewest characters the password policy must require (CIS: 14)",
    default: 14,
    min: 6,
    max: 128,
    range_reason: "IAM's own range for MinimumPasswordLength",
};

/// `iam.password_reuse_prevention`: a count of passwords; IAM accepts 1 to 24.
static MIN_REUSE_PREVENTION: DaysSetting = DaysSetting {
    unit: "passwords",
    name: "min_remembered",
    help: "the fewest previous passwords the policy must prevent reusing (CIS: 24)",
    default: 24,
    min: 1,
    max: 24,
    range_reason: "IAM's own range for PasswordReusePrevention",
};

const ROOT_REMEDIATION_KEYS: Remediation = Remediation {
    console: "Sign in as root > account menu > Security credentials > Access keys: make each key inactive, then delete it.",
    cli: "aws iam delete-access-key --access-key-id <key_id> (signed with root's own credentials: IAM users cannot remove root's keys)",
    terraform: "not manageable in Terraform: delete root's keys as root in the console",
};

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "iam.root_no_access_keys",
        title: "The root user has no access keys (CIS 1.3)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::Critical,
        rationale: "Root's access keys carry every permission in the account, cannot be restricted by any IAM policy, and are the most valuable credential an attacker can find in code, CI variables or a laptop. Nothing needs them: every task has an IAM role or user alternative.",
        remediation: ROOT_REMEDIATION_KEYS,
        settings: &[],
        rule: |subject, _| subject.get().map(root_no_access_keys),
    },
    Control {
        id: "iam.root_mfa",
        title: "The root user has MFA (CIS 1.4)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::Critical,
        rationale: "Root can do anything, including closing the account and changing its contact details. With MFA, a phished or leaked root password alone does not get in.",
        remediation: Remediation {
            console: "Sign in as root > account menu > Security credentials > Multi-factor authentication (MFA) > Assign MFA device, follow the steps.",
            cli: "aws iam create-virtual-mfa-device and aws iam enable-mfa-device, signed as root (a hardware key is assigned in the console)",
            terraform: "not manageable in Terraform for root: assign the device in the console",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(root_mfa),
    },
    Control {
        id: "iam.root_hardware_mfa",
        title: "The root user's MFA is a hardware device, not a virtual one (CIS 1.5)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::High,
        rationale: "A virtual MFA lives on a phone that can be lost, cloned or compromised along with the email used to recover it. CIS asks for a dedicated hardware device for the account's most powerful identity. The API shows a virtual device assigned to root; root with MFA and no virtual device has a hardware one.",
        remediation: Remediation {
            console: "Sign in as root > Security credentials > Multi-factor authentication (MFA) > Assign MFA device > Passkey or security key / Hardware TOTP token; then remove the virtual (Authenticator app) device.",
            cli: "aws iam deactivate-mfa-device --serial-number <virtual_serial> (as root, after assigning the hardware device in the console)",
            terraform: "not manageable in Terraform for root",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(root_hardware_mfa),
    },
    Control {
        id: "iam.root_not_used",
        title: "The root user has not been used in the last 30 days (CIS 1.6)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::High,
        rationale: "Root is for the handful of tasks only root can do; using it for daily work bypasses every IAM boundary, leaves no per-person trail and multiplies the chances of exposing it. A recent root sign-in or key use is either one of those rare tasks or a problem to look into.",
        remediation: Remediation {
            console: "Use IAM Identity Center or IAM users/roles for daily work; review CloudTrail for root's recent events (userIdentity.type = Root) and lock root's credentials away.",
            cli: "aws iam generate-credential-report && aws iam get-credential-report (the <root_account> row's password_last_used, access_key_N_last_used_date)",
            terraform: "not a resource: a practice, evidenced by the credential report",
        },
        settings: &[Setting::Days(&ROOT_QUIET_DAYS)],
        rule: |subject, settings| {
            let days = ROOT_QUIET_DAYS.get(settings);
            subject
                .get()
                .map(|account| root_not_used(account, today(subject), days))
        },
    },
    Control {
        id: "iam.password_min_length",
        title: "The password policy requires at least 14 characters (CIS 1.7)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::Medium,
        rationale: "Length is what makes a password expensive to guess or crack. Without a policy IAM accepts 8 characters; CIS asks for 14.",
        remediation: Remediation {
            console: "IAM console > Account settings > Password policy > Edit > Custom > Password minimum length: 14, then Save changes.",
            cli: "aws iam update-account-password-policy --minimum-password-length 14 --password-reuse-prevention 24 (the call replaces the whole policy: pass every setting you keep)",
            terraform: "aws_iam_account_password_policy: minimum_password_length = 14",
        },
        settings: &[Setting::Days(&MIN_PASSWORD_LENGTH)],
        rule: |subject, settings| {
            let min = MIN_PASSWORD_LENGTH.get(settings);
            subject
                .get()
                .map(|account| password_min_length(account, min))
        },
    },
    Control {
        id: "iam.password_reuse_prevention",
        title: "The password policy prevents reusing the last 24 passwords (CIS 1.8)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::Medium,
        rationale: "Without reuse prevention a forced change can go straight back to the old, possibly leaked, password. CIS asks IAM to remember 24, its maximum.",
        remediation: Remediation {
            console: "IAM console > Account settings > Password policy > Edit > Custom > Prevent password reuse: 24, then Save changes.",
            cli: "aws iam update-account-password-policy --password-reuse-prevention 24 --minimum-password-length 14 (the call replaces the whole policy: pass every setting you keep)",
            terraform: "aws_iam_account_password_policy: password_reuse_prevention = 24",
        },
        settings: &[Setting::Days(&MIN_REUSE_PREVENTION)],
        rule: |subject, settings| {
            let min = MIN_REUSE_PREVENTION.get(settings);
            subject
                .get()
                .map(|account| password_reuse_prevention(account, min))
        },
    },
    Control {
        id: "iam.support_role",
        title: "A role with AWSSupportAccess exists to manage incidents with AWS Support (CIS 1.16)",
        resource_types: &[ResourceType::IamAccount],
        default_severity: Severity::Low,
        rationale: "Opening and following AWS Support cases during an incident should be something a named role can do with least privilege, not a reason to hand out broader rights or use root. CIS asks for a role with the AWS managed AWSSupportAccess policy.",
        remediation: Remediation {
            console: "IAM console > Roles > Create role > trusted entity: your account (or an IdP) > permissions: AWSSupportAccess > name it (for example aws-support) > Create role.",
            cli: "aws iam create-role --role-name aws-support --assume-role-policy-document file://trust.json && aws iam attach-role-policy --role-name aws-support --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess",
            terraform: "aws_iam_role + aws_iam_role_policy_attachment: policy_arn = \"arn:aws:iam::aws:policy/AWSSupportAccess\"",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(support_role),
    },
    Control {
        id: "iam.user_console_mfa",
        title: "Every IAM user with a console password has MFA (CIS 1.9)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::High,
        rationale: "A console password alone falls to phishing, reuse and guessing. MFA makes a stolen password insufficient to sign in.",
        remediation: Remediation {
            console: "IAM console > Users > user > Security credentials > Multi-factor authentication (MFA) > Assign MFA device.",
            cli: "aws iam create-virtual-mfa-device --virtual-mfa-device-name <user> --outfile qr.png --bootstrap-method QRCodePNG && aws iam enable-mfa-device --user-name <user> --serial-number <arn> --authentication-code1 <c1> --authentication-code2 <c2>",
            terraform: "aws_iam_virtual_mfa_device + aws_iam_user_mfa_device (or enforce with a policy denying actions without aws:MultiFactorAuthPresent)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(user_console_mfa),
    },
    Control {
        id: "iam.unused_credentials_disabled",
        title: "Passwords and active access keys unused for 45 days are disabled (CIS 1.11)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::Medium,
        rationale: "A credential nobody uses is one nobody would notice being used by someone else. Disabling passwords and keys after 45 idle days shrinks the window in which a leaked or forgotten credential works. Never-used credentials count from when they were set (password last changed, key created).",
        remediation: Remediation {
            console: "IAM console > Users > user > Security credentials: Console access > Manage > Disable; Access keys > Actions > Deactivate (then delete).",
            cli: "aws iam delete-login-profile --user-name <user>; aws iam update-access-key --user-name <user> --access-key-id <key_id> --status Inactive",
            terraform: "remove the aws_iam_user_login_profile / set aws_iam_access_key status = \"Inactive\"",
        },
        settings: &[Setting::Days(&UNUSED_DAYS)],
        rule: |subject, settings| {
            let days = UNUSED_DAYS.get(settings);
            subject
                .get()
                .map(|user| unused_credentials(user, today(subject), days))
        },
    },
    Control {
        id: "iam.single_active_access_key",
        title: "No IAM user has more than one active access key (CIS 1.12)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::Low,
        rationale: "Two active keys are a rotation that was never finished: the old key stays valid, in whatever places it was copied to. One active key per user (the second only during a rotation) keeps every key accounted for.",
        remediation: Remediation {
            console: "IAM console > Users > user > Security credentials > Access keys: deactivate the key no longer in use, then delete it.",
            cli: "aws iam update-access-key --user-name <user> --access-key-id <old_key_id> --status Inactive && aws iam delete-access-key --user-name <user> --access-key-id <old_key_id>",
            terraform: "keep a single aws_iam_access_key per aws_iam_user",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(single_active_access_key),
    },
    Control {
        id: "iam.access_keys_rotated",
        title: "Active access keys are rotated within 90 days (CIS 1.13)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::Medium,
        rationale: "A long-lived key has had more time to be copied into scripts, images and logs. Rotating it every 90 days bounds how long a leaked key keeps working.",
        remediation: Remediation {
            console: "IAM console > Users > user > Security credentials > Create access key; move the workload to it, then deactivate and delete the old key.",
            cli: "aws iam create-access-key --user-name <user>, switch over, then aws iam update-access-key --status Inactive and aws iam delete-access-key for the old key",
            terraform: "aws_iam_access_key: replace the resource (taint or a rotating key name) at least every 90 days; prefer roles",
        },
        settings: &[Setting::Days(&KEY_MAX_AGE_DAYS)],
        rule: |subject, settings| {
            let days = KEY_MAX_AGE_DAYS.get(settings);
            subject
                .get()
                .map(|user| access_keys_rotated(user, today(subject), days))
        },
    },
    Control {
        id: "iam.user_no_direct_policies",
        title: "IAM users receive permissions only through groups (CIS 1.14)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::Low,
        rationale: "Permissions attached to individual users drift: each user ends up with a unique set nobody reviews. Granting through groups (or roles) makes access follow job function and keeps reviews tractable.",
        remediation: Remediation {
            console: "IAM console > Users > user > Permissions: add the user to a group that carries the permissions, then Remove each directly attached and inline policy.",
            cli: "aws iam add-user-to-group --user-name <user> --group-name <group>; aws iam detach-user-policy --user-name <user> --policy-arn <arn>; aws iam delete-user-policy --user-name <user> --policy-name <name>",
            terraform: "aws_iam_group_policy_attachment + aws_iam_user_group_membership instead of aws_iam_user_policy(_attachment)",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(user_no_direct_policies),
    },
    Control {
        id: "iam.no_unused_setup_access_keys",
        title: "Console users hold no access key that was never used (CIS 1.10)",
        resource_types: &[ResourceType::IamUser],
        default_severity: Severity::Low,
        rationale: "Access keys handed out with a console login \"just in case\" are long-lived credentials nobody uses and nobody watches; they leak from laptops and CI logs and then work for an attacker. CIS's audit reads the credential report: a user with a console password and an access key never used should not have that key.",
        remediation: Remediation {
            console: "IAM console > Users > user > Security credentials > Access keys: Deactivate, then Delete each key with Last used 'Never'; create keys only when the user needs programmatic access.",
            cli: "aws iam list-access-keys --user-name <user> && aws iam update-access-key --user-name <user> --access-key-id <key-id> --status Inactive && aws iam delete-access-key --user-name <user> --access-key-id <key-id>",
            terraform: "do not declare aws_iam_access_key for console users (aws_iam_user_login_profile) unless they need programmatic access",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(no_unused_setup_access_keys),
    },
    Control {
        id: "iam.no_cloudshell_full_access",
        title: "AWSCloudShellFullAccess is attached to no user, group or role (CIS 1.21)",
        resource_types: &[ResourceType::IamUser, ResourceType::IamRole, ResourceType::IamGroup],
        default_severity: Severity::Medium,
        rationale: "AWSCloudShellFullAccess allows uploading and downloading files to and from CloudShell environments with internet access: a ready channel to move data out of the account past other controls. CIS asks that the AWS managed policy be attached to nobody, and that CloudShell access be granted with a narrower policy where it is needed.",
        remediation: Remediation {
            console: "IAM console > Policies > AWSCloudShellFullAccess > Entities attached: Detach from each user, group and role; grant a custom policy without cloudshell:GetFileUploadUrls / GetFileDownloadUrls where CloudShell is needed.",
            cli: "aws iam list-entities-for-policy --policy-arn arn:aws:iam::aws:policy/AWSCloudShellFullAccess; then aws iam detach-user-policy / detach-group-policy / detach-role-policy --policy-arn arn:aws:iam::aws:policy/AWSCloudShellFullAccess",
            terraform: "remove aws_iam_*_policy_attachment resources with policy_arn = \"arn:aws:iam::aws:policy/AWSCloudShellFullAccess\"",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get().map(|u: &IamUser| no_cloudshell_full_access(&u.attached_policies)))
                .or_else(|| subject.get().map(|r: &IamRole| no_cloudshell_full_access(&r.attached_policies)))
                .or_else(|| subject.get().map(|g: &IamGroup| no_cloudshell_full_access(&g.attached_policies)))
        },
    },
    Control {
        id: "iam.server_certificates_not_expired",
        title: "No expired SSL/TLS certificate is stored in IAM (CIS 1.18)",
        resource_types: &[ResourceType::IamServerCertificate],
        default_severity: Severity::Medium,
        rationale: "An expired certificate left in IAM can be deployed to a load balancer or CloudFront by mistake, breaking TLS for clients, and signals certificates nobody manages. Expired ones should be deleted.",
        remediation: Remediation {
            console: "IAM server certificates have no console page: use the CLI (or move to ACM, which renews certificates).",
            cli: "aws iam delete-server-certificate --server-certificate-name <name>",
            terraform: "remove the aws_iam_server_certificate (prefer aws_acm_certificate)",
        },
        settings: &[],
        rule: |subject, _| {
            let now = subject.observed_at();
            subject
                .get()
                .map(|certificate| certificate_not_expired(certificate, now))
        },
    },
    Control {
        id: "iam.no_full_admin_policy",
        title: "No attached customer managed or inline policy allows \"*\" on \"*\" (CIS 1.15)",
        resource_types: &[
            ResourceType::IamPolicy,
            ResourceType::IamUser,
            ResourceType::IamRole,
            ResourceType::IamGroup,
        ],
        default_severity: Severity::High,
        rationale: "A policy that allows every action on every resource makes whoever holds it an administrator, outside any least-privilege design, and is the first thing an attacker with that identity's credentials uses. CIS asks that no attached policy grants \"*:*\"; grants are read across statements as IAM reads them (NotAction, NotResource, wildcards), and an Allow counts even under a condition.",
        remediation: Remediation {
            console: "IAM console > Policies (or the user, group or role > Permissions) > the policy > Edit: replace \"Action\": \"*\" / \"Resource\": \"*\" with the actions and resources the job needs, or detach the policy.",
            cli: "aws iam create-policy-version --policy-arn <arn> --policy-document file://least-privilege.json --set-as-default; inline: aws iam put-role-policy / put-user-policy / put-group-policy with the narrowed document",
            terraform: "aws_iam_policy / aws_iam_role_policy: a policy document listing specific actions and resources",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get().and_then(managed_policy_admin))
                .or_else(|| {
                    subject
                        .get()
                        .map(|u: &IamUser| inline_admin(&u.inline_policies))
                })
                .or_else(|| subject.get().and_then(role_inline_admin))
                .or_else(|| {
                    subject
                        .get()
                        .map(|g: &IamGroup| inline_admin(&g.inline_policies))
                })
        },
    },
];

/// The collection's day: credential dates are kept to the day.
fn today(subject: &Subject) -> NaiveDate {
    subject.observed_at().date_naive()
}

fn days_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    (later - earlier).num_days()
}

fn root_no_access_keys(account: &IamAccount) -> Verdict {
    let active_in_report: Vec<u8> = account
        .root
        .iter()
        .flat_map(|root| root.access_keys.iter())
        .filter(|key| key.active)
        .map(|key| key.slot)
        .collect();
    let evidence = json!({
        "account_access_keys_present": account.root_access_keys_present,
        "active_key_slots_in_report": active_in_report,
    });
    if account.root_access_keys_present || !active_in_report.is_empty() {
        Verdict::fail("the root user has access keys", evidence)
    } else {
        Verdict::pass("the root user has no access keys", evidence)
    }
}

/// The summary's AccountMFAEnabled, or the report's root `mfa_active`.
fn has_root_mfa(account: &IamAccount) -> bool {
    account.root_mfa_enabled || account.root.as_ref().is_some_and(|root| root.mfa_active)
}

fn root_mfa(account: &IamAccount) -> Verdict {
    let in_report = account.root.as_ref().map(|root| root.mfa_active);
    let evidence = json!({
        "account_mfa_enabled": account.root_mfa_enabled,
        "mfa_active_in_report": in_report,
    });
    if has_root_mfa(account) {
        Verdict::pass("the root user has MFA", evidence)
    } else {
        Verdict::fail("the root user has no MFA device", evidence)
    }
}

fn root_hardware_mfa(account: &IamAccount) -> Verdict {
    let evidence = json!({
        "account_mfa_enabled": account.root_mfa_enabled,
        "root_virtual_mfa_devices": account.root_virtual_mfa_devices,
    });
    if !account.root_virtual_mfa_devices.is_empty() {
        Verdict::fail("the root user's MFA is a virtual device", evidence)
    } else if has_root_mfa(account) {
        Verdict::pass(
            "the root user has MFA and no virtual MFA device: a hardware device",
            evidence,
        )
    } else {
        Verdict::fail("the root user has no MFA device", evidence)
    }
}

fn root_not_used(account: &IamAccount, today: NaiveDate, quiet_days: i32) -> Verdict {
    let Some(root) = &account.root else {
        return Verdict::unknown("the credential report has no <root_account> row", json!({}));
    };
    let password = root.password.as_ref().and_then(|p| p.last_used);
    let keys = root.access_keys.iter().filter_map(|k| k.last_used);
    let last_used = password.into_iter().chain(keys).max();
    let evidence = json!({ "last_used": last_used, "days": quiet_days });
    match last_used {
        Some(day) if days_between(day, today) < i64::from(quiet_days) => Verdict::fail(
            format!("the root user was used on {day}, within the last {quiet_days} days"),
            evidence,
        ),
        Some(day) => Verdict::pass(format!("the root user was last used on {day}"), evidence),
        None => Verdict::pass("the root user has no recorded use", evidence),
    }
}

fn password_min_length(account: &IamAccount, min: i32) -> Verdict {
    let Some(policy) = &account.password_policy else {
        return Verdict::fail(
            "the account has no password policy (IAM's default allows 8 characters)",
            json!({ "password_policy": null, "required": min }),
        );
    };
    let evidence = json!({ "minimum_length": policy.minimum_length, "required": min });
    if policy.minimum_length >= min {
        Verdict::pass(
            format!(
                "passwords need at least {} characters",
                policy.minimum_length
            ),
            evidence,
        )
    } else {
        Verdict::fail(
            format!(
                "passwords need only {} characters, fewer than {min}",
                policy.minimum_length
            ),
            evidence,
        )
    }
}

fn password_reuse_prevention(account: &IamAccount, min: i32) -> Verdict {
    let Some(policy) = &account.password_policy else {
        return Verdict::fail(
            "the account has no password policy, so passwords may be reused",
            json!({ "password_policy": null, "required": min }),
        );
    };
    let evidence = json!({ "reuse_prevention": policy.reuse_prevention, "required": min });
    match policy.reuse_prevention {
        Some(remembered) if remembered >= min => Verdict::pass(
            format!("the last {remembered} passwords cannot be reused"),
            evidence,
        ),
        Some(remembered) => Verdict::fail(
            format!("only the last {remembered} passwords are remembered, fewer than {min}"),
            evidence,
        ),
        None => Verdict::fail("the password policy does not prevent reuse", evidence),
    }
}

fn support_role(account: &IamAccount) -> Verdict {
    let evidence = json!({ "support_roles": account.support_roles });
    if account.support_roles.is_empty() {
        Verdict::fail("no role has the AWSSupportAccess policy attached", evidence)
    } else {
        Verdict::pass(
            format!(
                "AWSSupportAccess is attached to {}",
                account.support_roles.join(", ")
            ),
            evidence,
        )
    }
}

/// The user's credential report row, or the `unknown` verdict saying why
/// there is none.
fn report_row(user: &IamUser) -> Result<&IamCredentials, Verdict> {
    user.credentials.as_ref().ok_or_else(|| {
        Verdict::unknown(
            "the user is not in the credential report (created after IAM generated it)",
            json!({}),
        )
    })
}

/// `None` for users without a console password: CIS 1.9 judges console users.
fn user_console_mfa(user: &IamUser) -> Option<Verdict> {
    let credentials = match report_row(user) {
        Ok(credentials) => credentials,
        Err(unknown) => return Some(unknown),
    };
    credentials.password.as_ref()?;
    let evidence = json!({ "password_enabled": true, "mfa_active": credentials.mfa_active });
    Some(if credentials.mfa_active {
        Verdict::pass("the console user has MFA", evidence)
    } else {
        Verdict::fail("the user has a console password and no MFA", evidence)
    })
}

fn active_keys(credentials: &IamCredentials) -> impl Iterator<Item = &IamAccessKey> {
    credentials.access_keys.iter().filter(|key| key.active)
}

fn unused_credentials(user: &IamUser, today: NaiveDate, days: i32) -> Verdict {
    let credentials = match report_row(user) {
        Ok(credentials) => credentials,
        Err(unknown) => return unknown,
    };
    let mut stale = Vec::new();
    if let Some(password) = &credentials.password {
        // Never used: idle since it was set (CIS: password_last_changed),
        // or since the user was created where the report gives no change.
        let since = password
            .last_used
            .or(password.last_changed)
            .unwrap_or(credentials.created);
        if days_between(since, today) >= i64::from(days) {
            stale.push(json!({ "credential": "password", "idle_since": since }));
        }
    }
    for key in active_keys(credentials) {
        let since = key.last_used.unwrap_or(key.last_rotated);
        if days_between(since, today) >= i64::from(days) {
            stale.push(
                json!({ "credential": format!("access_key_{}", key.slot), "idle_since": since }),
            );
        }
    }
    let evidence = json!({ "unused": stale, "days": days });
    if stale.is_empty() {
        Verdict::pass(
            format!("no enabled credential has been idle for {days} days"),
            evidence,
        )
    } else {
        Verdict::fail(
            format!(
                "{} enabled credential(s) unused for {days} days or more",
                stale.len()
            ),
            evidence,
        )
    }
}

fn single_active_access_key(user: &IamUser) -> Verdict {
    let credentials = match report_row(user) {
        Ok(credentials) => credentials,
        Err(unknown) => return unknown,
    };
    let active: Vec<u8> = active_keys(credentials).map(|key| key.slot).collect();
    let evidence = json!({ "active_key_slots": active });
    if active.len() > 1 {
        Verdict::fail("the user has two active access keys", evidence)
    } else {
        Verdict::pass(
            format!("the user has {} active access key(s)", active.len()),
            evidence,
        )
    }
}

fn access_keys_rotated(user: &IamUser, today: NaiveDate, max_age: i32) -> Verdict {
    let credentials = match report_row(user) {
        Ok(credentials) => credentials,
        Err(unknown) => return unknown,
    };
    let old: Vec<_> = active_keys(credentials)
        .filter(|key| days_between(key.last_rotated, today) > i64::from(max_age))
        .map(|key| json!({ "slot": key.slot, "last_rotated": key.last_rotated }))
        .collect();
    let evidence = json!({ "not_rotated": old, "days": max_age });
    if old.is_empty() {
        Verdict::pass(
            format!("every active access key is at most {max_age} days old"),
            evidence,
        )
    } else {
        Verdict::fail(
            format!(
                "{} active access key(s) older than {max_age} days",
                old.len()
            ),
            evidence,
        )
    }
}

fn user_no_direct_policies(user: &IamUser) -> Verdict {
    let inline: Vec<&str> = user
        .inline_policies
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let evidence =
        json!({ "attached_policies": user.attached_policies, "inline_policies": inline });
    if user.attached_policies.is_empty() && inline.is_empty() {
        Verdict::pass("no policy is attached to the user itself", evidence)
    } else {
        Verdict::fail(
            format!(
                "{} managed and {} inline policies are attached to the user itself",
                user.attached_policies.len(),
                inline.len()
            ),
            evidence,
        )
    }
}

/// CIS 1.10's audit on the credential report: a console password, and an
/// access key whose last use is `N/A`.
fn no_unused_setup_access_keys(user: &IamUser) -> Verdict {
    let Some(credentials) = &user.credentials else {
        return Verdict::unknown(
            "the user is not in the credential report yet (IAM regenerates it at most every four hours)",
            json!({}),
        );
    };
    let never_used: Vec<u8> = credentials
        .access_keys
        .iter()
        .filter(|k| k.active && k.last_used.is_none())
        .map(|k| k.slot)
        .collect();
    let evidence = json!({
        "console_password": credentials.password.is_some(),
        "never_used_active_keys": never_used,
    });
    match (&credentials.password, never_used.as_slice()) {
        (None, _) => Verdict::pass("the user has no console password", evidence),
        (Some(_), []) => Verdict::pass("every active access key of this console user has been used", evidence),
        (Some(_), slots) => Verdict::fail(
            format!(
                "console user holds active access key{} {} that {} never been used",
                if slots.len() == 1 { "" } else { "s" },
                slots.iter().map(|s| format!("#{s}")).collect::<Vec<_>>().join(" and "),
                if slots.len() == 1 { "has" } else { "have" }
            ),
            evidence,
        ),
    }
}

fn no_cloudshell_full_access(attached: &[String]) -> Verdict {
    let cloudshell: Vec<&String> = attached
        .iter()
        .filter(|arn| arn.ends_with(":iam::aws:policy/AWSCloudShellFullAccess"))
        .collect();
    let evidence = json!({ "attached_policies": attached });
    match cloudshell.first() {
        None => Verdict::pass("AWSCloudShellFullAccess is not attached", evidence),
        Some(arn) => Verdict::fail(format!("{arn} is attached"), evidence),
    }
}

fn certificate_not_expired(
    certificate: &IamServerCertificate,
    now: chrono::DateTime<chrono::Utc>,
) -> Verdict {
    let evidence = json!({ "expiration": certificate.expiration });
    let Some(text) = &certificate.expiration else {
        return Verdict::unknown("IAM gave no expiration for the certificate", evidence);
    };
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(expiration) if expiration < now => {
            Verdict::fail(format!("the certificate expired on {text}"), evidence)
        }
        Ok(_) => Verdict::pass(format!("the certificate is valid until {text}"), evidence),
        Err(e) => Verdict::unknown(format!("expiration {text:?} is not a date: {e}"), evidence),
    }
}

/// `None` for a policy attached to nothing: CIS 1.15 judges attached ones.
fn managed_policy_admin(policy: &IamPolicy) -> Option<Verdict> {
    if policy.attachment_count == 0 {
        return None;
    }
    let evidence = json!({ "default_version": policy.default_version, "attachment_count": policy.attachment_count });
    let Some(document) = &policy.document else {
        return Some(Verdict::unknown(
            "IAM returned no document for the policy's default version",
            evidence,
        ));
    };
    Some(match super::policy::full_admin_statements(document) {
        Ok(statements) if statements.is_empty() => {
            Verdict::pass("the policy does not allow \"*\" on \"*\"", evidence)
        }
        Ok(statements) => Verdict::fail(
            format!(
                "the policy allows \"*\" on \"*\" ({})",
                statements.join(", ")
            ),
            json!({ "default_version": policy.default_version, "statements": statements }),
        ),
        Err(e) => Verdict::unknown(format!("the policy cannot be read: {e}"), evidence),
    })
}

/// Service-linked roles' policies are AWS's, not the account's to change.
fn role_inline_admin(role: &IamRole) -> Option<Verdict> {
    if role.arn.contains(":role/aws-service-role/") {
        return None;
    }
    Some(inline_admin(&role.inline_policies))
}

fn inline_admin(policies: &[IamInlinePolicy]) -> Verdict {
    let mut admin = Vec::new();
    let mut unreadable = Vec::new();
    for policy in policies {
        match super::policy::full_admin_statements(&policy.document) {
            Ok(statements) if statements.is_empty() => {}
            Ok(statements) => {
                admin.push(json!({ "policy": policy.name, "statements": statements }))
            }
            Err(e) => unreadable.push(json!({ "policy": policy.name, "error": e.to_string() })),
        }
    }
    let evidence = json!({ "full_admin": admin, "unreadable": unreadable });
    if !admin.is_empty() {
        Verdict::fail(
            format!("{} inline policy(ies) allow \"*\" on \"*\"", admin.len()),
            evidence,
        )
    } else if !unreadable.is_empty() {
        Verdict::unknown(
            format!("{} inline policy(ies) cannot be read", unreadable.len()),
            evidence,
        )
    } else {
        Verdict::pass(
            format!(
                "none of {} inline policy(ies) allows \"*\" on \"*\"",
                policies.len()
            ),
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts_at};
    use crate::model::{IamPassword, IamPasswordPolicy};
    use chrono::{DateTime, TimeZone, Utc};

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
            .single()
            .expect("time")
    }

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
    }

    /// A well-kept account as AWS reports it: root with a hardware MFA
    /// device, no keys, unused since summer; CIS's password policy.
    fn account() -> IamAccount {
        IamAccount {
            account_id: "123456789012".into(),
            arn: "arn:aws:iam::123456789012:root".into(),
            root: Some(IamCredentials {
                created: day("2019-01-01"),
                password: Some(IamPassword {
                    last_used: Some(day("2026-06-01")),
                    last_changed: None,
                }),
                mfa_active: true,
                access_keys: vec![],
            }),
            root_mfa_enabled: true,
            root_access_keys_present: false,
            root_virtual_mfa_devices: vec![],
            password_policy: Some(IamPasswordPolicy {
                minimum_length: 14,
                reuse_prevention: Some(24),
                require_symbols: true,
                require_numbers: true,
                require_uppercase: true,
                require_lowercase: true,
                max_age_days: None,
            }),
            support_roles: vec!["aws-support".into()],
        }
    }

    fn key(slot: u8, active: bool, rotated: &str, used: Option<&str>) -> IamAccessKey {
        IamAccessKey {
            slot,
            active,
            last_rotated: day(rotated),
            last_used: used.map(day),
        }
    }

    fn user() -> IamUser {
        IamUser {
            name: "alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            credentials: Some(IamCredentials {
                created: day("2026-01-01"),
                password: Some(IamPassword {
                    last_used: Some(day("2026-11-30")),
                    last_changed: Some(day("2026-01-01")),
                }),
                mfa_active: true,
                access_keys: vec![key(1, true, "2026-10-01", Some("2026-11-30"))],
            }),
            attached_policies: vec![],
            inline_policies: vec![],
            groups: vec!["developers".into()],
        }
    }

    fn statuses<T: serde::Serialize>(
        resource_type: ResourceType,
        record: &T,
        settings: &RuleSettings,
    ) -> Vec<(&'static str, FindingStatus)> {
        let document = serde_json::to_value(record).expect("serialises");
        verdicts_at(resource_type, &document, settings, at())
            .into_iter()
            .map(|(id, verdict)| (id, verdict.status))
            .collect()
    }

    fn status_of<T: serde::Serialize>(
        resource_type: ResourceType,
        record: &T,
        id: &str,
    ) -> Option<FindingStatus> {
        statuses(resource_type, record, &RuleSettings::default())
            .into_iter()
            .find(|(control, _)| *control == id)
            .map(|(_, status)| status)
    }

    fn account_status(account: &IamAccount, id: &str) -> Option<FindingStatus> {
        status_of(ResourceType::IamAccount, account, id)
    }

    fn user_status(user: &IamUser, id: &str) -> Option<FindingStatus> {
        status_of(ResourceType::IamUser, user, id)
    }

    #[test]
    fn setup_keys_and_cloudshell_access() {
        const SETUP: &str = "iam.no_unused_setup_access_keys";
        assert_eq!(user_status(&user(), SETUP), Some(Pass));
        let mut with_unused = user();
        if let Some(c) = with_unused.credentials.as_mut() {
            c.access_keys.push(key(2, true, "2026-11-01", None));
        }
        assert_eq!(user_status(&with_unused, SETUP), Some(Fail));
        // An inactive never-used key is not a working credential.
        if let Some(c) = with_unused.credentials.as_mut() {
            c.access_keys[1].active = false;
        }
        assert_eq!(user_status(&with_unused, SETUP), Some(Pass));
        // Programmatic-only users need keys; they are not CIS 1.10's concern.
        let mut robot = user();
        if let Some(c) = robot.credentials.as_mut() {
            c.password = None;
            c.access_keys = vec![key(1, true, "2026-11-01", None)];
        }
        assert_eq!(user_status(&robot, SETUP), Some(Pass));
        let mut unreported = user();
        unreported.credentials = None;
        assert_eq!(user_status(&unreported, SETUP), Some(Unknown));

        const SHELL: &str = "iam.no_cloudshell_full_access";
        assert_eq!(user_status(&user(), SHELL), Some(Pass));
        let mut shell_user = user();
        shell_user.attached_policies = vec!["arn:aws:iam::aws:policy/AWSCloudShellFullAccess".into()];
        assert_eq!(user_status(&shell_user, SHELL), Some(Fail));
        let role = IamRole {
            name: "ops".into(),
            arn: "arn:aws-us-gov:iam::123456789012:role/ops".into(),
            attached_policies: vec!["arn:aws-us-gov:iam::aws:policy/AWSCloudShellFullAccess".into()],
            inline_policies: vec![],
        };
        assert_eq!(status_of(ResourceType::IamRole, &role, SHELL), Some(Fail));
        // A customer managed policy of the same name is not the AWS one.
        let group = IamGroup {
            name: "ops".into(),
            arn: "arn:aws:iam::123456789012:group/ops".into(),
            attached_policies: vec!["arn:aws:iam::123456789012:policy/AWSCloudShellFullAccess".into()],
            inline_policies: vec![],
        };
        assert_eq!(status_of(ResourceType::IamGroup, &group, SHELL), Some(Pass));
    }

    #[test]
    fn a_well_kept_account_passes_every_account_control() {
        let all = statuses(
            ResourceType::IamAccount,
            &account(),
            &RuleSettings::default(),
        );
        assert_eq!(all.len(), 7, "{all:?}");
        assert!(all.iter().all(|(_, s)| *s == Pass), "{all:?}");
    }

    #[test]
    fn root_keys_fail_from_the_summary_or_an_active_key_in_the_report() {
        let mut a = account();
        a.root_access_keys_present = true;
        assert_eq!(account_status(&a, "iam.root_no_access_keys"), Some(Fail));
        let mut a = account();
        if let Some(root) = a.root.as_mut() {
            root.access_keys = vec![key(2, true, "2020-01-01", None)];
        }
        assert_eq!(account_status(&a, "iam.root_no_access_keys"), Some(Fail));
        // An inactive key still exists but cannot sign: the summary decides.
        if let Some(root) = a.root.as_mut() {
            root.access_keys = vec![key(1, false, "2020-01-01", None)];
        }
        assert_eq!(account_status(&a, "iam.root_no_access_keys"), Some(Pass));
    }

    #[test]
    fn root_without_mfa_fails_both_mfa_controls() {
        let mut a = account();
        a.root_mfa_enabled = false;
        assert_eq!(
            account_status(&a, "iam.root_hardware_mfa"),
            Some(Pass),
            "the report's root mfa_active also says so"
        );
        if let Some(root) = a.root.as_mut() {
            root.mfa_active = false;
        }
        assert_eq!(account_status(&a, "iam.root_mfa"), Some(Fail));
        assert_eq!(account_status(&a, "iam.root_hardware_mfa"), Some(Fail));
    }

    /// Recorded from AWS: ListVirtualMFADevices lists
    /// `arn:aws:iam::123456789012:mfa/root-account-mfa-device` with User.Arn
    /// `arn:aws:iam::123456789012:root` (moto cannot assign root a device).
    #[test]
    fn a_virtual_device_on_root_fails_hardware_mfa_only() {
        let mut a = account();
        a.root_virtual_mfa_devices =
            vec!["arn:aws:iam::123456789012:mfa/root-account-mfa-device".into()];
        assert_eq!(account_status(&a, "iam.root_mfa"), Some(Pass));
        assert_eq!(account_status(&a, "iam.root_hardware_mfa"), Some(Fail));
    }

    #[test]
    fn root_used_within_the_window_fails_by_password_or_key() {
        let mut a = account();
        if let Some(root) = a.root.as_mut() {
            root.password = Some(IamPassword {
                last_used: Some(day("2026-11-02")),
                last_changed: None,
            });
        }
        assert_eq!(
            account_status(&a, "iam.root_not_used"),
            Some(Fail),
            "29 days ago"
        );
        if let Some(root) = a.root.as_mut() {
            root.password = Some(IamPassword {
                last_used: Some(day("2026-11-01")),
                last_changed: None,
            });
        }
        assert_eq!(
            account_status(&a, "iam.root_not_used"),
            Some(Pass),
            "30 days ago"
        );
        if let Some(root) = a.root.as_mut() {
            root.access_keys = vec![key(1, false, "2020-01-01", Some("2026-11-20"))];
        }
        assert_eq!(
            account_status(&a, "iam.root_not_used"),
            Some(Fail),
            "a key's use counts"
        );
        if let Some(root) = a.root.as_mut() {
            root.access_keys.clear();
            root.password = Some(IamPassword {
                last_used: None,
                last_changed: None,
            });
        }
        assert_eq!(
            account_status(&a, "iam.root_not_used"),
            Some(Pass),
            "no_information"
        );
        let settings = RuleSettings::for_test("[\"iam.root_not_used\"]\ndays = 7");
        let mut a = account();
        if let Some(root) = a.root.as_mut() {
            root.password = Some(IamPassword {
                last_used: Some(day("2026-11-20")),
                last_changed: None,
            });
        }
        let all = statuses(ResourceType::IamAccount, &a, &settings);
        assert!(all.contains(&("iam.root_not_used", Pass)), "{all:?}");
    }

    #[test]
    fn a_report_without_root_is_unknown_for_root_use_never_pass() {
        let mut a = account();
        a.root = None;
        assert_eq!(account_status(&a, "iam.root_not_used"), Some(Unknown));
        assert_eq!(
            account_status(&a, "iam.root_mfa"),
            Some(Pass),
            "the summary says"
        );
    }

    #[test]
    fn a_missing_or_weak_password_policy_fails() {
        let mut a = account();
        a.password_policy = None;
        assert_eq!(account_status(&a, "iam.password_min_length"), Some(Fail));
        assert_eq!(
            account_status(&a, "iam.password_reuse_prevention"),
            Some(Fail)
        );
        let mut a = account();
        if let Some(p) = a.password_policy.as_mut() {
            p.minimum_length = 13;
            p.reuse_prevention = None;
        }
        assert_eq!(account_status(&a, "iam.password_min_length"), Some(Fail));
        assert_eq!(
            account_status(&a, "iam.password_reuse_prevention"),
            Some(Fail)
        );
        if let Some(p) = a.password_policy.as_mut() {
            p.reuse_prevention = Some(23);
        }
        assert_eq!(
            account_status(&a, "iam.password_reuse_prevention"),
            Some(Fail)
        );
        let settings = RuleSettings::for_test(
            "[\"iam.password_min_length\"]\nmin_length = 12\n[\"iam.password_reuse_prevention\"]\nmin_remembered = 5",
        );
        let all = statuses(ResourceType::IamAccount, &a, &settings);
        assert!(all.contains(&("iam.password_min_length", Pass)), "{all:?}");
        assert!(
            all.contains(&("iam.password_reuse_prevention", Pass)),
            "{all:?}"
        );
    }

    #[test]
    fn no_support_role_fails() {
        let mut a = account();
        a.support_roles.clear();
        assert_eq!(account_status(&a, "iam.support_role"), Some(Fail));
    }

    #[test]
    fn a_well_kept_user_passes_every_user_control() {
        let all = statuses(ResourceType::IamUser, &user(), &RuleSettings::default());
        assert_eq!(all.len(), 8, "{all:?}");
        assert!(all.iter().all(|(_, s)| *s == Pass), "{all:?}");
    }

    fn with_credentials(change: impl FnOnce(&mut IamCredentials)) -> IamUser {
        let mut u = user();
        if let Some(credentials) = u.credentials.as_mut() {
            change(credentials);
        }
        u
    }

    #[test]
    fn console_mfa_judges_console_users_only() {
        let u = with_credentials(|c| c.mfa_active = false);
        assert_eq!(user_status(&u, "iam.user_console_mfa"), Some(Fail));
        let u = with_credentials(|c| {
            c.mfa_active = false;
            c.password = None;
        });
        assert_eq!(user_status(&u, "iam.user_console_mfa"), None);
    }

    #[test]
    fn a_user_missing_from_the_report_is_unknown_for_credential_controls() {
        let mut u = user();
        u.credentials = None;
        let all = statuses(ResourceType::IamUser, &u, &RuleSettings::default());
        for (id, status) in all {
            let decidable = [
                "iam.user_no_direct_policies",
                "iam.no_full_admin_policy",
                "iam.no_cloudshell_full_access",
            ];
            let expected = if decidable.contains(&id) {
                Pass
            } else {
                Unknown
            };
            assert_eq!(status, expected, "{id}");
        }
    }

    #[test]
    fn idle_passwords_count_from_last_use_else_last_change_else_creation() {
        let id = "iam.unused_credentials_disabled";
        let password = |used: Option<&str>, changed: Option<&str>| {
            with_credentials(|c| {
                c.password = Some(IamPassword {
                    last_used: used.map(day),
                    last_changed: changed.map(day),
                })
            })
        };
        assert_eq!(
            user_status(&password(Some("2026-10-17"), None), id),
            Some(Fail),
            "45 days"
        );
        assert_eq!(
            user_status(&password(Some("2026-10-18"), None), id),
            Some(Pass),
            "44 days"
        );
        assert_eq!(
            user_status(&password(None, Some("2026-11-20")), id),
            Some(Pass),
            "set recently, never used"
        );
        assert_eq!(
            user_status(&password(None, Some("2026-01-20")), id),
            Some(Fail),
            "set long ago, never used"
        );
        assert_eq!(
            user_status(&password(None, None), id),
            Some(Fail),
            "created 2026-01-01"
        );
    }

    #[test]
    fn idle_keys_count_from_last_use_else_creation_and_inactive_keys_are_ignored() {
        let id = "iam.unused_credentials_disabled";
        let keys = |keys: Vec<IamAccessKey>| with_credentials(|c| c.access_keys = keys);
        assert_eq!(
            user_status(&keys(vec![key(1, true, "2026-11-20", None)]), id),
            Some(Pass),
            "new, not yet used"
        );
        assert_eq!(
            user_status(&keys(vec![key(1, true, "2026-01-20", None)]), id),
            Some(Fail),
            "never used since created"
        );
        assert_eq!(
            user_status(
                &keys(vec![key(2, true, "2026-11-25", Some("2025-01-01"))]),
                id
            ),
            Some(Fail),
            "rotated recently but the report's last use is old"
        );
        assert_eq!(
            user_status(
                &keys(vec![key(1, false, "2020-01-01", Some("2020-01-02"))]),
                id
            ),
            Some(Pass),
            "inactive keys are already disabled"
        );
    }

    #[test]
    fn two_active_keys_fail_and_an_inactive_second_does_not() {
        let id = "iam.single_active_access_key";
        let both = with_credentials(|c| {
            c.access_keys = vec![
                key(1, true, "2026-11-01", None),
                key(2, true, "2026-11-02", None),
            ]
        });
        assert_eq!(user_status(&both, id), Some(Fail));
        let one = with_credentials(|c| {
            c.access_keys = vec![
                key(1, false, "2026-11-01", None),
                key(2, true, "2026-11-02", None),
            ]
        });
        assert_eq!(user_status(&one, id), Some(Pass));
        let none = with_credentials(|c| c.access_keys.clear());
        assert_eq!(user_status(&none, id), Some(Pass));
    }

    #[test]
    fn active_keys_older_than_90_days_fail_inactive_ones_do_not() {
        let id = "iam.access_keys_rotated";
        let rotated = |date: &str, active: bool| {
            with_credentials(|c| c.access_keys = vec![key(1, active, date, Some("2026-11-30"))])
        };
        assert_eq!(
            user_status(&rotated("2026-09-02", true), id),
            Some(Pass),
            "90 days"
        );
        assert_eq!(
            user_status(&rotated("2026-09-01", true), id),
            Some(Fail),
            "91 days"
        );
        assert_eq!(user_status(&rotated("2020-01-01", false), id), Some(Pass));
    }

    #[test]
    fn policies_on_the_user_itself_fail() {
        let id = "iam.user_no_direct_policies";
        let mut u = user();
        u.attached_policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
        assert_eq!(user_status(&u, id), Some(Fail));
        let mut u = user();
        u.inline_policies = vec![IamInlinePolicy {
            name: "inline".into(),
            document: json!({}),
        }];
        assert_eq!(user_status(&u, id), Some(Fail));
    }

    /// Recorded from AWS (moto dates every certificate 2012-05-08).
    #[test]
    fn certificates_fail_once_expired_and_are_unknown_without_a_date() {
        let id = "iam.server_certificates_not_expired";
        let certificate = |expiration: Option<&str>| IamServerCertificate {
            name: "web".into(),
            arn: "arn:aws:iam::123456789012:server-certificate/web".into(),
            expiration: expiration.map(str::to_string),
        };
        let status =
            |c: &IamServerCertificate| status_of(ResourceType::IamServerCertificate, c, id);
        assert_eq!(
            status(&certificate(Some("2027-03-01T00:00:00Z"))),
            Some(Pass)
        );
        assert_eq!(
            status(&certificate(Some("2026-12-01T11:59:59Z"))),
            Some(Fail)
        );
        assert_eq!(status(&certificate(None)), Some(Unknown));
        assert_eq!(status(&certificate(Some("soon"))), Some(Unknown));
    }

    fn admin_document() -> serde_json::Value {
        json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "NotAction": "iam:*", "Resource": "*" },
            { "Effect": "Allow", "Action": "iam:*", "Resource": "*" }
        ]})
    }

    #[test]
    fn attached_managed_policies_granting_everything_fail() {
        let id = "iam.no_full_admin_policy";
        let mut policy = IamPolicy {
            name: "admin".into(),
            arn: "arn:aws:iam::123456789012:policy/admin".into(),
            attachment_count: 1,
            default_version: "v2".into(),
            document: Some(admin_document()),
        };
        let status = |p: &IamPolicy| status_of(ResourceType::IamPolicy, p, id);
        assert_eq!(
            status(&policy),
            Some(Fail),
            "NotAction iam:* plus iam:* is everything"
        );
        policy.document = Some(
            json!({ "Statement": { "Effect": "Allow", "NotAction": "iam:*", "Resource": "*" } }),
        );
        assert_eq!(status(&policy), Some(Pass));
        policy.document = Some(json!("{not json"));
        assert_eq!(status(&policy), Some(Unknown));
        policy.document = None;
        assert_eq!(status(&policy), Some(Unknown));
        policy.attachment_count = 0;
        assert_eq!(status(&policy), None, "CIS judges attached policies");
    }

    #[test]
    fn inline_policies_of_users_roles_and_groups_are_judged() {
        let id = "iam.no_full_admin_policy";
        let admin = IamInlinePolicy {
            name: "everything".into(),
            document: json!({ "Statement": [{ "Effect": "Allow", "Action": "*", "Resource": "*",
                "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } } }] }),
        };
        let mut u = user();
        assert_eq!(user_status(&u, id), Some(Pass));
        u.inline_policies = vec![admin.clone()];
        assert_eq!(
            user_status(&u, id),
            Some(Fail),
            "a condition does not narrow the grant"
        );
        let mut role = IamRole {
            name: "deploy".into(),
            arn: "arn:aws:iam::123456789012:role/deploy".into(),
            attached_policies: vec![],
            inline_policies: vec![admin.clone()],
        };
        assert_eq!(status_of(ResourceType::IamRole, &role, id), Some(Fail));
        role.arn =
            "arn:aws:iam::123456789012:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
                .into();
        assert_eq!(status_of(ResourceType::IamRole, &role, id), None);
        let group = IamGroup {
            name: "ops".into(),
            arn: "arn:aws:iam::123456789012:group/ops".into(),
            attached_policies: vec![],
            inline_policies: vec![IamInlinePolicy {
                name: "broken".into(),
                document: json!("not a policy"),
            }],
        };
        assert_eq!(status_of(ResourceType::IamGroup, &group, id), Some(Unknown));
    }
}
