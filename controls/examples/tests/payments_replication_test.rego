package examples.payments_replication_test

import data.examples.payments_replication as control
import rego.v1

bucket(name, rules) := {"name": name, "replication": {"rules": rules}}

test_replica_in_the_recovery_region_passes if {
	count(control.deny) == 0 with input as bucket("payments-a", [{"status": "Enabled", "destination_bucket": "b", "destination_region": "eu-west-1"}])
}

test_a_replica_elsewhere_is_denied if {
	count(control.deny) == 1 with input as bucket("payments-a", [{"status": "Enabled", "destination_bucket": "b", "destination_region": "us-east-1"}])
}

test_only_payments_buckets_are_in_scope if {
	not control.applicable with input as bucket("logs", [])
}
