//! The network-exposure decision of `controls.md` (*Network exposure*),
//! shared by every control that asks "is this open to the internet": RDS
//! security groups, EKS endpoint CIDRs, security groups and network ACLs.
//!
//! It is taken on the union of the source ranges admitted, never range by
//! range: `0.0.0.0/1` plus `128.0.0.0/1` is the whole internet, exactly as
//! `0.0.0.0/0` is, and overlapping ranges are counted once. Addresses in the
//! IANA special-purpose registries that are not globally reachable (RFC 1918,
//! loopback, link-local, CGNAT, documentation, multicast, ULA, …) are not the
//! internet. The public addresses left are the internet when there are more
//! than a /8's worth of IPv4 (2^24) or a /32's worth of IPv6 (2^96); with
//! allowed CIDRs configured, any public address outside them is.
//!
//! How sources are read (AWS normalises what it stores, so these only
//! matter for hand-written or legacy values):
//! - a bare address is its own /32 or /128;
//! - host bits are ignored (`10.0.0.1/8` is `10.0.0.0/8`): a rule matches
//!   on the prefix, which is what AWS stores;
//! - an IPv4-mapped IPv6 range (`::ffff:0:0/96` and inside it) is judged as
//!   the IPv4 range it maps;
//! - anything that is not an address or CIDR is unresolved: `unknown`,
//!   unless the rest already admits the internet (the union only grows).

use crate::model::IngressRule;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::LazyLock;

/// More public IPv4 addresses than this is the internet: a /8's worth.
pub const IPV4_INTERNET_ABOVE: u128 = 1 << 24;
/// More public IPv6 addresses than this is the internet: a /32's worth.
pub const IPV6_INTERNET_ABOVE: u128 = 1 << 96;

/// IPv4 special-purpose ranges that are not globally reachable (IANA IPv4
/// Special-Purpose Address Registry, plus multicast and the reserved 240/4).
const RESERVED_IPV4: &[&str] = &[
    "0.0.0.0/8",       // "this network"
    "10.0.0.0/8",      // RFC 1918
    "100.64.0.0/10",   // shared address space (CGNAT)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local
    "172.16.0.0/12",   // RFC 1918
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation (TEST-NET-1)
    "192.168.0.0/16",  // RFC 1918
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation (TEST-NET-2)
    "203.0.113.0/24",  // documentation (TEST-NET-3)
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and the limited broadcast address
];

/// IPv6 special-purpose ranges that are not globally reachable (IANA IPv6
/// Special-Purpose Address Registry), plus the IPv4-mapped block, which is
/// judged as IPv4 instead.
const RESERVED_IPV6: &[&str] = &[
    "::/128",         // unspecified
    "::1/128",        // loopback
    "::ffff:0:0/96",  // IPv4-mapped: judged as IPv4
    "64:ff9b:1::/48", // local-use IPv4/IPv6 translation
    "100::/64",       // discard-only
    "2001:2::/48",    // benchmarking
    "2001:db8::/32",  // documentation
    "3fff::/20",      // documentation (RFC 9637)
    "5f00::/16",      // segment routing SIDs
    "fc00::/7",       // unique local
    "fe80::/10",      // link-local
    "fec0::/10",      // deprecated site-local
    "ff00::/8",       // multicast
];

/// An inclusive range of addresses, as integers (IPv4 in the low 32 bits).
type Span = (u128, u128);

static RESERVED_V4_SPANS: LazyLock<Vec<Span>> = LazyLock::new(|| spans_of(RESERVED_IPV4));
static RESERVED_V6_SPANS: LazyLock<Vec<Span>> = LazyLock::new(|| spans_of(RESERVED_IPV6));

fn spans_of(cidrs: &[&str]) -> Vec<Span> {
    union(
        cidrs
            .iter()
            .filter_map(|c| c.parse::<IpNet>().ok())
            .map(|net| span(&net))
            .collect(),
    )
}

/// The sources a rule, or a set of rules, admits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    cidrs: Vec<IpNet>,
    /// Why a source could not be resolved to addresses.
    unresolved: Vec<String>,
}

