//! Network controls on security groups and network ACLs (CIS AWS
//! Foundations v5.0 section 5), each taking the shared exposure decision
//! (`exposure.rs`) on the union of what the rules admit to a port.

use super::catalog::{CidrsSetting, Control, PortsSetting, Remediation, Setting};
use super::exposure::{
    Decision, Exposure, Family, Policy, Sources, decide, first_match_allowed, rule_sources,
};
use super::{Severity, Verdict};
use crate::model::{
    Ec2SecurityGroup, IngressRule, NaclEntry, NetworkAcl, ResourceType, Transport, admits_port,
};
use ipnet::IpNet;
use serde_json::json;

/// The remote administration ports of CIS 5.2-5.4: SSH and RDP.
pub static ADMIN_PORTS: PortsSetting = PortsSetting {
    name: "ports",
    help: "remote administration ports that must not be open to the internet",
    default: &[22, 3389],
};

/// When set, any public source outside these fails, whatever its size.
pub static ALLOWED_CIDRS: CidrsSetting = CidrsSetting {
    name: "allowed_cidrs",
    help: "CIDRs the ports may be reached from; any other public source fails",
};

/// CIFS/SMB over TCP (CIS 5.1.2).
const CIFS_PORT: u16 = 445;

/// CIS counts a rule of TCP, UDP or all protocols as reaching an
/// administration port (RDP also runs over UDP 3389).
const ADMIN_TRANSPORTS: &[Transport] = &[Transport::Tcp, Transport::Udp];

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "ec2.sg_no_public_admin_ports_ipv4",
        title: "No security group admits the IPv4 internet to remote administration ports (22, 3389)",
        resource_types: &[ResourceType::Ec2SecurityGroup],
        default_severity: Severity::High,
        rationale: "SSH and RDP open to the internet are scanned and brute-forced within minutes of exposure, and remote-access vulnerabilities are exploited at scale. Administration should come from a bastion, a VPN, or AWS Systems Manager Session Manager, never from 0.0.0.0/0.",
        remediation: Remediation {
            console: "EC2 console > Security Groups > group > Inbound rules > Edit inbound rules: delete or narrow every rule on port 22 or 3389 (or All traffic) whose source is 0.0.0.0/0 or another broad public range; use Session Manager or a VPN range instead.",
            cli: "aws ec2 revoke-security-group-ingress --group-id <sg-id> --protocol tcp --port 22 --cidr 0.0.0.0/0",
            terraform: "aws_vpc_security_group_ingress_rule: no rule with from_port <= 22 <= to_port (or ip_protocol = \"-1\") and cidr_ipv4 = \"0.0.0.0/0\"; use referenced_security_group_id or a narrow cidr_ipv4",
        },
        settings: &[Setting::Ports(&ADMIN_PORTS), Setting::Cidrs(&ALLOWED_CIDRS)],
        rule: |subject, settings| {
            let group = subject.get::<Ec2SecurityGroup>()?;
            let policy = Policy::new(ALLOWED_CIDRS.get(settings));
            Some(ports_closed(group, ADMIN_PORTS.get(settings), ADMIN_TRANSPORTS, Some(Family::Ipv4), &policy))
        },
    },
    Control {
        id: "ec2.sg_no_public_admin_ports_ipv6",
        title: "No security group admits the IPv6 internet to remote administration ports (22, 3389)",
        resource_types: &[ResourceType::Ec2SecurityGroup],
        default_severity: Severity::High,
        rationale: "An IPv6 rule open to ::/0 exposes SSH and RDP to the whole IPv6 internet even when the IPv4 rules are tight, and every instance with an IPv6 address is directly reachable (there is no NAT in front of it).",
        remediation: Remediation {
            console: "EC2 console > Security Groups > group > Inbound rules > Edit inbound rules: delete or narrow every rule on port 22 or 3389 (or All traffic) whose source is ::/0 or another broad IPv6 range.",
            cli: "aws ec2 revoke-security-group-ingress --group-id <sg-id> --ip-permissions 'IpProtocol=tcp,FromPort=22,ToPort=22,Ipv6Ranges=[{CidrIpv6=::/0}]'",
            terraform: "aws_vpc_security_group_ingress_rule: no rule with from_port <= 22 <= to_port (or ip_protocol = \"-1\") and cidr_ipv6 = \"::/0\"",
        },
        settings: &[Setting::Ports(&ADMIN_PORTS), Setting::Cidrs(&ALLOWED_CIDRS)],
        rule: |subject, settings| {
            let group = subject.get::<Ec2SecurityGroup>()?;
            let policy = Policy::new(ALLOWED_CIDRS.get(settings));
            Some(ports_closed(group, ADMIN_PORTS.get(settings), ADMIN_TRANSPORTS, Some(Family::Ipv6), &policy))
        },
    },
    Control {
        id: "ec2.sg_cifs_restricted",
        title: "No security group admits the internet to CIFS/SMB (TCP 445)",
        resource_types: &[ResourceType::Ec2SecurityGroup],
        default_severity: Severity::High,
        rationale: "SMB on TCP 445 exposed to the internet is how worms such as WannaCry spread and how file shares leak. CIFS should be reachable only from trusted networks inside the VPC or over a VPN.",
        remediation: Remediation {
            console: "EC2 console > Security Groups > group > Inbound rules > Edit inbound rules: delete or narrow every rule on TCP 445 (or All traffic) whose source is 0.0.0.0/0, ::/0 or another broad public range.",
            cli: "aws ec2 revoke-security-group-ingress --group-id <sg-id> --protocol tcp --port 445 --cidr 0.0.0.0/0",
            terraform: "aws_vpc_security_group_ingress_rule: no rule covering port 445 with cidr_ipv4 = \"0.0.0.0/0\" or cidr_ipv6 = \"::/0\"",
        },
        settings: &[Setting::Cidrs(&ALLOWED_CIDRS)],
        rule: |subject, settings| {
            let group = subject.get::<Ec2SecurityGroup>()?;
            let policy = Policy::new(ALLOWED_CIDRS.get(settings));
            Some(ports_closed(group, &[CIFS_PORT], &[Transport::Tcp], None, &policy))
        },
    },
    Control {
        id: "ec2.default_sg_restricts_all",
        title: "Every VPC's default security group has no inbound and no outbound rules",
        resource_types: &[ResourceType::Ec2SecurityGroup],
        default_severity: Severity::Medium,
        rationale: "Resources launched without an explicit security group land in the VPC's default group. With its default rules, everything in it can reach everything else in it and the internet. Emptying it forces every resource into a group chosen for it.",
        remediation: Remediation {
            console: "VPC console > Security groups > the group named default of each VPC > Inbound rules and Outbound rules: delete every rule (move resources that rely on it to purpose-made groups first).",
            cli: "aws ec2 revoke-security-group-ingress --group-id <default-sg-id> --ip-permissions \"$(aws ec2 describe-security-groups --group-ids <default-sg-id> --query 'SecurityGroups[0].IpPermissions')\" && aws ec2 revoke-security-group-egress --group-id <default-sg-id> --ip-permissions \"$(aws ec2 describe-security-groups --group-ids <default-sg-id> --query 'SecurityGroups[0].IpPermissionsEgress')\"",
            terraform: "aws_default_security_group: declare it with no ingress and no egress blocks (Terraform then removes every rule)",
        },
        settings: &[],
        rule: |subject, _| {
            (subject.get::<Ec2SecurityGroup>())
                .filter(|g| g.is_default)
                .map(default_group_empty)
        },
    },
    Control {
        id: "vpc.nacl_no_public_admin_ports",
        title: "No network ACL admits the internet to remote administration ports (22, 3389)",
        resource_types: &[ResourceType::NetworkAcl],
        default_severity: Severity::Medium,
        rationale: "A network ACL is the subnet's stateless first line of defence: one that lets the internet reach SSH or RDP leaves only the security groups between those services and every scanner on the internet. The default network ACL allows all traffic.",
        remediation: Remediation {
            console: "VPC console > Network ACLs > ACL > Inbound rules > Edit inbound rules: add a DENY for 0.0.0.0/0 and ::/0 on ports 22 and 3389 numbered below the ALLOW rules, or narrow the ALLOW rules' sources.",
            cli: "aws ec2 create-network-acl-entry --network-acl-id <acl-id> --ingress --rule-number 50 --protocol tcp --port-range From=22,To=22 --cidr-block 0.0.0.0/0 --rule-action deny",
            terraform: "aws_network_acl_rule: egress = false, rule_number lower than the allow rules, protocol = \"tcp\", from_port = 22, to_port = 22, cidr_block = \"0.0.0.0/0\", rule_action = \"deny\" (and 3389)",
        },
        settings: &[Setting::Ports(&ADMIN_PORTS), Setting::Cidrs(&ALLOWED_CIDRS)],
        rule: |subject, settings| {
            let acl = subject.get::<NetworkAcl>()?;
            let policy = Policy::new(ALLOWED_CIDRS.get(settings));
            Some(nacl_ports_closed(acl, ADMIN_PORTS.get(settings), &policy))
        },
    },
];

