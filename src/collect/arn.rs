//! ARNs as `describe` receives them, checked before any call is made: an
//! ARN of another account, partition or service must not be answered with
//! whatever this account happens to hold under the same name.

use super::{AwsAccount, Collector};
use crate::model::partition_for_region;

/// `arn:partition:service:region:account-id:resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub(crate) fn parse(arn: &'a str) -> Result<Arn<'a>, String> {
        let mut parts = arn.splitn(6, ':');
        let mut next = || parts.next().unwrap_or_default();
        let (prefix, partition, service, region, account, resource) =
            (next(), next(), next(), next(), next(), next());
        if prefix != "arn" || partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(format!(
                "{arn:?} is not an ARN (arn:partition:service:region:account:resource)"
            ));
        }
        Ok(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// `arn` as a resource of `service` in one region of `account`.
    pub(crate) fn regional(
        arn: &'a str,
        service: &str,
        account: &AwsAccount,
    ) -> Result<Arn<'a>, String> {
        let parsed = Arn::parse(arn)?.of_service(arn, service)?;
        if parsed.region.is_empty() {
            return Err(format!("ARN {arn} names no region"));
        }
        if parsed.account != account.account_id {
            return Err(format!(
                "ARN {arn} belongs to account {:?}, not to {} ({})",
                parsed.account, account.account_id, account.name
            ));
        }
        parsed.in_partition(arn, partition_for_region(parsed.region))
    }

    pub(crate) fn of_service(self, arn: &str, service: &str) -> Result<Arn<'a>, String> {
        if self.service == service {
            Ok(self)
        } else {
            Err(format!(
                "ARN {arn} is of service {:?}, not {service}",
                self.service
            ))
        }
    }

    pub(crate) fn in_partition(self, arn: &str, partition: &str) -> Result<Arn<'a>, String> {
        if self.partition == partition {
            Ok(self)
        } else {
            Err(format!(
                "ARN {arn} is in partition {:?}, not {partition}",
                self.partition
            ))
        }
    }
}

/// The error for a well-formed ARN of a resource `collector` does not produce.
pub(crate) fn not_described(arn: &str, collector: &Collector) -> String {
    let types: Vec<&str> = collector
        .resource_types
        .iter()
        .map(|t| t.as_str())
        .collect();
    format!(
        "ARN {arn} is not of a resource the {} collector describes ({})",
        collector.name,
        types.join(", ")
    )
}

/// `resource` split at `/` into exactly `N` non-empty parts, as resource
/// ids of the `kind/id` and `kind/cluster/name` shapes are.
pub(crate) fn resource_parts<const N: usize>(resource: &str) -> Option<[&str; N]> {
    let parts: Vec<&str> = resource.split('/').collect();
    let parts: [&str; N] = parts.try_into().ok()?;
    parts.iter().all(|p| !p.is_empty()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_splits_into_its_six_fields_and_the_resource_keeps_its_colons() {
        let arn = Arn::parse("arn:aws:rds:eu-west-1:123456789012:db:ledger").expect("ARN");
        assert_eq!(
            arn,
            Arn {
                partition: "aws",
                service: "rds",
                region: "eu-west-1",
                account: "123456789012",
                resource: "db:ledger",
            }
        );
        let bucket = Arn::parse("arn:aws:s3:::logs").expect("S3 ARN");
        assert_eq!((bucket.region, bucket.account), ("", ""));
        for bad in [
            "",
            "arn",
            "arn:aws:s3:::",
            "nra:aws:s3:::b",
            "arn::s3:::b",
            "i-0123",
        ] {
            let error = Arn::parse(bad).expect_err(bad);
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn resource_parts_wants_exactly_that_many_non_empty_parts() {
        assert_eq!(resource_parts::<2>("vpc/vpc-1"), Some(["vpc", "vpc-1"]));
        assert_eq!(resource_parts::<2>("vpc/"), None);
        assert_eq!(resource_parts::<2>("vpc/a/b"), None);
        assert_eq!(
            resource_parts::<3>("cluster/prod/nodes"),
            Some(["cluster", "prod", "nodes"])
        );
    }
}