/// An address family, for controls that judge one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Sources {
    /// A CIDR or address as AWS writes it; anything else is unresolved.
    pub fn add_text(&mut self, text: &str) {
        match parse_source(text) {
            Some(net) => self.cidrs.push(net),
            None => self
                .unresolved
                .push(format!("`{text}` is not an address or CIDR")),
        }
    }

    pub fn add_net(&mut self, net: IpNet) {
        self.cidrs.push(normalise(net));
    }

    /// A source whose addresses are not known (a prefix list that could
    /// not be read): the decision is `unknown` unless the rest already
    /// admits the internet.
    pub fn add_unresolved(&mut self, reason: impl Into<String>) {
        self.unresolved.push(reason.into());
    }

    pub fn extend(&mut self, other: Sources) {
        self.cidrs.extend(other.cidrs);
        self.unresolved.extend(other.unresolved);
    }

    /// Only the sources of `family` (IPv4-mapped IPv6 counts as IPv4);
    /// unresolved sources are kept, since their family is not known.
    pub fn of_family(&self, family: Family) -> Sources {
        Sources {
            cidrs: (self.cidrs.iter())
                .filter(|net| family_of(net) == family)
                .copied()
                .collect(),
            unresolved: self.unresolved.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cidrs.is_empty() && self.unresolved.is_empty()
    }
}

/// A source CIDR or bare address, host bits cleared; IPv4-mapped IPv6
/// ranges become the IPv4 range they map.
pub fn parse_source(text: &str) -> Option<IpNet> {
    let text = text.trim();
    let net = text
        .parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))?;
    Some(normalise(net))
}

fn normalise(net: IpNet) -> IpNet {
    match net.trunc() {
        IpNet::V6(v6) => ipv4_mapped(&v6).map(IpNet::V4).unwrap_or(IpNet::V6(v6)),
        v4 => v4,
    }
}

/// The IPv4 range an IPv6 range inside `::ffff:0:0/96` maps.
fn ipv4_mapped(net: &Ipv6Net) -> Option<Ipv4Net> {
    let mapped = Ipv6Net::new(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96).ok()?;
    if net.prefix_len() < 96 || !mapped.contains(net) {
        return None;
    }
    let address = net.network().to_ipv4_mapped()?;
    Ipv4Net::new(address, net.prefix_len() - 96).ok()
}

fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::Ipv4,
        IpNet::V6(_) => Family::Ipv6,
    }
}

/// What the decision depends on besides the sources.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// When not empty, every public source must lie within these.
    pub allowed: &'a [IpNet],
    pub ipv4_internet_above: u128,
    pub ipv6_internet_above: u128,
}

