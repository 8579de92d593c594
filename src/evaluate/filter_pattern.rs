//! CloudWatch Logs metric filter patterns for JSON events, read the way
//! CloudWatch reads them, so that a monitoring control recognises CIS's
//! documented patterns in any equivalent spelling: quoted or bare values,
//! any order of the alternatives, extra parentheses and spaces, a wider
//! filter (more alternatives, a wildcard), or the narrowing exclusions CIS
//! itself documents.
//!
//! A pattern is parsed into disjunctive normal form: a set of alternatives,
//! each a set of comparisons that must all hold. Filter `F` covers the
//! required pattern `R` when every alternative of `R` implies some
//! alternative of `F`: each comparison of that `F` alternative follows from
//! the comparisons of the `R` alternative. That is sufficient for "every
//! event `R` matches, `F` matches", and never claims coverage it cannot
//! show.

use std::collections::BTreeSet;

/// Beyond this many alternatives a pattern is not expanded (an AND of many
/// ORs grows exponentially); such a filter is undecided, not trusted.
const MAX_ALTERNATIVES: usize = 4096;

/// One comparison: `$.eventName = "DeleteTrail"`, `$.x NOT EXISTS`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Comparison {
    pub selector: String,
    pub operator: String,
    /// The value with its quotes removed; `None` for `EXISTS`-style tests.
    pub value: Option<String>,
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} {} \"{v}\"", self.selector, self.operator),
            None => write!(f, "{} {}", self.selector, self.operator),
        }
    }
}

type Alternative = BTreeSet<Comparison>;

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// The empty pattern: CloudWatch matches every event.
    Everything,
    /// A JSON pattern as alternatives of conjunctions.
    Json(BTreeSet<Alternative>),
    /// A term or space-delimited pattern: matches by text, not by field,
    /// so it is never taken as covering a JSON requirement.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("filter pattern is not valid at character {at}: {reason}")]
    Syntax { at: usize, reason: String },
    #[error("filter pattern expands to more than {MAX_ALTERNATIVES} alternatives")]
    TooComplex,
}

pub fn parse(pattern: &str) -> Result<Pattern, PatternError> {
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return Ok(Pattern::Everything);
    }
    if !trimmed.starts_with('{') {
        return Ok(Pattern::Text);
    }
    let mut parser = Parser {
        chars: pattern.char_indices().collect(),
        pos: 0,
    };
    parser.skip_space();
    parser.expect('{')?;
    let expression = parser.disjunction()?;
    parser.skip_space();
    parser.expect('}')?;
    parser.skip_space();
    if parser.pos < parser.chars.len() {
        return Err(parser.error("text after the closing brace"));
    }
    Ok(Pattern::Json(expression))
}

/// Parses one comparison on its own (the narrowing exclusions a control
/// tolerates are written this way).
pub fn comparison(text: &str) -> Result<Comparison, PatternError> {
    let mut parser = Parser {
        chars: text.char_indices().collect(),
        pos: 0,
    };
    parser.skip_space();
    let c = parser.comparison()?;
    parser.skip_space();
    if parser.pos < parser.chars.len() {
        return Err(parser.error("text after the comparison"));
    }
    Ok(c)
}

/// What a filter must match, with the narrowings it may add.
pub struct Requirement {
    pub required: BTreeSet<Alternative>,
    pub tolerated: BTreeSet<Comparison>,
}

impl Requirement {
    /// `pattern` must be a JSON pattern; `tolerated` single comparisons.
    pub fn new(pattern: &str, tolerated: &[&str]) -> Result<Requirement, PatternError> {
        let required = match parse(pattern)? {
            Pattern::Json(alternatives) => alternatives,
            _ => {
                return Err(PatternError::Syntax {
                    at: 0,
                    reason: "a requirement is a JSON pattern".to_string(),
                });
            }
        };
        let tolerated = tolerated
            .iter()
            .map(|t| comparison(t))
            .collect::<Result<_, _>>()?;
        Ok(Requirement {
            required,
            tolerated,
        })
    }

    /// The required alternatives `filter` does not match, rendered for the
    /// evidence; empty when it covers the requirement.
    pub fn uncovered(&self, filter: &Pattern) -> Vec<String> {
        let filter = match filter {
            Pattern::Everything => return Vec::new(),
            Pattern::Text => return self.required.iter().map(render).collect(),
            Pattern::Json(alternatives) => alternatives,
        };
        self.required
            .iter()
            .filter(|needed| !filter.iter().any(|f| self.implies(needed, f)))
            .map(render)
            .collect()
    }

