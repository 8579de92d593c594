//! The S3 bucket controls of `controls.md`.

use super::catalog::{Control, Remediation};
use super::policy::{self, TlsOnly};
use super::{Severity, Subject, Verdict};
use crate::model::{Account, AccountPublicAccessBlock, ResourceType, S3Bucket};
use serde_json::{Value, json};

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "s3.tls_only",
        title: "Bucket policy denies all requests made without TLS",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::High,
        rationale: "Unless the bucket policy denies requests where aws:SecureTransport is false, S3 also answers plain-HTTP requests. Anyone on the network path can then read or alter object data and request metadata. Auditors expect the resource itself to enforce encryption in transit, not each client's configuration.",
        remediation: Remediation {
            console: "S3 console > bucket > Permissions > Bucket policy > Edit: add a statement with Effect Deny, Principal \"*\", Action s3:*, Resource arn:aws:s3:::<bucket> and arn:aws:s3:::<bucket>/*, and Condition Bool aws:SecureTransport false. Keep the existing statements (the CLI call below replaces the whole policy, so merge it with the output of get-bucket-policy first), then Save changes.",
            cli: "aws s3api put-bucket-policy --bucket <bucket> --policy '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"DenyInsecureTransport\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":[\"arn:aws:s3:::<bucket>\",\"arn:aws:s3:::<bucket>/*\"],\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}'",
            terraform: "aws_s3_bucket_policy: bucket = <bucket>, policy = data.aws_iam_policy_document.<name>.json, where the document has statement { sid = \"DenyInsecureTransport\", effect = \"Deny\", principals { type = \"*\", identifiers = [\"*\"] }, actions = [\"s3:*\"], resources = [<bucket_arn>, \"<bucket_arn>/*\"], condition { test = \"Bool\", variable = \"aws:SecureTransport\", values = [\"false\"] } }",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(tls_only),
    },
    Control {
        id: "s3.replication",
        title: "Bucket replicates to another bucket (same-region replication named by the requirement)",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::Medium,
        rationale: "Without replication, every copy of the bucket's objects sits in one Region and one account. A Regional outage, an accidental bulk delete or a compromised account can then make the data unavailable or unrecoverable. An Enabled replication rule to a second bucket, ideally in another Region or account, is the usual evidence for disaster-recovery and availability commitments.",
        remediation: Remediation {
            console: "S3 console > source bucket > Management > Replication rules > Create replication rule: set Status Enabled, choose the scope (whole bucket or a filter), a destination bucket and an IAM role, then Save. Versioning must be on in both the source and the destination bucket.",
            cli: "aws s3api put-bucket-replication --bucket <bucket> --replication-configuration '{\"Role\":\"arn:aws:iam::<account-id>:role/<replication-role>\",\"Rules\":[{\"ID\":\"replicate-all\",\"Status\":\"Enabled\",\"Priority\":1,\"Filter\":{},\"DeleteMarkerReplication\":{\"Status\":\"Disabled\"},\"Destination\":{\"Bucket\":\"arn:aws:s3:::<destination-bucket>\"}}]}'",
            terraform: "aws_s3_bucket_replication_configuration: bucket = <bucket>, role = <replication_role_arn>, rule { id = \"replicate-all\", status = \"Enabled\", filter {}, delete_marker_replication { status = \"Disabled\" }, destination { bucket = <destination_bucket_arn> } }, with depends_on = [the aws_s3_bucket_versioning of the source bucket] (both buckets need versioning_configuration { status = \"Enabled\" })",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(replication),
    },
    Control {
        id: "s3.encryption",
        title: "Default encryption is SSE-S3, SSE-KMS or DSSE-KMS",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::Medium,
        rationale: "Default encryption makes sure every new object is encrypted at rest with SSE-S3, SSE-KMS or DSSE-KMS, whatever the uploader sends. A lost disk or a mis-scoped storage copy therefore never holds plaintext. SSE-KMS also puts reads behind a key policy and records each key use in CloudTrail.",
        remediation: Remediation {
            console: "S3 console > bucket > Properties > Default encryption > Edit: choose SSE-S3, SSE-KMS (pick a KMS key and turn on Bucket Key) or DSSE-KMS, then Save changes.",
            cli: "aws s3api put-bucket-encryption --bucket <bucket> --server-side-encryption-configuration '{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"<kms-key-arn>\"},\"BucketKeyEnabled\":true}]}'",
            terraform: "aws_s3_bucket_server_side_encryption_configuration: bucket = <bucket>, rule { apply_server_side_encryption_by_default { sse_algorithm = \"aws:kms\", kms_master_key_id = <kms_key_arn> }, bucket_key_enabled = true } (sse_algorithm may also be \"AES256\" for SSE-S3 or \"aws:kms:dsse\" for DSSE-KMS)",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(encryption),
    },
    Control {
        id: "s3.public_access_block",
        title: "All four public access block settings on, at bucket or account level",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::High,
        rationale: "Block Public Access overrides any ACL or bucket policy that would grant access to everyone. With it on, one mistaken grant cannot publish data to the internet. If any of the four settings is off at both the bucket and the account level, a public ACL or policy takes effect at once, and that is the most common cause of S3 data exposure.",
        remediation: Remediation {
            console: "S3 console > bucket > Permissions > Block public access (bucket settings) > Edit: tick Block all public access, save and confirm. To cover every bucket at once, use Block Public Access settings for this account in the S3 console (CLI: aws s3control put-public-access-block --account-id <account-id> with the same four settings).",
            cli: "aws s3api put-public-access-block --bucket <bucket> --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            terraform: "aws_s3_bucket_public_access_block: bucket = <bucket>, block_public_acls = true, block_public_policy = true, ignore_public_acls = true, restrict_public_buckets = true (account-wide: aws_s3_account_public_access_block with the same four attributes)",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(public_access_block),
    },
    Control {
        id: "s3.versioning",
        title: "Versioning enabled",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::Low,
        rationale: "Without versioning, an overwrite or a delete is final, so ransomware, a buggy job or a malicious insider can destroy data with no way back. Versioning keeps earlier versions (and delete markers), so objects can be restored. It is also a prerequisite for replication and Object Lock.",
        remediation: Remediation {
            console: "S3 console > bucket > Properties > Bucket Versioning > Edit: select Enable, then Save changes.",
            cli: "aws s3api put-bucket-versioning --bucket <bucket> --versioning-configuration Status=Enabled",
            terraform: "aws_s3_bucket_versioning: bucket = <bucket>, versioning_configuration { status = \"Enabled\" }",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(versioning),
    },
    Control {
        id: "s3.access_logging",
        title: "Server access logging enabled",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::Low,
        rationale: "Server access logs record every request against the bucket: the requester, the operation, the key, the source IP and the result. That includes object reads, which CloudTrail records only when S3 data events are turned on. Without these logs, an investigation cannot tell who read, changed or deleted which objects.",
        remediation: Remediation {
            console: "S3 console > bucket > Properties > Server access logging > Edit: choose Enable, pick a destination bucket (not the bucket itself) and a prefix, then Save changes.",
            cli: "aws s3api put-bucket-logging --bucket <bucket> --bucket-logging-status '{\"LoggingEnabled\":{\"TargetBucket\":\"<log-bucket>\",\"TargetPrefix\":\"<bucket>/\"}}'",
            terraform: "aws_s3_bucket_logging: bucket = <bucket>, target_bucket = <log_bucket_id>, target_prefix = \"<bucket>/\"",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(access_logging),
    },
    Control {
        id: "s3.account_public_access_block",
        title: "S3 Block Public Access on for the whole account",
        resource_types: &[ResourceType::Account],
        default_severity: Severity::High,
        rationale: "The account-level Block Public Access settings override every bucket's ACLs and policies, including buckets created tomorrow by a script or a console click that forgets its own block. With all four on, no bucket of the account can be made public by mistake; a bucket that must be public then needs a deliberate, reviewable change to the account setting.",
        remediation: Remediation {
            console: "S3 console > Block Public Access settings for this account > Edit: check all four settings (Block all public access), then Save changes and confirm.",
            cli: "aws s3control put-public-access-block --account-id <account_id> --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            terraform: "aws_s3_account_public_access_block: block_public_acls = true, block_public_policy = true, ignore_public_acls = true, restrict_public_buckets = true",
        },
        settings: &[],
        rule: |subject, _| {
            subject
                .get::<Account>()
                .map(|account| account_public_access_block(&account.s3_public_access_block))
        },
    },
    Control {
        id: "s3.mfa_delete",
        title: "MFA Delete enabled on a versioned bucket",
        resource_types: &[ResourceType::S3Bucket],
        default_severity: Severity::Low,
        rationale: "Versioning keeps old versions, but anyone with s3:DeleteObjectVersion or s3:PutBucketVersioning can still purge them or suspend versioning. MFA Delete requires the root user's MFA code for both, so stolen access keys alone cannot destroy a bucket's history. CIS AWS Foundations 2.1.2 asks for it on buckets holding sensitive data; it can only be turned on by the root user, through the API.",
        remediation: Remediation {
            console: "Not available in the console: as the root user with its MFA device, run the CLI call below (versioning must be enabled with it).",
            cli: "aws s3api put-bucket-versioning --bucket <bucket> --versioning-configuration Status=Enabled,MFADelete=Enabled --mfa \"<root-mfa-device-arn> <code>\"",
            terraform: "aws_s3_bucket_versioning: versioning_configuration { status = \"Enabled\", mfa_delete = \"Enabled\" }, mfa = \"<root-mfa-device-arn> <code>\" (applied with root credentials)",
        },
        settings: &[],
        rule: |subject, _| on_bucket(subject).map(mfa_delete),
    },
];

fn mfa_delete(bucket: &S3Bucket) -> Verdict {
    let versioning = &bucket.versioning;
    let details = json!({ "status": versioning.status, "mfa_delete": versioning.mfa_delete });
    match (versioning.status.as_deref(), versioning.mfa_delete.as_deref()) {
        (Some("Enabled"), Some("Enabled")) => {
            Verdict::pass("versioning Enabled with MFA Delete Enabled", details)
        }
        (Some("Enabled"), _) => Verdict::fail("MFA Delete is not enabled", details),
        (status, _) => Verdict::fail(
            format!(
                "versioning is {}, so MFA Delete does not protect object versions",
                status.unwrap_or("not enabled")
            ),
            details,
        ),
    }
}

fn account_public_access_block(block: &AccountPublicAccessBlock) -> Verdict {
    match block {
        AccountPublicAccessBlock::Set(settings) if settings.all_enabled() => Verdict::pass(
            "all four Block Public Access settings are on for the account",
            json!({ "account_public_access_block": settings }),
        ),
        AccountPublicAccessBlock::Set(settings) => Verdict::fail(
            format!(
                "off for the account: {}",
                settings.disabled_settings().join(", ")
            ),
            json!({ "account_public_access_block": settings }),
        ),
        AccountPublicAccessBlock::Absent => Verdict::fail(
            "no Block Public Access configuration for the account",
            json!({ "account_public_access_block": null }),
        ),
        AccountPublicAccessBlock::Unknown { error } => Verdict::unknown(
            format!("account Block Public Access not readable: {error}"),
            json!({ "error": error }),
        ),
    }
}

fn on_bucket(subject: &Subject) -> Option<&S3Bucket> {
    subject.get()
}

fn tls_only(bucket: &S3Bucket) -> Verdict {
    let Some(doc) = &bucket.policy else {
        return Verdict::fail(
            "bucket has no policy, so plain-HTTP requests are not denied",
            json!({}),
        );
    };
    match policy::tls_only(doc, &bucket.arn) {
        Ok(TlsOnly::Enforced { statements }) => {
            let labels: Vec<String> = statements.iter().map(|s| s.label()).collect();
            let verb = if labels.len() == 1 {
                "denies"
            } else {
                "together deny"
            };
            // `statement_index`/`sid` name the first for readers of the
            // single-statement evidence; `statements` names them all.
            Verdict::pass(
                format!("{} {verb} every request without TLS", labels.join(" and ")),
                json!({
                    "statements": labels,
                    "statement_index": statements.first().map(|s| s.index),
                    "sid": statements.first().and_then(|s| s.sid.clone()),
                }),
            )
        }
        Ok(TlsOnly::NotEnforced { reasons }) => Verdict::fail(
            "no policy statement denies all plain-HTTP requests to the bucket and its objects",
            json!({ "reasons": reasons }),
        ),
        Err(e) => Verdict::unknown(
            format!("bucket {e}"),
            json!({ "policy_error": e.to_string() }),
        ),
    }
}

fn replication(bucket: &S3Bucket) -> Verdict {
    let Some(config) = &bucket.replication else {
        return Verdict::fail("no replication configuration", json!({}));
    };
    let enabled: Vec<_> = config
        .rules
        .iter()
        .filter(|r| r.status == "Enabled")
        .collect();
    if enabled.is_empty() {
        return Verdict::fail(
            "replication is configured but no rule is Enabled",
            json!({ "rules": config.rules.len() }),
        );
    }
    let destinations: Vec<Value> = enabled
        .iter()
        .map(|r| {
            let scope = match r.destination_region.as_deref() {
                Some(region) if region == bucket.region => "same-region",
                Some(_) => "cross-region",
                None => "region unknown",
            };
            json!({
                "rule_id": r.id,
                "destination_bucket": r.destination_bucket,
                "destination_region": r.destination_region,
                "scope": scope,
            })
        })
        .collect();
    let summary: Vec<String> = enabled
        .iter()
        .map(|r| match r.destination_region.as_deref() {
            Some(region) if region == bucket.region => {
                format!("{} (same region, {region})", r.destination_bucket)
            }
            Some(region) => format!("{} (cross-region, {region})", r.destination_bucket),
            None => format!("{} (region unknown)", r.destination_bucket),
        })
        .collect();
    Verdict::pass(
        format!("replicates to {}", summary.join(", ")),
        json!({ "destinations": destinations }),
    )
}

fn encryption(bucket: &S3Bucket) -> Verdict {
    let Some(config) = &bucket.encryption else {
        return Verdict::fail("no default encryption configured", json!({}));
    };
    let accepted = config.rules.iter().find_map(|r| {
        let kind = match r.algorithm.as_str() {
            "AES256" => "SSE-S3",
            "aws:kms" => "SSE-KMS",
            "aws:kms:dsse" => "DSSE-KMS",
            _ => return None,
        };
        Some((kind, r))
    });
    match accepted {
        Some((kind, rule)) => Verdict::pass(
            match &rule.kms_key_id {
                Some(key) => format!("default encryption {kind} with key {key}"),
                None => format!("default encryption {kind}"),
            },
            json!({
                "encryption": kind,
                "algorithm": rule.algorithm,
                "kms_key_id": rule.kms_key_id,
                "bucket_key_enabled": rule.bucket_key_enabled,
            }),
        ),
        None => Verdict::fail(
            "default encryption is not SSE-S3, SSE-KMS or DSSE-KMS",
            json!({ "algorithms": config.rules.iter().map(|r| &r.algorithm).collect::<Vec<_>>() }),
        ),
    }
}

fn public_access_block(bucket: &S3Bucket) -> Verdict {
    let bucket_level = bucket.public_access_block.unwrap_or_default();
    let details = json!({
        "bucket": bucket.public_access_block,
        "account": bucket.account_public_access_block,
    });
    let effective = match &bucket.account_public_access_block {
        AccountPublicAccessBlock::Set(account) => bucket_level.combined(*account),
        AccountPublicAccessBlock::Absent => bucket_level,
        AccountPublicAccessBlock::Unknown { error } => {
            if bucket_level.all_enabled() {
                return Verdict::pass("all four settings on at bucket level", details);
            }
            return Verdict::unknown(
                format!(
                    "bucket-level settings leave {} off and the account-level block could not be read: {error}",
                    bucket_level.disabled_settings().join(", ")
                ),
                details,
            );
        }
    };
    if effective.all_enabled() {
        let level = match (
            bucket_level.all_enabled(),
            &bucket.account_public_access_block,
        ) {
            (true, _) => "bucket level",
            (false, AccountPublicAccessBlock::Set(a)) if a.all_enabled() => "account level",
            _ => "bucket and account level combined",
        };
        Verdict::pass(format!("all four settings on at {level}"), details)
    } else {
        Verdict::fail(
            format!(
                "public access block settings off at both bucket and account level: {}",
                effective.disabled_settings().join(", ")
            ),
            details,
        )
    }
}

fn versioning(bucket: &S3Bucket) -> Verdict {
    match bucket.versioning.status.as_deref() {
        Some("Enabled") => Verdict::pass(
            "versioning Enabled",
            json!({ "mfa_delete": bucket.versioning.mfa_delete }),
        ),
        Some(other) => Verdict::fail(format!("versioning is {other}"), json!({ "status": other })),
        None => Verdict::fail("versioning was never enabled", json!({ "status": null })),
    }
}

fn access_logging(bucket: &S3Bucket) -> Verdict {
    match &bucket.logging {
        Some(logging) => Verdict::pass(
            format!(
                "access logs go to s3://{}/{}",
                logging.target_bucket, logging.target_prefix
            ),
            json!({ "target_bucket": logging.target_bucket, "target_prefix": logging.target_prefix }),
        ),
        None if !bucket.receives_access_logs_from.is_empty() => Verdict::fail(
            format!(
                "server access logging is off; this bucket is the log target of {} (a candidate for a waiver)",
                bucket.receives_access_logs_from.join(", ")
            ),
            json!({ "log_target_for": bucket.receives_access_logs_from }),
        ),
        None => Verdict::fail("server access logging is off", json!({})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::controls_for;
    use crate::model::*;

    fn evaluate(document: &Value) -> Vec<(&'static str, Verdict)> {
        crate::evaluate::verdicts(ResourceType::S3Bucket, document, &Default::default())
    }

    fn bucket() -> S3Bucket {
        S3Bucket {
            name: "b".into(),
            arn: "arn:aws:s3:::b".into(),
            region: "eu-west-1".into(),
            ..S3Bucket::default()
        }
    }

    fn status(control: &str, b: &S3Bucket) -> (FindingStatus, String) {
        let doc = serde_json::to_value(b).expect("serialises");
        let (_, verdict) = evaluate(&doc)
            .into_iter()
            .find(|(id, _)| *id == control)
            .expect("control evaluated");
        let message = verdict.evidence["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        (verdict.status, message)
    }

    #[test]
    fn a_bare_bucket_fails_everything() {
        let b = bucket();
        let on_buckets = CONTROLS
            .iter()
            .filter(|c| c.resource_types.contains(&ResourceType::S3Bucket));
        for id in on_buckets.map(|c| c.id) {
            assert_eq!(status(id, &b).0, Fail, "{id}");
        }
    }

    #[test]
    fn unparseable_policy_is_unknown_with_the_parse_error() {
        let mut b = bucket();
        b.policy = Some(Value::String("{not json".into()));
        let (s, message) = status("s3.tls_only", &b);
        assert_eq!(s, Unknown);
        assert!(message.contains("not valid JSON"), "{message}");
    }

    #[test]
    fn replication_reports_same_and_cross_region() {
        let mut b = bucket();
        let rule = |status: &str, region: Option<&str>| ReplicationRule {
            id: Some("r".into()),
            status: status.into(),
            priority: None,
            destination_bucket: "arn:aws:s3:::dst".into(),
            destination_account: None,
            destination_region: region.map(str::to_string),
            filter: None,
        };
        b.replication = Some(Replication {
            role: None,
            rules: vec![rule("Disabled", Some("eu-west-1"))],
        });
        assert_eq!(status("s3.replication", &b).0, Fail);
        b.replication = Some(Replication {
            role: None,
            rules: vec![rule("Enabled", Some("eu-west-1"))],
        });
        let (s, m) = status("s3.replication", &b);
        assert_eq!(s, Pass);
        assert!(m.contains("same region"), "{m}");
        b.replication = Some(Replication {
            role: None,
            rules: vec![rule("Enabled", Some("us-east-1"))],
        });
        assert!(
            status("s3.replication", &b)
                .1
                .contains("cross-region, us-east-1")
        );
    }

    #[test]
    fn encryption_accepts_the_three_server_side_kinds() {
        let mut b = bucket();
        for (algorithm, kind) in [
            ("AES256", "SSE-S3"),
            ("aws:kms", "SSE-KMS"),
            ("aws:kms:dsse", "DSSE-KMS"),
        ] {
            b.encryption = Some(Encryption {
                rules: vec![EncryptionRule {
                    algorithm: algorithm.into(),
                    kms_key_id: None,
                    bucket_key_enabled: None,
                }],
            });
            let (s, m) = status("s3.encryption", &b);
            assert_eq!(s, Pass);
            assert!(m.contains(kind));
        }
        b.encryption = Some(Encryption { rules: vec![] });
        assert_eq!(status("s3.encryption", &b).0, Fail);
    }

    #[test]
    fn public_access_block_at_either_level() {
        let all = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        };
        let mut b = bucket();
        b.public_access_block = Some(all);
        assert_eq!(status("s3.public_access_block", &b).0, Pass);

        b.public_access_block = None;
        b.account_public_access_block = AccountPublicAccessBlock::Set(all);
        assert!(
            status("s3.public_access_block", &b)
                .1
                .contains("account level")
        );

        b.public_access_block = Some(PublicAccessBlock {
            block_public_acls: false,
            ..all
        });
        b.account_public_access_block = AccountPublicAccessBlock::Set(PublicAccessBlock {
            restrict_public_buckets: false,
            ..all
        });
        assert_eq!(status("s3.public_access_block", &b).0, Pass);

        b.account_public_access_block = AccountPublicAccessBlock::Absent;
        let (s, m) = status("s3.public_access_block", &b);
        assert_eq!(s, Fail);
        assert!(m.contains("BlockPublicAcls"));

        b.account_public_access_block = AccountPublicAccessBlock::Unknown {
            error: "AccessDenied".into(),
        };
        assert_eq!(status("s3.public_access_block", &b).0, Unknown);
        b.public_access_block = Some(all);
        assert_eq!(status("s3.public_access_block", &b).0, Pass);
    }

    #[test]
    fn the_account_block_needs_all_four_settings() {
        let all = PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        };
        let judge = |block: AccountPublicAccessBlock| account_public_access_block(&block);
        assert_eq!(
            judge(AccountPublicAccessBlock::Set(all)).status,
            FindingStatus::Pass
        );
        let partial = judge(AccountPublicAccessBlock::Set(PublicAccessBlock {
            restrict_public_buckets: false,
            ..all
        }));
        assert_eq!(partial.status, FindingStatus::Fail);
        assert!(
            partial.evidence["message"]
                .as_str()
                .is_some_and(|m| m.ends_with("RestrictPublicBuckets")),
            "{}",
            partial.evidence
        );
        assert_eq!(
            judge(AccountPublicAccessBlock::Absent).status,
            FindingStatus::Fail
        );
        let unknown = judge(AccountPublicAccessBlock::Unknown {
            error: "GetPublicAccessBlock: AccessDenied".into(),
        });
        assert_eq!(unknown.status, FindingStatus::Unknown);
    }

    #[test]
    fn versioning_must_be_enabled_not_suspended() {
        let mut b = bucket();
        b.versioning.status = Some("Suspended".into());
        assert_eq!(status("s3.versioning", &b).0, Fail);
        b.versioning.status = Some("Enabled".into());
        assert_eq!(status("s3.versioning", &b).0, Pass);
    }

    #[test]
    fn mfa_delete_needs_versioning_and_mfa_delete_enabled() {
        let mut b = bucket();
        b.versioning.status = Some("Enabled".into());
        b.versioning.mfa_delete = Some("Disabled".into());
        assert_eq!(status("s3.mfa_delete", &b).0, Fail);
        b.versioning.mfa_delete = Some("Enabled".into());
        assert_eq!(status("s3.mfa_delete", &b).0, Pass);
        // Suspended versioning with MFA Delete still set protects nothing new.
        b.versioning.status = Some("Suspended".into());
        let (s, m) = status("s3.mfa_delete", &b);
        assert_eq!(s, Fail);
        assert!(m.contains("Suspended"), "{m}");
        b.versioning = Default::default();
        assert_eq!(status("s3.mfa_delete", &b).0, Fail);
    }

    #[test]
    fn log_target_buckets_are_named_as_waiver_candidates() {
        let mut b = bucket();
        b.receives_access_logs_from = vec!["app".into()];
        let (s, m) = status("s3.access_logging", &b);
        assert_eq!(s, Fail);
        assert!(m.contains("log target of app"), "{m}");
        b.logging = Some(AccessLogging {
            target_bucket: "logs".into(),
            target_prefix: "b/".into(),
        });
        assert_eq!(status("s3.access_logging", &b).0, Pass);
    }

    #[test]
    fn a_document_of_the_wrong_shape_is_unknown() {
        let verdicts = evaluate(&json!({"name": 3}));
        assert_eq!(verdicts.len(), controls_for(ResourceType::S3Bucket).count());
        assert!(verdicts.iter().all(|(_, v)| v.status == Unknown));
    }
}
