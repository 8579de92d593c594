//! The control catalog and the frameworks as a person reads them:
//! `driftwatch controls` and `docs/controls.md` (generated from here, and
//! a test fails when the file is stale). Pure over the declarations.

use super::render::{md, md_table};
use crate::evaluate::{CONTROLS, Control, CustomControl, CustomControls};
use crate::frameworks::{self, Framework};
use serde_json::{Value, json};
use std::fmt::Write;

/// Every control with its settings, remediation and mappings: the
/// built-in ones, then the custom ones loaded from the config.
pub fn controls_json(custom: &CustomControls) -> Value {
    let every = frameworks::every(custom);
    Value::Array(
        CONTROLS
            .iter()
            .map(|c| control_json(c, &every))
            .chain(custom.iter().map(|c| custom_json(c, &every)))
            .collect(),
    )
}

/// Framework id → the requirements of it that the control `id` evidences.
fn mappings(every: &[Framework], id: &str) -> serde_json::Map<String, Value> {
    every
        .iter()
        .map(|f| (f.id.clone(), json!(frameworks::requirements_in(f, id))))
        .collect()
}

fn custom_json(c: &CustomControl, every: &[Framework]) -> Value {
    let mappings = mappings(every, &c.id);
    json!({
        "id": c.id,
        "title": c.title,
        "resource_types": c.resource_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "default_severity": c.default_severity,
        "rationale": c.rationale,
        "remediation": { "text": c.remediation },
        "settings": [],
        "frameworks": mappings,
        "custom": {
            "source": c.source.display().to_string(),
            "version": c.version,
            "data": c.data.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        },
    })
}

fn control_json(c: &Control, every: &[Framework]) -> Value {
    let mappings = mappings(every, c.id);
    json!({
        "id": c.id,
        "title": c.title,
        "resource_types": c.resource_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "default_severity": c.default_severity,
        "rationale": c.rationale,
        "remediation": {
            "console": c.remediation.console,
            "cli": c.remediation.cli,
            "terraform": c.remediation.terraform,
        },
        "settings": c.settings.iter().map(|s| json!({
            "name": s.name(),
            "default": s.default_text(),
            "help": s.help(),
        })).collect::<Vec<_>>(),
        "frameworks": mappings,
    })
}

/// One framework: every requirement, its controls and whether any
/// control covers it.
pub fn framework_json(f: &Framework) -> Value {
    let covered = f.requirements.iter().filter(|r| r.covered()).count();
    json!({
        "id": f.id,
        "title": f.title,
        "version": f.version,
        "source": f.source,
        "requirements_total": f.requirements.len(),
        "requirements_covered": covered,
        "requirements": f.requirements.iter().map(|r| json!({
            "id": r.id,
            "title": r.title,
            "section": r.section,
            "automated": r.automated,
            "controls": r.controls,
            "covered": r.covered(),
        })).collect::<Vec<_>>(),
    })
}

/// Rows of the controls table: id, severity, resource types, title, and
/// one column of requirement ids per framework; custom controls after the
/// built-in ones.
pub fn controls_rows(custom: &CustomControls) -> (Vec<String>, Vec<Vec<String>>) {
    let every = frameworks::every(custom);
    let (headers, mut rows) = built_in_rows(&every);
    rows.extend(custom.iter().map(|c| {
        catalog_row(
            &c.id,
            c.default_severity,
            &c.resource_types,
            &c.title,
            &every,
        )
    }));
    (headers, rows)
}

/// The built-in controls' rows, a column per framework of `every`.
fn built_in_rows(every: &[Framework]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut headers: Vec<String> = ["control", "severity", "resources", "title"]
        .map(String::from)
        .to_vec();
    headers.extend(every.iter().map(|f| f.id.clone()));
    let rows = CONTROLS
        .iter()
        .map(|c| catalog_row(c.id, c.default_severity, c.resource_types, c.title, every))
        .collect();
    (headers, rows)
}

