//! CloudTrail write events, as EventBridge delivers them ("AWS API Call via
//! CloudTrail"), read into who changed what: the actor behind the call and
//! the collected resources the call can have changed, so that only those
//! are described again.
//!
//! Pure: JSON in, [`ChangeEvent`] and [`Target`]s out. The consumer (SQS,
//! re-description, recording) builds on it.

use crate::model::partition_for_region;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// Who made a call: CloudTrail's `userIdentity`, with what a person asks
/// first ("alice via role Admin", not just the role).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `IAMUser`, `AssumedRole`, `AWSService`, `Root`, `FederatedUser`, ...
    pub kind: String,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    /// For an assumed role or a federated user: the role (or user) that
    /// issued the session.
    pub session_issuer_arn: Option<String>,
    /// For an assumed role: the session name (often the person or job).
    pub session_name: Option<String>,
    /// The AWS service that made the call on the principal's behalf.
    pub invoked_by: Option<String>,
    pub user_name: Option<String>,
}

/// One CloudTrail management event.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub event_id: String,
    pub event_time: DateTime<Utc>,
    /// `s3.amazonaws.com`.
    pub event_source: String,
    pub event_name: String,
    pub region: String,
    /// The account whose resources the call addressed.
    pub account_id: String,
    pub read_only: bool,
    /// Set when AWS refused the call: it changed nothing.
    pub error_code: Option<String>,
    pub actor: Actor,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    request_parameters: Value,
    response_elements: Value,
}

/// What a write event can have changed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// One collected resource, by the ARN its collector records.
    Resource(String),
    /// Resources the event names only indirectly (a flow log id, an
    /// account-wide setting copied into every bucket): the collector's
    /// whole scope in `region` (`global` for account-wide collectors).
    Scope {
        collector: &'static str,
        region: String,
    },
}

/// What to do with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Describe these again.
    Changed(Vec<Target>),
    /// A read: changes nothing.
    ReadOnly,
    /// A call AWS refused (`errorCode`): changes nothing.
    Refused(String),
    /// A write to a service driftwatch does not collect.
    NotCollected,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a CloudTrail event: `{0}` is missing")]
    Missing(&'static str),
    #[error("eventTime `{0}` is not an RFC 3339 time")]
    BadTime(String),
    /// Only AWS may put events whose source starts with `aws.`: anything
    /// else was posted by a principal and its `userIdentity` is a claim.
    #[error("event source `{0}` is not AWS's: a custom event posing as CloudTrail")]
    NotFromAws(String),
}

