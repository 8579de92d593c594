# Every IAM user who can sign in (a console password) or call the API (an
# active access key) is under a policy that denies everything but MFA
# self-management until the session is MFA-authenticated: AWS's own
# "DenyAllExceptListedIfNoMFA" statement, attached to the user or to one of
# its groups.
#
# Reads the account's customer managed policies and groups as data (the
# sidecar's `data`): an attached policy or a group that was not collected,
# or whose document could not be read, might be the one that governs, so
# the verdict is then unknown, never fail or pass.
package examples.iam_mfa_required

policies := data.resources["iam.policy"]

groups := data.resources["iam.group"]

# The actions a user needs, before MFA, to set up MFA and sign in with it
# (the NotAction lists of AWS's example policies). A NotAction exempting
# anything else, or any wildcard, exempts too much.
mfa_self_management := {
	"iam:changepassword",
	"iam:createvirtualmfadevice",
	"iam:deletevirtualmfadevice",
	"iam:enablemfadevice",
	"iam:getaccountpasswordpolicy",
	"iam:getaccountsummary",
	"iam:getmfadevice",
	"iam:getuser",
	"iam:listaccesskeys",
	"iam:listaccountaliases",
	"iam:listmfadevices",
	"iam:listservicespecificcredentials",
	"iam:listsshpublickeys",
	"iam:listusers",
	"iam:listvirtualmfadevices",
	"iam:resyncmfadevice",
	"sts:getsessiontoken",
}

can_sign_in if input.credentials.password != null

has_active_key if {
	some key in input.credentials.access_keys
	key.active
}

applicable if input.credentials == null

applicable if can_sign_in

applicable if has_active_key

# Every policy document that applies to the user, with where it comes from.
governing contains {"via": sprintf("inline policy %s", [p.name]), "document": p.document} if {
	some p in input.inline_policies
}

governing contains {"via": arn, "document": document} if {
	some arn in input.attached_policies
	document := policies[arn].document
}

governing contains {"via": sprintf("inline policy %s of group %s", [p.name, name]), "document": p.document} if {
	some name in input.groups
	some p in group_named(name).inline_policies
}

governing contains {"via": sprintf("%s through group %s", [arn, name]), "document": document} if {
	some name in input.groups
	some arn in group_named(name).attached_policies
	document := policies[arn].document
}

group_named(name) := group if {
	some group in groups
	group.name == name
}

attached contains arn if some arn in input.attached_policies

attached contains arn if {
	some name in input.groups
	some arn in group_named(name).attached_policies
}

# AWS managed policies are collected by no one, and none of them is a
# deny-unless-MFA policy.
aws_managed(arn) if {
	parts := split(arn, ":")
	parts[4] == "aws"
	startswith(parts[5], "policy/")
}

unreadable contains sprintf("%s is not among the account's collected policies", [arn]) if {
	some arn in attached
	not aws_managed(arn)
	not policies[arn]
}

unreadable contains sprintf("the default version of %s could not be read", [arn]) if {
	some arn in attached
	policies[arn]
	not is_object(policies[arn].document)
}

unreadable contains sprintf("inline policy %s is not a JSON policy", [p.name]) if {
	some p in input.inline_policies
	not is_object(p.document)
}

unreadable contains sprintf("inline policy %s of group %s is not a JSON policy", [p.name, name]) if {
	some name in input.groups
	some p in group_named(name).inline_policies
	not is_object(p.document)
}

unreadable contains sprintf("group %s is not among the account's collected groups", [name]) if {
	some name in input.groups
	not group_named(name)
}

statements(document) := document.Statement if is_array(document.Statement)

statements(document) := [document.Statement] if is_object(document.Statement)

as_list(value) := value if is_array(value)

as_list(value) := [value] if is_string(value)

# A Deny of everything but MFA self-management, on every resource, whenever
# the request is not MFA-authenticated. `BoolIfExists`, not `Bool`: requests
# signed with a long-term access key carry no aws:MultiFactorAuthPresent,
# and `Bool` would not deny them. Any other condition narrows the deny.
mfa_gate(statement) if {
	statement.Effect == "Deny"
	not statement.Action
	not statement.NotResource
	every_resource(statement.Resource)
	exempts_only_mfa_self_management(statement.NotAction)
	only_without_mfa(statement.Condition)
}

every_resource(resource) if resource == "*"

every_resource(resource) if "*" in as_list(resource)

exempts_only_mfa_self_management(not_action) if {
	actions := as_list(not_action)
	count(actions) > 0
	every action in actions {
		is_string(action)
		lower(action) in mfa_self_management
	}
}

only_without_mfa(condition) if {
	count(condition) == 1
	block := condition.BoolIfExists
	count(block) == 1
	some key, value in block
	lower(key) == "aws:multifactorauthpresent"
	is_false(value)
}

is_false(value) if scalar_false(value)

is_false(value) if {
	is_array(value)
	count(value) == 1
	scalar_false(value[0])
}

scalar_false(value) if value == false

scalar_false(value) if {
	is_string(value)
	lower(value) == "false"
}

# Boolean, not the statement: a policy may hold two gates.
has_gate(document) if {
	some statement in statements(document)
	mfa_gate(statement)
}

governed_by contains entry.via if {
	some entry in governing
	is_object(entry.document)
	has_gate(entry.document)
}

governed if count(governed_by) > 0

access := "has a console password and an active access key" if {
	can_sign_in
	has_active_key
} else := "has a console password" if {
	can_sign_in
} else := "has an active access key"

deny contains {"msg": msg, "policies_checked": [entry.via | some entry in governing]} if {
	input.credentials != null
	not governed
	count(unreadable) == 0
	msg := sprintf(
		"%s %s, but no policy attached to it or its groups denies all but MFA self-management without MFA (a Deny with NotAction and BoolIfExists aws:MultiFactorAuthPresent false)",
		[input.name, access],
	)
}

unknown contains reason if {
	not governed
	some reason in unreadable
}

unknown contains msg if {
	not governed
	input.credentials == null
	msg := sprintf("%s is not in the credential report yet (IAM regenerates it at most every four hours): whether it has a password or access keys is not known", [input.name])
}
