//! Keeping an alert within what its receiver accepts. A finding's evidence
//! (a whole bucket policy, a thousand security-group rules) and its drift
//! can outgrow PagerDuty's event limit or a webhook's; a page that is
//! refused for its size is a page lost. The bulky fields are cut to an
//! excerpt with a note saying where the whole finding is, and as a last
//! resort the details shrink to what identifies the finding.

use serde_json::{Value, json};

/// PagerDuty's Events API v2 refuses events over 512 KB (the figure
/// Prometheus Alertmanager also keeps its PagerDuty events under).
pub const PAGERDUTY_MAX_EVENT_BYTES: usize = 512_000;

/// The smallest `max_body_bytes` a sink may set.
pub const SMALLEST_CAP: usize = 16_384;

/// A webhook's cap when its sink does not set `max_body_bytes`.
pub const DEFAULT_WEBHOOK_MAX_BYTES: usize = 256 * 1024;

/// The fields cut first, the largest first: they carry what the finding
/// saw, which the link shows whole.
const BULKY: [&str; 2] = ["evidence", "drift"];

/// What fitting did to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fitted {
    Whole,
    /// These fields were cut to an excerpt.
    Cut(Vec<&'static str>),
    /// Only what identifies the finding is left in the details.
    Minimal,
}

/// Where a cut event says the whole finding is.
pub fn whole_finding_at(alert: &Value) -> String {
    match alert["link"].as_str() {
        Some(link) => link.to_string(),
        None => format!(
            "`driftwatch findings --status all --arn {} --control {}`",
            alert["resource"]["arn"].as_str().unwrap_or(""),
            alert["control_id"].as_str().unwrap_or("")
        ),
    }
}

/// Cuts `event` to at most `cap` bytes of JSON. `details` points (JSON
/// pointer) at the object holding the bulky fields.
pub fn fit(event: &mut Value, details: &str, cap: usize, whole_at: &str) -> Fitted {
    if size(event) <= cap {
        return Fitted::Whole;
    }
    let mut cut = Vec::new();
    while size(event) > cap {
        let Some(field) = largest_uncut(event, details, &cut) else {
            break;
        };
        cut_field(event, details, field, cap, whole_at);
        cut.push(field);
    }
    if size(event) <= cap {
        return Fitted::Cut(cut);
    }
    minimal(event, details, cap, whole_at);
    Fitted::Minimal
}

/// Replaces the details with what identifies the finding and a note.
pub fn minimal(event: &mut Value, details: &str, cap: usize, whole_at: &str) {
    let Some(object) = event.pointer_mut(details) else {
        return;
    };
    // PagerDuty's custom_details say `control`, a webhook's alert `control_id`.
    let control = object.get("control").or_else(|| object.get("control_id"));
    let kept = json!({
        "control": control,
        "status": object.get("status"),
        "resource": { "arn": object["resource"]["arn"].clone() },
        // Who made the change is what is asked first: kept, as one line.
        "changed_by": { "actor": object["changed_by"]["actor"].clone() },
        "truncated": format!(
            "the details did not fit the receiver's {cap}-byte limit; the whole finding: {whole_at}"
        ),
    });
    *object = kept;
}

fn size(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

fn largest_uncut(event: &Value, details: &str, cut: &[&str]) -> Option<&'static str> {
    let object = event.pointer(details)?;
    BULKY
        .into_iter()
        .filter(|field| !cut.contains(field))
        .filter_map(|field| Some((field, size(object.get(field)?))))
        .filter(|(_, bytes)| *bytes > 64)
        .max_by_key(|(_, bytes)| *bytes)
        .map(|(field, _)| field)
}

/// Replaces one field by a note and the longest excerpt of its JSON that
/// keeps the event within `cap` (JSON escaping makes the excerpt's cost
/// unknown in advance, so its length is found by bisection).
fn cut_field(event: &mut Value, details: &str, field: &'static str, cap: usize, whole_at: &str) {
    let Some(text) = event
        .pointer(details)
        .and_then(|object| object.get(field))
        .map(Value::to_string)
    else {
        return;
    };
    let note = format!(
        "{field} cut to fit the receiver's {cap}-byte limit ({} bytes); the whole finding: {whole_at}",
        text.len()
    );
    let set = |event: &mut Value, excerpt: &str| {
        if let Some(object) = event.pointer_mut(details) {
            object[field] = json!({ "truncated": note, "excerpt": excerpt });
        }
    };
    set(event, "");
    // The longest prefix that fits, by bisection over its byte length.
    let (mut fits, mut too_long) = (0, cap.saturating_sub(size(event)).min(text.len()) + 1);
    while too_long - fits > 1 {
        let take = fits + (too_long - fits) / 2;
        set(event, prefix(&text, take));
        if size(event) <= cap {
            fits = take;
        } else {
            too_long = take;
        }
    }
    set(event, prefix(&text, fits));
}