impl ChangeEvent {
    /// An EventBridge event (`detail` holds the CloudTrail record) or a
    /// CloudTrail record itself.
    pub fn parse(text: &str) -> Result<ChangeEvent, EventError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EventError::NotJson(e.to_string()))?;
        let record = if value.get("detail").is_some_and(Value::is_object) {
            let source = value["source"].as_str().unwrap_or_default();
            if !source.starts_with("aws.") {
                return Err(EventError::NotFromAws(source.to_string()));
            }
            &value["detail"]
        } else {
            &value
        };
        let required = |field: &'static str| {
            record[field]
                .as_str()
                .map(str::to_string)
                .ok_or(EventError::Missing(field))
        };
        let time = required("eventTime")?;
        let event_time = DateTime::parse_from_rfc3339(&time)
            .map_err(|_| EventError::BadTime(time.clone()))?
            .with_timezone(&Utc);
        let optional = |field: &str| record[field].as_str().map(str::to_string);
        Ok(ChangeEvent {
            event_id: required("eventID")?,
            event_time,
            event_source: required("eventSource")?,
            event_name: required("eventName")?,
            region: required("awsRegion")?,
            // The account addressed, not the caller's (a cross-account call).
            account_id: required("recipientAccountId")?,
            // Absent on older records: only the documented `true` is a read.
            read_only: record["readOnly"] == Value::Bool(true),
            error_code: optional("errorCode"),
            actor: Actor::of(&record["userIdentity"]),
            source_ip: optional("sourceIPAddress"),
            user_agent: optional("userAgent"),
            request_id: optional("requestID"),
            request_parameters: record["requestParameters"].clone(),
            response_elements: record["responseElements"].clone(),
        })
    }

    /// What the event can have changed, among the resources collected.
    pub fn disposition(&self) -> Disposition {
        if let Some(code) = &self.error_code {
            return Disposition::Refused(code.clone());
        }
        if self.read_only {
            return Disposition::ReadOnly;
        }
        let Some(mapping) = MAPPINGS
            .iter()
            .find(|m| m.source == self.event_source && m.names.contains(&self.event_name.as_str()))
        else {
            // A write of a collected service that no mapping names may
            // still change what is collected: its collectors' scopes, so
            // that nothing is left unseen until the next scheduled scan.
            return match SERVICES
                .iter()
                .find(|(source, _)| *source == self.event_source)
            {
                Some((_, collectors)) => Disposition::Changed(
                    collectors
                        .iter()
                        .map(|(collector, account_wide)| Target::Scope {
                            collector,
                            region: scope_region(*account_wide, &self.region),
                        })
                        .collect(),
                ),
                None => Disposition::NotCollected,
            };
        };
        let mut targets = (mapping.targets)(self);
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            // A mapped write whose parameters name nothing we can resolve:
            // the collector's scope, rather than a change left unseen.
            targets.push(Target::Scope {
                collector: mapping.collector,
                region: mapping.scope_region(&self.region),
            });
        }
        Disposition::Changed(targets)
    }

    /// Everything CloudTrail said of the call and its caller, as kept
    /// with the drift it explains.
    pub fn evidence(&self) -> Value {
        let actor = &self.actor;
        serde_json::json!({
            "event_id": self.event_id,
            "event_time": self.event_time.to_rfc3339(),
            "event_source": self.event_source,
            "event_name": self.event_name,
            "account_id": self.account_id,
            "region": self.region,
            "request_id": self.request_id,
            "source_ip": self.source_ip,
            "user_agent": self.user_agent,
            "actor": actor.describe(),
            "identity": {
                "type": actor.kind,
                "arn": actor.arn,
                "account_id": actor.account_id,
                "user_name": actor.user_name,
                "session_issuer_arn": actor.session_issuer_arn,
                "session_name": actor.session_name,
                "invoked_by": actor.invoked_by,
            },
        })
    }

    /// The collector whose resources the event's [`Target::Resource`]s
    /// are, and the scope region they are recorded under.
    pub fn resource_scope(&self) -> Option<(&'static str, String)> {
        MAPPINGS
            .iter()
            .find(|m| m.source == self.event_source && m.names.contains(&self.event_name.as_str()))
            .map(|m| (m.collector, m.scope_region(&self.region)))
    }

    fn partition(&self) -> &'static str {
        partition_for_region(&self.region)
    }

    fn regional_arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{resource}",
            self.partition(),
            self.region,
            self.account_id
        )
    }

    fn request(&self, field: &str) -> Option<&str> {
        self.request_parameters[field].as_str()
    }
}

impl Actor {
    fn of(identity: &Value) -> Actor {
        let text = |v: &Value| v.as_str().map(str::to_string);
        let issuer = &identity["sessionContext"]["sessionIssuer"];
        let arn = text(&identity["arn"]);
        let kind = text(&identity["type"]).unwrap_or_else(|| "Unknown".into());
        // arn:aws:sts::123456789012:assumed-role/Admin/alice
        let session_name = (kind == "AssumedRole")
            .then(|| arn.as_deref()?.rsplit('/').next().map(str::to_string))
            .flatten()
            .or_else(|| {
                (kind == "AssumedRole")
                    .then(|| {
                        identity["principalId"]
                            .as_str()?
                            .split_once(':')
                            .map(|(_, s)| s.to_string())
                    })
                    .flatten()
            });
        Actor {
            kind,
            arn,
            account_id: text(&identity["accountId"]),
            session_issuer_arn: text(&issuer["arn"]),
            session_name,
            invoked_by: text(&identity["invokedBy"]),
            user_name: text(&identity["userName"])
                .or_else(|| text(&issuer["userName"]))
                .or_else(|| text(&identity["onBehalfOf"]["userId"])),
        }
    }

