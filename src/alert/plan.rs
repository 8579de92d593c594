//! Deciding alerts: pure logic over what the store says about findings.
//!
//! Alerting is level-triggered: a finding *needs a page* while its decided
//! status is fail, its resource exists, it is not waived, and a route
//! sends it somewhere. An incident opens when a finding starts needing a
//! page and closes once it has stopped needing one for the flap window, so
//! fail → pass → fail inside the window never pages twice and a missed
//! edge (a crash, a restart) is corrected by the next decision.

use crate::config::{AlertsConfig, RouteConfig};
use crate::evaluate::{self, CustomControls, FindingStatus, Severity};
pub use crate::store::alerts::{AlertAction, AlertCandidate, IncidentAction, OpenIncident};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Routing and timing, from `[alerts]`.
#[derive(Debug, Clone)]
pub struct AlertPolicy {
    pub min_severity: Severity,
    pub flap_window: Duration,
    pub sinks: Vec<String>,
    pub routes: Vec<Route>,
    pub link_base_url: Option<String>,
    /// The custom controls, for a page's title and mappings.
    pub custom: Arc<CustomControls>,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub accounts: Vec<String>,
    pub controls: Vec<String>,
    pub min_severity: Severity,
    pub sinks: Vec<String>,
}

impl AlertPolicy {
    /// `None` when no sink is configured: nothing is decided or queued.
    pub fn from_config(config: &AlertsConfig, custom: &Arc<CustomControls>) -> Option<AlertPolicy> {
        if config.sinks.is_empty() {
            return None;
        }
        let min_severity = config.min_severity.parse().unwrap_or(Severity::High);
        let route = |r: &RouteConfig| Route {
            accounts: r.accounts.clone(),
            controls: r.controls.clone(),
            min_severity: r
                .min_severity
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or(min_severity),
            sinks: r.sinks.clone(),
        };
        Some(AlertPolicy {
            min_severity,
            flap_window: Duration::seconds(
                i64::try_from(config.flap_window_seconds).unwrap_or(i64::MAX / 1000),
            ),
            sinks: config.sinks.keys().cloned().collect(),
            routes: config.routes.iter().map(route).collect(),
            link_base_url: config.link_base_url.clone(),
            custom: custom.clone(),
        })
    }

    /// The sinks a failing finding goes to; empty when it does not page.
    pub fn route(&self, candidate: &AlertCandidate) -> Vec<String> {
        let severity = candidate.severity;
        if self.routes.is_empty() {
            return if severity >= self.min_severity {
                self.sinks.clone()
            } else {
                Vec::new()
            };
        }
        let mut sinks: Vec<String> = Vec::new();
        for route in &self.routes {
            let account_matches = route.accounts.is_empty()
                || route
                    .accounts
                    .iter()
                    .any(|a| *a == candidate.account_id || *a == candidate.account_name);
            let control_matches =
                route.controls.is_empty() || route.controls.contains(&candidate.control_id);
            if account_matches && control_matches && severity >= route.min_severity {
                for sink in &route.sinks {
                    if !sinks.contains(sink) {
                        sinks.push(sink.clone());
                    }
                }
            }
        }
        sinks
    }
}

/// What to do for each candidate at `now`.
pub fn plan(
    candidates: &[AlertCandidate],
    policy: &AlertPolicy,
    now: DateTime<Utc>,
) -> Vec<AlertAction> {
    let mut actions = Vec::new();
    for candidate in candidates {
        let failing = candidate.decided_status == Some(FindingStatus::Fail)
            && !candidate.resource_deleted
            && !candidate.retired
            && !candidate.waived;
        let sinks = if failing {
            policy.route(candidate)
        } else {
            Vec::new()
        };
        let needs_page = !sinks.is_empty();
        match (&candidate.incident, needs_page) {
            (None, true) => actions.push(AlertAction::Trigger {
                finding_id: candidate.finding_id,
                dedup_key: dedup_key(candidate),
                sinks,
                alert: alert_body(candidate, policy, IncidentAction::Trigger, now),
            }),
            (Some(open), true) if open.clear_since.is_some() => {
                actions.push(AlertAction::StopClearing {
                    finding_id: candidate.finding_id,
                })
            }
            (Some(open), false) => match open.clear_since {
                None if !policy.flap_window.is_zero() => actions.push(AlertAction::StartClearing {
                    finding_id: candidate.finding_id,
                }),
                Some(since) if now - since < policy.flap_window => {}
                _ => actions.push(AlertAction::Resolve {
                    finding_id: candidate.finding_id,
                    dedup_key: open.dedup_key.clone(),
                    sinks: open.sinks.clone(),
                    alert: alert_body(candidate, policy, IncidentAction::Resolve, now),
                }),
            },
            _ => {}
        }
    }
    actions
}

/// Stable per (account, resource, control), within PagerDuty's 255
/// characters: readable when it fits, hashed when the ARN is too long.
pub fn dedup_key(candidate: &AlertCandidate) -> String {
    let readable = format!(
        "driftwatch/{}/{}/{}",
        candidate.account_id, candidate.control_id, candidate.arn
    );
    if readable.len() <= 255 {
        return readable;
    }
    let digest = hex::encode(Sha256::digest(readable.as_bytes()));
    format!(
        "driftwatch/{}/{}/sha256:{digest}",
        candidate.account_id, candidate.control_id
    )
}

