//! No page lost to its size: the real deliverer posts over HTTP to the
//! loopback PagerDuty and webhook receivers, which refuse bodies over
//! their limit as the real ones do (PagerDuty: 400 over 512 KB). Evidence
//! too large is cut with a note and the finding's link; a receiver with a
//! smaller limit than configured still gets the page, in its minimal form;
//! an answer that never ends is read only up to the kept 4 KiB.

mod support;

use driftwatch::alert::sinks::{Deliverer, Delivery, Sinks};
use driftwatch::config::AlertsConfig;
use driftwatch::store::alerts::IncidentAction;
use serde_json::{Value, json};
use std::time::Duration;
use support::receiver::{Fault, PAGERDUTY_MAX_EVENT_BYTES, Receiver};

const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";
const LINK: &str = "https://driftwatch.example/api/findings?arn=arn%3Aaws%3Aec2&control=ec2.sg";

fn sinks(pagerduty: &str, webhook: &str, webhook_cap: Option<u64>) -> Sinks {
    let cap = webhook_cap.map_or(String::new(), |c| format!("max_body_bytes = {c}"));
    let config: AlertsConfig = toml::from_str(&format!(
        r#"
        [sinks.pd]
        kind = "pagerduty"
        url = "{pagerduty}"
        routing_key_env = "PD_KEY"
        [sinks.hook]
        kind = "webhook"
        url = "{webhook}"
        {cap}
        "#
    ))
    .expect("alerts config");
    Sinks::load(&config, |var| (var == "PD_KEY").then(|| ROUTING_KEY.into())).expect("sinks")
}

/// A security group with 40 000 open rules: its evidence is megabytes.
fn huge_alert() -> Value {
    let rules: Vec<Value> = (0..40_000)
        .map(|i| json!({"protocol": "tcp", "port": i % 65_536, "cidr": "0.0.0.0/0"}))
        .collect();
    json!({
        "summary": "sg-0abc fails ec2.security_group_open_admin_ports",
        "control_id": "ec2.security_group_open_admin_ports",
        "control_title": "No security group opens admin ports to the internet",
        "severity": "high",
        "resource": {
            "arn": "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0abc",
            "type": "ec2.security_group",
            "name": "sg-0abc",
            "account_id": "123456789012",
            "account_name": "prod",
            "region": "eu-west-1",
        },
        "status": "fail",
        "status_since": "2026-12-02T03:12:00Z",
        "evidence": { "open_rules": rules },
        "drift": { "added": rules },
        "link": LINK,
        "decided_at": "2026-12-02T03:12:00Z",
    })
}

fn delivered(delivery: &Delivery) -> &str {
    match delivery {
        Delivery::Delivered { body, .. } => body,
        other => panic!("not delivered: {other:?}"),
    }
}

#[tokio::test]
async fn evidence_past_pagerdutys_limit_is_cut_with_a_link_and_the_page_goes_out() {
    let pd = Receiver::start().await;
    let sinks = sinks(&pd.url(), &pd.url(), None);
    let deliverer = Deliverer::new(Duration::from_secs(5)).expect("deliverer");
    let alert = huge_alert();
    assert!(alert.to_string().len() > 2 * PAGERDUTY_MAX_EVENT_BYTES);

    let sink = sinks.get("pd").expect("pd sink");
    let delivery = deliverer
        .deliver(sink, "dw/key", IncidentAction::Trigger, &alert)
        .await;
    delivered(&delivery);
    assert!(
        pd.receiver.rejected().is_empty(),
        "sent once, within the limit"
    );
    let accepted = pd.receiver.accepted();
    assert_eq!(accepted.len(), 1);
    let event = &accepted[0];
    assert!(event.to_string().len() <= PAGERDUTY_MAX_EVENT_BYTES);
    let details = &event["payload"]["custom_details"];
    for field in ["evidence", "drift"] {
        let note = details[field]["truncated"].as_str().expect("a note");
        assert!(note.contains(LINK), "{field}: {note}");
        assert!(details[field]["excerpt"].as_str().is_some());
    }
    assert_eq!(details["resource"], alert["resource"]);
    assert_eq!(
        event["payload"]["summary"],
        "sg-0abc fails ec2.security_group_open_admin_ports"
    );
}

#[tokio::test]
async fn a_receiver_refusing_the_size_gets_the_minimal_page_instead() {
    let receiver = Receiver::start().await;
    receiver.receiver.limit_body(4_096);
    let hook = format!("http://{}/hook", receiver.addr);
    let sinks = sinks(&receiver.url(), &hook, Some(65_536));
    let deliverer = Deliverer::new(Duration::from_secs(5)).expect("deliverer");
    let alert = huge_alert();

    for (name, status) in [("hook", 413), ("pd", 400)] {
        let sink = sinks.get(name).expect("sink");
        let before = receiver.receiver.accepted().len();
        let delivery = deliverer
            .deliver(sink, "dw/key", IncidentAction::Trigger, &alert)
            .await;
        let said = delivered(&delivery);
        assert!(
            said.contains(&format!("after HTTP {status}")),
            "{name}: {said}"
        );
        let accepted = receiver.receiver.accepted();
        assert_eq!(accepted.len(), before + 1, "{name}: one page");
        let details = match name {
            "hook" => &accepted[before]["alert"],
            _ => &accepted[before]["payload"]["custom_details"],
        };
        assert_eq!(
            details["resource"]["arn"], alert["resource"]["arn"],
            "{name}"
        );
        assert!(details["evidence"].is_null(), "{name}: {details}");
        assert!(
            details["truncated"]
                .as_str()
                .is_some_and(|n| n.contains(LINK)),
            "{name}: {details}"
        );
    }
    assert_eq!(receiver.receiver.rejected().len(), 2);
}

#[tokio::test]
async fn a_refusal_that_is_not_about_size_stays_a_refusal() {
    let pd = Receiver::start().await;
    let config: AlertsConfig = toml::from_str(&format!(
        "[sinks.pd]\nkind = \"pagerduty\"\nurl = \"{}\"\nrouting_key_env = \"PD_KEY\"\n",
        pd.url()
    ))
    .expect("config");
    // A routing key PagerDuty refuses: the minimal form is refused too.
    let sinks = Sinks::load(&config, |_| Some("short".into())).expect("sinks");
    let deliverer = Deliverer::new(Duration::from_secs(5)).expect("deliverer");
    let delivery = deliverer
        .deliver(
            sinks.get("pd").expect("sink"),
            "dw/key",
            IncidentAction::Trigger,
            &huge_alert(),
        )
        .await;
    assert!(
        matches!(&delivery, Delivery::Rejected { status: 400, body } if body.contains("routing_key")),
        "{delivery:?}"
    );
    assert!(pd.receiver.accepted().is_empty());
}

#[tokio::test]
async fn an_answer_that_never_ends_is_read_up_to_the_kept_bytes() {
    let pd = Receiver::start().await;
    pd.receiver.fail_next(&[Fault::EndlessAnswer]);
    let sinks = sinks(&pd.url(), &pd.url(), None);
    let deliverer = Deliverer::new(Duration::from_secs(20)).expect("deliverer");
    let delivery = deliverer
        .deliver(
            sinks.get("pd").expect("sink"),
            "dw/key",
            IncidentAction::Resolve,
            &huge_alert(),
        )
        .await;
    let body = delivered(&delivery);
    assert_eq!(body.len(), 4096);
}
