//! Custom controls' cost: 10 Rego controls over 100 000 S3 bucket documents
//! in their stored form (canonical JSON text), through the same
//! `evaluate::evaluate` a scan calls, against the built-in S3 controls over
//! the same documents. Prints evaluations per second and the cost of one
//! custom control evaluation relative to one built-in one.
//!
//!   cargo bench --bench custom_controls
//!
//! Environment: `BENCH_RESOURCES` (default 100000). Single-threaded, as one
//! scope of a scan evaluates. No database: reading the documents is the
//! storage bench's concern; this is evaluation alone.

use chrono::Utc;
use driftwatch::evaluate::{CustomControls, RuleSettings, evaluate};
use driftwatch::model::{
    AccessLogging, Document, Encryption, EncryptionRule, PublicAccessBlock, Replication,
    ReplicationRule, ResourceRecord, ResourceType, S3Bucket, Versioning,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Nine more controls beside the shipped payments example, each of the
/// shapes teams write: field checks, iteration over policy statements and
/// replication rules, string functions.
const CONTROLS: [(&str, &str); 9] = [
    (
        "tls",
        r#"deny contains "no statement denies requests without TLS" if {
    not tls_enforced
}
tls_enforced if {
    some s in input.policy.Statement
    s.Effect == "Deny"
    s.Condition.Bool["aws:SecureTransport"] == "false"
}"#,
    ),
    (
        "kms",
        r#"deny contains sprintf("encrypted with %s, not KMS", [r.algorithm]) if {
    some r in input.encryption.rules
    r.algorithm != "aws:kms"
}"#,
    ),
    (
        "versioned",
        r#"deny contains "versioning is not enabled" if input.versioning.status != "Enabled""#,
    ),
    (
        "logged",
        r#"deny contains "access logs have no prefix" if input.logging.target_prefix == ""
deny contains "access logging is off" if input.logging == null"#,
    ),
    (
        "blocked",
        r#"deny contains sprintf("%s is off", [k]) if {
    some k, v in input.public_access_block
    v == false
}"#,
    ),
    (
        "no_public_allow",
        r#"deny contains sprintf("statement %d allows everyone", [i]) if {
    some i, s in input.policy.Statement
    s.Effect == "Allow"
    s.Principal == "*"
}"#,
    ),
    (
        "lowercase",
        r#"deny contains "bucket names are lower case" if lower(input.name) != input.name"#,
    ),
    (
        "same_account_role",
        r#"deny contains "replication role of another account" if {
    input.replication.role
    not startswith(input.replication.role, "arn:aws:iam::123456789012:")
}"#,
    ),
    (
        "mfa_delete_on_payments",
        r#"applicable if startswith(input.name, "payments-")
deny contains "MFA delete is off" if input.versioning.mfa_delete != "Enabled""#,
    ),
];

