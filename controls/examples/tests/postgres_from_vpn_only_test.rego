package examples.postgres_from_vpn_only_test

import data.examples.postgres_from_vpn_only as control
import rego.v1

group(rules) := {"id": "sg-1", "ingress": rules}

test_a_port_range_around_5432_admits_it if {
	control.admits_port({"protocol": "tcp", "from_port": 5000, "to_port": 6000})
}

test_udp_does_not_admit_postgres if {
	not control.admits_port({"protocol": "udp", "from_port": 5432, "to_port": 5432})
}

test_a_subnet_of_the_vpn_is_inside if {
	not control.outside_vpn("10.8.200.0/24")
}

test_the_internet_is_denied if {
	count(control.deny) == 1 with input as group([{"protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidrs": ["0.0.0.0/0"]}])
}
