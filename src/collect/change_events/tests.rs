//! CloudTrail records in the shapes of the CloudTrail user guide's
//! `userIdentity` and event examples, wrapped as EventBridge delivers them.

use super::*;
use serde_json::json;

fn delivered(detail: Value) -> String {
    json!({
        "version": "0",
        "id": "6f8d6e9b-3c1f-4c55-9c8a-0d1a6f2b7e10",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-12-01T03:12:07Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    })
    .to_string()
}

fn record(identity: Value, source: &str, name: &str, request: Value, response: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": "2026-12-01T03:12:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": "8E3B6C1A2F",
        "eventID": "3a4b2c1d-0000-4e5f-8a9b-112233445566",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
    })
}

fn assumed_role() -> Value {
    json!({
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID:alice",
        "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
        "accountId": "123456789012",
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID",
                "arn": "arn:aws:iam::123456789012:role/Admin",
                "accountId": "123456789012",
                "userName": "Admin"
            },
            "attributes": {"creationDate": "2026-12-01T03:00:00Z", "mfaAuthenticated": "true"}
        }
    })
}

fn parse(detail: Value) -> ChangeEvent {
    ChangeEvent::parse(&delivered(detail)).expect("a CloudTrail event")
}

#[test]
fn an_assumed_role_session_is_the_person_via_the_role() {
    let event = parse(record(
        assumed_role(),
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        json!({"bucketName": "card-vault", "policy": "", "Host": "card-vault.s3.eu-west-1.amazonaws.com"}),
        Value::Null,
    ));
    assert_eq!(event.actor.describe(), "alice via role Admin");
    assert_eq!(
        event.actor.session_issuer_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/Admin")
    );
    assert_eq!(event.event_id, "3a4b2c1d-0000-4e5f-8a9b-112233445566");
    assert_eq!(event.source_ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        event.event_time,
        "2026-12-01T03:12:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time")
    );
    assert_eq!(
        event.disposition(),
        Disposition::Changed(vec![Target::Resource("arn:aws:s3:::card-vault".into())])
    );
}

