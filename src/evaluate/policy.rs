//! Reading IAM policy documents as IAM evaluates them, across statements,
//! for the questions the controls ask: does an identity policy grant every
//! action on every resource (`full_admin_statements`, CIS 1.15)? Does a
//! bucket policy deny every non-TLS request to the bucket and its objects,
//! for everyone (`tls_only`)? Does it grant access to everyone
//! (`public_statements`)?
//!
//! The shapes IAM accepts are many: a Statement that is one object or a list;
//! Principal `"*"`, `{"AWS": "*"}` or `{"AWS": ["*", ...]}`; Action and
//! Resource as a string or a list, with `*` and `?` wildcards; condition
//! values as strings, booleans, or lists of either. Each is read here as IAM
//! reads it rather than by string comparison, so `s3*` counts as all S3
//! actions and `arn:aws:s3:::bucket*` as both the bucket and its objects.

use serde_json::Value;
use thiserror::Error;

/// The policy could not be read at all: the rule reports `unknown`.
#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    #[error("policy is not valid JSON: {0}")]
    Unparseable(String),
    #[error("policy is not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("policy `Statement` must be an object or a list of objects (found {0})")]
    BadStatement(&'static str),
    /// A field IAM would have refused (so no stored policy has it).
    #[error("policy cannot be read as IAM reads it: {0}")]
    BadField(String),
    /// Readable, but too large to decide exactly within the work bound.
    #[error("policy cannot be decided exactly: {0}")]
    TooComplex(String),
}

/// Parses policy text as S3 returns it.
pub fn parse_policy_text(text: &str) -> Result<Value, PolicyError> {
    serde_json::from_str(text).map_err(|e| PolicyError::Unparseable(e.to_string()))
}

/// The policy as a JSON object: one kept as a string (S3 returned text
/// that is not JSON) is parsed here, so the parse error reaches the
/// finding as evidence.
fn policy_document(policy: &Value) -> Result<std::borrow::Cow<'_, Value>, PolicyError> {
    let document = match policy {
        Value::String(text) => std::borrow::Cow::Owned(parse_policy_text(text)?),
        other => std::borrow::Cow::Borrowed(other),
    };
    if !document.is_object() {
        return Err(PolicyError::NotAnObject(json_kind(&document)));
    }
    Ok(document)
}

/// `Statement` as IAM accepts it, one object or a list; `None` when absent.
fn statement_list(document: &Value) -> Result<Option<Vec<&Value>>, PolicyError> {
    match document.get("Statement") {
        None => Ok(None),
        Some(Value::Array(list)) => Ok(Some(list.iter().collect())),
        Some(single @ Value::Object(_)) => Ok(Some(vec![single])),
        Some(other) => Err(PolicyError::BadStatement(json_kind(other))),
    }
}

/// A statement of a policy, as evidence names it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementRef {
    pub index: usize,
    pub sid: Option<String>,
}

impl StatementRef {
    /// `Statement[i] (sid)`, or `Statement[i]` without a Sid.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("Statement[{}] ({sid})", self.index),
            None => format!("Statement[{}]", self.index),
        }
    }
}

/// The outcome for a readable policy.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsOnly {
    /// These Deny statements together deny all non-TLS access (none of
    /// them superfluous, in policy order).
    Enforced { statements: Vec<StatementRef> },
    /// They do not; `reasons` explains, statement by statement, why, and
    /// names a request left allowed over plain HTTP.
    NotEnforced { reasons: Vec<String> },
}

