//! Drift: what changed in a resource between its last successfully
//! collected snapshot and this one.
//!
//! Pure functions over documents; the store supplies the previous documents
//! and persists the events.

use crate::model::Document;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    Created,
    Modified,
    Deleted,
}

impl DriftKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::Created => "created",
            DriftKind::Modified => "modified",
            DriftKind::Deleted => "deleted",
        }
    }
}

impl std::str::FromStr for DriftKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "created" => Ok(DriftKind::Created),
            "modified" => Ok(DriftKind::Modified),
            "deleted" => Ok(DriftKind::Deleted),
            other => Err(format!("unknown drift kind {other:?}")),
        }
    }
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One changed value. `old`/`new` are `None` when the path did not exist on
/// that side (a key added or removed, a list grown or shrunk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftEvent {
    pub arn: String,
    pub kind: DriftKind,
    pub changes: Vec<FieldChange>,
}

/// Every leaf-most difference between two documents, with paths such as
/// `policy.Statement[0].Condition`.
///
/// Where one side is an object or list and the other is not (a policy
/// removed: object → null), the change is reported at that path as a whole
/// rather than as one removal per nested field, which is what a person
/// reading "bucket X lost its policy" wants to see.
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    diff_at(&mut String::new(), Some(old), Some(new), &mut changes);
    changes
}

fn diff_at(
    path: &mut String,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<FieldChange>,
) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let len = path.len();
                push_key(path, key);
                diff_at(path, a.get(key), b.get(key), out);
                path.truncate(len);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                diff_at(path, a.get(i), b.get(i), out);
                path.truncate(len);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange {
            path: if path.is_empty() {
                "$".to_string()
            } else {
                path.clone()
            },
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

/// Plain keys read as `a.b`; keys that would make the path ambiguous are
/// quoted, `a["x.y"]`.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '/' | '*' | '@'));
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_string()).to_string());
        path.push(']');
    }
}

/// How a scan saw one resource, as drift needs it.
pub enum Observation<'a> {
    /// Described successfully: the document is current state.
    Collected(&'a Document),
    /// Listed, but describing it failed: state unknown, no drift.
    Failed,
}

/// The resources of `observed` that appeared or changed.
///
/// * `previous`: for each of `observed` that was a live resource of the
///   scope, its last successfully collected document (`None` when it was
///   never collected successfully). A scan passes one batch at a time.
/// * `observed`: what this scan saw.
pub fn changes(
    previous: &BTreeMap<String, Option<&Value>>,
    observed: &BTreeMap<String, Observation<'_>>,
) -> Vec<DriftEvent> {
    let mut events = Vec::new();
    for (arn, observation) in observed {
        match (previous.get(arn), observation) {
            // First sighting: the resource exists even if describing it failed.
            (None, _) => events.push(DriftEvent {
                arn: arn.clone(),
                kind: DriftKind::Created,
                changes: Vec::new(),
            }),
            (Some(Some(old)), Observation::Collected(new)) => {
                let changes = diff(old, &new.to_value());
                if !changes.is_empty() {
                    events.push(DriftEvent {
                        arn: arn.clone(),
                        kind: DriftKind::Modified,
                        changes,
                    });
                }
            }
            // Known but never described successfully, or not described now:
            // nothing to compare, and no guessing.
            (Some(None), _) | (Some(Some(_)), Observation::Failed) => {}
        }
    }
    events
}