    /// One line a person reads: "alice via role Admin".
    pub fn describe(&self) -> String {
        let issuer_name = self
            .session_issuer_arn
            .as_deref()
            .and_then(|a| a.rsplit('/').next());
        let who = match self.kind.as_str() {
            "AssumedRole" => match (&self.session_name, issuer_name) {
                (Some(session), Some(role)) => format!("{session} via role {role}"),
                (None, Some(role)) => format!("role {role}"),
                _ => self.arn.clone().unwrap_or_else(|| "an assumed role".into()),
            },
            "IAMUser" => format!(
                "IAM user {}",
                self.user_name
                    .clone()
                    .or_else(|| self.arn.clone())
                    .unwrap_or_default()
            ),
            "Root" => format!(
                "the root user of {}",
                self.account_id.as_deref().unwrap_or("the account")
            ),
            "AWSService" => format!(
                "AWS service {}",
                self.invoked_by.as_deref().unwrap_or("(unnamed)")
            ),
            "FederatedUser" => match (&self.arn, issuer_name) {
                (Some(arn), Some(issuer)) => format!("federated user {arn} via {issuer}"),
                (Some(arn), None) => format!("federated user {arn}"),
                _ => "a federated user".into(),
            },
            "IdentityCenterUser" => format!(
                "Identity Center user {}",
                self.user_name.as_deref().unwrap_or("(unnamed)")
            ),
            "AWSAccount" => format!(
                "account {}",
                self.account_id.as_deref().unwrap_or("(unnamed)")
            ),
            other => match &self.arn {
                Some(arn) => format!("{other} {arn}"),
                None => other.to_string(),
            },
        };
        match (&self.invoked_by, self.kind.as_str()) {
            (Some(service), kind) if kind != "AWSService" => format!("{who} through {service}"),
            _ => who,
        }
    }
}

/// Write events of one service that change resources of one collector.
struct Mapping {
    source: &'static str,
    names: &'static [&'static str],
    collector: &'static str,
    account_wide: bool,
    targets: fn(&ChangeEvent) -> Vec<Target>,
}

impl Mapping {
    fn scope_region(&self, region: &str) -> String {
        scope_region(self.account_wide, region)
    }
}

/// Every string under `key`, at any depth: EC2's responses nest their ids
/// in `items` lists of varying shape.
fn strings_under<'v>(value: &'v Value, key: &str, found: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == key => found.push(s),
                    _ => strings_under(v, key, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_under(v, key, found)),
        _ => {}
    }
}

/// Resources named under `key` in the request or the response; EC2's
/// newer APIs log their parameters capitalised (`InstanceId`), so the key
/// with its first letter upper-cased is read too.
fn named(event: &ChangeEvent, key: &str, arn: impl Fn(&str) -> String) -> Vec<Target> {
    let capitalised: String = key
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .chain(key.chars().skip(1))
        .collect();
    let mut found = Vec::new();
    for key in [key, capitalised.as_str()] {
        strings_under(&event.request_parameters, key, &mut found);
        strings_under(&event.response_elements, key, &mut found);
    }
    found
        .into_iter()
        .map(|s| Target::Resource(arn(s)))
        .collect()
}

fn bucket(event: &ChangeEvent) -> Vec<Target> {
    event
        .request("bucketName")
        .map(|b| {
            vec![Target::Resource(format!(
                "arn:{}:s3:::{b}",
                event.partition()
            ))]
        })
        .unwrap_or_default()
}

fn scope_region(account_wide: bool, region: &str) -> String {
    if account_wide {
        super::GLOBAL_SCOPE.to_string()
    } else {
        region.to_string()
    }
}

