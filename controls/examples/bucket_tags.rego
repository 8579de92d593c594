# Every bucket carries an `owner` and a `data-classification` tag, the
# classification one of the organisation's levels. Tag keys are matched
# exactly, as AWS compares them (`Owner` is another key); the level is
# compared without regard to case, a choice of this policy.
package examples.bucket_tags

import rego.v1

required := ["owner", "data-classification"]

levels := {"public", "internal", "confidential", "restricted"}

readable if object.get(input, "tags_unreadable", null) == null

tag(key) := value if {
	value := trim_space(input.tags[key])
	value != ""
}

deny contains msg if {
	readable
	some key in required
	not tag(key)
	msg := sprintf("%s has no `%s` tag", [input.name, key])
}

deny contains msg if {
	readable
	level := tag("data-classification")
	not lower(level) in levels
	msg := sprintf("%s: data-classification `%s` is not one of %s", [input.name, level, concat(", ", sort(levels))])
}

unknown contains msg if {
	not readable
	msg := sprintf("the tags of %s could not be read: %s", [input.name, input.tags_unreadable])
}