#[test]
fn users_root_and_services_are_named_as_a_person_reads_them() {
    let actor = |identity: Value| Actor::of(&identity).describe();
    assert_eq!(
        actor(
            json!({"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::123456789012:user/bob",
                     "accountId": "123456789012", "userName": "bob"})
        ),
        "IAM user bob"
    );
    assert_eq!(
        actor(
            json!({"type": "Root", "principalId": "123456789012", "arn": "arn:aws:iam::123456789012:root",
                     "accountId": "123456789012"})
        ),
        "the root user of 123456789012"
    );
    assert_eq!(
        actor(json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"})),
        "AWS service cloudformation.amazonaws.com"
    );
    assert_eq!(
        actor(
            json!({"type": "IdentityCenterUser", "accountId": "123456789012",
                     "onBehalfOf": {"userId": "9067e0a1-b2c3", "identityStoreArn": "arn:aws:identitystore::123456789012:identitystore/d-1"}})
        ),
        "Identity Center user 9067e0a1-b2c3"
    );
    assert_eq!(
        actor(
            json!({"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"})
        ),
        "account 444455556666"
    );
    let mut through = assumed_role();
    through["invokedBy"] = json!("cloudformation.amazonaws.com");
    assert_eq!(
        actor(through),
        "alice via role Admin through cloudformation.amazonaws.com"
    );
    // A session whose ARN is missing still has its name in principalId.
    let mut no_arn = assumed_role();
    no_arn.as_object_mut().expect("object").remove("arn");
    assert_eq!(actor(no_arn), "alice via role Admin");
}

#[test]
fn reads_refusals_and_other_services_change_nothing_and_unnamed_writes_rescan() {
    let mut read = record(
        assumed_role(),
        "s3.amazonaws.com",
        "GetBucketPolicy",
        json!({"bucketName": "b"}),
        Value::Null,
    );
    read["readOnly"] = json!(true);
    assert_eq!(parse(read).disposition(), Disposition::ReadOnly);
    let mut refused = record(
        assumed_role(),
        "s3.amazonaws.com",
        "PutBucketPolicy",
        json!({"bucketName": "b"}),
        Value::Null,
    );
    refused["errorCode"] = json!("AccessDenied");
    assert_eq!(
        parse(refused).disposition(),
        Disposition::Refused("AccessDenied".into())
    );
    let elsewhere = record(
        assumed_role(),
        "sqs.amazonaws.com",
        "CreateQueue",
        json!({"queueName": "q"}),
        Value::Null,
    );
    assert_eq!(parse(elsewhere).disposition(), Disposition::NotCollected);
    // A write of a collected service no mapping names: its collectors'
    // scopes, never nothing.
    let unnamed = record(
        assumed_role(),
        "kms.amazonaws.com",
        "ScheduleKeyDeletion",
        json!({"keyId": "k", "pendingWindowInDays": 7}),
        Value::Null,
    );
    assert_eq!(
        parse(unnamed).disposition(),
        Disposition::Changed(vec![Target::Scope {
            collector: "kms",
            region: "eu-west-1".into()
        }])
    );
}

#[test]
fn each_service_maps_to_the_arn_its_collector_records() {
    let changed = |source: &str, name: &str, request: Value, response: Value| match parse(record(
        assumed_role(),
        source,
        name,
        request,
        response,
    ))
    .disposition()
    {
        Disposition::Changed(targets) => targets,
        other => panic!("{name}: {other:?}"),
    };
    let arn = |a: &str| Target::Resource(a.to_string());
    let scope = |collector: &'static str, region: &str| Target::Scope {
        collector,
        region: region.to_string(),
    };
    assert_eq!(
        changed(
            "rds.amazonaws.com",
            "ModifyDBInstance",
            json!({"dBInstanceIdentifier": "Ledger", "publiclyAccessible": true}),
            Value::Null
        ),
        [arn("arn:aws:rds:eu-west-1:123456789012:db:ledger")]
    );
    assert_eq!(
        changed(
            "rds.amazonaws.com",
            "DeleteDBCluster",
            json!({"dBClusterIdentifier": "orders"}),
            Value::Null
        ),
        [arn("arn:aws:rds:eu-west-1:123456789012:cluster:orders")]
    );
    // An Aurora member: its cluster lists it.
    assert_eq!(
        changed(
            "rds.amazonaws.com",
            "CreateDBInstance",
            json!({"dBInstanceIdentifier": "orders-2", "dBClusterIdentifier": "Orders"}),
            Value::Null
        ),
        [
            arn("arn:aws:rds:eu-west-1:123456789012:cluster:orders"),
            arn("arn:aws:rds:eu-west-1:123456789012:db:orders-2")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "ReplaceNetworkAclEntry",
            json!({"networkAclId": "acl-1", "ruleNumber": 100, "cidrBlock": "0.0.0.0/0"}),
            Value::Null
        ),
        [
            scope("ec2", "eu-west-1"),
            scope("network", "eu-west-1"),
            scope("rds", "eu-west-1")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "RevokeSecurityGroupEgress",
            json!({"RevokeSecurityGroupEgressRequest": {"GroupId": "sg-0egress"}}),
            Value::Null
        ),
        [
            arn("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0egress"),
            scope("rds", "eu-west-1")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            json!({"groupId": "sg-0a1b2c", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
                   "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                   "groups": {"items": [{"groupId": "sg-0peer", "userId": "999999999999"}]}}]}}),
            json!({"_return": true, "securityGroupRuleSet": {"items": [{"groupId": "sg-0a1b2c", "securityGroupRuleId": "sgr-1"}]}})
        ),
        [
            arn("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0a1b2c"),
            scope("rds", "eu-west-1")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 2, "maxCount": 2}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-0aa"}, {"instanceId": "i-0bb"}]}})
        ),
        [
            arn("arn:aws:ec2:eu-west-1:123456789012:instance/i-0aa"),
            arn("arn:aws:ec2:eu-west-1:123456789012:instance/i-0bb")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "ModifyInstanceMetadataOptions",
            json!({"ModifyInstanceMetadataOptionsRequest": {"InstanceId": "i-0aa", "HttpTokens": "optional"}}),
            json!({"ModifyInstanceMetadataOptionsResponse": {"instanceId": "i-0aa"}})
        ),
        [arn("arn:aws:ec2:eu-west-1:123456789012:instance/i-0aa")]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "CreateLaunchTemplateVersion",
            json!({"CreateLaunchTemplateVersionRequest": {"LaunchTemplateId": "lt-0abc"}}),
            json!({"CreateLaunchTemplateVersionResponse": {"launchTemplateVersion": {"launchTemplateId": "lt-0abc", "versionNumber": 3}}})
        ),
        [
            arn("arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-0abc"),
            scope("eks", "eu-west-1")
        ]
    );
    assert_eq!(
        changed(
            "ec2.amazonaws.com",
            "DeleteFlowLogs",
            json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-1"}}}),
            Value::Null
        ),
        [scope("ec2", "eu-west-1"), scope("logs", "eu-west-1")]
    );
    assert_eq!(
        changed(
            "logs.amazonaws.com",
            "DeleteRetentionPolicy",
            json!({"logGroupName": "/app/payments"}),
            Value::Null
        ),
        [
            arn("arn:aws:logs:eu-west-1:123456789012:log-group:/app/payments"),
            scope("ec2", "eu-west-1")
        ]
    );
    assert_eq!(
        changed(
            "eks.amazonaws.com",
            "UpdateClusterConfig",
            json!({"name": "prod", "resourcesVpcConfig": {"endpointPublicAccess": true}}),
            Value::Null
        ),
        [arn("arn:aws:eks:eu-west-1:123456789012:cluster/prod")]
    );
    assert_eq!(
        changed(
            "eks.amazonaws.com",
            "DeleteAccessEntry",
            json!({"clusterName": "prod", "principalArn": "arn:aws:iam::123456789012:role/ci"}),
            Value::Null
        ),
        [arn("arn:aws:eks:eu-west-1:123456789012:cluster/prod")]
    );
    assert_eq!(
        changed(
            "eks.amazonaws.com",
            "CreateNodegroup",
            json!({"clusterName": "prod", "nodegroupName": "workers"}),
            json!({"nodegroup": {"nodegroupArn": "arn:aws:eks:eu-west-1:123456789012:nodegroup/prod/workers/5ac6-11ee"}})
        ),
        [arn(
            "arn:aws:eks:eu-west-1:123456789012:nodegroup/prod/workers/5ac6-11ee"
        )]
    );
    // Without the uuid the node group cannot be named: the scope, not nothing.
    assert_eq!(
        changed(
            "eks.amazonaws.com",
            "DeleteNodegroup",
            json!({"clusterName": "prod", "nodegroupName": "workers"}),
            Value::Null
        ),
        [scope("eks", "eu-west-1")]
    );
    assert_eq!(
        changed(
            "ecr.amazonaws.com",
            "DeleteLifecyclePolicy",
            json!({"repositoryName": "app", "registryId": "123456789012"}),
            Value::Null
        ),
        [arn("arn:aws:ecr:eu-west-1:123456789012:repository/app")]
    );
    assert_eq!(
        changed(
            "s3.amazonaws.com",
            "PutAccountPublicAccessBlock",
            json!({"PublicAccessBlockConfiguration": {}}),
            Value::Null
        ),
        [scope("s3", "global")]
    );
    // China regions are their own partition.
    let mut china = record(
        assumed_role(),
        "s3.amazonaws.com",
        "PutBucketVersioning",
        json!({"bucketName": "b"}),
        Value::Null,
    );
    china["awsRegion"] = json!("cn-north-1");
    assert_eq!(
        parse(china).disposition(),
        Disposition::Changed(vec![arn("arn:aws-cn:s3:::b")])
    );
}

