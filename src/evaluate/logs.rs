//! `logs.retention`: log groups that hold audit evidence keep it a year.

use super::catalog::{
    Control, ControlSettings, DaysSetting, PatternsSetting, Remediation, Setting,
};
use super::{Severity, Verdict, policy};
use crate::model::{LogGroup, ResourceType};
use serde_json::json;

/// EKS control-plane log groups are always in scope.
const EKS_CONTROL_PLANE: &str = "/aws/eks/*/cluster";

/// `logs.retention`: the fewest days an in-scope log group keeps events.
static MIN_DAYS: DaysSetting = DaysSetting {
    unit: "days",
    name: "min_retention_days",
    help: "the fewest days an in-scope log group must keep events",
    default: 365,
    min: 1,
    max: 3653,
    range_reason: "CloudWatch Logs' longest setting",
};

/// `logs.retention`: further log groups in scope.
static PATTERNS: PatternsSetting = PatternsSetting {
    name: "log_group_patterns",
    help: "further log groups in scope, by `*`/`?` name pattern",
};

pub(super) const CONTROLS: &[Control] = &[Control {
    id: "logs.retention",
    title: "Evidence log groups (EKS control plane, flow logs, configured patterns) kept 365 days or never expire",
    resource_types: &[ResourceType::LogGroup],
    default_severity: Severity::Medium,
    rationale: "CloudWatch Logs deletes events older than a log group's retention setting. A group kept for days or weeks therefore loses the application, audit and security records an investigation will need. Keeping at least 365 days, or never expiring, meets the common one-year requirement for audit-log history.",
    remediation: Remediation {
        console: "CloudWatch console > Log groups > select the group > Actions > Edit retention setting: choose 1 year (365 days) or longer, or Never expire, then Save.",
        cli: "aws logs put-retention-policy --log-group-name <log-group> --retention-in-days 365",
        terraform: "aws_cloudwatch_log_group: retention_in_days = 365 (or longer; 0 means never expire)",
    },
    settings: &[Setting::Days(&MIN_DAYS), Setting::Patterns(&PATTERNS)],
    rule: |subject, settings| subject.get().and_then(|group| retention(group, settings)),
}];

fn retention(group: &LogGroup, settings: &ControlSettings) -> Option<Verdict> {
    let mut reasons: Vec<String> = group.written_by.clone();
    if policy::wildcard_match(EKS_CONTROL_PLANE, &group.name) {
        reasons.push("EKS control-plane logs".to_string());
    }
    if let Some(pattern) = PATTERNS
        .get(settings)
        .iter()
        .find(|p| policy::wildcard_match(p, &group.name))
    {
        reasons.push(format!("matches configured pattern {pattern}"));
    }
    if reasons.is_empty() {
        // Not evidence driftwatch is asked to keep: not applicable.
        return None;
    }
    let minimum = MIN_DAYS.get(settings);
    let details = json!({ "retention_in_days": group.retention_in_days, "minimum_days": minimum, "in_scope_because": reasons });
    let verdict = match group.retention_in_days {
        None => Verdict::pass("never expires", details),
        Some(days) if days >= minimum => Verdict::pass(format!("kept {days} days"), details),
        Some(days) => Verdict::fail(format!("kept {days} days, fewer than {minimum}"), details),
    };
    Some(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{Fail, Pass};
    use crate::evaluate::RuleSettings;

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
        let document = serde_json::to_value(group).expect("serialises");
        crate::evaluate::verdicts(ResourceType::LogGroup, &document, settings)
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
        let patterns =
            RuleSettings::for_test("[\"logs.retention\"]\nlog_group_patterns = [\"/app/*\"]");
        let verdicts = evaluate("/app/web", Some(30), &[], &patterns);
        assert_eq!(verdicts[0].1.status, Fail);
        assert_eq!(
            verdicts[0].1.evidence["message"],
            "kept 30 days, fewer than 365"
        );
    }
}