impl<'a> Policy<'a> {
    /// The default thresholds, with `allowed` CIDRs (none: size decides).
    pub fn new(allowed: &'a [IpNet]) -> Policy<'a> {
        Policy {
            allowed,
            ipv4_internet_above: IPV4_INTERNET_ABOVE,
            ipv6_internet_above: IPV6_INTERNET_ABOVE,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Exposure {
    Internet,
    NotInternet,
    Unknown(String),
}

/// The decision and what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub exposure: Exposure,
    /// Distinct public IPv4 addresses admitted.
    pub public_ipv4: u128,
    /// Distinct public IPv6 addresses admitted.
    pub public_ipv6: u128,
    /// The admitted ranges (aggregated) that hold a public address, outside
    /// the allowed CIDRs when those are configured.
    pub offending: Vec<String>,
    /// Why the decision is what it is, in a phrase.
    pub reason: String,
}

impl Decision {
    pub fn is_internet(&self) -> bool {
        self.exposure == Exposure::Internet
    }

    /// The figures as evidence.
    pub fn evidence(&self) -> Value {
        json!({
            "public_ipv4_addresses": self.public_ipv4.to_string(),
            "public_ipv6_addresses": self.public_ipv6.to_string(),
            "offending_ranges": self.offending,
        })
    }
}

/// Whether `sources` admit the internet under `policy`.
pub fn decide(sources: &Sources, policy: &Policy) -> Decision {
    let v4 = public_spans(sources, Family::Ipv4);
    let v6 = public_spans(sources, Family::Ipv6);
    let public_ipv4 = size(&v4);
    let public_ipv6 = size(&v6);
    let (outside_v4, outside_v6) = if policy.allowed.is_empty() {
        (v4, v6)
    } else {
        (
            subtract(&v4, &allowed_spans(policy.allowed, Family::Ipv4)),
            subtract(&v6, &allowed_spans(policy.allowed, Family::Ipv6)),
        )
    };
    let offending = offending_ranges(sources, &outside_v4, &outside_v6);
    let decided = |exposure, reason: String| Decision {
        exposure,
        public_ipv4,
        public_ipv6,
        offending: offending.clone(),
        reason,
    };
    if !policy.allowed.is_empty() {
        if !offending.is_empty() {
            return decided(
                Exposure::Internet,
                format!(
                    "admits public sources outside the allowed CIDRs: {}",
                    offending.join(", ")
                ),
            );
        }
    } else if public_ipv4 > policy.ipv4_internet_above || public_ipv6 > policy.ipv6_internet_above {
        return decided(
            Exposure::Internet,
            format!(
                "admits the internet ({}): {}",
                figures(public_ipv4, public_ipv6),
                offending.join(", ")
            ),
        );
    }
    if !sources.unresolved.is_empty() {
        let reason = format!("cannot resolve: {}", sources.unresolved.join("; "));
        return decided(Exposure::Unknown(reason.clone()), reason);
    }
    let reason = if public_ipv4 == 0 && public_ipv6 == 0 {
        "admits no public address".to_string()
    } else if policy.allowed.is_empty() {
        format!(
            "admits {}, not more than a /8 (IPv4) or /32 (IPv6)",
            figures(public_ipv4, public_ipv6)
        )
    } else {
        "admits public sources only within the allowed CIDRs".to_string()
    };
    decided(Exposure::NotInternet, reason)
}

/// What a security-group rule admits: its CIDRs and its prefix lists'
/// entries. A referenced group admits only its members' addresses, which
/// are private (instances' VPC addresses), so it adds nothing; a prefix
/// list that could not be read is unresolved.
pub fn rule_sources(rule: &IngressRule) -> Sources {
    let mut sources = Sources::default();
    for cidr in &rule.cidrs {
        sources.add_text(cidr);
    }
    for list in &rule.prefix_lists {
        match &list.unreadable {
            Some(reason) => sources.add_unresolved(format!("prefix list {}: {reason}", list.id)),
            None => list.cidrs.iter().for_each(|cidr| sources.add_text(cidr)),
        }
    }
    sources
}

/// The addresses whose first matching entry, in the order given, allows:
/// what an ordered rule list such as a network ACL lets through. An entry
/// whose range cannot be read makes every later entry's reach unknown.
pub fn first_match_allowed<'e>(entries: impl IntoIterator<Item = (&'e str, bool)>) -> Sources {
    let mut remaining = [
        union(vec![(0, u128::from(u32::MAX))]),
        union(vec![(0, u128::MAX)]),
    ];
    let mut allowed: [Vec<Span>; 2] = [Vec::new(), Vec::new()];
    let mut sources = Sources::default();
    for (cidr, allow) in entries {
        let Some(net) = parse_source(cidr) else {
            sources.add_unresolved(format!("entry range `{cidr}` is not a CIDR"));
            break;
        };
        let family = usize::from(family_of(&net) == Family::Ipv6);
        let matched = vec![span(&net)];
        if allow {
            let reached = subtract(&matched, &subtract(&matched, &remaining[family]));
            allowed[family] = union([allowed[family].clone(), reached].concat());
        }
        remaining[family] = subtract(&remaining[family], &matched);
    }
    for (start, end) in &allowed[0] {
        nets_of_span(*start, *end, 32)
            .into_iter()
            .for_each(|(address, len)| {
                if let Ok(net) = Ipv4Net::new((address as u32).into(), len) {
                    sources.add_net(IpNet::V4(net));
                }
            });
    }
    for (start, end) in &allowed[1] {
        nets_of_span(*start, *end, 128)
            .into_iter()
            .for_each(|(address, len)| {
                if let Ok(net) = Ipv6Net::new(address.into(), len) {
                    sources.add_net(IpNet::V6(net));
                }
            });
    }
    sources
}

/// The fewest CIDR blocks (start address, prefix length) covering exactly
/// `start..=end` in an address space of `bits` bits.
fn nets_of_span(start: u128, end: u128, bits: u8) -> Vec<(u128, u8)> {
    let mut nets = Vec::new();
    let mut cursor = start;
    loop {
        // The largest aligned block at `cursor` that stays within `end`.
        let mut size_bits = u32::from(bits).min(cursor.trailing_zeros());
        while size_bits > 0 && block_end(cursor, size_bits) > end {
            size_bits -= 1;
        }
        let last = block_end(cursor, size_bits);
        nets.push((cursor, bits - size_bits as u8));
        match last.checked_add(1) {
            Some(next) if next <= end => cursor = next,
            _ => break,
        }
    }
    nets
}

fn block_end(start: u128, size_bits: u32) -> u128 {
    if size_bits >= 128 {
        u128::MAX
    } else {
        start | ((1u128 << size_bits) - 1)
    }
}

fn figures(public_ipv4: u128, public_ipv6: u128) -> String {
    let mut parts = Vec::new();
    if public_ipv4 > 0 {
        parts.push(format!("{public_ipv4} public IPv4 addresses"));
    }
    if public_ipv6 > 0 {
        parts.push(format!(
            "{} public IPv6 addresses",
            power_of_two(public_ipv6)
        ));
    }
    parts.join(", ")
}

/// `2^n` when `count` is about a power of two (IPv6 counts are unreadable
/// in decimal).
fn power_of_two(count: u128) -> String {
    if count < 1 << 32 {
        count.to_string()
    } else {
        format!("about 2^{}", 127 - count.leading_zeros())
    }
}

fn public_spans(sources: &Sources, family: Family) -> Vec<Span> {
    let admitted = union(
        (sources.cidrs.iter())
            .filter(|net| family_of(net) == family)
            .map(span)
            .collect(),
    );
    let reserved = match family {
        Family::Ipv4 => &*RESERVED_V4_SPANS,
        Family::Ipv6 => &*RESERVED_V6_SPANS,
    };
    subtract(&admitted, reserved)
}

fn allowed_spans(allowed: &[IpNet], family: Family) -> Vec<Span> {
    union(
        (allowed.iter())
            .map(|net| normalise(*net))
            .filter(|net| family_of(net) == family)
            .map(|net| span(&net))
            .collect(),
    )
}

/// The admitted ranges, aggregated, that overlap `v4` or `v6`.
fn offending_ranges(sources: &Sources, v4: &[Span], v6: &[Span]) -> Vec<String> {
    IpNet::aggregate(&sources.cidrs)
        .into_iter()
        .filter(|net| {
            let spans = match family_of(net) {
                Family::Ipv4 => v4,
                Family::Ipv6 => v6,
            };
            overlaps(spans, span(net))
        })
        .map(|net| net.to_string())
        .collect()
}

fn span(net: &IpNet) -> Span {
    match net {
        IpNet::V4(v4) => (
            u128::from(u32::from(v4.network())),
            u128::from(u32::from(v4.broadcast())),
        ),
        IpNet::V6(v6) => (u128::from(v6.network()), u128::from(v6.broadcast())),
    }
}

/// Sorted, disjoint, non-adjacent spans covering exactly `spans`.
fn union(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `spans` less `removed` (both as [`union`] returns them).
fn subtract(spans: &[Span], removed: &[Span]) -> Vec<Span> {
    let mut result = Vec::new();
    for &(start, end) in spans {
        let mut cursor = Some(start);
        for &(r_start, r_end) in removed {
            let Some(from) = cursor else { break };
            if r_end < from || r_start > end {
                continue;
            }
            if r_start > from {
                result.push((from, r_start - 1));
            }
            cursor = r_end.checked_add(1).filter(|next| *next <= end);
        }
        if let Some(from) = cursor {
            result.push((from, end));
        }
    }
    result
}

fn overlaps(spans: &[Span], (start, end): Span) -> bool {
    spans.iter().any(|&(s, e)| s <= end && start <= e)
}

/// Distinct addresses in `spans`, saturating at `u128::MAX`.
fn size(spans: &[Span]) -> u128 {
    spans.iter().fold(0u128, |total, &(start, end)| {
        total.saturating_add((end - start).saturating_add(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sources(cidrs: &[&str]) -> Sources {
        let mut sources = Sources::default();
        for cidr in cidrs {
            sources.add_text(cidr);
        }
        sources
    }

    fn exposure(cidrs: &[&str]) -> Exposure {
        decide(&sources(cidrs), &Policy::new(&[])).exposure
    }

    fn allowed(cidrs: &[&str]) -> Vec<IpNet> {
        cidrs.iter().filter_map(|c| c.parse().ok()).collect()
    }

    #[test]
    fn the_whole_internet_in_any_shape() {
        assert_eq!(exposure(&["0.0.0.0/0"]), Exposure::Internet);
        assert_eq!(exposure(&["::/0"]), Exposure::Internet);
        assert_eq!(exposure(&["0.0.0.0/1", "128.0.0.0/1"]), Exposure::Internet);
        assert_eq!(exposure(&["::/1", "8000::/1"]), Exposure::Internet);
        assert_eq!(exposure(&["2000::/3"]), Exposure::Internet);
    }

    #[test]
    fn the_threshold_is_on_the_union_not_per_range() {
        // Two /9s: each 2^23, together a /8's worth, which is not more.
        assert_eq!(
            exposure(&["8.0.0.0/9", "8.128.0.0/9"]),
            Exposure::NotInternet
        );
        assert_eq!(exposure(&["8.0.0.0/8"]), Exposure::NotInternet);
        // A /8 and one more address is more than a /8's worth.
        assert_eq!(exposure(&["8.0.0.0/8", "9.0.0.1"]), Exposure::Internet);
        // Two /8s each under the threshold: together over.
        assert_eq!(exposure(&["8.0.0.0/8", "9.0.0.0/8"]), Exposure::Internet);
        // Overlaps are not counted twice.
        let d = decide(
            &sources(&["8.0.0.0/8", "8.1.0.0/16", "8.0.0.0/9"]),
            &Policy::new(&[]),
        );
        assert_eq!(d.public_ipv4, 1 << 24);
        assert_eq!(d.exposure, Exposure::NotInternet);
        assert_eq!(d.offending, vec!["8.0.0.0/8"]);
        // IPv6: a /32 is not more than a /32's worth, a /31 is.
        assert_eq!(exposure(&["2600::/32"]), Exposure::NotInternet);
        assert_eq!(exposure(&["2600::/31"]), Exposure::Internet);
        assert_eq!(exposure(&["2600::/32", "2a00::/32"]), Exposure::Internet);
    }

    #[test]
    fn private_and_reserved_ranges_are_not_the_internet() {
        for cidr in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "100.64.0.0/10",
            "0.0.0.0/8",
            "224.0.0.0/3",
            "192.0.2.0/24",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "198.18.0.0/15",
            "fc00::/7",
            "fe80::/10",
            "::1",
            "ff00::/8",
            "2001:db8::/32",
            "::ffff:10.0.0.0/104",
        ] {
            let d = decide(&sources(&[cidr]), &Policy::new(&[]));
            assert_eq!(d.exposure, Exposure::NotInternet, "{cidr}");
            assert_eq!((d.public_ipv4, d.public_ipv6), (0, 0), "{cidr}");
        }
        // Every private range of IPv4 together is still not the internet.
        assert_eq!(
            exposure(&[
                "10.0.0.0/8",
                "172.16.0.0/12",
                "192.168.0.0/16",
                "100.64.0.0/10",
                "224.0.0.0/3"
            ]),
            Exposure::NotInternet
        );
        // 0.0.0.0/0 less the reserved ranges is still the internet.
        let d = decide(&sources(&["0.0.0.0/0"]), &Policy::new(&[]));
        assert!(d.public_ipv4 > 3_000_000_000 && d.public_ipv4 < 1 << 32);
    }

    #[test]
    fn how_sources_are_read() {
        assert_eq!(parse_source("8.8.8.8"), parse_source("8.8.8.8/32"));
        assert_eq!(parse_source("2001:db8::1"), parse_source("2001:db8::1/128"));
        assert_eq!(parse_source("10.0.0.1/8"), parse_source("10.0.0.0/8"));
        assert_eq!(parse_source(" 0.0.0.0/0 "), parse_source("0.0.0.0/0"));
        assert_eq!(parse_source("::ffff:0.0.0.0/96"), parse_source("0.0.0.0/0"));
        assert_eq!(
            parse_source("::ffff:8.8.8.0/120"),
            parse_source("8.8.8.0/24")
        );
        assert_eq!(parse_source("10.0.0.0/33"), None);
        assert_eq!(parse_source("sg-123"), None);
        // An IPv4-mapped whole internet is judged as IPv4.
        let d = decide(&sources(&["::ffff:0:0/96"]), &Policy::new(&[]));
        assert_eq!(d.exposure, Exposure::Internet);
        assert_eq!(d.public_ipv6, 0);
        assert!(d.public_ipv4 > 0);
        // ::/0 holds the mapped block but admits IPv6 only: no IPv4 counted.
        let d = decide(&sources(&["::/0"]), &Policy::new(&[]));
        assert_eq!(d.public_ipv4, 0);
    }

    #[test]
    fn unresolved_sources_are_unknown_unless_already_the_internet() {
        let mut s = sources(&["10.0.0.0/8"]);
        s.add_unresolved("prefix list pl-1: AccessDenied");
        let d = decide(&s, &Policy::new(&[]));
        assert!(matches!(&d.exposure, Exposure::Unknown(r) if r.contains("pl-1")));
        s.add_text("0.0.0.0/0");
        assert_eq!(decide(&s, &Policy::new(&[])).exposure, Exposure::Internet);
        assert!(matches!(exposure(&["not-a-cidr"]), Exposure::Unknown(_)));
    }

    #[test]
    fn allowed_cidrs_fail_any_public_source_outside_them() {
        let allow = allowed(&["198.51.100.0/24", "52.0.0.0/8"]);
        let policy = Policy::new(&allow);
        let decide_with = |cidrs: &[&str]| decide(&sources(cidrs), &policy);
        assert_eq!(
            decide_with(&["52.1.0.0/16"]).exposure,
            Exposure::NotInternet
        );
        let d = decide_with(&["52.1.0.0/16", "8.8.8.8/32"]);
        assert_eq!(d.exposure, Exposure::Internet, "one address outside fails");
        assert_eq!(d.offending, vec!["8.8.8.8/32"]);
        // Private sources are not the internet, allowed or not.
        assert_eq!(
            decide_with(&["192.168.1.0/24"]).exposure,
            Exposure::NotInternet
        );
        // A range only partly inside the allowed ones fails.
        assert_eq!(decide_with(&["52.0.0.0/7"]).exposure, Exposure::Internet);
        // IPv6 outside an IPv4-only allow list fails.
        assert_eq!(
            decide_with(&["2600:1f18::/64"]).exposure,
            Exposure::Internet
        );
    }

    #[test]
    fn families_are_judged_apart() {
        let s = sources(&["::/0", "10.0.0.0/8"]);
        let v4 = decide(&s.of_family(Family::Ipv4), &Policy::new(&[]));
        let v6 = decide(&s.of_family(Family::Ipv6), &Policy::new(&[]));
        assert_eq!(v4.exposure, Exposure::NotInternet);
        assert_eq!(v6.exposure, Exposure::Internet);
        let mapped = sources(&["::ffff:0:0/96"]);
        assert_eq!(
            decide(&mapped.of_family(Family::Ipv4), &Policy::new(&[])).exposure,
            Exposure::Internet
        );
    }

    #[test]
    fn span_arithmetic_edges() {
        assert_eq!(
            union(vec![(5, 9), (0, 4), (20, 30), (25, 26)]),
            vec![(0, 9), (20, 30)]
        );
        assert_eq!(
            subtract(&[(0, 100)], &[(0, 10), (50, 60), (95, 200)]),
            vec![(11, 49), (61, 94)]
        );
        assert_eq!(subtract(&[(0, u128::MAX)], &[(0, u128::MAX)]), vec![]);
        assert_eq!(size(&[(0, u128::MAX)]), u128::MAX);
    }

    #[test]
    fn first_match_decides_per_address() {
        let reach = |entries: &[(&str, bool)]| {
            decide(
                &first_match_allowed(entries.iter().copied()),
                &Policy::new(&[]),
            )
        };
        // A lower-numbered deny of everything shadows a later allow.
        assert_eq!(
            reach(&[("0.0.0.0/0", false), ("0.0.0.0/0", true)]).exposure,
            Exposure::NotInternet
        );
        assert_eq!(
            reach(&[("0.0.0.0/0", true), ("0.0.0.0/0", false)]).exposure,
            Exposure::Internet
        );
        // A partial deny leaves the rest reachable: still the internet.
        let d = reach(&[("0.0.0.0/1", false), ("0.0.0.0/0", true)]);
        assert_eq!(d.exposure, Exposure::Internet);
        assert_eq!(d.offending, vec!["128.0.0.0/1"]);
        // Denying all but a /8 leaves no more than a /8's worth.
        let d = reach(&[
            ("8.0.0.0/8", true),
            ("0.0.0.0/0", false),
            ("0.0.0.0/0", true),
        ]);
        assert_eq!(
            (d.exposure, d.public_ipv4),
            (Exposure::NotInternet, 1 << 24)
        );
        // IPv4 entries do not shadow IPv6 ones.
        assert_eq!(
            reach(&[("0.0.0.0/0", false), ("::/0", true)]).exposure,
            Exposure::Internet
        );
        assert!(reach(&[]).offending.is_empty());
        // An unreadable entry might have denied what follows.
        assert!(matches!(
            reach(&[("junk", false), ("0.0.0.0/0", true)]).exposure,
            Exposure::Unknown(_)
        ));
    }

    #[test]
    fn spans_back_to_cidrs() {
        assert_eq!(nets_of_span(0, u128::from(u32::MAX), 32), vec![(0, 0)]);
        assert_eq!(nets_of_span(0, u128::MAX, 128), vec![(0, 0)]);
        assert_eq!(
            nets_of_span(1, 6, 32),
            vec![(1, 32), (2, 31), (4, 31), (6, 32)]
        );
    }

    fn any_v4_net() -> impl Strategy<Value = Ipv4Net> {
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, len)| Ipv4Net::new(a.into(), len).expect("valid prefix").trunc())
    }

    proptest! {
        #[test]
        fn order_and_splitting_do_not_change_the_decision(
            nets in proptest::collection::vec(any_v4_net(), 1..8),
            rotate in 0usize..8,
        ) {
            let texts: Vec<String> = nets.iter().map(ToString::to_string).collect();
            let mut rotated = texts.clone();
            let by = rotate % rotated.len();
            rotated.rotate_left(by);
            // Every range split into its two halves admits the same addresses.
            let halves: Vec<String> = nets
                .iter()
                .flat_map(|n| match n.subnets(n.prefix_len().saturating_add(1).min(32)) {
                    Ok(subnets) => subnets.map(|s| s.to_string()).collect::<Vec<_>>(),
                    Err(_) => vec![n.to_string()],
                })
                .collect();
            let refs = |v: &[String]| sources(&v.iter().map(String::as_str).collect::<Vec<_>>());
            let base = decide(&refs(&texts), &Policy::new(&[]));
            prop_assert_eq!(&base.exposure, &decide(&refs(&rotated), &Policy::new(&[])).exposure);
            let split = decide(&refs(&halves), &Policy::new(&[]));
            prop_assert_eq!(base.public_ipv4, split.public_ipv4);
            prop_assert_eq!(base.exposure, split.exposure);
        }

        #[test]
        fn private_ranges_never_change_the_count(nets in proptest::collection::vec(any_v4_net(), 0..6)) {
            let mut texts: Vec<String> = nets.iter().map(ToString::to_string).collect();
            let before = decide(&sources(&texts.iter().map(String::as_str).collect::<Vec<_>>()), &Policy::new(&[]));
            texts.extend(["10.0.0.0/8".to_string(), "192.168.0.0/16".to_string()]);
            let after = decide(&sources(&texts.iter().map(String::as_str).collect::<Vec<_>>()), &Policy::new(&[]));
            prop_assert_eq!(before.public_ipv4, after.public_ipv4);
        }
    }
}
