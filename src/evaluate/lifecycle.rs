//! How a finding moves between evaluations: pure decisions the store
//! records. Changes are judged on the *decided* status (the last pass or
//! fail), so an `unknown` in between neither hides nor invents a change.

use super::FindingStatus;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionKind {
    /// First evaluation of this control on this resource.
    New,
    /// Decided pass -> fail.
    Regression,
    /// Decided fail -> pass, or a failing resource deleted.
    Resolution,
    /// Any other change (to or from unknown) that leaves the decided
    /// status as it was.
    Changed,
}

impl TransitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::New => "new",
            TransitionKind::Regression => "regression",
            TransitionKind::Resolution => "resolution",
            TransitionKind::Changed => "changed",
        }
    }
}

impl std::str::FromStr for TransitionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "new" => Ok(TransitionKind::New),
            "regression" => Ok(TransitionKind::Regression),
            "resolution" => Ok(TransitionKind::Resolution),
            "changed" => Ok(TransitionKind::Changed),
            other => Err(format!("unknown transition kind {other:?}")),
        }
    }
}

impl std::fmt::Display for TransitionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a finding's status became: an evaluated status, or its resource
/// deleted (which ends a failure but is no evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NewStatus {
    Pass,
    Fail,
    Unknown,
    Deleted,
}

impl NewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NewStatus::Pass => "pass",
            NewStatus::Fail => "fail",
            NewStatus::Unknown => "unknown",
            NewStatus::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for NewStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "deleted" => Ok(NewStatus::Deleted),
            evaluated => evaluated.parse::<FindingStatus>().map(NewStatus::from),
        }
    }
}

impl std::fmt::Display for NewStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<FindingStatus> for NewStatus {
    fn from(status: FindingStatus) -> NewStatus {
        match status {
            FindingStatus::Pass => NewStatus::Pass,
            FindingStatus::Fail => NewStatus::Fail,
            FindingStatus::Unknown => NewStatus::Unknown,
        }
    }
}

impl PartialEq<&str> for NewStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One change of a finding, as recorded in its history. A first scan of a
/// large estate returns one per finding: the resource's ARN is shared by
/// its findings' transitions and a built-in control's id is not copied.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    #[serde(serialize_with = "serialize_str")]
    pub arn: Arc<str>,
    pub control_id: Cow<'static, str>,
    pub old_status: Option<FindingStatus>,
    pub new_status: NewStatus,
    pub kind: TransitionKind,
}

fn serialize_str<S: serde::Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

/// A finding as it stood before an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub status: FindingStatus,
    /// The last pass or fail; `None` while it has only ever been unknown.
    pub decided: Option<FindingStatus>,
}

/// A new evaluation's effect on a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub standing: Standing,
    /// `None` when nothing a history records changed.
    pub kind: Option<TransitionKind>,
}

/// The finding after `status` is evaluated on top of `before` (`None`: never
/// evaluated before).
pub fn step(before: Option<Standing>, status: FindingStatus) -> Step {
    let old_decided = before.and_then(|b| b.decided);
    let decided = match status {
        FindingStatus::Unknown => old_decided,
        decided => Some(decided),
    };
    use FindingStatus::{Fail, Pass};
    let kind = match (before, old_decided, decided) {
        (None, _, _) => Some(TransitionKind::New),
        (_, Some(Pass), Some(Fail)) => Some(TransitionKind::Regression),
        (_, Some(Fail), Some(Pass)) => Some(TransitionKind::Resolution),
        (Some(b), _, _) if b.status != status => Some(TransitionKind::Changed),
        _ => None,
    };
    Step {
        standing: Standing { status, decided },
        kind,
    }
}

/// A resource's deletion ends what was failing on it: the risk is gone.
/// Anything else has nothing to resolve.
pub fn on_deleted(before: Standing) -> Option<TransitionKind> {
    (before.decided == Some(FindingStatus::Fail)).then_some(TransitionKind::Resolution)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FindingStatus::{Fail, Pass, Unknown};

    fn was(status: FindingStatus, decided: Option<FindingStatus>) -> Option<Standing> {
        Some(Standing { status, decided })
    }

    #[test]
    fn a_first_evaluation_is_new_whatever_it_says() {
        for status in [Pass, Fail, Unknown] {
            let next = step(None, status);
            assert_eq!(next.kind, Some(TransitionKind::New));
            assert_eq!(next.standing.decided, (status != Unknown).then_some(status));
        }
    }

    #[test]
    fn regressions_and_resolutions_are_judged_on_the_decided_status() {
        assert_eq!(
            step(was(Pass, Some(Pass)), Fail).kind,
            Some(TransitionKind::Regression)
        );
        assert_eq!(
            step(was(Fail, Some(Fail)), Pass).kind,
            Some(TransitionKind::Resolution)
        );
        // pass → unknown → fail is still a regression, found at the fail.
        let unknown = step(was(Pass, Some(Pass)), Unknown);
        assert_eq!(unknown.kind, Some(TransitionKind::Changed));
        assert_eq!(unknown.standing.decided, Some(Pass));
        assert_eq!(
            step(Some(unknown.standing), Fail).kind,
            Some(TransitionKind::Regression)
        );
        // fail → unknown → fail invents nothing.
        let unknown = step(was(Fail, Some(Fail)), Unknown);
        assert_eq!(
            step(Some(unknown.standing), Fail).kind,
            Some(TransitionKind::Changed)
        );
    }

    #[test]
    fn an_unchanged_status_records_nothing() {
        for status in [Pass, Fail, Unknown] {
            let decided = (status != Unknown).then_some(status);
            assert_eq!(step(was(status, decided), status).kind, None);
        }
    }

    #[test]
    fn only_a_decided_failure_resolves_on_deletion() {
        assert_eq!(
            on_deleted(Standing {
                status: Unknown,
                decided: Some(Fail)
            }),
            Some(TransitionKind::Resolution)
        );
        assert_eq!(
            on_deleted(Standing {
                status: Pass,
                decided: Some(Pass)
            }),
            None
        );
        assert_eq!(
            on_deleted(Standing {
                status: Unknown,
                decided: None
            }),
            None
        );
    }
}
