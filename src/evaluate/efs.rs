//! EFS controls: file systems encrypted at rest (CIS 2.3.1).

use super::catalog::{Control, Remediation};
use super::{Severity, Verdict};
use crate::model::{EfsFileSystem, ResourceType};
use serde_json::json;

pub(super) const CONTROLS: &[Control] = &[Control {
    id: "efs.encrypted",
    title: "EFS file system encrypted at rest",
    resource_types: &[ResourceType::EfsFileSystem],
    default_severity: Severity::Medium,
    rationale: "Encryption at rest is chosen when an EFS file system is created and cannot be turned on afterwards. An unencrypted file system keeps its files, and every backup of it, readable to whoever reaches the storage, with no key policy to limit or audit who decrypts them (CIS AWS Foundations 2.3.1).",
    remediation: Remediation {
        console: "EFS console > Create file system > Customize: keep Enable encryption of data at rest ticked and choose a KMS key; copy the data across (AWS DataSync, or mount both and copy), move the mount targets' clients over, then delete the unencrypted file system.",
        cli: "aws efs create-file-system --encrypted --kms-key-id <kms-key-arn> --creation-token <token> --region <region> (then copy the data with AWS DataSync and delete the old file system: aws efs delete-file-system --file-system-id <fs-id>)",
        terraform: "aws_efs_file_system: encrypted = true, kms_key_id = <kms_key_arn> (changing it replaces the file system)",
    },
    settings: &[],
    rule: |subject, _| subject.get().and_then(encrypted),
}];

/// Not judged while the file system is being deleted.
fn encrypted(fs: &EfsFileSystem) -> Option<Verdict> {
    if fs.life_cycle_state == "deleting" {
        return None;
    }
    let details = json!({
        "encrypted": fs.encrypted,
        "kms_key_id": fs.kms_key_id,
        "life_cycle_state": fs.life_cycle_state,
    });
    let name = fs.name.as_deref().unwrap_or(&fs.file_system_id);
    Some(if fs.encrypted {
        let key = fs.kms_key_id.as_deref().unwrap_or("the AWS managed key aws/elasticfilesystem");
        Verdict::pass(format!("file system {name} is encrypted at rest with {key}"), details)
    } else {
        Verdict::fail(
            format!("file system {name} is not encrypted at rest (encryption can only be chosen at creation)"),
            details,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{Fail, Pass};
    use crate::evaluate::{RuleSettings, verdicts};

    fn fs(encrypted: bool, state: &str) -> EfsFileSystem {
        EfsFileSystem {
            file_system_id: "fs-1".into(),
            arn: "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1".into(),
            region: "us-east-1".into(),
            name: Some("shared".into()),
            encrypted,
            kms_key_id: encrypted.then(|| "arn:aws:kms:us-east-1:123456789012:key/k".into()),
            life_cycle_state: state.into(),
        }
    }

    fn judged(record: &EfsFileSystem) -> Vec<crate::evaluate::FindingStatus> {
        let document = serde_json::to_value(record).expect("serialises");
        verdicts(ResourceType::EfsFileSystem, &document, &RuleSettings::default())
            .into_iter()
            .filter(|(id, _)| *id == "efs.encrypted")
            .map(|(_, v)| v.status)
            .collect()
    }

    #[test]
    fn encryption_decides_and_a_deleting_file_system_is_not_judged() {
        assert_eq!(judged(&fs(true, "available")), [Pass]);
        assert_eq!(judged(&fs(false, "available")), [Fail]);
        assert_eq!(judged(&fs(false, "creating")), [Fail]);
        assert!(judged(&fs(false, "deleting")).is_empty());
    }
}
