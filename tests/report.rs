//! The daily compliance report over a scripted history: three days of
//! scans (back-dated through the real recording path), a waiver in force
//! and one expired, a failed scan. The report of the last day shows the
//! right numbers, renders identically when asked again (also through the
//! binary), and its HTML is checked in headless Chromium.

mod support;

use chrono::{DateTime, NaiveDate, Utc};
use driftwatch::collect::Collection;
use driftwatch::model::{ResourceRecord, ResourceType, S3Bucket};
use driftwatch::report::{self, Format, Report};
use driftwatch::scan::record_collection;
use driftwatch::store::waivers::NewWaiver;
use driftwatch::store::{Scope, Store};
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert('x')</script>, \"=cmd|' /C calc'!A0\"";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("timestamp")
}

fn bucket(name: &str, tls_only: bool) -> ResourceRecord {
    let arn = format!("arn:aws:s3:::{name}");
    let policy = tls_only.then(|| {
        json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn.clone(), format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    });
    let record = S3Bucket {
        name: name.into(),
        arn: arn.clone(),
        region: "us-east-1".into(),
        policy,
        ..S3Bucket::default()
    };
    ResourceRecord {
        arn,
        resource_type: ResourceType::S3Bucket,
        name: name.into(),
        region: "us-east-1".into(),
        document: driftwatch::model::Document::of(&record).map_err(|e| e.to_string()),
    }
}

fn scope(collector: &str, region: &str) -> Scope {
    Scope {
        collector: collector.into(),
        account_id: support::ACCOUNT_ID.into(),
        account_name: "prod".into(),
        region: region.into(),
    }
}

async fn record(store: &Store, when: &str, listing: Result<Vec<ResourceRecord>, String>) {
    let collector = if listing.is_ok() { "s3" } else { "rds" };
    let region = if listing.is_ok() {
        "global"
    } else {
        "us-east-1"
    };
    let mut collection = Collection::finish(
        collector,
        region,
        at(when),
        &driftwatch::clock::Clock::system(),
        listing,
    );
    collection.finished_at = at(when) + chrono::Duration::seconds(5);
    record_collection(
        store,
        scope(collector, region),
        &collection,
        &Default::default(),
        None,
        None,
    )
    .await
    .expect("record");
}

