//! EKS controls: API endpoint exposure and control-plane logs.

use super::Verdict;
use super::rds::Cidr;
use crate::model::EksCluster;
use serde_json::{Value, json};

const REQUIRED_LOG_TYPES: [&str; 3] = ["api", "audit", "authenticator"];

pub(super) fn evaluate_cluster(document: &Value) -> Vec<(&'static str, Verdict)> {
    let cluster: EksCluster = match serde_json::from_value(document.clone()) {
        Ok(c) => c,
        Err(e) => {
            let message = format!("stored document is not a readable EKS cluster record: {e}");
            return ["eks.endpoint_restricted", "eks.control_plane_logs"]
                .into_iter()
                .map(|id| (id, Verdict::unknown(message.clone(), json!({}))))
                .collect();
        }
    };
    vec![
        ("eks.endpoint_restricted", endpoint_restricted(&cluster)),
        ("eks.control_plane_logs", control_plane_logs(&cluster)),
    ]
}

fn endpoint_restricted(cluster: &EksCluster) -> Verdict {
    let details = json!({
        "endpoint_public_access": cluster.endpoint_public_access,
        "endpoint_private_access": cluster.endpoint_private_access,
        "public_access_cidrs": cluster.public_access_cidrs,
    });
    if !cluster.endpoint_public_access {
        return if cluster.endpoint_private_access {
            Verdict::pass("private endpoint only", details)
        } else {
            Verdict::fail("neither endpoint is enabled", details)
        };
    }
    // An empty list means EKS's default: 0.0.0.0/0.
    let open: Vec<&String> = cluster
        .public_access_cidrs
        .iter()
        .filter(|c| Cidr::parse(c).is_none_or(|cidr| cidr.is_everything()))
        .collect();
    if cluster.public_access_cidrs.is_empty() || !open.is_empty() {
        Verdict::fail("public API endpoint open to 0.0.0.0/0".to_string(), details)
    } else {
        Verdict::pass(
            format!(
                "public API endpoint limited to {}",
                cluster.public_access_cidrs.join(", ")
            ),
            details,
        )
    }
}

fn control_plane_logs(cluster: &EksCluster) -> Verdict {
    let missing: Vec<&str> = REQUIRED_LOG_TYPES
        .iter()
        .copied()
        .filter(|t| !cluster.enabled_log_types.iter().any(|e| e == t))
        .collect();
    let details = json!({ "enabled_log_types": cluster.enabled_log_types });
    if missing.is_empty() {
        Verdict::pass("api, audit and authenticator logs enabled", details)
    } else {
        Verdict::fail(
            format!(
                "control-plane log types not enabled: {}",
                missing.join(", ")
            ),
            details,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass};

    fn status(c: &EksCluster) -> Vec<(&'static str, FindingStatus)> {
        evaluate_cluster(&serde_json::to_value(c).expect("serialises"))
            .into_iter()
            .map(|(id, v)| (id, v.status))
            .collect()
    }

    #[test]
    fn endpoint_exposure_and_logs() {
        let mut c = EksCluster {
            name: "prod".into(),
            endpoint_private_access: true,
            enabled_log_types: vec!["api".into(), "audit".into(), "authenticator".into()],
            ..EksCluster::default()
        };
        assert_eq!(
            status(&c),
            vec![
                ("eks.endpoint_restricted", Pass),
                ("eks.control_plane_logs", Pass)
            ]
        );
        c.endpoint_public_access = true;
        assert_eq!(
            status(&c)[0].1,
            Fail,
            "public with the default (empty = 0.0.0.0/0)"
        );
        c.public_access_cidrs = vec!["203.0.113.0/24".into()];
        assert_eq!(status(&c)[0].1, Pass);
        c.public_access_cidrs.push("0.0.0.0/0".into());
        assert_eq!(status(&c)[0].1, Fail);
        c.enabled_log_types = vec!["api".into()];
        let verdicts = evaluate_cluster(&serde_json::to_value(&c).expect("serialises"));
        assert_eq!(
            verdicts[1].1.evidence["message"],
            "control-plane log types not enabled: audit, authenticator"
        );
    }
}