/// The longest prefix of at most `max` bytes that ends on a character.
pub fn prefix(text: &str, max: usize) -> &str {
    &text[..text.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(evidence: Value, drift: Value) -> Value {
        json!({
            "event_action": "trigger",
            "payload": {
                "summary": "card-vault fails s3.tls_only",
                "custom_details": {
                    "control": "s3.tls_only",
                    "status": "fail",
                    "resource": { "arn": "arn:aws:s3:::card-vault", "name": "card-vault" },
                    "evidence": evidence,
                    "drift": drift,
                },
            },
        })
    }

    const DETAILS: &str = "/payload/custom_details";
    const AT: &str = "https://driftwatch.example/api/findings?arn=x";

    #[test]
    fn an_event_within_the_cap_is_sent_whole() {
        let mut e = event(json!({"policy": null}), Value::Null);
        let before = e.clone();
        assert_eq!(fit(&mut e, DETAILS, 10_000, AT), Fitted::Whole);
        assert_eq!(e, before);
    }

    #[test]
    fn the_largest_bulky_field_is_cut_first_with_a_note_and_an_excerpt() {
        let rules: Vec<Value> = (0..5_000)
            .map(|i| json!({"cidr": format!("10.{}.{}.0/24", i / 256, i % 256)}))
            .collect();
        let mut e = event(json!({ "rules": rules }), json!({"changed": "small"}));
        let cap = 20_000;
        assert_eq!(fit(&mut e, DETAILS, cap, AT), Fitted::Cut(vec!["evidence"]));
        assert!(size(&e) <= cap);
        let evidence = &e["payload"]["custom_details"]["evidence"];
        let note = evidence["truncated"].as_str().expect("note");
        assert!(note.contains(AT) && note.contains("20000-byte"), "{note}");
        let excerpt = evidence["excerpt"].as_str().expect("excerpt");
        assert!(excerpt.starts_with("{\"rules\":[{\"cidr\":\"10.0.0.0/24\"}"));
        assert!(excerpt.len() > cap / 2, "the excerpt uses the room left");
        assert_eq!(
            e["payload"]["custom_details"]["drift"],
            json!({"changed": "small"})
        );
    }

    #[test]
    fn escaping_heavy_evidence_still_fits() {
        let quotes = "\"\u{1}\\".repeat(50_000);
        let mut e = event(json!({ "policy": quotes }), json!({ "before": quotes }));
        let cap = 16_384;
        let Fitted::Cut(mut cut) = fit(&mut e, DETAILS, cap, AT) else {
            panic!("not cut");
        };
        cut.sort();
        assert_eq!(cut, ["drift", "evidence"]);
        assert!(size(&e) <= cap, "{}", size(&e));
    }

    #[test]
    fn multibyte_text_is_cut_on_a_character_boundary() {
        let mut e = event(json!({ "name": "é".repeat(40_000) }), Value::Null);
        fit(&mut e, DETAILS, 16_384, AT);
        let excerpt = e["payload"]["custom_details"]["evidence"]["excerpt"]
            .as_str()
            .expect("excerpt");
        assert!(excerpt.ends_with('é') || excerpt.ends_with('"'));
    }

    #[test]
    fn when_cutting_is_not_enough_only_the_identity_is_left() {
        let mut e = event(json!({"policy": "x".repeat(100)}), Value::Null);
        e["payload"]["custom_details"]["resource"]["tags"] = json!("t".repeat(50_000));
        let cap = 16_384;
        assert_eq!(fit(&mut e, DETAILS, cap, AT), Fitted::Minimal);
        assert!(size(&e) <= cap);
        let details = &e["payload"]["custom_details"];
        assert_eq!(details["control"], "s3.tls_only");
        assert_eq!(details["resource"]["arn"], "arn:aws:s3:::card-vault");
        assert!(
            details["truncated"]
                .as_str()
                .is_some_and(|n| n.contains(AT))
        );
        assert_eq!(e["payload"]["summary"], "card-vault fails s3.tls_only");
    }

    #[test]
    fn without_a_link_the_note_names_the_command() {
        let alert = json!({
            "control_id": "s3.tls_only",
            "resource": {"arn": "arn:aws:s3:::card-vault"},
            "link": null,
        });
        assert_eq!(
            whole_finding_at(&alert),
            "`driftwatch findings --status all --arn arn:aws:s3:::card-vault --control s3.tls_only`"
        );
    }
}
