package examples.bucket_tags_test

import data.examples.bucket_tags as control
import rego.v1

test_both_tags_pass if {
	count(control.deny) == 0 with input as {"name": "b", "tags": {"owner": "x", "data-classification": "internal"}}
}

test_an_untagged_bucket_misses_both if {
	count(control.deny) == 2 with input as {"name": "b"}
}

test_unreadable_tags_deny_nothing if {
	count(control.deny) == 0 with input as {"name": "b", "tags_unreadable": "AccessDenied"}
	count(control.unknown) == 1 with input as {"name": "b", "tags_unreadable": "AccessDenied"}
}
