//! The S3 bucket controls of `controls.md`.

use super::Verdict;
use super::policy::{self, TlsOnly};
use crate::model::{AccountPublicAccessBlock, S3Bucket};
use serde_json::{Value, json};

const CONTROL_IDS: [&str; 6] = [
    "s3.tls_only",
    "s3.replication",
    "s3.encryption",
    "s3.public_access_block",
    "s3.versioning",
    "s3.access_logging",
];

pub(super) fn evaluate(document: &Value) -> Vec<(&'static str, Verdict)> {
    let bucket: S3Bucket = match serde_json::from_value(document.clone()) {
        Ok(bucket) => bucket,
        Err(e) => {
            let message = format!("stored document is not a readable S3 bucket record: {e}");
            return CONTROL_IDS
                .iter()
                .map(|id| (*id, Verdict::unknown(message.clone(), json!({}))))
                .collect();
        }
    };
    vec![
        ("s3.tls_only", tls_only(&bucket)),
        ("s3.replication", replication(&bucket)),
        ("s3.encryption", encryption(&bucket)),
        ("s3.public_access_block", public_access_block(&bucket)),
        ("s3.versioning", versioning(&bucket)),
        ("s3.access_logging", access_logging(&bucket)),
    ]
}

fn tls_only(bucket: &S3Bucket) -> Verdict {
    let Some(doc) = &bucket.policy else {
        return Verdict::fail(
            "bucket has no policy, so plain-HTTP requests are not denied",
            json!({}),
        );
    };
    match policy::tls_only(doc, &bucket.arn) {
        Ok(TlsOnly::Enforced { index, sid }) => Verdict::pass(
            format!("Statement[{index}] denies every request without TLS"),
            json!({ "statement_index": index, "sid": sid }),
        ),
        Ok(TlsOnly::NotEnforced { reasons }) => Verdict::fail(
            "no policy statement denies all plain-HTTP requests to the bucket and its objects",
            json!({ "reasons": reasons }),
        ),
        Err(e) => Verdict::unknown(e.to_string(), json!({ "policy_error": e.to_string() })),
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
    use crate::model::*;

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
        for id in CONTROL_IDS {
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
    fn versioning_must_be_enabled_not_suspended() {
        let mut b = bucket();
        b.versioning.status = Some("Suspended".into());
        assert_eq!(status("s3.versioning", &b).0, Fail);
        b.versioning.status = Some("Enabled".into());
        assert_eq!(status("s3.versioning", &b).0, Pass);
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
        assert_eq!(verdicts.len(), 6);
        assert!(verdicts.iter().all(|(_, v)| v.status == Unknown));
    }
}