/// Why an incident closes, in words.
fn resolution_reason(candidate: &AlertCandidate) -> &'static str {
    if candidate.resource_deleted {
        "resource deleted"
    } else if candidate.retired {
        "control no longer applies"
    } else if candidate.waived {
        "waived"
    } else if candidate.decided_status == Some(FindingStatus::Pass) {
        "passes again"
    } else {
        "no longer routed"
    }
}

/// The sink-neutral alert stored in the outbox.
pub fn alert_body(
    candidate: &AlertCandidate,
    policy: &AlertPolicy,
    action: IncidentAction,
    now: DateTime<Utc>,
) -> Value {
    let (title, soc2, pci_dss) = control_facts(&candidate.control_id, &policy.custom);
    let summary = match action {
        IncidentAction::Trigger => format!(
            "{} fails {}: {} ({} in {}/{})",
            candidate.resource_name,
            candidate.control_id,
            title,
            candidate.resource_type,
            candidate.account_name,
            candidate.region
        ),
        IncidentAction::Resolve => format!(
            "{} {} resolved: {}",
            candidate.resource_name,
            candidate.control_id,
            resolution_reason(candidate)
        ),
    };
    let link = policy.link_base_url.as_ref().map(|base| {
        format!(
            "{}/api/findings?arn={}&control={}",
            base.trim_end_matches('/'),
            percent_encode(&candidate.arn),
            percent_encode(&candidate.control_id)
        )
    });
    json!({
        "action": action,
        "summary": summary,
        "control_id": candidate.control_id,
        "control_title": title,
        "severity": candidate.severity,
        "soc2": soc2,
        "pci_dss": pci_dss,
        "resource": {
            "arn": candidate.arn,
            "type": candidate.resource_type,
            "name": candidate.resource_name,
            "account_id": candidate.account_id,
            "account_name": candidate.account_name,
            "region": candidate.region,
        },
        "status": candidate.status,
        "status_since": candidate.status_since,
        "evidence": candidate.evidence,
        "drift": candidate.last_drift,
        // Who made that change, when a CloudTrail event said: the actor,
        // the identity and session, source IP, event name, time and ids.
        "changed_by": candidate.last_drift_actor,
        "link": link,
        "decided_at": now,
    })
}