/// 03-01: ok, fail, fixed(failing) scanned; a waiver on `fail` for a day.
/// 03-02: same. 03-03: `fixed` gets its TLS policy, `new` appears failing,
/// `waived` appears failing under a waiver; an RDS scope fails to list.
async fn scripted_history(store: &Store) {
    let day1 = || {
        vec![
            bucket("ok", true),
            bucket("fail", false),
            bucket("fixed", false),
        ]
    };
    record(store, "2026-03-01T06:00:00Z", Ok(day1())).await;
    driftwatch::waive::add(
        store,
        &NewWaiver {
            control_id: "s3.tls_only",
            resource_arn: "arn:aws:s3:::fail",
            reason: "vendor cut-over",
            approved_by: "sec-lead",
            expires_at: at("2026-03-02T12:00:00Z"),
        },
        "cli",
        at("2026-03-01T08:00:00Z"),
        None,
    )
    .await
    .expect("waiver");
    record(store, "2026-03-02T06:00:00Z", Ok(day1())).await;
    driftwatch::waive::add(
        store,
        &NewWaiver {
            control_id: "s3.tls_only",
            resource_arn: "arn:aws:s3:::waived",
            reason: HOSTILE,
            approved_by: "ciso@example.com",
            expires_at: at("2026-06-30T00:00:00Z"),
        },
        "cli",
        at("2026-03-03T01:00:00Z"),
        None,
    )
    .await
    .expect("waiver");
    record(
        store,
        "2026-03-03T06:00:00Z",
        Ok(vec![
            bucket("ok", true),
            bucket("fail", false),
            bucket("fixed", true),
            bucket("new", false),
            bucket("waived", false),
        ]),
    )
    .await;
    record(
        store,
        "2026-03-03T07:00:00Z",
        Err("AccessDenied: not authorized to perform rds:DescribeDBInstances".into()),
    )
    .await;
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

fn tls_status(report: &Report, name: &str) -> String {
    report
        .findings
        .iter()
        .find(|f| f.control_id == "s3.tls_only" && f.name == name)
        .map(|f| f.status.to_string())
        .unwrap_or_else(|| "absent".into())
}

#[tokio::test]
async fn the_report_of_a_day_has_the_right_numbers_and_is_the_same_when_asked_again() {
    let (store, url) = support::database().await;
    scripted_history(&store).await;
    let march3 = date("2026-03-03");
    let report = report::report_for(&store, &Default::default(), march3, Utc::now())
        .await
        .expect("report");
    assert!(report.complete);
    assert_eq!(report.as_of, at("2026-03-03T23:59:59.999999Z"));

    let statuses: Vec<String> = ["ok", "fail", "fixed", "new", "waived"]
        .iter()
        .map(|b| tls_status(&report, b))
        .collect();
    assert_eq!(statuses, ["pass", "fail", "pass", "fail", "waived"]);
    let tls = report
        .controls
        .iter()
        .find(|c| c.id == "s3.tls_only")
        .expect("tls control");
    assert_eq!(
        (tls.counts.pass, tls.counts.fail, tls.counts.waived),
        (2, 2, 1)
    );
    assert_eq!(tls.compliance_percent, Some(40.0));
    assert_eq!(tls.soc2, ["CC6.1", "CC6.7"]);
    assert_eq!(tls.pci_dss, ["4.2.1"]);
    // The summary adds up the controls.
    let total: u64 = report.controls.iter().map(|c| c.counts.fail).sum();
    assert_eq!(report.summary.counts.fail, total);
    assert_eq!(report.summary.resources, 5);
    assert_eq!(report.scopes.len(), 1);
    assert_eq!(report.scopes[0].account_name, "prod");

    let tls_changes = |changes: &[report::Change]| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.control_id == "s3.tls_only")
            .map(|c| c.arn.trim_start_matches("arn:aws:s3:::").to_string())
            .collect()
    };
    assert_eq!(tls_changes(&report.new_failures), ["new", "waived"]);
    assert_eq!(tls_changes(&report.resolved), ["fixed"]);
    let drift: Vec<(String, String)> = report
        .drift
        .iter()
        .map(|d| {
            (
                d.kind.to_string(),
                d.arn.trim_start_matches("arn:aws:s3:::").to_string(),
            )
        })
        .collect();
    assert_eq!(
        drift,
        [
            ("modified".to_string(), "fixed".to_string()),
            ("created".into(), "new".into()),
            ("created".into(), "waived".into())
        ]
    );
    let in_force: Vec<&str> = report
        .waivers_in_force
        .iter()
        .map(|w| w.resource_arn.as_str())
        .collect();
    assert_eq!(in_force, ["arn:aws:s3:::waived"]);
    assert_eq!(report.waivers_ended.len(), 1);
    assert_eq!(report.waivers_ended[0].resource_arn, "arn:aws:s3:::fail");

    let coverage: Vec<(&str, i64, i64, &str)> = report
        .coverage
        .iter()
        .map(|c| (c.collector.as_str(), c.ok, c.failed, c.last_status.as_str()))
        .collect();
    assert_eq!(coverage, [("s3", 1, 0, "ok"), ("rds", 0, 1, "failed")]);
    assert!(
        report.coverage[1]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("AccessDenied"))
    );
    assert_eq!(report.summary.scans_failed, 1);

    // 30 days of trend; the three scripted days carry figures.
    assert_eq!(report.trend.len(), 30);
    assert_eq!(report.trend[29].date, march3);
    assert!(
        report.trend[..27]
            .iter()
            .all(|p| p.compliance_percent.is_none())
    );
    assert_eq!(
        report.trend[29].compliance_percent,
        report.summary.compliance_percent
    );
    // On 03-02 `fail` was no longer waived (expired at noon).
    let march2 = &report.trend[28].counts;
    assert_eq!(march2.waived, 0);

    // Asked again — and after a late scan of that day — the same document.
    let html = Format::Html.render(&report);
    record(
        &store,
        "2026-03-03T20:00:00Z",
        Ok(vec![bucket("ok", false)]),
    )
    .await;
    let again = report::report_for(&store, &Default::default(), march3, Utc::now())
        .await
        .expect("report again");
    assert_eq!(again, report);
    assert_eq!(Format::Html.render(&again), html);

    // The binary produces the same files from the stored report.
    let out = tempfile::tempdir().expect("tempdir");
    support::run_report(&url, "2026-03-03", "html,json,csv,md", out.path());
    let read = |ext: &str| {
        std::fs::read_to_string(
            out.path()
                .join(format!("driftwatch-report-2026-03-03.{ext}")),
        )
        .expect("report file")
    };
    assert_eq!(read("html"), html);

    // JSON: the documented schema, findings as OCSF Compliance Findings.
    let json: Value = serde_json::from_str(&read("json")).expect("json");
    assert_eq!(json["schema"], "driftwatch.report/v1");
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        keys.sort();
        keys
    };
    let model = serde_json::to_value(&report).expect("model");
    assert_eq!(
        keys(&json),
        keys(&model),
        "every model field is in the JSON"
    );
    for field in [
        "summary",
        "controls",
        "drift",
        "coverage",
        "trend",
        "frameworks",
    ] {
        assert_eq!(json[field], model[field], "{field} as in the model");
    }
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), report.findings.len());
    let waived = findings
        .iter()
        .find(|f| {
            f["resources"][0]["uid"] == "arn:aws:s3:::waived"
                && f["compliance"]["control"] == "s3.tls_only"
        })
        .expect("waived finding");
    assert_eq!(waived["class_uid"], 2003);
    assert_eq!(waived["type_uid"], 200301);
    assert_eq!(waived["status"], "Suppressed");
    assert_eq!(waived["compliance"]["status"], "Fail");
    assert_eq!(waived["severity_id"], 4);
    assert_eq!(waived["cloud"]["account"]["uid"], support::ACCOUNT_ID);
    assert!(
        waived["compliance"]["requirements"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("PCI DSS v4.0 4.2.1")))
    );

    // CSV: one row per finding, hostile text quoted and defused.
    let csv = read("csv");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), report.findings.len() + 1);
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|h| h == name).expect("column");
    let waived_row = rows
        .iter()
        .find(|r| {
            r[column("resource_arn")] == "arn:aws:s3:::waived"
                && r[column("control_id")] == "s3.tls_only"
        })
        .expect("waived row");
    assert_eq!(waived_row[column("status")], "waived");
    assert_eq!(waived_row[column("waiver_reason")], HOSTILE);
    assert!(
        read("md").contains("| s3.tls\\_only | CC6.1, CC6.7 | 4.2.1 | 2 | 2 | 1 | 0 | 40.0% |")
    );
}

