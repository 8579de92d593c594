//! `driftwatch controls test`: custom controls tested like code. Two kinds
//! of test, both run against the loaded modules:
//!
//! - the modules' own `test_*` rules, as `opa test` runs them: a test
//!   passes when its rule is `true`;
//! - fixtures: `tests/<module name>/<case>.json` beside each control's
//!   module, each `{"expect": "pass" | "fail" | "not_applicable" |
//!   "unknown", "document": {...}}`, optionally with `"message"` (text the
//!   verdict's message must contain), and, for a control that declares
//!   `data`, `"data": {"<type>": {"<arn>": {...}}}` (a declared type left
//!   out is one of which the scope has none). Every document must read as
//!   a stored record of its type, so a fixture cannot test a shape
//!   driftwatch never stores.

use super::{CustomControl, CustomControls, ScopeData, ScopeDocument, ast};
use crate::evaluate::FindingStatus;
use crate::model::{Document, ResourceType};
use regorus::Value as RegoValue;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One test's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    /// `data.pkg.test_x`, or `<control id> <fixture file>`.
    pub name: String,
    pub file: PathBuf,
    /// `None` when it passed; what went wrong otherwise.
    pub failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    expect: Expected,
    document: serde_json::Value,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Expected {
    Pass,
    Fail,
    NotApplicable,
    Unknown,
}

impl CustomControls {
    /// Every `test_*` rule and every control's fixtures, in file order.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let mut outcomes = self.rule_tests();
        for control in &self.controls {
            outcomes.extend(self.fixture_tests(control));
        }
        outcomes
    }

    fn rule_tests(&self) -> Vec<TestOutcome> {
        let ast = match super::syntax_tree(&self.engine) {
            Ok(ast) => ast,
            Err(message) => {
                return vec![TestOutcome {
                    name: "test_ rules".into(),
                    file: PathBuf::new(),
                    failure: Some(format!("cannot list the test rules: {message}")),
                }];
            }
        };
        let mut engine = self.checkout();
        let outcomes = ast::test_rules(&ast)
            .into_iter()
            .map(|(path, file)| {
                engine.set_input(RegoValue::Undefined);
                let failure = match engine.eval_rule(path.clone()) {
                    Ok(value) if value == RegoValue::from(true) => None,
                    Ok(RegoValue::Undefined) => Some("undefined: a condition did not hold".into()),
                    Ok(other) => Some(format!("is {} rather than true", json_text(&other))),
                    Err(e) => Some(super::one_line(&e.to_string())),
                };
                TestOutcome {
                    name: path,
                    file: PathBuf::from(file),
                    failure,
                }
            })
            .collect();
        self.checkin(engine);
        outcomes
    }

    fn fixture_tests(&self, control: &CustomControl) -> Vec<TestOutcome> {
        let Some(dir) = fixture_dir(&control.source) else {
            return Vec::new();
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                return vec![TestOutcome {
                    name: format!("{} fixtures", control.id),
                    failure: Some(format!("cannot read the fixtures: {e}")),
                    file: dir,
                }];
            }
        };
        let mut files = Vec::new();
        let mut unreadable = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) if entry.path().extension().is_some_and(|e| e == "json") => {
                    files.push(entry.path())
                }
                Ok(_) => {}
                Err(e) => unreadable.push(TestOutcome {
                    name: format!("{} fixtures", control.id),
                    failure: Some(format!("cannot read a fixture's entry: {e}")),
                    file: dir.clone(),
                }),
            }
        }
        files.sort();
        files
            .into_iter()
            .map(|file| TestOutcome {
                name: format!("{} {}", control.id, file_name(&file)),
                failure: self.fixture_failure(control, &file).err(),
                file,
            })
            .chain(unreadable)
            .collect()
    }

    fn fixture_failure(&self, control: &CustomControl, file: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
        let fixture: Fixture =
            serde_json::from_str(&text).map_err(|e| format!("not a fixture: {e}"))?;
        let document = Document::from_value(&fixture.document);
        readable_as_one_of(&control.resource_types, &document)?;
        let input = CustomControls::input(document.as_str())?;
        let data = fixture_data(control, &fixture.data)?;
        let verdict = self.run_once(control, &input, &data).0;
        let got = match &verdict {
            None => Expected::NotApplicable,
            Some(v) => match v.status {
                FindingStatus::Pass => Expected::Pass,
                FindingStatus::Fail => Expected::Fail,
                FindingStatus::Unknown => Expected::Unknown,
            },
        };
        let message = verdict
            .as_ref()
            .and_then(|v| v.evidence["message"].as_str())
            .unwrap_or("")
            .to_string();
        if got != fixture.expect {
            return Err(format!(
                "expected {:?}, got {got:?}: {message}",
                fixture.expect
            ));
        }
        match fixture.message {
            Some(expected) if !message.contains(&expected) => Err(format!(
                "the message `{message}` does not contain `{expected}`"
            )),
            _ => Ok(()),
        }
    }
}

/// The fixture's `data`, each document checked against its type.
fn fixture_data(
    control: &CustomControl,
    data: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
) -> Result<ScopeData, String> {
    let mut documents = Vec::new();
    for (name, by_arn) in data {
        let resource_type: ResourceType = name.parse().map_err(|e| format!("data: {e}"))?;
        if !control.data.contains(&resource_type) {
            return Err(format!(
                "data: {} does not declare `{resource_type}` in its sidecar's `data`",
                control.id
            ));
        }
        for (arn, value) in by_arn {
            let document = Document::from_value(value);
            readable_as_one_of(&[resource_type], &document)
                .map_err(|e| format!("data.{name}.{arn}: {e}"))?;
            documents.push((resource_type, arn.as_str(), document));
        }
    }
    let wanted: BTreeSet<ResourceType> = control.data.iter().copied().collect();
    let scope = documents
        .iter()
        .map(|(resource_type, arn, document)| ScopeDocument {
            resource_type: *resource_type,
            arn,
            document: Ok(document.as_str()),
        });
    Ok(ScopeData::of(&wanted, scope, None))
}

/// `tests/<stem>/` beside the module, when it exists.
fn fixture_dir(source: &Path) -> Option<PathBuf> {
    let stem = source.file_stem()?;
    let dir = source.parent()?.join("tests").join(stem);
    dir.is_dir().then_some(dir)
}

fn readable_as_one_of(types: &[ResourceType], document: &Document) -> Result<(), String> {
    let mut errors = Vec::new();
    for resource_type in types {
        match resource_type.read_record(document) {
            Ok(_) => return Ok(()),
            Err(e) => errors.push(format!(
                "not a stored {} record: {e}",
                resource_type.label()
            )),
        }
    }
    Err(errors.join("; "))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn json_text(value: &RegoValue) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "a value".into())
}
