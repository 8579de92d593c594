//! The RDS controls of `controls.md`.

use super::{RuleSettings, Verdict};
use crate::model::{RdsCluster, RdsInstance};
use serde_json::{Value, json};
use std::net::IpAddr;

pub(super) const INSTANCE_CONTROLS: [&str; 4] = [
    "rds.multi_az",
    "rds.not_public",
    "rds.encrypted",
    "rds.backups",
];
pub(super) const CLUSTER_CONTROLS: [&str; 2] = ["rds.multi_az", "rds.encrypted"];

pub(super) fn evaluate_instance(
    document: &Value,
    settings: &RuleSettings,
) -> Vec<(&'static str, Verdict)> {
    let instance: RdsInstance = match serde_json::from_value(document.clone()) {
        Ok(instance) => instance,
        Err(e) => return unreadable(&INSTANCE_CONTROLS, "RDS instance", &e),
    };
    let mut verdicts = Vec::new();
    // An Aurora member's availability is its cluster's: judged there.
    if instance.cluster_identifier.is_none() {
        verdicts.push(("rds.multi_az", instance_multi_az(&instance)));
    }
    verdicts.push(("rds.not_public", not_public(&instance, settings)));
    verdicts.push((
        "rds.encrypted",
        encrypted(instance.storage_encrypted, instance.kms_key_id.as_deref()),
    ));
    verdicts.push((
        "rds.backups",
        backups(instance.backup_retention_days, settings),
    ));
    verdicts
}

pub(super) fn evaluate_cluster(document: &Value) -> Vec<(&'static str, Verdict)> {
    let cluster: RdsCluster = match serde_json::from_value(document.clone()) {
        Ok(cluster) => cluster,
        Err(e) => return unreadable(&CLUSTER_CONTROLS, "RDS cluster", &e),
    };
    vec![
        ("rds.multi_az", cluster_multi_az(&cluster)),
        (
            "rds.encrypted",
            encrypted(cluster.storage_encrypted, cluster.kms_key_id.as_deref()),
        ),
    ]
}

fn unreadable(
    controls: &[&'static str],
    what: &str,
    e: &serde_json::Error,
) -> Vec<(&'static str, Verdict)> {
    let message = format!("stored document is not a readable {what} record: {e}");
    controls
        .iter()
        .map(|id| (*id, Verdict::unknown(message.clone(), json!({}))))
        .collect()
}

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

fn backups(retention_days: i32, settings: &RuleSettings) -> Verdict {
    let minimum = settings.rds_min_backup_retention_days;
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

fn not_public(instance: &RdsInstance, settings: &RuleSettings) -> Verdict {
    let mut problems = Vec::new();
    if instance.publicly_accessible {
        problems.push("PubliclyAccessible is true".to_string());
    }
    let allowed: Vec<Cidr> = settings
        .rds_allowed_cidrs
        .iter()
        .filter_map(|c| Cidr::parse(c))
        .collect();
    for group in &instance.security_groups {
        for rule in &group.ingress {
            let reaches_db = match instance.port {
                Some(port) => rule.admits_tcp_port(port),
                // Unknown port: any TCP rule might reach it.
                None => rule.protocol == "-1" || rule.protocol == "tcp",
            };
            if !reaches_db {
                continue;
            }
            for source in &rule.cidrs {
                let port = instance
                    .port
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into());
                match Cidr::parse(source) {
                    Some(cidr) if cidr.is_everything() => {
                        problems.push(format!("{} admits {source} on port {port}", group.id));
                    }
                    Some(cidr)
                        if !allowed.is_empty() && !allowed.iter().any(|a| a.contains(&cidr)) =>
                    {
                        problems.push(format!(
                            "{} admits {source} on port {port}, outside the allowed CIDRs",
                            group.id
                        ));
                    }
                    Some(_) => {}
                    None => problems.push(format!(
                        "{} admits `{source}`, which is not a CIDR",
                        group.id
                    )),
                }
            }
        }
    }
    let details = json!({
        "publicly_accessible": instance.publicly_accessible,
        "port": instance.port,
        "security_groups": instance.security_groups.iter().map(|g| &g.id).collect::<Vec<_>>(),
        "allowed_cidrs": settings.rds_allowed_cidrs,
    });
    if problems.is_empty() {
        Verdict::pass(
            "not publicly accessible and no security group admits the internet on the database port",
            details,
        )
    } else {
        let mut details = details;
        details["problems"] = json!(problems);
        Verdict::fail(problems.join("; "), details)
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let address = text.parse::<IpAddr>().ok()?;
                (address, if address.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { address, prefix })
    }

    pub fn is_everything(&self) -> bool {
        self.prefix == 0
    }

    /// Whether every address of `other` is in `self`.
    pub fn contains(&self, other: &Cidr) -> bool {
        if other.prefix < self.prefix {
            return false;
        }
        match (self.address, other.address) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(a) & mask == u32::from(b) & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(b) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass};
    use crate::model::{ClusterMember, IngressRule, SecurityGroup};

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
                source_groups: vec![],
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
        let settings = RuleSettings {
            rds_allowed_cidrs: vec!["10.0.0.0/8".into()],
            ..RuleSettings::default()
        };
        let mut i = instance();
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "10.20.0.0/16")];
        assert_eq!(status("rds.not_public", &i, &settings).0, Pass);
        i.security_groups = vec![group("tcp", Some(5432), Some(5432), "192.168.1.0/24")];
        let (s, m) = status("rds.not_public", &i, &settings);
        assert_eq!(s, Fail);
        assert!(m.contains("outside the allowed CIDRs"), "{m}");
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
        let strict = RuleSettings {
            rds_min_backup_retention_days: 30,
            ..RuleSettings::default()
        };
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
        assert_eq!(ids, vec!["rds.not_public", "rds.encrypted", "rds.backups"]);

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
        let net = |s| Cidr::parse(s).expect("cidr");
        assert!(net("10.0.0.0/8").contains(&net("10.1.2.0/24")));
        assert!(!net("10.0.0.0/8").contains(&net("11.0.0.0/24")));
        assert!(!net("10.1.2.0/24").contains(&net("10.0.0.0/8")));
        assert!(net("0.0.0.0/0").contains(&net("8.8.8.8")));
        assert!(net("2001:db8::/32").contains(&net("2001:db8:1::/48")));
        assert!(!net("2001:db8::/32").contains(&net("10.0.0.0/8")));
        assert!(net("::/0").is_everything());
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("not-a-cidr"), None);
    }
}
