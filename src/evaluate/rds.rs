//! The RDS controls of `controls.md`.

use super::catalog::{CidrsSetting, Control, DaysSetting, Remediation, Setting};
use super::{Severity, Verdict};
use super::exposure::{Exposure, Policy, Sources, decide, rule_sources};
use crate::model::{IngressRule, RdsCluster, RdsInstance, RdsSnapshot, ResourceType, Sharing};
use ipnet::IpNet;
use serde_json::{Value, json};

/// `rds.backups`: the fewest days of automated backups that pass.
pub static MIN_BACKUP_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "min_retention_days",
    help: "the fewest days of automated backups that pass",
    default: 7,
    min: 1,
    max: 35,
    range_reason: "the RDS maximum",
};

/// `rds.not_public`: when set, every source that reaches a database port
/// must lie within one of these.
pub static ALLOWED_CIDRS: CidrsSetting = CidrsSetting {
    name: "allowed_cidrs",
    help: "CIDRs databases may be reached from; any other source fails",
};

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "rds.multi_az",
        title: "Database deployed across availability zones (Aurora: members in 2+ AZs)",
        resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
        default_severity: Severity::Medium,
        rationale: "A Single-AZ database goes down for the whole of an AZ or host failure, and it can only be restored from the last backup, which breaks availability commitments. Multi-AZ keeps a synchronous standby in another AZ and fails over to it automatically, usually in one to two minutes. For Aurora, the same protection comes from having cluster members in at least two AZs.",
        remediation: Remediation {
            console: "RDS console > Databases > instance > Modify > Availability and durability: choose a Multi-AZ deployment (create a standby instance), then apply immediately or in the next maintenance window. For Aurora, select the cluster > Actions > Add reader, and put the reader in an AZ the cluster does not use yet.",
            cli: "aws rds modify-db-instance --db-instance-identifier <db-instance> --multi-az --apply-immediately",
            terraform: "aws_db_instance: multi_az = true (Aurora: at least two aws_rds_cluster_instance resources with cluster_identifier = aws_rds_cluster.<name>.id, each with a different availability_zone)",
        },
        settings: &[],
        rule: |subject, _| {
            // An Aurora member's availability is its cluster's: judged there.
            (subject.get::<RdsInstance>())
                .filter(|i| i.cluster_identifier.is_none())
                .map(instance_multi_az)
                .or_else(|| subject.get().map(cluster_multi_az))
        },
    },
    Control {
        id: "rds.not_public",
        title: "Database not publicly accessible; no security group admits the internet (or CIDRs beyond those allowed) on its port",
        resource_types: &[ResourceType::RdsInstance],
        default_severity: Severity::Critical,
        rationale: "A publicly accessible DB instance gets an address that resolves to a public IP. A security group that admits 0.0.0.0/0 or ::/0 on the database port then lets anyone on the internet try logins, brute-force credentials and exploit engine vulnerabilities. Databases holding customer or cardholder data should be reachable only from the application tier, inside the VPC.",
        remediation: Remediation {
            console: "RDS console > Databases > instance > Modify > Connectivity > Additional configuration: set Public access to Not publicly accessible and apply. Then, in the EC2/VPC console > Security groups, delete every inbound rule on the database port whose source is 0.0.0.0/0 or ::/0, or narrow it to the application's security group.",
            cli: "aws rds modify-db-instance --db-instance-identifier <db-instance> --no-publicly-accessible --apply-immediately && aws ec2 revoke-security-group-ingress --group-id <sg-id> --protocol tcp --port <db-port> --cidr 0.0.0.0/0",
            terraform: "aws_db_instance: publicly_accessible = false; and no aws_vpc_security_group_ingress_rule on the database port with cidr_ipv4 = \"0.0.0.0/0\" or cidr_ipv6 = \"::/0\" (nor an inline aws_security_group ingress block with cidr_blocks = [\"0.0.0.0/0\"] or ipv6_cidr_blocks = [\"::/0\"]); use referenced_security_group_id = <app_sg_id> instead",
        },
        settings: &[Setting::Cidrs(&ALLOWED_CIDRS)],
        rule: |subject, settings| {
            (subject.get::<RdsInstance>()).map(|i| not_public(i, ALLOWED_CIDRS.get(settings)))
        },
    },
    Control {
        id: "rds.encrypted",
        title: "Storage encrypted",
        resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
        default_severity: Severity::High,
        rationale: "Unencrypted RDS storage leaves the data, its automated backups, its snapshots and its read replicas in plaintext. Anyone who gets the underlying volumes or a shared or copied snapshot can then read them. Encryption cannot be turned on for an existing instance: the fix is to snapshot the instance, copy the snapshot with encryption and restore it as a new instance.",
        remediation: Remediation {
            console: "RDS console > Snapshots: take a snapshot of the instance, select it > Actions > Copy snapshot with Enable encryption and a KMS key, then select the encrypted copy > Actions > Restore snapshot. Point clients at the new instance and delete the old one. Encryption cannot be enabled in place (for Aurora, use the cluster snapshot and restore it to a new cluster).",
            cli: "aws rds create-db-snapshot --db-instance-identifier <db-instance> --db-snapshot-identifier <snapshot> && aws rds wait db-snapshot-available --db-snapshot-identifier <snapshot> && aws rds copy-db-snapshot --source-db-snapshot-identifier <snapshot> --target-db-snapshot-identifier <snapshot>-encrypted --kms-key-id <kms-key-arn> && aws rds wait db-snapshot-available --db-snapshot-identifier <snapshot>-encrypted && aws rds restore-db-instance-from-db-snapshot --db-instance-identifier <new-db-instance> --db-snapshot-identifier <snapshot>-encrypted",
            terraform: "aws_db_instance: storage_encrypted = true, kms_key_id = <kms_key_arn>. Changing it forces a new instance, so create that instance from the encrypted copy with snapshot_identifier = <encrypted_snapshot_id>. Aurora: aws_rds_cluster storage_encrypted = true, kms_key_id = <kms_key_arn>",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get::<RdsInstance>())
                .map(|i| encrypted(i.storage_encrypted, i.kms_key_id.as_deref()))
                .or_else(|| {
                    (subject.get::<RdsCluster>())
                        .map(|c| encrypted(c.storage_encrypted, c.kms_key_id.as_deref()))
                })
        },
    },
    Control {
        id: "rds.backups",
        title: "Automated backups kept at least the configured days (default 7)",
        resource_types: &[ResourceType::RdsInstance],
        default_severity: Severity::Medium,
        rationale: "Automated backups are what make point-in-time restore possible. With retention below 7 days, or at 0, which turns them off, corruption, a bad migration or ransomware noticed after a few days can no longer be rolled back. The retention period is also the evidence auditors look for behind stated recovery objectives.",
        remediation: Remediation {
            console: "RDS console > Databases > instance (for Aurora, the cluster) > Modify > Backup: set Backup retention period to at least 7 days (or the configured minimum), then apply. For Aurora, the CLI is aws rds modify-db-cluster --db-cluster-identifier <cluster> --backup-retention-period 7 --apply-immediately.",
            cli: "aws rds modify-db-instance --db-instance-identifier <db-instance> --backup-retention-period 7 --apply-immediately",
            terraform: "aws_db_instance: backup_retention_period = 7 (or more); Aurora: aws_rds_cluster backup_retention_period = 7",
        },
        settings: &[Setting::Days(&MIN_BACKUP_DAYS)],
        rule: |subject, settings| {
            (subject.get::<RdsInstance>())
                .map(|i| backups(i.backup_retention_days, MIN_BACKUP_DAYS.get(settings)))
        },
    },
    Control {
        id: "rds.auto_minor_version_upgrade",
        title: "Automatic minor version upgrades enabled",
        resource_types: &[ResourceType::RdsInstance],
        default_severity: Severity::Low,
        rationale: "Minor engine versions carry security fixes. With automatic minor version upgrade off, a database keeps running a version with known vulnerabilities until someone schedules the upgrade by hand, which in practice is often never. With it on, RDS applies new minor versions in the maintenance window.",
        remediation: Remediation {
            console: "RDS console > Databases > instance > Modify > Maintenance: enable Auto minor version upgrade, then apply.",
            cli: "aws rds modify-db-instance --db-instance-identifier <db-instance> --auto-minor-version-upgrade --apply-immediately",
            terraform: "aws_db_instance: auto_minor_version_upgrade = true (aws_rds_cluster_instance: auto_minor_version_upgrade = true)",
        },
        settings: &[],
        rule: |subject, _| (subject.get::<RdsInstance>()).map(auto_minor_version_upgrade),
    },
    Control {
        id: "rds.deletion_protection",
        title: "Deletion protection enabled (Aurora: on the cluster)",
        resource_types: &[ResourceType::RdsInstance, ResourceType::RdsCluster],
        default_severity: Severity::Medium,
        rationale: "Without deletion protection, one DeleteDBInstance or DeleteDBCluster call, from a script, a Terraform plan that replaces the resource or a compromised credential, removes the database; its automated backups may go with it. With protection on, deletion first needs a deliberate modify call.",
        remediation: Remediation {
            console: "RDS console > Databases > instance (for Aurora, the cluster) > Modify > Deletion protection: enable, then apply.",
            cli: "aws rds modify-db-instance --db-instance-identifier <db-instance> --deletion-protection --apply-immediately (Aurora: aws rds modify-db-cluster --db-cluster-identifier <cluster> --deletion-protection --apply-immediately)",
            terraform: "aws_db_instance: deletion_protection = true; aws_rds_cluster: deletion_protection = true",
        },
        settings: &[],
        rule: |subject, _| {
            // An Aurora member is protected or not by its cluster: judged there.
            (subject.get::<RdsInstance>())
                .filter(|i| i.cluster_identifier.is_none())
                .map(|i| deletion_protection(i.deletion_protection))
                .or_else(|| {
                    (subject.get::<RdsCluster>()).map(|c| deletion_protection(c.deletion_protection))
                })
        },
    },
    Control {
        id: "rds.snapshot_not_public",
        title: "Manual DB and cluster snapshots not restorable by everyone",
        resource_types: &[ResourceType::RdsSnapshot, ResourceType::RdsClusterSnapshot],
        default_severity: Severity::Critical,
        rationale: "A public RDS snapshot can be restored by any AWS account in the world, which hands over the whole database: every table, every credential hash, every customer record. Sharing with specific accounts is the way to hand a snapshot over; encrypted snapshots cannot be made public at all.",
        remediation: Remediation {
            console: "RDS console > Snapshots > Manual > the snapshot > Actions > Share snapshot: set DB snapshot visibility to Private (keep only the account ids it must be shared with), then Save.",
            cli: "aws rds modify-db-snapshot-attribute --db-snapshot-identifier <snapshot> --attribute-name restore --values-to-remove all (cluster: aws rds modify-db-cluster-snapshot-attribute --db-cluster-snapshot-identifier <snapshot> --attribute-name restore --values-to-remove all)",
            terraform: "aws_db_snapshot / aws_db_cluster_snapshot: shared_accounts must not contain \"all\"",
        },
        settings: &[],
        rule: |subject, _| (subject.get::<RdsSnapshot>()).map(snapshot_not_public),
    },
];

