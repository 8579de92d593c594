//! EBS and AMI controls: volumes encrypted at rest; no snapshot or image
//! the account owns is open to everyone.

use super::catalog::{Control, Remediation};
use super::{Severity, Verdict};
use crate::model::{EbsSnapshot, EbsVolume, MachineImage, ResourceType, Sharing};
use serde_json::json;

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "ebs.volume_encrypted",
        title: "EBS volume encrypted at rest",
        resource_types: &[ResourceType::EbsVolume],
        default_severity: Severity::Medium,
        rationale: "An unencrypted volume keeps its data, and every snapshot taken of it, in plaintext. Anyone who obtains a copied or shared snapshot can read it, and encryption cannot be added to a volume in place. Encryption by default protects new volumes only: volumes created before it was turned on stay unencrypted until they are replaced.",
        remediation: Remediation {
            console: "EC2 console > Elastic Block Store > Volumes > the volume > Actions > Create snapshot; then Snapshots > the snapshot > Actions > Copy snapshot with Encrypt this snapshot; create a volume from the encrypted copy, stop the instance, detach the old volume and attach the new one at the same device name.",
            cli: "aws ec2 create-snapshot --volume-id <volume-id> && aws ec2 copy-snapshot --source-region <region> --source-snapshot-id <snapshot-id> --encrypted --kms-key-id <kms-key-arn> && aws ec2 create-volume --snapshot-id <encrypted-snapshot-id> --availability-zone <az> --encrypted",
            terraform: "aws_ebs_volume: encrypted = true, kms_key_id = <kms_key_arn> (aws_instance: root_block_device { encrypted = true }, ebs_block_device { encrypted = true }); replacing a volume recreates it",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(volume_encrypted),
    },
    Control {
        id: "ebs.snapshot_not_public",
        title: "EBS snapshot not restorable by everyone",
        resource_types: &[ResourceType::EbsSnapshot],
        default_severity: Severity::Critical,
        rationale: "A public snapshot can be copied by any AWS account in the world and mounted as a volume: databases, keys and customer data on it are then published. Public EBS snapshots are a recurring cause of large data leaks, and unencrypted snapshots are the only kind that can be made public.",
        remediation: Remediation {
            console: "EC2 console > Elastic Block Store > Snapshots > the snapshot > Actions > Snapshot settings > Modify permissions: choose Private (add specific account ids if it must be shared), then Save changes.",
            cli: "aws ec2 modify-snapshot-attribute --snapshot-id <snapshot-id> --attribute createVolumePermission --operation-type remove --group-names all",
            terraform: "do not declare aws_snapshot_create_volume_permission for the `all` group; share with named accounts only (account_id = <account_id>); aws_ebs_snapshot_block_public_access: state = \"block-all-sharing\"",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(snapshot_not_public),
    },
    Control {
        id: "ec2.image_not_public",
        title: "AMI not launchable by everyone",
        resource_types: &[ResourceType::MachineImage],
        default_severity: Severity::High,
        rationale: "A public AMI can be launched by any AWS account. Images built from running servers routinely carry credentials, private keys, internal hostnames and application data, which a public image hands to anyone who searches for it.",
        remediation: Remediation {
            console: "EC2 console > Images > AMIs > the image > Actions > Edit AMI permissions: choose Private (add specific account ids if it must be shared), then Save changes.",
            cli: "aws ec2 modify-image-attribute --image-id <ami-id> --launch-permission \"Remove=[{Group=all}]\"",
            terraform: "do not declare aws_ami_launch_permission with group = \"all\"; share with account_id = <account_id>; aws_ec2_image_block_public_access: state = \"block-new-sharing\"",
        },
        settings: &[],
        rule: |subject, _| subject.get().map(image_not_public),
    },
];

