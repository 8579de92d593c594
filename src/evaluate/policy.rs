//! Reading IAM policy documents, as S3 bucket policies, for the question the
//! `s3.tls_only` control asks: is every non-TLS request to this bucket and
//! every object in it denied, for everyone?
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
    #[error("bucket policy is not valid JSON: {0}")]
    Unparseable(String),
    #[error("bucket policy is not a JSON object (found {0})")]
    NotAnObject(&'static str),
    #[error("bucket policy `Statement` must be an object or a list of objects (found {0})")]
    BadStatement(&'static str),
}

/// The outcome for a readable policy.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsOnly {
    /// The statement at `index` denies all non-TLS access.
    Enforced { index: usize, sid: Option<String> },
    /// No statement does; `reasons` explains, statement by statement, why.
    NotEnforced { reasons: Vec<String> },
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

/// Decides whether `policy` denies every request made without TLS to
/// `bucket_arn` and to every object under it.
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

    let mut reasons = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Value::Object(statement) = statement else {
            return Err(PolicyError::BadStatement(json_kind(statement)));
        };
        let sid = statement.get("Sid").and_then(Value::as_str);
        let label = match sid {
            Some(sid) => format!("Statement[{index}] ({sid})"),
            None => format!("Statement[{index}]"),
        };
        match why_not_tls_deny(statement, bucket_arn) {
            None => {
                return Ok(TlsOnly::Enforced {
                    index,
                    sid: sid.map(str::to_string),
                });
            }
            Some(reason) => reasons.push(format!("{label}: {reason}")),
        }
    }
    if reasons.is_empty() {
        reasons.push("policy has no statements".to_string());
    }
    Ok(TlsOnly::NotEnforced { reasons })
}

/// `None` when the statement is a complete TLS-only deny; otherwise the
/// first reason it is not.
fn why_not_tls_deny(
    statement: &serde_json::Map<String, Value>,
    bucket_arn: &str,
) -> Option<String> {
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Deny") => {}
        Some(effect) => return Some(format!("Effect is {effect}, not Deny")),
        None => return Some("has no Effect".to_string()),
    }

    if statement.contains_key("NotPrincipal") {
        return Some("uses NotPrincipal, so it does not apply to everyone".to_string());
    }
    match statement.get("Principal") {
        Some(principal) if principal_is_everyone(principal) => {}
        Some(_) => return Some("Principal does not cover everyone (\"*\")".to_string()),
        None => return Some("has no Principal".to_string()),
    }

    if statement.contains_key("NotAction") {
        return Some("uses NotAction, so it does not deny all S3 actions".to_string());
    }
    let actions = strings(statement.get("Action"));
    if !actions
        .iter()
        .any(|a| covers_every_string_with_prefix(a, "s3:", CaseSensitivity::Insensitive))
    {
        return Some(format!(
            "Action {} does not cover all S3 actions (s3:*)",
            describe(&actions)
        ));
    }

    if statement.contains_key("NotResource") {
        return Some("uses NotResource".to_string());
    }
    let resources = strings(statement.get("Resource"));
    let covers_bucket = resources
        .iter()
        .any(|r| glob_matches(r, bucket_arn, CaseSensitivity::Sensitive));
    let objects_prefix = format!("{bucket_arn}/");
    let covers_objects = resources
        .iter()
        .any(|r| covers_every_string_with_prefix(r, &objects_prefix, CaseSensitivity::Sensitive));
    match (covers_bucket, covers_objects) {
        (true, true) => {}
        (false, true) => {
            return Some(format!(
                "Resource {} covers the objects ({bucket_arn}/*) but not the bucket itself ({bucket_arn})",
                describe(&resources)
            ));
        }
        (true, false) => {
            return Some(format!(
                "Resource {} covers the bucket ({bucket_arn}) but not its objects ({bucket_arn}/*)",
                describe(&resources)
            ));
        }
        (false, false) => {
            return Some(format!(
                "Resource {} covers neither {bucket_arn} nor {bucket_arn}/*",
                describe(&resources)
            ));
        }
    }

    condition_denies_exactly_insecure_transport(statement.get("Condition"))
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

#[derive(Clone, Copy)]
enum CaseSensitivity {
    Sensitive,
    Insensitive,
}

