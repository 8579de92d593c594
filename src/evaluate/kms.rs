//! KMS keys: `kms.key_rotation` (a customer managed symmetric key rotates
//! its material automatically, CIS 3.6) and `kms.not_pending_deletion` (no
//! customer managed key is scheduled for deletion, which would make what
//! it encrypted unreadable for good).

use super::catalog::{Control, Remediation};
use super::{Severity, Verdict};
use crate::model::{KeyRotation, KmsKey, ResourceType};
use serde_json::json;

pub(super) const CONTROLS: &[Control] = &[
    Control {
        id: "kms.key_rotation",
        title: "Customer managed symmetric KMS keys rotate automatically",
        resource_types: &[ResourceType::KmsKey],
        default_severity: Severity::Medium,
        rationale: "Automatic rotation gives a key new cryptographic material on a schedule (yearly by default) while keeping the old material to decrypt what it already protects. It bounds how much data one compromised or exhausted key version protects, which is the cryptoperiod PCI DSS and CIS ask key owners to set. AWS managed keys always rotate; for customer managed keys it is the owner's choice, and off by default.",
        remediation: Remediation {
            console: "KMS console > Customer managed keys > key > Key rotation: check 'Automatically rotate this KMS key every year' (or set a rotation period), then save.",
            cli: "aws kms enable-key-rotation --key-id <key_id> [--rotation-period-in-days 365]",
            terraform: "aws_kms_key: enable_key_rotation = true (rotation_period_in_days = 365)",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(key_rotation),
    },
    Control {
        id: "kms.not_pending_deletion",
        title: "No customer managed KMS key is scheduled for deletion",
        resource_types: &[ResourceType::KmsKey],
        default_severity: Severity::High,
        rationale: "Deleting a KMS key is irreversible: once its waiting period ends, everything encrypted under it (volumes, snapshots, buckets, secrets, backups) can never be decrypted again. A key scheduled for deletion by mistake or by an attacker must be seen, and cancelled, within its 7 to 30 day waiting period.",
        remediation: Remediation {
            console: "KMS console > Customer managed keys > key > Key actions > Cancel key deletion, then enable the key again (Key actions > Enable) if it is still needed.",
            cli: "aws kms cancel-key-deletion --key-id <key_id> && aws kms enable-key --key-id <key_id>",
            terraform: "keep the aws_kms_key resource in the configuration (removing it schedules the deletion); deletion_window_in_days = 30 gives the longest time to notice",
        },
        settings: &[],
        rule: |subject, _| subject.get().and_then(not_pending_deletion),
    },
];

fn key_rotation(key: &KmsKey) -> Option<Verdict> {
    if !key.has_optional_rotation() {
        // AWS managed (always rotated), asymmetric, HMAC, imported or
        // custom key store material (AWS cannot rotate them), or a key
        // being deleted: not the owner's rotation choice.
        return None;
    }
    let evidence = json!({ "key_state": key.state, "rotation": key.rotation });
    Some(match &key.rotation {
        KeyRotation::Enabled { period_days } => Verdict::pass(
            match period_days {
                Some(days) => format!("automatic rotation every {days} days"),
                None => "automatic rotation enabled".to_string(),
            },
            evidence,
        ),
        KeyRotation::Disabled => Verdict::fail("automatic key rotation is off", evidence),
        KeyRotation::Unreadable { reason } => {
            Verdict::unknown(format!("rotation status not readable: {reason}"), evidence)
        }
        KeyRotation::NotApplicable => Verdict::unknown(
            "rotation status was not read for a key whose owner chooses it",
            evidence,
        ),
    })
}

fn not_pending_deletion(key: &KmsKey) -> Option<Verdict> {
    if key.manager == "AWS" {
        return None;
    }
    let evidence = json!({ "key_state": key.state, "deletion_date": key.deletion_date });
    Some(if key.is_pending_deletion() {
        let when = key.deletion_date.as_deref().unwrap_or("a date AWS did not give");
        Verdict::fail(
            format!("key is {} (deleted on {when})", key.state),
            evidence,
        )
    } else {
        Verdict::pass(format!("key is {}", key.state), evidence)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::FindingStatus::{self, Fail, Pass, Unknown};
    use crate::evaluate::{RuleSettings, verdicts};

    fn key() -> KmsKey {
        KmsKey {
            key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
            arn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                .into(),
            region: "eu-west-1".into(),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            state: "Enabled".into(),
            deletion_date: None,
            multi_region: None,
            rotation: KeyRotation::Disabled,
        }
    }

    fn statuses(key: &KmsKey) -> Vec<(&'static str, FindingStatus)> {
        let document = serde_json::to_value(key).expect("a key serialises");
        verdicts(ResourceType::KmsKey, &document, &RuleSettings::default())
            .into_iter()
            .map(|(id, verdict)| (id, verdict.status))
            .collect()
    }

    #[test]
    fn a_customer_symmetric_key_passes_only_with_rotation_on() {
        let mut k = key();
        assert_eq!(statuses(&k), [("kms.key_rotation", Fail), ("kms.not_pending_deletion", Pass)]);
        k.rotation = KeyRotation::Enabled { period_days: Some(90) };
        let verdict = key_rotation(&k).expect("applies");
        assert_eq!(verdict.status, Pass);
        assert_eq!(verdict.evidence["message"], "automatic rotation every 90 days");
        // A disabled key still protects data and can be enabled again.
        k.state = "Disabled".into();
        k.rotation = KeyRotation::Disabled;
        assert_eq!(key_rotation(&k).map(|v| v.status), Some(Fail));
    }

    #[test]
    fn keys_whose_rotation_is_not_the_owners_choice_are_not_judged() {
        for change in [
            |k: &mut KmsKey| k.manager = "AWS".into(),
            |k: &mut KmsKey| k.spec = "RSA_2048".into(),
            |k: &mut KmsKey| k.spec = "HMAC_256".into(),
            |k: &mut KmsKey| k.origin = "EXTERNAL".into(),
            |k: &mut KmsKey| k.origin = "AWS_CLOUDHSM".into(),
            |k: &mut KmsKey| k.origin = "EXTERNAL_KEY_STORE".into(),
            |k: &mut KmsKey| k.state = "PendingDeletion".into(),
        ] {
            let mut k = key();
            change(&mut k);
            k.rotation = KeyRotation::NotApplicable;
            assert!(key_rotation(&k).is_none(), "{k:?}");
        }
    }

    #[test]
    fn a_field_describe_key_left_out_does_not_exempt_a_key() {
        let mut k = key();
        k.spec = String::new();
        k.origin = String::new();
        k.manager = String::new();
        k.usage = String::new();
        assert_eq!(key_rotation(&k).map(|v| v.status), Some(Fail));
    }

    #[test]
    fn an_unreadable_rotation_is_unknown_never_pass() {
        let mut k = key();
        k.rotation = KeyRotation::Unreadable {
            reason: "GetKeyRotationStatus: AccessDeniedException".into(),
        };
        assert_eq!(key_rotation(&k).map(|v| v.status), Some(Unknown));
        k.rotation = KeyRotation::NotApplicable;
        assert_eq!(key_rotation(&k).map(|v| v.status), Some(Unknown));
    }

    #[test]
    fn a_scheduled_deletion_of_a_customer_key_fails() {
        let mut k = key();
        k.state = "PendingDeletion".into();
        k.deletion_date = Some("2026-12-31T00:00:00Z".into());
        let verdict = not_pending_deletion(&k).expect("applies");
        assert_eq!(verdict.status, Fail);
        assert_eq!(
            verdict.evidence["message"],
            "key is PendingDeletion (deleted on 2026-12-31T00:00:00Z)"
        );
        k.state = "PendingReplicaDeletion".into();
        assert_eq!(not_pending_deletion(&k).map(|v| v.status), Some(Fail));
        k.state = "Disabled".into();
        assert_eq!(not_pending_deletion(&k).map(|v| v.status), Some(Pass));
        k.manager = "AWS".into();
        assert!(not_pending_deletion(&k).is_none());
    }
}