fn instance_multi_az(instance: &RdsInstance) -> Verdict {
    if instance.multi_az {
        Verdict::pass("Multi-AZ deployment", json!({ "multi_az": true }))
    } else {
        Verdict::fail(
            "single-AZ deployment (MultiAZ is false)",
            json!({ "multi_az": false }),
        )
    }
}

fn cluster_multi_az(cluster: &RdsCluster) -> Verdict {
    let mut zones: Vec<&str> = cluster
        .members
        .iter()
        .filter_map(|m| m.availability_zone.as_deref())
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let details = json!({ "multi_az": cluster.multi_az, "member_zones": zones, "members": cluster.members.len() });
    if cluster.multi_az || zones.len() >= 2 {
        Verdict::pass(
            format!(
                "cluster members in {} availability zones",
                zones.len().max(2)
            ),
            details,
        )
    } else if cluster.members.is_empty() {
        Verdict::fail("cluster has no member instances", details)
    } else {
        Verdict::fail(
            format!(
                "all {} cluster member(s) are in one availability zone",
                cluster.members.len()
            ),
            details,
        )
    }
}

fn encrypted(storage_encrypted: bool, kms_key_id: Option<&str>) -> Verdict {
    if storage_encrypted {
        Verdict::pass("storage encrypted", json!({ "kms_key_id": kms_key_id }))
    } else {
        Verdict::fail(
            "storage is not encrypted (StorageEncrypted is false)",
            json!({}),
        )
    }
}

