# Payments buckets replicate to eu-west-1, where the recovery plan restores
# them from. Decided on the stored S3 bucket document (`driftwatch controls`
# lists the resource types; src/model.rs holds their fields).
package examples.payments_replication

import rego.v1

recovery_region := "eu-west-1"

applicable if startswith(input.name, "payments-")

enabled_rules contains rule if {
	some rule in input.replication.rules
	rule.status == "Enabled"
}

# A rule with a filter (a prefix, tags) replicates part of the bucket:
# what it leaves out is not recoverable.
replicates_to(region) if {
	some rule in enabled_rules
	rule.destination_region == region
	not rule.filter
}

partial_to(region) := {rule |
	some rule in enabled_rules
	rule.destination_region == region
	rule.filter
}

# Destinations whose region could not be read (GetBucketLocation failed):
# one of them may be in the recovery region.
undetermined contains rule.destination_bucket if {
	some rule in enabled_rules
	object.get(rule, "destination_region", null) == null
}

deny contains msg if {
	not replicates_to(recovery_region)
	count(undetermined) == 0
	count(partial_to(recovery_region)) == 0
	msg := sprintf("%s does not replicate to %s", [input.name, recovery_region])
}

deny contains msg if {
	not replicates_to(recovery_region)
	count(undetermined) == 0
	some rule in partial_to(recovery_region)
	msg := sprintf(
		"%s replicates to %s only the objects matching %s (prefix %v, tags %v)",
		[input.name, recovery_region, object.get(rule, "id", "a rule"), object.get(rule.filter, "prefix", null), object.get(rule.filter, "tags", {})],
	)
}

unknown contains msg if {
	not replicates_to(recovery_region)
	some destination in undetermined
	msg := sprintf("the region of replication destination %s could not be read", [destination])
}