    /// Whether every event matching all of `needed` matches all of `filter`.
    fn implies(&self, needed: &Alternative, filter: &Alternative) -> bool {
        filter
            .iter()
            .all(|f| self.tolerated.contains(f) || needed.iter().any(|n| follows(n, f)))
    }
}

fn render(alternative: &Alternative) -> String {
    alternative
        .iter()
        .map(Comparison::to_string)
        .collect::<Vec<_>>()
        .join(" && ")
}

/// Whether `known` holding makes `wanted` hold.
fn follows(known: &Comparison, wanted: &Comparison) -> bool {
    if known.selector != wanted.selector {
        return false;
    }
    if known == wanted {
        return true;
    }
    let (Some(k), Some(w)) = (&known.value, &wanted.value) else {
        return false;
    };
    match (known.operator.as_str(), wanted.operator.as_str()) {
        // A wider wildcard: `Delete*` matches whatever `DeleteTrail` does.
        ("=", "=") => is_string_value(k) && is_string_value(w) && glob_covers(w, k),
        // The field equals a literal the excluded value does not match.
        ("=", "!=") => {
            is_string_value(k) && is_string_value(w) && !k.contains('*') && !glob_covers(w, k)
        }
        _ => false,
    }
}

/// Regular expressions (`%...%`) and numbers are compared only for equality.
fn is_string_value(value: &str) -> bool {
    !value.starts_with('%') && value.parse::<f64>().is_err()
}

