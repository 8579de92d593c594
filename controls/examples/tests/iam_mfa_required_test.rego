package examples.iam_mfa_required_test

import data.examples.iam_mfa_required as control

gate := {
	"Effect": "Deny",
	"NotAction": ["iam:EnableMFADevice", "iam:ListMFADevices", "sts:GetSessionToken"],
	"Resource": "*",
	"Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
}

test_the_documented_statement_is_a_gate if {
	control.mfa_gate(gate)
}

test_bool_without_if_exists_lets_access_keys_through if {
	not control.mfa_gate(object.union(gate, {"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}))
}

test_a_not_resource_is_not_every_resource if {
	not control.mfa_gate(object.union(gate, {"NotResource": "arn:aws:s3:::logs/*"}))
}

test_an_action_wildcard_exempts_too_much if {
	not control.mfa_gate(object.union(gate, {"NotAction": ["sts:*"]}))
}

test_a_group_policy_governs_its_members if {
	control.governed with input as {
		"name": "alice",
		"credentials": {"password": {}, "access_keys": []},
		"attached_policies": [],
		"inline_policies": [],
		"groups": ["humans"],
	}
		with data.resources as {
			"iam.group": {"arn:aws:iam::1:group/humans": {"name": "humans", "attached_policies": [], "inline_policies": [{"name": "mfa", "document": {"Statement": [gate]}}]}},
			"iam.policy": {},
		}
}