fn volume_encrypted(volume: &EbsVolume) -> Verdict {
    let details = json!({
        "encrypted": volume.encrypted,
        "kms_key_id": volume.kms_key_id,
        "state": volume.state,
        "attached_to": volume.attached_to,
    });
    if volume.encrypted {
        Verdict::pass(
            match &volume.kms_key_id {
                Some(key) => format!("encrypted with KMS key {key}"),
                None => "encrypted".to_string(),
            },
            details,
        )
    } else {
        Verdict::fail("volume is not encrypted", details)
    }
}

fn snapshot_not_public(snapshot: &EbsSnapshot) -> Verdict {
    let details = json!({
        "sharing": snapshot.sharing,
        "encrypted": snapshot.encrypted,
        "volume_id": snapshot.volume_id,
    });
    match &snapshot.sharing {
        Sharing::Public => Verdict::fail(
            "snapshot is public: any AWS account can create a volume from it",
            details,
        ),
        Sharing::Private => Verdict::pass("snapshot is private", details),
        Sharing::Accounts { account_ids } => Verdict::pass(
            format!(
                "snapshot is not public; shared with {}",
                account_ids.join(", ")
            ),
            details,
        ),
        Sharing::Unreadable { error } => Verdict::unknown(
            format!("AWS lists the snapshot as restorable by all, and its permissions could not be confirmed: {error}"),
            details,
        ),
    }
}

fn image_not_public(image: &MachineImage) -> Verdict {
    let details = json!({ "public": image.public, "name": image.name, "state": image.state });
    if image.public {
        Verdict::fail(
            "image is public: any AWS account can launch it",
            details,
        )
    } else {
        Verdict::pass("image is private", details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};

    fn status<T: serde::Serialize>(resource_type: ResourceType, record: &T) -> (FindingStatus, String) {
        let document = serde_json::to_value(record).expect("serialises");
        let found = verdicts(resource_type, &document, &RuleSettings::default());
        assert_eq!(found.len(), 1, "one control per type");
        let (_, verdict) = &found[0];
        let message = verdict.evidence["message"].as_str().unwrap_or_default().to_string();
        (verdict.status, message)
    }

    #[test]
    fn volumes_pass_only_encrypted() {
        let mut volume = EbsVolume {
            volume_id: "vol-1".into(),
            state: "in-use".into(),
            ..EbsVolume::default()
        };
        assert_eq!(status(ResourceType::EbsVolume, &volume).0, Fail);
        volume.encrypted = true;
        volume.kms_key_id = Some("arn:aws:kms:eu-west-1:123456789012:key/k".into());
        let (s, m) = status(ResourceType::EbsVolume, &volume);
        assert_eq!(s, Pass);
        assert!(m.contains("key/k"), "{m}");
    }

    #[test]
    fn snapshots_fail_only_when_public_and_unknown_when_unconfirmed() {
        let mut snapshot = EbsSnapshot {
            snapshot_id: "snap-1".into(),
            ..EbsSnapshot::default()
        };
        assert_eq!(status(ResourceType::EbsSnapshot, &snapshot).0, Pass);
        snapshot.sharing = Sharing::Accounts {
            account_ids: vec!["210987654321".into()],
        };
        let (s, m) = status(ResourceType::EbsSnapshot, &snapshot);
        assert_eq!(s, Pass);
        assert!(m.contains("210987654321"), "{m}");
        snapshot.sharing = Sharing::Public;
        assert_eq!(status(ResourceType::EbsSnapshot, &snapshot).0, Fail);
        snapshot.sharing = Sharing::Unreadable {
            error: "AccessDenied".into(),
        };
        assert_eq!(status(ResourceType::EbsSnapshot, &snapshot).0, Unknown);
    }

    #[test]
    fn images_fail_when_public() {
        let mut image = MachineImage {
            image_id: "ami-1".into(),
            state: "available".into(),
            ..MachineImage::default()
        };
        assert_eq!(status(ResourceType::MachineImage, &image).0, Pass);
        image.public = true;
        assert_eq!(status(ResourceType::MachineImage, &image).0, Fail);
    }
}