/// Decides whether `policy` denies every request made without TLS, by
/// anyone, for any S3 action, to `bucket_arn` and to every object under it.
///
/// Decided as IAM evaluates the policy, across statements: a statement
/// *counts* when it is a Deny for everyone whose condition is exactly
/// `aws:SecureTransport` = false (see `why_not_counting`); the counting
/// statements then combine, so one for the bucket and one for its objects,
/// or a `NotAction s3:GetObject` deny beside an `s3:GetObject` deny,
/// together cover every S3 action on the bucket and its objects.
/// `NotAction` and `NotResource` are evaluated (a Deny with `NotResource`
/// of another bucket covers this one).
///
/// A policy kept as a JSON string (S3 returned text that is not JSON) is
/// parsed here, so the parse error reaches the finding as evidence.
pub fn tls_only(policy: &Value, bucket_arn: &str) -> Result<TlsOnly, PolicyError> {
    let document = policy_document(policy)?;
    let Some(statements) = statement_list(&document)? else {
        return Ok(TlsOnly::NotEnforced {
            reasons: vec!["policy has no Statement".to_string()],
        });
    };
    if statements.is_empty() {
        return Ok(TlsOnly::NotEnforced {
            reasons: vec!["policy has no statements".to_string()],
        });
    }

    let mut reasons = Vec::new();
    let mut counting = Vec::new();
    let mut rectangles = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Value::Object(statement) = statement else {
            return Err(PolicyError::BadStatement(json_kind(statement)));
        };
        let reference = StatementRef {
            index,
            sid: statement
                .get("Sid")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        let label = reference.label();
        if let Some(reason) = why_not_counting(statement) {
            reasons.push(format!("{label}: {reason}"));
            continue;
        }
        let rectangle = Rectangle {
            actions: side(statement, &label, ("Action", "NotAction"), true)?,
            resources: side(statement, &label, ("Resource", "NotResource"), false)?,
        };
        if let Some(reason) = what_one_deny_misses(statement, &rectangle, bucket_arn)? {
            reasons.push(format!("{label}: {reason}"));
        }
        counting.push(reference);
        rectangles.push(rectangle);
    }

    let space = Space::new(
        &rectangles,
        &service_actions("s3"),
        &bucket_and_objects(bucket_arn),
    )?;
    match space.cover() {
        Ok(cover) => Ok(TlsOnly::Enforced {
            statements: cover.into_iter().map(|i| counting[i].clone()).collect(),
        }),
        Err(gap) => {
            let by = if counting.is_empty() {
                "no statement denies plain-HTTP requests for everyone".to_string()
            } else {
                format!(
                    "the plain-HTTP denies ({}) together",
                    counting
                        .iter()
                        .map(StatementRef::label)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            reasons.push(format!(
                "{by} leave e.g. {} on {} allowed without TLS",
                gap.action, gap.resource
            ));
            Ok(TlsOnly::NotEnforced { reasons })
        }
    }
}

/// Why a statement, whatever its actions and resources, does not deny
/// plain-HTTP requests for everyone; `None` when it does.
fn why_not_counting(statement: &serde_json::Map<String, Value>) -> Option<String> {
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Deny") => {}
        Some(effect) => return Some(format!("Effect is {effect}, not Deny")),
        None => return Some("has no Effect".to_string()),
    }
    // NotPrincipal means "everyone except those", so a Deny with it spares
    // someone.
    if statement.contains_key("NotPrincipal") {
        return Some("uses NotPrincipal, so it does not apply to everyone".to_string());
    }
    match statement.get("Principal") {
        Some(principal) if principal_is_everyone(principal) => {}
        Some(_) => return Some("Principal does not cover everyone (\"*\")".to_string()),
        None => return Some("has no Principal".to_string()),
    }
    condition_denies_exactly_insecure_transport(statement.get("Condition"))
}

/// For a counting statement that does not, alone, cover every S3 action on
/// the bucket and on its objects: which part it misses (another statement
/// may supply it).
fn what_one_deny_misses(
    statement: &serde_json::Map<String, Value>,
    rectangle: &Rectangle,
    bucket_arn: &str,
) -> Result<Option<String>, PolicyError> {
    let everything = Side {
        negated: true,
        patterns: Vec::new(),
    };
    let s3 = service_actions("s3");
    let alone = |actions: &Side, resources: &Side, universe: &[coverage::Pattern]| {
        let rectangle = Rectangle {
            actions: actions.clone(),
            resources: resources.clone(),
        };
        Space::new(&[rectangle], &s3, universe).map(|space| space.cover().is_ok())
    };
    let all_actions = alone(
        &rectangle.actions,
        &everything,
        &bucket_and_objects(bucket_arn),
    )?;
    let bucket = alone(
        &everything,
        &rectangle.resources,
        &bucket_and_objects(bucket_arn)[..1],
    )?;
    let objects = alone(
        &everything,
        &rectangle.resources,
        &bucket_and_objects(bucket_arn)[1..],
    )?;
    let actions = field_text(statement, "Action", "NotAction");
    let resources = field_text(statement, "Resource", "NotResource");
    let missing_resources = match (bucket, objects) {
        (true, true) => None,
        (false, true) => Some(format!(
            "{resources} covers the objects ({bucket_arn}/*) but not the bucket itself ({bucket_arn})"
        )),
        (true, false) => Some(format!(
            "{resources} covers the bucket ({bucket_arn}) but not all its objects ({bucket_arn}/*)"
        )),
        (false, false) => Some(format!(
            "{resources} covers neither {bucket_arn} nor all of {bucket_arn}/*"
        )),
    };
    let missing_actions =
        (!all_actions).then(|| format!("{actions} does not cover all S3 actions (s3:*)"));
    Ok(match (missing_actions, missing_resources) {
        (None, None) => None,
        (Some(a), None) => Some(a),
        (None, Some(r)) => Some(r),
        (Some(a), Some(r)) => Some(format!("{a}; {r}")),
    })
}

/// `Action [..]` or `NotAction [..]`, for evidence.
fn field_text(
    statement: &serde_json::Map<String, Value>,
    positive: &str,
    negative: &str,
) -> String {
    let (name, value) = match statement.get(positive) {
        Some(value) => (positive, Some(value)),
        None => (negative, statement.get(negative)),
    };
    format!("{name} {}", describe(&strings(value)))
}

/// The condition block must hold `Bool`/`BoolIfExists` `aws:SecureTransport`
/// = false and nothing else: any further condition narrows the deny to a
/// subset of insecure requests, which is not TLS-only enforcement.
fn condition_denies_exactly_insecure_transport(condition: Option<&Value>) -> Option<String> {
    let Some(Value::Object(operators)) = condition else {
        return Some("has no aws:SecureTransport = false condition".to_string());
    };
    let mut secure_transport_false = false;
    let mut other_conditions = Vec::new();
    for (operator, keys) in operators {
        let Value::Object(keys) = keys else {
            other_conditions.push(operator.clone());
            continue;
        };
        for (key, value) in keys {
            let is_transport_key = key.eq_ignore_ascii_case("aws:SecureTransport");
            let is_bool_operator = operator == "Bool" || operator == "BoolIfExists";
            if is_transport_key && is_bool_operator {
                if holds_false(value) {
                    secure_transport_false = true;
                } else {
                    return Some(format!(
                        "{operator} aws:SecureTransport is {value}, which does not deny plain-HTTP requests"
                    ));
                }
            } else {
                other_conditions.push(format!("{operator} {key}"));
            }
        }
    }
    if !secure_transport_false {
        let found = if other_conditions.is_empty() {
            "no conditions".to_string()
        } else {
            other_conditions.join(", ")
        };
        return Some(format!(
            "condition is not Bool aws:SecureTransport = false (found {found})"
        ));
    }
    if !other_conditions.is_empty() {
        return Some(format!(
            "aws:SecureTransport = false is narrowed by further conditions ({}), so not every plain-HTTP request is denied",
            other_conditions.join(", ")
        ));
    }
    None
}

/// Condition keys whose fixed values pin a request to known callers or
/// networks, as S3 Block Public Access judges a policy non-public.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:userid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// The statements of a bucket policy that grant access to everyone: an
/// `Allow` for `*` (or `NotPrincipal`, everyone but a few) not pinned by a
/// condition to fixed callers or networks. Each is described for evidence.
pub fn public_statements(policy: &Value) -> Result<Vec<String>, PolicyError> {
    let document = policy_document(policy)?;
    let statements = statement_list(&document)?.unwrap_or_default();
    let mut public = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Value::Object(statement) = statement else {
            return Err(PolicyError::BadStatement(json_kind(statement)));
        };
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let everyone = statement.contains_key("NotPrincipal")
            || statement
                .get("Principal")
                .is_some_and(principal_is_everyone);
        if everyone && !pinned_by_condition(statement.get("Condition")) {
            let label = match statement.get("Sid").and_then(Value::as_str) {
                Some(sid) => format!("Statement[{index}] ({sid})"),
                None => format!("Statement[{index}]"),
            };
            public.push(format!("{label} allows everyone"));
        }
    }
    Ok(public)
}

/// Whether some positive condition compares a restricting key with fixed
/// values (no wildcard, no "everything" range).
fn pinned_by_condition(condition: Option<&Value>) -> bool {
    let Some(Value::Object(operators)) = condition else {
        return false;
    };
    operators.iter().any(|(operator, keys)| {
        let operator = operator.to_ascii_lowercase();
        let operator = operator
            .trim_start_matches("foranyvalue:")
            .trim_start_matches("forallvalues:");
        let positive =
            !operator.contains("not") && !operator.contains("like") && operator != "null";
        let Value::Object(keys) = keys else {
            return false;
        };
        positive
            && keys.iter().any(|(key, values)| {
                let values = strings(Some(values));
                RESTRICTING_KEYS.contains(&key.to_ascii_lowercase().as_str())
                    && !values.is_empty()
                    && values
                        .iter()
                        .all(|v| !v.contains('*') && !v.contains('?') && !v.ends_with("/0"))
            })
    })
}

fn principal_is_everyone(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(map) => map
            .get("AWS")
            .is_some_and(|aws| strings(Some(aws)).contains(&"*")),
        _ => false,
    }
}

/// `"false"` (any case), `false`, or a list holding either.
fn holds_false(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::String(s) => s.eq_ignore_ascii_case("false"),
        Value::Array(items) => items.iter().any(holds_false),
        _ => false,
    }
}

