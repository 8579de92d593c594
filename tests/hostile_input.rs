//! Whatever AWS (or an attacker who can write a bucket policy, a tag or a
//! lifecycle rule) puts into a resource, evaluation never panics, decides
//! every applicable control, and storage keeps the document intact: huge
//! documents, hostile strings, policies of every shape.

mod support;

use driftwatch::collect::Collection;
use driftwatch::evaluate::{self, FindingStatus, RuleSettings};
use driftwatch::model::{ResourceRecord, ResourceType};
use driftwatch::scan::record_collection;
use driftwatch::store::{FindingFilter, Scope};
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON built from the words IAM policies and AWS records are made of, so
/// that generated values hit the evaluators' real branches.
fn json_value() -> impl Strategy<Value = Value> {
    let words = prop::sample::select(vec![
        "Version",
        "Statement",
        "Effect",
        "Allow",
        "Deny",
        "Principal",
        "NotPrincipal",
        "AWS",
        "*",
        "Action",
        "NotAction",
        "s3:*",
        "s3:Get*",
        "Resource",
        "NotResource",
        "arn:aws:s3:::b",
        "arn:aws:s3:::b/*",
        "Condition",
        "Bool",
        "BoolIfExists",
        "aws:SecureTransport",
        "false",
        "true",
        "StringEquals",
        "rules",
        "selection",
        "countType",
        "sinceImagePushed",
        "imageCountMoreThan",
        "countNumber",
        "action",
        "expire",
        "tagStatus",
        "status",
        "Enabled",
        "http_tokens",
        "required",
        "'; DROP TABLE scans; --",
        "<script>alert(1)</script>",
        "\u{0}\u{202e}",
        "é\u{fffd}",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        words.clone().prop_map(|w| json!(w)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((words.clone(), inner), 0..6).prop_map(|pairs| Value::Object(
                pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn record(resource_type: ResourceType, document: Value) -> ResourceRecord {
    ResourceRecord {
        arn: "arn:aws:s3:::b".into(),
        resource_type,
        name: "b".into(),
        region: "us-east-1".into(),
        document: Ok(driftwatch::model::Document::from_value(&document)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bucket_policy_is_judged_without_panic(policy in json_value()) {
        let document = json!({
            "name": "b", "arn": "arn:aws:s3:::b", "region": "us-east-1",
            "policy": policy,
            "account_public_access_block": {"state": "absent"},
            "versioning": {"status": null, "mfa_delete": null},
        });
        let evaluations = evaluate::evaluate(&record(ResourceType::S3Bucket, document), &RuleSettings::default(), chrono::Utc::now());
        let tls: Vec<_> = evaluations.iter().filter(|e| e.control_id == "s3.tls_only").collect();
        prop_assert_eq!(tls.len(), 1);
    }

    #[test]
    fn any_document_of_any_type_is_judged_without_panic(document in json_value(), which in 0usize..ResourceType::ALL.len()) {
        let resource_type = ResourceType::ALL[which];
        let evaluations = evaluate::evaluate(&record(resource_type, document), &RuleSettings::default(), chrono::Utc::now());
        for e in &evaluations {
            let control = evaluate::control(&e.control_id).expect("a known control");
            prop_assert!(control.resource_types.contains(&resource_type));
        }
    }

    #[test]
    fn any_lifecycle_policy_is_judged_without_panic(policy in json_value()) {
        let document = json!({
            "name": "r", "arn": "arn:aws:ecr:us-east-1:123456789012:repository/r",
            "region": "us-east-1", "lifecycle_policy": policy,
        });
        let evaluations = evaluate::evaluate(&record(ResourceType::EcrRepository, document), &RuleSettings::default(), chrono::Utc::now());
        prop_assert_eq!(evaluations.len(), 1);
    }
}

#[test]
fn an_unreadable_document_is_unknown_for_every_control_never_pass() {
    for resource_type in ResourceType::ALL {
        let evaluations = evaluate::evaluate(
            &record(*resource_type, json!("not a record")),
            &RuleSettings::default(),
            chrono::Utc::now(),
        );
        assert!(!evaluations.is_empty(), "{resource_type}");
        for e in evaluations {
            assert_eq!(
                e.status,
                FindingStatus::Unknown,
                "{resource_type} {}",
                e.control_id
            );
        }
    }
}

#[tokio::test]
async fn a_document_of_several_megabytes_and_hostile_strings_are_stored_intact() {
    let (store, url) = support::database().await;
    // U+0000 is valid in JSON and refused by PostgreSQL's jsonb: the store
    // must keep the rest of the document rather than fail the scan.
    let hostile = "'; DROP TABLE findings; -- <script>alert(1)</script> \u{202e}\u{0}";
    let storable = hostile.to_string();
    let big_statement: Vec<Value> = (0..20_000)
        .map(|i| {
            json!({"Sid": format!("{storable}-{i}"), "Effect": "Allow", "Principal": {"AWS": "*"},
                   "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::b/{i}/*")})
        })
        .collect();
    let document = json!({
        "name": storable, "arn": "arn:aws:s3:::b", "region": "us-east-1",
        "policy": {"Version": "2012-10-17", "Statement": big_statement},
        "account_public_access_block": {"state": "absent"},
        "versioning": {"status": null, "mfa_delete": null},
    });
    let size = document.to_string().len();
    assert!(size > 3_000_000, "{size} bytes");
    let collection = Collection::finish(
        "s3",
        "global",
        chrono::Utc::now(),
        &driftwatch::clock::Clock::system(),
        Ok(vec![ResourceRecord {
            name: storable.clone(),
            ..record(ResourceType::S3Bucket, document.clone())
        }]),
    );
    let scope = Scope {
        collector: "s3".into(),
        account_id: "123456789012".into(),
        account_name: hostile.to_string(),
        region: "global".into(),
    };
    let report = record_collection(
        &store,
        scope,
        &collection,
        &RuleSettings::default(),
        None,
        None,
    )
    .await
    .expect("a large, hostile document is stored");
    assert_eq!(report.drift.len(), 1);
    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert_eq!(
        findings.len(),
        evaluate::controls_for(ResourceType::S3Bucket).count(),
        "every S3 control decided"
    );
    let tls = findings
        .iter()
        .find(|f| f.control_id == "s3.tls_only")
        .expect("tls finding");
    assert_eq!(tls.status, FindingStatus::Fail);
    // The text is kept as written, but for U+0000, replaced by U+FFFD.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let (name, account): (String, String) =
        sqlx::query_as("SELECT r.name, s.account_name FROM resources r JOIN scans s ON s.id = $1")
            .bind(report.scan_id)
            .fetch_one(&mut conn)
            .await
            .expect("stored names");
    let expected = hostile.replace('\u{0}', "\u{fffd}");
    assert_eq!(name, expected);
    assert_eq!(account, expected);
    let sid: String =
        sqlx::query_scalar("SELECT body->'policy'->'Statement'->0->>'Sid' FROM documents")
            .fetch_one(&mut conn)
            .await
            .expect("stored policy");
    assert_eq!(sid, format!("{expected}-0"));
}
