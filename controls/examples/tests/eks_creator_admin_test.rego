package examples.eks_creator_admin_test

import data.examples.eks_creator_admin as control

admin := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

cluster(associated_at) := {
	"name": "c",
	"access": {
		"authentication_mode": "API",
		"bootstrap_cluster_creator_admin_permissions": true,
		"cluster_created_at": "2026-03-04T10:00:00Z",
		"entries": [{"principal_arn": "arn:aws:iam::1:role/ci", "policies": [{"policy_arn": admin, "scope": "cluster", "namespaces": [], "associated_at": associated_at}]}],
	},
}

test_an_admin_association_at_creation_is_the_creators if {
	control.creator_entries == {"arn:aws:iam::1:role/ci"} with input as cluster("2026-03-04T10:02:00Z")
}

test_one_made_after_the_window_is_someone_chosen if {
	count(control.creator_entries) == 0 with input as cluster("2026-03-04T10:02:01Z")
}

test_a_config_map_cluster_is_not_judged if {
	not control.applicable with input as {"name": "c", "access": {"authentication_mode": "CONFIG_MAP"}}
}
