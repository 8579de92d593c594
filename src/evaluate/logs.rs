//! `logs.retention`: log groups that hold audit evidence keep it a year.

use super::{RuleSettings, Verdict, policy};
use crate::model::LogGroup;
use serde_json::{Value, json};

/// EKS control-plane log groups are always in scope.
const EKS_CONTROL_PLANE: &str = "/aws/eks/*/cluster";

pub(super) fn evaluate_log_group(
    document: &Value,
    settings: &RuleSettings,
) -> Vec<(&'static str, Verdict)> {
    let group: LogGroup = match serde_json::from_value(document.clone()) {
        Ok(g) => g,
        Err(e) => {
            let message = format!("stored document is not a readable log group record: {e}");
            return vec![("logs.retention", Verdict::unknown(message, json!({})))];
        }
    };
    let mut reasons: Vec<String> = group.written_by.clone();
    if policy::wildcard_match(EKS_CONTROL_PLANE, &group.name) {
        reasons.push("EKS control-plane logs".to_string());
    }
    if let Some(pattern) = settings
        .log_group_patterns
        .iter()
        .find(|p| policy::wildcard_match(p, &group.name))
    {
        reasons.push(format!("matches configured pattern {pattern}"));
    }
    if reasons.is_empty() {
        // Not evidence driftwatch is asked to keep: not applicable.
        return Vec::new();
    }
    let minimum = settings.logs_min_retention_days;
    let details = json!({ "retention_in_days": group.retention_in_days, "minimum_days": minimum, "in_scope_because": reasons });
    let verdict = match group.retention_in_days {
        None => Verdict::pass("never expires", details),
        Some(days) if days >= minimum => Verdict::pass(format!("kept {days} days"), details),
        Some(days) => Verdict::fail(format!("kept {days} days, fewer than {minimum}"), details),
    };
    vec![("logs.retention", verdict)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{Fail, Pass};

    fn evaluate(
        name: &str,
        retention: Option<i32>,
        written_by: &[&str],
        settings: &RuleSettings,
    ) -> Vec<(&'static str, Verdict)> {
        let group = LogGroup {
            name: name.into(),
            retention_in_days: retention,
            written_by: written_by.iter().map(|s| s.to_string()).collect(),
            ..LogGroup::default()
        };
        evaluate_log_group(&serde_json::to_value(group).expect("serialises"), settings)
    }

    #[test]
    fn only_groups_in_scope_are_judged() {
        let settings = RuleSettings::default();
        assert!(evaluate("/app/web", Some(1), &[], &settings).is_empty());
        assert_eq!(
            evaluate("/aws/eks/prod/cluster", Some(90), &[], &settings)[0]
                .1
                .status,
            Fail
        );
        assert_eq!(
            evaluate("flow", Some(400), &["VPC flow log fl-1"], &settings)[0]
                .1
                .status,
            Pass
        );
        assert_eq!(
            evaluate("flow", None, &["VPC flow log fl-1"], &settings)[0]
                .1
                .status,
            Pass
        );
        let patterns = RuleSettings {
            log_group_patterns: vec!["/app/*".into()],
            ..RuleSettings::default()
        };
        let verdicts = evaluate("/app/web", Some(30), &[], &patterns);
        assert_eq!(verdicts[0].1.status, Fail);
        assert_eq!(
            verdicts[0].1.evidence["message"],
            "kept 30 days, fewer than 365"
        );
    }
}
