# No security group admits PostgreSQL (TCP 5432) from outside the VPN range.
# Protocols and ports are read as EC2 documents them: protocol "-1" admits
# every protocol and port, "tcp" (or "6") the range from_port..to_port, and
# a rule without a range every port. Prefix lists count by their entries.
package examples.postgres_from_vpn_only

import rego.v1

vpn_range := "10.8.0.0/16"

port := 5432

protocol(rule) := lower(trim_space(rule.protocol))

admits_port(rule) if protocol(rule) in {"-1", "all"}

admits_port(rule) if {
	protocol(rule) in {"tcp", "6"}
	in_range(object.get(rule, "from_port", null), object.get(rule, "to_port", null))
}

in_range(null, null) := true

in_range(from, to) if {
	from != null
	to != null
	from <= port
	port <= to
}

in_range(from, null) if from == port

in_range(null, to) if to == port

# Every source range of a rule that admits the port: its own CIDRs and the
# entries of the prefix lists it names.
sources(rule) := {cidr | some cidr in rule.cidrs} | {cidr |
	some list in object.get(rule, "prefix_lists", [])
	some cidr in list.cidrs
}

# An IPv6 range is never inside an IPv4 VPN range.
outside_vpn(cidr) if contains(cidr, ":")

outside_vpn(cidr) if {
	not contains(cidr, ":")
	not net.cidr_contains(vpn_range, cidr)
}

deny contains {"msg": msg, "cidr": cidr} if {
	some rule in input.ingress
	admits_port(rule)
	some cidr in sources(rule)
	outside_vpn(cidr)
	msg := sprintf("%s admits port %d (PostgreSQL) from %s, outside the VPN range %s", [input.id, port, cidr, vpn_range])
}

unknown contains msg if {
	some rule in input.ingress
	admits_port(rule)
	some list in object.get(rule, "prefix_lists", [])
	object.get(list, "unreadable", null) != null
	msg := sprintf("the entries of prefix list %s could not be read: %s", [list.id, list.unreadable])
}