/// The scopes of `collectors` (all regional) in the event's region.
fn scopes(event: &ChangeEvent, collectors: &[&'static str]) -> Vec<Target> {
    collectors
        .iter()
        .map(|collector| Target::Scope {
            collector,
            region: event.region.clone(),
        })
        .collect()
}

/// `targets`, and the scope of `collector`, whose records embed what the
/// event changes (a database its groups' rules, a flow log its
/// destination's retention).
fn and_scope(
    mut targets: Vec<Target>,
    event: &ChangeEvent,
    collector: &'static str,
) -> Vec<Target> {
    targets.extend(scopes(event, &[collector]));
    targets
}

/// Every `eventSource` whose writes can change what is collected: what the
/// EventBridge rule in `deploy/events/event-pattern.json` must match.
pub fn collected_event_sources() -> Vec<&'static str> {
    let mut sources: Vec<&'static str> = SERVICES
        .iter()
        .map(|(source, _)| *source)
        .chain(MAPPINGS.iter().map(|m| m.source))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    sources
}

/// The collectors that read each collected service, and whether they are
/// account-wide: the scopes a write that no mapping names falls back to.
const SERVICES: &[(&str, &[(&str, bool)])] = &[
    ("s3.amazonaws.com", &[("s3", true), ("account", true)]),
    (
        "rds.amazonaws.com",
        &[("rds", false), ("rds_snapshots", false)],
    ),
    (
        "ec2.amazonaws.com",
        &[
            ("ec2", false),
            ("network", false),
            ("ebs", false),
            ("account_region", false),
        ],
    ),
    (
        "logs.amazonaws.com",
        &[("logs", false), ("ec2", false), ("cloudtrail", false)],
    ),
    ("monitoring.amazonaws.com", &[("cloudtrail", false)]),
    // The alarm topics' subscriptions, read with the log-metric alarms.
    ("sns.amazonaws.com", &[("cloudtrail", false)]),
    ("eks.amazonaws.com", &[("eks", false)]),
    ("ecr.amazonaws.com", &[("ecr", false)]),
    ("iam.amazonaws.com", &[("iam", true)]),
    ("kms.amazonaws.com", &[("kms", false)]),
    ("cloudtrail.amazonaws.com", &[("cloudtrail", false)]),
    ("elasticfilesystem.amazonaws.com", &[("efs", false)]),
    ("config.amazonaws.com", &[("account_region", false)]),
    ("guardduty.amazonaws.com", &[("account_region", false)]),
    ("securityhub.amazonaws.com", &[("account_region", false)]),
    (
        "access-analyzer.amazonaws.com",
        &[("account_region", false)],
    ),
];

fn rds_instances(event: &ChangeEvent) -> Vec<Target> {
    let mut targets = named(event, "dBInstanceIdentifier", |id| {
        event.regional_arn("rds", &format!("db:{}", id.to_lowercase()))
    });
    // An Aurora member's cluster lists its members: the cluster too.
    targets.extend(rds_clusters(event));
    targets
}

fn rds_clusters(event: &ChangeEvent) -> Vec<Target> {
    named(event, "dBClusterIdentifier", |id| {
        event.regional_arn("rds", &format!("cluster:{}", id.to_lowercase()))
    })
}