/// A string or a list of strings; anything else yields nothing (and so
/// matches nothing), which is the conservative reading.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn describe(values: &[&str]) -> String {
    if values.is_empty() {
        "(none)".to_string()
    } else {
        format!("[{}]", values.join(", "))
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One side of a statement (its actions or its resources): the patterns it
/// names, and whether they are excluded (`NotAction`, `NotResource`) rather
/// than included.
#[derive(Debug, Clone)]
struct Side {
    negated: bool,
    patterns: Vec<coverage::Pattern>,
}

impl Side {
    fn covers(&self, matched: impl Iterator<Item = bool>) -> bool {
        let any = matched.into_iter().any(|m| m);
        any != self.negated
    }
}

/// A statement as the set of (action, resource) pairs it applies to.
#[derive(Debug, Clone)]
struct Rectangle {
    actions: Side,
    resources: Side,
}

/// The requests of a space (action universe times resource universe),
/// split into the classes the statements tell apart, each class knowing
/// which statements cover it.
struct Space {
    /// For each action class: which statements' actions include it, and an
    /// example action.
    actions: Vec<(Vec<bool>, String)>,
    resources: Vec<(Vec<bool>, String)>,
    statements: usize,
}

/// An (action, resource) request no chosen statement covers.
#[derive(Debug, Clone, PartialEq)]
struct Gap {
    action: String,
    resource: String,
}

impl Space {
    fn new(
        rectangles: &[Rectangle],
        action_universe: &[coverage::Pattern],
        resource_universe: &[coverage::Pattern],
    ) -> Result<Space, PolicyError> {
        let actions = Self::side_classes(rectangles, |r| &r.actions, action_universe)?;
        let resources = Self::side_classes(rectangles, |r| &r.resources, resource_universe)?;
        Ok(Space {
            actions,
            resources,
            statements: rectangles.len(),
        })
    }

    fn side_classes(
        rectangles: &[Rectangle],
        side: impl Fn(&Rectangle) -> &Side,
        universe: &[coverage::Pattern],
    ) -> Result<Vec<(Vec<bool>, String)>, PolicyError> {
        let patterns: Vec<coverage::Pattern> = rectangles
            .iter()
            .flat_map(|r| side(r).patterns.iter().cloned())
            .collect();
        let classes = coverage::classes(universe, &patterns).map_err(PolicyError::TooComplex)?;
        let mut by_statement: Vec<(Vec<bool>, String)> = Vec::new();
        for (matched, example) in classes {
            let mut offset = 0;
            let covered: Vec<bool> = rectangles
                .iter()
                .map(|r| {
                    let side = side(r);
                    let range = offset..offset + side.patterns.len();
                    offset = range.end;
                    side.covers(matched[range].iter().copied())
                })
                .collect();
            if !by_statement.iter().any(|(c, _)| *c == covered) {
                by_statement.push((covered, example));
            }
        }
        Ok(by_statement)
    }

    /// A request that none of the `chosen` statements covers, if any.
    fn gap(&self, chosen: &[bool]) -> Option<Gap> {
        for (action_covers, action) in &self.actions {
            for (resource_covers, resource) in &self.resources {
                let covered = (0..self.statements)
                    .any(|i| chosen[i] && action_covers[i] && resource_covers[i]);
                if !covered {
                    return Some(Gap {
                        action: action.clone(),
                        resource: resource.clone(),
                    });
                }
            }
        }
        None
    }

    /// Statements that together cover the whole space, none of them
    /// superfluous (earlier statements are kept in preference), or the
    /// request left uncovered by all of them.
    fn cover(&self) -> Result<Vec<usize>, Gap> {
        let mut chosen = vec![true; self.statements];
        if let Some(gap) = self.gap(&chosen) {
            return Err(gap);
        }
        let work = self.actions.len() * self.resources.len() * self.statements * self.statements;
        if work <= MINIMISE_BUDGET {
            for i in (0..self.statements).rev() {
                chosen[i] = false;
                if self.gap(&chosen).is_some() {
                    chosen[i] = true;
                }
            }
        } else {
            // Too large to minimise: name every statement that covers part
            // of the space.
            for (i, keep) in chosen.iter_mut().enumerate() {
                *keep = self.actions.iter().any(|(a, _)| a[i])
                    && self.resources.iter().any(|(r, _)| r[i]);
            }
        }
        Ok((0..self.statements).filter(|&i| chosen[i]).collect())
    }
}

/// Class pairs times statements squared examined when naming a minimal set.
const MINIMISE_BUDGET: usize = 20_000_000;

/// Every action string IAM could evaluate: `service:Action`, neither part
/// empty nor holding a `:`. Lower-cased, as actions are matched.
fn any_action() -> Vec<coverage::Pattern> {
    use coverage::Atom::{Lit, Many, One};
    vec![coverage::Pattern(vec![
        One(Some(':')),
        Many(Some(':')),
        Lit(':'),
        One(Some(':')),
        Many(Some(':')),
    ])]
}

/// Every action of one service (`s3`): `s3:` and a non-empty name.
fn service_actions(service: &str) -> Vec<coverage::Pattern> {
    use coverage::Atom::{Many, One};
    vec![coverage::Pattern::literal_then(
        &format!("{service}:"),
        true,
        &[One(Some(':')), Many(Some(':'))],
    )]
}

/// The bucket itself and every object in it (keys are never empty).
fn bucket_and_objects(bucket_arn: &str) -> Vec<coverage::Pattern> {
    use coverage::Atom::{Many, One};
    vec![
        coverage::Pattern::literal_then(bucket_arn, false, &[]),
        coverage::Pattern::literal_then(&format!("{bucket_arn}/"), false, &[One(None), Many(None)]),
    ]
}

/// Every resource an IAM request names: an ARN, or `*` for the actions
/// that support no resource-level permissions (which only `"Resource":
/// "*"` matches, so `arn:*` is not all resources).
fn any_resource() -> Vec<coverage::Pattern> {
    use coverage::Atom::Many;
    vec![
        coverage::Pattern::literal_then("*", false, &[]),
        coverage::Pattern::literal_then("arn:", false, &[Many(None)]),
    ]
}

/// `Action`/`NotAction` (or `Resource`/`NotResource`) of a statement as IAM
/// reads it: a string or a list of strings. Anything else, or both keys at
/// once, IAM would have refused; it is an error here rather than a guess.
fn side(
    statement: &serde_json::Map<String, Value>,
    label: &str,
    (positive, negative): (&str, &str),
    fold_case: bool,
) -> Result<Side, PolicyError> {
    let (negated, value) = match (statement.get(positive), statement.get(negative)) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::BadField(format!(
                "{label} has both {positive} and {negative}"
            )));
        }
        (Some(value), None) => (false, Some(value)),
        (None, Some(value)) => (true, Some(value)),
        (None, None) => (false, None),
    };
    let texts: Vec<&str> = match value {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| {
                    PolicyError::BadField(format!(
                        "{label} {} holds {}, not a string",
                        if negated { negative } else { positive },
                        json_kind(item)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(PolicyError::BadField(format!(
                "{label} {} is {}, not a string or a list",
                if negated { negative } else { positive },
                json_kind(other)
            )));
        }
    };
    Ok(Side {
        negated,
        patterns: texts
            .into_iter()
            .map(|t| coverage::Pattern::wildcard(t, fold_case))
            .collect(),
    })
}

fn statement_label(index: usize, statement: &serde_json::Map<String, Value>) -> String {
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) => format!("Statement[{index}] ({sid})"),
        None => format!("Statement[{index}]"),
    }
}

