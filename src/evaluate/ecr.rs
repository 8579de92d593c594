//! `ecr.image_retention`: no lifecycle rule may expire images younger than
//! the retention the auditors ask for (365 days).

use super::catalog::{Control, Remediation};
use super::{Severity, Verdict};
use crate::model::{EcrRepository, ResourceType};
use serde_json::{Value, json};

const MINIMUM_DAYS: i64 = 365;

pub(super) const CONTROLS: &[Control] = &[Control {
    id: "ecr.image_retention",
    title: "No lifecycle rule expires images younger than 365 days",
    resource_types: &[ResourceType::EcrRepository],
    default_severity: Severity::Low,
    rationale: "A lifecycle rule that expires images younger than a year can delete the very image a running workload, a rollback or a forensic investigation needs. Afterwards there is no record of what code was actually deployed. Keeping images for 365 days preserves the provenance of deployed artifacts for incident response and change-management evidence.",
    remediation: Remediation {
        console: "ECR console > Private repositories > repository > Lifecycle policy: edit or delete every expire rule that can remove images younger than 365 days (sinceImagePushed or sinceImagePulled rules with fewer than 365 days, and count-based imageCountMoreThan rules), then save. A repository without a lifecycle policy never expires images.",
        cli: "aws ecr put-lifecycle-policy --repository-name <repository> --lifecycle-policy-text '{\"rules\":[{\"rulePriority\":1,\"description\":\"expire untagged images after 365 days\",\"selection\":{\"tagStatus\":\"untagged\",\"countType\":\"sinceImagePushed\",\"countUnit\":\"days\",\"countNumber\":365},\"action\":{\"type\":\"expire\"}}]}'",
        terraform: "aws_ecr_lifecycle_policy: repository = <repository>, policy = jsonencode({ rules = [{ rulePriority = 1, description = \"expire untagged images after 365 days\", selection = { tagStatus = \"untagged\", countType = \"sinceImagePushed\", countUnit = \"days\", countNumber = 365 }, action = { type = \"expire\" } }] }) (or no aws_ecr_lifecycle_policy at all)",
    },
    settings: &[],
    rule: |subject, _| {
        subject
            .get::<EcrRepository>()
            .map(|repository| image_retention(repository.lifecycle_policy.as_ref()))
    },
}];

fn image_retention(policy: Option<&Value>) -> Verdict {
    let Some(policy) = policy else {
        return Verdict::pass("no lifecycle policy: images are never expired", json!({}));
    };
    let parsed;
    let policy = match policy {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(e) => {
                return Verdict::unknown(
                    format!("lifecycle policy is not valid JSON: {e}"),
                    json!({}),
                );
            }
        },
        other => other,
    };
    let Some(rules) = policy.get("rules").and_then(Value::as_array) else {
        return Verdict::unknown(
            "lifecycle policy has no `rules` list",
            json!({ "policy": policy }),
        );
    };
    let mut problems = Vec::new();
    for rule in rules {
        if rule["action"]["type"]
            .as_str()
            .is_some_and(|t| t != "expire")
        {
            continue;
        }
        let priority = rule["rulePriority"]
            .as_i64()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "?".into());
        let selection = &rule["selection"];
        let count = selection["countNumber"].as_i64();
        match (selection["countType"].as_str(), count) {
            (Some("sinceImagePushed" | "sinceImagePulled"), Some(days)) if days < MINIMUM_DAYS => {
                problems.push(format!("rule {priority} expires images after {days} days"));
            }
            (Some("sinceImagePushed" | "sinceImagePulled"), Some(_)) => {}
            (Some("imageCountMoreThan"), Some(n)) => problems.push(format!(
                "rule {priority} is count-based, cannot prove 365 days (keeps the newest {n} images)"
            )),
            (other, _) => problems.push(format!(
                "rule {priority} has an unrecognised selection ({}), cannot prove 365 days",
                other.unwrap_or("no countType")
            )),
        }
    }
    let details = json!({ "rules": rules.len() });
    if problems.is_empty() {
        Verdict::pass(
            "no lifecycle rule expires images younger than 365 days",
            details,
        )
    } else {
        Verdict::fail(problems.join("; "), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{Fail, Pass, Unknown};

    fn rule(count_type: &str, n: i64) -> Value {
        json!({"rulePriority": 1, "selection": {"tagStatus": "any", "countType": count_type, "countUnit": "days", "countNumber": n}, "action": {"type": "expire"}})
    }

    #[test]
    fn lifecycle_rules_and_the_365_day_floor() {
        assert_eq!(image_retention(None).status, Pass);
        assert_eq!(
            image_retention(Some(&json!({"rules": [rule("sinceImagePushed", 400)]}))).status,
            Pass
        );
        let short = image_retention(Some(&json!({"rules": [rule("sinceImagePushed", 30)]})));
        assert_eq!(short.status, Fail);
        assert_eq!(
            short.evidence["message"],
            "rule 1 expires images after 30 days"
        );
        let count = image_retention(Some(&json!({"rules": [rule("imageCountMoreThan", 10)]})));
        assert_eq!(count.status, Fail);
        assert!(
            count.evidence["message"]
                .as_str()
                .unwrap_or_default()
                .contains("count-based, cannot prove 365 days")
        );
        assert_eq!(image_retention(Some(&json!("{broken"))).status, Unknown);
        let text = json!(json!({"rules": [rule("sinceImagePushed", 365)]}).to_string());
        assert_eq!(image_retention(Some(&text)).status, Pass);
    }
}