/// A control's title and its SOC 2 and PCI DSS requirements, built-in or
/// custom; empty for a control no longer in the catalog.
fn control_facts(id: &str, custom: &CustomControls) -> (String, Vec<String>, Vec<String>) {
    use crate::frameworks::{PCI_DSS, SOC2, requirements_of};
    if let Some(c) = evaluate::control(id) {
        let owned = |ids: Vec<&str>| ids.into_iter().map(str::to_string).collect();
        return (
            c.title.to_string(),
            owned(requirements_of(SOC2, c)),
            owned(requirements_of(PCI_DSS, c)),
        );
    }
    match custom.get(id) {
        Some(c) => (
            c.title.clone(),
            c.requirements_of(SOC2).to_vec(),
            c.requirements_of(PCI_DSS).to_vec(),
        ),
        None => (String::new(), Vec::new(), Vec::new()),
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(flap_seconds: i64) -> AlertPolicy {
        AlertPolicy {
            min_severity: Severity::High,
            flap_window: Duration::seconds(flap_seconds),
            sinks: vec!["pd".into()],
            routes: Vec::new(),
            link_base_url: Some("https://dw.example".into()),
            custom: Arc::default(),
        }
    }

    fn candidate(decided: &str) -> AlertCandidate {
        AlertCandidate {
            finding_id: 7,
            arn: "arn:aws:s3:::logs".into(),
            resource_type: "s3.bucket".into(),
            resource_name: "logs".into(),
            account_id: "123456789012".into(),
            account_name: "prod".into(),
            region: "us-east-1".into(),
            control_id: "s3.tls_only".into(),
            severity: Severity::High,
            status: decided.parse().expect("a status"),
            decided_status: Some(decided.parse().expect("a status")),
            resource_deleted: false,
            retired: false,
            waived: false,
            evidence: json!({"policy": null}),
            status_since: Utc::now(),
            last_drift: None,
            last_drift_actor: None,
            incident: None,
        }
    }

    fn open(clear_since: Option<DateTime<Utc>>) -> Option<OpenIncident> {
        Some(OpenIncident {
            dedup_key: "k".into(),
            sinks: vec!["pd".into()],
            clear_since,
        })
    }

    #[test]
    fn a_failure_at_or_above_the_threshold_triggers_once() {
        let now = Utc::now();
        let actions = plan(&[candidate("fail")], &policy(60), now);
        assert!(
            matches!(&actions[..], [AlertAction::Trigger { sinks, dedup_key, .. }]
            if sinks == &["pd"] && dedup_key == "driftwatch/123456789012/s3.tls_only/arn:aws:s3:::logs")
        );
        let mut already = candidate("fail");
        already.incident = open(None);
        assert!(plan(&[already], &policy(60), now).is_empty());
    }

    #[test]
    fn below_the_threshold_or_passing_does_not_page() {
        let mut low = candidate("fail");
        low.severity = Severity::Medium;
        assert!(plan(&[low, candidate("pass")], &policy(60), Utc::now()).is_empty());
    }

    #[test]
    fn unknown_after_a_failure_keeps_the_incident_open() {
        let mut unknown = candidate("fail");
        unknown.status = FindingStatus::Unknown;
        unknown.incident = open(None);
        assert!(plan(&[unknown], &policy(60), Utc::now()).is_empty());
    }

    #[test]
    fn a_resolve_waits_out_the_flap_window() {
        let now = Utc::now();
        let mut fixed = candidate("pass");
        fixed.incident = open(None);
        assert_eq!(
            plan(std::slice::from_ref(&fixed), &policy(60), now),
            vec![AlertAction::StartClearing { finding_id: 7 }]
        );
        fixed.incident = open(Some(now - Duration::seconds(30)));
        assert!(plan(std::slice::from_ref(&fixed), &policy(60), now).is_empty());
        fixed.incident = open(Some(now - Duration::seconds(61)));
        let actions = plan(std::slice::from_ref(&fixed), &policy(60), now);
        assert!(
            matches!(&actions[..], [AlertAction::Resolve { dedup_key, alert, .. }]
            if dedup_key == "k" && alert["summary"].as_str().unwrap_or("").contains("passes again"))
        );
    }

    #[test]
    fn failing_again_inside_the_window_does_not_page_twice() {
        let now = Utc::now();
        let mut flapped = candidate("fail");
        flapped.incident = open(Some(now - Duration::seconds(10)));
        assert_eq!(
            plan(&[flapped], &policy(60), now),
            vec![AlertAction::StopClearing { finding_id: 7 }]
        );
    }

    #[test]
    fn without_a_window_the_resolve_is_immediate() {
        let mut fixed = candidate("pass");
        fixed.incident = open(None);
        assert!(matches!(
            &plan(&[fixed], &policy(0), Utc::now())[..],
            [AlertAction::Resolve { .. }]
        ));
    }

    #[test]
    fn deletion_and_waivers_resolve_and_say_why() {
        let mut deleted = candidate("fail");
        deleted.resource_deleted = true;
        deleted.incident = open(None);
        let mut waived = candidate("fail");
        waived.waived = true;
        waived.incident = open(None);
        let actions = plan(&[deleted, waived], &policy(0), Utc::now());
        let summaries: Vec<&str> = actions
            .iter()
            .filter_map(|a| match a {
                AlertAction::Resolve { alert, .. } => alert["summary"].as_str(),
                _ => None,
            })
            .collect();
        assert_eq!(summaries.len(), 2);
        assert!(summaries[0].ends_with("resource deleted"));
        assert!(summaries[1].ends_with("waived"));
    }

    #[test]
    fn routes_select_sinks_by_account_control_and_severity() {
        let mut policy = policy(0);
        policy.sinks = vec!["pd-db".into(), "pd-sec".into(), "slack".into()];
        policy.routes = vec![
            Route {
                accounts: vec![],
                controls: vec!["rds.not_public".into()],
                min_severity: Severity::Critical,
                sinks: vec!["pd-db".into()],
            },
            Route {
                accounts: vec!["prod".into()],
                controls: vec![],
                min_severity: Severity::Low,
                sinks: vec!["slack".into(), "pd-sec".into()],
            },
        ];
        let mut db = candidate("fail");
        db.control_id = "rds.not_public".into();
        db.severity = Severity::Critical;
        db.account_name = "staging".into();
        assert_eq!(policy.route(&db), vec!["pd-db"]);
        db.account_name = "prod".into();
        assert_eq!(policy.route(&db), vec!["pd-db", "slack", "pd-sec"]);
        let mut low = candidate("fail");
        low.severity = Severity::Low;
        assert_eq!(policy.route(&low), vec!["slack", "pd-sec"]);
        low.account_name = "dev".into();
        low.account_id = "999999999999".into();
        assert!(policy.route(&low).is_empty());
    }

    #[test]
    fn long_arns_get_a_hashed_key_within_255_characters() {
        let mut long = candidate("fail");
        long.arn = format!(
            "arn:aws:logs:us-east-1:123456789012:log-group:{}",
            "x".repeat(400)
        );
        let key = dedup_key(&long);
        assert!(key.len() <= 255);
        assert_eq!(key, dedup_key(&long));
        assert!(key.starts_with("driftwatch/123456789012/s3.tls_only/sha256:"));
    }

    #[test]
    fn the_link_escapes_the_arn() {
        let body = alert_body(
            &candidate("fail"),
            &policy(0),
            IncidentAction::Trigger,
            Utc::now(),
        );
        assert_eq!(
            body["link"],
            "https://dw.example/api/findings?arn=arn%3Aaws%3As3%3A%3A%3Alogs&control=s3.tls_only"
        );
    }
}