/// The labels (`Statement[i] (sid)`) of the Allow statements that together
/// allow every action on every resource — the "`*:*`" administrative
/// privileges of CIS AWS Foundations v5.0 1.15; empty when the policy does
/// not grant them. `policy` is a parsed document or its JSON text.
///
/// Read as IAM reads it: Action/NotAction, Resource/NotResource, `*` and
/// `?` wildcards (actions case-insensitive, resources not), Statement and
/// values as one item or a list, and statements combined: `Allow NotAction
/// iam:*` plus `Allow iam:*`, both on `*`, is full admin, either alone is
/// not. Resource `*` is needed for the actions without resource-level
/// permissions, so `arn:*` or `NotResource` of anything falls short.
///
/// Which way each reading errs, since a policy wrongly called "not admin"
/// is the harmful answer:
/// - A `Condition` on an Allow does not stop it counting: the statement
///   still grants `*:*` to whoever meets it (MFA present, a source IP…),
///   and that is the privilege CIS 1.15 forbids. CIS's audit procedure,
///   AWS Config's `iam-policy-no-statements-with-admin-access` and
///   Prowler's `check_admin_access` all ignore conditions too. (Errs
///   towards "admin".)
/// - Deny statements are not subtracted: CIS, AWS Config and Security Hub
///   IAM.1 judge the Allow grant itself, and a Deny elsewhere may be
///   conditional or removed later. (Errs towards "admin".)
/// - Action names are an open set: `NotAction ["iam:*"]` leaves a gap
///   even though a policy could, in principle, list every IAM action one by
///   one; a policy doing so is called "not admin". AWS adds actions, so
///   such a list does not grant tomorrow's. (The one reading that errs
///   towards "not admin".)
/// - Malformed fields (a number in Action, Action and NotAction together),
///   which IAM refuses, and policies too large to compare exactly are
///   errors, so the caller reports `unknown`, never a guess.
pub fn full_admin_statements(policy: &Value) -> Result<Vec<String>, PolicyError> {
    let document = policy_document(policy)?;
    let statements = statement_list(&document)?.unwrap_or_default();
    let mut labels = Vec::new();
    let mut rectangles = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Value::Object(statement) = statement else {
            return Err(PolicyError::BadStatement(json_kind(statement)));
        };
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let label = statement_label(index, statement);
        rectangles.push(Rectangle {
            actions: side(statement, &label, ("Action", "NotAction"), true)?,
            resources: side(statement, &label, ("Resource", "NotResource"), false)?,
        });
        labels.push(label);
    }
    let space = Space::new(&rectangles, &any_action(), &any_resource())?;
    Ok(match space.cover() {
        Ok(cover) => cover.into_iter().map(|i| labels[i].clone()).collect(),
        Err(_) => Vec::new(),
    })
}

/// Deciding whether a union of IAM "rectangles" (a statement's action set
/// times its resource set) covers a whole space of requests.
///
/// IAM matches `*` and `?` wildcards against strings over an unbounded
/// alphabet, but a finite set of patterns only ever tells apart the
/// characters it names literally: every other character behaves the same
/// in all of them. So the strings are explored over that finite alphabet
/// plus one symbol standing for "any other character", by walking the
/// product of all the patterns' automata. Each reachable state that the
/// space (the *universe*, e.g. "every `service:Action` string") accepts is
/// a class of requests that every pattern treats alike; the union covers
/// the space exactly when every pair of an action class and a resource
/// class is matched by some chosen statement. This is exact, not a
/// heuristic; only its size is bounded (`WORK_BUDGET`), and a policy beyond
/// it is reported as undecidable rather than guessed.
mod coverage {
    use std::collections::{HashMap, HashSet, VecDeque};

    /// One element of a pattern: a literal character, one character, or any
    /// run of characters, the latter two optionally excluding one character
    /// (the universes use that to say "a service name has no `:`").
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Atom {
        Lit(char),
        One(Option<char>),
        Many(Option<char>),
    }

    impl Atom {
        fn admits(self, symbol: Symbol) -> bool {
            let excluded = match self {
                Atom::Lit(c) => return symbol == Symbol::Char(c),
                Atom::One(excluded) | Atom::Many(excluded) => excluded,
            };
            match (symbol, excluded) {
                (Symbol::Char(c), Some(x)) => c != x,
                _ => true,
            }
        }
    }

    /// A sequence of atoms; an IAM wildcard string is one (`*` is
    /// `Many(None)`, `?` is `One(None)`).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Pattern(pub(super) Vec<Atom>);

    impl Pattern {
        /// An IAM wildcard pattern; `fold_case` for action names.
        pub(super) fn wildcard(text: &str, fold_case: bool) -> Pattern {
            Pattern(
                fold(text, fold_case)
                    .map(|c| match c {
                        '*' => Atom::Many(None),
                        '?' => Atom::One(None),
                        c => Atom::Lit(c),
                    })
                    .collect(),
            )
        }

        /// `text` literally, then optionally a tail of atoms.
        pub(super) fn literal_then(text: &str, fold_case: bool, tail: &[Atom]) -> Pattern {
            let mut atoms: Vec<Atom> = fold(text, fold_case).map(Atom::Lit).collect();
            atoms.extend_from_slice(tail);
            Pattern(atoms)
        }

        /// Positions reachable without reading a character from `from`.
        fn close(&self, positions: &mut Vec<usize>) {
            let mut i = 0;
            while i < positions.len() {
                let p = positions[i];
                if matches!(self.0.get(p), Some(Atom::Many(_))) && !positions.contains(&(p + 1)) {
                    positions.push(p + 1);
                }
                i += 1;
            }
            positions.sort_unstable();
            positions.dedup();
        }

        fn start(&self) -> Vec<usize> {
            let mut positions = vec![0];
            self.close(&mut positions);
            positions
        }

        fn step(&self, positions: &[usize], symbol: Symbol) -> Vec<usize> {
            let mut next = Vec::new();
            for &p in positions {
                match self.0.get(p) {
                    Some(atom @ Atom::Many(_)) if atom.admits(symbol) => next.push(p),
                    Some(atom) if atom.admits(symbol) => next.push(p + 1),
                    _ => {}
                }
            }
            self.close(&mut next);
            next
        }

        fn accepts(&self, positions: &[usize]) -> bool {
            positions.contains(&self.0.len())
        }

        fn chars(&self) -> impl Iterator<Item = char> + '_ {
            self.0.iter().filter_map(|atom| match atom {
                Atom::Lit(c) => Some(*c),
                Atom::One(x) | Atom::Many(x) => *x,
            })
        }
    }

    fn fold(text: &str, fold_case: bool) -> Box<dyn Iterator<Item = char> + '_> {
        if fold_case {
            Box::new(text.chars().flat_map(char::to_lowercase))
        } else {
            Box::new(text.chars())
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    enum Symbol {
        Char(char),
        /// Any character no pattern names.
        Other,
    }

    /// The characters that can lead somewhere different from `state`: the
    /// literals and excluded characters at the live positions. Every other
    /// character steps exactly as `Other` does, so it need not be tried.
    fn relevant_symbols(state: &State, all: &[&Pattern]) -> Vec<Symbol> {
        let mut symbols: Vec<Symbol> = state
            .iter()
            .flat_map(|(i, positions)| {
                positions.iter().filter_map(|&p| match all[*i].0.get(p) {
                    Some(Atom::Lit(c)) => Some(*c),
                    Some(Atom::One(x) | Atom::Many(x)) => *x,
                    None => None,
                })
            })
            .map(Symbol::Char)
            .collect();
        symbols.sort_unstable_by_key(|s| match s {
            Symbol::Char(c) => Some(*c),
            Symbol::Other => None,
        });
        symbols.dedup();
        symbols.push(Symbol::Other);
        symbols
    }

    /// Pattern positions stepped over all product states, at most (about a
    /// second). Real policies stay far below it (a 150-statement policy
    /// takes some tens of thousands); one beyond it is reported as
    /// undecidable, never guessed.
    const WORK_BUDGET: usize = 2_000_000;

    /// A product state: for each pattern still able to match (by index,
    /// in order), the positions it may be at. Patterns that can no longer
    /// match are left out, so a step costs only the live ones.
    type State = Vec<(usize, Vec<usize>)>;

    /// The classes of strings of `universe` that `patterns` tell apart:
    /// for each, which patterns match it, and one example string.
    pub(super) fn classes(
        universe: &[Pattern],
        patterns: &[Pattern],
    ) -> Result<Vec<(Vec<bool>, String)>, String> {
        let literal_chars: std::collections::BTreeSet<char> = universe
            .iter()
            .chain(patterns)
            .flat_map(Pattern::chars)
            .collect();
        let other = ['x', 'q', 'z', '0', '_', '~']
            .into_iter()
            .find(|c| !literal_chars.contains(c))
            .unwrap_or('\u{2022}');

        let all: Vec<&Pattern> = universe.iter().chain(patterns).collect();
        let start: State = all
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.start()))
            .collect();
        let mut seen: HashSet<State> = HashSet::from([start.clone()]);
        let mut queue = VecDeque::from([(start, String::new())]);
        let mut found: HashMap<Vec<bool>, String> = HashMap::new();
        let mut work = 0usize;
        while let Some((state, example)) = queue.pop_front() {
            if !state.iter().any(|(i, _)| *i < universe.len()) {
                continue; // no string of the universe continues from here
            }
            let in_universe = state
                .iter()
                .any(|(i, positions)| *i < universe.len() && all[*i].accepts(positions));
            if in_universe {
                let mut matched = vec![false; patterns.len()];
                for (i, positions) in &state {
                    if *i >= universe.len() && all[*i].accepts(positions) {
                        matched[*i - universe.len()] = true;
                    }
                }
                found.entry(matched).or_insert_with(|| example.clone());
            }
            for symbol in relevant_symbols(&state, &all) {
                work += state.iter().map(|(_, p)| p.len() + 1).sum::<usize>();
                if work > WORK_BUDGET {
                    return Err(format!(
                        "the policy's {} patterns are too many to compare exactly",
                        patterns.len()
                    ));
                }
                let next: State = state
                    .iter()
                    .map(|(i, positions)| (*i, all[*i].step(positions, symbol)))
                    .filter(|(_, positions)| !positions.is_empty())
                    .collect();
                if seen.insert(next.clone()) {
                    let c = match symbol {
                        Symbol::Char(c) => c,
                        Symbol::Other => other,
                    };
                    queue.push_back((next, format!("{example}{c}")));
                }
            }
        }
        let mut classes: Vec<_> = found.into_iter().collect();
        classes.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| a.1.cmp(&b.1)));
        Ok(classes)
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Case-sensitive `*`/`?` matching, for names (log groups) as for ARNs.
pub(crate) fn wildcard_match(pattern: &str, subject: &str) -> bool {
    glob_matches(pattern, subject)
}