/// Whether glob `wide` (only `*` is special) matches every string glob
/// `narrow` matches. Matching `wide` against `narrow`'s text, its stars
/// taken as literal characters, is enough: a star of `narrow` can only be
/// consumed by a star of `wide`, which then matches whatever replaces it.
fn glob_covers(wide: &str, narrow: &str) -> bool {
    let pattern: Vec<char> = wide.chars().collect();
    let text: Vec<char> = narrow.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

struct Parser {
    chars: Vec<(usize, char)>,
    pos: usize,
}

impl Parser {
    fn error(&self, reason: &str) -> PatternError {
        let at = self
            .chars
            .get(self.pos)
            .map(|(i, _)| *i)
            .unwrap_or_else(|| {
                self.chars
                    .last()
                    .map(|(i, c)| i + c.len_utf8())
                    .unwrap_or(0)
            });
        PatternError::Syntax {
            at,
            reason: reason.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).map(|(_, c)| *c)
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, wanted: char) -> Result<(), PatternError> {
        if self.peek() == Some(wanted) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{wanted}'")))
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        let end = self.pos + token.chars().count();
        let matches = end <= self.chars.len()
            && self.chars[self.pos..end]
                .iter()
                .map(|(_, c)| c)
                .copied()
                .eq(token.chars());
        if matches {
            self.pos = end;
        }
        matches
    }

    /// `a && b || c` groups as `(a && b) || c`.
    fn disjunction(&mut self) -> Result<BTreeSet<Alternative>, PatternError> {
        let mut alternatives = self.conjunction()?;
        loop {
            self.skip_space();
            if !self.eat("||") {
                return Ok(alternatives);
            }
            alternatives.extend(self.conjunction()?);
            if alternatives.len() > MAX_ALTERNATIVES {
                return Err(PatternError::TooComplex);
            }
        }
    }

    fn conjunction(&mut self) -> Result<BTreeSet<Alternative>, PatternError> {
        let mut alternatives = self.term()?;
        loop {
            self.skip_space();
            if !self.eat("&&") {
                return Ok(alternatives);
            }
            let right = self.term()?;
            if alternatives.len().saturating_mul(right.len()) > MAX_ALTERNATIVES {
                return Err(PatternError::TooComplex);
            }
            alternatives = alternatives
                .iter()
                .flat_map(|l| right.iter().map(move |r| l.union(r).cloned().collect()))
                .collect();
        }
    }

    fn term(&mut self) -> Result<BTreeSet<Alternative>, PatternError> {
        self.skip_space();
        if self.peek() == Some('(') {
            self.pos += 1;
            let inner = self.disjunction()?;
            self.skip_space();
            self.expect(')')?;
            return Ok(inner);
        }
        let c = self.comparison()?;
        Ok(BTreeSet::from([BTreeSet::from([c])]))
    }

    fn comparison(&mut self) -> Result<Comparison, PatternError> {
        let selector = self.selector()?;
        self.skip_space();
        for keyword in ["NOT EXISTS", "EXISTS", "IS NULL", "IS TRUE", "IS FALSE"] {
            if self.eat(keyword) {
                return Ok(Comparison {
                    selector,
                    operator: keyword.to_string(),
                    value: None,
                });
            }
        }
        let operator = ["!=", "<=", ">=", "=", "<", ">"]
            .into_iter()
            .find(|op| self.eat(op))
            .ok_or_else(|| self.error("expected a comparison operator"))?;
        self.skip_space();
        let value = self.value()?;
        Ok(Comparison {
            selector,
            operator: operator.to_string(),
            value: Some(value),
        })
    }

    fn selector(&mut self) -> Result<String, PatternError> {
        if self.peek() != Some('$') {
            return Err(self.error("expected a selector starting with '$'"));
        }
        let start = self.pos;
        self.pos += 1;
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']' | '*' | '$' | '@') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let selector: String = self.chars[start..self.pos].iter().map(|(_, c)| c).collect();
        if selector == "$" {
            return Err(self.error("expected a field after '$'"));
        }
        Ok(selector)
    }

    fn value(&mut self) -> Result<String, PatternError> {
        if self.peek() == Some('"') {
            self.pos += 1;
            let mut value = String::new();
            loop {
                match self.peek() {
                    None => return Err(self.error("unterminated quoted value")),
                    Some('"') => {
                        self.pos += 1;
                        return Ok(value);
                    }
                    Some('\\') => {
                        self.pos += 1;
                        let escaped = self
                            .peek()
                            .ok_or_else(|| self.error("unterminated quoted value"))?;
                        value.push(escaped);
                        self.pos += 1;
                    }
                    Some(c) => {
                        value.push(c);
                        self.pos += 1;
                    }
                }
            }
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || matches!(c, ')' | '}' | '(' | '&' | '|') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a value"));
        }
        Ok(self.chars[start..self.pos].iter().map(|(_, c)| c).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIS_IAM: &str = "{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy)||($.eventName=PutUserPolicy)||($.eventName=AttachRolePolicy))}";

    fn covers(requirement: &Requirement, filter: &str) -> bool {
        requirement
            .uncovered(&parse(filter).expect("parses"))
            .is_empty()
    }

    fn iam() -> Requirement {
        Requirement::new(CIS_IAM, &[]).expect("requirement parses")
    }

    #[test]
    fn the_documented_pattern_covers_itself_in_any_spelling() {
        let r = iam();
        assert!(covers(&r, CIS_IAM));
        assert!(covers(
            &r,
            r#"{ ( $.eventName = "AttachRolePolicy" ) || ($.eventName = "PutUserPolicy") || ($.eventName = "DeleteGroupPolicy") }"#
        ));
        // Without the eventSource narrowing the filter is wider: still covers.
        assert!(covers(
            &r,
            "{($.eventName=DeleteGroupPolicy)||($.eventName=PutUserPolicy)||($.eventName=AttachRolePolicy)||($.eventName=CreatePolicy)}"
        ));
        // Distributing the AND over the ORs is the same filter.
        assert!(covers(
            &r,
            "{ ($.eventSource = iam.amazonaws.com && $.eventName = DeleteGroupPolicy) || ($.eventSource = iam.amazonaws.com && $.eventName = PutUserPolicy) || ($.eventSource = iam.amazonaws.com && $.eventName = AttachRolePolicy) }"
        ));
        // A wildcard that matches every required name.
        assert!(covers(&r, "{ $.eventSource = \"iam.amazonaws.com\" }"));
        assert!(covers(&r, "{ $.eventName = \"*\" }"));
    }

    #[test]
    fn a_narrower_filter_does_not_cover() {
        let r = iam();
        let missing = r.uncovered(
            &parse("{($.eventName=DeleteGroupPolicy)||($.eventName=PutUserPolicy)}").unwrap(),
        );
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("AttachRolePolicy"), "{missing:?}");
        // Another source narrows it to nothing CIS asks for.
        assert!(!covers(
            &r,
            "{($.eventSource=kms.amazonaws.com) && (($.eventName=DeleteGroupPolicy)||($.eventName=PutUserPolicy)||($.eventName=AttachRolePolicy))}"
        ));
        // An extra condition CIS does not document narrows it.
        assert!(!covers(
            &r,
            "{($.eventName=DeleteGroupPolicy||$.eventName=PutUserPolicy||$.eventName=AttachRolePolicy) && $.userIdentity.type = IAMUser}"
        ));
        // Names are case-sensitive; a wildcard that misses one does not cover.
        assert!(!covers(
            &r,
            "{ $.eventName = \"Delete*\" || $.eventName = \"Put*\" }"
        ));
        assert!(!covers(
            &r,
            "{ $.eventName = deletegrouppolicy || $.eventName = \"Put*\" || $.eventName = AttachRolePolicy }"
        ));
    }

    #[test]
    fn precedence_groups_and_before_or() {
        // CIS 4.1 as documented: the exclusions bind to the second
        // alternative only under AND-before-OR; both readings are tolerated.
        let r = Requirement::new(
            r#"{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }"#,
            &[
                r#"$.sourceIPAddress != "delivery.logs.amazonaws.com""#,
                r#"$.eventName != "HeadBucket""#,
            ],
        )
        .unwrap();
        assert!(covers(
            &r,
            r#"{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }"#
        ));
        assert!(covers(
            &r,
            r#"{ (($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*")) && ($.sourceIPAddress!="delivery.logs.amazonaws.com") }"#
        ));
        assert!(covers(
            &r,
            r#"{ $.errorCode = "*UnauthorizedOperation*" || $.errorCode = "AccessDenied*" }"#
        ));
        // A narrower wildcard misses `Client.UnauthorizedOperation`.
        assert!(!covers(
            &r,
            r#"{ $.errorCode = "UnauthorizedOperation" || $.errorCode = "AccessDenied*" }"#
        ));
        let parsed = parse("{ $.a = 1 && $.b = 2 || $.c = 3 }").unwrap();
        let Pattern::Json(alternatives) = parsed else {
            panic!("json")
        };
        assert_eq!(alternatives.len(), 2);
    }

    #[test]
    fn exists_tests_and_inequalities() {
        let r = Requirement::new(
            r#"{ $.userIdentity.type = "Root" }"#,
            &[
                "$.userIdentity.invokedBy NOT EXISTS",
                r#"$.eventType != "AwsServiceEvent""#,
            ],
        )
        .unwrap();
        assert!(covers(
            &r,
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }"#
        ));
        assert!(covers(&r, r#"{$.userIdentity.type="Root"}"#));
        assert!(!covers(
            &r,
            r#"{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy EXISTS }"#
        ));
        // `!=` of a value the required literal is not: follows from it.
        let login = Requirement::new(r#"{ $.eventName = "ConsoleLogin" }"#, &[]).unwrap();
        assert!(covers(
            &login,
            r#"{ $.eventName = "ConsoleLogin" && $.eventName != "Other" }"#
        ));
        assert!(!covers(
            &login,
            r#"{ $.eventName = "ConsoleLogin" && $.eventName != "Console*" }"#
        ));
    }

    #[test]
    fn empty_text_and_broken_patterns() {
        let r = iam();
        assert_eq!(parse("  ").unwrap(), Pattern::Everything);
        assert!(covers(&r, ""));
        assert_eq!(parse("ERROR AttachRolePolicy").unwrap(), Pattern::Text);
        assert!(!covers(&r, "AttachRolePolicy"));
        for broken in [
            "{ $.eventName = }",
            "{ ($.eventName = X }",
            "{ $.eventName = \"X }",
            "{ eventName = X }",
            "{ $.eventName ~ X }",
            "{ $.a = 1 } trailing",
            "{ $ = 1 }",
        ] {
            assert!(
                matches!(parse(broken), Err(PatternError::Syntax { .. })),
                "{broken} should not parse"
            );
        }
    }

    #[test]
    fn an_exponential_pattern_is_refused_not_expanded() {
        let clauses: Vec<String> = (0..12)
            .map(|i| format!("($.a{i} = 1 || $.b{i} = 2 || $.c{i} = 3)"))
            .collect();
        let pattern = format!("{{ {} }}", clauses.join(" && "));
        assert_eq!(parse(&pattern), Err(PatternError::TooComplex));
    }

    #[test]
    fn glob_coverage() {
        assert!(glob_covers("*", "anything"));
        assert!(glob_covers("*Unauthorized*", "*UnauthorizedOperation"));
        assert!(glob_covers("Access*", "AccessDenied*"));
        assert!(!glob_covers("AccessDenied", "AccessDenied*"));
        assert!(!glob_covers("AccessDenied*", "Access*"));
        assert!(glob_covers("a*b*c", "aXbYc"));
        assert!(!glob_covers("a*b*c", "aXbY"));
    }
}