/// What the group's ingress rules, together, admit to `port` over one of
/// `transports` (of `family`, or both).
fn admitted(
    rules: &[IngressRule],
    port: u16,
    transports: &[Transport],
    family: Option<Family>,
) -> Sources {
    let mut sources = Sources::default();
    for rule in rules.iter().filter(|r| r.admits_port(transports, i32::from(port))) {
        sources.extend(rule_sources(rule));
    }
    match family {
        Some(family) => sources.of_family(family),
        None => sources,
    }
}

/// A verdict over the decision taken for each port.
fn verdict_over_ports(what: &str, decisions: Vec<(u16, Decision)>, allowed: &[IpNet]) -> Verdict {
    let ports: Vec<u16> = decisions.iter().map(|(p, _)| *p).collect();
    let details = |open: &[&(u16, Decision)]| {
        json!({
            "ports": ports,
            "allowed_cidrs": allowed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "open": open.iter().map(|(port, d)| {
                let mut evidence = d.evidence();
                evidence["port"] = json!(port);
                evidence
            }).collect::<Vec<_>>(),
        })
    };
    let open: Vec<&(u16, Decision)> = decisions.iter().filter(|(_, d)| d.is_internet()).collect();
    if !open.is_empty() {
        let message = (open.iter())
            .map(|(port, d)| format!("port {port}: {}", d.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Verdict::fail(format!("{what} {message}"), details(&open));
    }
    let unknown: Vec<String> = (decisions.iter())
        .filter_map(|(port, d)| match &d.exposure {
            Exposure::Unknown(reason) => Some(format!("port {port}: {reason}")),
            _ => None,
        })
        .collect();
    if !unknown.is_empty() {
        return Verdict::unknown(
            format!("what {what} admits is unknown: {}", unknown.join("; ")),
            details(&[]),
        );
    }
    let list = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    Verdict::pass(
        format!("{what} does not admit the internet to port {list}"),
        details(&[]),
    )
}

fn ports_closed(
    group: &Ec2SecurityGroup,
    ports: &[u16],
    transports: &[Transport],
    family: Option<Family>,
    policy: &Policy,
) -> Verdict {
    let decisions = (ports.iter())
        .map(|&port| {
            let sources = admitted(&group.ingress, port, transports, family);
            (port, decide(&sources, policy))
        })
        .collect();
    verdict_over_ports(&format!("{} ({})", group.id, group.name), decisions, policy.allowed)
}

fn default_group_empty(group: &Ec2SecurityGroup) -> Verdict {
    let details = json!({
        "vpc_id": group.vpc_id,
        "inbound_rules": group.ingress.len(),
        "outbound_rules": group.egress.len(),
    });
    if group.ingress.is_empty() && group.egress.is_empty() {
        Verdict::pass("the default security group has no rules", details)
    } else {
        Verdict::fail(
            format!(
                "the default security group of {} has {} inbound and {} outbound rule(s)",
                group.vpc_id.as_deref().unwrap_or("its VPC"),
                group.ingress.len(),
                group.egress.len()
            ),
            details,
        )
    }
}

/// Per port and transport, the addresses whose first matching inbound
/// entry (in rule-number order) allows; the internet on any fails.
fn nacl_ports_closed(acl: &NetworkAcl, ports: &[u16], policy: &Policy) -> Verdict {
    let mut inbound: Vec<&NaclEntry> = acl.entries.iter().filter(|e| !e.egress).collect();
    inbound.sort_by_key(|e| e.rule_number);
    let decisions = (ports.iter())
        .map(|&port| {
            let worst = (ADMIN_TRANSPORTS.iter())
                .map(|transport| {
                    let matching = (inbound.iter())
                        .filter(|e| {
                            admits_port(&e.protocol, e.from_port, e.to_port, &[*transport], i32::from(port))
                        })
                        .map(|e| (e.cidr.as_str(), e.allow));
                    decide(&first_match_allowed(matching), policy)
                })
                .max_by_key(severity_of)
                .unwrap_or_else(|| decide(&Sources::default(), policy));
            (port, worst)
        })
        .collect();
    verdict_over_ports(&acl.id, decisions, policy.allowed)
}

/// Internet outranks unknown outranks not-internet.
fn severity_of(decision: &Decision) -> u8 {
    match decision.exposure {
        Exposure::Internet => 2,
        Exposure::Unknown(_) => 1,
        Exposure::NotInternet => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};
    use crate::model::PrefixListSource;

    fn rule(protocol: &str, from: Option<i32>, to: Option<i32>, cidrs: &[&str]) -> IngressRule {
        IngressRule {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            ..IngressRule::default()
        }
    }

    fn group(ingress: Vec<IngressRule>) -> Ec2SecurityGroup {
        Ec2SecurityGroup {
            id: "sg-1".into(),
            name: "web".into(),
            vpc_id: Some("vpc-1".into()),
            ingress,
            ..Ec2SecurityGroup::default()
        }
    }

    fn status_with(control: &str, g: &Ec2SecurityGroup, settings: &RuleSettings) -> Option<FindingStatus> {
        let doc = serde_json::to_value(g).expect("serialises");
        verdicts(ResourceType::Ec2SecurityGroup, &doc, settings)
            .into_iter()
            .find(|(id, _)| *id == control)
            .map(|(_, v)| v.status)
    }

    fn status(control: &str, g: &Ec2SecurityGroup) -> Option<FindingStatus> {
        status_with(control, g, &RuleSettings::default())
    }

    const V4: &str = "ec2.sg_no_public_admin_ports_ipv4";
    const V6: &str = "ec2.sg_no_public_admin_ports_ipv6";
    const CIFS: &str = "ec2.sg_cifs_restricted";

    #[test]
    fn admin_ports_open_to_the_internet_fail() {
        let ssh = |cidrs: &[&str]| group(vec![rule("tcp", Some(22), Some(22), cidrs)]);
        assert_eq!(status(V4, &ssh(&["0.0.0.0/0"])), Some(Fail));
        assert_eq!(status(V4, &ssh(&["0.0.0.0/1", "128.0.0.0/1"])), Some(Fail));
        assert_eq!(status(V4, &ssh(&["10.0.0.0/8"])), Some(Pass));
        assert_eq!(status(V4, &ssh(&["52.10.0.0/16"])), Some(Pass));
        // Two rules, each half of the internet: the union decides.
        let split = group(vec![
            rule("tcp", Some(22), Some(22), &["0.0.0.0/1"]),
            rule("tcp", Some(20), Some(25), &["128.0.0.0/1"]),
        ]);
        assert_eq!(status(V4, &split), Some(Fail));
        // All protocols, a range covering 3389, UDP RDP.
        assert_eq!(status(V4, &group(vec![rule("-1", None, None, &["0.0.0.0/0"])])), Some(Fail));
        assert_eq!(status(V4, &group(vec![rule("tcp", Some(0), Some(65535), &["0.0.0.0/0"])])), Some(Fail));
        assert_eq!(status(V4, &group(vec![rule("udp", Some(3389), Some(3389), &["0.0.0.0/0"])])), Some(Fail));
        // Other ports, ICMP: not an administration port.
        assert_eq!(status(V4, &group(vec![rule("tcp", Some(443), Some(443), &["0.0.0.0/0"])])), Some(Pass));
        assert_eq!(status(V4, &group(vec![rule("icmp", Some(8), Some(0), &["0.0.0.0/0"])])), Some(Pass));
        assert_eq!(status(V4, &group(vec![])), Some(Pass));
    }

    #[test]
    fn families_are_separate_controls() {
        let v6 = group(vec![rule("tcp", Some(22), Some(22), &["::/0"])]);
        assert_eq!(status(V4, &v6), Some(Pass));
        assert_eq!(status(V6, &v6), Some(Fail));
        let v4 = group(vec![rule("tcp", Some(22), Some(22), &["0.0.0.0/0"])]);
        assert_eq!(status(V6, &v4), Some(Pass));
        assert_eq!(status(V6, &group(vec![rule("tcp", Some(22), Some(22), &["fd00::/8"])])), Some(Pass));
    }

    #[test]
    fn prefix_lists_and_group_references() {
        let mut r = rule("tcp", Some(22), Some(22), &[]);
        r.source_groups = vec!["sg-bastion".into()];
        assert_eq!(status(V4, &group(vec![r.clone()])), Some(Pass));
        r.prefix_lists = vec![PrefixListSource {
            id: "pl-1".into(),
            cidrs: vec!["0.0.0.0/0".into()],
            unreadable: None,
        }];
        assert_eq!(status(V4, &group(vec![r.clone()])), Some(Fail));
        r.prefix_lists[0] = PrefixListSource {
            id: "pl-1".into(),
            cidrs: vec![],
            unreadable: Some("AccessDenied".into()),
        };
        assert_eq!(status(V4, &group(vec![r.clone()])), Some(Unknown));
        assert_eq!(status(V6, &group(vec![r])), Some(Unknown));
    }

    #[test]
    fn ports_and_allowed_cidrs_are_configurable() {
        let rdp_custom = group(vec![rule("tcp", Some(2222), Some(2222), &["0.0.0.0/0"])]);
        assert_eq!(status(V4, &rdp_custom), Some(Pass));
        let settings = RuleSettings::for_test(&format!("[\"{V4}\"]\nports = [22, 2222]"));
        assert_eq!(status_with(V4, &rdp_custom, &settings), Some(Fail));
        let office = group(vec![rule("tcp", Some(22), Some(22), &["52.10.0.0/16"])]);
        let settings = RuleSettings::for_test(&format!("[\"{V4}\"]\nallowed_cidrs = [\"52.10.1.0/24\"]"));
        assert_eq!(status_with(V4, &office, &settings), Some(Fail));
        let settings = RuleSettings::for_test(&format!("[\"{V4}\"]\nallowed_cidrs = [\"52.10.0.0/16\"]"));
        assert_eq!(status_with(V4, &office, &settings), Some(Pass));
    }

    #[test]
    fn the_ports_setting_is_validated() {
        let control = crate::evaluate::control(V4).expect("declared");
        for bad in ["ports = []", "ports = [0]", "ports = [70000]", "ports = [\"ssh\"]", "ports = 22"] {
            let table: toml::Table = toml::from_str(bad).expect("toml");
            assert!(control.configure(&table).is_err(), "{bad}");
        }
        let table: toml::Table = toml::from_str("ports = [3389, 22, 22]").expect("toml");
        assert!(control.configure(&table).is_ok());
    }

    #[test]
    fn cifs_is_tcp_445_in_either_family() {
        let smb = |protocol: &str, cidr: &str| group(vec![rule(protocol, Some(445), Some(445), &[cidr])]);
        assert_eq!(status(CIFS, &smb("tcp", "0.0.0.0/0")), Some(Fail));
        assert_eq!(status(CIFS, &smb("tcp", "::/0")), Some(Fail));
        assert_eq!(status(CIFS, &smb("udp", "0.0.0.0/0")), Some(Pass));
        assert_eq!(status(CIFS, &smb("tcp", "192.168.0.0/16")), Some(Pass));
        assert_eq!(status(CIFS, &group(vec![rule("-1", None, None, &["::/0"])])), Some(Fail));
    }

    #[test]
    fn the_default_group_must_be_empty() {
        let mut g = group(vec![]);
        assert_eq!(status("ec2.default_sg_restricts_all", &g), None, "not a default group");
        g.is_default = true;
        g.name = "default".into();
        assert_eq!(status("ec2.default_sg_restricts_all", &g), Some(Pass));
        g.egress = vec![rule("-1", None, None, &["0.0.0.0/0"])];
        assert_eq!(status("ec2.default_sg_restricts_all", &g), Some(Fail));
        g.egress.clear();
        let mut self_reference = rule("-1", None, None, &[]);
        self_reference.source_groups = vec!["sg-1".into()];
        g.ingress = vec![self_reference];
        assert_eq!(status("ec2.default_sg_restricts_all", &g), Some(Fail));
    }

    fn entry(rule_number: i32, protocol: &str, ports: Option<(i32, i32)>, cidr: &str, allow: bool) -> NaclEntry {
        NaclEntry {
            rule_number,
            egress: false,
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            cidr: cidr.into(),
            allow,
        }
    }

    fn nacl(entries: Vec<NaclEntry>) -> Option<FindingStatus> {
        let acl = NetworkAcl {
            id: "acl-1".into(),
            entries,
            ..NetworkAcl::default()
        };
        let doc = serde_json::to_value(&acl).expect("serialises");
        verdicts(ResourceType::NetworkAcl, &doc, &RuleSettings::default())
            .into_iter()
            .find(|(id, _)| *id == "vpc.nacl_no_public_admin_ports")
            .map(|(_, v)| v.status)
    }

    #[test]
    fn nacl_first_match_decides() {
        let deny_all = entry(32767, "-1", None, "0.0.0.0/0", false);
        // The default ACL: allow everything.
        assert_eq!(nacl(vec![entry(100, "-1", None, "0.0.0.0/0", true), deny_all.clone()]), Some(Fail));
        // A lower-numbered deny on 22 and 3389 shadows the allow (order given need not be sorted).
        assert_eq!(
            nacl(vec![
                entry(200, "-1", None, "0.0.0.0/0", true),
                entry(100, "6", Some((22, 22)), "0.0.0.0/0", false),
                entry(110, "-1", Some((3389, 3389)), "0.0.0.0/0", false),
                deny_all.clone(),
            ]),
            Some(Pass)
        );
        // A TCP deny does not shadow UDP 3389.
        assert_eq!(
            nacl(vec![
                entry(100, "6", Some((0, 65535)), "0.0.0.0/0", false),
                entry(200, "17", Some((3389, 3389)), "0.0.0.0/0", true),
            ]),
            Some(Fail)
        );
        // Partial shadowing: half the internet still reaches 22.
        assert_eq!(
            nacl(vec![
                entry(100, "6", Some((22, 22)), "0.0.0.0/1", false),
                entry(200, "6", Some((22, 22)), "0.0.0.0/0", true),
            ]),
            Some(Fail)
        );
        // A deny after the allow shadows nothing.
        assert_eq!(
            nacl(vec![
                entry(100, "6", Some((1, 1024)), "0.0.0.0/0", true),
                entry(200, "6", Some((22, 22)), "0.0.0.0/0", false),
            ]),
            Some(Fail)
        );
        // Allows on other ports, or from private ranges only, pass.
        assert_eq!(nacl(vec![entry(100, "6", Some((443, 443)), "0.0.0.0/0", true), deny_all.clone()]), Some(Pass));
        assert_eq!(nacl(vec![entry(100, "-1", None, "10.0.0.0/8", true), deny_all.clone()]), Some(Pass));
        // IPv6 entries: an IPv4 deny does not shadow ::/0.
        assert_eq!(
            nacl(vec![
                entry(100, "-1", None, "0.0.0.0/0", false),
                entry(101, "-1", None, "::/0", true),
            ]),
            Some(Fail)
        );
        // Egress entries are not inbound.
        let mut outbound = entry(100, "-1", None, "0.0.0.0/0", true);
        outbound.egress = true;
        assert_eq!(nacl(vec![outbound, deny_all]), Some(Pass));
        // An unreadable range before the allow: unknown.
        assert_eq!(
            nacl(vec![entry(90, "6", Some((22, 22)), "junk", false), entry(100, "-1", None, "10.0.0.0/8", true)]),
            Some(Unknown)
        );
    }
}