fn auto_minor_version_upgrade(instance: &RdsInstance) -> Verdict {
    let details = json!({
        "auto_minor_version_upgrade": instance.auto_minor_version_upgrade,
        "engine": instance.engine,
        "engine_version": instance.engine_version,
    });
    if instance.auto_minor_version_upgrade {
        Verdict::pass("automatic minor version upgrades enabled", details)
    } else {
        Verdict::fail(
            "automatic minor version upgrades are off (AutoMinorVersionUpgrade is false)",
            details,
        )
    }
}

fn snapshot_not_public(snapshot: &RdsSnapshot) -> Verdict {
    let details = json!({
        "sharing": snapshot.sharing,
        "encrypted": snapshot.encrypted,
        "source": snapshot.source,
    });
    match &snapshot.sharing {
        Sharing::Public => Verdict::fail(
            "snapshot is public: any AWS account can restore it",
            details,
        ),
        Sharing::Private => Verdict::pass("snapshot is private", details),
        Sharing::Accounts { account_ids } => Verdict::pass(
            format!("snapshot is not public; shared with {}", account_ids.join(", ")),
            details,
        ),
        Sharing::Unreadable { error } => Verdict::unknown(
            format!("who may restore the snapshot could not be read: {error}"),
            details,
        ),
    }
}