fn main() {
    let resources: usize = std::env::var("BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let custom = Arc::new(load_controls());
    let records: Vec<ResourceRecord> = (0..resources).map(bucket).collect();

    let built_in = RuleSettings::from_tables(&BTreeMap::new(), Arc::default()).0;
    let off: BTreeMap<String, toml::Table> =
        driftwatch::evaluate::controls_for(ResourceType::S3Bucket)
            .map(|c| {
                (
                    c.id.to_string(),
                    toml::from_str("enabled = false").expect("toml"),
                )
            })
            .collect();
    let (custom_only, issues) = RuleSettings::from_tables(&off, custom.clone());
    assert!(issues.is_empty(), "{issues:?}");

    let (built_in_time, built_in_evaluations) = time(&records, &built_in);
    let (custom_time, custom_evaluations) = time(&records, &custom_only);
    let per = |time: Duration, n: usize| time.as_secs_f64() / n.max(1) as f64;
    let built_in_each = per(built_in_time, built_in_evaluations);
    let custom_each = per(custom_time, custom_evaluations);
    let controls = custom.iter().count();
    println!("custom controls: {resources} S3 bucket documents, {controls} Rego controls");
    println!(
        "  built-in: {built_in_evaluations} evaluations in {:.2} s: {:.0} evaluations/s, {:.2} µs each",
        built_in_time.as_secs_f64(),
        built_in_evaluations as f64 / built_in_time.as_secs_f64(),
        built_in_each * 1e6
    );
    println!(
        "  custom:   {custom_evaluations} evaluations in {:.2} s: {:.0} evaluations/s, {:.2} µs each",
        custom_time.as_secs_f64(),
        custom_evaluations as f64 / custom_time.as_secs_f64(),
        custom_each * 1e6
    );
    println!(
        "  one custom evaluation costs {:.2}x a built-in one (target: at most 2x)",
        custom_each / built_in_each
    );
}

/// Every evaluation of every record, and how many there were.
fn time(records: &[ResourceRecord], settings: &RuleSettings) -> (Duration, usize) {
    let observed_at = Utc::now();
    let started = Instant::now();
    let mut evaluations = 0;
    for record in records {
        evaluations += std::hint::black_box(evaluate(record, settings, observed_at)).len();
    }
    (started.elapsed(), evaluations)
}

fn load_controls() -> CustomControls {
    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("controls/examples");
    for file in ["payments_replication.rego", "payments_replication.toml"] {
        std::fs::copy(shipped.join(file), dir.path().join(file)).expect("copy example");
    }
    for (name, body) in CONTROLS {
        let module = format!("package bench.{name}\n\n{body}\n");
        std::fs::write(dir.path().join(format!("{name}.rego")), module).expect("write");
        let sidecar = format!(
            "id = \"bench.{name}\"\ntitle = \"Bench control {name}\"\nresource_types = [\"s3.bucket\"]\n\
             severity = \"medium\"\nrationale = \"A control of the benchmark.\"\nremediation = \"None.\"\n"
        );
        std::fs::write(dir.path().join(format!("{name}.toml")), sidecar).expect("write");
    }
    CustomControls::load(&[dir.path().to_path_buf()], Duration::from_secs(1), |id| {
        driftwatch::evaluate::control(id).is_some()
    })
    .unwrap_or_else(|issues| panic!("bench controls load: {issues:?}"))
}

/// A bucket of a fleet with some of everything: a TLS policy on most, KMS
/// on half, replication on a third, a payments bucket every tenth.
fn bucket(i: usize) -> ResourceRecord {
    let name = if i.is_multiple_of(10) {
        format!("payments-{i:06}")
    } else {
        format!("bench-bucket-{i:06}")
    };
    let arn = format!("arn:aws:s3:::{name}");
    let record = S3Bucket {
        name: name.clone(),
        arn: arn.clone(),
        region: "us-east-1".into(),
        policy: (!i.is_multiple_of(4)).then(|| {
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [arn.clone(), format!("{arn}/*")],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "Action": "s3:GetObject", "Resource": format!("{arn}/*")}
            ]})
        }),
        replication: (i.is_multiple_of(3)).then(|| Replication {
            role: Some("arn:aws:iam::123456789012:role/replication".into()),
            rules: vec![ReplicationRule {
                id: Some("all".into()),
                status: "Enabled".into(),
                priority: Some(1),
                destination_bucket: format!("arn:aws:s3:::{name}-replica"),
                destination_account: None,
                destination_region: Some(if i.is_multiple_of(2) { "eu-west-1" } else { "us-west-2" }.into()),
                filter: None,
            }],
        }),
        encryption: Some(Encryption {
            rules: vec![EncryptionRule {
                algorithm: if i.is_multiple_of(2) { "aws:kms" } else { "AES256" }.into(),
                kms_key_id: None,
                bucket_key_enabled: Some(true),
            }],
        }),
        public_access_block: Some(PublicAccessBlock {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: !i.is_multiple_of(5),
            restrict_public_buckets: true,
        }),
        versioning: Versioning {
            status: Some(if i.is_multiple_of(7) { "Suspended" } else { "Enabled" }.into()),
            mfa_delete: None,
        },
        logging: (i.is_multiple_of(2)).then(|| AccessLogging {
            target_bucket: "logs".into(),
            target_prefix: format!("{name}/"),
        }),
        ..S3Bucket::default()
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::S3Bucket,
        name,
        region: "us-east-1".into(),
        document: Document::of(&record).map_err(|e| e.to_string()),
    }
}