/// IAM wildcard matching: `*` is any run of characters (including `/` and
/// `:`), `?` exactly one character.
fn glob_matches(pattern: &str, subject: &str) -> bool {
    glob_chars(&chars(pattern), &chars(subject))
}

fn glob_chars(pattern: &[char], subject: &[char]) -> bool {
    // Classic linear-time wildcard match with backtracking to the last `*`.
    let (mut p, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < subject.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == subject[s]) {
            p += 1;
            s += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, s));
            p += 1;
        } else if let Some((star_p, star_s)) = star {
            p = star_p + 1;
            s = star_s + 1;
            star = Some((star_p, star_s + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:s3:::audit-logs";

    fn canonical() -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [ARN, format!("{ARN}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            }]
        })
    }

    /// The canonical policy with one field of its only statement replaced.
    fn with(field: &str, value: Value) -> Value {
        let mut policy = canonical();
        policy["Statement"][0][field] = value;
        policy
    }

    fn without(field: &str) -> Value {
        let mut policy = canonical();
        policy["Statement"][0]
            .as_object_mut()
            .expect("statement is an object")
            .remove(field);
        policy
    }

    fn enforced(policy: &Value) -> bool {
        match tls_only(policy, ARN).expect("policy is readable") {
            TlsOnly::Enforced { .. } => true,
            TlsOnly::NotEnforced { .. } => false,
        }
    }

    fn reasons(policy: &Value) -> String {
        match tls_only(policy, ARN).expect("policy is readable") {
            TlsOnly::Enforced { .. } => panic!("expected not enforced"),
            TlsOnly::NotEnforced { reasons } => reasons.join("; "),
        }
    }

    #[test]
    fn canonical_aws_documented_policy_passes() {
        assert_eq!(
            tls_only(&canonical(), ARN),
            Ok(TlsOnly::Enforced {
                statements: vec![StatementRef {
                    index: 0,
                    sid: Some("DenyInsecureTransport".into())
                }]
            })
        );
    }

    #[test]
    fn principal_shapes_that_mean_everyone_pass() {
        assert!(enforced(&with("Principal", json!({"AWS": "*"}))));
        assert!(enforced(&with("Principal", json!({"AWS": ["*"]}))));
        assert!(enforced(&with(
            "Principal",
            json!({"AWS": ["arn:aws:iam::111122223333:root", "*"]})
        )));
    }

    #[test]
    fn principal_that_is_one_account_fails() {
        let policy = with(
            "Principal",
            json!({"AWS": "arn:aws:iam::111122223333:root"}),
        );
        assert!(reasons(&policy).contains("Principal does not cover everyone"));
        assert!(!enforced(&with("Principal", json!({"Service": "*"}))));
        assert!(!enforced(&without("Principal")));
    }

    #[test]
    fn not_principal_fails() {
        let mut policy = without("Principal");
        policy["Statement"][0]["NotPrincipal"] = json!({"AWS": "arn:aws:iam::111122223333:root"});
        assert!(reasons(&policy).contains("NotPrincipal"));
    }

    #[test]
    fn action_shapes_that_cover_all_s3_actions_pass() {
        assert!(enforced(&with("Action", json!("*"))));
        assert!(enforced(&with("Action", json!(["s3:*"]))));
        assert!(enforced(&with("Action", json!(["s3:GetObject", "s3:*"]))));
        assert!(
            enforced(&with("Action", json!("S3:*"))),
            "actions are case-insensitive"
        );
        assert!(
            enforced(&with("Action", json!("s3*"))),
            "a wider wildcard still covers s3:*"
        );
    }

    #[test]
    fn deny_for_a_single_action_fails() {
        let policy = with("Action", json!("s3:GetObject"));
        assert!(reasons(&policy).contains("does not cover all S3 actions"));
        assert!(!enforced(&with("Action", json!(["s3:Get*", "s3:Put*"]))));
        assert!(!enforced(&with("Action", json!("s3:?"))));
    }

    #[test]
    fn not_action_that_excludes_an_s3_action_fails() {
        let mut policy = without("Action");
        policy["Statement"][0]["NotAction"] = json!("s3:GetObject");
        let why = reasons(&policy);
        assert!(
            why.contains("NotAction [s3:GetObject] does not cover all S3 actions"),
            "{why}"
        );
        assert!(why.contains("s3:getobject on"), "{why}");
    }

    #[test]
    fn not_action_that_excludes_no_s3_action_passes() {
        let mut policy = without("Action");
        policy["Statement"][0]["NotAction"] = json!("iam:*");
        assert!(enforced(&policy));
        policy["Statement"][0]["NotAction"] = json!(["s3", "s3:"]);
        assert!(enforced(&policy), "neither is an S3 action name");
    }

    #[test]
    fn not_action_deny_plus_a_deny_of_the_excluded_action_pass() {
        let mut most = without("Action");
        most["Statement"][0]["NotAction"] = json!("s3:GetObject");
        let rest = with("Action", json!("s3:GetObject"))["Statement"][0].clone();
        most["Statement"].as_array_mut().expect("list").push(rest);
        assert_eq!(
            tls_only(&most, ARN).map(|t| match t {
                TlsOnly::Enforced { statements } => statements.len(),
                TlsOnly::NotEnforced { .. } => 0,
            }),
            Ok(2)
        );
    }

    #[test]
    fn actions_split_across_statements_must_cover_every_s3_action() {
        let get = with("Action", json!("s3:Get*"))["Statement"][0].clone();
        let put = with("Action", json!(["s3:Put*", "s3:List*"]))["Statement"][0].clone();
        let policy = json!({"Statement": [get.clone(), put.clone()]});
        assert!(reasons(&policy).contains("s3:"), "s3:DeleteObject is left");
        let rest = with("Action", json!("s3:*"))["Statement"][0].clone();
        let policy = json!({"Statement": [get, put, rest]});
        assert!(enforced(&policy));
    }

    #[test]
    fn deny_on_objects_only_fails() {
        let policy = with("Resource", json!(format!("{ARN}/*")));
        assert!(reasons(&policy).contains("not the bucket itself"));
    }

    #[test]
    fn deny_on_bucket_only_fails() {
        let policy = with("Resource", json!(ARN));
        assert!(reasons(&policy).contains("not all its objects"));
    }

    #[test]
    fn deny_on_a_prefix_of_objects_fails() {
        let policy = with("Resource", json!([ARN, format!("{ARN}/public/*")]));
        assert!(reasons(&policy).contains("not all its objects"));
    }

    #[test]
    fn wildcard_resources_covering_both_pass() {
        assert!(enforced(&with("Resource", json!("*"))));
        assert!(enforced(&with("Resource", json!("arn:aws:s3:::*"))));
        assert!(enforced(&with(
            "Resource",
            json!("arn:aws:s3:::audit-logs*")
        )));
        assert!(enforced(&with(
            "Resource",
            json!([ARN, "arn:aws:s3:::audit-?ogs/*"])
        )));
    }

    #[test]
    fn resources_of_another_bucket_fail() {
        let policy = with(
            "Resource",
            json!(["arn:aws:s3:::other", "arn:aws:s3:::other/*"]),
        );
        assert!(reasons(&policy).contains("covers neither"));
        // A near-miss name: the policy names audit-logs-2, not audit-logs.
        assert!(!enforced(&with(
            "Resource",
            json!(["arn:aws:s3:::audit-logs-2", "arn:aws:s3:::audit-logs-2/*"])
        )));
    }

    #[test]
    fn not_resource_of_another_bucket_covers_this_one() {
        let mut policy = without("Resource");
        policy["Statement"][0]["NotResource"] = json!("arn:aws:s3:::elsewhere/*");
        assert!(enforced(&policy));
    }

    #[test]
    fn not_resource_excluding_this_bucket_or_its_objects_fails() {
        let mut policy = without("Resource");
        policy["Statement"][0]["NotResource"] = json!(format!("{ARN}/public/*"));
        assert!(reasons(&policy).contains("not all its objects"));
        policy["Statement"][0]["NotResource"] = json!(ARN);
        assert!(reasons(&policy).contains("not the bucket itself"));
        policy["Statement"][0]["NotResource"] = json!("arn:aws:s3:::audit-*");
        assert!(reasons(&policy).contains("covers neither"));
    }

    #[test]
    fn allow_with_secure_transport_true_fails() {
        let policy = json!({
            "Statement": [{
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("{ARN}/*"),
                "Condition": {"Bool": {"aws:SecureTransport": "true"}}
            }]
        });
        assert!(reasons(&policy).contains("Effect is Allow, not Deny"));
    }

    #[test]
    fn condition_value_shapes_pass() {
        for value in [
            json!("false"),
            json!(false),
            json!(["false"]),
            json!([false]),
            json!("FALSE"),
        ] {
            let policy = with("Condition", json!({"Bool": {"aws:SecureTransport": value}}));
            assert!(enforced(&policy), "value {value} should count as false");
        }
    }

    #[test]
    fn bool_if_exists_passes() {
        let policy = with(
            "Condition",
            json!({"BoolIfExists": {"aws:SecureTransport": "false"}}),
        );
        assert!(enforced(&policy));
    }

    #[test]
    fn condition_keys_are_case_insensitive() {
        let policy = with("Condition", json!({"Bool": {"AWS:securetransport": false}}));
        assert!(enforced(&policy));
    }

    #[test]
    fn deny_when_secure_transport_true_fails() {
        let policy = with(
            "Condition",
            json!({"Bool": {"aws:SecureTransport": "true"}}),
        );
        assert!(reasons(&policy).contains("does not deny plain-HTTP requests"));
    }

    #[test]
    fn tls_version_deny_alone_fails() {
        let policy = with(
            "Condition",
            json!({"NumericLessThan": {"s3:TlsVersion": "1.2"}}),
        );
        assert!(reasons(&policy).contains("NumericLessThan s3:TlsVersion"));
    }

    #[test]
    fn tls_version_deny_beside_a_separate_secure_transport_deny_passes() {
        let mut policy = canonical();
        policy["Statement"].as_array_mut().expect("list").insert(
            0,
            json!({
                "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [ARN, format!("{ARN}/*")],
                "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
            }),
        );
        assert_eq!(
            tls_only(&policy, ARN),
            Ok(TlsOnly::Enforced {
                statements: vec![StatementRef {
                    index: 1,
                    sid: Some("DenyInsecureTransport".into())
                }]
            })
        );
    }

    #[test]
    fn secure_transport_narrowed_by_another_condition_fails() {
        let policy = with(
            "Condition",
            json!({
                "Bool": {"aws:SecureTransport": "false"},
                "StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}
            }),
        );
        assert!(reasons(&policy).contains("narrowed by further conditions"));
    }

    #[test]
    fn missing_condition_fails() {
        assert!(reasons(&without("Condition")).contains("no aws:SecureTransport"));
    }

    #[test]
    fn single_statement_object_instead_of_list_passes() {
        let statement = canonical()["Statement"][0].clone();
        let policy = json!({"Version": "2012-10-17", "Statement": statement});
        assert!(enforced(&policy));
    }

    #[test]
    fn split_statements_for_the_bucket_and_its_objects_pass_together() {
        let bucket_only = with("Resource", json!(ARN))["Statement"][0].clone();
        let mut objects_only = with("Resource", json!(format!("{ARN}/*")))["Statement"][0].clone();
        objects_only["Sid"] = json!("Objects");
        let policy = json!({"Statement": [bucket_only.clone(), objects_only]});
        assert_eq!(
            tls_only(&policy, ARN),
            Ok(TlsOnly::Enforced {
                statements: vec![
                    StatementRef {
                        index: 0,
                        sid: Some("DenyInsecureTransport".into())
                    },
                    StatementRef {
                        index: 1,
                        sid: Some("Objects".into())
                    },
                ]
            })
        );
        // Alone, either half fails and says what the other would supply.
        let why = reasons(&json!({"Statement": [bucket_only]}));
        assert!(
            why.contains("Statement[0] (DenyInsecureTransport)"),
            "{why}"
        );
        assert!(why.contains(&format!("on {ARN}/")), "{why}");
    }

    #[test]
    fn a_narrowed_half_does_not_complete_the_other() {
        let bucket_only = with("Resource", json!(ARN))["Statement"][0].clone();
        let mut objects_vpce = with("Resource", json!(format!("{ARN}/*")))["Statement"][0].clone();
        objects_vpce["Condition"]["StringNotEquals"] = json!({"aws:SourceVpce": "vpce-1"});
        let why = reasons(&json!({"Statement": [bucket_only, objects_vpce]}));
        assert!(
            why.contains(
                "Statement[1] (DenyInsecureTransport): aws:SecureTransport = false is narrowed"
            ),
            "{why}"
        );
    }

    #[test]
    fn superfluous_statements_are_not_named() {
        let policy = json!({"Statement": [
            canonical()["Statement"][0].clone(),
            with("Resource", json!(ARN))["Statement"][0].clone(),
        ]});
        assert_eq!(
            tls_only(&policy, ARN),
            Ok(TlsOnly::Enforced {
                statements: vec![StatementRef {
                    index: 0,
                    sid: Some("DenyInsecureTransport".into())
                }]
            })
        );
    }

    #[test]
    fn deny_with_not_principal_does_not_count_even_for_a_service() {
        let mut policy = without("Principal");
        policy["Statement"][0]["NotPrincipal"] = json!({"Service": "logging.s3.amazonaws.com"});
        assert!(reasons(&policy).contains("NotPrincipal"));
    }

    #[test]
    fn a_deny_for_a_list_of_principals_holding_star_counts() {
        assert!(enforced(&with(
            "Principal",
            json!({"AWS": ["*"], "Service": "s3.amazonaws.com"})
        )));
    }

    #[test]
    fn allow_with_secure_transport_true_beside_a_partial_deny_fails() {
        // The AWS Config false positive: an Allow limited to TLS does not
        // deny plain HTTP; only the objects half is denied.
        let allow = json!({
            "Effect": "Allow", "Principal": "*", "Action": "s3:*",
            "Resource": [ARN, format!("{ARN}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}
        });
        let deny = with("Resource", json!(format!("{ARN}/*")))["Statement"][0].clone();
        let why = reasons(&json!({"Statement": [allow, deny]}));
        assert!(why.contains("Effect is Allow"), "{why}");
        assert!(why.contains("not the bucket itself"), "{why}");
    }

    #[test]
    fn other_statements_do_not_disturb_a_complete_deny() {
        let policy = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": format!("{ARN}/*")},
            {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": ARN},
            canonical()["Statement"][0].clone(),
        ]});
        assert!(enforced(&policy));
    }

    #[test]
    fn malformed_action_in_a_counting_deny_is_an_error() {
        let policy = with("Action", json!(["s3:*", 3]));
        assert!(matches!(
            tls_only(&policy, ARN),
            Err(PolicyError::BadField(_))
        ));
    }

    #[test]
    fn unparseable_policy_text_is_an_error_not_a_panic() {
        let err = tls_only(&json!("{\"Statement\": [ {\"Effect\": "), ARN).unwrap_err();
        assert!(matches!(err, PolicyError::Unparseable(_)));
        assert!(err.to_string().starts_with("policy is not valid JSON"));
    }

    #[test]
    fn policy_text_that_is_json_is_read() {
        let text = serde_json::to_string(&canonical()).expect("serialises");
        assert!(enforced(&Value::String(text)));
    }

    #[test]
    fn policies_of_the_wrong_shape_are_errors() {
        assert_eq!(
            tls_only(&json!([1, 2]), ARN),
            Err(PolicyError::NotAnObject("a list"))
        );
        assert_eq!(
            tls_only(&json!({"Statement": "Deny"}), ARN),
            Err(PolicyError::BadStatement("a string"))
        );
        assert_eq!(
            tls_only(&json!({"Statement": [42]}), ARN),
            Err(PolicyError::BadStatement("a number"))
        );
    }

    #[test]
    fn empty_policies_fail_with_a_reason() {
        assert!(reasons(&json!({"Version": "2012-10-17"})).contains("no Statement"));
        assert!(reasons(&json!({"Statement": []})).contains("no statements"));
    }

    #[test]
    fn glob_matching_follows_iam_wildcards() {
        assert!(glob_matches("a*c", "abbbc"));
        assert!(glob_matches("a?c", "abc"));
        assert!(!glob_matches("a?c", "ac"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("**x", "yyx"));
        assert!(!glob_matches("abc", "abcd"));
    }
}

#[cfg(test)]
mod full_admin_tests {
    use super::*;
    use serde_json::json;

    fn admin(statements: Value) -> Vec<String> {
        full_admin_statements(&json!({"Version": "2012-10-17", "Statement": statements}))
            .expect("policy is readable")
    }

    fn allow(action: (&str, Value), resource: (&str, Value)) -> Value {
        let mut statement = json!({"Effect": "Allow"});
        statement[action.0] = action.1;
        statement[resource.0] = resource.1;
        statement
    }

    #[test]
    fn star_on_star_is_full_admin() {
        assert_eq!(
            admin(json!([{"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}])),
            ["Statement[0] (Admin)"]
        );
        assert_eq!(
            admin(json!({"Effect": "Allow", "Action": ["*"], "Resource": ["*"]})),
            ["Statement[0]"],
            "Statement and values as one item or a list"
        );
    }

    #[test]
    fn wildcard_forms_of_every_action_are_full_admin() {
        for action in ["*:*", "*", "**", "?*:*", "*:?*", "*:**"] {
            assert_eq!(
                admin(json!([allow(
                    ("Action", json!(action)),
                    ("Resource", json!("*"))
                )]))
                .len(),
                1,
                "{action}"
            );
        }
    }

    #[test]
    fn service_wide_or_partial_actions_are_not() {
        for action in [
            json!("s3:*"),
            json!(["iam:*", "s3:*", "ec2:*"]),
            json!("*:Get*"),
            json!("?:*"),
        ] {
            assert!(
                admin(json!([allow(
                    ("Action", action.clone()),
                    ("Resource", json!("*"))
                )]))
                .is_empty(),
                "{action}"
            );
        }
    }

    #[test]
    fn not_action_alone_leaves_the_excluded_actions_out() {
        let not_iam = allow(("NotAction", json!(["iam:*"])), ("Resource", json!("*")));
        assert!(admin(json!([not_iam])).is_empty());
        let not_one = allow(
            ("NotAction", json!("s3:GetObject")),
            ("Resource", json!("*")),
        );
        assert!(admin(json!([not_one])).is_empty());
    }

    #[test]
    fn not_action_combined_with_the_excluded_actions_is_full_admin() {
        let not_iam = allow(("NotAction", json!(["iam:*"])), ("Resource", json!("*")));
        let iam = allow(("Action", json!("iam:*")), ("Resource", json!("*")));
        assert_eq!(
            admin(json!([not_iam, iam])),
            ["Statement[0]", "Statement[1]"]
        );
        // Case does not matter in actions.
        let not_iam = allow(("NotAction", json!("IAM:*")), ("Resource", json!("*")));
        let iam = allow(("Action", json!(["iam:*"])), ("Resource", json!(["*"])));
        assert_eq!(admin(json!([iam, not_iam])).len(), 2);
    }

    #[test]
    fn not_action_naming_only_non_actions_is_full_admin() {
        // `iam` alone (no colon) is no action name: nothing is excluded.
        let statement = allow(("NotAction", json!("iam")), ("Resource", json!("*")));
        assert_eq!(admin(json!([statement])), ["Statement[0]"]);
    }

    #[test]
    fn not_action_partially_covered_is_not() {
        let not_iam = allow(("NotAction", json!("iam:*")), ("Resource", json!("*")));
        let some_iam = allow(
            ("Action", json!(["iam:Get*", "iam:List*"])),
            ("Resource", json!("*")),
        );
        assert!(admin(json!([not_iam, some_iam])).is_empty());
    }

    #[test]
    fn not_resource_alone_is_not_full_admin() {
        let statement = allow(
            ("Action", json!("*")),
            ("NotResource", json!("arn:aws:s3:::x")),
        );
        assert!(admin(json!([statement])).is_empty());
    }

    #[test]
    fn not_resource_and_the_excluded_resource_together_are_full_admin() {
        let most = allow(
            ("Action", json!("*")),
            ("NotResource", json!("arn:aws:s3:::x")),
        );
        let rest = allow(
            ("Action", json!("*")),
            ("Resource", json!("arn:aws:s3:::x")),
        );
        assert_eq!(admin(json!([most, rest])).len(), 2);
        // A wider pattern also covers the excluded one.
        let most = allow(
            ("Action", json!("*")),
            ("NotResource", json!("arn:aws:s3:::x")),
        );
        let rest = allow(
            ("Action", json!("*")),
            ("Resource", json!("arn:aws:s3:::*")),
        );
        assert_eq!(admin(json!([most, rest])).len(), 2);
    }

    #[test]
    fn every_arn_is_not_every_resource() {
        // Actions without resource-level permissions match only "*".
        for resource in [
            json!("arn:*"),
            json!("arn:aws:*"),
            json!(["arn:aws:*:*:*:*", "arn:aws:s3:::*"]),
        ] {
            let statement = allow(("Action", json!("*")), ("Resource", resource.clone()));
            assert!(admin(json!([statement])).is_empty(), "{resource}");
        }
        let statement = allow(("Action", json!("*")), ("Resource", json!(["arn:*", "*"])));
        assert_eq!(admin(json!([statement])).len(), 1);
    }

    #[test]
    fn resources_are_case_sensitive() {
        let most = allow(
            ("Action", json!("*")),
            ("NotResource", json!("arn:aws:s3:::X")),
        );
        let rest = allow(
            ("Action", json!("*")),
            ("Resource", json!("arn:aws:s3:::x")),
        );
        assert!(admin(json!([most, rest])).is_empty());
    }

    #[test]
    fn split_by_service_and_resource_combines_only_when_every_pair_is_covered() {
        // Everything but s3 on every resource, and s3 on every resource.
        let not_s3 = allow(("NotAction", json!("s3:*")), ("Resource", json!("*")));
        let s3_arns = allow(("Action", json!("s3:*")), ("Resource", json!("arn:*")));
        // s3 on "*" itself (s3:ListAllMyBuckets) is missing.
        assert!(admin(json!([not_s3.clone(), s3_arns.clone()])).is_empty());
        let s3_star = allow(("Action", json!("s3:*")), ("Resource", json!("*")));
        assert_eq!(
            admin(json!([not_s3, s3_arns, s3_star])),
            ["Statement[0]", "Statement[2]"],
            "the superfluous statement is not named"
        );
    }

    #[test]
    fn a_condition_on_the_allow_still_counts() {
        // The grant is *:* for whoever meets the condition; CIS, AWS Config
        // and Prowler do not exempt conditional grants either.
        let statement = json!({
            "Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        });
        assert_eq!(admin(json!([statement])).len(), 1);
    }

    #[test]
    fn a_deny_beside_the_allow_does_not_remove_the_finding() {
        let statements = json!([
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
            {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}
        ]);
        assert_eq!(admin(statements), ["Statement[1] (All)"]);
    }

    #[test]
    fn deny_and_unknown_effects_grant_nothing() {
        assert!(admin(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}])).is_empty());
        assert!(admin(json!([{"Action": "*", "Resource": "*"}])).is_empty());
        assert!(admin(json!([{"Effect": "allow ", "Action": "*", "Resource": "*"}])).is_empty());
    }

    #[test]
    fn statements_missing_actions_or_resources_grant_nothing() {
        assert!(admin(json!([{"Effect": "Allow", "Resource": "*"}])).is_empty());
        assert!(admin(json!([{"Effect": "Allow", "Action": "*"}])).is_empty());
        assert!(admin(json!([{"Effect": "Allow", "Action": [], "Resource": "*"}])).is_empty());
        assert!(admin(json!([])).is_empty());
        assert!(
            full_admin_statements(&json!({"Version": "2012-10-17"}))
                .expect("readable")
                .is_empty()
        );
    }

    #[test]
    fn the_two_statements_are_found_among_many_others() {
        let statements = json!([
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "Most", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
            {"Sid": "Org", "Effect": "Allow", "Action": ["organizations:*", "iam:*"], "Resource": "*"}
        ]);
        assert_eq!(
            admin(statements),
            ["Statement[1] (Most)", "Statement[3] (Org)"]
        );
    }

    #[test]
    fn policy_text_is_parsed() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(
            full_admin_statements(&json!(text)),
            Ok(vec!["Statement[0]".to_string()])
        );
        assert!(matches!(
            full_admin_statements(&json!("{not json")),
            Err(PolicyError::Unparseable(_))
        ));
    }

    #[test]
    fn fields_iam_would_refuse_are_errors_not_guesses() {
        let both =
            json!([{"Effect": "Allow", "Action": "*", "NotAction": "iam:*", "Resource": "*"}]);
        let number = json!([{"Effect": "Allow", "Action": ["*", 7], "Resource": "*"}]);
        let object = json!([{"Effect": "Allow", "Action": "*", "NotResource": {"a": 1}}]);
        for statements in [both, number, object] {
            let result = full_admin_statements(&json!({"Statement": statements}));
            assert!(
                matches!(result, Err(PolicyError::BadField(_))),
                "{result:?}"
            );
        }
        assert_eq!(
            full_admin_statements(&json!({"Statement": [1]})),
            Err(PolicyError::BadStatement("a number"))
        );
        assert_eq!(
            full_admin_statements(&json!(["x"])),
            Err(PolicyError::NotAnObject("a list"))
        );
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        let statement = allow(("Action", json!("*:*")), ("Resource", json!("?")));
        assert!(
            admin(json!([statement])).is_empty(),
            "? is not every resource"
        );
        let most = allow(
            ("Action", json!("*")),
            ("NotResource", json!("arn:aws:s3:::?")),
        );
        let rest = allow(
            ("Action", json!("*")),
            ("Resource", json!("arn:aws:s3:::a")),
        );
        assert!(
            admin(json!([most, rest])).is_empty(),
            "arn:aws:s3:::b is left"
        );
    }

    #[test]
    fn a_pathological_policy_is_bounded_not_hung() {
        // Many overlapping stars multiply the product states; the budget
        // turns that into an error (the caller's `unknown`), never a hang.
        let statements: Vec<Value> = (0..60)
            .map(|i| {
                let action: String = (0..12).map(|j| format!("*{}?", (b'a' + ((i + j) % 26) as u8) as char)).collect();
                json!({"Effect": "Allow", "NotAction": [action, format!("{i}*:*a*b*c*")], "Resource": "*"})
            })
            .collect();
        let started = std::time::Instant::now();
        let result = full_admin_statements(&json!({ "Statement": statements }));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{result:?}"
        );
        if let Err(e) = result {
            assert!(matches!(e, PolicyError::TooComplex(_)), "{e}");
        }
    }

    #[test]
    fn a_large_ordinary_policy_is_decided_quickly() {
        let statements: Vec<Value> = (0..150)
            .map(|i| {
                json!({
                    "Effect": "Allow",
                    "Action": [format!("service{i}:Get*"), format!("service{i}:List*"), format!("s3:Put{i}*")],
                    "Resource": [format!("arn:aws:s3:::bucket-{i}/*"), format!("arn:aws:s3:::bucket-{i}")]
                })
            })
            .collect();
        let started = std::time::Instant::now();
        assert!(admin(Value::Array(statements)).is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
