//! EKS controls: API endpoint exposure and control-plane logs.

use super::catalog::{Control, Remediation};
use super::exposure::{Exposure, Policy, Sources, decide};
use super::{Severity, Subject, Verdict};
use crate::model::{EksCluster, ResourceType};
use serde_json::{Value, json};

const REQUIRED_LOG_TYPES: [&str; 3] = ["api", "audit", "authenticator"];

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "eks.endpoint_restricted",
        title: "EKS API endpoint private, or public only to restricted CIDRs",
        resource_types: &[ResourceType::EksCluster],
        default_severity: Severity::High,
        rationale: "A public EKS endpoint open to 0.0.0.0/0 exposes the Kubernetes API server to the whole internet. Leaked kubeconfig tokens or IAM credentials, and API-server vulnerabilities, can then be exploited from anywhere. Turning off the public endpoint, or limiting publicAccessCidrs to known egress ranges, shrinks that attack surface to the VPC and trusted networks.",
        remediation: Remediation {
            console: "EKS console > cluster > Networking tab > Manage endpoint access: choose Private, or Public and private with the public access source allowlist set to your own CIDR blocks instead of 0.0.0.0/0, then Save changes.",
            cli: "aws eks update-cluster-config --name <cluster> --resources-vpc-config endpointPublicAccess=false,endpointPrivateAccess=true",
            terraform: "aws_eks_cluster: vpc_config { endpoint_private_access = true, endpoint_public_access = false } (or endpoint_public_access = true with public_access_cidrs = [\"<cidr>\"])",
        },
        settings: &[],
        rule: |subject, _| on_cluster(subject).map(endpoint_restricted),
    },
    Control {
        id: "eks.control_plane_logs",
        title: "EKS api, audit and authenticator control-plane logs enabled",
        resource_types: &[ResourceType::EksCluster],
        default_severity: Severity::Medium,
        rationale: "The api, audit and authenticator logs are the only record of who called the Kubernetes API, what they changed, and which IAM identity was mapped to which Kubernetes user. EKS turns them off by default. Without them, privilege escalation, secret reads or malicious workloads in the cluster can be neither detected nor investigated.",
        remediation: Remediation {
            console: "EKS console > cluster > Observability tab > Control plane logging > Manage logging: turn on API server, Audit and Authenticator, then Save changes.",
            cli: "aws eks update-cluster-config --name <cluster> --logging '{\"clusterLogging\":[{\"types\":[\"api\",\"audit\",\"authenticator\"],\"enabled\":true}]}'",
            terraform: "aws_eks_cluster: enabled_cluster_log_types = [\"api\", \"audit\", \"authenticator\"]",
        },
        settings: &[],
        rule: |subject, _| on_cluster(subject).map(control_plane_logs),
    },
];

fn on_cluster(subject: &Subject) -> Option<&EksCluster> {
    subject.get()
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
    let mut sources = Sources::default();
    if cluster.public_access_cidrs.is_empty() {
        sources.add_text("0.0.0.0/0");
    }
    cluster
        .public_access_cidrs
        .iter()
        .for_each(|cidr| sources.add_text(cidr));
    let decision = decide(&sources, &Policy::new(&[]));
    let mut details = details;
    if let (Value::Object(target), Value::Object(extra)) = (&mut details, decision.evidence()) {
        target.extend(extra);
    }
    match decision.exposure {
        Exposure::Internet => Verdict::fail(
            format!("public API endpoint {}", decision.reason),
            details,
        ),
        Exposure::Unknown(reason) => Verdict::unknown(
            format!("public API endpoint's reach is unknown: {reason}"),
            details,
        ),
        Exposure::NotInternet => Verdict::pass(
            format!(
                "public API endpoint limited to {} ({})",
                cluster.public_access_cidrs.join(", "),
                decision.reason
            ),
            details,
        ),
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
        let document = serde_json::to_value(c).expect("serialises");
        crate::evaluate::verdicts(ResourceType::EksCluster, &document, &Default::default())
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
        // Halves of the internet are the internet; a /16 is not.
        c.public_access_cidrs = vec!["0.0.0.0/1".into(), "128.0.0.0/1".into()];
        assert_eq!(status(&c)[0].1, Fail);
        c.public_access_cidrs = vec!["52.10.0.0/16".into()];
        assert_eq!(status(&c)[0].1, Pass);
        c.public_access_cidrs = vec!["52.10.0.0/16".into(), "not-a-cidr".into()];
        assert_eq!(status(&c)[0].1, FindingStatus::Unknown);
        c.public_access_cidrs = vec!["203.0.113.0/24".into()];
        c.enabled_log_types = vec!["api".into()];
        let document = serde_json::to_value(&c).expect("serialises");
        let verdicts =
            crate::evaluate::verdicts(ResourceType::EksCluster, &document, &Default::default());
        assert_eq!(
            verdicts[1].1.evidence["message"],
            "control-plane log types not enabled: audit, authenticator"
        );
    }
}