/// RFC 4180 parsing, enough to prove the rows and fields are intact.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

/// The scripted history's 2026-03-03 report, and its HTML as headless
/// Chromium renders it.
async fn scripted_day_in_chromium() -> (Report, String) {
    let (store, _url) = support::database().await;
    scripted_history(&store).await;
    let report = report::report_for(&store, &Default::default(), date("2026-03-03"), Utc::now())
        .await
        .expect("report");
    let html = Format::Html.render(&report);
    let dom = support::browser::rendered_dom(&html, "Compliance report — 2026-03-03");
    (report, dom)
}

#[tokio::test]
async fn the_html_report_renders_in_headless_chromium_with_its_charts_and_no_fetches() {
    let (report, dom) = scripted_day_in_chromium().await;
    // The hostile waiver reason is text, not a script element.
    assert!(!dom.contains("<script"), "an element was injected");
    assert!(dom.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    // Figures as the page shows them.
    assert_eq!(
        support::browser::tile(&dom, "compliance"),
        format!("{:.1}%", report.summary.compliance_percent.unwrap_or(0.0))
    );
    assert_eq!(
        support::browser::tile(&dom, "waived"),
        report.summary.counts.waived.to_string()
    );
    // The trend chart has a point per day with data; the failures chart a
    // bar per control, with s3.tls_only at 2 failing.
    assert_eq!(dom.matches("class=\"point\"").count(), 3);
    assert_eq!(dom.matches("class=\"bar\"").count(), report.controls.len());
    assert!(dom.contains("data-control=\"s3.tls_only\" data-fail=\"2\""));
    assert!(dom.contains("id=\"waivers-in-force\""));
    assert!(dom.contains("ciso@example.com"));
    assert!(
        dom.contains("vendor cut-over"),
        "the expired waiver is listed"
    );
}

#[tokio::test]
async fn each_framework_has_a_section_with_its_requirements_counts_and_what_no_control_covers() {
    let (report, dom) = scripted_day_in_chromium().await;
    for framework in driftwatch::frameworks::all() {
        let covered: Vec<_> = framework
            .requirements
            .iter()
            .filter(|r| r.covered())
            .collect();
        let id = &framework.id;
        assert_eq!(
            support::browser::tile(&dom, &format!("framework-{id}-covered")),
            covered.len().to_string(),
            "{id}"
        );
        let table = support::browser::table(&dom, &format!("framework-{id}"));
        let rows = support::browser::rows(table);
        assert_eq!(
            rows.len(),
            covered.len(),
            "{id}: a row per covered requirement"
        );
        // A requirement's failures are its controls' failures, added up
        // from the per-control table the report already shows.
        for requirement in covered {
            let fails: u64 = requirement
                .controls
                .iter()
                .filter_map(|c| report.controls.iter().find(|s| &s.id == c))
                .map(|s| s.counts.fail)
                .sum();
            let row = rows
                .iter()
                .find(|r| r.contains(&format!("<b>{}</b>", requirement.id)))
                .unwrap_or_else(|| panic!("{id} {} has a row", requirement.id));
            let cells: Vec<&str> = row.split("<td class=\"n\">").skip(1).collect();
            assert_eq!(
                cells[1].split('<').next(),
                Some(fails.to_string().as_str()),
                "{id} {}",
                requirement.id
            );
        }
        let paragraph = support::browser::table(&dom, &format!("framework-{id}-uncovered"));
        let listed: Vec<&str> = paragraph
            .split("elsewhere): ")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .map(|ids| ids.split(", ").filter(|i| !i.is_empty()).collect())
            .unwrap_or_default();
        let expected: Vec<&str> = framework
            .requirements
            .iter()
            .filter(|r| !r.covered())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(listed, expected, "{id}: every uncovered requirement listed");
    }
    // --framework keeps one section.
    let only = Format::Html.render(&report.clone().with_frameworks(&["soc2".to_string()]));
    assert!(only.contains("id=\"framework-soc2\""));
    assert!(!only.contains("id=\"framework-pci-dss-4.0\""));
}