/// The group an event changes, never the groups its rules reference
/// (`ipPermissions.items[].groups`, possibly of other accounts): the
/// request's `groupId` (or `GroupId` in a `...Request` wrapper), the
/// response's, and the group of each rule the response lists.
fn security_groups(event: &ChangeEvent) -> Vec<Target> {
    let request = &event.request_parameters;
    let response = &event.response_elements;
    let wrapped = |value: &'_ Value| -> Vec<String> {
        value
            .as_object()
            .into_iter()
            .flat_map(|map| map.values())
            .filter_map(|inner| inner["GroupId"].as_str().map(str::to_string))
            .collect()
    };
    let mut ids: Vec<String> = [&request["groupId"], &response["groupId"]]
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .chain(wrapped(request))
        .collect();
    ids.extend(
        response["securityGroupRuleSet"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|rule| rule["groupId"].as_str().map(str::to_string)),
    );
    let mut targets: Vec<Target> = ids
        .iter()
        .map(|id| Target::Resource(event.regional_arn("ec2", &format!("security-group/{id}"))))
        .collect();
    if targets.is_empty() {
        // Named by groupName (the default VPC's style): the region's groups.
        targets.extend(scopes(event, &["network"]));
    }
    // RDS instances carry their groups' rules.
    and_scope(targets, event, "rds")
}

fn eks_cluster(event: &ChangeEvent) -> Vec<Target> {
    event
        .request("name")
        .or_else(|| event.request("clusterName"))
        .map(|name| {
            vec![Target::Resource(
                event.regional_arn("eks", &format!("cluster/{name}")),
            )]
        })
        .unwrap_or_default()
}