#[test]
fn a_raw_record_parses_too_and_a_broken_one_names_what_is_missing() {
    let raw = record(
        assumed_role(),
        "s3.amazonaws.com",
        "DeleteBucket",
        json!({"bucketName": "b"}),
        Value::Null,
    );
    assert!(ChangeEvent::parse(&raw.to_string()).is_ok());
    let mut no_id = raw.clone();
    no_id.as_object_mut().expect("object").remove("eventID");
    assert_eq!(
        ChangeEvent::parse(&delivered(no_id)),
        Err(EventError::Missing("eventID"))
    );
    let mut bad_time = raw;
    bad_time["eventTime"] = json!("yesterday");
    assert_eq!(
        ChangeEvent::parse(&delivered(bad_time)),
        Err(EventError::BadTime("yesterday".into()))
    );
    assert!(matches!(
        ChangeEvent::parse("{"),
        Err(EventError::NotJson(_))
    ));
}

#[test]
fn a_custom_event_posing_as_cloudtrail_is_refused() {
    let mut forged: Value = serde_json::from_str(&delivered(record(
        assumed_role(),
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        json!({"bucketName": "card-vault"}),
        Value::Null,
    )))
    .expect("json");
    forged["source"] = json!("acme.audit");
    assert_eq!(
        ChangeEvent::parse(&forged.to_string()),
        Err(EventError::NotFromAws("acme.audit".to_string()))
    );
}

#[test]
fn a_service_event_is_a_change_of_its_service() {
    // KMS deleting a key at the end of its waiting period: "AWS Service
    // Event via CloudTrail", no caller, the key's collector rescans.
    let event = parse(json!({
        "eventVersion": "1.08",
        "userIdentity": {"accountId": "123456789012", "invokedBy": "kms.amazonaws.com"},
        "eventTime": "2026-12-01T03:12:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "DeleteKey",
        "awsRegion": "eu-west-1",
        "requestParameters": null,
        "responseElements": null,
        "eventID": "b3c4d5e6-0000-4e5f-8a9b-112233445566",
        "readOnly": false,
        "eventType": "AwsServiceEvent",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
    }));
    assert_eq!(
        event.disposition(),
        Disposition::Changed(vec![Target::Scope {
            collector: "kms",
            region: "eu-west-1".to_string()
        }])
    );
}