/// A deletion for each of `gone`: live resources a complete listing no
/// longer has. Only a scan that enumerated the whole scope without error
/// may declare resources deleted; anything else would turn an API failure
/// into a false "deleted".
pub fn deletions<'a>(gone: impl IntoIterator<Item = &'a String>) -> Vec<DriftEvent> {
    gone.into_iter()
        .map(|arn| DriftEvent {
            arn: arn.clone(),
            kind: DriftKind::Deleted,
            changes: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identical_documents_have_no_changes() {
        let doc = json!({"a": [1, {"b": null}], "c": "x"});
        assert!(diff(&doc, &doc).is_empty());
    }

    #[test]
    fn changes_are_path_precise() {
        let old = json!({"policy": {"Statement": [{"Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}});
        let new = json!({"policy": {"Statement": [{"Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}});
        assert_eq!(
            diff(&old, &new),
            vec![FieldChange {
                path: "policy.Statement[0].Condition.Bool.aws:SecureTransport".into(),
                old: Some(json!("false")),
                new: Some(json!("true")),
            }]
        );
    }

    #[test]
    fn a_removed_policy_is_one_change_at_the_policy_path() {
        let old = json!({"name": "b", "policy": {"Statement": [{"Effect": "Deny"}]}});
        let new = json!({"name": "b", "policy": null});
        let changes = diff(&old, &new);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "policy");
        assert_eq!(changes[0].new, Some(Value::Null));
    }

    #[test]
    fn added_and_removed_keys_and_list_items() {
        let old = json!({"tags": ["a"], "gone": 1});
        let new = json!({"tags": ["a", "b"], "added": true});
        assert_eq!(
            diff(&old, &new),
            vec![
                FieldChange {
                    path: "added".into(),
                    old: None,
                    new: Some(json!(true))
                },
                FieldChange {
                    path: "gone".into(),
                    old: Some(json!(1)),
                    new: None
                },
                FieldChange {
                    path: "tags[1]".into(),
                    old: None,
                    new: Some(json!("b"))
                },
            ]
        );
    }

    #[test]
    fn ambiguous_keys_are_quoted() {
        let changes = diff(&json!({"a.b": 1, "": 2}), &json!({"a.b": 3, "": 4}));
        let paths: Vec<_> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec!["[\"\"]", "[\"a.b\"]"]);
    }

    #[test]
    fn scalar_root_change_uses_dollar() {
        assert_eq!(diff(&json!(1), &json!(2))[0].path, "$");
    }

    /// Drift for one scan scope, as a scan composes it from [`changes`] and
    /// [`deletions`].
    ///
    /// * `previous`: for every live resource of the scope, its last successfully
    ///   collected document (`None` when it was never collected successfully).
    /// * `observed`: what this scan saw.
    /// * `listing_complete`: only a scan that enumerated the whole scope without
    ///   error may declare resources deleted; anything else would turn an API
    ///   failure into a false "deleted".
    fn detect(
        previous: &BTreeMap<String, Option<&Value>>,
        observed: &BTreeMap<String, Observation<'_>>,
        listing_complete: bool,
    ) -> Vec<DriftEvent> {
        let mut events = changes(previous, observed);
        if listing_complete {
            events.extend(deletions(
                previous.keys().filter(|arn| !observed.contains_key(*arn)),
            ));
        }
        events
    }

    fn previous<'a>(entries: &'a [(&str, Option<Value>)]) -> BTreeMap<String, Option<&'a Value>> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref()))
            .collect()
    }

    #[test]
    fn created_modified_deleted_in_a_complete_listing() {
        let a_old = json!({"v": 1});
        let a_new = json!({"v": 2});
        let c = json!({"v": 3});
        let entries = [("a", Some(a_old)), ("b", Some(json!({})))];
        let prev = previous(&entries);
        let mut observed = BTreeMap::new();
        let (a_new, c) = (Document::from_value(&a_new), Document::from_value(&c));
        observed.insert("a".to_string(), Observation::Collected(&a_new));
        observed.insert("c".to_string(), Observation::Collected(&c));
        let events = detect(&prev, &observed, true);
        let summary: Vec<_> = events.iter().map(|e| (e.arn.as_str(), e.kind)).collect();
        assert_eq!(
            summary,
            vec![
                ("a", DriftKind::Modified),
                ("c", DriftKind::Created),
                ("b", DriftKind::Deleted)
            ]
        );
    }

    #[test]
    fn an_incomplete_listing_never_deletes() {
        let entries = [("a", Some(json!({}))), ("b", Some(json!({})))];
        let prev = previous(&entries);
        let observed = BTreeMap::new();
        assert!(detect(&prev, &observed, false).is_empty());
    }

    #[test]
    fn a_resource_whose_description_failed_is_neither_modified_nor_deleted() {
        let entries = [("a", Some(json!({"v": 1})))];
        let prev = previous(&entries);
        let mut observed = BTreeMap::new();
        observed.insert("a".to_string(), Observation::Failed);
        assert!(detect(&prev, &observed, true).is_empty());
    }

    #[test]
    fn a_failed_first_sighting_is_created_once() {
        let mut observed = BTreeMap::new();
        observed.insert("a".to_string(), Observation::Failed);
        let events = detect(&BTreeMap::new(), &observed, false);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, DriftKind::Created);
    }

    #[test]
    fn a_live_resource_never_described_is_not_created_twice() {
        let entries = [("a", None)];
        let prev = previous(&entries);
        let doc = Document::from_value(&json!({"v": 1}));
        let mut observed = BTreeMap::new();
        observed.insert("a".to_string(), Observation::Collected(&doc));
        assert!(detect(&prev, &observed, true).is_empty());
    }
}