fn deletion_protection(enabled: bool) -> Verdict {
    let details = json!({ "deletion_protection": enabled });
    if enabled {
        Verdict::pass("deletion protection enabled", details)
    } else {
        Verdict::fail(
            "deletion protection is off: one delete call removes the database",
            details,
        )
    }
}

fn backups(retention_days: i32, minimum: i32) -> Verdict {
    let details = json!({ "backup_retention_days": retention_days, "minimum_days": minimum });
    if retention_days >= minimum {
        Verdict::pass(
            format!("automated backups kept {retention_days} days"),
            details,
        )
    } else if retention_days == 0 {
        Verdict::fail("automated backups are disabled", details)
    } else {
        Verdict::fail(
            format!("automated backups kept {retention_days} days, fewer than {minimum}"),
            details,
        )
    }
}

/// `PubliclyAccessible` false, and the sources every attached group's
/// rules admit to the database port, unioned, are not the internet.
fn not_public(instance: &RdsInstance, allowed: &[IpNet]) -> Verdict {
    let port = instance
        .port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "?".into());
    let reaching = |rule: &IngressRule| match instance.port {
        Some(port) => rule.admits_tcp_port(port),
        // Unknown port: any TCP rule might reach it.
        None => matches!(rule.protocol.as_str(), "-1" | "all" | "tcp" | "6"),
    };
    let mut sources = Sources::default();
    for rule in instance.security_groups.iter().flat_map(|g| &g.ingress) {
        if reaching(rule) {
            sources.extend(rule_sources(rule));
        }
    }
    let decision = decide(&sources, &Policy::new(allowed));
    let mut details = json!({
        "publicly_accessible": instance.publicly_accessible,
        "port": instance.port,
        "security_groups": instance.security_groups.iter().map(|g| &g.id).collect::<Vec<_>>(),
        "allowed_cidrs": allowed.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    if let (Value::Object(target), Value::Object(extra)) = (&mut details, decision.evidence()) {
        target.extend(extra);
    }
    let mut problems = Vec::new();
    if instance.publicly_accessible {
        problems.push("PubliclyAccessible is true".to_string());
    }
    if decision.is_internet() {
        let groups = groups_admitting(instance, &decision.offending, reaching);
        problems.push(format!(
            "{} admits {} on port {port} ({})",
            groups.join(", "),
            decision.offending.join(", "),
            decision.reason
        ));
    }
    if !problems.is_empty() {
        details["problems"] = json!(problems);
        return Verdict::fail(problems.join("; "), details);
    }
    match decision.exposure {
        Exposure::Unknown(reason) => Verdict::unknown(
            format!("what the security groups admit on port {port} is unknown: {reason}"),
            details,
        ),
        _ => Verdict::pass(
            "not publicly accessible and no security group admits the internet on the database port",
            details,
        ),
    }
}

/// The groups with a rule reaching the database from one of `offending`.
fn groups_admitting(
    instance: &RdsInstance,
    offending: &[String],
    reaching: impl Fn(&IngressRule) -> bool,
) -> Vec<String> {
    let offending: Vec<IpNet> = offending.iter().filter_map(|o| parse_cidr(o)).collect();
    (instance.security_groups.iter())
        .filter(|group| {
            (group.ingress.iter()).filter(|r| reaching(r)).any(|rule| {
                let sources = rule_sources(rule);
                let decision = decide(&sources, &Policy::new(&[]));
                let own: Vec<IpNet> = (decision.offending.iter())
                    .filter_map(|o| parse_cidr(o))
                    .collect();
                own.iter().any(|net| offending.iter().any(|o| o.contains(net) || net.contains(o)))
            })
        })
        .map(|group| group.id.clone())
        .collect()
}

/// A CIDR as AWS writes it in a rule; a bare address is its own /32 or
/// /128, host bits are cleared (see `exposure`).
pub(super) fn parse_cidr(text: &str) -> Option<IpNet> {
    super::exposure::parse_source(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::{ClusterMember, IngressRule, PrefixListSource, SecurityGroup};
    use serde_json::Value;

    const INSTANCE_CONTROLS: [&str; 4] = [
        "rds.multi_az",
        "rds.not_public",
        "rds.encrypted",
        "rds.backups",
    ];

    fn evaluate_instance(
        document: &Value,
        settings: &RuleSettings,
    ) -> Vec<(&'static str, Verdict)> {
        verdicts(ResourceType::RdsInstance, document, settings)
    }

    fn evaluate_cluster(document: &Value) -> Vec<(&'static str, Verdict)> {
        verdicts(ResourceType::RdsCluster, document, &RuleSettings::default())
    }

    fn instance() -> RdsInstance {
        RdsInstance {
            identifier: "orders".into(),
            arn: "arn:aws:rds:eu-west-1:123456789012:db:orders".into(),
            region: "eu-west-1".into(),
            engine: "postgres".into(),
            multi_az: true,
            storage_encrypted: true,
            backup_retention_days: 7,
            port: Some(5432),
            ..RdsInstance::default()
        }
    }

    fn group(protocol: &str, from: Option<i32>, to: Option<i32>, cidr: &str) -> SecurityGroup {
        SecurityGroup {
            id: "sg-1".into(),
            name: None,
            ingress: vec![IngressRule {
                protocol: protocol.into(),
                from_port: from,
                to_port: to,
                cidrs: vec![cidr.into()],
                ..IngressRule::default()
            }],
        }
    }

    fn status(control: &str, i: &RdsInstance, settings: &RuleSettings) -> (FindingStatus, String) {
        let doc = serde_json::to_value(i).expect("serialises");
        let (_, v) = evaluate_instance(&doc, settings)
            .into_iter()
            .find(|(id, _)| *id == control)
            .unwrap_or_else(|| panic!("{control} evaluated"));
        (
            v.status,
            v.evidence["message"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }

    #[test]
    fn a_hardened_instance_passes_everything() {
        let i = instance();
        for control in INSTANCE_CONTROLS {
            assert_eq!(
                status(control, &i, &RuleSettings::default()).0,
                Pass,
                "{control}"
            );
        }
    }

    #[test]
    fn public_flag_or_world_open_port_fails() {
        let settings = RuleSettings::default();
        let mut i = instance();
        i.publicly_accessible = true;
        assert_eq!(status("rds.not_public", &i, &settings).0, Fail);

        let mut i = instance();
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "0.0.0.0/0")];
        let (s, m) = status("rds.not_public", &i, &settings);
        assert_eq!(s, Fail);
        assert!(m.contains("sg-1 admits 0.0.0.0/0 on port 5432"), "{m}");

        i.security_groups = vec![group("-1", None, None, "::/0")];
        assert_eq!(
            status("rds.not_public", &i, &settings).0,
            Fail,
            "all traffic from IPv6 anywhere"
        );

        i.security_groups = vec![group("tcp", Some(5000), Some(6000), "0.0.0.0/0")];
        assert_eq!(
            status("rds.not_public", &i, &settings).0,
            Fail,
            "a range covering the port"
        );
    }

    #[test]
    fn world_open_on_another_port_or_private_ranges_pass() {
        let settings = RuleSettings::default();
        let mut i = instance();
        i.security_groups = vec![group("tcp", Some(443), Some(443), "0.0.0.0/0")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "10.0.0.0/8")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        i.security_groups = vec![group("udp", Some(5432), Some(5432), "0.0.0.0/0")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
    }

    #[test]
    fn allowed_cidrs_limit_every_source() {
        let settings =
            RuleSettings::for_test("[\"rds.not_public\"]\nallowed_cidrs = [\"10.0.0.0/8\"]");
        let mut i = instance();
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "10.20.0.0/16")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        // Outside the allowed CIDRs but private: not the internet
        // (controls.md: any *public* source outside them fails).
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "192.168.1.0/24")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "52.10.1.0/24")];
        let (s, m) = status("rds.not_public", &i, &settings);
        assert_eq!(s, Fail);
        assert!(m.contains("outside the allowed CIDRs"), "{m}");
    }

    #[test]
    fn exposure_is_decided_on_the_union_of_every_group() {
        let settings = RuleSettings::default();
        let mut i = instance();
        // Two halves of the internet, in two groups: the internet.
        let mut second = group("tcp", Some(5432), Some(5432), "128.0.0.0/1");
        second.id = "sg-2".into();
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "0.0.0.0/1"), second];
        let (s, m) = status("rds.not_public", &i, &settings);
        assert_eq!(s, Fail);
        assert!(m.contains("sg-1, sg-2 admits"), "{m}");
        // A referenced group is its members' private addresses.
        let mut referencing = group("tcp", Some(5432), Some(5432), "10.0.0.0/8");
        referencing.ingress[0].source_groups = vec!["sg-app".into()];
        i.security_groups = vec![referencing.clone()];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        // A prefix list is its entries; unreadable is unknown, never pass.
        referencing.ingress[0].prefix_lists = vec![PrefixListSource {
            id: "pl-1".into(),
            cidrs: vec!["0.0.0.0/0".into()],
            unreadable: None,
        }];
        i.security_groups = vec![referencing.clone()];
        assert_eq!(status("rds.not_public", &i, &settings).0, Fail);
        referencing.ingress[0].prefix_lists[0] = PrefixListSource {
            id: "pl-1".into(),
            cidrs: vec![],
            unreadable: Some("AccessDenied".into()),
        };
        i.security_groups = vec![referencing];
        let (s, m) = status("rds.not_public", &i, &settings);
        assert_eq!(s, FindingStatus::Unknown, "{m}");
        assert!(m.contains("pl-1"), "{m}");
    }

    #[test]
    fn backups_respect_the_configured_minimum() {
        let mut i = instance();
        i.backup_retention_days = 0;
        assert!(
            status("rds.backups", &i, &RuleSettings::default())
                .1
                .contains("disabled")
        );
        i.backup_retention_days = 14;
        let strict = RuleSettings::for_test("[\"rds.backups\"]\nmin_retention_days = 30");
        assert_eq!(status("rds.backups", &i, &strict).0, Fail);
        assert_eq!(status("rds.backups", &i, &RuleSettings::default()).0, Pass);
    }

    #[test]
    fn aurora_members_leave_availability_to_their_cluster() {
        let mut i = instance();
        i.multi_az = false;
        i.cluster_identifier = Some("aurora".into());
        let doc = serde_json::to_value(&i).expect("serialises");
        let ids: Vec<_> = evaluate_instance(&doc, &RuleSettings::default())
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            ids,
            vec![
                "rds.not_public",
                "rds.encrypted",
                "rds.backups",
                "rds.auto_minor_version_upgrade"
            ]
        );

        let member = |id: &str, az: &str| ClusterMember {
            identifier: id.into(),
            availability_zone: Some(az.into()),
            writer: false,
        };
        let mut cluster = RdsCluster {
            identifier: "aurora".into(),
            members: vec![member("a", "eu-west-1a"), member("b", "eu-west-1a")],
            storage_encrypted: true,
            ..RdsCluster::default()
        };
        let verdict = |c: &RdsCluster| {
            evaluate_cluster(&serde_json::to_value(c).expect("serialises"))
                .into_iter()
                .find(|(id, _)| *id == "rds.multi_az")
                .map(|(_, v)| v.status)
        };
        assert_eq!(verdict(&cluster), Some(Fail));
        cluster.members.push(member("c", "eu-west-1b"));
        assert_eq!(verdict(&cluster), Some(Pass));
    }

    #[test]
    fn cidr_containment() {
        let net = |s| parse_cidr(s).expect("cidr");
        assert!(net("10.0.0.0/8").contains(&net("10.1.2.0/24")));
        assert!(!net("10.0.0.0/8").contains(&net("11.0.0.0/24")));
        assert!(!net("10.1.2.0/24").contains(&net("10.0.0.0/8")));
        assert!(net("0.0.0.0/0").contains(&net("8.8.8.8")));
        assert!(net("2001:db8::/32").contains(&net("2001:db8:1::/48")));
        assert!(!net("2001:db8::/32").contains(&net("10.0.0.0/8")));
        assert_eq!(net("::/0").prefix_len(), 0);
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
        assert_eq!(parse_cidr("not-a-cidr"), None);
    }

    #[test]
    fn minor_upgrades_and_deletion_protection_on_instances_and_clusters() {
        let mut i = instance();
        let none = RuleSettings::default();
        assert_eq!(status("rds.auto_minor_version_upgrade", &i, &none).0, Fail);
        assert_eq!(status("rds.deletion_protection", &i, &none).0, Fail);
        i.auto_minor_version_upgrade = true;
        i.deletion_protection = true;
        assert_eq!(status("rds.auto_minor_version_upgrade", &i, &none).0, Pass);
        assert_eq!(status("rds.deletion_protection", &i, &none).0, Pass);

        // An Aurora member's protection is its cluster's; upgrades are its own.
        i.cluster_identifier = Some("aurora".into());
        i.deletion_protection = false;
        let doc = serde_json::to_value(&i).expect("serialises");
        let ids: Vec<_> = evaluate_instance(&doc, &none).into_iter().map(|(id, _)| id).collect();
        assert!(!ids.contains(&"rds.deletion_protection"), "{ids:?}");
        assert!(ids.contains(&"rds.auto_minor_version_upgrade"), "{ids:?}");

        let mut cluster = RdsCluster { identifier: "aurora".into(), ..RdsCluster::default() };
        let protection = |c: &RdsCluster| {
            evaluate_cluster(&serde_json::to_value(c).expect("serialises"))
                .into_iter()
                .find(|(id, _)| *id == "rds.deletion_protection")
                .map(|(_, v)| v.status)
        };
        assert_eq!(protection(&cluster), Some(Fail));
        cluster.deletion_protection = true;
        assert_eq!(protection(&cluster), Some(Pass));
    }

    #[test]
    fn snapshots_fail_only_when_public() {
        let mut snapshot = RdsSnapshot { identifier: "nightly".into(), ..RdsSnapshot::default() };
        let judge = |s: &RdsSnapshot, resource_type: ResourceType| {
            verdicts(resource_type, &serde_json::to_value(s).expect("serialises"), &RuleSettings::default())
                .into_iter()
                .find(|(id, _)| *id == "rds.snapshot_not_public")
                .map(|(_, v)| v.status)
        };
        for resource_type in [ResourceType::RdsSnapshot, ResourceType::RdsClusterSnapshot] {
            snapshot.sharing = Sharing::Private;
            assert_eq!(judge(&snapshot, resource_type), Some(Pass));
            snapshot.sharing = Sharing::Accounts { account_ids: vec!["210987654321".into()] };
            assert_eq!(judge(&snapshot, resource_type), Some(Pass));
            snapshot.sharing = Sharing::Public;
            assert_eq!(judge(&snapshot, resource_type), Some(Fail));
            snapshot.sharing = Sharing::Unreadable { error: "AccessDenied".into() };
            assert_eq!(judge(&snapshot, resource_type), Some(FindingStatus::Unknown));
        }
    }
}