fn chars(s: &str, case: CaseSensitivity) -> Vec<char> {
    match case {
        CaseSensitivity::Sensitive => s.chars().collect(),
        CaseSensitivity::Insensitive => s.chars().flat_map(char::to_lowercase).collect(),
    }
}

/// Case-sensitive `*`/`?` matching, for names (log groups) as for ARNs.
pub(crate) fn wildcard_match(pattern: &str, subject: &str) -> bool {
    glob_matches(pattern, subject, CaseSensitivity::Sensitive)
}

/// IAM wildcard matching: `*` is any run of characters (including `/` and
/// `:`), `?` exactly one character.
fn glob_matches(pattern: &str, subject: &str, case: CaseSensitivity) -> bool {
    glob_chars(&chars(pattern, case), &chars(subject, case))
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

/// Whether `pattern` matches every string that starts with `prefix`.
///
/// That holds exactly when the pattern ends in `*` and what precedes that
/// final `*` matches some prefix of `prefix`: the `*` then absorbs the rest,
/// whatever it is. (If the part before the `*` needed characters beyond
/// `prefix`, the string `prefix` itself would not match.)
fn covers_every_string_with_prefix(pattern: &str, prefix: &str, case: CaseSensitivity) -> bool {
    let pattern = chars(pattern, case);
    let prefix = chars(prefix, case);
    let Some((&'*', head)) = pattern.split_last() else {
        return false;
    };
    (0..=prefix.len()).any(|end| glob_chars(head, &prefix[..end]))
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
                index: 0,
                sid: Some("DenyInsecureTransport".into())
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
    fn not_action_fails() {
        let mut policy = without("Action");
        policy["Statement"][0]["NotAction"] = json!("s3:GetObject");
        assert!(reasons(&policy).contains("NotAction"));
    }

    #[test]
    fn deny_on_objects_only_fails() {
        let policy = with("Resource", json!(format!("{ARN}/*")));
        assert!(reasons(&policy).contains("not the bucket itself"));
    }

    #[test]
    fn deny_on_bucket_only_fails() {
        let policy = with("Resource", json!(ARN));
        assert!(reasons(&policy).contains("not its objects"));
    }

    #[test]
    fn deny_on_a_prefix_of_objects_fails() {
        let policy = with("Resource", json!([ARN, format!("{ARN}/public/*")]));
        assert!(reasons(&policy).contains("not its objects"));
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
    fn not_resource_fails() {
        let mut policy = without("Resource");
        policy["Statement"][0]["NotResource"] = json!("arn:aws:s3:::elsewhere");
        assert!(reasons(&policy).contains("NotResource"));
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
                index: 1,
                sid: Some("DenyInsecureTransport".into())
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
    fn split_statements_do_not_count_as_spec_requires_one_statement() {
        // IAM would deny the union, but controls.md asks for one statement
        // covering both the bucket and its objects; the table decides.
        let bucket_only = with("Resource", json!(ARN))["Statement"][0].clone();
        let objects_only = with("Resource", json!(format!("{ARN}/*")))["Statement"][0].clone();
        let policy = json!({"Statement": [bucket_only, objects_only]});
        let why = reasons(&policy);
        assert!(
            why.contains("Statement[0]") && why.contains("Statement[1]"),
            "{why}"
        );
    }

    #[test]
    fn unparseable_policy_text_is_an_error_not_a_panic() {
        let err = tls_only(&json!("{\"Statement\": [ {\"Effect\": "), ARN).unwrap_err();
        assert!(matches!(err, PolicyError::Unparseable(_)));
        assert!(
            err.to_string()
                .starts_with("bucket policy is not valid JSON")
        );
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
        use CaseSensitivity::Sensitive as S;
        assert!(glob_matches("a*c", "abbbc", S));
        assert!(glob_matches("a?c", "abc", S));
        assert!(!glob_matches("a?c", "ac", S));
        assert!(glob_matches("*", "", S));
        assert!(glob_matches("**x", "yyx", S));
        assert!(!glob_matches("abc", "abcd", S));
        assert!(covers_every_string_with_prefix("ab*", "abc/", S));
        assert!(covers_every_string_with_prefix("abc/*", "abc/", S));
        assert!(!covers_every_string_with_prefix("abc/d*", "abc/", S));
        assert!(!covers_every_string_with_prefix("abc/", "abc/", S));
        assert!(!covers_every_string_with_prefix("abc/?*", "abc/", S));
    }
}