/// One row of the controls table, built-in or custom alike.
fn catalog_row(
    id: &str,
    severity: crate::evaluate::Severity,
    resource_types: &[crate::model::ResourceType],
    title: &str,
    every: &[Framework],
) -> Vec<String> {
    let mut row = vec![
        id.to_string(),
        severity.to_string(),
        resource_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        title.to_string(),
    ];
    row.extend(
        every
            .iter()
            .map(|f| frameworks::requirements_in(f, id).join(", ")),
    );
    row
}

/// Rows of one framework's table: requirement, title, automated (CIS),
/// controls, covered.
pub fn framework_rows(f: &Framework) -> (Vec<String>, Vec<Vec<String>>) {
    let assessed = f.requirements.iter().any(|r| r.automated.is_some());
    let mut headers: Vec<String> = vec!["requirement".into(), "title".into()];
    if assessed {
        headers.push("assessment".into());
    }
    headers.extend(["controls".to_string(), "covered".to_string()]);
    let rows = f
        .requirements
        .iter()
        .map(|r| {
            let mut row = vec![r.id.clone(), r.title.clone()];
            if assessed {
                row.push(match r.automated {
                    Some(true) => "automated".into(),
                    Some(false) => "manual".into(),
                    None => String::new(),
                });
            }
            row.push(r.controls.join(", "));
            row.push(if r.covered() { "yes" } else { "no" }.into());
            row
        })
        .collect();
    (headers, rows)
}

/// `docs/controls.md`: the catalog, each control in full, and each
/// framework's coverage.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "# Controls and frameworks\n\n\
         Generated from the control catalog (`src/evaluate/`) and `frameworks/` by \
         `driftwatch controls --format md`; do not edit by hand (a test fails when \
         this file is stale).\n",
    );
    let (headers, rows) = built_in_rows(frameworks::all());
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    md_table(&mut out, "Controls", &headers, rows);
    for c in CONTROLS.iter() {
        control_markdown(&mut out, c);
    }
    for f in frameworks::all() {
        let covered = f.requirements.iter().filter(|r| r.covered()).count();
        let _ = write!(
            out,
            "\n## {}\n\n{} (version {}; source: {}). {covered} of {} requirements evidenced by a control; the others need evidence from elsewhere.\n",
            md(&f.title),
            md(&f.id),
            md(&f.version),
            md(&f.source),
            f.requirements.len()
        );
        let (headers, rows) = framework_rows(f);
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        md_table(&mut out, &format!("{} requirements", f.id), &headers, rows);
    }
    out
}

fn control_markdown(out: &mut String, c: &Control) {
    let _ = write!(
        out,
        "\n### `{}`: {}\n\n{} severity by default; applies to {}.\n\n{}\n\n\
         - Console: {}\n- CLI: `{}`\n- Terraform: {}\n",
        c.id,
        md(c.title),
        c.default_severity,
        c.resource_types
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", "),
        md(c.rationale),
        md(c.remediation.console),
        c.remediation.cli.replace('`', "'"),
        md(c.remediation.terraform),
    );
    if !c.settings.is_empty() {
        let _ = writeln!(out, "\nSettings under `[rules.\"{}\"]`:\n", c.id);
        for s in c.settings {
            let _ = writeln!(
                out,
                "- `{}` (default `{}`): {}",
                s.name(),
                s.default_text(),
                md(s.help())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_controls_md_is_generated_from_the_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/controls.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == super::markdown(),
            "docs/controls.md is stale: run `cargo run -- controls --format md > docs/controls.md`"
        );
    }

    #[test]
    fn framework_json_counts_what_is_covered() {
        let soc2 = crate::frameworks::framework("soc2").expect("shipped");
        let json = super::framework_json(soc2);
        let listed = json["requirements"].as_array().expect("list");
        assert_eq!(listed.len(), soc2.requirements.len());
        let covered = listed.iter().filter(|r| r["covered"] == true).count();
        assert_eq!(json["requirements_covered"], covered);
        let cc61 = listed.iter().find(|r| r["id"] == "CC6.1").expect("CC6.1");
        assert!(cc61["controls"].as_array().is_some_and(|c| !c.is_empty()));
        assert!(
            listed.iter().any(|r| r["covered"] == false),
            "uncovered kept"
        );
    }
}