const MAPPINGS: &[Mapping] = &[
    Mapping {
        source: "s3.amazonaws.com",
        names: &[
            "CreateBucket",
            "DeleteBucket",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketEncryption",
            "DeleteBucketEncryption",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
            "PutBucketVersioning",
            "PutBucketReplication",
            "DeleteBucketReplication",
            "PutBucketTagging",
            "DeleteBucketTagging",
        ],
        collector: "s3",
        account_wide: true,
        targets: bucket,
    },
    // A flow log to a bucket records the bucket's expiry (ec2 records).
    Mapping {
        source: "s3.amazonaws.com",
        names: &["PutBucketLifecycle", "DeleteBucketLifecycle"],
        collector: "s3",
        account_wide: true,
        targets: |event| and_scope(bucket(event), event, "ec2"),
    },
    // The account's block is copied into every bucket's document; a
    // logging change also changes which buckets receive whose logs.
    Mapping {
        source: "s3.amazonaws.com",
        names: &[
            "PutAccountPublicAccessBlock",
            "DeleteAccountPublicAccessBlock",
            "PutBucketLogging",
        ],
        collector: "s3",
        account_wide: true,
        targets: |_| {
            vec![Target::Scope {
                collector: "s3",
                region: super::GLOBAL_SCOPE.to_string(),
            }]
        },
    },
    Mapping {
        source: "rds.amazonaws.com",
        names: &[
            "CreateDBInstance",
            "ModifyDBInstance",
            "DeleteDBInstance",
            "RestoreDBInstanceFromDBSnapshot",
            "RestoreDBInstanceToPointInTime",
            "RestoreDBInstanceFromS3",
            "CreateDBInstanceReadReplica",
            "PromoteReadReplica",
        ],
        collector: "rds",
        account_wide: false,
        targets: rds_instances,
    },
    Mapping {
        source: "rds.amazonaws.com",
        names: &[
            "CreateDBCluster",
            "ModifyDBCluster",
            "DeleteDBCluster",
            "RestoreDBClusterFromSnapshot",
            "RestoreDBClusterToPointInTime",
            "RestoreDBClusterFromS3",
            "PromoteReadReplicaDBCluster",
            "FailoverDBCluster",
        ],
        collector: "rds",
        account_wide: false,
        targets: rds_clusters,
    },
    Mapping {
        source: "ec2.amazonaws.com",
        names: &[
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupEgress",
            "ModifySecurityGroupRules",
            "UpdateSecurityGroupRuleDescriptionsIngress",
            "UpdateSecurityGroupRuleDescriptionsEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ],
        collector: "network",
        account_wide: false,
        targets: security_groups,
    },
    // Network ACLs, VPCs (their default group and ACL) and prefix lists
    // (resolved into groups' and databases' rules): the region's scopes.
    Mapping {
        source: "ec2.amazonaws.com",
        names: &[
            "CreateNetworkAcl",
            "DeleteNetworkAcl",
            "CreateNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
            "CreateVpc",
            "DeleteVpc",
            "ModifyManagedPrefixList",
        ],
        collector: "network",
        account_wide: false,
        targets: |event| scopes(event, &["network", "ec2", "rds"]),
    },
    Mapping {
        source: "ec2.amazonaws.com",
        names: &[
            "ModifyInstanceMetadataOptions",
            "RunInstances",
            "TerminateInstances",
            "StartInstances",
            "StopInstances",
            "AssociateIamInstanceProfile",
            "ReplaceIamInstanceProfileAssociation",
            "DisassociateIamInstanceProfile",
        ],
        collector: "ec2",
        account_wide: false,
        targets: |event| {
            named(event, "instanceId", |id| {
                event.regional_arn("ec2", &format!("instance/{id}"))
            })
        },
    },
    // Node groups record the template version they launch from.
    Mapping {
        source: "ec2.amazonaws.com",
        names: &[
            "CreateLaunchTemplate",
            "CreateLaunchTemplateVersion",
            "ModifyLaunchTemplate",
            "DeleteLaunchTemplate",
            "DeleteLaunchTemplateVersions",
        ],
        collector: "ec2",
        account_wide: false,
        targets: |event| {
            let templates = named(event, "launchTemplateId", |id| {
                event.regional_arn("ec2", &format!("launch-template/{id}"))
            });
            and_scope(templates, event, "eks")
        },
    },
    // DeleteFlowLogs names flow log ids only: the region's VPCs; log
    // groups record the flow logs writing to them.
    Mapping {
        source: "ec2.amazonaws.com",
        names: &["CreateFlowLogs", "DeleteFlowLogs"],
        collector: "ec2",
        account_wide: false,
        targets: |event| scopes(event, &["ec2", "logs"]),
    },
    // Flow logs record their log group's retention (ec2 records).
    Mapping {
        source: "logs.amazonaws.com",
        names: &[
            "CreateLogGroup",
            "DeleteLogGroup",
            "PutRetentionPolicy",
            "DeleteRetentionPolicy",
            "AssociateKmsKey",
            "DisassociateKmsKey",
        ],
        collector: "logs",
        account_wide: false,
        targets: |event| {
            let groups = named(event, "logGroupName", |name| {
                event.regional_arn("logs", &format!("log-group:{name}"))
            });
            and_scope(groups, event, "ec2")
        },
    },
    Mapping {
        source: "eks.amazonaws.com",
        names: &[
            "CreateCluster",
            "DeleteCluster",
            "UpdateClusterConfig",
            "UpdateClusterVersion",
            "CreateAccessEntry",
            "DeleteAccessEntry",
            "AssociateAccessPolicy",
            "DisassociateAccessPolicy",
        ],
        collector: "eks",
        account_wide: false,
        targets: eks_cluster,
    },
    // A node group's ARN carries a uuid only the response has.
    Mapping {
        source: "eks.amazonaws.com",
        names: &[
            "CreateNodegroup",
            "UpdateNodegroupConfig",
            "UpdateNodegroupVersion",
            "DeleteNodegroup",
        ],
        collector: "eks",
        account_wide: false,
        targets: |event| {
            let mut found = Vec::new();
            strings_under(&event.response_elements, "nodegroupArn", &mut found);
            found
                .into_iter()
                .map(|a| Target::Resource(a.to_string()))
                .collect()
        },
    },
    Mapping {
        source: "ecr.amazonaws.com",
        names: &[
            "CreateRepository",
            "DeleteRepository",
            "PutLifecyclePolicy",
            "DeleteLifecyclePolicy",
        ],
        collector: "ecr",
        account_wide: false,
        targets: |event| {
            event
                .request("repositoryName")
                .map(|name| {
                    vec![Target::Resource(
                        event.regional_arn("ecr", &format!("repository/{name}")),
                    )]
                })
                .unwrap_or_default()
        },
    },
];

#[cfg(test)]
mod tests;
