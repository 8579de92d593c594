# A cluster that authenticates with access entries does not keep the
# cluster-admin entry EKS gave its creator (bootstrapClusterCreatorAdminPermissions):
# admins are the principals someone chose, not whichever CI role or
# person's session happened to run CreateCluster.
#
# With bootstrapClusterCreatorAdminPermissions, EKS creates an access entry
# for the creating principal and associates AmazonEKSClusterAdminPolicy
# with it, cluster-wide, while it creates the cluster; entries anyone
# else adds wait until the cluster is ACTIVE, minutes later. So the
# creator's entry is a cluster-wide admin association made within
# `bootstrap_window_ns` of the cluster's creation. CONFIG_MAP clusters have
# no access entries (their creator's admin is a binding no API shows):
# the control does not apply to them. Not known here: whether EKS gives
# the creator of a cluster switched from CONFIG_MAP to an API mode after
# creation an entry, and when; one associated at the switch falls outside
# the window, and this control would not see it.
package examples.eks_creator_admin

# arn:<partition>:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy,
# in every partition (aws, aws-cn, aws-us-gov).
cluster_admin(arn) if {
	parts := split(arn, ":")
	count(parts) == 6
	parts[0] == "arn"
	parts[2] == "eks"
	parts[4] == "aws"
	parts[5] == "cluster-access-policy/AmazonEKSClusterAdminPolicy"
}

# EKS takes ten minutes or more to create a cluster; two is well inside.
bootstrap_window_ns := (2 * 60) * 1000000000

known_modes := {"API", "API_AND_CONFIG_MAP", "CONFIG_MAP"}

access := input.access

uses_access_entries if access.authentication_mode in {"API", "API_AND_CONFIG_MAP"}

applicable if not input.access

applicable if uses_access_entries

applicable if {
	input.access
	not access.authentication_mode in known_modes
}

unknown contains "EKS reported no access config for the cluster (an emulator, or an API older than access entries): whether its creator is still an admin is not known" if {
	not input.access
}

unknown contains sprintf("authentication mode %v is not one this control knows", [access.authentication_mode]) if {
	input.access
	not access.authentication_mode in known_modes
}

unknown contains sprintf("the cluster's access entries could not be read: %s", [access.entries_unreadable]) if {
	uses_access_entries
	access.entries_unreadable
}

unknown contains "EKS did not say whether it made the creator an admin (bootstrapClusterCreatorAdminPermissions)" if {
	uses_access_entries
	not is_boolean(access.bootstrap_cluster_creator_admin_permissions)
}

unknown contains "EKS did not say when the cluster was created" if {
	uses_access_entries
	access.bootstrap_cluster_creator_admin_permissions == true
	not is_string(access.cluster_created_at)
}

# Cluster-wide admin associations made while the cluster was created.
creator_entries contains entry.principal_arn if {
	uses_access_entries
	access.bootstrap_cluster_creator_admin_permissions == true
	created := time.parse_rfc3339_ns(access.cluster_created_at)
	is_array(access.entries)
	some entry in access.entries
	some policy in entry.policies
	cluster_admin(policy.policy_arn)
	policy.scope == "cluster"
	associated := time.parse_rfc3339_ns(policy.associated_at)
	associated - created <= bootstrap_window_ns
}

deny contains {"msg": msg, "principal": principal} if {
	some principal in creator_entries
	msg := sprintf(
		"%s keeps the cluster-admin access entry EKS gave its creator %s at creation (bootstrapClusterCreatorAdminPermissions); delete the entry, or create clusters with it off",
		[input.name, principal],
	)
}
